"""The growth section's figures: start vs end of a drain by tenths, the daemons' RSS by tenth,
the big backlog judged against the one-container runs of the same invocation, and sizes set to
0 leaving their part out."""
import unittest

from bench import growth, report, targets


def samples(rates_cpu, start=1000.0):
    """(t, objects arrived, CPU s) one second apart: each step adds (objects, CPU seconds)."""
    out, t, n, cpu = [], start, 0, 0.0
    for objects, seconds in rates_cpu:
        t, n, cpu = t + 1, n + objects, cpu + seconds
        out.append((t, n, cpu))
    return out


class TestPhases(unittest.TestCase):
    def test_first_and_last_tenth_are_measured_apart(self):
        # 100 objects: 2/s costing 0.02 CPU s each second, then 2/s costing 0.04 CPU s
        found = growth.phases(samples([(2, 0.02)] * 25 + [(2, 0.04)] * 25), 100)
        self.assertAlmostEqual(found['start_objs_per_s'], 2.0)
        self.assertAlmostEqual(found['end_objs_per_s'], 2.0)
        self.assertAlmostEqual(found['start_cpu_ms_per_obj'], 10.0)
        self.assertAlmostEqual(found['end_cpu_ms_per_obj'], 20.0)

    def test_a_tenth_with_fewer_than_two_samples_is_not_measured(self):
        found = growth.phases(samples([(50, 1.0), (50, 1.0)]), 100)
        self.assertIsNone(found['start_cpu_ms_per_obj'])
        self.assertIsNone(found['end_objs_per_s'])


class TestProgress(unittest.TestCase):
    def test_a_long_drain_logs_each_tenth_once_as_it_is_reached(self):
        lines, logged = [], 0
        steps = samples([(1000, 10.0)] * 25)        # 25,000 objects, 10 ms CPU each
        for i in range(1, len(steps) + 1):
            logged = growth.progress(steps[:i], [(0, 300.0)] * i, 20000, logged, lines.append)
        self.assertEqual([line.split(':')[0] for line in lines],
                         ['  %d0 %%' % k for k in range(1, 11)])
        self.assertIn('this tenth 1000.0 obj/s, 10.00 ms CPU/obj; daemons RSS 300 MiB',
                      lines[4])

    def test_a_short_drain_logs_nothing_on_the_way(self):
        lines = []
        growth.progress(samples([(100, 1.0)] * 3), [(0, 1.0)] * 3, 200, 0, lines.append)
        self.assertEqual(lines, [])


class TestRssAtTenths(unittest.TestCase):
    def test_first_sample_reaching_each_tenth(self):
        points = [(n, 100.0 + n) for n in range(0, 101, 5)]
        self.assertEqual(growth.rss_at_tenths(points, 100),
                         [110.0, 120.0, 130.0, 140.0, 150.0, 160.0, 170.0, 180.0, 190.0,
                          200.0])

    def test_tenths_never_reached_are_missing(self):
        self.assertEqual(growth.rss_at_tenths([(10, 50.0), (55, 60.0)], 100),
                         [50.0] + [60.0] * 4 + [None] * 5)


def run(cpu, start=None, end=None, ok=True):
    return {'cpu_ms_per_obj': cpu, 'start_cpu_ms_per_obj': start, 'end_cpu_ms_per_obj': end,
            'verified': {'ok': ok}}


class TestBacklogRatios(unittest.TestCase):
    def test_big_drain_against_the_median_of_the_one_container_rounds(self):
        out = {'one_runs': [run(2.0), run(4.0), run(3.0), run(100.0, ok=False)],
               'drain': run(3.3, start=3.0, end=3.6)}
        found = growth.backlog_ratios(out)
        self.assertAlmostEqual(found['drain_vs_one'], 1.1)
        self.assertAlmostEqual(found['drain_end_vs_start'], 1.2)

    def test_an_unverified_drain_gives_no_figure(self):
        out = {'one_runs': [run(2.0)], 'drain': run(2.0, 2.0, 2.0, ok=False)}
        self.assertEqual(growth.backlog_ratios(out), {})

    def test_without_one_container_runs_only_the_drain_own_ratio(self):
        found = growth.backlog_ratios({'drain': run(2.0, start=2.0, end=2.2)})
        self.assertEqual(set(found), {'drain_end_vs_start'})

    def test_both_drain_figures_are_judged_by_the_targets_table(self):
        results = {'growth': {'drain_vs_one': 1.3, 'drain_end_vs_start': 1.1}}
        rows = [r for r in targets.table(results) if 'big backlog' in r]
        self.assertEqual(len(rows), 2, rows)
        self.assertTrue(rows[0].endswith('| **no** |'), rows)
        self.assertTrue(rows[1].endswith('| yes, every round |'), rows)


class TestParts(unittest.TestCase):
    def test_a_zero_size_leaves_its_part_out(self):
        ran = []
        parts = tuple((name, lambda *a, name=name: ran.append(name) or {'error': 'x'})
                      for name, _fn in growth.PARTS)
        plan = {'growth_objects': 10, 'growth_containers': 0, 'growth_drain': 0,
                'growth_rows': 5}
        original = growth.PARTS
        growth.PARTS = parts
        try:
            growth.measure(FakeEnv(), None, plan, 1, None, lambda m: None)
        finally:
            growth.PARTS = original
        self.assertEqual(ran, ['one', 'rows'])

    def test_report_shows_the_big_drain_and_its_rss(self):
        drain = dict(run(2.0, 2.0, 2.1), count=100000, objs_per_s=50.0,
                     start_objs_per_s=55.0, end_objs_per_s=45.0, rss_mib=[60, 61, 62],
                     rss_by_tenth=[180.0] * 10)
        text = '\n'.join(report.growth_table({'drain': drain, 'drain_vs_one': 1.05}))
        self.assertIn('a big backlog in one container (one run) | 50.0 | 2.00 | 62 | 1/1', text)
        self.assertIn('drain of 100000 objects', text)
        self.assertIn('RSS (MiB, summed) at 10 %, 20 %, ... 100 % of the objects: 180, 180',
                      text)
        self.assertIn('**1.05x**', text)


class FakeEnv:
    def reset_moto(self):
        pass


if __name__ == '__main__':
    unittest.main()

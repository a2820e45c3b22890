"""The benchmark's generated targets table: figures from the run, never a pass for a figure the
run did not produce, failed runs kept out of the statistics."""
import unittest

from bench import targets, throughput
from bench.stats import fmt_spread, spread


class TestJudge(unittest.TestCase):
    def test_missing_figure_is_not_measured_never_a_pass(self):
        self.assertEqual(targets.judge(None, 1.0, 'at least'), 'not measured')
        self.assertEqual(targets.judge((None, None, None), 1.0, 'at most'), 'not measured')

    def test_median_decides_and_worst_round_is_named(self):
        self.assertEqual(targets.judge((1.6, 1.7, 1.8), 1.5, 'at least'), 'yes, every round')
        self.assertEqual(targets.judge((1.2, 1.7, 1.8), 1.5, 'at least'),
                         'yes (median; not every round)')
        self.assertEqual(targets.judge((1.6, 1.7, 1.8), 1.5, 'at most'), '**no**')

    def test_table_of_an_empty_run_measures_nothing(self):
        rows = targets.table({})[2:]
        self.assertEqual(len(rows), len(targets.TARGETS))
        self.assertTrue(all(row.endswith('| not measured |') for row in rows), rows)

    def test_a_run_read_back_from_json_renders_like_the_run_itself(self):
        import json
        results = {'lag': {'p99': 0.5}, 'processes': {'ratio': (1.5, 1.7, 1.9)}}
        self.assertEqual(targets.table(json.loads(json.dumps(results))),
                         targets.table(results))

    def test_ceiling_over_container_sync_is_read_from_the_small_object_runs(self):
        runs = {'remote side alone (ceiling)': {'ok': True, 'window_objs_per_s': 90.0},
                'container-sync, interval 10 s': {'ok': True, 'window_objs_per_s': 60.0},
                'ours': {'ok': True, 'window_objs_per_s': 72.0}}
        results = {'container_sync': {'runs': runs}}
        self.assertEqual(targets.csync_ceiling_over('container-sync, interval 10 s')(results),
                         1.5)
        self.assertEqual(targets.csync_ceiling_over('ours', inverse=True)(results), 0.8)
        runs['ours']['ok'] = False
        self.assertIsNone(targets.csync_ceiling_over('ours', inverse=True)(results))


class TestContainerSyncTargets(unittest.TestCase):
    def results(self, ours, theirs, ours_extra=None):
        runs = {'ours': dict({'ok': True, 'mib_per_s': ours}, **(ours_extra or {})),
                'container-sync, interval 300 s': {'ok': theirs is not None,
                                                   'mib_per_s': theirs or 99.0}}
        return {'container_sync': {'slo': {'runs': runs}}}

    def test_slo_ratio_only_from_two_verified_runs(self):
        get = targets.csync_ratio(300, 'slo', 'mib_per_s')
        self.assertEqual(get(self.results(6.0, 2.0)), 3.0)
        self.assertIsNone(get(self.results(6.0, None)))

    def test_any_manifest_without_segments_for_ours_fails_the_target(self):
        clean = self.results(6.0, 2.0, {'manifests_before_segments': 0,
                                        'polled': {'moments': 0}})
        self.assertEqual(targets.ours_exposed_manifests(clean), 0)
        polled = self.results(6.0, 2.0, {'manifests_before_segments': 0,
                                         'polled': {'moments': 2}})
        self.assertEqual(targets.judge((2, 2, 2), 0, 'at most'), '**no**')
        self.assertEqual(targets.ours_exposed_manifests(polled), 2)
        failed = self.results(6.0, 2.0, {'ok': False})
        self.assertIsNone(targets.ours_exposed_manifests(failed))


class TestSpread(unittest.TestCase):
    def test_min_median_max_ignore_missing(self):
        self.assertEqual(spread([3, None, 1, 2]), (1, 2, 3))
        self.assertEqual(fmt_spread((1.0, 2.0, 3.0), '%.1f'), '2.0 (1.0–3.0)')
        self.assertEqual(fmt_spread([], '%.1f'), 'n/a')


class TestSummary(unittest.TestCase):
    def test_a_run_that_failed_verification_is_out_of_the_figures_and_ratios(self):
        good = {'ok': True, 'window_objs_per_s': 100.0, 'objs_per_s': 90.0,
                'cpu_ms_per_obj': 5.0, 'cpu': {'contender': 1.0}, 'window_objects': 100,
                'requests': {'PUT': 100}, 'rss_mib': [80]}
        bad = dict(good, ok=False, window_objs_per_s=1000.0,
                   verified={'ok': False, 'why': '3 keys missing'})
        peer = dict(good, window_objs_per_s=50.0)
        s = throughput.summarize({'ours': [good, bad], 'rclone': [peer, peer]}, 100, 4096)
        self.assertEqual(s['ours']['objs_per_s'], (100.0, 100.0, 100.0))
        self.assertEqual((s['ours']['ok_runs'], s['ours']['runs']), (1, 2))
        self.assertEqual(s['ours']['failures'], ['3 keys missing'])
        self.assertEqual(s['ours']['ratio']['rclone']['objs_per_s'], (2.0, 2.0, 2.0))


class TestProxymcFigures(unittest.TestCase):
    def test_proxymc_gets_are_judged_on_their_rounds_and_rendered_with_spread(self):
        from bench import report
        get = {'ratio': (1.1, 1.3, 1.5), 'proxymc_ms': 13.0, 'direct_ms': 10.0}
        big = dict(get, throughput_ratio=(0.6, 0.8, 0.95), proxymc_mib_s=100.0,
                   direct_mib_s=125.0)
        run = {'proxymc': {'rounds': 3, 'get_4k': get, 'get_16m': big,
                           'listing': {'entries': 10, 'merged_s': 1.0, 'plain_s': 1.0,
                                       'ratio': (0.9, 1.0, 1.1)}}}
        rows = {row.split(' | ')[0][2:]: row for row in targets.table(run)[2:]}
        self.assertIn('1.30x (1.10x–1.50x) | **no**',
                      rows['proxymc: 4 KiB cloud GET / direct S3 GET (median latency)'])
        self.assertIn('0.80x (0.60x–0.95x) | **no**',
                      rows['proxymc: 16 MiB cloud GET, throughput / direct S3 GET'])
        text = '\n'.join(report.proxymc_table(run['proxymc']))
        self.assertIn('| 1.30x (1.10x–1.50x) | <= 1.2x |', text)

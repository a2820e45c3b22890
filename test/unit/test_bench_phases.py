"""bench.phases: the wall and CPU seconds of a run's phases, for the report's phase table."""
import subprocess
import sys
import time
import unittest

from bench import phases

BURN = 'import time\nend = time.process_time() + %s\nwhile time.process_time() < end: pass\n'


class TestTreeCpu(unittest.TestCase):
    def test_a_reaped_child_s_cpu_counts(self):
        before = phases.tree_cpu()
        subprocess.run([sys.executable, '-c', BURN % 0.25], check=True)
        self.assertGreaterEqual(phases.tree_cpu() - before, 0.2)

    def test_a_live_child_s_cpu_counts_before_it_exits(self):
        child = subprocess.Popen([sys.executable, '-c', BURN % 0.25 + 'input()\n'],
                                 stdin=subprocess.PIPE)
        try:
            before = phases.tree_cpu()
            deadline = time.time() + 30
            while phases.tree_cpu() - before < 0.2 and time.time() < deadline:
                time.sleep(0.05)
            self.assertIsNone(child.poll())
            self.assertGreaterEqual(phases.tree_cpu() - before, 0.2)
        finally:
            child.communicate(b'\n')

    def test_descendants_include_grandchildren(self):
        grand = 'import subprocess, sys; subprocess.run([sys.executable, "-c", "input()"])'
        child = subprocess.Popen([sys.executable, '-c', grand], stdin=subprocess.PIPE)
        try:
            deadline = time.time() + 30
            while len(phases.descendants(child.pid)) < 1 and time.time() < deadline:
                time.sleep(0.05)
            found = phases.descendants(child.pid)
            self.assertEqual(len(found), 1)
            self.assertTrue({child.pid} | found <= phases.descendants(phases.os.getpid()))
        finally:
            child.communicate(b'\n')


class TestProcessStart(unittest.TestCase):
    def test_a_fresh_process_started_moments_ago_and_after_us(self):
        out = subprocess.run([sys.executable, '-c', 'import time; from bench import phases; '
                              'print(phases.process_start(), time.time())'],
                             check=True, capture_output=True, text=True).stdout.split()
        started, now = float(out[0]), float(out[1])
        self.assertLessEqual(started, now)
        self.assertLess(now - started, 30)
        self.assertGreater(started, phases.process_start())


class TestPhases(unittest.TestCase):
    def setUp(self):
        phases.reset()

    def test_nested_phases_are_recorded_with_their_path_and_cpu(self):
        with phases.phase('small'):
            with phases.phase('ours'):
                with phases.phase('stop processes'):
                    pass
            with phases.phase('populate'):
                subprocess.run([sys.executable, '-c', BURN % 0.2], check=True)
        found = {tuple(r['path']): r for r in phases.recorded()}
        self.assertEqual(set(found), {('small',), ('small', 'ours'),
                                      ('small', 'ours', 'stop processes'),
                                      ('small', 'populate')})
        self.assertGreaterEqual(found[('small', 'populate')]['cpu_s'], 0.15)
        self.assertGreaterEqual(found[('small',)]['cpu_s'], found[('small', 'populate')]['cpu_s'])
        self.assertLessEqual(found[('small', 'ours')]['start_s'],
                             found[('small', 'populate')]['start_s'])

    def test_phases_of_worker_threads_nest_in_the_main_thread_s_and_leave_it_alone(self):
        import concurrent.futures

        def work(_i):
            with phases.phase('populate'):
                time.sleep(0.05)
        with phases.phase('processes'):
            with concurrent.futures.ThreadPoolExecutor(4) as pool:
                list(pool.map(work, range(8)))
            with phases.phase('sync'):
                pass
        paths = [tuple(r['path']) for r in phases.recorded()]
        self.assertEqual(paths.count(('processes', 'populate')), 8)
        self.assertEqual(paths[-2:], [('processes', 'sync'), ('processes',)])

    def test_a_phase_that_raises_is_recorded_too(self):
        with self.assertRaises(KeyError):
            with phases.phase('growth'):
                raise KeyError('x')
        self.assertEqual([r['path'] for r in phases.recorded()], [['growth']])

    def test_the_log_gets_one_line_per_phase(self):
        lines = []
        with phases.phase('environment up', lines.append):
            pass
        self.assertEqual(len(lines), 1)
        self.assertTrue(lines[0].startswith('environment up: '), lines[0])


class TestTable(unittest.TestCase):
    RECORDS = [
        {'path': ['environment up'], 'start_s': 0.0, 'wall_s': 5.0, 'cpu_s': 4.0},
        {'path': ['small', 'populate'], 'start_s': 5.0, 'wall_s': 3.0, 'cpu_s': 5.0},
        {'path': ['small', 'ours', 'stop processes'], 'start_s': 9.0, 'wall_s': 1.0,
         'cpu_s': 0.5},
        {'path': ['small', 'ours'], 'start_s': 8.0, 'wall_s': 4.0, 'cpu_s': 6.0},
        {'path': ['small', 'copy', 'stop processes'], 'start_s': 13.0, 'wall_s': 0.5,
         'cpu_s': 0.2},
        {'path': ['small', 'copy'], 'start_s': 12.0, 'wall_s': 2.0, 'cpu_s': 3.0},
        {'path': ['small'], 'start_s': 5.0, 'wall_s': 10.0, 'cpu_s': 15.0},
    ]

    def test_sections_in_order_with_their_steps_added_up_by_name(self):
        rows = phases.table(self.RECORDS, total_s=16.0)
        labels = [r.split('|')[1].strip() for r in rows[2:]]
        self.assertEqual(labels[:2], ['**environment up**', '**small**'])
        stop = [r for r in rows if 'stop processes' in r][0]
        self.assertEqual([c.strip() for c in stop.split('|')[2:5]], ['2', '1.5', '0.7'])
        self.assertEqual(labels.index('&nbsp;&nbsp;ours'), 2)     # the longest step first
        self.assertIn('| **whole command** | | 16.0 |', rows[-1])
        self.assertIn('| 1.0 |', rows[-2])      # 16 s less the 15 s of both sections
        self.assertIn('| 1.50 |', [r for r in rows if '**small**' in r][0])  # cores busy

    def test_a_run_without_phases_has_no_table(self):
        self.assertEqual(phases.table([]), [])


if __name__ == '__main__':
    unittest.main()

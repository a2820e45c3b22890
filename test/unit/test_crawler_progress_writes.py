"""Status-file writes off the eventlet hub: other green threads run during the fsyncs, entry
updates of one file never lose each other, writes land in call order, and a kill -9 in the
middle of writing leaves the old or the new file."""
import json
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
import types
import unittest
from unittest import mock

import eventlet
from eventlet import patcher

from s3_sync.crawler import progress as progress_module
from s3_sync.crawler.progress import StatusFile, atomic_write_json
from s3_sync.status import recon

from test.unit.test_crawler_helpers import NullLogger, mapping

real_sleep = patcher.original('time').sleep
real_fsync = os.fsync


def slow_fsync(seconds):
    """An fsync that blocks its OS thread ``seconds``: a number, a (low, high) range to
    pick from at random, or a function of the JSON in the file (not called for a dir)."""
    def fsync(fd):
        if not callable(seconds):
            real_sleep(random.uniform(*seconds) if isinstance(seconds, tuple) else seconds)
        elif not stat.S_ISDIR(os.fstat(fd).st_mode):
            real_sleep(seconds(json.loads(os.pread(fd, 1000, 0))))
        return real_fsync(fd)
    return fsync


class GreenDaemonTest(unittest.TestCase):
    """As in the daemon: green threads share one OS thread (thread monkey-patched)."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='crawler-progress-writes-')
        patched = mock.patch.object(progress_module.patcher, 'is_monkey_patched',
                                    lambda module: module == 'thread')
        patched.start()
        self.addCleanup(patched.stop)
        self.addCleanup(shutil.rmtree, self.dir, True)

    def slow_disk(self, seconds):
        patched = mock.patch.object(progress_module.os, 'fsync', slow_fsync(seconds))
        patched.start()
        self.addCleanup(patched.stop)


class TestWritesOffTheHub(GreenDaemonTest):
    def test_other_green_threads_run_while_a_write_waits_for_the_disk(self):
        self.slow_disk(0.2)         # two fsyncs per write: 0.4 s of blocked disk
        ticks, done = [], []

        def ticker():
            while not done:
                ticks.append(time.monotonic())
                eventlet.sleep(0.01)
        ticking = eventlet.spawn(ticker)
        eventlet.sleep(0)
        start = time.monotonic()
        atomic_write_json(os.path.join(self.dir, 'a', 'cont'), {'last_row': 1})
        elapsed = time.monotonic() - start
        done.append(True)
        ticking.wait()
        self.assertGreaterEqual(elapsed, 0.4)
        during = [t for t in ticks if start < t < start + elapsed]
        # blocking the hub would leave no tick at all during the write
        self.assertGreater(len(during), 10)

    def test_entry_updates_of_racing_green_threads_keep_every_entry(self):
        self.slow_disk((0.0, 0.02))
        status = StatusFile(self.dir, 'AUTH_test', 'root', NullLogger())

        def crawl(db_id):
            progress = status.load(db_id, mapping(), 20)
            for row in range(1, 6):
                progress.last_row = row
                progress.save()
        pool = eventlet.GreenPool()
        for n in range(8):          # e.g. the shard DBs of one root, crawled at once
            pool.spawn(crawl, 'db%d' % n)
        pool.waitall()
        with open(status.path) as f:
            data = json.load(f)
        self.assertEqual({k: v['last_row'] for k, v in data.items()},
                         {'db%d' % n: 5 for n in range(8)})

    def test_writes_of_one_path_land_in_call_order(self):
        # each write's disk quicker than the one before: unserialized, the first lands last
        self.slow_disk(lambda data: 0.02 * (9 - data['n']))
        path = os.path.join(self.dir, 'journal')
        pool = eventlet.GreenPool()
        for n in range(10):
            pool.spawn(atomic_write_json, path, {'n': n})
            eventlet.sleep(0.005)   # each asks while the earlier ones are on the disk
        pool.waitall()
        with open(path) as f:
            self.assertEqual(json.load(f), {'n': 9})
        self.assertEqual(os.listdir(self.dir), ['journal'])
        self.assertEqual(progress_module._path_locks, {})   # nothing kept per path

    def test_recon_dumps_of_racing_green_threads_keep_each_others_keys(self):
        self.slow_disk((0.0, 0.02))
        conf = types.SimpleNamespace(recon_cache_path=self.dir, status_dir=self.dir)
        pool = eventlet.GreenPool()
        for n in range(6):          # e.g. the pass summary and the published report
            pool.spawn(recon.dump, conf, {'key%d' % n: n}, NullLogger())
        pool.waitall()
        self.assertEqual(recon.load(conf), {'key%d' % n: n for n in range(6)})

    def test_a_child_forked_after_the_pool_started_writes_without_it(self):
        path = os.path.join(self.dir, 'f')
        with mock.patch.object(progress_module, '_pool_pid', os.getpid() + 1), \
                mock.patch.object(progress_module.tpool, 'execute') as execute:
            atomic_write_json(path, {'a': 1})
        execute.assert_not_called()     # the parent's pool threads do not exist in a child
        with open(path) as f:
            self.assertEqual(json.load(f), {'a': 1})

    def test_an_unsynced_write_is_done_in_place_and_a_synced_one_off_the_hub(self):
        path = os.path.join(self.dir, 'g')
        real_execute = progress_module.tpool.execute
        with mock.patch.object(progress_module.tpool, 'execute',
                               side_effect=real_execute) as execute:
            progress_module.atomic_write(path, '{"a": 1}', durable=False)
            execute.assert_not_called()     # a page-cache write: a thread costs more than it
            progress_module.atomic_write(path, '{"a": 2}')
            self.assertEqual(execute.call_count, 1)
        with open(path) as f:
            self.assertEqual(json.load(f), {'a': 2})

    def test_failed_write_off_the_hub_keeps_old_file_and_leaves_no_temp(self):
        path = os.path.join(self.dir, 'x', 'file')
        atomic_write_json(path, {'a': 1})
        with mock.patch.object(progress_module.os, 'fsync', side_effect=OSError(5, 'EIO')):
            with self.assertRaises(OSError):
                atomic_write_json(path, {'a': 2})
        with open(path) as f:
            self.assertEqual(json.load(f), {'a': 1})
        self.assertEqual(os.listdir(os.path.dirname(path)), ['file'])


WRITER = textwrap.dedent('''
    import eventlet, os, sys
    eventlet.monkey_patch()
    from s3_sync.crawler.progress import StatusFile
    status = StatusFile(sys.argv[1], 'AUTH_test', 'cont', None)
    pad = 'x' * 4000                     # a file of ~200 KiB: many pages, tearable
    n = 0
    while True:
        n += 1
        status.update_entry('db', {'last_row': n, 'pad': [pad] * 50, 'check': n * 7})
        if n == 1:
            print('first', flush=True)
''')


class TestKillDuringWrites(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='crawler-progress-kill-')
        self.addCleanup(shutil.rmtree, self.dir, True)

    def test_kill_9_while_writing_leaves_the_old_or_the_new_file(self):
        path = os.path.join(self.dir, 'AUTH_test', 'cont')
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
        seen = set()
        for attempt in range(4):
            proc = subprocess.Popen([sys.executable, '-W', 'ignore', '-c', WRITER, self.dir],
                                    stdout=subprocess.PIPE, env=env)
            self.assertEqual(proc.stdout.readline().strip(), b'first')
            real_sleep(random.uniform(0.05, 0.4))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            proc.stdout.close()
            with open(path) as f:
                entry = json.load(f)['db']      # whole JSON: not torn
            self.assertEqual(entry['check'], entry['last_row'] * 7)
            self.assertEqual(len(entry['pad']), 50)
            seen.add(entry['last_row'])
        self.assertGreater(max(seen), 1, 'the kills never came during the writes')


if __name__ == '__main__':
    unittest.main()

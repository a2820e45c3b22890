import ctypes
import errno
import os
import struct
import time
import unittest
from unittest import mock

import eventlet

from s3_sync.crawler import watcher as watcher_mod
from s3_sync.crawler.crawler import Crawler
from s3_sync.crawler.watcher import IN_CREATE, IN_MODIFY, Watcher, parse_events
from s3_sync.sync.outcome import Retry

from test.unit.test_crawler_helpers import Cluster, FakeFactory, NullLogger, mapping, put


class TestWatcher(unittest.TestCase):
    def setUp(self):
        self.cluster = Cluster()
        self.logger = NullLogger()
        self.broker = self.cluster.create('AUTH_test', 'cont')[0]
        put(self.broker, 'existing')
        self.broker.get_items_since(0, 1)   # merges .pending; reads now take the .lock file
        self.watcher = Watcher(self.logger)
        self.assertTrue(self.watcher.active)

    def tearDown(self):
        self.watcher.close()
        self.cluster.cleanup()

    def test_put_to_pending_file_is_reported_within_a_second(self):
        self.watcher.watch(self.broker.db_file)
        put(self.broker, 'new-object')
        self.assertEqual(self.watcher.wait(1.0), {self.broker.db_file})

    def test_wait_returns_when_the_change_happens_during_the_wait(self):
        self.watcher.watch(self.broker.db_file)
        eventlet.spawn_after(0.05, put, self.broker, 'later')
        self.assertEqual(self.watcher.wait(5.0), {self.broker.db_file})

    def test_reading_the_db_does_not_wake_the_watcher(self):
        self.watcher.watch(self.broker.db_file)
        self.broker.get_items_since(0, 10)     # opens the .lock file; pending is empty
        self.broker.get_info()
        self.assertEqual(self.watcher.wait(0.1), set())

    def test_new_db_file_in_the_directory_is_reported(self):
        path = os.path.join(os.path.dirname(self.broker.db_file), 'other.db')
        self.watcher.watch(path)
        open(path, 'w').close()
        self.assertEqual(self.watcher.wait(1.0), {path})

    def test_watch_only_drops_dbs_no_longer_crawled(self):
        self.watcher.watch(self.broker.db_file)
        self.watcher.watch_only(set())
        put(self.broker, 'x')
        self.assertEqual(self.watcher.wait(0.1), set())

    def test_missing_directory_is_not_an_error(self):
        self.watcher.watch('/nonexistent/dir/x.db')
        self.assertEqual(self.logger.at('WARNING'), [])

    def test_watch_limit_falls_back_to_polling_with_one_warning(self):
        libc = mock.Mock()

        def refuse(*_a):
            ctypes.set_errno(errno.ENOSPC)
            return -1
        libc.inotify_add_watch.side_effect = refuse
        self.watcher._libc = libc
        self.watcher.watch(self.broker.db_file)
        self.watcher.watch('/tmp/other/x.db')
        warnings = self.logger.at('WARNING')
        self.assertEqual(len(warnings), 1)
        self.assertIn('No space left on device', warnings[0])


class TestWatcherFallback(unittest.TestCase):
    def test_without_inotify_wait_sleeps_and_warns_once(self):
        logger = NullLogger()
        with mock.patch.object(watcher_mod, '_load_libc', side_effect=OSError('no libc')):
            w = Watcher(logger)
        self.assertFalse(w.active)
        w.watch('/tmp/x/y.db')
        with mock.patch('eventlet.sleep') as sleep:
            self.assertEqual(w.wait(0.5), set())
        sleep.assert_called_once_with(0.5)
        self.assertEqual(len(logger.at('WARNING')), 1)
        self.assertIn('no libc', logger.at('WARNING')[0])


class TestParseEvents(unittest.TestCase):
    def test_events_with_padded_names(self):
        name = 'abc.db.pending'.encode() + b'\0' * 2
        buf = struct.pack('iIII', 3, IN_MODIFY, 0, len(name)) + name
        buf += struct.pack('iIII', 4, IN_CREATE, 0, 0)
        self.assertEqual(parse_events(buf), [(3, IN_MODIFY, 'abc.db.pending'),
                                             (4, IN_CREATE, '')])


class RecordingWatcher(Watcher):
    """Runs ``after_first_watch`` once the crawler starts watching (after its first cycle)."""
    after_first_watch = None
    before_first_watch = None

    def watch_only(self, db_paths):
        hook, self.before_first_watch = self.before_first_watch, None
        if hook:
            hook()
        fresh = super().watch_only(db_paths)
        hook, self.after_first_watch = self.after_first_watch, None
        if hook:
            hook()
        return fresh


class TestRunForever(unittest.TestCase):
    def setUp(self):
        self.cluster = Cluster()
        self.logger = NullLogger()
        self.broker = self.cluster.create('AUTH_test', 'cont')[0]
        self.factory = FakeFactory()
        conf = self.cluster.conf(1, [mapping()], poll_interval=600, watch=True,
                                 verification_slack=60)
        self.crawler = Crawler(conf, self.factory, self.logger)
        self.crawler.node.replicas = self._own_all(self.crawler.node.replicas)
        self.crawler.watcher = RecordingWatcher(self.logger)

    def tearDown(self):
        self.crawler.close()
        self.cluster.cleanup()

    @staticmethod
    def _own_all(replicas):
        return lambda a, c: [r._replace(index=0, count=1) for r in replicas(a, c)]

    def run_crawler(self):
        with eventlet.Timeout(20):     # a guard against hanging, not a timing assertion
            self.crawler.run_forever()

    def test_new_row_is_picked_up_by_a_quick_pass_not_the_next_poll(self):
        put(self.broker, 'first')
        self.crawler.watcher.after_first_watch = lambda: put(self.broker, 'second')
        self.factory.sync.outcomes['second'] = lambda row: self.crawler.stop()
        self.run_crawler()
        self.assertEqual(self.factory.sync.rows, ['first', 'second'])
        self.assertEqual(len(self.logger.at('INFO')), 1)   # one full cycle only

    def test_row_written_between_crawl_and_watch_is_not_missed(self):
        put(self.broker, 'first')
        # Written after the cycle read the DB but before the watch existed: no event comes.
        self.crawler.watcher.before_first_watch = lambda: put(self.broker, 'between')
        self.factory.sync.outcomes['between'] = lambda row: self.crawler.stop()
        self.run_crawler()
        self.assertEqual(self.factory.sync.rows, ['first', 'between'])
        self.assertEqual(len(self.logger.at('INFO')), 1)   # one full cycle only

    def test_pending_row_coming_due_is_retried_without_waiting_for_the_poll(self):
        put(self.broker, 'deferred')
        calls = []

        def outcome(row):
            calls.append(row['name'])
            if len(calls) == 1:
                return Retry(time.time() + 0.2)
            self.crawler.stop()
        self.factory.sync.outcomes['deferred'] = outcome
        self.run_crawler()
        self.assertEqual(calls, ['deferred', 'deferred'])
        self.assertEqual(len(self.logger.at('INFO')), 1)


if __name__ == '__main__':
    unittest.main()


class TestWatcherInAGreenedProcess(unittest.TestCase):
    """The daemon monkey-patches everything; the watcher must still return from wait()."""

    SCRIPT = '''
import eventlet, logging, os, sys
eventlet.monkey_patch()
from s3_sync.crawler.watcher import Watcher
db = sys.argv[1]
w = Watcher(logging.getLogger('t'))
w.watch(db)
with open(db + '.pending', 'a') as f:
    f.write('x')
first = w.wait(5)
second = w.wait(0.2)      # nothing new: must come back empty, not hang
print(sorted(first) == [db], second == set())
'''

    def test_wait_returns_under_monkey_patching(self):
        import subprocess
        import sys
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            db = os.path.join(tmp, 'x.db')
            open(db, 'w').close()
            out = subprocess.run([sys.executable, '-c', self.SCRIPT, db], capture_output=True,
                                 text=True, timeout=60, cwd=os.getcwd())
        self.assertEqual(out.stdout.strip(), 'True True', out.stderr[-2000:])

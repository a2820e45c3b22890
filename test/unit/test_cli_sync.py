"""The daemon's command line: bad configs are one line on stderr and a non-zero exit."""
import contextlib
import io
import json
import os
import shutil
import signal
import tempfile
import unittest
from unittest import mock

from s3_sync.cli import sync
from test.unit.daemon_helpers import DaemonDirs, restore_logging, run_daemon
from test.unit.test_crawler_helpers import swift_dir


class TestSyncCommandLine(unittest.TestCase):
    def run_main(self, *argv):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            rc = sync.run(list(argv))
        return rc, err.getvalue()

    def write(self, conf):
        fd, path = tempfile.mkstemp(suffix='.json')
        with os.fdopen(fd, 'w') as f:
            f.write(conf if isinstance(conf, str) else json.dumps(conf))
        self.addCleanup(os.unlink, path)
        return path

    def test_missing_config_file_is_one_line_and_exit_2(self):
        rc, err = self.run_main('--config', '/nonexistent/sync.json')
        self.assertEqual(rc, 2)
        self.assertEqual(len(err.strip().splitlines()), 1)
        self.assertIn('/nonexistent/sync.json', err)
        self.assertNotIn('Traceback', err)

    def test_invalid_json_names_file_and_position(self):
        path = self.write('{"containers": [}')
        rc, err = self.run_main('--config', path)
        self.assertEqual(rc, 2)
        self.assertIn(path, err)
        self.assertEqual(len(err.strip().splitlines()), 1)

    def test_no_mappings_is_a_clean_exit(self):
        path = self.write({'devices': '/srv/node', 'status_dir': '/tmp', 'items_chunk': 10,
                           'containers': []})
        rc, err = self.run_main('--config', path, '--console', '--once')
        self.assertEqual(rc, 0, err)

    def test_config_is_required(self):
        with self.assertRaises(SystemExit) as caught, \
                contextlib.redirect_stderr(io.StringIO()):
            sync.run([])
        self.assertEqual(caught.exception.code, 2)


class DaemonCase(unittest.TestCase):
    """The real daemon in this process, on a node whose devices hold no DB (so a pass is
    quick), with a real swift_dir."""

    def setUp(self):
        self.dirs = DaemonDirs()
        self.addCleanup(self.dirs.cleanup)
        self.addCleanup(restore_logging)
        # A bad swift_dir leaves Swift's module-level hash path config pointing at it.
        self.addCleanup(swift_dir)

    def run_daemon(self, conf, *extra):
        path = self.dirs.write(conf)
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            rc = sync.run(['--config', path, '--once'] + list(extra or ['--console']))
        return rc, err.getvalue(), path

    def assert_refused(self, conf, key, message, *extra):
        rc, err, path = self.run_daemon(conf, *extra)
        self.assertEqual(rc, 2, err)
        self.assertNotIn('Traceback', err)
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assertTrue(err.startswith('swift-s3-sync: %s: %s: ' % (path, key)), err)
        self.assertIn(message, err)
        return err

    def file(self, name, content=''):
        path = os.path.join(self.dirs.base, name)
        with open(path, 'w') as f:
            f.write(content)
        return path


class TestPathsTheConfigNames(DaemonCase):
    """What a key names must be usable on this node: otherwise exit 2 with one line naming the
    key, instead of a daemon that runs and syncs nothing, or crashes later naming no key."""

    def test_a_good_node_runs_a_pass_and_stops(self):
        rc, err, _ = self.run_daemon(self.dirs.conf())
        self.assertEqual(rc, 0, err)
        self.assertIn('cycle done', err)
        self.assertTrue(err.splitlines()[-1].endswith('stopped'), err)

    def test_missing_devices_dir_is_refused(self):
        missing = os.path.join(self.dirs.base, 'nope')
        self.assert_refused(self.dirs.conf(devices=missing), 'devices',
                            'no such directory: %s' % missing)

    def test_devices_that_is_a_file_is_refused(self):
        self.assert_refused(self.dirs.conf(devices=self.file('afile')), 'devices',
                            'not a directory')

    def test_status_dir_that_is_a_file_is_refused(self):
        self.assert_refused(self.dirs.conf(status_dir=self.file('afile')), 'status_dir',
                            'not a directory')

    def test_missing_status_dir_is_created(self):
        status_dir = os.path.join(self.dirs.base, 'new', 'status')
        rc, err, _ = self.run_daemon(self.dirs.conf(status_dir=status_dir))
        self.assertEqual(rc, 0, err)
        self.assertTrue(os.path.isdir(status_dir))

    def test_status_dir_that_cannot_be_created_is_refused(self):
        status_dir = os.path.join(self.file('afile'), 'status')
        self.assert_refused(self.dirs.conf(status_dir=status_dir), 'status_dir',
                            'cannot create %s' % status_dir)

    def test_swift_dir_without_swift_conf_is_refused(self):
        empty = os.path.join(self.dirs.base, 'swift')
        os.mkdir(empty)
        self.assert_refused(self.dirs.conf(swift_dir=empty), 'swift_dir',
                            'cannot read %s/swift.conf' % empty)

    def test_swift_conf_without_hash_path_config_is_refused(self):
        swift = os.path.join(self.dirs.base, 'swift')
        os.mkdir(swift)
        self.file('swift/swift.conf', '[swift-hash]\n')
        self.assert_refused(self.dirs.conf(swift_dir=swift), 'swift_dir',
                            'swift_hash_path_suffix and swift_hash_path_prefix are missing')

    def test_swift_dir_without_rings_is_refused(self):
        swift = os.path.join(self.dirs.base, 'swift')
        os.mkdir(swift)
        shutil.copy(os.path.join(self.dirs.swift_dir, 'swift.conf'), swift)
        self.assert_refused(self.dirs.conf(swift_dir=swift), 'swift_dir', 'container.ring.gz')

    def test_internal_client_path_given_but_missing_is_refused(self):
        missing = os.path.join(self.dirs.base, 'internal-client.conf')
        self.assert_refused(self.dirs.conf(internal_client_path=missing),
                            'internal_client_path', 'no such file: %s' % missing)

    def test_internal_client_path_that_is_no_pipeline_is_refused(self):
        self.assert_refused(self.dirs.conf(internal_client_path=self.file('ic.conf', '[x]\n')),
                            'internal_client_path', "No section 'main'")

    def test_log_file_in_a_missing_dir_is_refused(self):
        log_file = os.path.join(self.dirs.base, 'no', 'sync.log')
        self.assert_refused(self.dirs.conf(log_file=log_file), 'log_file',
                            'cannot open %s' % log_file, '--once')

    def test_a_refusal_goes_to_the_log_file_too(self):
        log_file = os.path.join(self.dirs.base, 'sync.log')
        missing = os.path.join(self.dirs.base, 'nope')
        self.assert_refused(self.dirs.conf(devices=missing, log_file=log_file), 'devices',
                            'no such directory', '--once')
        with open(log_file) as f:
            self.assertIn('devices: no such directory: %s' % missing, f.read())


class TestNodeThatSyncsNothing(DaemonCase):
    """A config that loads but names no device of this node says so (once, a warning)."""

    def warnings(self, conf):
        rc, err, _ = self.run_daemon(conf)
        self.assertEqual(rc, 0, err)
        return [line for line in err.splitlines() if '[WARNING]' in line]

    def test_no_ring_device_at_the_bind_address_is_a_warning(self):
        warnings = self.warnings(self.dirs.conf(swift_bind_ip='127.0.0.9'))
        self.assertEqual(len(warnings), 1, warnings)
        self.assertIn("no device of the container ring is this node's (swift_bind_ip "
                      "127.0.0.9): nothing is synced here", warnings[0])

    def test_wrong_port_is_a_warning(self):
        warnings = self.warnings(self.dirs.conf(swift_bind_port=6000))
        self.assertEqual(len(warnings), 1, warnings)
        self.assertIn('swift_bind_port 6000', warnings[0])

    def test_devices_dir_without_this_nodes_devices_is_a_warning(self):
        warnings = self.warnings(self.dirs.conf(devices=self.dirs.base))
        self.assertEqual(len(warnings), 1, warnings)
        self.assertIn("none of this node's container ring devices (sdb1) is under devices",
                      warnings[0])

    def test_a_node_with_its_device_says_nothing(self):
        self.assertEqual(self.warnings(self.dirs.conf()), [])


class TestStopsAndFailures(DaemonCase):
    def test_an_unexpected_error_is_one_line_and_exit_1(self):
        with mock.patch('s3_sync.crawler.crawler.Crawler.run_once',
                        side_effect=KeyError('boom')):
            rc, err, _ = self.run_daemon(self.dirs.conf())
        self.assertEqual(rc, 1, err)
        self.assertNotIn('Traceback', err)
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assertIn('[ERROR]: stopped by an unexpected error: KeyError', err)

    def test_a_stop_requested_while_starting_runs_no_pass(self):
        stop = sync.StopRequest()
        stop.signum = signal.SIGTERM
        path = self.dirs.write(self.dirs.conf())
        with mock.patch('s3_sync.crawler.crawler.Crawler.run_once') as run_once, \
                contextlib.redirect_stderr(io.StringIO()) as err:
            rc = sync.run(['--config', path, '--once', '--console'], stop)
        self.assertEqual(rc, 0, err.getvalue())
        run_once.assert_not_called()
        self.assertTrue(err.getvalue().rstrip().endswith('stopped'), err.getvalue())

    def test_signal_handlers_are_given_back(self):
        before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
        self.run_daemon(self.dirs.conf())
        self.assertEqual((signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)),
                         before)

    def test_a_signal_stops_the_crawler(self):
        stop = sync.StopRequest()
        stop.crawler = mock.Mock()
        stop(signal.SIGTERM, None)
        stop.crawler.stop.assert_called_once_with()
        self.assertEqual(stop.signum, signal.SIGTERM)


class TestRealProcessPathErrors(unittest.TestCase):
    """What systemd sees: exit 2 and one stderr line, from a real process."""

    def setUp(self):
        self.dirs = DaemonDirs()
        self.addCleanup(self.dirs.cleanup)

    def test_missing_devices_dir(self):
        path = self.dirs.write(self.dirs.conf(devices='/nonexistent/srv/node'))
        rc, err = run_daemon('--config', path, '--once', '--console')
        self.assertEqual((rc, err), (2, 'swift-s3-sync: %s: devices: no such directory: '
                                        '/nonexistent/srv/node\n' % path))

    def test_swift_conf_without_hash_path_config(self):
        # Swift's own check calls sys.exit(): still one line naming the key, still 2.
        swift = os.path.join(self.dirs.base, 'swift')
        os.mkdir(swift)
        with open(os.path.join(swift, 'swift.conf'), 'w') as f:
            f.write('[swift-hash]\n')
        path = self.dirs.write(self.dirs.conf(swift_dir=swift))
        rc, err = run_daemon('--config', path, '--once', '--console')
        self.assertEqual(rc, 2, err)
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assertIn('%s: swift_dir: ' % path, err)


if __name__ == '__main__':
    unittest.main()

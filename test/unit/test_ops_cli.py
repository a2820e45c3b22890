"""The operator commands' small decisions: dates, audit differences, the shunt's per-object
comparison, the dry run's log lines, how an error ends a command."""
import contextlib
import io
import json
import os
import shutil
import tempfile
import unittest
from unittest import mock

from swift.common.utils import Timestamp

from s3_sync.cli.audit import difference
from s3_sync.cli.exits import exit_status
from s3_sync.cli import status as status_cli
from s3_sync.cli.resync import parse_date
from s3_sync.config import ConfigError
from s3_sync.dryrun import DryRunSync
from s3_sync.providers.base import RemoteObject
from s3_sync.shunt.sync_status import asked, compare
from test.unit.fakes import make_mapping


def fail(exc):
    def command():
        raise exc
    return command


class ExitStatusTest(unittest.TestCase):
    def run_command(self, command, **kw):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            status = exit_status('prog', command, ((ConfigError, 2), (OSError, 1)), **kw)
        return status, err.getvalue()

    def test_resync_ends_an_unexpected_error_in_one_line_with_status_1(self):
        from s3_sync.cli import resync
        err = io.StringIO()
        def run(_args):
            raise RuntimeError('boom\nsecond line')
        # main() greens the process first: not this test process
        with mock.patch('swift.common.utils.monkey_patch'), \
                mock.patch.object(resync, 'run', run), \
                contextlib.redirect_stderr(err):
            status = resync.main(['--config', '/nonexistent'])
        self.assertEqual(status, 1)
        self.assertEqual(err.getvalue(), 'swift-s3-sync resync: RuntimeError: boom\n')

    def test_each_kind_of_error_is_one_line_and_its_exit_status(self):
        self.assertEqual(self.run_command(lambda: 0), (0, ''))
        self.assertEqual(self.run_command(fail(ConfigError('--x', 'bad'))),
                         (2, 'prog: --x: bad\n'))
        self.assertEqual(self.run_command(fail(OSError('gone'))), (1, 'prog: gone\n'))
        self.assertEqual(self.run_command(fail(RuntimeError('first\nsecond')), unexpected=3),
                         (3, 'prog: RuntimeError: first\n'))

    def test_without_a_status_for_the_unexpected_it_is_raised_on(self):
        with self.assertRaises(KeyError):
            self.run_command(fail(KeyError('k')))


class UnreadableStatusDirTest(unittest.TestCase):
    def test_an_unreadable_status_dir_is_one_line_naming_it_and_exit_1(self):
        # Tests run as root, who reads everything: the permission check is made to say no.
        directory = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, directory)
        path = os.path.join(directory, 'sync.json')
        with open(path, 'w') as f:
            json.dump({'devices': directory, 'status_dir': directory, 'items_chunk': 10,
                       'containers': [{'account': 'AUTH_a', 'container': 'c',
                                       'aws_bucket': 'b', 'aws_identity': 'i',
                                       'aws_secret': 's'}]}, f)
        err = io.StringIO()
        with mock.patch('os.access', return_value=False), contextlib.redirect_stderr(err):
            status = status_cli.main(['--config', path])
        self.assertEqual(status, 1)
        self.assertEqual(err.getvalue(), 'swift-s3-sync status: status_dir %s cannot be read '
                         '(permissions)\n' % directory)


class ParseDateTest(unittest.TestCase):
    def test_dates_and_date_times_are_utc_unless_they_say_otherwise(self):
        self.assertEqual(parse_date('1970-01-02'), 86400)
        self.assertEqual(parse_date('1970-01-01T01:00:00Z'), 3600)
        self.assertEqual(parse_date('1970-01-01T02:00:00+01:00'), 3600)

    def test_a_bad_date_is_a_config_error_naming_the_option(self):
        with self.assertRaises(ConfigError) as caught:
            parse_date('last tuesday')
        self.assertIn('--since', str(caught.exception))


class AuditDifferenceTest(unittest.TestCase):
    def remote(self, etag, size):
        return RemoteObject('o', etag, size, 0.0)

    def test_etag_and_size_decide_and_slos_compare_by_size(self):
        local = {'name': 'o', 'hash': 'abc', 'bytes': 3, 'content_type': 'text/plain'}
        self.assertIsNone(difference(local, self.remote('abc', 3)))
        self.assertIn('ETag', difference(local, self.remote('abd', 3)))
        self.assertIn('size', difference(local, self.remote('abc', 4)))
        slo = dict(local, slo_etag='whatever')
        self.assertIsNone(difference(slo, self.remote('mpu-2', 3)))


class ShuntCompareTest(unittest.TestCase):
    def test_synced_needs_etag_size_and_metadata(self):
        local = {'etag': '"abc"', 'content-length': '3', 'x-object-meta-k': 'v',
                 'content-type': 'text/plain'}
        same = RemoteObject('o', 'abc', 3, 0.0, headers={'x-object-meta-k': 'v',
                                                         'content-type': 'text/plain'})
        self.assertIsNone(compare(local, same))
        self.assertEqual(compare(local, None), 'not on the remote yet')
        other = RemoteObject('o', 'abc', 3, 0.0, headers={'x-object-meta-k': 'w',
                                                          'content-type': 'text/plain'})
        self.assertEqual(compare(local, other), 'remote metadata differ')

    def test_only_a_head_that_asks_is_answered(self):
        self.assertTrue(asked({'REQUEST_METHOD': 'HEAD', 'QUERY_STRING': 'sync-status'}))
        self.assertTrue(asked({'REQUEST_METHOD': 'HEAD', 'HTTP_X_CLOUD_SYNC_STATUS': 'check'}))
        self.assertFalse(asked({'REQUEST_METHOD': 'GET', 'QUERY_STRING': 'sync-status'}))
        self.assertFalse(asked({'REQUEST_METHOD': 'HEAD',
                                'QUERY_STRING': 'multipart-manifest=get'}))


class Logger:
    def __init__(self):
        self.lines = []

    def info(self, fmt, *args):
        self.lines.append(fmt % args)


class FakeSync:
    def __init__(self, mapping):
        self.mapping = mapping
        self.path = 'AUTH_test/cont'
        self.clock = lambda: 1000.0

    def excluded(self, name):
        return False


def row(name, deleted=0, ts=900.0):
    return {'name': name, 'deleted': deleted, 'size': 5, 'created_at': Timestamp(ts).internal}


class DryRunTest(unittest.TestCase):
    def test_rows_are_logged_as_what_a_real_pass_would_do(self):
        logger = Logger()
        dry = DryRunSync(FakeSync(make_mapping(retain_local=False, copy_after=50)), logger)
        self.assertIsNone(dry.handle_row(row('a')))
        later = dry.handle_row(row('b', ts=990.0))
        self.assertEqual(later.due, 1040.0)
        self.assertIsNone(dry.handle_row(row('c', deleted=1)))
        self.assertEqual(logger.lines, [
            'dry run: would upload AUTH_test/cont/a (5 bytes); would archive it (delete the '
            'local copy once the remote one is verified)',
            'dry run: would wait for copy_after: AUTH_test/cont/b due in 40s',
            'dry run: would delete AUTH_test/cont/c remotely (a client deleted the archived '
            'object)'])

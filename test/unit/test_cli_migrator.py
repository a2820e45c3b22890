"""swift-s3-migrator's command line: bad configs are one line and exit 2; --status prints."""
import contextlib
import io
import json
import os
import tempfile
import unittest

from s3_sync.cli import migrator

MIGRATION = {'account': 'AUTH_a', 'aws_bucket': 'b', 'aws_identity': 'i', 'aws_secret': 's'}


class TestMigratorCommandLine(unittest.TestCase):
    def run_main(self, *argv):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            rc = migrator.run(list(argv))
        return rc, out.getvalue(), err.getvalue()

    def write(self, conf):
        fd, path = tempfile.mkstemp(suffix='.json')
        with os.fdopen(fd, 'w') as f:
            f.write(conf if isinstance(conf, str) else json.dumps(conf))
        self.addCleanup(os.unlink, path)
        return path

    def assertRefused(self, conf, *expected):
        rc, _out, err = self.run_main('--config', self.write(conf), '--console', '--once')
        self.assertEqual(rc, 2, err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertNotIn('Traceback', err)
        for text in expected:
            self.assertIn(text, err)

    def test_missing_migrator_settings_is_refused(self):
        self.assertRefused({'migrations': [MIGRATION]}, 'migrator_settings: missing required')

    def test_bad_migration_is_refused_naming_the_key(self):
        self.assertRefused({'migrations': [dict(MIGRATION, older_than='1h')],
                            'migrator_settings': {'status_file': '/tmp/x', 'items_chunk': 1}},
                           'migrations[0].older_than: must be a number')

    def test_relocating_an_all_buckets_migration_is_refused(self):
        self.assertRefused({'migrations': [dict(MIGRATION, aws_bucket='/*', container='c')],
                            'migrator_settings': {'status_file': '/tmp/x', 'items_chunk': 1}},
                           'migrations[0].container')

    def test_status_prints_each_container(self):
        status = self.write([dict(MIGRATION, container='c', status={
            'marker': 'm', 'moved_count': 3, 'bytes_count': 30, 'scanned_count': 4,
            'source_count': 9, 'source_count_from': 'container', 'errors_count': 1,
            'pass_started': 1.0})])
        rc, out, _err = self.run_main('--config', self.write({
            'migrations': [MIGRATION],
            'migrator_settings': {'status_file': status, 'items_chunk': 10}}), '--status')
        self.assertEqual(rc, 0)
        self.assertIn('AUTH_a/c <- s3 b', out)
        self.assertIn('copied 3 objects, 30 bytes; scanned 4', out)
        self.assertIn("marker 'm'", out)
        self.assertIn("the source holds 9 objects (its container's count); this scan has "
                      "listed 4 so far, 5 remaining", out)
        self.assertIn('1 errors in it', out)


if __name__ == '__main__':
    unittest.main()

"""The daemon's command line: bad configs are one line on stderr and a non-zero exit."""
import contextlib
import io
import json
import os
import tempfile
import unittest

from s3_sync.cli import sync


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


if __name__ == '__main__':
    unittest.main()

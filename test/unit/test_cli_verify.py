"""swift-s3-verify refuses argument combinations that cannot work, in one line."""
import contextlib
import io
import unittest

from s3_sync.cli import verify

BASE = ['--endpoint', 'http://127.0.0.1:1', '--username', 'u', '--password', 'p']


class TestVerifyArguments(unittest.TestCase):
    def run_main(self, *argv):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            rc = verify.main(list(argv))
        return rc, err.getvalue().strip()

    def test_account_needs_swift(self):
        rc, err = self.run_main('--protocol', 's3', '--bucket', 'b', '--account', 'A', *BASE)
        self.assertEqual(rc, 1)
        self.assertIn('account is only valid with swift protocol', err)

    def test_keystone_needs_swift(self):
        rc, err = self.run_main('--protocol', 's3', '--bucket', 'b', '--auth-type',
                                'keystone_v3', *BASE)
        self.assertEqual((rc, err), (1, 'swift-s3-verify: Keystone auth requires swift protocol.'))

    def test_slash_in_bucket_is_refused(self):
        rc, err = self.run_main('--protocol', 's3', '--bucket', 'a/b', *BASE)
        self.assertIn('slash is not allowed in container name', err)

    def test_unreachable_endpoint_is_one_line_naming_the_step(self):
        rc, err = self.run_main('--protocol', 's3', '--bucket', 'bucket', *BASE)
        self.assertEqual(rc, 1)
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assertIn('checking the bucket failed', err)
        self.assertNotIn('Traceback', err)


if __name__ == '__main__':
    unittest.main()

"""swift-s3-verify against real S3 servers and a real remote Swift."""
import contextlib
import io

from s3_sync.cli import verify
from test.integration.env import IntegrationTest


class TestVerify(IntegrationTest):
    def run_verify(self, target, *extra, protocol='s3'):
        out, err = io.StringIO(), io.StringIO()
        argv = ['--protocol', protocol, '--endpoint', target['aws_endpoint'],
                '--username', target['aws_identity'], '--password', target['aws_secret']]
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = verify.main(argv + list(extra))
        return rc, out.getvalue() + err.getvalue()

    def test_read_write_check_passes_on_both_s3_servers(self):
        for target in self.s3_targets():
            with self.subTest(target=target['name']):
                bucket = self.make_bucket(target)
                self.assertEqual(self.run_verify(target, '--bucket', bucket), (0, 'OK\n'))
                self.assertEqual(self.run_verify(target, '--bucket', bucket, '--prefix', 'p'),
                                 (0, 'OK\n'))

    def test_read_write_check_passes_on_remote_swift(self):
        target = self.swift_target()
        container = self.unique_name('verify')
        conn = self.remote_swift_conn()
        conn.put_container(container)
        self.addCleanup(conn.delete_container, container)
        self.assertEqual(self.run_verify(target, '--bucket', container, protocol='swift'),
                         (0, 'OK\n'))

    def test_missing_bucket_and_read_only_empty_bucket_are_one_line_errors(self):
        target = self.s3_targets()[0]
        rc, out = self.run_verify(target, '--bucket', 'no-such-bucket-verify')
        self.assertEqual(rc, 1)
        self.assertIn('no-such-bucket-verify', out)
        bucket = self.make_bucket(target)
        rc, out = self.run_verify(target, '--bucket', bucket, '--read-only')
        self.assertEqual(rc, 1)
        self.assertIn('no objects in the bucket', out)

    def test_read_only_check_reads_an_existing_object(self):
        target = self.s3_targets()[0]
        bucket = self.make_bucket(target)
        self.s3_client(target).put_object(Bucket=bucket, Key='some/object', Body=b'x')
        self.assertEqual(self.run_verify(target, '--bucket', bucket, '--read-only',
                                         '--prefix', ''), (0, 'OK\n'))

    def test_bad_credentials_fail_without_showing_the_secret(self):
        target = [t for t in self.s3_targets() if t['name'] == 's3api'][0]
        bucket = self.make_bucket(target)
        target = dict(target, aws_secret='not-the-secret-123')
        rc, out = self.run_verify(target, '--bucket', bucket)
        self.assertEqual(rc, 1)
        self.assertNotIn('not-the-secret-123', out)
        self.assertEqual(len(out.strip().splitlines()), 1, out)

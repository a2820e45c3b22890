"""A source body cut partway by a proxy in front of the real S3 server is read on from the
byte it stopped at, into the same local PUT: the object arrives whole in one pass."""
import os

from test.integration.cutting_proxy import CuttingProxy
from test.integration.env import S3TargetTest
from test.integration.test_migrator import MiB, MigratorTestMixin, md5


class ResumedCopyTests(MigratorTestMixin):
    def test_a_body_cut_partway_is_read_on_and_copied_whole_in_one_pass(self):
        self.cleanup_local(self.bucket)
        body = os.urandom(3 * MiB + 5)
        self.s3.put_object(Bucket=self.bucket, Key='big', Body=body)
        proxy = CuttingProxy(self.target['aws_endpoint'], 'big', cut=MiB + 7)
        proxy.start()
        self.addCleanup(proxy.stop)
        migrators, outputs = self.run_migrators([{
            'account': self.account, 'aws_bucket': self.bucket, 'protocol': 's3',
            'aws_endpoint': proxy.endpoint, 'aws_identity': self.target['aws_identity'],
            'aws_secret': self.target['aws_secret']}])

        headers, got = self.local().get_object(self.bucket, 'big')
        self.assertEqual((len(got), headers['etag']), (len(body), md5(body)))
        self.assertEqual(self.moved(migrators), 1)
        # One whole GET, cut; then one ranged GET held to the same object.
        self.assertEqual([h.get('range') for _, h in proxy.gets], [None, 'bytes=%d-' % (
            MiB + 7)])
        self.assertEqual(proxy.gets[1][1]['if-match'], '"%s"' % md5(body))
        self.assertIn('source GET big broke after %d of %d bytes' % (MiB + 7, len(body)),
                      ''.join(out for _, out in outputs))


class TestResumedCopyFromMoto(ResumedCopyTests, S3TargetTest):
    target_name = 'moto'


class TestResumedCopyFromS3api(ResumedCopyTests, S3TargetTest):
    target_name = 's3api'

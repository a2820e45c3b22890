"""boto3 client construction: requests are captured before they leave (no network)."""
import base64
import dataclasses
import hashlib
import hmac
import http.server
import threading
import unittest
from unittest import mock

from botocore.awsrequest import AWSResponse

from s3_sync.providers import s3_client
from test.unit.fakes import make_mapping

EMPTY_LISTING = b'<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>'


class _Raw:
    def __init__(self, body):
        self.body = body

    def stream(self, **kwargs):
        yield self.body


def mapping(**kw):
    base = {'account': 'AUTH_a', 'container': 'c', 'aws_bucket': 'bucket',
            'aws_identity': 'AKID', 'aws_secret': 'SECRET'}
    base.update(kw)
    return make_mapping(**base)


class CapturingTest(unittest.TestCase):
    def capture(self, client, call, body=EMPTY_LISTING):
        """Run ``call(client)`` and return the request botocore would have sent."""
        sent = []

        def fake_send(request, **kwargs):
            sent.append(request)
            return AWSResponse(request.url, 200, {}, _Raw(body))
        client.meta.events.register('before-send.s3', fake_send)
        call(client)
        self.assertEqual(len(sent), 1, 'exactly one request, no botocore retries')
        return sent[0]


class TestConfig(unittest.TestCase):
    def test_defaults_for_a_clone(self):
        client = s3_client.make_client(mapping(aws_endpoint='http://127.0.0.1:5055'))
        config = client.meta.config
        self.assertEqual(config.signature_version, 's3v4')
        self.assertEqual(config.s3['addressing_style'], 'path')
        self.assertFalse(config.s3['payload_signing_enabled'])
        self.assertEqual(config.request_checksum_calculation, 'when_required')
        self.assertEqual(config.response_checksum_validation, 'when_required')
        self.assertEqual(config.retries['total_max_attempts'], 1)
        self.assertEqual((config.connect_timeout, config.read_timeout), (60, 60))
        self.assertEqual(config.max_pool_connections, 10)
        self.assertEqual(client.meta.region_name, 'us-east-1')

    def test_mapping_settings_are_used(self):
        client = s3_client.make_client(mapping(
            aws_endpoint='http://127.0.0.1:5055', remote_timeout=7, max_conns=3,
            aws_region='eu-west-1'))
        config = client.meta.config
        self.assertEqual((config.connect_timeout, config.read_timeout), (7, 7))
        self.assertEqual(config.max_pool_connections, 3)
        self.assertEqual(client.meta.region_name, 'eu-west-1')

    def test_requests_go_through_the_configured_proxy(self):
        seen = []

        class Proxy(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                seen.append(self.path)
                body = EMPTY_LISTING
                self.send_response(200)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass
        server = http.server.HTTPServer(('127.0.0.1', 0), Proxy)
        threading.Thread(target=server.handle_request, daemon=True).start()
        self.addCleanup(server.server_close)
        proxy = 'http://127.0.0.1:%d' % server.server_port
        # http_proxy is a global key; every mapping carries it (Mapping.proxies)
        client = s3_client.make_client(dataclasses.replace(
            mapping(aws_endpoint='http://127.0.0.1:1'), http_proxy=proxy))
        client.list_objects(Bucket='bucket', MaxKeys=1)
        # A proxied request names the whole URL; the endpoint itself (port 1) is never dialled.
        self.assertEqual(len(seen), 1)
        self.assertTrue(seen[0].startswith('http://127.0.0.1:1/bucket'), seen)

    def test_aws_over_https_keeps_default_checksums_and_virtual_hosting(self):
        config = s3_client.make_client(mapping()).meta.config
        self.assertNotIn('addressing_style', config.s3)
        self.assertEqual(config.request_checksum_calculation, 'when_supported')


class TestRequests(CapturingTest):
    def test_sigv4_path_style_unsigned_payload(self):
        client = s3_client.make_client(mapping(aws_endpoint='http://127.0.0.1:5055'))
        request = self.capture(client, lambda c: c.list_objects(Bucket='bucket'))
        self.assertTrue(request.url.startswith('http://127.0.0.1:5055/bucket?'))
        self.assertTrue(request.headers['Authorization'].startswith(b'AWS4-HMAC-SHA256'))
        self.assertEqual(request.headers['X-Amz-Content-SHA256'], b'UNSIGNED-PAYLOAD')

    def test_session_token_is_sent(self):
        client = s3_client.make_client(mapping(aws_endpoint='http://h:1',
                                               aws_session_token='TOKEN'))
        request = self.capture(client, lambda c: c.list_objects(Bucket='bucket'))
        self.assertEqual(request.headers['X-Amz-Security-Token'], b'TOKEN')

    def test_sigv2_bucket_request_signs_the_path_it_sends(self):
        client = s3_client.make_client(mapping(aws_endpoint='http://127.0.0.1:5055',
                                               signature_version='s3'))
        request = self.capture(client, lambda c: c.list_objects(Bucket='bucket'))
        self.assertIn('/bucket?', request.url)
        string_to_sign = 'GET\n\n\n%s\n/bucket' % request.headers['Date'].decode()
        signature = base64.b64encode(hmac.new(b'SECRET', string_to_sign.encode(),
                                              hashlib.sha1).digest()).decode()
        self.assertEqual(request.headers['Authorization'].decode(), 'AWS AKID:' + signature)

    def test_google_gets_v2_path_style_ua_prefix_and_no_encoding_type(self):
        client = s3_client.make_client(mapping(aws_endpoint='https://storage.googleapis.com'))
        request = self.capture(client, lambda c: c.list_objects(Bucket='bucket'))
        self.assertEqual(request.url, 'https://storage.googleapis.com/bucket')
        self.assertTrue(request.headers['Authorization'].startswith(b'AWS AKID:'))
        self.assertTrue(request.headers['User-Agent'].startswith(
            b'CloudSync/5.0 (GPN:SwiftStack) '))

    def test_multi_delete_to_a_clone_carries_content_md5(self):
        client = s3_client.make_client(mapping(aws_endpoint='http://h:1'))
        request = self.capture(client, lambda c: c.delete_objects(
            Bucket='bucket', Delete={'Objects': [{'Key': 'k'}], 'Quiet': True}),
            body=b'<DeleteResult></DeleteResult>')
        self.assertEqual(request.headers['Content-MD5'],
                         base64.b64encode(hashlib.md5(request.body).digest()))

    def test_copy_condition_to_a_clone_is_also_stated_as_radosgw_16_reads_it(self):
        client = s3_client.make_client(mapping(aws_endpoint='http://h:1'))
        for call in (lambda c: c.copy_object(Bucket='bucket', Key='k', CopySourceIfMatch='"e"',
                                             CopySource={'Bucket': 'bucket', 'Key': 'k'}),
                     lambda c: c.upload_part_copy(Bucket='bucket', Key='k', UploadId='u',
                                                  PartNumber=1, CopySourceIfMatch='"e"',
                                                  CopySource={'Bucket': 'bucket', 'Key': 'k'})):
            request = self.capture(client, call, body=b'<CopyObjectResult></CopyObjectResult>')
            self.assertEqual(request.headers['x-amz-copy-source-if-match'], b'"e"')
            self.assertEqual(request.headers['x-amz-copy-if-match'], b'"e"')

    def test_copy_condition_to_aws_is_stated_once(self):
        client = s3_client.make_client(mapping())
        request = self.capture(client, lambda c: c.copy_object(
            Bucket='bucket', Key='k', CopySourceIfMatch='"e"',
            CopySource={'Bucket': 'bucket', 'Key': 'k'}),
            body=b'<CopyObjectResult></CopyObjectResult>')
        self.assertNotIn('x-amz-copy-if-match', request.headers)

    def test_secret_is_not_in_the_request(self):
        client = s3_client.make_client(mapping(aws_endpoint='http://h:1'))
        request = self.capture(client, lambda c: c.list_objects(Bucket='bucket'))
        for value in request.headers.values():
            self.assertNotIn(b'SECRET', value)


class TestAuthPathHook(unittest.TestCase):
    class Request:
        def __init__(self, url, auth_path):
            self.url, self.auth_path = url, auth_path

    def test_trailing_slash_dropped_when_not_sent(self):
        request = self.Request('http://h/bucket?prefix=x', '/bucket/')
        s3_client.fix_v2_auth_path(request)
        self.assertEqual(request.auth_path, '/bucket')

    def test_object_paths_are_left_alone(self):
        request = self.Request('http://h/bucket/dir/', '/bucket/dir/')
        s3_client.fix_v2_auth_path(request)
        self.assertEqual(request.auth_path, '/bucket/dir/')


if __name__ == '__main__':
    unittest.main()


class TestWarmUp(unittest.TestCase):
    """A daemon about to fork its processes loads the S3 model once, for all children."""

    def loaded(self):
        loader = s3_client._session._session.get_component('data_loader')
        return {key[1] for key in loader._cache if key[0] == 'load_service_model'}

    def test_warm_up_loads_the_s3_model_into_the_shared_session_without_a_request(self):
        with mock.patch.object(s3_client, '_session', None), \
                mock.patch('botocore.endpoint.Endpoint.make_request') as request:
            s3_client.warm_up([make_mapping(protocol='swift', aws_endpoint='http://x/v1'),
                               make_mapping(aws_endpoint='http://127.0.0.1:9')])
            self.assertIn('s3', self.loaded())
        request.assert_not_called()

    def test_warm_up_without_an_s3_mapping_does_nothing(self):
        with mock.patch.object(s3_client, '_session', None):
            s3_client.warm_up([make_mapping(protocol='swift', aws_endpoint='http://x/v1')])
            self.assertIsNone(s3_client._session)

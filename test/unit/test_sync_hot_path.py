"""The small-object fast paths of the sync daemon: a small PutObject body goes out as bytes
(no "Expect: 100-continue" round trip), and object reads through the InternalClient reuse the
container info of the last few seconds instead of asking memcache for it every time."""
import http.server
import io
import threading
import unittest

from botocore.stub import Stubber

from s3_sync.providers.base import RemoteError
from s3_sync.providers.s3 import SMALL_BODY, S3Provider
from s3_sync.providers.s3_client import make_client
from s3_sync.swift_env import RecentInfo
from test.unit.fakes import make_mapping

MAPPING = make_mapping(account='AUTH_test', container='cont', aws_bucket='bucket',
                       aws_endpoint='http://127.0.0.1:1', aws_identity='AKID',
                       aws_secret='SECRET-KEY')


class DribblingReader(io.RawIOBase):
    """A file-like that returns at most ``step`` bytes per read, as sockets may."""

    def __init__(self, data, step):
        self.data, self.step = data, step

    def read(self, size=-1):
        size = self.step if size is None or size < 0 else min(size, self.step)
        piece, self.data = self.data[:size], self.data[size:]
        return piece


class TestSmallPutBody(unittest.TestCase):
    def setUp(self):
        client = make_client(MAPPING)
        self.provider = S3Provider(MAPPING, client=client)
        self.stub = Stubber(client)
        self.stub.activate()
        self.addCleanup(self.stub.deactivate)
        self.sent = []

    def put(self, body, size):
        def capture(params, **kwargs):
            self.sent.append(params['Body'])
        self.provider.client.meta.events.register('before-parameter-build.s3.PutObject',
                                                  capture)
        self.stub.add_response('put_object', {'ETag': '"e"'})
        return self.provider.put_object('obj', {}, body, size)

    def test_small_body_is_sent_as_bytes(self):
        self.put(DribblingReader(b'x' * 5000, 1000), 5000)
        self.assertEqual(self.sent, [b'x' * 5000])

    def test_body_above_the_threshold_is_streamed(self):
        reader = io.BytesIO(b'y' * (SMALL_BODY + 1))
        self.put(reader, SMALL_BODY + 1)
        self.assertIs(self.sent[0], reader)

    def test_short_local_read_is_a_retryable_one_line_error(self):
        with self.assertRaises(RemoteError) as caught:
            self.provider.put_object('obj', {}, io.BytesIO(b'abc'), 5)
        self.assertTrue(caught.exception.retryable)
        self.assertEqual(caught.exception.code, 'IncompleteBody')
        self.assertIn('3 of 5 bytes', caught.exception.message)
        self.assertNotIn('\n', caught.exception.message)


class RecordingS3(http.server.BaseHTTPRequestHandler):
    """An HTTP/1.1 server that answers every PUT 200, recording its headers and body (it
    sends "100 Continue" to a request that asks for it, as S3 does)."""
    protocol_version = 'HTTP/1.1'
    seen = None

    def do_PUT(self):
        body = self.rfile.read(int(self.headers['Content-Length']))
        self.seen.append((self.path, dict(self.headers), body))
        self.send_response(200)
        self.send_header('ETag', '"e"')
        self.send_header('Content-Length', '0')
        self.end_headers()

    def log_message(self, *args):
        pass


class TestSmallPutOnTheWire(unittest.TestCase):
    """What reaches a real server: botocore turns every body into a file and adds
    "Expect: 100-continue" after the provider passed bytes, so only the request sent tells."""

    def setUp(self):
        self.seen = []
        handler = type('Handler', (RecordingS3,), {'seen': self.seen})
        server = http.server.HTTPServer(('127.0.0.1', 0), handler)
        # one request per test, as the proxy test of test_s3_client serves it
        threading.Thread(target=server.handle_request, daemon=True).start()
        self.addCleanup(server.server_close)
        mapping = make_mapping(account='AUTH_test', container='cont', aws_bucket='bucket',
                               aws_endpoint='http://127.0.0.1:%d' % server.server_port,
                               aws_identity='AKID', aws_secret='SECRET-KEY')
        self.provider = S3Provider(mapping)
        self.addCleanup(self.provider.close)

    def test_small_body_goes_without_expect_100_continue(self):
        self.provider.put_object('obj', {}, io.BytesIO(b'x' * 4096), 4096)
        [(path, headers, body)] = self.seen
        self.assertTrue(path.endswith('/AUTH_test/cont/obj'), path)
        self.assertNotIn('Expect', headers)
        self.assertEqual(body, b'x' * 4096)

    def test_small_part_goes_without_expect_100_continue(self):
        self.provider.client.upload_part(Bucket='bucket', Key='obj', UploadId='u',
                                         PartNumber=1, Body=b'p' * 100)
        [(_path, headers, body)] = self.seen
        self.assertNotIn('Expect', headers)
        self.assertEqual(body, b'p' * 100)

    def test_streamed_body_still_waits_for_the_go_ahead(self):
        size = SMALL_BODY + 1
        self.provider.put_object('big', {}, io.BytesIO(b'y' * size), size)
        [(_path, headers, body)] = self.seen
        self.assertEqual(headers.get('Expect'), '100-continue')
        self.assertEqual(len(body), size)


class FakeProxy:
    """Looks container info up (counting lookups) unless the request's infocache has it."""

    def __init__(self, status=200):
        self.status = status
        self.lookups = 0
        self.seen = []

    def __call__(self, env, start_response):
        infocache = env.setdefault('swift.infocache', {})
        self.seen.append(dict(infocache))
        if 'container/AUTH_a/c' not in infocache:
            self.lookups += 1
            infocache['container/AUTH_a/c'] = {'status': self.status, 'object_count': 1}
        start_response('200 OK', [])
        return [b'body']


def call(app, method, path):
    return app({'REQUEST_METHOD': method, 'PATH_INFO': path}, lambda *a: None)


class TestRecentInfo(unittest.TestCase):
    def setUp(self):
        self.now = 100.0
        self.proxy = FakeProxy()
        self.app = RecentInfo(self.proxy, ttl=5, clock=lambda: self.now)

    def test_object_reads_share_one_container_lookup(self):
        for name in ('o1', 'o2', 'o3'):
            call(self.app, 'GET', '/v1/AUTH_a/c/' + name)
        call(self.app, 'HEAD', '/v1/AUTH_a/c/o4')
        self.assertEqual(self.proxy.lookups, 1)

    def test_info_is_looked_up_again_after_ttl(self):
        call(self.app, 'GET', '/v1/AUTH_a/c/o1')
        self.now += 5
        call(self.app, 'GET', '/v1/AUTH_a/c/o2')
        self.assertEqual(self.proxy.lookups, 2)

    def test_any_other_request_empties_the_cache(self):
        call(self.app, 'GET', '/v1/AUTH_a/c/o1')
        call(self.app, 'DELETE', '/v1/AUTH_a/c/o1')
        call(self.app, 'GET', '/v1/AUTH_a/c')         # a listing
        self.assertEqual(self.proxy.seen[1:], [{}, {}])
        call(self.app, 'GET', '/v1/AUTH_a/c/o2')
        self.assertEqual(self.proxy.lookups, 4)

    def test_failed_lookup_is_not_kept(self):
        self.proxy.status = 404
        call(self.app, 'GET', '/v1/AUTH_a/c/o1')
        call(self.app, 'GET', '/v1/AUTH_a/c/o2')
        self.assertEqual(self.proxy.lookups, 2)

    def test_object_info_is_not_shared(self):
        seen = []

        def proxy(env, start_response):
            seen.append(sorted(env['swift.infocache']))
            env['swift.infocache']['object/AUTH_a/c/o'] = {'status': 200}
            env['swift.infocache']['container/AUTH_a/c'] = {'status': 200}
            return [b'']
        app = RecentInfo(proxy, ttl=5, clock=lambda: self.now)
        call(app, 'GET', '/v1/AUTH_a/c/o')
        call(app, 'GET', '/v1/AUTH_a/c/o')
        self.assertEqual(seen, [[], ['container/AUTH_a/c']])


if __name__ == '__main__':
    unittest.main()

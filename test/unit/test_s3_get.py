"""s3_get: object GET/HEAD signed as botocore signs them and sent with http.client, against a
small real HTTP server on loopback (it counts connections and can misbehave on purpose).
That these reads answer exactly what boto3's do is proven against moto and Swift's s3api in
test.integration.test_s3_provider."""
import dataclasses
import datetime
import hashlib
import http.server
import socketserver
import threading
import unittest
from unittest import mock

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from s3_sync.providers import create_provider
from s3_sync.providers import s3_get
from s3_sync.providers.base import BODY_CHUNK, COPY_CHUNK, RemoteError
from s3_sync.providers.s3_client import signature_version
from s3_sync.retry import RetryPolicy
from test.unit.fakes import make_mapping

ERROR_XML = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code>'
             b'<Message>The specified key does not exist.</Message></Error>')


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'fake-s3'

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        self.server.connections += 1

    def _answer(self, head):
        server = self.server
        server.requests.append((self.command, self.path, dict(self.headers.items())))
        mode = server.modes.pop(0) if server.modes else 'ok'
        if mode == 'missing':
            self.send_response(404)
            self.send_header('Content-Type', 'application/xml')
            self.send_header('Content-Length', str(len(ERROR_XML)))
            self.end_headers()
            if not head:
                self.wfile.write(ERROR_XML)
            return
        body = server.body
        self.send_response(200)
        self.send_header('ETag', '"5d41402abc4b2a76b9719d911017c592"')
        self.send_header('x-amz-meta-color', 'blue')
        self.send_header('Content-Length', str(len(body)))
        if mode == 'close':
            self.send_header('Connection', 'close')
        self.end_headers()
        if head:
            return
        if mode == 'short':
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)
        if mode == 'drop-after':
            self.wfile.flush()
            self.close_connection = True     # the next request finds it closed

    def do_GET(self):
        self._answer(False)

    def do_HEAD(self):
        self._answer(True)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(('127.0.0.1', 0), Handler)
        self.connections = 0
        self.requests = []
        self.modes = []
        self.body = b'hello'

    def handle_error(self, request, client_address):
        pass        # the client going away is what some tests do


class SignedGetTest(unittest.TestCase):
    def setUp(self):
        self.server = Server()
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)
        self.provider = self.make()

    def make(self, **kw):
        base = dict(account='AUTH_test', container='cont', aws_bucket='bucket',
                    aws_endpoint='http://127.0.0.1:%d' % self.server.server_address[1],
                    aws_identity='AKID', aws_secret='SECRET-KEY')
        base.update(kw)
        provider = create_provider(make_mapping(**base),
                                   retry_policy=RetryPolicy(attempts=2, sleep=lambda s: None))
        self.addCleanup(provider.close)
        return provider

    def read(self, name='obj', headers=None):
        resp = self.provider.get_object(name, headers)
        try:
            return resp.status, resp.headers, b''.join(resp.body)
        finally:
            resp.close()

    def test_reads_go_signed_on_the_lean_path(self):
        self.assertIsNotNone(self.provider._reader)
        status, headers, body = self.read('d\u00efr/a b+c', {'Range': 'bytes=0-1',
                                                           'X-Object-Meta-Ignored': 'x'})
        self.assertEqual((status, body), (200, b'hello'))
        self.assertEqual((headers['etag'], headers['x-object-meta-color']),
                         ('5d41402abc4b2a76b9719d911017c592', 'blue'))
        method, path, sent = self.server.requests[0]
        self.assertEqual((method, path), ('GET', '/bucket/%s' % self.provider.key(
            'd%C3%AFr/a%20b%2Bc')))
        self.assertEqual(sent['Range'], 'bytes=0-1')
        self.assertNotIn('X-Object-Meta-Ignored', sent)
        self.assertTrue(sent['Authorization'].startswith('AWS4-HMAC-SHA256 Credential=AKID/'))
        self.assertEqual(sent['X-Amz-Content-SHA256'], hashlib.sha256(b'').hexdigest())

    def test_migrator_reads_in_copy_sized_pieces_and_clients_in_body_sized_ones(self):
        self.server.body = b'x' * (BODY_CHUNK + 1)
        for get, size in ((self.provider.get_raw, COPY_CHUNK),
                          (self.provider.get_object, BODY_CHUNK)):
            resp = get('obj')
            try:
                self.assertEqual(max(len(chunk) for chunk in resp.body), size)
            finally:
                resp.close()

    def test_a_kept_alive_connection_serves_the_next_reads(self):
        for _ in range(3):
            self.assertEqual(self.read()[0], 200)
        self.assertEqual(self.provider.get_object('obj', head=True).status, 200)
        self.assertEqual((self.server.connections, len(self.server.requests)), (1, 4))

    def test_a_body_closed_unread_never_goes_back_to_the_pool(self):
        self.server.body = b'x' * (3 * 2 ** 20)
        resp = self.provider.get_object('obj')
        next(iter(resp.body))
        resp.close()
        self.server.body = b'hello'
        self.assertEqual(self.read()[2], b'hello')
        self.assertEqual(self.server.connections, 2)

    def test_server_closed_connections_are_not_kept(self):
        self.server.modes = ['close', 'ok']
        self.assertEqual(self.read()[2], b'hello')
        self.assertEqual(self.read()[2], b'hello')
        self.assertEqual(self.server.connections, 2)

    def test_a_kept_connection_the_server_dropped_is_retried_once_on_a_new_one(self):
        self.provider.retry = RetryPolicy(attempts=1)     # no retry by the policy
        self.server.modes = ['drop-after', 'ok']
        self.assertEqual(self.read()[2], b'hello')
        self.assertEqual(self.read()[2], b'hello')
        self.assertEqual((self.server.connections, len(self.server.requests)), (2, 2))

    def test_a_short_body_is_a_remote_error_not_a_short_answer(self):
        self.server.body = b'0123456789'
        self.server.modes = ['short']
        resp = self.provider.get_object('obj')
        with self.assertRaises(RemoteError) as caught:
            b''.join(resp.body)
        self.assertEqual(caught.exception.status, 502)

    def test_errors_keep_their_status_code_and_a_matching_body(self):
        self.server.modes = ['missing']
        status, headers, body = self.read()
        self.assertEqual((status, body), (404, b'The specified key does not exist.'))
        self.assertEqual(headers['content-length'], str(len(body)))
        self.server.modes = ['missing']
        resp = self.provider.get_object('obj', head=True)
        self.assertEqual((resp.status, list(resp.body)), (404, []))

    def test_no_answer_is_a_502_naming_the_endpoint_never_the_secret(self):
        provider = self.make(aws_endpoint='http://127.0.0.1:1')
        self.assertIsNotNone(provider._reader)
        with self.assertRaises(RemoteError) as caught:
            provider.get_object('obj')
        self.assertEqual(caught.exception.status, 502)
        self.assertIn('cannot reach http://127.0.0.1:1', caught.exception.message)
        self.assertNotIn('SECRET-KEY', str(caught.exception))

    def test_part_reads_go_through_boto3(self):
        self.assertEqual(self.read('obj', {'_part_number': 2})[2], b'hello')
        self.assertTrue(self.server.requests[0][1].endswith('/obj?partNumber=2'))


class SigV4Test(unittest.TestCase):
    HOST = '127.0.0.1:9000'

    def botocore(self, when, method, path, headers, token=None, region='us-east-1'):
        request = AWSRequest(method, 'http://%s%s' % (self.HOST, path),
                             headers=dict(headers, Host=self.HOST))
        signer = S3SigV4Auth(Credentials('AKID', 'SECRET-KEY', token), 's3', region)
        instant = datetime.datetime.fromtimestamp(when, datetime.timezone.utc).replace(tzinfo=None)
        with mock.patch('botocore.auth.get_current_datetime', return_value=instant):
            signer.add_auth(request)
        return dict(request.headers.items())

    def test_headers_and_signature_are_botocores_at_the_same_instant(self):
        now = [1796255999.0]        # a second before midnight UTC: the next day re-derives
        cases = [('GET', '/bucket/6a2cff/AUTH_test/c/small', {}, None, 'us-east-1'),
                 ('HEAD', '/bucket/d%C3%AFr/a%20b%2Bc~', {'Range': 'bytes=0-1'}, None,
                  'eu-west-1'),
                 ('GET', '/b/k', {'If-None-Match': '"abc"',
                                  'If-Modified-Since': 'Mon, 01 Jun 2026 10:00:00 GMT',
                                  'Range': 'bytes=5-'}, 'SESSION', 'us-east-1')]
        for method, path, headers, token, region in cases:
            signer = s3_get.SigV4('AKID', 'SECRET-KEY', token, region, clock=lambda: now[0])
            for when in (1796255999.0, 1796256000.0, 1796256061.0):
                now[0] = when
                with self.subTest(path=path, when=when):
                    self.assertEqual(signer.headers(method, path, self.HOST, headers),
                                     self.botocore(when, method, path, headers, token, region))


class EligibleTest(unittest.TestCase):
    def eligible(self, proxy=None, **kw):
        base = dict(account='AUTH_test', container='cont', aws_bucket='bucket',
                    aws_endpoint='http://127.0.0.1:9000', aws_identity='AKID',
                    aws_secret='SECRET-KEY')
        base.update(kw)
        mapping = dataclasses.replace(make_mapping(**base), http_proxy=proxy)
        return s3_get.eligible(mapping, signature_version(mapping))

    def test_only_plain_http_sigv4_clones_without_proxy(self):
        self.assertTrue(self.eligible())
        self.assertFalse(self.eligible(signature_version='s3'))
        self.assertFalse(self.eligible(aws_endpoint='https://s3.example.com'))
        self.assertFalse(self.eligible(aws_endpoint='http://127.0.0.1:9000/s3'))
        self.assertFalse(self.eligible(aws_endpoint=None))
        self.assertFalse(self.eligible(aws_endpoint='http://s3.us-east-1.amazonaws.com'))
        self.assertFalse(self.eligible(aws_endpoint='https://storage.googleapis.com'))
        self.assertFalse(self.eligible(proxy='http://127.0.0.1:3128'))


class RequestHeadersTest(unittest.TestCase):
    def test_range_and_conditionals_only_dates_normalised_bad_dates_dropped(self):
        self.assertEqual(s3_get.request_headers({
            'range': 'bytes=1-2', 'If-Match': '"e"', 'if-none-match': '*',
            'If-Modified-Since': 'Sat, 01 Jan 2000 00:00:00 +0100',
            'if-unmodified-since': 'not a date', 'x-object-meta-a': 'b'}), {
            'Range': 'bytes=1-2', 'If-Match': '"e"', 'If-None-Match': '*',
            'If-Modified-Since': 'Fri, 31 Dec 1999 23:00:00 GMT'})

    def test_error_fields_of_xml_and_of_bodiless_answers(self):
        self.assertEqual(s3_get.error_fields(404, ERROR_XML),
                         ('NoSuchKey', 'The specified key does not exist.'))
        self.assertEqual(s3_get.error_fields(304, b''), ('304', ''))
        self.assertEqual(s3_get.error_fields(502, b'<html>oops'), ('502', ''))


if __name__ == '__main__':
    unittest.main()

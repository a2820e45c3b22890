"""The pipeline floor (``bench.pipeline_floor``): proxymc's paste config with Swift's middlewares
kept and proxymc's own taken out, and the least app, which relays the bench's signed GET only
for a request the auth filter allows (against a small HTTP server on loopback)."""
import configparser
import os
import shutil
import socket
import tempfile
import threading
import unittest

from swift.common.swob import HTTPForbidden, Request

from bench import pipeline_floor
from devenv import configs

PROXYMC_CONF = """[DEFAULT]
bind_ip = 127.0.0.1
bind_port = 8085
workers = 0

[pipeline:main]
pipeline = %s

[app:proxy-server]
paste.app_factory = s3_sync.proxymc:app_factory
conf_file = /etc/swift-s3-sync/sync.json

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin

[filter:proxymc-guard]
paste.filter_factory = s3_sync.proxymc.guard:filter_factory

[filter:proxymc-s3]
paste.filter_factory = s3_sync.proxymc.s3:filter_factory

[filter:slo]
paste.filter_factory = s3_sync.proxymc.multipart:noop_filter_factory
""" % ' '.join(configs.PROXYMC_PIPELINE)


BODY = b'x' * (3 * pipeline_floor.CHUNK + 5)
ANSWER = (b'HTTP/1.1 200 OK\r\nContent-Length: %d\r\nETag: "abc"\r\n'
          b'Content-Type: application/octet-stream\r\nx-amz-request-id: not passed on\r\n'
          b'Connection: close\r\n\r\n' % len(BODY)) + BODY


class Upstream:
    """An S3 server's manners for one GET per connection, as moto's (plain sockets: an
    ``http.server`` imported before Swift's modules hangs other test modules' servers)."""

    def __init__(self):
        self.sock = socket.create_server(('127.0.0.1', 0))
        self.port = self.sock.getsockname()[1]
        self.seen = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return      # closed: the test is over
            with conn, conn.makefile('rb') as rfile:
                lines = iter(rfile.readline, b'\r\n')
                path = next(lines).split()[1].decode()
                self.seen.append((path, dict(line.decode().rstrip('\r\n').split(': ', 1)
                                             for line in lines)))
                conn.sendall(ANSWER)

    def close(self):
        self.sock.close()


class FloorConfTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        self.conf = os.path.join(self.dir, 'proxymc.conf')
        with open(self.conf, 'w') as f:
            f.write(PROXYMC_CONF)

    def parsed(self):
        parser = configparser.RawConfigParser()
        parser.read_string(pipeline_floor.floor_conf(self.conf, 1234, '127.0.0.1:9000',
                                                     '/routes.json'))
        return parser

    def test_swifts_middlewares_stay_in_order_proxymcs_own_go(self):
        parser = self.parsed()
        kept = [name for name in configs.PROXYMC_PIPELINE
                if name not in ('proxymc-guard', 'proxymc-s3', 'slo')]
        self.assertEqual(parser.get('pipeline:main', 'pipeline').split(), kept)
        self.assertIn('tempauth', kept)
        for name in ('proxymc-guard', 'proxymc-s3', 'slo'):
            self.assertFalse(parser.has_section('filter:%s' % name))
        self.assertEqual(parser.get('filter:tempauth', 'user_test_tester'), 'testing .admin')

    def test_the_app_is_the_floor_on_its_own_port_same_server_settings(self):
        parser = self.parsed()
        self.assertEqual(parser.get('app:proxy-server', 'paste.app_factory'),
                         'bench.pipeline_floor:app_factory')
        self.assertFalse(parser.has_option('app:proxy-server', 'conf_file'))
        self.assertEqual((parser.get('DEFAULT', 'bind_port'), parser.get('DEFAULT', 'workers')),
                         ('1234', '0'))


class FloorAppTest(unittest.TestCase):
    PATH = '/v1/AUTH_test/c/obj'

    def setUp(self):
        self.server = Upstream()
        self.addCleanup(self.server.close)
        self.app = pipeline_floor.FloorApp('127.0.0.1:%d' % self.server.port, {
            self.PATH: ['/bucket/key', {'Authorization': 'signed', 'X-Amz-Date': 'now'}]})

    def get(self, path=PATH, authorize=lambda req: None):
        req = Request.blank(path)
        if authorize is not None:
            req.environ['swift.authorize'] = authorize
        return req.get_response(self.app)

    def test_an_allowed_get_is_relayed_whole_with_the_signed_request(self):
        resp = self.get()
        self.assertEqual((resp.status_int, resp.body), (200, BODY))
        self.assertEqual((resp.headers['Etag'], resp.headers['Content-Type']),
                         ('"abc"', 'application/octet-stream'))
        self.assertNotIn('x-amz-request-id', resp.headers)
        path, headers = self.server.seen[0]
        self.assertEqual((path, headers['Authorization'], headers['X-Amz-Date']),
                         ('/bucket/key', 'signed', 'now'))

    def test_the_auth_filters_refusal_is_the_answer_and_nothing_is_read(self):
        self.assertEqual(self.get(authorize=lambda req: HTTPForbidden(request=req)).status_int,
                         403)
        self.assertEqual(self.get(authorize=None).status_int, 403)
        self.assertEqual(self.server.seen, [])

    def test_an_unknown_object_is_404(self):
        self.assertEqual(self.get('/v1/AUTH_test/c/other').status_int, 404)
        self.assertEqual(self.server.seen, [])


if __name__ == '__main__':
    unittest.main()

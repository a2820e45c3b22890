"""The local read's fast path (s3_sync.direct_read) with scripted object servers.

The real cluster comparison of both read paths is test.integration.test_direct_read."""
import unittest
from unittest import mock

from swift.common.swob import Response
from swift.common.utils import Timestamp, clean_content_type
from swift.proxy.controllers.base import update_headers

from s3_sync import direct_read
from s3_sync.direct_read import DirectReader, LocalReadError, proxy_headers
from s3_sync.local import LocalObject

TS = Timestamp('1700000000.12345')
NODES = [{'ip': '127.0.0.%d' % i, 'port': 6000 + i, 'device': 'sd%d' % i} for i in (1, 2, 3)]
BODY = b'x' * 100


def server_headers(ts=TS, length=len(BODY), **extra):
    headers = {'Content-Length': str(length), 'Content-Type': 'text/plain; charset=utf-8',
               'Etag': '"abc"', 'Last-Modified': 'Tue, 14 Nov 2023 22:13:21 GMT',
               'X-Timestamp': ts.normal, 'X-Backend-Timestamp': ts.internal,
               'X-Backend-Data-Timestamp': ts.internal,
               'X-Backend-Durable-Timestamp': ts.internal,
               'X-Object-Meta-Color': 'blue', 'Date': 'Tue, 14 Nov 2023 22:14:00 GMT'}
    headers.update(extra)
    return headers


class FakeResponse:
    def __init__(self, status, headers, body):
        self.status, self._headers, self._body = status, headers, body
        self.will_close = False
        self.closed = False

    def getheaders(self):
        return list(self._headers.items())

    def read(self, size=None):
        size = len(self._body) if size is None else size
        data, self._body = self._body[:size], self._body[size:]
        return data

    def close(self):
        self.closed = True


class FakeConnection:
    """One connection to a scripted node; ``script[(ip, port)]`` is a list of answers
    (FakeResponse, or an exception to raise) taken one request at a time."""

    def __init__(self, script, made, ip, port):
        self.script, self.key = script, (ip, port)
        self.closed = False
        self.requests = []
        made.append(self)

    def request(self, method, path, headers):
        self.requests.append((method, path, dict(headers)))
        answer = self.script[self.key].pop(0)
        if isinstance(answer, BaseException):
            raise answer
        self.response = answer

    def getresponse(self):
        return self.response

    def close(self):
        self.closed = True


class FakeApp:
    conn_timeout = 0.5
    recoverable_node_timeout = 10

    def __init__(self):
        self.limited = set()
        self.errors = []

    def get_object_ring(self, idx):
        ring = mock.Mock()
        ring.get_nodes.return_value = (7, [dict(n) for n in NODES])
        return ring

    def error_limited(self, node):
        return node['port'] in self.limited

    def exception_occurred(self, node, typ, info, **kwargs):
        self.errors.append((node['port'], info))

    def check_response(self, node, typ, resp, method, path, body=None):
        self.errors.append((node['port'], resp.status))


class DirectReadTest(unittest.TestCase):
    def setUp(self):
        self.app = FakeApp()
        self.reader = DirectReader(self.app)
        self.script = {(n['ip'], n['port']): [] for n in NODES}
        self.made = []
        patcher = mock.patch.object(
            direct_read, 'BufferedHTTPConnection',
            lambda ip, port: FakeConnection(self.script, self.made, ip, port))
        patcher.start()
        self.addCleanup(patcher.stop)

    def answer(self, node, *answers):
        self.script[(NODES[node]['ip'], NODES[node]['port'])].extend(answers)

    def get(self, data_ts=TS, meta_ts=TS):
        return self.reader.get('AUTH_a', 'c', 'o\u00e9', 0, data_ts, meta_ts)

    def read_all(self, found):
        headers, body = found
        return b''.join(body)

    def test_a_plain_object_of_the_rows_version_is_read_from_the_first_primary(self):
        self.answer(0, FakeResponse(200, server_headers(), BODY))
        headers, body = self.get()
        self.assertEqual(b''.join(body), BODY)
        self.assertEqual(headers['Etag'], 'abc')
        method, path, sent = self.made[0].requests[0]
        self.assertEqual(path, '/sd1/7/AUTH_a/c/o%C3%A9')
        self.assertEqual(sent['X-Backend-Storage-Policy-Index'], '0')

    def test_a_404_moves_on_to_the_next_primary_without_an_error(self):
        self.answer(0, FakeResponse(404, {}, b''))
        self.answer(1, FakeResponse(200, server_headers(), BODY))
        self.assertEqual(self.read_all(self.get()), BODY)
        self.assertEqual(self.app.errors, [])

    def test_a_down_or_failing_primary_is_noted_and_the_next_one_answers(self):
        self.answer(0, ConnectionRefusedError('refused'))
        self.answer(1, FakeResponse(503, {}, b'sick'))
        self.answer(2, FakeResponse(200, server_headers(), BODY))
        self.assertEqual(self.read_all(self.get()), BODY)
        self.assertEqual([port for port, _ in self.app.errors], [6001, 6002])

    def test_no_primary_answering_asks_the_proxy(self):
        for node in range(3):
            self.answer(node, FakeResponse(404, {}, b''))
        self.assertIsNone(self.get())

    def test_an_error_limited_primary_is_not_asked(self):
        self.app.limited.add(6001)
        self.answer(1, FakeResponse(200, server_headers(), BODY))
        self.assertEqual(self.read_all(self.get()), BODY)
        self.assertEqual([c.key[1] for c in self.made], [6002])

    def test_another_version_asks_the_proxy(self):
        newer = Timestamp(TS, offset=1)
        self.answer(0, FakeResponse(200, server_headers(ts=newer), BODY))
        self.assertIsNone(self.get())
        self.assertTrue(self.made[0].closed)

    def test_older_data_under_the_rows_metadata_asks_the_proxy(self):
        meta = Timestamp(float(TS) + 5)
        self.answer(0, FakeResponse(200, server_headers(ts=meta), BODY))
        self.assertIsNone(self.get(data_ts=Timestamp(float(TS) + 1), meta_ts=meta))

    def test_objects_a_middleware_would_transform_ask_the_proxy(self):
        for extra in ({'X-Object-Sysmeta-Crypto-Body-Meta': 'x'},
                      {'X-Object-Transient-Sysmeta-Crypto-Meta-Color': 'x'},
                      {'X-Object-Sysmeta-Symlink-Target': 'c/t'},
                      {'X-Static-Large-Object': 'True'},
                      {'X-Object-Manifest': 'segs/p'},
                      {'X-Object-Sysmeta-Slo-Etag': 'e'}):
            with self.subTest(extra=extra):
                self.answer(0, FakeResponse(200, server_headers(**extra), BODY))
                self.assertIsNone(self.get())

    def test_a_short_body_raises_and_its_connection_is_closed(self):
        self.answer(0, FakeResponse(200, server_headers(length=200), BODY))
        headers, body = self.get()
        with self.assertRaises(LocalReadError):
            b''.join(body)
        self.assertTrue(self.made[0].closed)

    def test_a_whole_body_gives_its_connection_back_and_it_is_reused(self):
        self.answer(0, FakeResponse(200, server_headers(), BODY),
                    FakeResponse(200, server_headers(), BODY))
        self.read_all(self.get())
        self.read_all(self.get())
        self.assertEqual(len(self.made), 1)
        self.assertEqual(len(self.made[0].requests), 2)

    def test_a_body_closed_unread_closes_its_connection(self):
        self.answer(0, FakeResponse(200, server_headers(), BODY))
        _headers, body = self.get()
        body.close()
        self.assertTrue(self.made[0].closed)
        self.assertEqual(self.reader._idle[('127.0.0.1', 6001)], [])

    def test_an_idle_connection_the_server_closed_is_replaced_without_an_error(self):
        self.answer(0, FakeResponse(200, server_headers(), BODY),
                    BrokenPipeError('closed by server'),
                    FakeResponse(200, server_headers(), BODY))
        self.read_all(self.get())
        self.assertEqual(self.read_all(self.get()), BODY)
        self.assertEqual(len(self.made), 2)
        self.assertEqual(self.app.errors, [])


class ProxyHeadersTest(unittest.TestCase):
    """The fast path's headers are what the proxy makes of the same object server answer."""

    def proxy_view(self, raw):
        # The steps of swift.proxy.controllers.base.GetOrHeadHandler.get_working_response and
        # ObjectController.GETorHEAD, run with Swift's own helpers.
        resp = Response()
        update_headers(resp, raw)
        resp.accept_ranges = 'bytes'
        resp.content_length = raw.get('Content-Length')
        resp.charset = None
        resp.content_type = raw['Content-Type']
        if ';' in resp.headers.get('content-type', ''):
            resp.content_type = clean_content_type(resp.headers['content-type'])
        resp.headers['X-Trans-Id'] = resp.headers['X-Openstack-Request-Id'] = 'tx1'
        return LocalObject(resp.headers, []).headers

    def test_the_headers_match_the_proxys_for_the_same_answer(self):
        for raw in (server_headers(),
                    server_headers(**{'Content-Type': 'text/plain;swift_bytes=3',
                                      'X-Delete-At': '1800000000', 'X-Put-Timestamp': '1',
                                      'Content-Encoding': 'gzip',
                                      'X-Object-Meta-N\u00c3\u00a9': 'v\u00c3\u00a9'})):
            with self.subTest(raw=raw):
                ours = LocalObject(dict(proxy_headers(list(raw.items()), 'tx1')), []).headers
                self.assertEqual(ours, self.proxy_view(raw))


if __name__ == '__main__':
    unittest.main()

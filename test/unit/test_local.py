"""Local objects: the streaming body reader hands bytes on in whatever sizes asked; the
archiver's delete is fenced so that no newer client write is lost."""
import unittest

from swift.common.middleware.catch_errors import ByteEnforcer
from swift.common.swob import Response
from swift.common.utils import Timestamp

from s3_sync.local import CLIENT_DELETED, DELETED, KEPT, BodyReader, LocalSwift, is_fence

DATA = bytes(range(256)) * 1000
CHUNKS = [DATA[i:i + 65536] for i in range(0, len(DATA), 65536)]


class Closing(list):
    closed = False

    def close(self):
        self.closed = True


class TestBodyReader(unittest.TestCase):
    def read_all(self, reader, size):
        out = []
        while True:
            data = reader.read(size)
            if not data:
                return b''.join(out)
            out.append(data)

    def test_any_read_size_returns_the_body_unchanged(self):
        for size in (1, 8192, 65536, 100000, 7):
            self.assertEqual(self.read_all(BodyReader(CHUNKS), size), DATA, size)

    def test_read_without_size_returns_the_rest(self):
        reader = BodyReader(CHUNKS)
        head = reader.read(10)
        self.assertEqual(head + reader.read(), DATA)
        self.assertEqual(reader.read(), b'')
        self.assertEqual(reader.bytes_read, len(DATA))

    def test_a_failing_body_keeps_its_error_for_the_consumer_to_name(self):
        def body():
            yield b'ab'
            raise OSError('source gone')
        reader = BodyReader(body())
        self.assertEqual(reader.read(2), b'ab')
        self.assertIsNone(reader.error)
        with self.assertRaises(OSError):
            reader.read(2)
        self.assertEqual((str(reader.error), reader.bytes_read), ('source gone', 2))

    def test_empty_chunks_are_skipped_not_taken_for_the_end(self):
        self.assertEqual(self.read_all(BodyReader([b'', b'ab', b'', b'c']), 2), b'abc')

    def test_close_reaches_the_proxys_generator_behind_catch_errors(self):
        closed = []

        def proxy_get():
            try:
                yield from CHUNKS
            finally:
                closed.append(True)     # Swift's GET generator disarms its watchdog here
        reader = BodyReader(ByteEnforcer(proxy_get(), len(DATA)))
        reader.read(10)
        reader.close()
        self.assertEqual(closed, [True])

    def test_segment_reads_close_the_proxys_generator_read_or_not(self):
        for reads in (0, 1):
            closed = []

            def proxy_get():
                try:
                    yield from CHUNKS
                finally:
                    closed.append(True)
            started = proxy_get()
            next(started)           # the proxy started it: its watchdog is armed

            class Client:
                def get_object(self, account, container, obj, headers=None):
                    return 200, {'Etag': 'e'}, ByteEnforcer(started, len(DATA))
            body = LocalSwift(Client()).read_range('a', 'c', 's', 0, 10, 'e')
            for _ in range(reads):
                next(body)
            body.close()
            self.assertEqual(closed, [True], reads)

    def test_close_closes_the_response(self):
        body = Closing(CHUNKS)
        BodyReader(body).close()
        self.assertTrue(body.closed)


def answer(status, headers=None):
    resp = Response(status=status, headers=headers)
    resp.app_iter = [b'']     # as InternalClient hands it: an iterable to drain
    return resp


class ScriptedClient:
    """An InternalClient stand-in answering each request with the next scripted status."""

    def __init__(self, head_headers, statuses, head_status=200):
        self.head_headers = head_headers
        self.head_status = head_status
        self.statuses = list(statuses)
        self.requests = []

    def make_path(self, account, container, obj):
        return '/v1/%s/%s/%s' % (account, container, obj)

    def make_request(self, method, path, headers, acceptable, params=None):
        self.requests.append((method, dict(headers)))
        if method == 'HEAD':
            if self.head_headers is None:
                return answer(404)
            return answer(self.head_status, self.head_headers)
        return answer(self.statuses.pop(0))


class TestFencedArchiveDelete(unittest.TestCase):
    META_TS = Timestamp(1700000000.5)

    def delete(self, head_headers, statuses, head_status=200):
        client = ScriptedClient(head_headers, statuses, head_status)
        gone = LocalSwift(client).delete_if_unchanged('a', 'c', 'o', self.META_TS)
        return gone, client.requests

    def headers(self, ts=None, **extra):
        headers = {'X-Timestamp': (ts or self.META_TS).normal, 'Content-Length': '1',
                   'X-Object-Meta-Color': 'red', 'Content-Encoding': 'gzip',
                   'X-Object-Sysmeta-Slo-Etag': 'x'}
        headers.update(extra)
        return headers

    def test_fence_post_restates_metadata_then_delete_checks_the_fence(self):
        found, requests = self.delete(self.headers(), [202, 204])
        self.assertEqual(found, DELETED)
        (_, _), (post, post_headers), (delete, delete_headers) = requests
        self.assertEqual((post, delete), ('POST', 'DELETE'))
        post_headers = {k.lower(): v for k, v in post_headers.items()}
        self.assertEqual(post_headers['x-object-meta-color'], 'red')
        self.assertEqual(post_headers['content-encoding'], 'gzip')
        self.assertNotIn('x-object-sysmeta-slo-etag', post_headers)
        self.assertEqual(delete_headers['X-If-Delete-At'], post_headers['x-delete-at'])
        self.assertTrue(is_fence(post_headers['x-delete-at']))
        self.assertLess(Timestamp(post_headers['x-timestamp']),
                        Timestamp(delete_headers['X-Timestamp']))
        self.assertLess(Timestamp(delete_headers['X-Timestamp']), Timestamp(1700000000.50001))

    def test_non_ascii_metadata_is_restated_as_swift_sent_it(self):
        wsgi = 'bl\u00e9 \u2603'.encode('utf-8').decode('latin-1')
        found, requests = self.delete(self.headers(**{'X-Object-Meta-Color': wsgi}), [202, 204])
        self.assertEqual(found, DELETED)
        post_headers = {k.lower(): v for k, v in requests[1][1].items()}
        self.assertEqual(post_headers['x-object-meta-color'], wsgi)

    def test_an_archiver_killed_after_its_fence_continues_past_it(self):
        earlier = Timestamp(self.META_TS, offset=1)
        found, requests = self.delete(self.headers(**{
            'X-Backend-Timestamp': earlier.internal, 'X-Delete-At': '9000000123'}), [202, 204])
        self.assertEqual(found, DELETED)
        post, delete = requests[1][1], requests[2][1]
        self.assertEqual(Timestamp(post['X-Timestamp']), Timestamp(self.META_TS, offset=2))
        self.assertEqual(Timestamp(delete['X-Timestamp']), Timestamp(self.META_TS, offset=3))

    def test_a_client_post_seen_exactly_by_the_head_keeps_the_object(self):
        client = Timestamp(float(self.META_TS) + 0.5)
        found, requests = self.delete(self.headers(**{
            'X-Backend-Timestamp': client.internal}), [])
        self.assertEqual(found, KEPT)
        self.assertEqual([m for m, _ in requests], ['HEAD'])

    def test_client_write_seen_by_the_head_keeps_the_object_without_a_post(self):
        found, requests = self.delete(self.headers(ts=Timestamp(1700000001)), [])
        self.assertEqual(found, KEPT)
        self.assertEqual([m for m, _ in requests], ['HEAD'])

    def test_client_post_before_the_fence_keeps_the_object(self):
        found, requests = self.delete(self.headers(), [409])
        self.assertEqual(found, KEPT)
        self.assertEqual([m for m, _ in requests], ['HEAD', 'POST'])

    def test_client_post_between_fence_and_delete_keeps_the_object(self):
        self.assertEqual(self.delete(self.headers(), [202, 412])[0], KEPT)

    def test_client_put_between_fence_and_delete_keeps_the_object(self):
        self.assertEqual(self.delete(self.headers(), [202, 409])[0], KEPT)

    def test_gone_by_the_archivers_own_delete_is_deleted(self):
        ours = Timestamp(self.META_TS, offset=2).internal
        self.assertEqual(self.delete({'X-Backend-Timestamp': ours}, [], 404)[0], DELETED)
        self.assertEqual(self.delete(None, [])[0], DELETED)

    def test_gone_by_a_newer_client_delete_is_said(self):
        client = Timestamp(1700000002).internal
        self.assertEqual(self.delete({'X-Backend-Timestamp': client}, [], 404)[0],
                         CLIENT_DELETED)



if __name__ == '__main__':
    unittest.main()

"""The migrator's copy of objects bigger than max_file_size: streamed into segment_size
segments, then an SLO; a body that does not match its ETag leaves nothing behind. A source
body that breaks mid-copy is reported as the source's failure, not as the local PUT's."""
import hashlib
import unittest

import mock
from swift.common.utils import Timestamp

from s3_sync.local import LocalError
from s3_sync.migrator import copy as copying
from s3_sync.migrator.headers import REMOTE_ETAG
from s3_sync.providers.base import Features, RemoteError, RemoteResponse


class FakeStore:
    """Records what the copier writes (the local cluster is the integration tests' business)."""

    def __init__(self):
        self.objects = {}
        self.manifests = {}
        self.containers = set()
        self.largest_read = 0

    def container_headers(self, account, container):
        return {} if container in self.containers else None

    def create_container(self, account, container, headers):
        self.containers.add(container)

    def put(self, account, container, name, headers, body, size, params=None):
        data = b''
        while True:
            chunk = body.read(65536)
            if not chunk:
                break
            self.largest_read = max(self.largest_read, len(chunk))
            data += chunk
        self.objects[(container, name)] = (headers, data)
        return 201

    def put_manifest(self, account, container, name, headers, segments):
        self.manifests[(container, name)] = (headers, segments)
        return 201

    def head(self, account, container, name):
        return None

    def delete(self, account, container, name):
        self.objects.pop((container, name), None)


class ProxyLikeStore(FakeStore):
    """Answers as the local proxy does when its input fails: a bare 500 (LocalStore raises
    it as a LocalError); ``fail`` makes every PUT fail so, whatever its input."""

    def __init__(self, fail=False):
        super().__init__()
        self.fail = fail

    def put(self, account, container, name, headers, body, size, params=None):
        try:
            if self.fail:
                raise OSError('object server gone')
            return super().put(account, container, name, headers, body, size, params)
        except Exception:
            raise LocalError('local PUT /%s/%s/%s: 500 Internal Error' % (
                account, container, name)) from None


class FakeProvider:
    features = Features(large_objects=True)

    def __init__(self, body, etag, breaks_after=None):
        self.body, self.etag, self.breaks_after = body, etag, breaks_after

    def get_raw(self, name):
        chunks = [self.body[i:i + 1000] for i in range(0, len(self.body), 1000)]
        return RemoteResponse(200, {'content-length': str(len(self.body)), 'etag': self.etag,
                                    'last-modified': 'Tue, 14 Nov 2023 22:13:20 GMT',
                                    'x-object-meta-a': 'b'}, self._chunks(chunks))

    def _chunks(self, chunks):
        for index, chunk in enumerate(chunks):
            if index == self.breaks_after:
                raise RemoteError(502, 'GET big: read timed out')
            yield chunk


class TestOversizeCopy(unittest.TestCase):
    def copy(self, body, etag, store=None, breaks_after=None):
        store = store or FakeStore()
        provider = FakeProvider(body, etag, breaks_after)
        copier = copying.Copier(store, lambda bucket: provider, segment_size=4096)
        with mock.patch('swift.common.constraints.MAX_FILE_SIZE', 5000):
            outcome = copier.copy('AUTH_a', 'c', 'c', {
                'name': 'big', 'last_modified': '2023-11-14T22:13:20.000000'})
        return store, outcome

    def test_split_into_segments_then_manifest(self):
        body = bytes(range(256)) * 40        # 10240 bytes: 4096 + 4096 + 2048
        store, outcome = self.copy(body, hashlib.md5(body).hexdigest())
        self.assertEqual(outcome, copying.Outcome(copying.COPIED, len(body)))
        headers, segments = store.manifests[('c', 'big')]
        self.assertEqual([s['bytes'] for s in segments], [4096, 4096, 2048])
        ts = Timestamp(1700000000).internal
        self.assertEqual(segments[0]['name'], '/c_segments/big/%s/10240/4096/00000001' % ts)
        self.assertEqual(b''.join(store.objects[tuple(s['name'][1:].split('/', 1))][1]
                                  for s in segments), body)
        self.assertEqual(headers[REMOTE_ETAG], hashlib.md5(body).hexdigest())
        self.assertEqual(headers['x-object-meta-a'], 'b')
        self.assertLessEqual(store.largest_read, 65536)

    def test_wrong_body_leaves_no_segments(self):
        store = FakeStore()
        with self.assertRaises(copying.CopyFailed):
            self.copy(b'x' * 10000, 'f' * 32, store)
        self.assertEqual((store.objects, store.manifests), ({}, {}))

    def test_source_breaking_mid_segment_is_the_sources_failure_and_leaves_nothing(self):
        store = ProxyLikeStore()
        body = b'x' * 10000
        with self.assertRaises(copying.CopyFailed) as caught:
            self.copy(body, hashlib.md5(body).hexdigest(), store, breaks_after=6)
        self.assertEqual(str(caught.exception), 'source GET big broke after 4096 of 10000 '
                         'bytes: 502 GET big: read timed out')
        self.assertEqual((store.objects, store.manifests), ({}, {}))


class TestPlainCopyFailures(unittest.TestCase):
    def copy(self, store, breaks_after=None):
        body = b'y' * 3000
        provider = FakeProvider(body, hashlib.md5(body).hexdigest(), breaks_after)
        copier = copying.Copier(store, lambda bucket: provider, segment_size=4096)
        return copier.copy('AUTH_a', 'c', 'c', {
            'name': 'obj', 'last_modified': '2023-11-14T22:13:20.000000'})

    def test_source_breaking_mid_body_is_reported_as_the_sources_failure(self):
        with self.assertRaises(copying.CopyFailed) as caught:
            self.copy(ProxyLikeStore(), breaks_after=1)
        self.assertEqual(str(caught.exception), 'source GET obj broke after 0 of 3000 '
                         'bytes: 502 GET big: read timed out')

    def test_local_failure_with_a_sound_source_stays_the_locals(self):
        with self.assertRaises(LocalError) as caught:
            self.copy(ProxyLikeStore(fail=True))
        self.assertEqual(str(caught.exception), 'local PUT /AUTH_a/c/obj: 500 Internal Error')

    def test_sound_copy_is_copied(self):
        store = ProxyLikeStore()
        self.assertEqual(self.copy(store), copying.Outcome(copying.COPIED, 3000))
        self.assertEqual(store.objects[('c', 'obj')][1], b'y' * 3000)


if __name__ == '__main__':
    unittest.main()

"""The migrator's copy of objects bigger than max_file_size: streamed into segment_size
segments, then an SLO; a body that does not match its ETag leaves nothing behind. A source
body that breaks mid-copy is read on from where it stopped (a ranged GET held to the same ETag),
or, when it cannot be, reported as the source's failure, not as the local PUT's."""
import hashlib
import unittest

import mock
from swift.common.utils import Timestamp

from s3_sync.local import LocalError
from s3_sync.migrator import copy as copying
from s3_sync.migrator.headers import REMOTE_ETAG
from s3_sync.providers.base import Features, RemoteError, RemoteResponse
from s3_sync.retry import RetryPolicy


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



class RangedProvider(FakeProvider):
    """A source that reads on from a byte (``Range``/``If-Match``): ``cuts`` lists, for the
    first GET and then each ranged one, where its body breaks (a number of bytes it hands on
    first, ``'short'`` for an early end without an error, None for a sound body);
    ``changed`` makes ranged GETs answer 412."""
    features = Features(large_objects=True, ranged_raw_reads=True)

    def __init__(self, body, cuts, changed=False, error=None):
        super().__init__(body, hashlib.md5(body).hexdigest())
        self.cuts, self.changed = list(cuts), changed
        self.error = error or RemoteError(502, 'GET obj: IncompleteRead')
        self.requests, self.pauses = [], []
        self.retry = RetryPolicy(attempts=3, sleep=self.pauses.append)

    def get_raw(self, name, headers=None):
        self.requests.append(headers)
        start = 0
        out = {'content-length': str(len(self.body)), 'etag': self.etag,
               'last-modified': 'Tue, 14 Nov 2023 22:13:20 GMT'}
        if headers:
            if self.changed:
                return RemoteResponse(412, {}, [])
            start = int(headers['range'][len('bytes='):-1])
            out['content-range'] = 'bytes %d-%d/%d' % (start, len(self.body) - 1,
                                                       len(self.body))
        cut = self.cuts.pop(0) if self.cuts else None
        return RemoteResponse(206 if headers else 200, out, self._cut(start, cut))

    def _cut(self, start, cut):
        data = self.body[start:]
        if cut == 'short':
            yield data[:len(data) // 2]
            return
        for offset in range(0, len(data), 1000):
            if cut is not None and offset >= cut:
                raise self.error
            yield data[offset:offset + 1000]


class TestResumedCopy(unittest.TestCase):
    body = bytes(range(256)) * 40        # 10240 bytes

    def copy(self, provider, oversize=False):
        store = ProxyLikeStore()
        self.logger = mock.Mock()
        copier = copying.Copier(store, lambda bucket: provider, segment_size=4096,
                                logger=self.logger)
        with mock.patch('swift.common.constraints.MAX_FILE_SIZE', 5000 if oversize else 10 ** 9):
            outcome = copier.copy('AUTH_a', 'c', 'c', {
                'name': 'obj', 'last_modified': '2023-11-14T22:13:20.000000'})
        return store, outcome

    def test_broken_body_is_read_on_from_the_byte_it_stopped_at_into_the_same_put(self):
        provider = RangedProvider(self.body, [3000])
        store, outcome = self.copy(provider)
        self.assertEqual(outcome, copying.Outcome(copying.COPIED, len(self.body)))
        headers, data = store.objects[('c', 'obj')]
        self.assertEqual(data, self.body)
        self.assertEqual(headers['Etag'], provider.etag)
        self.assertEqual(provider.requests, [None, {
            'range': 'bytes=3000-', 'if-match': '"%s"' % provider.etag}])
        self.assertEqual(len(provider.pauses), 1)
        self.logger.info.assert_called_once_with(
            'source GET %s broke after %d of %d bytes (%s): reading on', 'obj', 3000,
            len(self.body), '502 GET obj: IncompleteRead')

    def test_body_ending_early_without_an_error_is_read_on_too(self):
        provider = RangedProvider(self.body, ['short'])
        store, outcome = self.copy(provider)
        self.assertEqual(store.objects[('c', 'obj')][1], self.body)
        self.assertEqual(provider.requests[1]['range'], 'bytes=5120-')

    def test_oversize_copy_reads_on_and_its_segments_still_add_up_to_the_etag(self):
        provider = RangedProvider(self.body, [5000, 2000])
        store, outcome = self.copy(provider, oversize=True)
        self.assertEqual(outcome, copying.Outcome(copying.COPIED, len(self.body)))
        _, segments = store.manifests[('c', 'obj')]
        self.assertEqual(b''.join(store.objects[tuple(s['name'][1:].split('/', 1))][1]
                                  for s in segments), self.body)
        self.assertEqual([r and r['range'] for r in provider.requests],
                         [None, 'bytes=5000-', 'bytes=7000-'])

    def test_source_changed_meanwhile_fails_the_copy_naming_the_source(self):
        provider = RangedProvider(self.body, [3000], changed=True)
        with self.assertRaises(copying.CopyFailed) as caught:
            self.copy(provider)
        self.assertIn('source GET obj from byte 3000: 412 (it changed meanwhile)',
                      str(caught.exception))
        self.assertEqual(len(provider.requests), 2)

    def test_breaks_without_progress_stop_after_the_retry_policys_tries(self):
        provider = RangedProvider(self.body, [3000, 0, 0, 0, 0])
        with self.assertRaises(copying.CopyFailed) as caught:
            self.copy(provider)
        self.assertIn('source GET obj broke after', str(caught.exception))
        self.assertIn('502 GET obj: IncompleteRead', str(caught.exception))
        # The policy's 3 tries at byte 3000: the first GET breaking there, then two reads on
        # from it that break at once, each after the policy's pause.
        self.assertEqual([r and r['range'] for r in provider.requests],
                         [None, 'bytes=3000-', 'bytes=3000-'])
        self.assertEqual(len(provider.pauses), 2)

    def test_each_forward_step_gets_the_tries_afresh(self):
        provider = RangedProvider(self.body, [1000, 1000, 1000, 1000, 1000])
        store, outcome = self.copy(provider)
        self.assertEqual(store.objects[('c', 'obj')][1], self.body)
        self.assertEqual(len(provider.requests), 6)

    def test_errors_that_would_come_again_are_not_read_on(self):
        provider = RangedProvider(self.body, [3000],
                                  error=RemoteError(403, 'GET obj: AccessDenied'))
        with self.assertRaises(copying.CopyFailed):
            self.copy(provider)
        self.assertEqual(provider.requests, [None])

    def test_object_without_an_etag_is_not_read_on(self):
        provider = RangedProvider(self.body, [3000])
        provider.etag = ''
        with self.assertRaises(copying.CopyFailed):
            self.copy(provider)
        self.assertEqual(provider.requests, [None])


if __name__ == '__main__':
    unittest.main()

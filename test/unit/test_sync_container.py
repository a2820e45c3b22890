"""The row handler: what each kind of row costs and does, with a fake remote and local cluster."""
import hashlib
import unittest

from swift.common.utils import Timestamp, encode_timestamps

from s3_sync.local import CLIENT_DELETED, DELETED, KEPT
from s3_sync.providers.base import Features, RemoteError, RemoteObject
from s3_sync.sync.container import ContainerSync
from s3_sync.sync.outcome import DestinationUnavailable, Retry
from test.unit.fakes import FakeStats, NullLogger, make_mapping

SWIFT_AUTH_URL = 'http://swift.example/auth/v1.0'   # never reached: the provider is a fake


class FakeProvider:
    features = Features()
    name = 'fake'

    def __init__(self):
        self.objects = {}     # name -> (etag, headers)
        self.last_modified = 0.0
        self.calls = []
        self.fail = None

    def _record(self, *call):
        self.calls.append(call)
        if self.fail:
            raise self.fail

    def put_object(self, name, headers, body, size):
        self._record('put', name)
        data = body.read()
        assert len(data) == size
        self.objects[name] = (headers['etag'], dict(headers))
        return headers['etag']

    def update_metadata(self, name, headers, etag):
        self._record('update', name)
        if name not in self.objects or self.objects[name][0] != etag:
            return False
        kept = {k: v for k, v in self.objects[name][1].items()    # the data stays
                if not k.startswith('x-object-meta-')}
        self.objects[name] = (etag, dict(kept, **headers))
        return True

    def delete_objects(self, names):
        self._record('delete', tuple(names))
        for name in names:
            self.objects.pop(name, None)

    def head_object(self, name):
        self._record('head', name)
        if name not in self.objects:
            return None
        etag, headers = self.objects[name]
        return RemoteObject(name, etag, int(headers.get('content-length', 0)),
                            self.last_modified, headers)


class FakeObject:
    def __init__(self, headers, body):
        self.headers = headers
        import io
        self.reader = io.BytesIO(body)
        self.size = len(body)
        self.etag = headers['etag']
        self.closed = False

    def close(self):
        self.closed = True


class FakeLocal:
    def __init__(self):
        self.objects = {}     # name -> (headers, body)
        self.deletes = []
        self.newer_client_write = set()
        self.deleted_by_client = set()
        self.opened = []     # (name, timestamps) of every open

    def put(self, name, body, ts, **meta):
        import hashlib
        headers = {'etag': hashlib.md5(body).hexdigest(), 'content-length': str(len(body)),
                   'x-timestamp': ts.normal, 'content-type': 'text/plain'}
        headers.update(meta)
        self.objects[name] = (headers, body)

    def open(self, account, container, name, policy_index, timestamps=None):
        self.opened.append((name, timestamps))
        if name not in self.objects:
            return None
        headers, body = self.objects[name]
        return FakeObject(dict(headers), body)

    def head(self, account, container, name, policy_index):
        if name not in self.objects:
            return None
        return dict(self.objects[name][0])

    def delete_if_unchanged(self, account, container, name, meta_ts):
        self.deletes.append((name, meta_ts))
        if name in self.newer_client_write:
            return KEPT
        if name in self.deleted_by_client:
            return CLIENT_DELETED
        self.objects.pop(name, None)
        return DELETED


def row(name, data_ts, meta_ts=None, deleted=0, etag='e', size=1, rowid=1):
    return {'ROWID': rowid, 'name': name, 'deleted': deleted, 'etag': etag, 'size': size,
            'content_type': 'text/plain', 'storage_policy_index': 0,
            'created_at': encode_timestamps(data_ts, data_ts, meta_ts or data_ts)}


class ContainerSyncTestCase(unittest.TestCase):
    def setUp(self):
        self.now = 1_800_000_000.0
        self.provider = FakeProvider()
        self.local = FakeLocal()
        self.stats = FakeStats()

    def make_sync(self, **mapping):
        base = {'account': 'AUTH_a', 'container': 'c', 'aws_bucket': 'b'}
        base.update(mapping)
        return ContainerSync(make_mapping(**base), 'AUTH_a', 'c', self.provider, self.local,
                             self.stats, NullLogger(), clock=lambda: self.now)

    def ts(self, delta=0):
        return Timestamp(self.now - 100 + delta)


class TestPropagation(ContainerSyncTestCase):
    def test_new_object_costs_one_remote_put_and_nothing_else(self):
        self.local.put('o', b'data', self.ts())
        outcome = self.make_sync().handle_row(row('o', self.ts()))
        self.assertIsNone(outcome)
        self.assertEqual(self.provider.calls, [('put', 'o')])
        self.assertEqual(self.stats.counts, {'copied_objects': 1, 'bytes': 4})

    def test_metadata_post_updates_remote_in_place_without_upload(self):
        self.local.put('o', b'data', self.ts())
        sync = self.make_sync()
        sync.handle_row(row('o', self.ts()))
        self.local.put('o', b'data', self.ts(5), **{'x-object-meta-color': 'red'})
        self.provider.calls.clear()
        self.assertIsNone(sync.handle_row(row('o', self.ts(), meta_ts=self.ts(5))))
        self.assertEqual(self.provider.calls, [('update', 'o')])
        self.assertEqual(self.provider.objects['o'][1]['x-object-meta-color'], 'red')

    def test_the_upload_read_names_the_rows_data_and_metadata_timestamps(self):
        # They let the local read take its fast path (s3_sync.direct_read) only for the
        # version this row describes.
        self.local.put('o', b'data', self.ts(5))
        self.make_sync().handle_row(row('o', self.ts(), meta_ts=self.ts(5)))
        self.assertEqual(self.local.opened, [('o', (self.ts(), self.ts(5)))])

    def test_metadata_post_uploads_when_remote_copy_is_missing(self):
        self.local.put('o', b'data', self.ts(5))
        outcome = self.make_sync().handle_row(row('o', self.ts(), meta_ts=self.ts(5)))
        self.assertIsNone(outcome)
        self.assertEqual(self.provider.calls, [('update', 'o'), ('put', 'o')])

    def test_object_gone_locally_is_done_without_remote_requests(self):
        self.assertIsNone(self.make_sync().handle_row(row('gone', self.ts())))
        self.assertEqual(self.provider.calls, [])

    def test_stale_local_read_is_retried_soon(self):
        self.local.put('o', b'old', self.ts())
        outcome = self.make_sync().handle_row(row('o', self.ts(10)))
        self.assertIsInstance(outcome, Retry)
        self.assertIn('stale', outcome.error)
        self.assertEqual(self.provider.calls, [])

    def test_delete_propagates_when_asked(self):
        outcome = self.make_sync().handle_row(row('o', self.ts(), deleted=1))
        self.assertIsNone(outcome)
        self.assertEqual(self.provider.calls, [('delete', ('o',))])
        self.assertEqual(self.stats.counts, {'deleted_objects': 1})

    def test_delete_not_propagated_when_propagate_delete_is_off(self):
        self.make_sync(propagate_delete=False).handle_row(row('o', self.ts(), deleted=1))
        self.assertEqual(self.provider.calls, [])

    def test_excluded_names_are_skipped(self):
        self.local.put('tmp/x', b'data', self.ts())
        self.make_sync(exclude_pattern='tmp/').handle_row(row('tmp/x', self.ts()))
        self.assertEqual(self.provider.calls, [])
        self.assertEqual(self.stats.counts, {'skipped': 1})

    def test_excluded_rows_are_dropped_before_handing_and_counted_as_skipped(self):
        rows = [row('tmp/x', self.ts()), row('keep', self.ts()), row('tmp/y', self.ts())]
        kept = self.make_sync(exclude_pattern='tmp/').drop_excluded(rows)
        self.assertEqual([r['name'] for r in kept], ['keep'])
        self.assertEqual(self.stats.counts, {'skipped': 2})
        self.assertIs(self.make_sync().drop_excluded(rows), rows)

    def test_selection_criteria_skip_objects_that_do_not_match(self):
        self.local.put('o', b'data', self.ts(), **{'x-object-meta-keep': 'no'})
        sync = self.make_sync(selection_criteria={'x-object-meta-keep': 'YES'})
        self.assertIsNone(sync.handle_row(row('o', self.ts())))
        self.assertEqual(self.provider.calls, [])

    def test_large_objects_are_skipped_by_targets_that_cannot_take_them(self):
        self.local.put('slo', b'[]', self.ts(), **{'x-static-large-object': 'True'})
        self.assertIsNone(self.make_sync().handle_row(row('slo', self.ts())))
        self.assertEqual(self.provider.calls, [])
        self.assertEqual(self.stats.counts, {'skipped': 1})

    def test_copy_after_defers_young_rows_until_due(self):
        self.local.put('o', b'data', self.ts(95))
        outcome = self.make_sync(copy_after=60).handle_row(row('o', self.ts(95)))
        self.assertIsInstance(outcome, Retry)
        self.assertAlmostEqual(outcome.due, float(self.ts(95)) + 60, places=3)
        self.assertIsNone(outcome.error)
        self.assertEqual(self.provider.calls, [])

    def test_remote_failure_is_counted_and_raised_for_the_crawler(self):
        self.local.put('o', b'data', self.ts())
        self.provider.fail = RemoteError(503, 'slow down')
        with self.assertRaises(RemoteError):
            self.make_sync().handle_row(row('o', self.ts()))
        self.assertEqual(self.stats.counts, {'errors': 1})


class TestContainerInfo(ContainerSyncTestCase):
    def setUp(self):
        super().setUp()
        self.provider.check = lambda create: self.provider.calls.append(('check', create))
        self.provider.set_container_metadata = \
            lambda headers: self.provider.calls.append(('meta', headers))

    def test_remote_is_checked_once_not_every_cycle(self):
        sync = self.make_sync(create_bucket=True)
        sync.ready()
        sync.ready()
        self.assertEqual(self.provider.calls, [('check', True)])

    def test_unusable_destination_is_checked_again_only_after_a_while(self):
        def refuse(create):
            self.provider.calls.append(('check', create))
            raise RemoteError(404, "bucket 'b' does not exist")
        self.provider.check = refuse
        sync = self.make_sync()
        with self.assertRaises(DestinationUnavailable) as first:
            sync.ready()
        with self.assertRaises(DestinationUnavailable) as second:
            sync.ready()
        self.assertEqual((first.exception.fresh, second.exception.fresh), (True, False))
        self.assertIn("bucket 'b'", str(second.exception))
        self.now += 31
        with self.assertRaises(DestinationUnavailable):
            sync.ready()
        self.assertEqual(len(self.provider.calls), 2)

    def test_targets_with_container_metadata_get_it_and_acls_when_it_changes(self):
        self.provider.features = Features(container_metadata=True)
        sync = self.make_sync(protocol='swift', aws_endpoint=SWIFT_AUTH_URL,
                              sync_container_metadata=True, sync_container_acl=True)
        meta = {'X-Container-Meta-Color': ('red', '1'), 'X-Container-Read': ('.r:*', '1'),
                'X-Container-Sysmeta-X': ('no', '1'), 'X-Container-Meta-Gone': ('', '2')}
        sync.handle_container_info({}, lambda: meta)
        sync.handle_container_info({}, lambda: meta)
        self.assertEqual(self.provider.calls, [('meta', {
            'X-Container-Meta-Color': 'red', 'X-Container-Read': '.r:*',
            'X-Container-Meta-Gone': ''})])

    def test_refused_container_metadata_is_not_pushed_again_until_it_changes(self):
        self.provider.features = Features(container_metadata=True)

        def refuse(headers):
            self.provider.calls.append(('meta', headers))
            raise RemoteError(400, 'metadata too large')
        self.provider.set_container_metadata = refuse
        sync = self.make_sync(protocol='swift', aws_endpoint=SWIFT_AUTH_URL,
                              sync_container_metadata=True)
        meta = {'X-Container-Meta-Big': ('x' * 300, '1')}
        with self.assertRaises(RemoteError):
            sync.handle_container_info({}, lambda: meta)
        sync.handle_container_info({}, lambda: meta)        # said once: the crawler logged it
        self.assertEqual(len(self.provider.calls), 1)
        with self.assertRaises(RemoteError):
            sync.handle_container_info({}, lambda: {'X-Container-Meta-Big': ('y', '2')})
        self.assertEqual(len(self.provider.calls), 2)

    def test_acls_stay_local_without_sync_container_acl(self):
        sync = self.make_sync(protocol='swift', aws_endpoint=SWIFT_AUTH_URL,
                              sync_container_metadata=True)
        sync.handle_container_info({}, lambda: {'X-Container-Read': ('.r:*', '1')})
        self.assertEqual(self.provider.calls, [])   # nothing to push: no request


class ExpiringProvider(FakeProvider):
    """A fake Swift-like store whose objects carry the local X-Delete-At (no offset)."""
    features = Features(expiry=True)

    def expires_at(self, headers):
        return int(headers['x-delete-at']) if headers.get('x-delete-at') else None

    def expiry_matches(self, local_headers, remote_headers):
        return local_headers.get('x-delete-at') == remote_headers.get('x-delete-at')

    def update_metadata(self, name, headers, etag):
        done = super().update_metadata(name, headers, etag)
        if done and 'x-delete-at' not in headers:     # a Swift POST drops it
            self.objects[name][1].pop('x-delete-at', None)
        return done


class TestExpiry(ContainerSyncTestCase):
    def setUp(self):
        super().setUp()
        self.provider = ExpiringProvider()

    def test_remote_copy_already_expired_is_not_written_and_an_old_one_goes(self):
        self.local.put('o', b'data', self.ts(), **{'x-delete-at': str(int(self.now) - 1)})
        self.provider.objects['o'] = ('old', {})
        self.assertIsNone(self.make_sync().handle_row(row('o', self.ts())))
        self.assertEqual(self.provider.calls, [('delete', ('o',))])
        self.assertEqual(self.stats.counts, {'skipped': 1})
        self.assertIn('o', self.local.objects)

    def test_metadata_post_carries_the_expiry_but_never_the_fence(self):
        # (the local x-timestamp is the POST's, as Swift reports it)
        self.local.put('o', b'data', self.ts(1), **{'x-delete-at': str(int(self.now) + 60)})
        self.provider.objects['o'] = (self.local.objects['o'][0]['etag'], {})
        sync = self.make_sync()
        self.assertIsNone(sync.handle_row(row('o', self.ts(), self.ts(1))))
        self.assertEqual(self.provider.objects['o'][1]['x-delete-at'], str(int(self.now) + 60))
        self.local.objects['o'][0].update({'x-delete-at': '9000000123',
                                           'x-timestamp': self.ts(2).normal})
        self.assertIsNone(sync.handle_row(row('o', self.ts(), self.ts(2))))
        self.assertNotIn('x-delete-at', self.provider.objects['o'][1])

    def test_archive_without_upload_fixes_a_different_remote_expiry(self):
        self.local.put('o', b'data', self.ts(), **{'x-delete-at': str(int(self.now) + 60)})
        headers = dict(self.local.objects['o'][0])
        headers.pop('x-delete-at')
        self.provider.objects['o'] = (headers['etag'], headers)
        self.make_sync(retain_local=False).handle_row(row('o', self.ts()))
        self.assertEqual(self.provider.objects['o'][1]['x-delete-at'], str(int(self.now) + 60))
        self.assertNotIn(('put', 'o'), self.provider.calls)
        self.assertNotIn('o', self.local.objects)


class TestArchive(ContainerSyncTestCase):
    def test_archive_deletes_local_copy_after_verified_upload_with_bumped_timestamp(self):
        self.local.put('o', b'data', self.ts())
        sync = self.make_sync(retain_local=False, propagate_delete=False)
        self.assertIsNone(sync.handle_row(row('o', self.ts())))
        # Look first (nothing there), upload, verify.
        self.assertEqual([c[0] for c in self.provider.calls], ['head', 'put', 'head'])
        self.assertNotIn('o', self.local.objects)
        (name, meta_ts), = self.local.deletes
        self.assertEqual(meta_ts, self.ts())

    def test_a_newer_version_is_not_archived_while_an_unanswered_upload_may_still_land(self):
        sync = self.make_sync(retain_local=False, propagate_delete=False, remote_timeout=10)
        v1, v2 = self.ts(), self.ts(1)
        self.local.put('o', b'version 1', v1)
        self.provider.fail = RemoteError(502, 'PutObject: read timeout')   # no answer
        with self.assertRaises(RemoteError):
            sync.handle_row(row('o', v1))
        self.provider.fail = None
        self.now += 1
        self.local.put('o', b'version 2', v2)
        outcome = sync.handle_row(row('o', v2))
        self.assertIsInstance(outcome, Retry)       # uploaded, but not archived yet
        self.assertIn('may still land', outcome.error)
        self.assertIn('o', self.local.objects)
        # The late version 1 lands at the remote, over version 2.
        self.provider.objects['o'] = (hashlib.md5(b'version 1').hexdigest(),
                                      {'content-length': '9'})
        self.now = outcome.due
        self.assertIsNone(sync.handle_row(row('o', v2)))
        self.assertEqual(self.provider.objects['o'][0], hashlib.md5(b'version 2').hexdigest())
        self.assertNotIn('o', self.local.objects)   # archived once version 2 is verified

    def test_restored_unchanged_object_is_archived_again_without_upload(self):
        self.local.put('o', b'data', self.ts())
        sync = self.make_sync(retain_local=False, propagate_delete=False)
        sync.handle_row(row('o', self.ts()))
        self.local.put('o', b'data', self.ts(10))     # the shunt restored it: a new row
        self.provider.calls.clear()
        self.assertIsNone(sync.handle_row(row('o', self.ts(10))))
        self.assertEqual(self.provider.calls, [('head', 'o')])
        self.assertNotIn('o', self.local.objects)

    def test_restored_object_with_new_metadata_is_copied_not_uploaded(self):
        self.local.put('o', b'data', self.ts())
        sync = self.make_sync(retain_local=False, propagate_delete=False)
        sync.handle_row(row('o', self.ts()))
        self.local.put('o', b'data', self.ts(10), **{'x-object-meta-tag': 'new'})
        self.provider.calls.clear()
        self.assertIsNone(sync.handle_row(row('o', self.ts(10))))
        self.assertEqual([c[0] for c in self.provider.calls], ['head', 'update', 'head'])
        self.assertNotIn('o', self.local.objects)

    def test_archive_keeps_local_copy_when_remote_copy_does_not_verify(self):
        self.local.put('o', b'data', self.ts())
        sync = self.make_sync(retain_local=False, propagate_delete=False)
        self.provider.head_object = lambda name: None
        outcome = sync.handle_row(row('o', self.ts()))
        self.assertIsInstance(outcome, Retry)
        self.assertIn('o', self.local.objects)
        self.assertEqual(self.local.deletes, [])

    def test_the_archivers_own_tombstones_are_never_propagated(self):
        sync = self.make_sync(retain_local=False, propagate_delete=False)
        self.provider.objects['o'] = ('e', {'content-length': '1'})
        ours = Timestamp(self.ts(), offset=2)
        sync.handle_row(row('o', ours, deleted=1))
        self.assertEqual(self.provider.calls, [])

    def test_a_client_delete_removes_the_archived_copy(self):
        sync = self.make_sync(retain_local=False, propagate_delete=False)
        self.provider.objects['o'] = ('e', {'content-length': '1'})  # last_modified 0
        sync.handle_row(row('o', self.ts(), deleted=1))
        self.assertEqual(self.provider.calls, [('head', 'o'), ('delete', ('o',))])
        self.assertEqual(self.stats.counts, {'deleted_objects': 1})

    def test_a_remote_copy_whose_last_modified_was_rounded_up_is_still_deleted(self):
        # Swift (behind s3api) rounds Last-Modified up to the next second.
        sync = self.make_sync(retain_local=False, propagate_delete=False)
        self.provider.objects['o'] = ('e', {'content-length': '1'})
        self.provider.last_modified = float(int(float(self.ts(0.3))) + 1)
        sync.handle_row(row('o', self.ts(0.3), deleted=1))
        self.assertEqual(self.provider.calls, [('head', 'o'), ('delete', ('o',))])

    def test_a_client_delete_keeps_a_remote_copy_written_after_it(self):
        sync = self.make_sync(retain_local=False, propagate_delete=False)
        self.provider.objects['o'] = ('e', {'content-length': '1'})
        self.provider.last_modified = float(self.ts(5))
        sync.handle_row(row('o', self.ts(), deleted=1))
        self.assertEqual(self.provider.calls, [('head', 'o')])

    def test_a_client_delete_during_the_archive_removes_the_copy_just_made(self):
        self.local.put('o', b'data', self.ts())
        self.local.deleted_by_client.add('o')
        sync = self.make_sync(retain_local=False, propagate_delete=False)
        self.assertIsNone(sync.handle_row(row('o', self.ts())))
        self.assertEqual(self.provider.calls[-1], ('delete', ('o',)))
        self.assertNotIn('o', self.provider.objects)


if __name__ == '__main__':
    unittest.main()

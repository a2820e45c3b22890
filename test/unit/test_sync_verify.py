"""Batched verification: one listing instead of a HEAD per row, and what counts as in sync."""
import unittest

from swift.common.utils import Timestamp, encode_timestamps

from s3_sync.providers.base import RemoteObject
from s3_sync.sync import verify
from test.unit.fakes import make_mapping


class ListingProvider:
    def __init__(self, objects):
        self.objects = dict(objects)    # name -> RemoteObject
        self.list_calls = 0
        self.heads = []

    def iter_objects(self, marker='', end_marker='', prefix=''):
        self.list_calls += 1
        for name in sorted(self.objects):
            if name > marker and (not end_marker or name < end_marker):
                yield self.objects[name]

    def head_object(self, name):
        self.heads.append(name)
        return self.objects.get(name)


NOW = 1_800_000_000.0


def row(name, ts, deleted=0, etag='e1', size=3, meta_ts=None, content_type='text/plain',
        offset=0):
    data_ts = Timestamp(ts, offset=offset)
    return {'ROWID': 1, 'name': name, 'deleted': deleted, 'etag': etag, 'size': size,
            'content_type': content_type, 'storage_policy_index': 0,
            'created_at': encode_timestamps(data_ts, data_ts, Timestamp(meta_ts or data_ts))}


def remote(name, lm, etag='e1', size=3):
    return RemoteObject(name, etag, size, lm)


SYNC = {'account': 'a', 'container': 'c'}


def m(**keys):
    return make_mapping(**keys)


class TestRowsNeedingRepair(unittest.TestCase):
    def check(self, rows, objects, mapping=None):
        mapping = mapping or m(**SYNC)
        provider = ListingProvider(objects)
        need = verify.rows_needing_repair(rows, provider, mapping, clock=lambda: NOW)
        return [r['name'] for r in need], provider

    def test_rows_in_sync_need_nothing_and_cost_one_listing(self):
        rows = [row('n%04d' % i, NOW - 5000) for i in range(500)]
        objects = {r['name']: remote(r['name'], NOW - 4999) for r in rows}
        need, provider = self.check(rows, objects)
        self.assertEqual(need, [])
        self.assertEqual(provider.list_calls, 1)
        self.assertEqual(provider.heads, [])

    def test_rows_whose_remote_copy_has_expired_are_not_copied_again(self):
        mapping = m(remote_delete_after=86400, **SYNC)
        need, provider = self.check([row('expired', NOW - 86401), row('live', NOW - 86399)],
                                    {}, mapping)
        self.assertEqual(need, ['live'])
        self.assertEqual(provider.heads + ['listed'] * provider.list_calls, ['listed'])

    def test_missing_remote_object_needs_upload(self):
        need, _ = self.check([row('a', NOW - 5000), row('b', NOW - 5000)],
                             {'a': remote('a', NOW - 4999)})
        self.assertEqual(need, ['b'])

    def test_etag_mismatch_needs_upload(self):
        need, _ = self.check([row('a', NOW - 5000)], {'a': remote('a', NOW - 4999, etag='x')})
        self.assertEqual(need, ['a'])

    def test_remote_copy_older_than_local_metadata_change_needs_repair(self):
        rows = [row('a', NOW - 5000, meta_ts=NOW - 4000)]
        need, _ = self.check(rows, {'a': remote('a', NOW - 4999)})
        self.assertEqual(need, ['a'])

    def test_propagated_delete_is_in_sync_when_remote_is_gone(self):
        need, _ = self.check([row('a', NOW - 5000, deleted=1)], {})
        self.assertEqual(need, [])

    def test_unpropagated_delete_needs_repair(self):
        need, _ = self.check([row('a', NOW - 5000, deleted=1)], {'a': remote('a', NOW - 6000)})
        self.assertEqual(need, ['a'])

    def test_remote_write_newer_than_local_delete_is_left_alone(self):
        need, _ = self.check([row('a', NOW - 5000, deleted=1)], {'a': remote('a', NOW - 10)})
        self.assertEqual(need, [])

    def test_deletes_are_not_checked_without_propagate_delete(self):
        mapping = m(**dict(SYNC, propagate_delete=False))
        need, _ = self.check([row('a', NOW - 5000, deleted=1)], {'a': remote('a', 0)}, mapping)
        self.assertEqual(need, [])

    def test_large_object_rows_compare_total_size(self):
        ct = 'application/octet-stream;swift_bytes=1000'
        rows = [row('slo', NOW - 5000, etag='m; slo_etag=x', size=90, content_type=ct)]
        need, _ = self.check(rows, {'slo': remote('slo', NOW - 4999, etag='abc-2', size=1000)})
        self.assertEqual(need, [])

    def test_rows_not_yet_past_copy_after_are_handed_back_for_deferral(self):
        mapping = m(**dict(SYNC, copy_after=10000))
        need, _ = self.check([row('a', NOW - 5000)], {}, mapping)
        self.assertEqual(need, ['a'])

    def test_archive_rows_still_local_need_archiving(self):
        mapping = m(**dict(SYNC, retain_local=False, propagate_delete=False))
        need, _ = self.check([row('a', NOW - 5000)], {'a': remote('a', NOW - 4999)}, mapping)
        self.assertEqual(need, ['a'])

    def test_rows_the_row_alone_decides_cost_no_remote_request(self):
        archive = m(**dict(SYNC, retain_local=False, propagate_delete=False))
        rows = [row('live', NOW - 5000), row('gone', NOW - 5000, deleted=1, offset=2)]
        need, provider = self.check(rows, {}, archive)
        self.assertEqual(need, ['live'])
        self.assertEqual((provider.list_calls, provider.heads), (0, []))
        need, provider = self.check([row('young', NOW - 10)], {}, m(**dict(SYNC, copy_after=60)))
        self.assertEqual((need, provider.list_calls), (['young'], 0))

    def test_client_delete_in_an_archive_mapping_needs_its_remote_copy_gone(self):
        archive = m(**dict(SYNC, retain_local=False, propagate_delete=False))
        rows = [row('gone', NOW - 5000, deleted=1)]
        need, _ = self.check(rows, {'gone': remote('gone', NOW - 6000)}, archive)
        self.assertEqual(need, ['gone'])
        need, _ = self.check(rows, {}, archive)
        self.assertEqual(need, [])

    def test_a_copy_made_in_the_second_of_the_write_reflects_it(self):
        written = 1700000000.6
        need, _ = self.check([row('a', written)], {'a': remote('a', 1700000000.0)})
        self.assertEqual(need, [])      # S3 listings truncate Last-Modified to the second

    def test_a_post_in_the_second_of_the_copy_still_needs_propagating(self):
        rows = [row('a', 1700000000.2, meta_ts=1700000000.6)]
        need, _ = self.check(rows, {'a': remote('a', 1700000000.0)})
        self.assertEqual(need, ['a'])   # the listing cannot show the POST's metadata

    def test_sparse_rows_in_a_big_listing_fall_back_to_heads(self):
        objects = {'k%06d' % i: remote('k%06d' % i, NOW - 4999) for i in range(5000)}
        rows = [row('k000000', NOW - 5000), row('k004999', NOW - 5000)]
        need, provider = self.check(rows, objects)
        self.assertEqual(need, [])
        self.assertEqual(provider.heads, ['k004999'])

    def test_unicode_names_are_listed_in_range(self):
        rows = [row('ünï/日本', NOW - 5000), row('ünï/ß', NOW - 5000)]
        objects = {r['name']: remote(r['name'], NOW - 4999) for r in rows}
        need, provider = self.check(rows, objects)
        self.assertEqual(need, [])
        self.assertEqual(provider.heads, [])


if __name__ == '__main__':
    unittest.main()

"""Large objects to a Swift remote (``providers.swift_large``): the pure layout and manifest
logic, and the request order against an in-memory Swift (``FakeSwift``)."""
import base64
import hashlib
import json
import unittest

from swiftclient.exceptions import ClientException

from s3_sync.providers.base import RemoteError, RemoteObject
from s3_sync.providers.swift import SwiftProvider
from s3_sync.providers.swift_large import (
    combine, combined_etag, local_segments_container, manifest_entries, manifest_paths,
    remote_segments_container, segments_of, slo_etag)
from s3_sync.retry import RetryPolicy
from s3_sync.sync.large import DLO_ETAG_MARKER, SLO_ETAG_MARKER, LargeSource, Piece
from test.unit.test_swift_provider import mapping


def md5(data):
    return hashlib.md5(data).hexdigest()


class FakeLocal:
    def __init__(self, objects):
        self.objects = objects      # (container, name) -> bytes
        self.reads = []

    def read_range(self, account, container, name, start, length, etag=None, what=None):
        self.reads.append((container, name))
        return [self.objects[(container, name)][start:start + length]]


def piece(local, container, name, start=0, size=None):
    data = local.objects[(container, name)]
    whole = Piece(local, 'AUTH_a', container, name, md5(data), 0, len(data), md5(data))
    return whole if size is None else whole.slice(start, size)


def source(pieces, kind='slo', current=True, dlo=None, timestamp='1700000000.00000'):
    marker = SLO_ETAG_MARKER if kind == 'slo' else DLO_ETAG_MARKER
    return LargeSource(kind, pieces, 'local-etag', marker, check=lambda s: current, dlo=dlo,
                       timestamp=timestamp)


class FakeSwift:
    """An in-memory remote Swift behind fake connections; ``log`` lists (method, path)."""

    def __init__(self):
        self.containers = {'target': {}}
        self.log = []
        self.fail = {}          # (method, container, name) -> status
        self.corrupt = set()    # object names stored other than sent (first byte changed)

    def _check(self, method, container, name=None):
        self.log.append((method, '%s/%s' % (container, name) if name else container))
        status = self.fail.get((method, container, name))
        if status:
            raise ClientException('injected', http_status=status, http_response_headers={})

    def _objects(self, container):
        if container not in self.containers:
            raise ClientException('no container', http_status=404, http_response_headers={})
        return self.containers[container]

    def connection(self):
        swift = self

        class Conn:
            http_conn = None

            def put_object(self, container, name, contents, content_length=None, etag=None,
                           headers=None, query_string=None, content_type=None):
                swift._check('PUT', container, name)
                body = contents if isinstance(contents, bytes) else contents.read(
                    content_length)
                objects = swift._objects(container)
                headers = dict(headers or {})
                if query_string == 'multipart-manifest=put':
                    entries = json.loads(body)
                    for entry in entries:
                        if 'path' in entry:
                            cont, obj = entry['path'].lstrip('/').split('/', 1)
                            found = swift.containers.get(cont, {}).get(obj)
                            if found is None or md5(found[1]) != entry['etag']:
                                raise ClientException('bad segment', http_status=400,
                                                      http_response_headers={})
                    if etag and etag != slo_etag(entries):
                        raise ClientException('etag', http_status=422,
                                              http_response_headers={})
                    headers['x-static-large-object'] = 'True'
                    headers['etag'] = slo_etag(entries)
                    body = json.dumps([dict(e, name=e.get('path')) for e in entries]).encode()
                else:
                    if etag and etag != md5(body):
                        raise ClientException('etag', http_status=422,
                                              http_response_headers={})
                    if name in swift.corrupt:
                        body = b'X' + body[1:]
                    headers['etag'] = md5(body)
                objects[name] = (headers, body)
                return headers['etag']

            def head_object(self, container, name, headers=None):
                swift._check('HEAD', container, name)
                found = swift._objects(container).get(name)
                if found is None:
                    raise ClientException('404', http_status=404, http_response_headers={})
                return dict(found[0], **{'content-length': str(len(found[1]))})

            def get_object(self, container, name, resp_chunk_size=None, query_string=None,
                           headers=None):
                swift._check('GET', container, name)
                found = swift._objects(container).get(name)
                if found is None:
                    raise ClientException('404', http_status=404, http_response_headers={})

                class Body(list):
                    def close(self):
                        pass
                return dict(found[0]), Body([found[1]])

            def get_container(self, container, prefix=None, full_listing=False, **kw):
                swift._check('GET', container)
                objects = swift._objects(container)
                out = []
                for name in sorted(objects):
                    if prefix and not name.startswith(prefix):
                        continue
                    entry = {'name': name, 'hash': md5(objects[name][1]),
                             'bytes': len(objects[name][1])}
                    if 'x-static-large-object' in objects[name][0]:
                        entry['slo_etag'] = objects[name][0]['etag']
                    out.append(entry)
                return {}, out

            def get_account(self, prefix=None, full_listing=False):
                return {}, [{'name': c} for c in sorted(swift.containers)
                            if c.startswith(prefix or '')]

            def put_container(self, container, headers=None):
                swift._check('PUT', container)
                swift.containers.setdefault(container, {})

            def delete_object(self, container, name):
                swift._check('DELETE', container, name)
                if swift._objects(container).pop(name, None) is None:
                    raise ClientException('404', http_status=404, http_response_headers={})

            def post_object(self, container, name, headers):
                swift._check('POST', container, name)
                old_headers, body = swift._objects(container)[name]
                kept = {k: v for k, v in old_headers.items()
                        if k in ('etag', 'x-static-large-object')}
                swift._objects(container)[name] = (dict(kept, **headers), body)

            def get_capabilities(self):
                return {}
        return Conn()


class SwiftLargeTest(unittest.TestCase):
    def setUp(self):
        self.swift = FakeSwift()
        self.local = FakeLocal({('segs', 'a'): b'A' * 100, ('segs', 'b'): b'B' * 50,
                                ('other', 'c'): b'C' * 30})

    def provider(self, **kw):
        provider = SwiftProvider(mapping(**kw), connection_factory=self.swift.connection)
        provider.retry = RetryPolicy(attempts=2, sleep=lambda seconds: None)
        return provider

    def remote(self, container, name):
        return self.swift.containers[container][name]


class TestLayout(SwiftLargeTest):
    def test_segments_container_is_bucket_segments_or_bucket_plus_container(self):
        self.assertEqual(remote_segments_container(mapping(), 'segs'), 'target_segments')
        per_account = mapping(container='/*')
        self.assertEqual(remote_segments_container(per_account, 'segs'), 'targetsegs')

    def test_restored_segments_go_to_the_container_the_remote_one_stands_for(self):
        self.assertEqual(local_segments_container(mapping(), 'target_segments', 'cont'),
                         'cont_segments')
        self.assertEqual(local_segments_container(mapping(container='/*'), 'targetsegs', 'c'),
                         'segs')
        self.assertEqual(local_segments_container(mapping(), 'elsewhere', 'cont'), 'elsewhere')

    def test_manifest_entries_keep_ranges_and_inline_data_and_drop_empty_pieces(self):
        data = Piece(None, None, None, None, None, 0, 5, md5(b'hello'), b'hello')
        pieces = [piece(self.local, 'segs', 'a'), data, piece(self.local, 'segs', 'b', 10, 20),
                  piece(self.local, 'segs', 'b', 0, 0)]
        entries = manifest_entries(pieces, mapping())
        self.assertEqual(entries, [
            {'path': '/target_segments/a', 'etag': md5(b'A' * 100), 'size_bytes': 100},
            {'data': base64.b64encode(b'hello').decode()},
            {'path': '/target_segments/b', 'etag': md5(b'B' * 50), 'size_bytes': 50,
             'range': '10-29'}])

    def test_slo_etag_is_swifts_formula(self):
        entries = [{'etag': 'e1'}, {'etag': 'e2', 'range': '1-2'},
                   {'data': base64.b64encode(b'x').decode()}]
        self.assertEqual(slo_etag(entries), md5(('e1' + 'e2:1-2;' + md5(b'x')).encode()))

    def test_segments_of_lists_each_segment_object_once(self):
        pieces = [piece(self.local, 'segs', 'a', 0, 10), piece(self.local, 'segs', 'a', 50, 10),
                  piece(self.local, 'other', 'c')]
        found = segments_of(pieces, mapping())
        self.assertEqual([(s.name, s.size, s.remote_container) for s in found],
                         [('a', 100, 'target_segments'), ('c', 30, 'target_segments')])

    def test_combine_groups_consecutive_pieces_up_to_the_minimum(self):
        pieces = [Piece(None, 'a', 'c', str(i), 'e%d' % i, 0, size)
                  for i, size in enumerate([3, 3, 5, 0, 1, 1])]
        groups = combine(pieces, 5)
        self.assertEqual([[p.obj for p in g] for g in groups], [['0', '1'], ['2'], ['4', '5']])
        self.assertEqual(combined_etag(groups[0]), md5(b'e0e1'))

    def test_manifest_paths_skip_nested_slos_and_odd_entries(self):
        manifest = [{'name': '/c/a'}, {'name': '/c/sub', 'sub_slo': True}, {'data': 'eA=='},
                    {'name': 'nocontainer'}, 'junk']
        self.assertEqual(manifest_paths(manifest), {('c', 'a')})


class TestUpload(SwiftLargeTest):
    def slo(self):
        return source([piece(self.local, 'segs', 'a'), piece(self.local, 'segs', 'b', 5, 10)])

    def test_segments_then_manifest_creating_the_segments_container(self):
        provider = self.provider(storage_policy='gold')
        etag = provider.put_large('obj', {'content-type': 'text/x', 'x-object-meta-k': 'v'},
                                  self.slo())
        puts = [path for method, path in self.swift.log if method == 'PUT']
        self.assertEqual(puts, ['target_segments/a', 'target_segments', 'target_segments/a',
                                'target_segments/b', 'target/obj'])
        headers, _body = self.remote('target', 'obj')
        self.assertEqual(etag, headers['etag'])
        self.assertEqual((headers['x-object-meta-k'], headers[SLO_ETAG_MARKER]),
                         ('v', 'local-etag'))

    def test_segments_outlive_their_manifest_by_the_addition(self):
        provider = self.provider(remote_delete_after=100, remote_delete_after_addition=50)
        provider.put_large('obj', {}, self.slo())
        self.assertEqual(self.remote('target', 'obj')[0]['x-delete-after'], '100')
        self.assertEqual(self.remote('target_segments', 'a')[0]['x-delete-after'], '150')

    def test_a_metadata_post_refreshes_the_segments_expiry_first(self):
        provider = self.provider(remote_delete_after=100, remote_delete_after_addition=50)
        slo = self.slo()
        provider.put_large('obj', {}, slo)
        self.swift.containers['target_segments']['a'][0]['x-object-meta-keep'] = 'me'
        self.swift.log.clear()
        remote = provider.head_object('obj')
        self.assertTrue(provider.update_large_metadata('obj', {'x-object-meta-v': '2'}, slo,
                                                       remote))
        posts = [p for m, p in self.swift.log if m == 'POST']
        self.assertEqual(posts, ['target_segments/a', 'target_segments/b', 'target/obj'])
        self.assertEqual(self.remote('target_segments', 'a')[0],
                         {'etag': md5(b'A' * 100), 'x-object-meta-keep': 'me',
                          'x-delete-after': '150'})

    def test_unchanged_segments_are_not_sent_again(self):
        provider = self.provider()
        provider.put_large('obj', {}, self.slo())
        self.swift.log.clear()
        provider.put_large('obj', {}, self.slo())
        self.assertEqual([p for m, p in self.swift.log if m == 'PUT'], ['target/obj'])

    def test_a_failing_segment_put_stops_before_the_manifest(self):
        self.swift.containers['target_segments'] = {}
        self.swift.fail[('PUT', 'target_segments', 'b')] = 500
        with self.assertRaises(RemoteError):
            self.provider().put_large('obj', {}, self.slo())
        self.assertNotIn('obj', self.swift.containers['target'])

    def test_local_change_before_the_manifest_writes_no_manifest(self):
        slo = source([piece(self.local, 'segs', 'a')], current=False)
        self.assertIsNone(self.provider().put_large('obj', {}, slo))
        self.assertNotIn('obj', self.swift.containers['target'])

    def test_replacing_a_segment_the_manifest_uses_drops_that_manifest_first(self):
        provider = self.provider()
        provider.put_large('obj', {}, self.slo())
        self.local.objects[('segs', 'a')] = b'new'
        self.swift.log.clear()
        provider.put_large('obj', {}, source([piece(self.local, 'segs', 'a')]))
        writes = [(m, p) for m, p in self.swift.log if m in ('PUT', 'DELETE')]
        self.assertEqual(writes, [('DELETE', 'target/obj'), ('PUT', 'target_segments/a'),
                                  ('PUT', 'target/obj')])

    def test_replacing_a_segment_another_manifest_uses_is_refused(self):
        provider = self.provider()
        provider.put_large('other', {}, self.slo())
        self.local.objects[('segs', 'a')] = b'new'
        with self.assertRaises(RemoteError) as ctx:
            provider.put_large('obj', {}, source([piece(self.local, 'segs', 'a')]))
        self.assertEqual(ctx.exception.status, 409)
        self.assertIn("segment 'target_segments/a'", str(ctx.exception))
        self.assertEqual(self.remote('target_segments', 'a')[1], b'A' * 100)

    def test_dlo_manifest_points_at_the_remote_segments(self):
        dlo = source([piece(self.local, 'segs', 'a')], kind='dlo', dlo=('segs', 'pre ü/'))
        self.provider().put_large('obj', {'x-object-manifest': 'segs/pre'}, dlo)
        headers, body = self.remote('target', 'obj')
        self.assertEqual((headers['x-object-manifest'], body),
                         ('target_segments/pre%20%C3%BC/', b''))
        self.assertEqual(headers[DLO_ETAG_MARKER], 'local-etag')

    def test_min_segment_size_joins_and_checks_pieces(self):
        self.local.objects.update({('segs', 'd'): b'D' * 20})
        dlo = source([piece(self.local, 'segs', 'a'), piece(self.local, 'segs', 'b'),
                      piece(self.local, 'segs', 'd')], kind='dlo', dlo=('segs', ''))
        provider = self.provider(convert_dlo=True, min_segment_size=120)
        provider.put_large('obj', {}, dlo)
        _headers, body = self.remote('target', 'obj')
        self.assertEqual([e['path'] for e in json.loads(body)],
                         ['/target_segments/obj/1700000000.00000/000001', '/target_segments/d'])
        joined_headers, joined = self.remote('target_segments', 'obj/1700000000.00000/000001')
        self.assertEqual(joined, b'A' * 100 + b'B' * 50)
        self.assertEqual(joined_headers['x-object-meta-combined-etag'],
                         md5((md5(b'A' * 100) + md5(b'B' * 50)).encode()))

    def test_a_joined_piece_stored_other_than_sent_is_deleted_and_no_manifest_written(self):
        self.local.objects.update({('segs', 'd'): b'D' * 20})
        dlo = source([piece(self.local, 'segs', 'a'), piece(self.local, 'segs', 'b'),
                      piece(self.local, 'segs', 'd')], kind='dlo', dlo=('segs', ''))
        joined = 'obj/1700000000.00000/000001'
        self.swift.corrupt.add(joined)
        provider = self.provider(convert_dlo=True, min_segment_size=120)
        with self.assertRaises(RemoteError) as caught:
            provider.put_large('obj', {}, dlo)
        self.assertIn("joined segment 'target_segments/%s'" % joined, str(caught.exception))
        self.assertNotIn(joined, self.swift.containers['target_segments'])
        self.assertNotIn('obj', self.swift.containers['target'])

    def test_data_matches_by_marker_and_shape(self):
        provider = self.provider()
        slo, dlo = self.slo(), source([piece(self.local, 'segs', 'a')], kind='dlo')
        remote = RemoteObject('obj', 'x', slo.size, 0, {'x-static-large-object': 'True',
                                                         SLO_ETAG_MARKER: 'local-etag'})
        self.assertTrue(provider.large_data_matches(remote, slo))
        remote.headers[SLO_ETAG_MARKER] = 'other'
        self.assertFalse(provider.large_data_matches(remote, slo))
        remote = RemoteObject('obj', 'x', 100, 0, {'x-object-manifest': 'c/p',
                                                    DLO_ETAG_MARKER: 'local-etag'})
        self.assertTrue(provider.large_data_matches(remote, dlo))
        self.assertFalse(self.provider(convert_dlo=True).large_data_matches(remote, dlo))


class TestDelete(SwiftLargeTest):
    def test_slo_delete_spares_segments_another_manifest_uses(self):
        provider = self.provider()
        provider.put_large('one', {}, source([piece(self.local, 'segs', 'a'),
                                              piece(self.local, 'segs', 'b')]))
        provider.put_large('two', {}, source([piece(self.local, 'segs', 'b')]))
        self.swift.log.clear()
        provider.delete_objects(['one'])
        self.assertEqual(sorted(self.swift.containers['target_segments']), ['b'])
        deletes = [p for m, p in self.swift.log if m == 'DELETE']
        self.assertEqual(deletes, ['target/one', 'target_segments/a'])   # manifest first
        provider.delete_objects(['two'])
        self.assertEqual(self.swift.containers['target_segments'], {})

    def test_plain_objects_are_deleted_as_before(self):
        self.swift.containers['target']['p'] = ({'etag': md5(b'x')}, b'x')
        self.provider().delete_objects(['p', 'missing'])
        self.assertEqual(self.swift.containers['target'], {})


if __name__ == '__main__':
    unittest.main()

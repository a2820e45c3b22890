"""Large-object rows through the row handler: manifest expansion (other containers, ranges,
inline data, nested SLOs), DLO listings, and when an SLO/DLO is uploaded, copied or left alone.

The local cluster is a fake InternalClient holding raw objects; the fake provider really reads
every piece of what it is asked to upload, so the bytes it stores are what S3 would get."""
import base64
import hashlib
import io
import json
import unittest

from swift.common.internal_client import UnexpectedResponse
from swift.common.swob import Response
from swift.common.utils import Timestamp, encode_timestamps

from s3_sync.local import LocalSwift
from s3_sync.providers.base import Features, RemoteObject
from s3_sync.sync import large
from s3_sync.sync.container import ContainerSync
from s3_sync.sync.outcome import Retry
from test.unit.fakes import FakeStats, NullLogger, make_mapping

ACCOUNT = 'AUTH_a'


def md5(data):
    return hashlib.md5(data).hexdigest()


def not_found():
    return UnexpectedResponse('404', Response(status=404))


class FakeClient:
    """Raw objects by (container, name): GET with Range, raw manifests, listings."""

    def __init__(self):
        self.objects = {}
        self.gets = []
        self.on_get = None

    def put(self, container, name, data, **headers):
        hdrs = {'Etag': md5(data), 'X-Timestamp': '1700000000.00000',
                'X-Backend-Data-Timestamp': '1700000000.00000',
                'Content-Type': 'application/octet-stream'}
        hdrs.update(headers)
        self.objects[(container, name)] = (hdrs, data)

    def put_slo(self, container, name, entries, **headers):
        """Store a raw manifest as Swift's SLO middleware would; returns its slo etag."""
        raw = []
        seg_etags = ''
        total = 0
        for entry in entries:
            if 'data' in entry:
                data = base64.b64decode(entry['data'])
                seg_etags += md5(data)
                total += len(data)
                raw.append(entry)
                continue
            cont, obj = entry['path'].lstrip('/').split('/', 1)
            hdrs, data = self.objects[(cont, obj)]
            is_slo = 'X-Static-Large-Object' in hdrs
            size = int(hdrs['X-Object-Sysmeta-Slo-Size']) if is_slo else len(data)
            etag = hdrs['X-Object-Sysmeta-Slo-Etag'] if is_slo else hdrs['Etag']
            item = {'name': '/%s/%s' % (cont, obj), 'bytes': size, 'hash': etag,
                    'content_type': 'x', 'last_modified': 'y'}
            if is_slo:
                item['sub_slo'] = True
            if 'range' in entry:
                item['range'] = entry['range']
                first, last = (int(v) for v in entry['range'].split('-'))
                size = last - first + 1
                seg_etags += '%s:%s;' % (etag, entry['range'])
            else:
                seg_etags += etag
            total += size
            raw.append(item)
        slo_etag = md5(seg_etags.encode())
        hdrs = {'X-Static-Large-Object': 'True', 'X-Object-Sysmeta-Slo-Etag': slo_etag,
                'X-Object-Sysmeta-Slo-Size': str(total)}
        hdrs.update(headers)
        self.put(container, name, json.dumps(raw).encode(), **hdrs)
        return slo_etag

    def get_object(self, account, container, obj, headers=None, acceptable_statuses=(2,),
                   params=None):
        self.gets.append((container, obj, (headers or {}).get('Range')))
        if self.on_get:
            self.on_get(container, obj)
        if (container, obj) not in self.objects:
            raise not_found()
        hdrs, data = self.objects[(container, obj)]
        rng = (headers or {}).get('Range')
        if rng:
            first, last = (int(v) for v in rng[len('bytes='):].split('-'))
            data = data[first:last + 1]
        return 206 if rng else 200, dict(hdrs), [data[i:i + 1000]
                                                 for i in range(0, len(data), 1000)]

    def iter_objects(self, account, container, prefix=''):
        for (cont, name), (hdrs, data) in sorted(self.objects.items()):
            if cont == container and name.startswith(prefix):
                yield {'name': name, 'hash': hdrs['Etag'], 'bytes': len(data)}


class FakeObject:
    def __init__(self, headers, data):
        self.headers = headers
        self.reader = io.BytesIO(data)

    def close(self):
        pass


class FakeLocal(LocalSwift):
    """LocalSwift over the fake client; open and head of container 'c' short-cut."""

    def __init__(self, client):
        super().__init__(client)
        self.heads = 0

    def _lower(self, name):
        found = self.client.objects.get(('c', name))
        if found is None:
            return None
        return {k.lower(): v for k, v in found[0].items()}, found[1]

    def open(self, account, container, name, policy_index, timestamps=None):
        found = self._lower(name)
        return FakeObject(*found) if found else None

    def head(self, account, container, name, policy_index):
        self.heads += 1
        found = self._lower(name)
        return found[0] if found else None


class FakeProvider:
    """Stores what put_large reads; large_data_matches by the marker, as S3Provider does."""

    features = Features(large_objects=True)
    rewritten_headers = ()

    def __init__(self):
        self.objects = {}   # name -> (data, headers)
        self.calls = []
        self.copy_result = True

    def head_object(self, name):
        self.calls.append('head')
        if name not in self.objects:
            return None
        data, headers = self.objects[name]
        return RemoteObject(name, md5(data), len(data), 0, dict(headers))

    def large_data_matches(self, remote, source):
        return remote.size == source.size and remote.headers.get(source.marker) == source.etag

    def put_large(self, name, headers, source):
        self.calls.append('put_large')
        data = b''
        for piece in source.pieces:
            data += b''.join(piece.open(0, piece.size))
        assert len(data) == source.size
        if not source.still_current():
            return None
        self.manifest = source.manifest
        self.objects[name] = (data, dict(headers, **{source.marker: source.etag}))
        return md5(data)

    def update_large_metadata(self, name, headers, source, remote):
        self.calls.append('update_large_metadata')
        if self.copy_result:
            data = self.objects[name][0]
            self.objects[name] = (data, dict(headers, **{source.marker: source.etag}))
        return self.copy_result


TS = Timestamp(1700000000.0)


def row(name, meta_ts=None):
    return {'ROWID': 1, 'name': name, 'deleted': 0, 'etag': 'e', 'size': 1,
            'content_type': 'x', 'storage_policy_index': 0,
            'created_at': encode_timestamps(TS, TS, meta_ts or TS)}


class LargeTestCase(unittest.TestCase):
    def setUp(self):
        self.client = FakeClient()
        self.local = FakeLocal(self.client)
        self.provider = FakeProvider()
        self.stats = FakeStats()
        self.sync = ContainerSync(make_mapping(account=ACCOUNT, container='c', aws_bucket='b'),
                                  ACCOUNT, 'c', self.provider, self.local, self.stats,
                                  NullLogger(), clock=lambda: 1700000100.0)

    def segments(self, *sizes, container='segs ü'):
        out = []
        for i, size in enumerate(sizes):
            data = bytes([97 + i]) * size
            self.client.put(container, 'ség/%02d' % i, data)
            out.append(('/%s/ség/%02d' % (container, i), data))
        return out


class TestSloContent(LargeTestCase):
    def test_segments_in_other_containers_ranges_data_and_nested_slos_are_concatenated(self):
        segs = self.segments(10, 20, 30)
        other = self.segments(5, container='other')
        self.client.put_slo('segs ü', 'inner', [{'path': segs[1][0]},
                                                {'path': segs[2][0], 'range': '5-14'}])
        inner = segs[1][1] + segs[2][1][5:15]
        entries = [{'path': segs[0][0], 'range': '2-5'},
                   {'data': base64.b64encode(b'hi').decode()},
                   {'path': '/segs ü/inner', 'range': '3-22'},
                   {'path': other[0][0]}]
        self.client.put_slo('c', 'slo', entries)
        self.assertIsNone(self.sync.handle_row(row('slo')))
        data, headers = self.provider.objects['slo']
        self.assertEqual(data, segs[0][1][2:6] + b'hi' + inner[3:23] + other[0][1])
        self.assertEqual(headers['x-static-large-object'], 'true')
        self.assertEqual(self.provider.manifest, self.client.objects[('c', 'slo')][1])
        self.assertEqual(self.stats.counts, {'copied_objects': 1, 'bytes': len(data)})

    def test_whole_segments_are_read_with_their_md5_known(self):
        segs = self.segments(10, 20)
        self.client.put_slo('c', 'slo', [{'path': p} for p, _ in segs])
        found = self.client.objects[('c', 'slo')]
        headers = {k.lower(): v for k, v in found[0].items()}
        source = self.sync._large.slo_source(row('slo'), headers, found[1])
        self.assertEqual([p.md5 for p in source.pieces], [md5(d) for _, d in segs])
        self.assertEqual(source.etag, headers['x-object-sysmeta-slo-etag'])

    def test_segment_overwritten_since_the_slo_was_written_is_a_one_line_error(self):
        segs = self.segments(10, 20)
        self.client.put_slo('c', 'slo', [{'path': p} for p, _ in segs])
        self.client.put('segs ü', 'ség/01', b'changed')
        with self.assertRaisesRegex(large.SegmentChanged, r'segment /segs ü/ség/01: etag'):
            self.sync.handle_row(row('slo'))
        self.assertNotIn('slo', self.provider.objects)

    def test_missing_segment_is_reported(self):
        segs = self.segments(10)
        self.client.put_slo('c', 'slo', [{'path': p} for p, _ in segs])
        del self.client.objects[('segs ü', 'ség/00')]
        with self.assertRaisesRegex(large.SegmentChanged, 'local 404'):
            self.sync.handle_row(row('slo'))

    def test_invalid_manifest_json_is_a_clear_error(self):
        self.client.put('c', 'slo', b'{not json', **{'X-Static-Large-Object': 'True'})
        with self.assertRaisesRegex(large.BadManifest, 'not valid JSON'):
            self.sync.handle_row(row('slo'))

    def test_range_beyond_a_segment_is_a_clear_error(self):
        pieces = large.ManifestExpander(LocalSwift(self.client), ACCOUNT)
        self.segments(10)
        entries = [{'name': '/segs ü/ség/00', 'bytes': 10, 'hash': 'x', 'range': '5-20'}]
        with self.assertRaisesRegex(large.BadManifest, 'beyond the 10 bytes'):
            pieces.expand(entries, 'c/slo')

    def test_slice_pieces_cuts_across_piece_boundaries(self):
        reader = LocalSwift(self.client)
        pieces = [large.Piece(reader, ACCOUNT, 'c', n, 'e', 0, 10, 'm') for n in 'abc']
        cut = large.slice_pieces(pieces, 8, 14)
        self.assertEqual([(p.obj, p.start, p.size, p.md5) for p in cut],
                         [('a', 8, 2, None), ('b', 0, 10, 'm'), ('c', 0, 2, None)])


class TestDecisions(LargeTestCase):
    def setUp(self):
        super().setUp()
        segs = self.segments(10, 20)
        self.client.put_slo('c', 'slo', [{'path': p} for p, _ in segs],
                            **{'X-Object-Meta-Color': 'red'})
        self.sync.handle_row(row('slo'))
        self.provider.calls = []

    def test_unchanged_slo_costs_one_head_and_no_upload(self):
        self.assertIsNone(self.sync.handle_row(row('slo')))
        self.assertEqual(self.provider.calls, ['head'])

    def test_metadata_post_on_an_slo_is_a_remote_copy_not_an_upload(self):
        hdrs = self.client.objects[('c', 'slo')][0]
        hdrs['X-Object-Meta-Color'] = 'blue'
        hdrs['X-Timestamp'] = '1700000050.00000'
        post = row('slo', meta_ts=Timestamp(1700000050.0))
        self.assertIsNone(self.sync.handle_row(post))
        self.assertEqual(self.provider.calls, ['head', 'update_large_metadata'])
        self.assertEqual(self.provider.objects['slo'][1]['x-object-meta-color'], 'blue')

    def test_copy_refused_because_the_remote_changed_falls_back_to_upload(self):
        self.client.objects[('c', 'slo')][0]['X-Object-Meta-Color'] = 'blue'
        self.provider.copy_result = False
        self.sync.handle_row(row('slo'))
        self.assertEqual(self.provider.calls, ['head', 'update_large_metadata', 'put_large'])

    def test_new_slo_content_is_uploaded_again(self):
        segs = self.segments(11, container='new')
        self.client.put_slo('c', 'slo', [{'path': p} for p, _ in segs])
        self.sync.handle_row(row('slo'))
        self.assertEqual(self.provider.calls, ['head', 'put_large'])
        self.assertEqual(self.provider.objects['slo'][0], segs[0][1])

    def test_object_overwritten_during_upload_is_abandoned(self):
        del self.provider.objects['slo']

        def overwrite(container, obj):
            if obj == 'ség/01':
                self.client.objects[('c', 'slo')][0]['X-Backend-Data-Timestamp'] = '1800000000'
        self.client.on_get = overwrite
        self.assertIsNone(self.sync.handle_row(row('slo')))
        self.assertNotIn('slo', self.provider.objects)

    def test_metadata_post_during_upload_does_not_abandon_it(self):
        del self.provider.objects['slo']

        def post(container, obj):
            self.client.objects[('c', 'slo')][0]['X-Timestamp'] = '1800000000.00000'
        self.client.on_get = post
        self.assertIsNone(self.sync.handle_row(row('slo')))
        self.assertIn('slo', self.provider.objects)


class TestDlo(LargeTestCase):
    def setUp(self):
        super().setUp()
        self.segs = self.segments(10, 20, 30, container='dsegs')
        self.client.put('dsegs', 'unrelated', b'zz')
        self.client.put('c', 'dlo', b'', **{'X-Object-Manifest': 'dsegs/s%C3%A9g/'})

    def test_dlo_uploads_the_listed_segments_with_the_dlo_etag(self):
        self.assertIsNone(self.sync.handle_row(row('dlo')))
        data, headers = self.provider.objects['dlo']
        self.assertEqual(data, b''.join(d for _, d in self.segs))
        expected = md5(''.join(md5(d) for _, d in self.segs).encode())
        self.assertEqual(headers['x-object-meta-swift-source-dlo-etag'], expected)
        self.assertEqual(headers['x-object-manifest'], 'dsegs/s%C3%A9g/')
        self.assertIsNone(self.provider.manifest)

    def test_unchanged_dlo_is_not_uploaded_again(self):
        self.sync.handle_row(row('dlo'))
        self.provider.calls = []
        self.sync.handle_row(row('dlo'))
        self.assertEqual(self.provider.calls, ['head'])

    def test_segment_added_during_upload_is_retried_soon(self):
        def add(container, obj):
            self.client.put('dsegs', 'ség/99', b'late')
        self.client.on_get = add
        outcome = self.sync.handle_row(row('dlo'))
        self.assertIsInstance(outcome, Retry)
        self.assertIn('segments changed', outcome.error)
        self.assertNotIn('dlo', self.provider.objects)

    def test_segment_overwritten_between_listing_and_read_is_retried_soon(self):
        def overwrite(container, obj):
            if obj == 'ség/00':
                self.client.put('dsegs', 'ség/00', b'0123456789')
        self.client.on_get = overwrite
        outcome = self.sync.handle_row(row('dlo'))
        self.assertIsInstance(outcome, Retry)
        self.assertIn('etag', outcome.error)

    def test_manifest_value_without_a_container_is_a_clear_error(self):
        self.client.put('c', 'bad', b'', **{'X-Object-Manifest': 'nocontainer'})
        with self.assertRaisesRegex(large.BadManifest, 'not container/prefix'):
            self.sync.handle_row(row('bad'))


if __name__ == '__main__':
    unittest.main()

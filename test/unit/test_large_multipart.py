"""Large objects on S3: part plans, the streaming part reader, and the multipart requests
S3Provider sends (with an in-memory fake S3 client that reads every body it is given)."""
import datetime
import hashlib
import json
import os
import shutil
import tempfile
import unittest
from unittest import mock

import eventlet
from botocore.exceptions import ClientError

from s3_sync import layout
from s3_sync.providers import s3_multipart as mp
from s3_sync.providers.base import RemoteError, RemoteObject
from s3_sync.providers.s3 import S3Provider
from s3_sync.retry import RetryPolicy
from s3_sync.sync.journal import JOURNAL_NAME, UploadJournal
from test.unit.fakes import make_mapping

MiB = mp.MiB


def md5(data):
    return hashlib.md5(data).hexdigest()


class FakePiece:
    """A piece over in-memory bytes; records every open (offset, length)."""

    def __init__(self, data, md5_known=True, name='p', chunk=65536):
        self.data = data
        self.size = len(data)
        self.md5 = md5(data) if md5_known else None
        self.name = name
        self.chunk = chunk
        self.opens = []

    def open(self, offset, length):
        self.opens.append((offset, length))
        data = self.data[offset:offset + length]
        return [data[i:i + self.chunk] for i in range(0, len(data), self.chunk)]

    def __str__(self):
        return self.name


class FakeSource:
    def __init__(self, pieces, manifest=b'[]', current=True, etag='slo-etag'):
        self.pieces = pieces
        self.size = sum(p.size for p in pieces)
        self.etag = etag
        self.marker = 'x-object-meta-swift-slo-etag'
        self.manifest = manifest
        self.current = current
        self.checks = 0

    def still_current(self):
        self.checks += 1
        return self.current

    @property
    def data(self):
        return b''.join(p.data for p in self.pieces)


def client_error(status, code, op):
    return ClientError({'Error': {'Code': code, 'Message': code},
                        'ResponseMetadata': {'HTTPStatusCode': status, 'HTTPHeaders': {}}}, op)


class FakeS3:
    """Just enough S3 for multipart uploads; ``fail`` maps (op, part number) -> [errors]."""

    def __init__(self):
        self.objects = {}       # key -> (data, etag, metadata, content type)
        self.uploads = {}       # upload id -> {key, parts: {n: (data, etag)}, meta}
        self.calls = []
        self.fail = {}
        self.bad_copy_etags = {}    # part number -> how many copies answer a wrong ETag
        self.empty_complete_etag = False    # as Ceph radosgw 16 answers
        self.in_flight = 0
        self.max_in_flight = 0
        self._ids = 0

    def _maybe_fail(self, op, number=None):
        errors = self.fail.get((op, number))
        if errors:
            raise errors.pop(0)

    def create_multipart_upload(self, Bucket, Key, Metadata, ContentType, **kw):
        self.calls.append(('create', Key))
        self._ids += 1
        uid = 'u%d' % self._ids
        self.uploads[uid] = {'key': Key, 'parts': {}, 'meta': (Metadata, ContentType),
                             'initiated': datetime.datetime.now(datetime.timezone.utc)}
        self._maybe_fail('create')      # created on the store, the answer lost
        return {'UploadId': uid}

    def upload_part(self, Bucket, Key, UploadId, PartNumber, Body, ContentLength,
                    ContentMD5=None):
        self.calls.append(('part', PartNumber))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            chunks = []
            while True:
                eventlet.sleep(0)     # let other parts run, as a socket would
                chunk = Body.read(65536)
                if not chunk:
                    break
                chunks.append(chunk)
            data = b''.join(chunks)
            self._maybe_fail('part', PartNumber)
        finally:
            self.in_flight -= 1
        assert len(data) == ContentLength, (len(data), ContentLength)
        if UploadId not in self.uploads:
            raise client_error(404, 'NoSuchUpload', 'UploadPart')
        etag = md5(data)
        self.uploads[UploadId]['parts'][PartNumber] = (data, etag)
        return {'ETag': '"%s"' % etag}

    def upload_part_copy(self, Bucket, Key, UploadId, PartNumber, CopySource,
                         CopySourceRange, CopySourceIfMatch):
        self.calls.append(('copy', PartNumber, CopySourceRange))
        self._maybe_fail('copy', PartNumber)
        data, etag = self.objects[CopySource['Key']][:2]
        if CopySourceIfMatch.strip('"') != etag:
            raise client_error(412, 'PreconditionFailed', 'UploadPartCopy')
        first, last = (int(v) for v in CopySourceRange[len('bytes='):].split('-'))
        part = data[first:last + 1]
        self.uploads[UploadId]['parts'][PartNumber] = (part, md5(part))
        if self.bad_copy_etags.get(PartNumber):
            self.bad_copy_etags[PartNumber] -= 1
            return {'CopyPartResult': {'ETag': '"%s"' % md5(b'not the part')}}
        return {'CopyPartResult': {'ETag': '"%s"' % md5(part)}}

    def complete_multipart_upload(self, Bucket, Key, UploadId, MultipartUpload):
        self.calls.append(('complete', Key))
        self._maybe_fail('complete')
        upload = self.uploads.pop(UploadId)
        parts = upload['parts']
        numbers = [p['PartNumber'] for p in MultipartUpload['Parts']]
        assert numbers == sorted(parts), (numbers, sorted(parts))
        for p in MultipartUpload['Parts']:
            assert p['ETag'].strip('"') == parts[p['PartNumber']][1]
        etag = mp.multipart_etag([parts[n][1] for n in numbers])
        data = b''.join(parts[n][0] for n in numbers)
        self.objects[Key] = (data, etag) + upload['meta']
        return {'ETag': '' if self.empty_complete_etag else '"%s"' % etag}

    def close(self):
        pass

    def head_object(self, Bucket, Key):
        self.calls.append(('head', Key))
        if Key not in self.objects:
            raise client_error(404, 'NoSuchKey', 'HeadObject')
        data, etag = self.objects[Key][:2]
        return {'ETag': '"%s"' % etag, 'ContentLength': len(data),
                'LastModified': datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)}

    def abort_multipart_upload(self, Bucket, Key, UploadId):
        self.calls.append(('abort', UploadId))
        self.uploads.pop(UploadId, None)
        return {}

    def list_multipart_uploads(self, Bucket, Prefix):
        self.calls.append(('list_uploads', Prefix))
        return {'Uploads': [{'Key': u['key'], 'UploadId': uid, 'Initiated': u.get('initiated')}
                            for uid, u in self.uploads.items() if u['key'].startswith(Prefix)]}

    def put_object(self, Bucket, Key, Body, ContentLength, ContentType, ContentMD5=None,
                   Metadata=None, **kw):
        self.calls.append(('put', Key))
        data = Body if isinstance(Body, bytes) else Body.read()
        assert len(data) == ContentLength
        self._maybe_fail('put')
        self.objects[Key] = (data, md5(data), Metadata, ContentType)
        return {'ETag': '"%s"' % md5(data)}

    def copy_object(self, Bucket, Key, CopySource, CopySourceIfMatch, MetadataDirective,
                    Metadata, ContentType, **kw):
        self.calls.append(('copy_object', Key))
        data, etag = self.objects[Key][:2]
        self.objects[Key] = (data, etag, Metadata, ContentType)
        return {}


def make_provider(client):
    mapping = {'account': 'AUTH_test', 'container': 'cont', 'aws_bucket': 'bucket',
               'aws_endpoint': 'http://127.0.0.1:1', 'aws_identity': 'a', 'aws_secret': 's'}
    provider = S3Provider(make_mapping(**mapping), client=client)
    provider.retry = RetryPolicy(attempts=3, sleep=lambda seconds: None)
    return provider


KEY = layout.object_key(make_mapping(), 'AUTH_test', 'cont', 'big')
MANIFEST_KEY = layout.manifest_key(make_mapping(), 'AUTH_test', 'cont', 'big')


class TestPlans(unittest.TestCase):
    def test_segments_of_5mib_and_more_map_one_to_one_with_computable_etag(self):
        pieces = [FakePiece(b'a' * (5 * MiB)), FakePiece(b'b' * (6 * MiB)), FakePiece(b'c')]
        parts = mp.plan_parts(pieces, 11 * MiB + 1)
        self.assertEqual([(p.number, p.offset, p.size, p.md5) for p in parts],
                         [(1, 0, 5 * MiB, pieces[0].md5), (2, 5 * MiB, 6 * MiB, pieces[1].md5),
                          (3, 11 * MiB, 1, pieces[2].md5)])
        source = FakeSource(pieces)
        self.assertEqual(mp.expected_etag(source), mp.multipart_etag([p.md5 for p in pieces]))

    def test_small_segments_are_coalesced_into_8mib_parts(self):
        pieces = [FakePiece(b'x' * (3 * MiB)) for _ in range(5)]
        parts = mp.plan_parts(pieces, 15 * MiB)
        self.assertEqual([p.size for p in parts], [8 * MiB, 7 * MiB])
        # The first part ends a third of the way into the third piece.
        self.assertEqual([(s.offset, s.length) for s in parts[0].spans],
                         [(0, 3 * MiB), (0, 3 * MiB), (0, 2 * MiB)])
        self.assertEqual([(s.offset, s.length) for s in parts[1].spans],
                         [(2 * MiB, MiB), (0, 3 * MiB), (0, 3 * MiB)])
        self.assertIsNone(mp.expected_etag(FakeSource(pieces)))

    def test_pieces_without_known_md5_are_never_one_to_one(self):
        pieces = [FakePiece(b'x' * (5 * MiB), md5_known=False), FakePiece(b'y' * (5 * MiB))]
        self.assertFalse(mp.one_to_one(pieces))

    def test_part_size_grows_so_that_ten_thousand_parts_hold_the_object(self):
        self.assertEqual(mp.part_size_for(10 * MiB), 8 * MiB)
        total = 200 * 1024 * MiB
        self.assertLessEqual(total / mp.part_size_for(total), mp.MAX_PARTS)

    def test_multipart_etag_is_md5_of_binary_md5s_and_count(self):
        md5s = [md5(b'a'), md5(b'b')]
        raw = bytes.fromhex(md5s[0]) + bytes.fromhex(md5s[1])
        self.assertEqual(mp.multipart_etag(md5s), md5(raw) + '-2')


class TestPartReader(unittest.TestCase):
    def test_reads_spans_in_any_sizes_and_hashes_them(self):
        a, b = FakePiece(b'0123456789', chunk=3), FakePiece(b'abcdef', chunk=4)
        reader = mp.PartReader([mp.Span(a, 2, 8), mp.Span(b, 0, 6)])
        got = b''
        while True:
            chunk = reader.read(5)
            if not chunk:
                break
            got += chunk
        self.assertEqual(got, b'23456789abcdef')
        self.assertEqual(reader.hexdigest(), md5(got))

    def test_a_piece_is_opened_only_when_reading_reaches_it(self):
        a, b = FakePiece(b'aaaa'), FakePiece(b'bbbb')
        reader = mp.PartReader([mp.Span(a, 0, 4), mp.Span(b, 0, 4)])
        self.assertEqual(reader.read(4), b'aaaa')
        self.assertEqual(b.opens, [])
        reader.read(4)
        self.assertEqual(b.opens, [(0, 4)])

    def test_short_local_read_is_a_retryable_error(self):
        piece = FakePiece(b'abc')
        piece.open = lambda offset, length: [b'ab']
        reader = mp.PartReader([mp.Span(piece, 0, 3)])
        with self.assertRaises(mp.LocalDataError) as ctx:
            reader.read()
        self.assertTrue(ctx.exception.retryable)
        self.assertIs(reader.error, ctx.exception)

    def test_whole_segment_with_other_content_than_its_manifest_md5_fails(self):
        piece = FakePiece(b'abc')
        piece.md5 = md5(b'xyz')
        reader = mp.PartReader([mp.Span(piece, 0, 3)])
        with self.assertRaisesRegex(mp.LocalDataError, "not the manifest's"):
            reader.read()


class ProviderTest(unittest.TestCase):
    def setUp(self):
        self.s3 = FakeS3()
        self.provider = make_provider(self.s3)

    def ops(self):
        return [c[0] for c in self.s3.calls]


class TestPutLarge(ProviderTest):
    def test_small_total_is_one_put_after_the_manifest(self):
        source = FakeSource([FakePiece(b'a' * 1000), FakePiece(b'b' * 2000)], manifest=b'[1]')
        etag = self.provider.put_large('big', {'content-type': 'text/x'}, source)
        self.assertEqual(etag, md5(source.data))
        self.assertEqual(self.s3.calls, [('put', MANIFEST_KEY), ('put', KEY)])
        data, _etag, meta, ctype = self.s3.objects[KEY]
        self.assertEqual((data, meta, ctype),
                         (source.data, {'swift-slo-etag': 'slo-etag'}, 'text/x'))
        self.assertEqual(self.s3.objects[MANIFEST_KEY][0], b'[1]')

    def test_small_upload_is_reported_superseded_when_the_object_moved_meanwhile(self):
        source = FakeSource([FakePiece(b'a' * 1000)], current=False)
        self.assertIsNone(self.provider.put_large('big', {}, source))
        self.assertEqual(source.checks, 1)

    def test_big_slo_is_a_one_to_one_multipart_upload_with_manifest(self):
        pieces = [FakePiece(bytes([i]) * (5 * MiB)) for i in range(3)] + [FakePiece(b'z')]
        source = FakeSource(pieces, manifest=json.dumps([{'x': 1}]).encode())
        etag = self.provider.put_large('big', {'x-static-large-object': 'true'}, source)
        self.assertEqual(etag, mp.expected_etag(source))
        self.assertEqual(self.s3.objects[KEY][0], source.data)
        self.assertEqual(self.s3.objects[KEY][2],
                         {'swift-slo-etag': 'slo-etag', 'x-static-large-object': 'true'})
        self.assertEqual(self.ops(), ['list_uploads', 'create', 'part', 'part', 'part', 'part',
                                      'put', 'complete'])
        self.assertEqual(source.checks, 1)
        self.assertEqual(self.s3.uploads, {})

    def test_parts_run_in_parallel_but_bounded(self):
        pieces = [FakePiece(b'x' * (5 * MiB), chunk=MiB) for _ in range(10)]
        self.provider.put_large('big', {}, FakeSource(pieces))
        self.assertEqual(self.s3.max_in_flight, mp.PART_CONCURRENCY)

    def test_a_failed_part_is_retried_alone(self):
        pieces = [FakePiece(bytes([i]) * (5 * MiB)) for i in range(3)]
        self.s3.fail[('part', 2)] = [client_error(500, 'InternalError', 'UploadPart')]
        self.provider.put_large('big', {}, FakeSource(pieces))
        self.assertEqual(sorted(c[1] for c in self.s3.calls if c[0] == 'part'), [1, 2, 2, 3])
        self.assertEqual(pieces[1].opens, [(0, 5 * MiB), (0, 5 * MiB)])
        self.assertEqual(pieces[0].opens, [(0, 5 * MiB)])

    def test_a_part_that_keeps_failing_aborts_the_upload(self):
        pieces = [FakePiece(bytes([i]) * (5 * MiB)) for i in range(3)]
        self.s3.fail[('part', 3)] = [client_error(500, 'InternalError', 'UploadPart')] * 3
        with self.assertRaises(RemoteError):
            self.provider.put_large('big', {}, FakeSource(pieces))
        self.assertIn('abort', self.ops())
        self.assertNotIn('complete', self.ops())
        self.assertEqual(self.s3.uploads, {})
        self.assertNotIn(KEY, self.s3.objects)

    def test_changed_local_segment_aborts_without_retrying(self):
        pieces = [FakePiece(b'a' * (5 * MiB)), FakePiece(b'b' * (5 * MiB))]
        pieces[1].md5 = md5(b'other')
        source = FakeSource(pieces)
        with self.assertRaises(mp.LocalDataError):
            self.provider.put_large('big', {}, source)
        self.assertEqual(len(pieces[1].opens), 1)
        self.assertEqual(self.s3.uploads, {})

    def test_object_changed_locally_before_commit_is_aborted_not_completed(self):
        pieces = [FakePiece(b'a' * (5 * MiB)), FakePiece(b'b' * (5 * MiB))]
        etag = self.provider.put_large('big', {}, FakeSource(pieces, current=False))
        self.assertIsNone(etag)
        self.assertNotIn('complete', self.ops())
        self.assertNotIn(MANIFEST_KEY, self.s3.objects)
        self.assertEqual(self.s3.uploads, {})

    def test_uploads_left_by_a_killed_daemon_are_aborted_first(self):
        self.s3.uploads['old'] = {'key': KEY, 'parts': {}, 'meta': ({}, '')}
        self.s3.uploads['other'] = {'key': KEY + '2', 'parts': {}, 'meta': ({}, '')}
        self.provider.put_large('big', {}, FakeSource([FakePiece(b'a' * (9 * MiB))]))
        self.assertIn(('abort', 'old'), self.s3.calls)
        self.assertEqual(list(self.s3.uploads), ['other'])

    def test_coalesced_parts_carry_the_bytes_in_order(self):
        pieces = [FakePiece(bytes([65 + i]) * (700 * 1024), md5_known=False)
                  for i in range(20)]
        source = FakeSource(pieces)
        etag = self.provider.put_large('big', {}, source)
        self.assertEqual(self.s3.objects[KEY][0], source.data)
        self.assertTrue(etag.endswith('-2'))

    def test_remote_part_etag_other_than_the_sent_md5_fails(self):
        original = self.s3.upload_part

        def corrupt(**kw):
            resp = original(**kw)
            return {'ETag': '"%s"' % md5(b'corrupt')} if kw['PartNumber'] == 1 else resp
        self.s3.upload_part = corrupt
        with self.assertRaisesRegex(RemoteError, 'remote ETag'):
            self.provider.put_large('big', {}, FakeSource(
                [FakePiece(b'a' * (5 * MiB), md5_known=False), FakePiece(b'b' * (5 * MiB))]))
        self.assertEqual(self.s3.uploads, {})


class TestLargeMetadataAndMatching(ProviderTest):
    def upload(self, pieces):
        source = FakeSource(pieces)
        self.provider.put_large('big', {'x-object-meta-v': '1'}, source)
        data, etag = self.s3.objects[KEY][:2]
        self.s3.calls = []
        return source, RemoteObject('big', etag, len(data), 0,
                                    {'x-object-meta-swift-slo-etag': 'slo-etag'})

    def test_multipart_remote_gets_new_metadata_by_part_copies_with_same_etag(self):
        source, remote = self.upload([FakePiece(b'a' * (5 * MiB)), FakePiece(b'b' * (4 * MiB))])
        done = self.provider.update_large_metadata('big', {'x-object-meta-v': '2'}, source,
                                                   remote)
        self.assertTrue(done)
        self.assertEqual(self.ops(), ['create', 'copy', 'copy', 'head', 'complete'])
        self.assertEqual(sorted(c[2] for c in self.s3.calls if c[0] == 'copy'),
                         ['bytes=0-5242879', 'bytes=5242880-9437183'])
        data, etag, meta = self.s3.objects[KEY][:3]
        self.assertEqual((data, etag), (source.data, remote.etag))
        self.assertEqual(meta, {'v': '2', 'swift-slo-etag': 'slo-etag'})

    def test_changed_remote_makes_the_copy_fail_so_the_caller_uploads(self):
        source, remote = self.upload([FakePiece(b'a' * (5 * MiB)), FakePiece(b'b' * 10)])
        remote.etag = 'somethingelse-2'
        self.assertFalse(self.provider.update_large_metadata('big', {}, source, remote))
        self.assertIn('abort', self.ops())
        self.assertEqual(self.s3.uploads, {})

    def test_a_store_ignoring_the_copy_condition_gets_no_parts_of_another_object(self):
        # segments under 5 MiB: coalesced parts, copied by byte range (no md5 to check)
        source, remote = self.upload([FakePiece(b'a' * (3 * MiB)), FakePiece(b'b' * (3 * MiB)),
                                      FakePiece(b'c' * (4 * MiB))])
        # a newer object arrives; the store copies its parts without looking at the condition
        self.s3.objects[KEY] = (b'n' * (10 * MiB), md5(b'n' * (10 * MiB)), {}, '')
        self.s3.upload_part_copy = self.copy_ignoring_condition
        done = self.provider.update_large_metadata('big', {'x-object-meta-v': '2'}, source,
                                                   remote)
        self.assertFalse(done)          # the caller uploads the local object instead
        self.assertNotIn('complete', self.ops())
        self.assertEqual(self.s3.uploads, {})
        self.assertEqual(self.s3.objects[KEY][0], b'n' * (10 * MiB))

    def copy_ignoring_condition(self, CopySourceIfMatch, **kw):
        return FakeS3.upload_part_copy(self.s3, CopySourceIfMatch='"%s"' % self.s3.objects[
            kw['CopySource']['Key']][1], **kw)

    def test_an_empty_etag_from_complete_is_not_taken_for_a_failed_copy(self):
        source, remote = self.upload([FakePiece(b'a' * (5 * MiB)), FakePiece(b'b' * (5 * MiB))])
        self.s3.empty_complete_etag = True
        self.assertTrue(self.provider.update_large_metadata(
            'big', {'x-object-meta-v': '2'}, source, remote))
        self.assertEqual(self.ops(), ['create', 'copy', 'copy', 'head', 'complete'])

    def test_copied_part_with_a_wrong_etag_is_copied_again(self):
        source, remote = self.upload([FakePiece(b'a' * (5 * MiB)), FakePiece(b'b' * (5 * MiB))])
        self.s3.bad_copy_etags[1] = 1
        done = self.provider.update_large_metadata('big', {'x-object-meta-v': '2'}, source,
                                                   remote)
        self.assertTrue(done)
        self.assertEqual(self.ops(), ['create', 'copy', 'copy', 'copy', 'head', 'complete'])
        self.assertEqual(self.s3.objects[KEY][:2], (source.data, remote.etag))

    def test_single_put_remote_is_copied_onto_itself(self):
        source, remote = self.upload([FakePiece(b'a' * 100)])
        self.assertTrue(self.provider.update_large_metadata('big', {'x-object-meta-v': '2'},
                                                            source, remote))
        self.assertEqual(self.ops(), ['copy_object'])
        self.assertEqual(self.s3.objects[KEY][2], {'v': '2', 'swift-slo-etag': 'slo-etag'})

    def test_data_matches_by_marker_or_by_computed_multipart_etag(self):
        pieces = [FakePiece(b'a' * (5 * MiB)), FakePiece(b'b' * (5 * MiB))]
        source = FakeSource(pieces)
        size = source.size
        by_marker = RemoteObject('big', 'x', size, 0,
                                 {'x-object-meta-swift-slo-etag': 'slo-etag'})
        by_etag = RemoteObject('big', mp.expected_etag(source), size, 0, {})
        other = RemoteObject('big', 'x-2', size, 0, {'x-object-meta-swift-slo-etag': 'old'})
        short = RemoteObject('big', mp.expected_etag(source), size - 1, 0, {})
        self.assertEqual([self.provider.large_data_matches(r, source)
                          for r in (by_marker, by_etag, other, short)],
                         [True, True, False, False])

    def test_small_slo_the_original_uploaded_as_multipart_is_recognised(self):
        pieces = [FakePiece(b'a' * (5 * MiB)), FakePiece(b'b' * 10)]
        source = FakeSource(pieces)
        remote = RemoteObject('big', mp.multipart_etag([p.md5 for p in pieces]),
                              source.size, 0, {})
        self.assertTrue(self.provider.large_data_matches(remote, source))

    def test_delete_removes_object_and_manifest_keys(self):
        self.s3.delete_objects = lambda Bucket, Delete: self.s3.calls.append(
            ('delete', [o['Key'] for o in Delete['Objects']])) or {}
        self.provider.delete_objects(['big'])
        self.assertEqual(self.s3.calls, [('delete', [KEY, MANIFEST_KEY])])


if __name__ == '__main__':
    unittest.main()


class KilledUpload(BaseException):
    """What a kill -9 is to the upload: nothing after it runs (no abort, no commit)."""


class TestUploadJournal(ProviderTest):
    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix='s3sync-journal-')
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.provider.journal = UploadJournal(self.dir)

    def restart(self):
        """A new daemon's journal over the same status_dir, aborting what is left."""
        journal = UploadJournal(self.dir)
        fresh = make_provider(self.s3)
        aborted = journal.abort_left([self.provider.mapping], lambda mapping: fresh)
        return journal, aborted

    def kill_during_parts(self):
        self.s3.fail[('part', 2)] = [KilledUpload()]
        pieces = [FakePiece(bytes([i]) * (5 * MiB)) for i in range(3)]
        self.provider.retry = RetryPolicy(attempts=1, sleep=lambda seconds: None)
        with mock.patch.object(mp.MultipartUploads, 'abort', lambda *a: None):
            with self.assertRaises(KilledUpload):
                self.provider.put_large('big', {}, FakeSource(pieces))
        self.assertEqual(len(self.s3.uploads), 1)       # left open on the remote

    def test_an_upload_cut_by_a_kill_is_aborted_by_the_next_start(self):
        self.kill_during_parts()
        journal, aborted = self.restart()
        self.assertEqual(aborted, 1)
        self.assertEqual(self.s3.uploads, {})
        self.assertEqual(journal.entries, {})
        self.assertEqual(UploadJournal(self.dir).entries, {})     # struck off on disk too

    def test_finished_uploads_leave_nothing_in_the_journal(self):
        pieces = [FakePiece(bytes([i]) * (5 * MiB)) for i in range(2)]
        self.provider.put_large('big', {}, FakeSource(pieces))
        self.provider.put_large('big', {}, FakeSource(pieces, current=False))   # aborted
        self.assertEqual(self.provider.journal.entries, {})
        with open(os.path.join(self.dir, JOURNAL_NAME)) as f:
            self.assertEqual(json.load(f), {})
        self.s3.calls = []
        _journal, aborted = self.restart()
        self.assertEqual((aborted, self.s3.calls), (0, []))

    def test_only_the_uploads_it_left_are_aborted_not_another_nodes(self):
        self.kill_during_parts()
        # another node's upload of the same key, in flight
        self.s3.uploads['other-node'] = {'key': KEY, 'parts': {}, 'meta': ({}, ''),
                                         'initiated': datetime.datetime.now()}
        self.restart()
        self.assertEqual(list(self.s3.uploads), ['other-node'])

    def pieces(self):
        return [FakePiece(bytes([i]) * (5 * MiB)) for i in range(2)]

    def test_an_upload_whose_create_answer_a_kill_cut_is_aborted_by_the_next_start(self):
        self.s3.fail[('create', None)] = [KilledUpload()]
        with self.assertRaises(KilledUpload):
            self.provider.put_large('big', {}, FakeSource(self.pieces()))
        self.assertEqual(len(self.s3.uploads), 1)       # an id the daemon never learnt
        journal, aborted = self.restart()
        self.assertEqual((aborted, self.s3.uploads, journal.entries), (1, {}, {}))

    def test_a_create_retried_after_a_lost_answer_leaves_no_second_upload(self):
        self.s3.fail[('create', None)] = [client_error(503, 'SlowDown', 'CreateMultipartUpload')]
        self.provider.put_large('big', {}, FakeSource(self.pieces()))
        self.assertEqual(self.s3.uploads, {})
        self.assertIn(KEY, self.s3.objects)
        self.assertEqual(self.provider.journal.entries, {})

    def test_a_create_that_failed_for_good_leaves_no_upload_behind(self):
        self.s3.fail[('create', None)] = [
            client_error(503, 'SlowDown', 'CreateMultipartUpload') for _ in range(3)]
        with self.assertRaises(RemoteError):
            self.provider.put_large('big', {}, FakeSource(self.pieces()))
        self.assertEqual((self.s3.uploads, self.provider.journal.entries), ({}, {}))

    def test_an_abort_that_fails_stays_for_the_next_start(self):
        self.kill_during_parts()
        self.s3.abort_multipart_upload = mock.Mock(
            side_effect=client_error(500, 'InternalError', 'AbortMultipartUpload'))
        journal, aborted = self.restart()
        self.assertEqual(aborted, 0)
        self.assertEqual(len(journal.entries), 1)

    def test_an_upload_no_mapping_reaches_is_kept_and_named(self):
        self.kill_during_parts()
        journal = UploadJournal(self.dir)
        other = make_mapping(aws_bucket='elsewhere')
        warnings = []
        journal.logger = mock.Mock(warning=lambda msg, *a: warnings.append(msg % a))
        self.assertEqual(journal.abort_left([other], lambda m: self.fail('built')), 0)
        self.assertEqual(len(journal.entries), 1)
        self.assertIn('no mapping names that bucket', warnings[0])

    def test_a_killed_metadata_copy_is_aborted_by_the_next_start(self):
        pieces = [FakePiece(b'a' * (5 * MiB)), FakePiece(b'b' * (5 * MiB))]
        source = FakeSource(pieces)
        self.provider.put_large('big', {}, source)
        data, etag = self.s3.objects[KEY][:2]
        remote = RemoteObject('big', etag, len(data), 0, {})
        self.s3.fail[('copy', 2)] = [KilledUpload()]
        with mock.patch.object(mp.MultipartUploads, 'abort', lambda *a: None):
            with self.assertRaises(KilledUpload):
                self.provider.update_large_metadata('big', {'x-object-meta-v': '2'}, source,
                                                    remote)
        self.assertEqual(len(self.s3.uploads), 1)
        self.restart()
        self.assertEqual(self.s3.uploads, {})

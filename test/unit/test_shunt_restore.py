"""Restore on GET: the tee of a remote object into a local PUT, with a fake Swift and remote."""
import json
import time

from swift.common.swob import Request

from s3_sync.shunt.headers import slo_etag
from s3_sync.shunt.restore_slo import restorable_manifest
from test.unit.test_shunt_fakes import md5
from test.unit.test_shunt_objects import ShuntTestCase

BODY = b'0123456789' * 10


class RestoreTestCase(ShuntTestCase):
    mapping_extra = {'restore_object': True}


class TestPlainRestore(RestoreTestCase):
    def test_full_get_writes_the_object_back_with_its_etag_and_metadata(self):
        self.remote.add('o', BODY, headers={'content-type': 'text/x-r',
                                            'x-object-meta-color': 'bár'})
        resp = self.request('/v1/a/c/o')
        self.assertEqual(resp.body, BODY)
        headers, data = self.swift.objects['/v1/a/c/o']
        self.assertEqual(data, BODY)
        self.assertEqual(headers['HTTP_ETAG'], md5(BODY))
        self.assertEqual(headers['CONTENT_TYPE'], 'text/x-r')
        self.assertEqual(headers['HTTP_X_OBJECT_META_COLOR'].encode('latin-1'),
                         'bár'.encode('utf-8'))
        self.assertNotIn('HTTP_X_TIMESTAMP', headers)
        self.assertNotIn('HTTP_X_DELETE_AT', headers)
        (_path, _query, env), = self.swift.puts()
        self.assertEqual(env.get('swift.source'), 'CSR')
        # the next GET is local
        self.remote.requests[:] = []
        self.assertEqual(self.request('/v1/a/c/o').body, BODY)
        self.assertEqual(self.remote.requests, [])

    def test_restore_is_complete_before_the_client_has_the_last_byte(self):
        self.remote.add('o', BODY)
        _status, _headers, body = Request.blank('/v1/a/c/o').call_application(self.shunt)
        received = b''
        for chunk in body:
            received += chunk
            if len(received) == len(BODY):
                self.assertEqual(self.swift.objects['/v1/a/c/o'][1], BODY)
        body.close()
        self.assertEqual(received, BODY)

    def test_range_get_never_restores(self):
        self.remote.add('o', BODY)
        resp = self.request('/v1/a/c/o', headers={'Range': 'bytes=0-99'})
        self.assertEqual((resp.status_int, resp.body), (206, BODY))
        self.assertEqual(self.swift.puts(), [])

    def test_head_and_304_do_not_restore(self):
        self.remote.add('o', BODY)
        self.request('/v1/a/c/o', method='HEAD')
        self.assertEqual(self.request('/v1/a/c/o', headers={
            'If-None-Match': md5(BODY)}).status_int, 304)
        self.assertEqual(self.swift.puts(), [])

    def test_aborted_download_leaves_no_object(self):
        self.remote.add('o', BODY)
        req = Request.blank('/v1/a/c/o')
        status, _headers, body = req.call_application(self.shunt)
        self.assertTrue(status.startswith('200'))
        it = iter(body)
        self.assertEqual(next(it), BODY[:4])
        body.close()
        self.assertNotIn('/v1/a/c/o', self.swift.objects)
        self.assertEqual(len(self.swift.puts()), 1)     # it was started, then cut short
        self.assertEqual(self.remote.closed, 1)

    def test_failed_local_write_does_not_break_the_download(self):
        self.swift.put_status = '503 Service Unavailable'
        self.remote.add('o', BODY * 100)
        resp = self.request('/v1/a/c/o')
        self.assertEqual(resp.body, BODY * 100)
        self.assertNotIn('/v1/a/c/o', self.swift.objects)

    def test_client_write_meanwhile_wins_over_the_restore(self):
        self.remote.add('o', BODY)
        req = Request.blank('/v1/a/c/o')
        _status, _headers, body = req.call_application(self.shunt)
        it = iter(body)
        next(it)
        self.swift.add('/v1/a/c/o', b'newer')        # a client's PUT lands mid-stream
        self.assertEqual(b''.join(it), BODY[4:])
        body.close()
        self.assertEqual(self.swift.objects['/v1/a/c/o'][1], b'newer')
        self.assertEqual(self.swift.puts()[0][2]['HTTP_IF_NONE_MATCH'], '*')

    def test_remote_without_an_md5_etag_is_served_not_restored(self):
        self.remote.add('o', BODY, headers={'etag': 'a' * 32 + '-2'})
        self.assertEqual(self.request('/v1/a/c/o').body, BODY)
        self.assertEqual(self.swift.puts(), [])


class TestTemporaryRestore(RestoreTestCase):
    mapping_extra = {'restore_object': True, 'restore_expire_days': 2}

    def test_restored_copy_expires_after_the_configured_days(self):
        self.remote.add('o', BODY)
        before = time.time()
        self.assertEqual(self.request('/v1/a/c/o').body, BODY)
        delete_at = int(self.swift.objects['/v1/a/c/o'][0]['HTTP_X_DELETE_AT'])
        self.assertGreaterEqual(delete_at, int(before) + 2 * 86400)
        self.assertLessEqual(delete_at, time.time() + 2 * 86400)


def slo(segments):
    manifest, body = [], b''
    for i, data in enumerate(segments):
        manifest.append({'name': '/segs/big/%d' % i, 'bytes': len(data), 'hash': md5(data),
                         'content_type': 'application/octet-stream',
                         'last_modified': '2024-01-01T00:00:00.000000'})
        body += data
    return manifest, body


class TestSloRestore(RestoreTestCase):
    def add_slo(self, segments):
        manifest, body = slo(segments)
        self.remote.add('big', body, headers={'etag': 'e' * 32 + '-%d' % len(segments),
                                              'x-static-large-object': 'true',
                                              'content-type': 'video/x-big',
                                              'x-object-meta-k': 'v'})
        self.remote.manifests['big'] = manifest
        return manifest, body

    def test_segments_go_back_to_their_containers_then_the_manifest(self):
        self.swift.containers.discard('/v1/a/segs')
        manifest, body = self.add_slo([b'a' * 7, b'b' * 5, b'c' * 3])
        resp = self.request('/v1/a/c/big')
        self.assertEqual(resp.body, body)
        self.assertIn('/v1/a/segs', self.swift.containers)
        for i, data in enumerate([b'a' * 7, b'b' * 5, b'c' * 3]):
            self.assertEqual(self.swift.objects['/v1/a/segs/big/%d' % i][1], data)
        headers, data = self.swift.objects['/v1/a/c/big']
        self.assertEqual(json.loads(data), [
            {'path': s['name'], 'etag': s['hash'], 'size_bytes': s['bytes']} for s in manifest])
        self.assertEqual(headers['HTTP_ETAG'], slo_etag(manifest))
        self.assertEqual(headers['CONTENT_TYPE'], 'video/x-big')
        self.assertEqual(headers['HTTP_X_OBJECT_META_K'], 'v')
        put_paths = [(p, q) for p, q, _env in self.swift.puts()]
        self.assertEqual(put_paths[-1], ('/v1/a/c/big', {'multipart-manifest': 'put'}))
        self.assertEqual(len(put_paths), 5)     # container, 3 segments, manifest

    def test_failed_segment_means_no_manifest(self):
        self.add_slo([b'a' * 7, b'b' * 5])
        self.swift.put_status = '507 Insufficient Storage'
        self.assertEqual(self.request('/v1/a/c/big').body, b'a' * 7 + b'b' * 5)
        self.assertNotIn('/v1/a/c/big', self.swift.objects)
        self.assertEqual([p for p, _q, _e in self.swift.puts()], ['/v1/a/segs/big/0'])

    def test_aborted_slo_download_writes_no_manifest(self):
        self.add_slo([b'a' * 7, b'b' * 5])
        _status, _headers, body = Request.blank('/v1/a/c/big').call_application(self.shunt)
        it = iter(body)
        for _ in range(2):          # 8 bytes: past the first segment, into the second
            next(it)
        body.close()
        self.assertIn('/v1/a/segs/big/0', self.swift.objects)
        self.assertNotIn('/v1/a/segs/big/1', self.swift.objects)
        self.assertNotIn('/v1/a/c/big', self.swift.objects)

    def test_manifest_with_ranges_or_wrong_sizes_is_not_restorable(self):
        manifest, body = slo([b'ab', b'cd'])
        self.assertEqual(restorable_manifest(manifest, 4), manifest)
        self.assertIsNone(restorable_manifest(manifest, 5))
        self.assertIsNone(restorable_manifest([dict(manifest[0], range='0-0')], 2))
        self.assertIsNone(restorable_manifest(None, 2))

    def test_slo_without_a_stored_manifest_is_served_not_restored(self):
        _manifest, body = self.add_slo([b'a' * 7])
        del self.remote.manifests['big']
        self.assertEqual(self.request('/v1/a/c/big').body, body)
        self.assertEqual(self.swift.puts(), [])

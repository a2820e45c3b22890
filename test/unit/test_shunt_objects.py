"""Dispatch and the object GET/HEAD fallback of the cloud-shunt, with a fake Swift and remote."""
import email.utils
import json
import os
import shutil
import tempfile
import time
import unittest

from swift.common.swob import Request, str_to_wsgi
from swift.common.utils import Timestamp

from s3_sync.shunt import filter_factory
from s3_sync.shunt.headers import slo_etag
from test.unit.test_shunt_fakes import FakeProvider, FakeSwift, md5, remote_error
from test.unit.fakes import make_mapping


def archive_entry(**extra):
    """A ``containers[]`` entry as a file holds it."""
    mapping = {'account': 'a', 'container': 'c', 'aws_bucket': 'bucket',
               'aws_endpoint': 'http://remote.example', 'aws_identity': 'id',
               'aws_secret': 'SECRET-KEY', 'retain_local': False, 'propagate_delete': False}
    mapping.update(extra)
    return mapping


def archive_mapping(**extra):
    return make_mapping(**archive_entry(**extra))


class ShuntTestCase(unittest.TestCase):
    mapping_extra = {}

    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        self.conf = os.path.join(self.dir, 'sync.json')
        self.write_config([archive_mapping(**self.mapping_extra)])
        self.swift = FakeSwift()
        self.remote = FakeProvider()
        self.shunt = filter_factory({}, conf_file=self.conf)(self.swift)
        self.shunt.profiles.provider_factory = lambda *a, **kw: self.remote

    def write_config(self, containers):
        with open(self.conf, 'w') as f:
            json.dump({'containers': [m.wire() for m in containers]}, f)

    def request(self, path, method='GET', headers=None, **kw):
        req = Request.blank(path, method=method, headers=headers or {}, **kw)
        return req.get_response(self.shunt)

    def remote_gets(self):
        return [r for r in self.remote.requests if r[0] in ('GET', 'HEAD')]


class TestDispatch(ShuntTestCase):
    def test_local_object_is_returned_without_asking_the_remote(self):
        self.swift.add('/v1/a/c/o', b'local body')
        self.remote.add('o', b'remote body')
        resp = self.request('/v1/a/c/o')
        self.assertEqual((resp.status_int, resp.body), (200, b'local body'))
        self.assertEqual(self.remote.requests, [])

    def test_forbidden_locally_is_forbidden_for_archived_objects_too(self):
        self.remote.add('o')
        self.swift.denied.add('/v1/a/c/o')
        resp = self.request('/v1/a/c/o')
        self.assertEqual(resp.status_int, 403)
        self.assertEqual(self.remote.requests, [])

    def test_unmapped_container_passes_through(self):
        self.remote.add('o')
        self.assertEqual(self.request('/v1/a/other/o').status_int, 404)
        self.assertEqual(self.request('/v1/b/c/o').status_int, 404)
        self.assertEqual(self.remote.requests, [])

    def test_bypass_header_passes_through(self):
        self.remote.add('o')
        resp = self.request('/v1/a/c/o', headers={'X-Cloud-Sync-Shunt-Bypass': '1'})
        self.assertEqual(resp.status_int, 404)
        self.assertEqual(self.remote.requests, [])

    def test_container_head_is_not_shunted(self):
        self.remote.add('o')
        self.request('/v1/a/c', method='HEAD')
        self.assertEqual(self.remote.requests, [])

    def test_writes_to_sync_mappings_are_not_shunted(self):
        self.write_config([archive_mapping(retain_local=True, propagate_delete=False,
                                           merge_namespaces=True)])
        self.shunt.profiles.reload_if_changed(force=True)
        self.remote.add('o')
        for method in ('POST', 'DELETE'):
            self.assertEqual(self.request('/v1/a/c/o', method=method).status_int, 404)
        self.assertEqual(self.remote.requests, [])

    def test_sync_mapping_without_merge_namespaces_is_not_shunted(self):
        self.write_config([archive_mapping(retain_local=True, propagate_delete=True)])
        self.shunt.profiles.reload_if_changed(force=True)
        self.remote.add('o')
        self.assertEqual(self.request('/v1/a/c/o').status_int, 404)
        self.assertEqual(self.remote.requests, [])

    def test_merge_namespaces_sync_mapping_is_shunted(self):
        self.write_config([archive_mapping(retain_local=True, merge_namespaces=True)])
        self.shunt.profiles.reload_if_changed(force=True)
        self.remote.add('o', b'remote')
        self.assertEqual(self.request('/v1/a/c/o').body, b'remote')

    def test_per_account_mapping_serves_every_container(self):
        self.write_config([archive_mapping(container='/*')])
        self.shunt.profiles.reload_if_changed(force=True)
        made = []
        self.shunt.profiles.provider_factory = lambda m, container, logger, retry_policy: (
            made.append(container) or self.remote)
        self.remote.add('o', b'remote')
        self.assertEqual(self.request('/v1/a/any/o').body, b'remote')
        self.assertEqual(made, ['any'])


class TestObjectFallback(ShuntTestCase):
    def test_archived_object_is_served_with_swift_style_headers(self):
        self.remote.add('o', b'archived!', headers={
            'content-type': 'text/x-mine', 'x-object-meta-color': 'bár',
            'transfer-encoding': 'chunked', 'date': 'Mon, 01 Jan 2024 00:00:00 GMT'})
        resp = self.request('/v1/a/c/o')
        self.assertEqual(resp.status_int, 200)
        self.assertEqual(resp.body, b'archived!')
        self.assertEqual(resp.headers['Content-Type'], 'text/x-mine')
        self.assertEqual(resp.headers['Etag'], md5(b'archived!'))
        self.assertEqual(resp.headers['Content-Length'], '9')
        self.assertEqual(resp.headers['X-Object-Meta-Color'], str_to_wsgi('bár'))
        self.assertEqual(resp.headers['Remote-X-Amz-Request-Id'], 'REQ123')
        for hop in ('Connection', 'Transfer-Encoding'):
            self.assertNotIn(hop, resp.headers)
        self.assertEqual(self.remote.closed, 1)

    def test_head_has_the_length_but_no_body(self):
        self.remote.add('o', b'12345')
        resp = self.request('/v1/a/c/o', method='HEAD')
        self.assertEqual((resp.status_int, resp.body), (200, b''))
        self.assertEqual(resp.headers['Content-Length'], '5')
        self.assertEqual(self.remote_gets(), [('HEAD', 'o', {})])

    def test_unicode_names_reach_the_remote_decoded(self):
        name = 'ünï/日本.txt'
        self.remote.add(name, b'u')
        resp = self.request('/v1/a/c/' + str_to_wsgi(name).replace('%', '%25'))
        self.assertEqual(resp.body, b'u')
        self.assertEqual(self.remote_gets()[0][1], name)

    def test_single_range_goes_to_the_remote(self):
        self.remote.add('o', b'0123456789')
        resp = self.request('/v1/a/c/o', headers={'Range': 'bytes=2-4'})
        self.assertEqual((resp.status_int, resp.body), (206, b'234'))
        self.assertEqual(resp.headers['Content-Range'], 'bytes 2-4/10')
        self.assertEqual(self.remote_gets(), [('GET', 'o', {'range': 'bytes=2-4'})])

    def test_multiple_ranges_come_back_as_multipart_byteranges(self):
        self.remote.add('o', b'0123456789')
        resp = self.request('/v1/a/c/o', headers={'Range': 'bytes=0-1,7-8'})
        self.assertEqual(resp.status_int, 206)
        self.assertTrue(resp.headers['Content-Type'].startswith('multipart/byteranges'))
        self.assertIn(b'Content-Range: bytes 0-1/10\r\n\r\n01\r\n', resp.body)
        self.assertIn(b'Content-Range: bytes 7-8/10\r\n\r\n78\r\n', resp.body)
        self.assertEqual(int(resp.headers['Content-Length']), len(resp.body))

    def test_if_none_match_on_the_etag_is_304(self):
        self.remote.add('o', b'data')
        resp = self.request('/v1/a/c/o', headers={'If-None-Match': md5(b'data')})
        self.assertEqual((resp.status_int, resp.body), (304, b''))
        self.assertEqual(self.remote.closed, 1)

    def test_if_match_on_another_etag_is_412(self):
        self.remote.add('o', b'data')
        resp = self.request('/v1/a/c/o', headers={'If-Match': 'abc'})
        self.assertEqual(resp.status_int, 412)
        resp = self.request('/v1/a/c/o', headers={'If-Match': md5(b'data')})
        self.assertEqual((resp.status_int, resp.body), (200, b'data'))

    def test_a_lone_date_conditional_goes_to_the_remote_others_are_judged_as_swift_does(self):
        self.remote.add('o', b'data')
        later = 'Tue, 02 Jan 2024 00:00:00 GMT'
        resp = self.request('/v1/a/c/o', headers={'If-Modified-Since': later})
        self.assertEqual(resp.status_int, 304)
        self.assertEqual(self.remote_gets()[-1][2], {'if-modified-since': later})
        # With If-None-Match too, Swift still checks If-Modified-Since (not HTTP's precedence).
        resp = self.request('/v1/a/c/o', headers={'If-Modified-Since': later,
                                                  'If-None-Match': 'other'})
        self.assertEqual((resp.status_int, resp.body), (304, b''))
        self.assertEqual(self.remote_gets()[-1][2], {})

    def test_if_unmodified_since_before_the_change_is_412(self):
        self.remote.add('o', b'data')
        resp = self.request('/v1/a/c/o', headers={
            'If-Unmodified-Since': 'Sun, 31 Dec 2023 00:00:00 GMT'})
        self.assertEqual(resp.status_int, 412)

    def test_remote_404_keeps_its_status_and_a_matching_length(self):
        resp = self.request('/v1/a/c/missing')
        self.assertEqual((resp.status_int, resp.body), (404, b'NoSuchKey'))
        self.assertEqual(resp.headers['Content-Length'], '9')
        resp = self.request('/v1/a/c/missing', method='HEAD')
        self.assertEqual((resp.status_int, resp.headers['Content-Length']), (404, '0'))

    def test_unreachable_remote_is_502_naming_nothing_remote(self):
        self.remote.fail = remote_error()
        resp = self.request('/v1/a/c/o')
        self.assertEqual(resp.status_int, 502)
        self.assertNotIn(b'remote.example', resp.body)
        self.assertNotIn(b'SECRET', resp.body)

    def test_slo_gets_its_swift_etag_from_the_stored_manifest(self):
        manifest = [{'name': '/segs/s1', 'bytes': 3, 'hash': md5(b'abc')},
                    {'name': '/segs/s2', 'bytes': 2, 'hash': md5(b'de')}]
        self.remote.add('big', b'abcde', headers={
            'etag': 'f' * 32 + '-2', 'x-static-large-object': 'true',
            'content-type': 'video/x-big', 'x-object-meta-k': 'v'})
        self.remote.manifests['big'] = manifest
        for method in ('GET', 'HEAD'):
            resp = self.request('/v1/a/c/big', method=method)
            self.assertEqual(resp.status_int, 200)
            self.assertEqual(resp.headers['Etag'], '"%s"' % slo_etag(manifest))
            self.assertEqual(resp.headers['X-Static-Large-Object'], 'True')
            self.assertEqual(resp.headers['Content-Type'], 'video/x-big')
            self.assertEqual(resp.headers['X-Object-Meta-K'], 'v')
        self.assertEqual(resp.body, b'')
        # and the If-None-Match a Swift client sends with that etag works
        resp = self.request('/v1/a/c/big', headers={'If-None-Match': slo_etag(manifest)})
        self.assertEqual(resp.status_int, 304)

    def test_slo_manifest_get_returns_the_stored_manifest(self):
        manifest = [{'name': '/segs/s1', 'bytes': 3, 'hash': md5(b'abc')}]
        self.remote.add('big', b'abc', headers={'etag': 'f' * 32 + '-1',
                                                'x-static-large-object': 'true'})
        self.remote.manifests['big'] = manifest
        resp = self.request('/v1/a/c/big?multipart-manifest=get')
        self.assertEqual(json.loads(resp.body), manifest)
        self.assertEqual(resp.headers['X-Static-Large-Object'], 'True')

    def test_multipart_upload_etag_without_slo_header_is_marked_large(self):
        self.remote.add('mpu', b'xy', headers={'etag': 'a' * 32 + '-3'})
        resp = self.request('/v1/a/c/mpu')
        self.assertEqual(resp.headers['X-Static-Large-Object'], 'True')
        self.assertEqual(self.remote.requests[-1][0], 'GET')   # no manifest lookup needed

class TestArchivedObjectsObeyWrites(ShuntTestCase):
    """A DELETE deletes an archived object; a POST reaches its archived copy; a client's delete
    newer than a remote copy hides it; restores never bring a deleted object back."""

    def test_delete_of_an_archived_object_deletes_the_remote_copy(self):
        self.remote.add('o')
        resp = self.request('/v1/a/c/o', method='DELETE')
        self.assertEqual(resp.status_int, 204)
        self.assertNotIn('o', self.remote.objects)
        self.assertEqual(self.request('/v1/a/c/o').status_int, 404)

    def test_delete_of_a_local_object_deletes_its_remote_copy_too(self):
        self.swift.add('/v1/a/c/o', b'local')
        self.remote.add('o')
        self.assertEqual(self.request('/v1/a/c/o', method='DELETE').status_int, 204)
        self.assertNotIn('o', self.remote.objects)

    def test_delete_of_a_missing_object_is_swifts_404(self):
        self.assertEqual(self.request('/v1/a/c/o', method='DELETE').status_int, 404)

    def test_forbidden_delete_never_reaches_the_remote(self):
        self.remote.add('o')
        self.swift.denied.add('/v1/a/c/o')
        self.assertEqual(self.request('/v1/a/c/o', method='DELETE').status_int, 403)
        self.assertIn('o', self.remote.objects)
        self.assertEqual(self.remote.requests, [])

    def test_a_remote_copy_written_after_the_delete_began_is_kept(self):
        self.remote.add('o', when=email.utils.formatdate(time.time() + 3600, usegmt=True))
        self.assertEqual(self.request('/v1/a/c/o', method='DELETE').status_int, 404)
        self.assertIn('o', self.remote.objects)

    def test_post_of_an_archived_object_replaces_its_remote_metadata(self):
        self.remote.add('o', headers={'x-object-meta-old': 'x', 'content-type': 'text/plain',
                                      'x-object-meta-swift-slo-etag': 'slo'})
        resp = self.request('/v1/a/c/o', method='POST',
                            headers={'X-Object-Meta-Color': 'bl\u00e9'.encode().decode('latin-1')})
        self.assertEqual(resp.status_int, 202)
        meta = self.remote.objects['o'][0]
        self.assertEqual(meta['x-object-meta-color'], 'bl\u00e9')
        self.assertNotIn('x-object-meta-old', meta)
        self.assertEqual(meta['content-type'], 'text/plain')       # kept: not in the POST
        self.assertEqual(meta['x-object-meta-swift-slo-etag'], 'slo')  # describes the data

    def test_post_of_an_archived_object_passes_the_requested_expiry_on(self):
        # The provider decides whether its store keeps it (Swift with propagate_expiration).
        self.remote.add('o')
        resp = self.request('/v1/a/c/o', method='POST', headers={'X-Delete-At': '4000000000'})
        self.assertEqual(resp.status_int, 202)
        self.assertEqual(self.remote.objects['o'][0]['x-delete-at'], '4000000000')
        before = time.time()
        self.request('/v1/a/c/o', method='POST', headers={'X-Delete-After': '600'})
        self.assertAlmostEqual(int(self.remote.objects['o'][0]['x-delete-at']),
                               before + 600, delta=2)

    def test_post_of_a_local_object_is_swifts(self):
        self.swift.add('/v1/a/c/o', b'local')
        self.remote.add('o')
        self.assertEqual(self.request('/v1/a/c/o', method='POST').status_int, 202)
        self.assertEqual(self.remote.requests, [])

    def test_a_client_delete_newer_than_the_remote_copy_hides_it(self):
        self.remote.add('o')        # written 2024-01-01
        self.swift.tombstones['/v1/a/c/o'] = Timestamp(time.time()).internal
        self.assertEqual(self.request('/v1/a/c/o').status_int, 404)
        self.assertEqual(self.request('/v1/a/c/o', method='HEAD').status_int, 404)

    def test_a_client_delete_in_the_second_the_copy_was_written_hides_it(self):
        now = time.time()
        self.remote.add('o', when=email.utils.formatdate(int(now) + 1, usegmt=True))
        self.swift.tombstones['/v1/a/c/o'] = Timestamp(now).internal
        self.assertEqual(self.request('/v1/a/c/o').status_int, 404)

    def test_the_archivers_tombstone_does_not_hide_the_archived_copy(self):
        self.remote.add('o', b'archived')
        self.swift.tombstones['/v1/a/c/o'] = Timestamp(time.time(), offset=2).internal
        self.assertEqual(self.request('/v1/a/c/o').body, b'archived')

    def test_a_restore_is_written_just_after_the_archivers_tombstone(self):
        self.write_config([archive_mapping(restore_object=True)])
        self.shunt.profiles.reload_if_changed(force=True)
        self.remote.add('o', b'archived')
        ours = Timestamp(time.time(), offset=2)
        self.swift.tombstones['/v1/a/c/o'] = ours.internal
        self.assertEqual(self.request('/v1/a/c/o').body, b'archived')
        (path, _query, env), = self.swift.puts()
        # older than any client write since the archive (a DELETE racing it wins)
        self.assertEqual(env['HTTP_X_TIMESTAMP'], Timestamp(ours, offset=1).internal)

    def test_a_post_landing_during_a_restore_reaches_the_restored_copy(self):
        self.write_config([archive_mapping(restore_object=True)])
        self.shunt.profiles.reload_if_changed(force=True)
        self.remote.add('o', b'archived', headers={'x-object-meta-color': 'red'})
        resp = self.request('/v1/a/c/o')            # the body streams as it is read
        self.remote.objects['o'][0]['x-object-meta-color'] = 'blue'    # the POST, remotely
        self.assertEqual(resp.body, b'archived')
        (path, _q, put_env), = self.swift.puts()
        self.assertEqual(put_env['HTTP_X_OBJECT_META_COLOR'], 'red')
        posts = [env for method, p, _q, env in self.swift.calls if method == 'POST']
        self.assertEqual([env.get('HTTP_X_OBJECT_META_COLOR') for env in posts], ['blue'])

    def test_a_restore_with_unchanged_metadata_posts_nothing(self):
        self.write_config([archive_mapping(restore_object=True)])
        self.shunt.profiles.reload_if_changed(force=True)
        self.remote.add('o', b'archived', headers={'x-object-meta-color': 'red'})
        self.assertEqual(self.request('/v1/a/c/o').body, b'archived')
        self.assertEqual([c for c in self.swift.calls if c[0] == 'POST'], [])

    def test_an_older_client_delete_does_not_hide_a_newer_remote_copy(self):
        self.remote.add('o', b'newer')
        self.swift.tombstones['/v1/a/c/o'] = Timestamp(1600000000).internal
        self.assertEqual(self.request('/v1/a/c/o').body, b'newer')


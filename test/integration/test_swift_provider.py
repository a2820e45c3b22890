"""SwiftProvider against the environment's second Swift cluster (the ``swift_target``).

Each test works in its own remote container, removed at cleanup; what the provider wrote is
checked with a plain swiftclient connection, not with the provider itself.
"""
import hashlib
import io
import json

from s3_sync.providers.base import RemoteError
from s3_sync.providers.swift import SwiftProvider
from s3_sync.retry import RetryPolicy
from test.integration.env import IntegrationTest, empty_and_delete_container
from s3_sync.config import mapping_from_dict

UNICODE_NAME = 'ünïcødé/日本語 name.txt'


def md5(data):
    return hashlib.md5(data).hexdigest()


class SwiftProviderTest(IntegrationTest):
    def setUp(self):
        self.remote = self.remote_swift_conn()
        self.addCleanup(self.remote.close)

    def mapping(self, **kw):
        target = self.swift_target()
        mapping = {'account': 'AUTH_test', 'container': 'local', 'protocol': 'swift',
                   'aws_bucket': self.unique_name('sp'), 'aws_endpoint': target['aws_endpoint'],
                   'aws_identity': target['aws_identity'], 'aws_secret': target['aws_secret']}
        mapping.update(kw)
        return mapping

    def provider(self, real_container=None, **kw):
        """A provider on a fresh remote container (created unless ``create=False``)."""
        create = kw.pop('create', True)
        mapping = self.mapping(**kw)
        # one try: a failure shows at once
        provider = SwiftProvider(mapping_from_dict(mapping), container=real_container,
                                 retry_policy=RetryPolicy(attempts=1))
        self.addCleanup(provider.close)
        self.addCleanup(empty_and_delete_container, self.remote, provider.remote_container)
        if create:
            provider.check(create=True)
        return provider

    def put(self, provider, name, data=b'hello', **headers):
        headers.setdefault('etag', md5(data))
        headers.setdefault('content-type', 'application/octet-stream')
        return provider.put_object(name, headers, io.BytesIO(data), len(data))


class TestWrites(SwiftProviderTest):
    def test_unicode_name_and_metadata_values_keep_their_case(self):
        provider = self.provider()
        etag = self.put(provider, UNICODE_NAME, b'hello',
                        **{'content-type': 'Text/Plain; charset=UTF-8',
                           'X-Object-Meta-Colour': 'MixedCäse Välue 日本',
                           'x-object-meta-pct': '50%25 off', 'x-timestamp': '1.00000'})
        self.assertEqual(etag, md5(b'hello'))
        headers, body = self.remote.get_object(provider.remote_container, UNICODE_NAME)
        self.assertEqual(body, b'hello')
        self.assertEqual(headers['content-type'], 'Text/Plain; charset=UTF-8')
        self.assertEqual(headers['x-object-meta-colour'], 'MixedCäse Välue 日本')
        remote = provider.head_object(UNICODE_NAME)
        self.assertEqual(remote.headers['x-object-meta-pct'], '50%25 off')  # not unquoted
        self.assertEqual(remote.headers['x-object-meta-colour'], 'MixedCäse Välue 日本')
        self.assertEqual((remote.etag, remote.size), (md5(b'hello'), 5))

    def test_non_ascii_metadata_name_does_not_hide_later_headers(self):
        provider = self.provider()
        self.put(provider, 'o', b'hello', **{'x-object-meta-färg': 'Röd'})
        remote = provider.head_object('o')
        self.assertEqual(remote.headers['x-object-meta-färg'], 'Röd')
        self.assertEqual((remote.etag, remote.size), (md5(b'hello'), 5))
        resp = provider.get_object('o')
        self.assertEqual((b''.join(resp.body), resp.headers['etag']), (b'hello', md5(b'hello')))

    def test_zero_byte_object(self):
        provider = self.provider()
        self.assertEqual(self.put(provider, 'empty', b''), md5(b''))
        headers = self.remote.head_object(provider.remote_container, 'empty')
        self.assertEqual((headers['content-length'], headers['etag']), ('0', md5(b'')))

    def test_wrong_etag_is_rejected_by_the_remote(self):
        provider = self.provider()
        with self.assertRaises(RemoteError) as ctx:
            self.put(provider, 'bad', b'hello', etag=md5(b'other'))
        self.assertEqual(ctx.exception.status, 422)
        self.assertIsNone(provider.head_object('bad'))

    def test_update_metadata_replaces_metadata_when_etag_matches(self):
        provider = self.provider()
        self.put(provider, 'o', **{'x-object-meta-old': 'x'})
        self.assertTrue(provider.update_metadata(
            'o', {'x-object-meta-new': 'Nëw', 'content-type': 'Image/PNG'}, md5(b'hello')))
        headers = self.remote.head_object(provider.remote_container, 'o')
        self.assertEqual(headers['x-object-meta-new'], 'Nëw')
        self.assertEqual(headers['content-type'], 'Image/PNG')
        self.assertNotIn('x-object-meta-old', headers)

    def test_update_metadata_is_false_for_other_etag_or_missing_object(self):
        provider = self.provider()
        self.put(provider, 'o', **{'x-object-meta-old': 'x'})
        self.assertFalse(provider.update_metadata('o', {'x-object-meta-new': 'y'}, md5(b'no')))
        self.assertFalse(provider.update_metadata('missing', {}, md5(b'hello')))
        headers = self.remote.head_object(provider.remote_container, 'o')
        self.assertEqual(headers['x-object-meta-old'], 'x')

    def test_delete_objects_tolerates_missing_names(self):
        provider = self.provider()
        for name in ('a', UNICODE_NAME, 'keep'):
            self.put(provider, name)
        provider.delete_objects(['a', 'missing', UNICODE_NAME])     # bulk delete
        provider.delete_objects(['missing'])                        # single DELETE
        _headers, listing = self.remote.get_container(provider.remote_container)
        self.assertEqual([o['name'] for o in listing], ['keep'])

    def test_remote_delete_after_sets_expiry(self):
        provider = self.provider(remote_delete_after=3600)
        self.put(provider, 'o')
        headers = self.remote.head_object(provider.remote_container, 'o')
        # X-Delete-After is turned into X-Delete-At = request time + 3600 by the remote.
        self.assertAlmostEqual(int(headers['x-delete-at']) - float(headers['x-timestamp']),
                               3600, delta=2)

    def test_propagated_expiration_adds_the_offset(self):
        provider = self.provider(propagate_expiration=True, propagate_expiration_offset=10)
        self.put(provider, 'o', **{'x-delete-at': '4000000000'})
        headers = self.remote.head_object(provider.remote_container, 'o')
        self.assertEqual(headers['x-delete-at'], '4000000010')


class TestReads(SwiftProviderTest):
    def test_iter_objects_pages_across_pages(self):
        provider = self.provider()
        names = ['o%d' % i for i in range(7)]
        for name in names:
            self.put(provider, name)
        provider.page_size = 2
        listed = list(provider.iter_objects())
        self.assertEqual([o.name for o in listed], names)
        self.assertTrue(all(o.etag == md5(b'hello') and o.size == 5 for o in listed))
        stamp = float(self.remote.head_object(provider.remote_container, 'o0')['x-timestamp'])
        self.assertAlmostEqual(listed[0].last_modified, stamp, places=3)
        self.assertEqual([o.name for o in provider.iter_objects(marker='o1', end_marker='o5')],
                         ['o2', 'o3', 'o4'])

    def test_list_objects_with_delimiter(self):
        provider = self.provider()
        for name in ('a', 'd/1', 'd/2', 'e/1'):
            self.put(provider, name, **{'content-type': 'Text/X'})
        entries = provider.list_objects(delimiter='/')
        self.assertEqual([e.get('name') or e.get('subdir') for e in entries], ['a', 'd/', 'e/'])
        self.assertEqual(entries[0]['content_type'], 'Text/X')
        self.assertEqual({e['content_location'] for e in entries}, {provider.content_location})
        self.assertEqual([e['name'] for e in provider.list_objects(prefix='d/', limit=1)],
                         ['d/1'])

    def test_get_object_range_conditionals_and_missing(self):
        provider = self.provider()
        self.put(provider, 'o', b'hello world')
        resp = provider.get_object('o', {'Range': 'bytes=6-'})
        self.assertEqual((resp.status, b''.join(resp.body)), (206, b'world'))
        self.assertIn('remote-x-trans-id', resp.headers)
        resp = provider.get_object('o', {'If-None-Match': md5(b'hello world')})
        self.assertEqual((resp.status, list(resp.body)), (304, []))
        resp = provider.get_object('missing')
        self.assertEqual(resp.status, 404)
        self.assertEqual(int(resp.headers['content-length']), len(b''.join(resp.body)))
        resp = provider.get_object('o', head=True)
        self.assertEqual((resp.status, resp.headers['content-length']), (200, '11'))

    def test_raw_read_on_from_a_byte_is_held_to_the_etag(self):
        # What the migrator sends to go on with a source body that broke partway.
        provider = self.provider()
        self.put(provider, 'o', b'hello world')
        resp = provider.get_raw('o', {'range': 'bytes=6-',
                                      'if-match': '"%s"' % md5(b'hello world')})
        self.assertEqual((resp.status, resp.headers['content-range'], b''.join(resp.body)),
                         (206, 'bytes 6-10/11', b'world'))
        resp = provider.get_raw('o', {'range': 'bytes=6-', 'if-match': '"%s"' % md5(b'hello')})
        resp.close()
        self.assertEqual(resp.status, 412)

    def test_get_manifest_only_for_slo(self):
        provider = self.provider()
        container = provider.remote_container
        self.put(provider, 'plain')
        self.remote.put_object(container, 'seg/1', b'a' * 10)
        self.remote.put_object(container, 'slo', json.dumps(
            [{'path': '/%s/seg/1' % container}]), query_string='multipart-manifest=put')
        manifest = provider.get_manifest('slo')
        self.assertEqual([(e['name'], e['bytes']) for e in manifest],
                         [('/%s/seg/1' % container, 10)])
        self.assertIsNone(provider.get_manifest('plain'))
        self.assertIsNone(provider.get_manifest('missing'))


class TestCheck(SwiftProviderTest):
    def test_missing_container_is_a_clear_error(self):
        provider = self.provider(create=False)
        with self.assertRaises(RemoteError) as ctx:
            provider.check()
        self.assertEqual(ctx.exception.message, "container '%s' does not exist at %s" % (
            provider.remote_container, self.env['swift_target']['storage_url']))

    def test_create_makes_the_container_with_the_storage_policy(self):
        provider = self.provider(create=False, storage_policy='gold')
        provider.check(create=True)
        provider.check()
        headers = self.remote.head_container(provider.remote_container)
        self.assertEqual(headers['x-storage-policy'], 'gold')

    def test_unknown_storage_policy_is_a_clear_error(self):
        provider = self.provider(create=False, storage_policy='no-such-policy')
        with self.assertRaisesRegex(RemoteError, '^400 .*no-such-policy'):
            provider.check(create=True)

    def test_per_account_mapping_creates_its_prefixed_container(self):
        provider = self.provider(real_container='photos', create=False, container='/*')
        self.assertTrue(provider.remote_container.endswith('photos'))
        provider.check()
        self.remote.head_container(provider.remote_container)

    def test_bad_credentials_are_a_clear_error_without_the_secret(self):
        provider = self.provider(create=False, aws_secret='wrong-secret-xyz')
        with self.assertRaises(RemoteError) as ctx:
            provider.check()
        self.assertEqual(str(ctx.exception), '401 authentication failed for %s at %s (401)' % (
            provider.identity, self.swift_target()['aws_endpoint']))
        self.assertNotIn('wrong-secret-xyz', str(ctx.exception))

    def test_remote_account_writes_into_another_account(self):
        target = self.env['swift_target']
        provider = self.provider(create=False, aws_identity=target['admin_identity'],
                                 aws_secret=target['admin_secret'],
                                 remote_account=target['account'])
        provider.check(create=True)
        self.put(provider, 'o')
        # Seen by the target account's own user: the provider wrote into AUTH_remote.
        self.assertEqual(self.remote.head_object(provider.remote_container, 'o')['etag'],
                         md5(b'hello'))

    def test_unreachable_remote_is_a_retryable_error(self):
        provider = self.provider(create=False, aws_endpoint='http://127.0.0.1:1/auth/v1.0')
        with self.assertRaises(RemoteError) as ctx:
            provider.check()
        self.assertEqual(ctx.exception.status, 502)
        self.assertTrue(ctx.exception.retryable)
        self.assertNotIn('\n', str(ctx.exception))


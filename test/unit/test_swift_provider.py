"""SwiftProvider request shapes, error mapping and connection handling, with mock swiftclient
connections (one fresh mock per pooled connection, so tests also see how many were made)."""
import io
import json
import types
import unittest
from unittest import mock

import eventlet
import requests.exceptions
from swiftclient.exceptions import ClientException

from s3_sync.providers import create_provider
from s3_sync.providers.base import BODY_CHUNK, COPY_CHUNK, RemoteError
from s3_sync.providers.swift import SwiftProvider
from s3_sync.providers.swift_conn import (SharedAuth, SwiftConnection, connection_options,
                                          listing_epoch, rewrite_account)
from s3_sync.retry import RetryPolicy
from test.unit.fakes import make_mapping

AUTH_URL = 'http://127.0.0.1:1/auth/v1.0'
SECRET = 'SECRET-KEY'
MD5 = '5d41402abc4b2a76b9719d911017c592'


def mapping(**kw):
    base = {'account': 'AUTH_test', 'container': 'cont', 'aws_bucket': 'target',
            'protocol': 'swift', 'aws_endpoint': AUTH_URL, 'aws_identity': 'remote:tester',
            'aws_secret': SECRET}
    base.update(kw)
    return make_mapping(**base)


def client_exception(status, reason='', body=b'', headers=None, msg='failed'):
    return ClientException(msg, http_status=status, http_reason=reason,
                           http_response_content=body,
                           http_response_headers=headers if headers is not None else {})


class FakeBody:
    """A streamed GET body: chunks and a close() that is recorded."""

    def __init__(self, *chunks):
        self.chunks = list(chunks)
        self.closed = False

    def __iter__(self):
        return iter(self.chunks)

    def close(self):
        self.closed = True


def fake_connection():
    conn = mock.Mock(name='Connection')
    conn.http_conn = None       # no raw response: headers come from swiftclient's dict
    conn.head_object.return_value = {'etag': MD5, 'content-length': '5'}
    return conn


class ProviderTest(unittest.TestCase):
    def make(self, real_container=None, **kw):
        self.conns = []

        def factory():
            conn = fake_connection()
            conn.configure_mock(**self.conn_setup)
            self.conns.append(conn)
            return conn
        provider = SwiftProvider(mapping(**kw), container=real_container,
                                 connection_factory=factory)
        provider.retry = RetryPolicy(attempts=3, sleep=lambda seconds: None)
        return provider

    def setUp(self):
        self.conn_setup = {}

    def conn(self):
        self.assertEqual(len(self.conns), 1)
        return self.conns[0]


class TestNaming(ProviderTest):
    def test_create_provider_picks_swift_for_protocol_swift(self):
        self.assertIsInstance(create_provider(mapping()), SwiftProvider)

    def test_remote_container_is_the_bucket_and_names_are_unchanged(self):
        provider = self.make(custom_prefix='ignored')
        provider.head_object('a/b')
        self.conn().head_object.assert_called_once_with('target', 'a/b')
        self.assertEqual(provider.content_location, '%s;remote:tester;target' % AUTH_URL)

    def test_per_account_mapping_prefixes_the_local_container(self):
        provider = self.make(real_container='photos', container='/*', aws_bucket='crazy:')
        self.assertEqual(provider.remote_container, 'crazy:photos')
        self.assertEqual(provider.content_location, '%s;remote:tester;crazy:photos' % AUTH_URL)

    def test_per_account_mapping_without_a_container_is_refused(self):
        with self.assertRaisesRegex(ValueError, 'real container'):
            SwiftProvider(mapping(container='/*'))


class TestConnectionOptions(unittest.TestCase):
    def test_swift_auth_has_no_swiftclient_retries(self):
        options = connection_options(mapping(remote_timeout=7))
        self.assertEqual(options['retries'], 0)
        self.assertEqual(options['auth_version'], '1')
        self.assertEqual(options['timeout'], 7)
        self.assertEqual((options['authurl'], options['user'], options['key']),
                         (AUTH_URL, 'remote:tester', SECRET))

    def test_keystone_v2_sends_the_tenant(self):
        options = connection_options(mapping(auth_type='keystone_v2', tenant_name='t'))
        self.assertEqual((options['auth_version'], options['tenant_name']), ('2', 't'))

    def test_keystone_v3_sends_project_and_domains(self):
        options = connection_options(mapping(auth_type='keystone_v3', project_name='p',
                                             project_domain_name='pd', user_domain_name='ud'))
        self.assertEqual(options['auth_version'], '3')
        self.assertEqual(options['os_options'], {'project_name': 'p',
                                                 'project_domain_name': 'pd',
                                                 'user_domain_name': 'ud'})


class TestRemoteAccount(unittest.TestCase):
    def test_rewrite_replaces_only_the_account_segment(self):
        self.assertEqual(rewrite_account('https://h:8/swift/v1/AUTH_me', 'AUTH_é/x'),
                         'https://h:8/swift/v1/AUTH_%C3%A9%2Fx')

    @mock.patch('swiftclient.client.get_auth')
    def test_storage_url_is_pinned_and_shared_across_connections(self, get_auth):
        get_auth.return_value = ('http://h/v1/AUTH_me', 'tok1')
        shared = SharedAuth('AUTH_other')
        first = SwiftConnection(shared, **connection_options(mapping()))
        self.assertEqual(first.get_auth(), ('http://h/v1/AUTH_other', 'tok1'))
        self.assertEqual(first.os_options['object_storage_url'], 'http://h/v1/AUTH_other')
        second = SwiftConnection(shared, **connection_options(mapping()))
        self.assertEqual((second.url, second.token), ('http://h/v1/AUTH_other', 'tok1'))
        # A re-auth (token expired) hands swiftclient the pinned URL.
        get_auth.return_value = ('http://h/v1/AUTH_other', 'tok2')
        second.get_auth()
        self.assertEqual(get_auth.call_args[1]['os_options']['object_storage_url'],
                         'http://h/v1/AUTH_other')
        self.assertEqual(shared.token, 'tok2')


class TestPutObject(ProviderTest):
    def put(self, provider, headers, data=b'hello'):
        return provider.put_object('ñame', headers, io.BytesIO(data), len(data))

    def test_put_sends_etag_length_and_user_headers_unchanged(self):
        self.conn_setup = {'put_object.return_value': MD5}
        provider = self.make()
        etag = self.put(provider, {'etag': MD5, 'content-type': 'Text/Plain',
                                   'X-Object-Meta-Färg': 'MixedCase Välue',
                                   'x-timestamp': '1.0', 'content-length': '5',
                                   'x-backend-timestamp': '1.0', 'x-delete-at': '99'})
        self.assertEqual(etag, MD5)
        args, kwargs = self.conn().put_object.call_args
        self.assertEqual(args[:2], ('target', 'ñame'))
        self.assertEqual(kwargs['content_length'], 5)
        self.assertEqual(kwargs['etag'], MD5)
        self.assertEqual(kwargs['headers'], {'content-type': 'Text/Plain',
                                             'x-object-meta-färg': 'MixedCase Välue'})

    def test_zero_byte_put_sends_content_length_zero(self):
        self.conn_setup = {'put_object.return_value': 'd41d8cd98f00b204e9800998ecf8427e'}
        provider = self.make()
        self.put(provider, {'etag': 'd41d8cd98f00b204e9800998ecf8427e'}, b'')
        self.assertEqual(self.conn().put_object.call_args[1]['content_length'], 0)

    def test_etag_mismatch_is_a_one_line_error_and_not_retried(self):
        self.conn_setup = {'put_object.side_effect': client_exception(
            422, 'Unprocessable Entity', b'<html>Unprocessable\nEntity</html>')}
        provider = self.make()
        with self.assertRaises(RemoteError) as ctx:
            self.put(provider, {'etag': MD5})
        self.assertEqual(ctx.exception.status, 422)
        self.assertIn("'target/ñame'", ctx.exception.message)
        self.assertNotIn('\n', str(ctx.exception))
        self.assertEqual(self.conn().put_object.call_count, 1)

    def expiration_headers(self, local, **kw):
        self.conn_setup = {'put_object.return_value': MD5}
        provider = self.make(**kw)
        self.put(provider, dict(local, etag=MD5))
        headers = self.conn().put_object.call_args[1]['headers']
        return {k: v for k, v in headers.items() if k.startswith('x-delete')}

    def test_propagate_expiration_copies_delete_at_plus_offset(self):
        self.assertEqual(self.expiration_headers(
            {'x-delete-at': '2000000000'}, propagate_expiration=True,
            propagate_expiration_offset=60), {'x-delete-at': '2000000060'})

    def test_expiration_is_not_copied_unless_asked(self):
        self.assertEqual(self.expiration_headers({'x-delete-at': '2000000000'}), {})

    def test_remote_delete_after_becomes_delete_after(self):
        self.assertEqual(self.expiration_headers({}, remote_delete_after=100),
                         {'x-delete-after': '100'})

    def test_remote_delete_after_wins_over_expiration_without_offset(self):
        self.assertEqual(self.expiration_headers(
            {'x-delete-at': '2000000000'}, propagate_expiration=True,
            remote_delete_after=100), {'x-delete-after': '100'})

    def test_archiver_fence_is_never_propagated(self):
        self.assertEqual(self.expiration_headers(
            {'x-delete-at': '9000012345'}, propagate_expiration=True), {})

    def test_expiration_with_offset_wins_over_remote_delete_after(self):
        self.assertEqual(self.expiration_headers(
            {'x-delete-at': '2000000000'}, propagate_expiration=True,
            propagate_expiration_offset=5, remote_delete_after=100),
            {'x-delete-at': '2000000005'})


class TestUpdateMetadata(ProviderTest):
    def test_matching_etag_posts_user_metadata_and_content_type(self):
        self.conn_setup = {'head_object.return_value': {'etag': MD5, 'content-length': '5'}}
        provider = self.make()
        self.assertTrue(provider.update_metadata(
            'o', {'x-object-meta-a': 'Bé', 'content-type': 'Text/X',
                  'x-object-manifest': 'c/p'}, MD5))
        self.conn().post_object.assert_called_once_with(
            'target', 'o', {'x-object-meta-a': 'Bé', 'content-type': 'Text/X'})

    def test_other_etag_returns_false_without_post(self):
        self.conn_setup = {'head_object.return_value': {'etag': 'other', 'content-length': '5'}}
        provider = self.make()
        self.assertFalse(provider.update_metadata('o', {'x-object-meta-a': 'b'}, MD5))
        self.conn().post_object.assert_not_called()

    def test_missing_object_returns_false(self):
        self.conn_setup = {'head_object.side_effect': client_exception(404, 'Not Found')}
        provider = self.make()
        self.assertFalse(provider.update_metadata('o', {}, MD5))
        self.conn().post_object.assert_not_called()

    def test_post_without_local_expiration_removes_the_remote_one(self):
        # A Swift POST without X-Delete-At drops it: the local object no longer has one.
        self.conn_setup = {'head_object.return_value': {
            'etag': MD5, 'content-length': '5', 'x-delete-at': '2000000000'}}
        provider = self.make(propagate_expiration=True)
        provider.update_metadata('o', {'x-object-meta-a': 'b'}, MD5)
        self.assertEqual(self.conn().post_object.call_args[0][2], {'x-object-meta-a': 'b'})

    def test_post_carries_the_new_local_expiration_plus_offset(self):
        self.conn_setup = {'head_object.return_value': {
            'etag': MD5, 'content-length': '5', 'x-delete-at': '2000000000'}}
        provider = self.make(propagate_expiration=True, propagate_expiration_offset=-30)
        provider.update_metadata('o', {'x-object-meta-a': 'b', 'x-delete-at': '2100000000'},
                                 MD5)
        self.assertEqual(self.conn().post_object.call_args[0][2],
                         {'x-object-meta-a': 'b', 'x-delete-at': '2099999970'})

    def test_post_with_remote_delete_after_restates_it(self):
        self.conn_setup = {'head_object.return_value': {'etag': MD5, 'content-length': '5'}}
        provider = self.make(remote_delete_after=3600)
        provider.update_metadata('o', {'x-object-meta-a': 'b'}, MD5)
        self.assertEqual(self.conn().post_object.call_args[0][2],
                         {'x-object-meta-a': 'b', 'x-delete-after': '3600'})


class TestDeleteObjects(ProviderTest):
    BULK_INFO = {'bulk_delete': {'max_deletes_per_request': 10000}}

    def test_single_name_is_one_delete_and_missing_is_fine(self):
        self.conn_setup = {'delete_object.side_effect': client_exception(404, 'Not Found')}
        provider = self.make()
        provider.delete_objects(['gone'])
        self.conn().delete_object.assert_called_once_with('target', 'gone')
        self.conn().get_capabilities.assert_not_called()

    def test_several_names_use_one_bulk_delete_and_info_is_read_once(self):
        self.conn_setup = {'get_capabilities.return_value': self.BULK_INFO,
                           'post_account.return_value': ({}, json.dumps({
                               'Number Deleted': 1, 'Number Not Found': 1,
                               'Response Status': '200 OK', 'Errors': []}).encode())}
        provider = self.make()
        provider.delete_objects(['a b', 'ü/c'])
        provider.delete_objects(['x', 'y'])
        conn = self.conn()
        self.assertEqual(conn.get_capabilities.call_count, 1)
        self.assertEqual(conn.post_account.call_count, 2)
        args, kwargs = conn.post_account.call_args_list[0]
        self.assertEqual(kwargs['query_string'], 'bulk-delete')
        self.assertEqual(kwargs['data'], b'/target/a%20b\n/target/%C3%BC/c')
        conn.delete_object.assert_not_called()

    def test_without_bulk_middleware_each_name_is_deleted(self):
        self.conn_setup = {'get_capabilities.return_value': {'swift': {}}}
        provider = self.make()
        provider.delete_objects(['a', 'b'])
        self.assertEqual([c[0] for c in self.conn().delete_object.call_args_list],
                         [('target', 'a'), ('target', 'b')])

    def test_bulk_delete_errors_raise_with_the_first_failure(self):
        self.conn_setup = {'get_capabilities.return_value': self.BULK_INFO,
                           'post_account.return_value': ({}, json.dumps({
                               'Response Status': '400 Bad Request',
                               'Errors': [['/target/a', '409 Conflict']]}).encode())}
        provider = self.make()
        with self.assertRaisesRegex(RemoteError, "409 .*first '/target/a': 409 Conflict"):
            provider.delete_objects(['a', 'b'])


class TestErrors(ProviderTest):
    def test_bad_credentials_name_user_and_auth_url_never_the_secret(self):
        self.conn_setup = {'head_container.side_effect': client_exception(
            401, 'Unauthorized', msg='Auth GET failed %s' % SECRET)}
        provider = self.make()
        with self.assertRaises(RemoteError) as ctx:
            provider.check()
        self.assertEqual(str(ctx.exception),
                         '401 authentication failed for remote:tester at %s (401)' % AUTH_URL)
        self.assertFalse(ctx.exception.retryable)

    def test_keystone_unauthorized_without_status_is_an_auth_failure(self):
        self.conn_setup = {'head_container.side_effect': ClientException(
            'Unauthorized. Check username, password and tenant name/id.')}
        provider = self.make()
        with self.assertRaisesRegex(RemoteError, '^401 authentication failed'):
            provider.check()

    def test_transport_errors_are_retryable_502s_without_the_secret(self):
        self.conn_setup = {'head_object.side_effect': requests.exceptions.ConnectionError(
            'refused for key %s' % SECRET)}
        provider = self.make()
        with self.assertRaises(RemoteError) as ctx:
            provider.head_object('o')
        self.assertEqual(ctx.exception.status, 502)
        self.assertTrue(ctx.exception.retryable)
        self.assertNotIn(SECRET, str(ctx.exception))
        self.assertIn('cannot reach', str(ctx.exception))
        self.assertEqual(self.conn().head_object.call_count, 3)     # the policy's attempts

    def test_server_errors_are_retried_by_the_policy(self):
        self.conn_setup = {'head_object.side_effect': [
            client_exception(503, 'Service Unavailable'), {'etag': MD5, 'content-length': '5',
                                                           'x-timestamp': '12.5'}]}
        provider = self.make()
        obj = provider.head_object('o')
        self.assertEqual((obj.etag, obj.size, obj.last_modified), (MD5, 5, 12.5))

    def test_forbidden_names_the_object(self):
        self.conn_setup = {'head_object.side_effect': client_exception(403, 'Forbidden')}
        provider = self.make()
        with self.assertRaisesRegex(RemoteError, "^403 access denied to 'target/o'"):
            provider.head_object('o')


class TestCheck(ProviderTest):
    def test_missing_container_is_one_line_error(self):
        self.conn_setup = {'head_container.side_effect': client_exception(404, 'Not Found')}
        provider = self.make()
        with self.assertRaises(RemoteError) as ctx:
            provider.check()
        self.assertEqual(str(ctx.exception),
                         "404 container 'target' does not exist at %s" % AUTH_URL)
        self.conn().put_container.assert_not_called()

    def test_create_puts_the_container_with_the_storage_policy(self):
        self.conn_setup = {'head_container.side_effect': client_exception(404, 'Not Found')}
        provider = self.make(storage_policy='gold')
        provider.check(create=True)
        self.conn().put_container.assert_called_once_with(
            'target', headers={'X-Storage-Policy': 'gold'})

    def test_per_account_mapping_always_creates(self):
        self.conn_setup = {'head_container.side_effect': client_exception(404, 'Not Found')}
        provider = self.make(real_container='c1', container='/*', aws_bucket='p-')
        provider.check()
        self.conn().put_container.assert_called_once_with('p-c1', headers={})

    def test_bad_storage_policy_error_carries_the_server_reason(self):
        self.conn_setup = {
            'head_container.side_effect': client_exception(404, 'Not Found'),
            'put_container.side_effect': client_exception(
                400, 'Bad Request', b'Invalid X-Storage-Policy "nope"')}
        provider = self.make(storage_policy='nope')
        with self.assertRaisesRegex(RemoteError, 'Invalid X-Storage-Policy "nope"'):
            provider.check(create=True)


class TestReads(ProviderTest):
    def test_head_reads_raw_headers_without_unquoting(self):
        provider = self.make()
        provider.head_object('warm-up')
        raw = {'ETag': '"%s"' % MD5, 'Content-Length': '5', 'X-Timestamp': '3.25',
               'X-Object-Meta-Pct': '50%25', 'X-Trans-Id': 'tx1',
               'X-Object-Meta-U': 'é'.encode('utf-8').decode('latin-1')}
        self.conn().http_conn = (None, types.SimpleNamespace(
            resp=types.SimpleNamespace(headers=raw)))
        obj = provider.head_object('o')
        self.assertEqual(obj.headers['x-object-meta-pct'], '50%25')
        self.assertEqual(obj.headers['x-object-meta-u'], 'é')
        self.assertEqual(obj.headers['remote-x-trans-id'], 'tx1')
        self.assertNotIn('x-trans-id', obj.headers)
        self.assertEqual(obj.etag, MD5)

    def test_head_of_missing_object_is_none(self):
        self.conn_setup = {'head_object.side_effect': client_exception(404, 'Not Found')}
        self.assertIsNone(self.make().head_object('o'))

    def test_get_passes_range_and_conditionals_only(self):
        body = FakeBody(b'el')
        self.conn_setup = {'get_object.return_value': (
            {'content-range': 'bytes 1-2/5', 'etag': MD5}, body)}
        provider = self.make()
        resp = provider.get_object('o', {'Range': 'bytes=1-2', 'If-Match': MD5,
                                         'X-Auth-Token': 'local'})
        self.assertEqual(resp.status, 206)
        self.assertEqual(b''.join(resp.body), b'el')
        self.assertEqual(self.conn().get_object.call_args[1]['headers'],
                         {'range': 'bytes=1-2', 'if-match': MD5})
        self.assertTrue(body.closed)

    def test_body_with_lost_length_is_read_up_to_content_length_only(self):
        data = io.BytesIO(b'hello')
        reads = []

        class Reader:
            def read(self, size):
                reads.append(size)
                if data.tell() == 5:
                    raise AssertionError('read past the content-length would block')
                return data.read(size)

        released = []
        provider = self.make()
        chunks = list(provider._stream(Reader(), lambda: released.append(1), 'o', limit=5))
        self.assertEqual((b''.join(chunks), reads, released), (b'hello', [5], [1]))

    def test_migrator_reads_in_copy_sized_pieces_and_clients_in_body_sized_ones(self):
        # The migrator's copies hold COPY_CHUNK per object in flight, not BODY_CHUNK (the
        # shunt's reads keep the larger pieces: each is a pass through its pipeline).
        self.conn_setup = {'get_object.return_value': ({'etag': MD5}, FakeBody(b'hello'))}
        provider = self.make()
        raw = provider.get_raw('o')
        self.assertEqual(b''.join(raw.body), b'hello')
        provider.get_object('o')
        calls = [c[1] for c in self.conn().get_object.call_args_list]
        self.assertEqual([(c['resp_chunk_size'], c['query_string']) for c in calls],
                         [(COPY_CHUNK, 'multipart-manifest=get'), (BODY_CHUNK, None)])

    def test_migrator_reads_on_with_a_ranged_raw_get(self):
        self.conn_setup = {'get_object.return_value': (
            {'content-range': 'bytes 3-4/5', 'etag': MD5}, FakeBody(b'lo'))}
        provider = self.make()
        self.assertTrue(provider.features.ranged_raw_reads)
        resp = provider.get_raw('o', {'range': 'bytes=3-', 'if-match': '"%s"' % MD5})
        self.assertEqual((resp.status, b''.join(resp.body)), (206, b'lo'))
        call = self.conn().get_object.call_args[1]
        self.assertEqual((call['headers'], call['query_string'], call['resp_chunk_size']), (
            {'range': 'bytes=3-', 'if-match': '"%s"' % MD5}, 'multipart-manifest=get',
            COPY_CHUNK))

    def test_raw_get_of_a_changed_object_is_answered_412(self):
        self.conn_setup = {'get_object.side_effect': client_exception(
            412, 'Precondition Failed', b'', {'Content-Length': '0'})}
        resp = self.make().get_raw('o', {'range': 'bytes=3-', 'if-match': '"other"'})
        self.assertEqual(resp.status, 412)

    def test_body_with_lost_length_is_read_in_the_pieces_asked_for(self):
        data = io.BytesIO(b'x' * (2 * COPY_CHUNK + 1))
        provider = self.make()
        chunks = list(provider._stream(data, lambda: None, 'o', limit=2 * COPY_CHUNK + 1,
                                       chunk=COPY_CHUNK))
        self.assertEqual([len(c) for c in chunks], [COPY_CHUNK, COPY_CHUNK, 1])

    def test_get_errors_below_500_are_returned_with_their_body(self):
        self.conn_setup = {'get_object.side_effect': client_exception(
            404, 'Not Found', b'Not here', {'Content-Length': '8', 'X-Trans-Id': 'tx'})}
        resp = self.make().get_object('o')
        self.assertEqual((resp.status, list(resp.body)), (404, [b'Not here']))
        self.assertEqual(resp.headers['content-length'], '8')
        self.assertEqual(resp.headers['remote-x-trans-id'], 'tx')

    def test_not_modified_has_no_body(self):
        self.conn_setup = {'head_object.side_effect': client_exception(
            304, 'Not Modified', b'', {'ETag': MD5})}
        resp = self.make().get_object('o', {'If-None-Match': MD5}, head=True)
        self.assertEqual((resp.status, list(resp.body)), (304, []))

    def test_get_server_errors_raise(self):
        self.conn_setup = {'get_object.side_effect': client_exception(500, 'Internal Error')}
        with self.assertRaises(RemoteError) as ctx:
            self.make().get_object('o')
        self.assertEqual(ctx.exception.status, 500)

    def test_list_with_delimiter_annotates_objects_and_subdirs(self):
        self.conn_setup = {'get_container.return_value': ({}, [
            {'name': 'a', 'hash': MD5, 'bytes': 5, 'last_modified': '2026-01-02T03:04:05.123456',
             'content_type': 'x/y'}, {'subdir': 'd/'}])}
        provider = self.make()
        entries = provider.list_objects(prefix='p', delimiter='/', limit=5)
        self.conn().get_container.assert_called_once_with(
            'target', marker=None, limit=5, prefix='p', delimiter='/', end_marker=None)
        self.assertEqual([e['content_location'] for e in entries],
                         [provider.content_location] * 2)
        self.assertEqual(entries[1]['subdir'], 'd/')

    def test_iter_objects_pages_with_the_last_name_as_marker(self):
        def entry(name):
            return {'name': name, 'hash': MD5, 'bytes': 1,
                    'last_modified': '1970-01-01T00:00:10.500000'}
        self.conn_setup = {'get_container.side_effect': [
            ({}, [entry('a'), entry('b')]), ({}, [entry('c')])]}
        provider = self.make()
        provider.page_size = 2
        objs = list(provider.iter_objects(marker='0', end_marker='z'))
        self.assertEqual([(o.name, o.last_modified) for o in objs],
                         [('a', 10.5), ('b', 10.5), ('c', 10.5)])
        markers = [c[1]['marker'] for c in self.conn().get_container.call_args_list]
        self.assertEqual(markers, ['0', 'b'])
        ends = {c[1]['end_marker'] for c in self.conn().get_container.call_args_list}
        self.assertEqual(ends, {'z'})

    def test_listing_time_without_fraction_parses(self):
        self.assertEqual(listing_epoch('1970-01-01T00:01:00'), 60.0)

    def test_manifest_only_for_slo(self):
        manifest = [{'name': '/seg/1', 'hash': MD5, 'bytes': 5}]
        self.conn_setup = {'get_object.side_effect': [
            ({'x-static-large-object': 'True'}, FakeBody(json.dumps(manifest).encode())),
            ({}, FakeBody(b'plain')), client_exception(404, 'Not Found')]}
        provider = self.make()
        self.assertEqual(provider.get_manifest('slo'), manifest)
        self.assertIsNone(provider.get_manifest('plain'))
        self.assertIsNone(provider.get_manifest('gone'))
        self.assertEqual(self.conn().get_object.call_args[1]['query_string'],
                         'multipart-manifest=get')


class TestPool(ProviderTest):
    def test_sequential_requests_reuse_one_connection(self):
        provider = self.make()
        for _ in range(3):
            provider.head_object('o')
        self.assertEqual(len(self.conns), 1)

    def test_open_get_holds_its_connection_until_closed(self):
        body = mock.Mock()
        self.conn_setup = {'get_object.return_value': ({}, body)}
        provider = self.make(max_conns=1)
        resp = provider.get_object('o')
        waiter = eventlet.spawn(provider.head_object, 'other')
        eventlet.sleep(0)
        self.assertFalse(waiter.dead)       # blocked: the only connection is in use
        resp.close()
        waiter.wait()
        self.assertEqual(len(self.conns), 1)
        body.close.assert_called_once_with()

    def test_concurrent_requests_get_their_own_connections(self):
        bodies = [mock.Mock(), mock.Mock()]
        self.conn_setup = {'get_object.side_effect': lambda *a, **k: ({}, bodies.pop())}
        provider = self.make(max_conns=4)
        first, second = provider.get_object('a'), provider.get_object('b')
        self.assertEqual(len(self.conns), 2)
        first.close()
        second.close()
        provider.close()
        for conn in self.conns:
            conn.close.assert_called_once_with()


if __name__ == '__main__':
    unittest.main()

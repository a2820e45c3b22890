"""S3Provider request shapes and error mapping, with botocore's Stubber (or a mock client for
transport failures). Every stubbed test also asserts no stubbed response is left over and no
unexpected request was made, which is how request economy is checked."""
import base64
import datetime
import hashlib
import io
import json
import unittest
from unittest import mock

from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from s3_sync import layout
from s3_sync.providers import create_provider
from s3_sync.providers.base import BODY_CHUNK, COPY_CHUNK, RemoteError
from s3_sync.providers.s3 import S3Provider
from s3_sync.providers.s3_client import make_client
from s3_sync.retry import RetryPolicy
from test.unit.fakes import make_mapping

ENDPOINT = 'http://127.0.0.1:1'
PREFIX = '51ca9d/AUTH_test/cont/'
WHEN = datetime.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=datetime.timezone.utc)
BODY_MD5 = hashlib.md5(b'hello').hexdigest()


def mapping(**kw):
    base = {'account': 'AUTH_test', 'container': 'cont', 'aws_bucket': 'bucket',
            'aws_endpoint': ENDPOINT, 'aws_identity': 'AKID', 'aws_secret': 'SECRET-KEY'}
    base.update(kw)
    return make_mapping(**base)


def no_sleep_policy():
    return RetryPolicy(attempts=4, sleep=lambda seconds: None)


def client_error(status, code='', message='', op='HeadObject'):
    return ClientError({'Error': {'Code': code, 'Message': message},
                        'ResponseMetadata': {'HTTPStatusCode': status, 'HTTPHeaders': {}}}, op)


class StubbedTest(unittest.TestCase):
    def make(self, **kw):
        client = make_client(mapping(**kw))
        provider = S3Provider(mapping(**kw), client=client)
        provider.retry = no_sleep_policy()
        self.stub = Stubber(client)
        self.stub.activate()
        self.addCleanup(self.stub.assert_no_pending_responses)
        self.addCleanup(self.stub.deactivate)
        return provider


class TestCreateProvider(unittest.TestCase):
    def test_s3_is_the_default_protocol(self):
        provider = create_provider(mapping())
        self.assertIsInstance(provider, S3Provider)
        self.assertEqual(provider.prefix, PREFIX)

    def test_per_account_mapping_uses_the_real_container(self):
        provider = create_provider(mapping(container='/*'), container='c156')
        self.assertEqual(provider.prefix, '322f/AUTH_test/c156/')

    def test_client_is_created_on_first_use_only(self):
        provider = create_provider(mapping())
        self.assertIsNone(provider._client)
        provider.client
        self.assertIsNotNone(provider._client)
        provider.close()
        self.assertIsNone(provider._client)


class TestHead(StubbedTest):
    def test_head_returns_remote_object_with_swift_headers(self):
        provider = self.make()
        self.stub.add_response('head_object', {
            'ETag': '"%s"' % BODY_MD5, 'ContentLength': 5, 'LastModified': WHEN,
            'ResponseMetadata': {'HTTPStatusCode': 200, 'HTTPHeaders': {
                'etag': '"%s"' % BODY_MD5, 'x-amz-meta-name': '=?UTF-8?B?w6k=?=',
                'content-type': 'text/plain', 'content-length': '5'}}},
            {'Bucket': 'bucket', 'Key': PREFIX + 'd/\u00e9'})
        obj = provider.head_object('d/\u00e9')
        self.assertEqual((obj.name, obj.etag, obj.size), ('d/\u00e9', BODY_MD5, 5))
        self.assertEqual(obj.last_modified, WHEN.timestamp())
        self.assertEqual(obj.headers['x-object-meta-name'], '\u00e9')
        self.assertEqual(obj.headers['etag'], BODY_MD5)

    def test_missing_object_is_none_after_one_request(self):
        provider = self.make()
        self.stub.add_client_error('head_object', http_status_code=404)
        self.assertIsNone(provider.head_object('x'))

    def test_forbidden_head_is_access_denied_error(self):
        provider = self.make()
        self.stub.add_client_error('head_object', http_status_code=403)
        with self.assertRaises(RemoteError) as caught:
            provider.head_object('x')
        err = caught.exception
        self.assertEqual(err.status, 403)
        self.assertFalse(err.retryable)
        self.assertEqual(err.message, "access denied to 'bucket/%sx' at %s (Forbidden)" % (
            PREFIX, ENDPOINT))


class TestCheck(StubbedTest):
    def test_missing_bucket_is_one_line_error(self):
        provider = self.make()
        self.stub.add_client_error('list_objects', 'NoSuchBucket', 'The bucket is gone', 404,
                                   expected_params={'Bucket': 'bucket', 'Prefix': PREFIX,
                                                    'MaxKeys': 1})
        with self.assertRaises(RemoteError) as caught:
            provider.check()
        self.assertEqual(caught.exception.message,
                         "bucket 'bucket' does not exist at %s" % ENDPOINT)

    def test_bad_credentials_name_the_s3_code_and_not_the_secret(self):
        provider = self.make()
        self.stub.add_client_error('list_objects', 'InvalidAccessKeyId', 'No such key AKID',
                                   403)
        with self.assertRaises(RemoteError) as caught:
            provider.check()
        self.assertEqual(caught.exception.message, "access denied to bucket 'bucket' at %s "
                         "(InvalidAccessKeyId)" % ENDPOINT)
        self.assertNotIn('SECRET-KEY', str(caught.exception))

    def test_create_makes_a_missing_bucket(self):
        provider = self.make()
        self.stub.add_client_error('list_objects', 'NoSuchBucket', '', 404)
        self.stub.add_response('create_bucket', {}, {'Bucket': 'bucket'})
        provider.check(create=True)

    def test_create_on_aws_passes_the_region(self):
        provider = self.make(aws_endpoint=None, aws_region='eu-west-1')
        self.stub.add_client_error('list_objects', 'NoSuchBucket', '', 404)
        self.stub.add_response('create_bucket', {}, {
            'Bucket': 'bucket',
            'CreateBucketConfiguration': {'LocationConstraint': 'eu-west-1'}})
        provider.check(create=True)

    def test_existing_bucket_is_one_request(self):
        provider = self.make()
        self.stub.add_response('list_objects', {'IsTruncated': False})
        provider.check(create=True)


class TestPut(StubbedTest):
    def expected(self, **extra):
        params = {'Bucket': 'bucket', 'Key': PREFIX + 'obj', 'Body': ANY, 'ContentLength': 5,
                  'ContentType': 'text/plain', 'Metadata': {'color': '=?UTF-8?Q?bl=C3=A5?='},
                  'ContentEncoding': 'gzip',
                  'ContentMD5': base64.b64encode(hashlib.md5(b'hello').digest()).decode()}
        params.update(extra)
        return params

    headers = {'etag': BODY_MD5, 'content-type': 'text/plain', 'x-object-meta-Color': 'bl\u00e5',
               'content-encoding': 'gzip'}

    def test_put_sends_content_md5_of_the_swift_etag_and_encoded_metadata(self):
        provider = self.make()
        self.stub.add_response('put_object', {'ETag': '"%s"' % BODY_MD5}, self.expected())
        self.assertEqual(provider.put_object('obj', self.headers, io.BytesIO(b'hello'), 5),
                         BODY_MD5)

    def test_aws_with_encryption_adds_sse(self):
        provider = self.make(aws_endpoint=None)
        self.stub.add_response('put_object', {'ETag': '"e"'},
                               self.expected(ServerSideEncryption='AES256'))
        provider.put_object('obj', self.headers, io.BytesIO(b'hello'), 5)

    def test_aws_without_encryption_has_no_sse(self):
        provider = self.make(aws_endpoint=None, encryption=False)
        self.stub.add_response('put_object', {'ETag': '"e"'}, self.expected())
        provider.put_object('obj', self.headers, io.BytesIO(b'hello'), 5)

    def test_non_md5_etag_sends_no_content_md5(self):
        provider = self.make()
        expected = self.expected()
        del expected['ContentMD5']
        self.stub.add_response('put_object', {'ETag': '"e"'}, expected)
        provider.put_object('obj', dict(self.headers, etag='"abc-3"'), io.BytesIO(b'hello'), 5)

    def test_put_failure_is_not_retried(self):
        provider = self.make()
        self.stub.add_client_error('put_object', 'InternalError', 'boom', 500)
        with self.assertRaises(RemoteError) as caught:
            provider.put_object('obj', self.headers, io.BytesIO(b'hello'), 5)
        self.assertTrue(caught.exception.retryable)
        self.assertIn('InternalError', caught.exception.message)

    def test_bad_digest_is_not_retryable(self):
        provider = self.make()
        self.stub.add_client_error('put_object', 'BadDigest', 'md5 mismatch', 400)
        with self.assertRaises(RemoteError) as caught:
            provider.put_object('obj', self.headers, io.BytesIO(b'hello'), 5)
        self.assertEqual(caught.exception.status, 400)
        self.assertFalse(caught.exception.retryable)
        self.assertEqual(caught.exception.code, 'BadDigest')


class TestUpdateMetadata(StubbedTest):
    def expected(self):
        key = PREFIX + 'obj'
        return {'Bucket': 'bucket', 'Key': key, 'CopySource': {'Bucket': 'bucket', 'Key': key},
                'CopySourceIfMatch': '"%s"' % BODY_MD5, 'MetadataDirective': 'REPLACE',
                'Metadata': {'a': 'b'}, 'ContentType': 'text/x'}

    headers = {'x-object-meta-a': 'b', 'content-type': 'text/x'}

    def test_copy_onto_itself_in_one_request(self):
        provider = self.make()
        self.stub.add_response('copy_object', {}, self.expected())
        self.assertTrue(provider.update_metadata('obj', self.headers, BODY_MD5))

    def test_a_copy_that_ignored_its_condition_is_false(self):
        """A store that ignores CopySourceIfMatch copied another object: answered as a 412,
        so the caller uploads the local object over the metadata this copy replaced."""
        provider = self.make()
        self.stub.add_response('copy_object', {'CopyObjectResult': {'ETag': '"other"'}},
                               self.expected())
        self.assertFalse(provider.update_metadata('obj', self.headers, BODY_MD5))

    def test_a_copy_of_the_expected_object_is_true(self):
        provider = self.make()
        self.stub.add_response('copy_object', {'CopyObjectResult': {'ETag': '"%s"' % BODY_MD5}},
                               self.expected())
        self.assertTrue(provider.update_metadata('obj', self.headers, BODY_MD5))

    def test_changed_missing_or_glacier_object_is_false(self):
        provider = self.make()
        self.stub.add_client_error('copy_object', 'PreconditionFailed', '', 412)
        self.stub.add_client_error('copy_object', 'NoSuchKey', '', 404)
        self.stub.add_client_error('copy_object', 'InvalidObjectState', '', 403)
        for _ in range(3):
            self.assertFalse(provider.update_metadata('obj', self.headers, BODY_MD5))

    def test_throttled_copy_is_retried(self):
        provider = self.make()
        self.stub.add_client_error('copy_object', 'SlowDown', 'slow', 503)
        self.stub.add_response('copy_object', {}, self.expected())
        self.assertTrue(provider.update_metadata('obj', self.headers, BODY_MD5))


class TestDelete(StubbedTest):
    def keys(self, provider, names):
        return [k for n in names for k in (provider.key(n), provider.manifest_key(n))]

    def test_one_request_per_500_names_with_manifest_keys(self):
        provider = self.make()
        names = ['o%04d' % i for i in range(600)]
        for batch in (names[:500], names[500:]):
            self.stub.add_response('delete_objects', {}, {'Bucket': 'bucket', 'Delete': {
                'Objects': [{'Key': k} for k in self.keys(provider, batch)], 'Quiet': True}})
        provider.delete_objects(names)

    def test_missing_keys_are_fine(self):
        provider = self.make()
        self.stub.add_response('delete_objects', {'Errors': [
            {'Key': provider.key('x'), 'Code': 'NoSuchKey', 'Message': 'gone'}]})
        provider.delete_objects(['x'])

    def test_per_key_errors_raise(self):
        provider = self.make()
        self.stub.add_response('delete_objects', {'Errors': [
            {'Key': provider.key('x'), 'Code': 'AccessDenied', 'Message': 'no'}]})
        with self.assertRaises(RemoteError) as caught:
            provider.delete_objects(['x'])
        self.assertEqual(caught.exception.status, 403)
        self.assertIn(provider.key('x'), caught.exception.message)

    def test_google_deletes_key_by_key(self):
        provider = self.make(aws_endpoint='https://storage.googleapis.com')
        for key in self.keys(provider, ['x']):
            self.stub.add_response('delete_object', {}, {'Bucket': 'bucket', 'Key': key})
        provider.delete_objects(['x'])

    def test_target_without_multi_delete_falls_back_to_single_deletes(self):
        provider = self.make()
        self.stub.add_client_error('delete_objects', 'NotImplemented', 'no', 501)
        for key in self.keys(provider, ['x']):
            self.stub.add_response('delete_object', {}, {'Bucket': 'bucket', 'Key': key})
        for key in self.keys(provider, ['y']):   # later calls skip the multi-delete
            self.stub.add_response('delete_object', {}, {'Bucket': 'bucket', 'Key': key})
        provider.delete_objects(['x'])
        provider.delete_objects(['y'])


def listing_object(key, etag='"e"', size=1):
    return {'Key': key, 'ETag': etag, 'Size': size, 'LastModified': WHEN}


class TestListing(StubbedTest):
    def test_entries_are_swift_style_with_prefix_stripped(self):
        provider = self.make()
        self.stub.add_response('list_objects', {
            'IsTruncated': False,
            'Contents': [listing_object(PREFIX + 'b', size=3)],
            'CommonPrefixes': [{'Prefix': PREFIX + 'a/'}]},
            {'Bucket': 'bucket', 'Prefix': PREFIX + 'p', 'MaxKeys': 1000,
             'Marker': PREFIX + 'm', 'Delimiter': '/'})
        location = 'http://127.0.0.1:1;bucket;' + PREFIX
        self.assertEqual(provider.list_objects('m', 5000, 'p', '/'), [
            {'subdir': 'a/', 'content_location': location},
            {'name': 'b', 'hash': 'e', 'bytes': 3, 'last_modified': '2026-01-02T03:04:05.678000',
             'content_type': 'application/octet-stream', 'content_location': location}])

    def test_end_marker_is_applied_locally(self):
        provider = self.make()
        self.stub.add_response('list_objects', {'IsTruncated': True, 'Contents': [
            listing_object(PREFIX + n) for n in ('a', 'b', 'c')]})
        self.assertEqual([e['name'] for e in provider.list_objects(end_marker='b')], ['a'])

    def test_custom_prefix_manifests_are_hidden_and_paging_continues(self):
        provider = self.make(custom_prefix='p')
        manifest = provider.manifest_key('big')
        self.stub.add_response('list_objects', {'IsTruncated': True, 'Contents': [
            listing_object(manifest)]}, {'Bucket': 'bucket', 'Prefix': 'p/', 'MaxKeys': 1})
        self.stub.add_response('list_objects', {'IsTruncated': False, 'Contents': [
            listing_object('p/z')]}, {'Bucket': 'bucket', 'Prefix': 'p/', 'MaxKeys': 1,
                                      'Marker': manifest})
        self.assertEqual([e['name'] for e in provider.list_objects(limit=1)], ['z'])

    def test_iter_objects_pages_by_last_key_and_stops_at_end_marker(self):
        provider = self.make()
        provider.page_size = 2
        self.stub.add_response('list_objects', {'IsTruncated': True, 'Contents': [
            listing_object(PREFIX + 'a'), listing_object(PREFIX + 'b')]},
            {'Bucket': 'bucket', 'Prefix': PREFIX, 'MaxKeys': 2})
        self.stub.add_response('list_objects', {'IsTruncated': True, 'Contents': [
            listing_object(PREFIX + 'c'), listing_object(PREFIX + 'd')]},
            {'Bucket': 'bucket', 'Prefix': PREFIX, 'MaxKeys': 2, 'Marker': PREFIX + 'b'})
        objs = list(provider.iter_objects(end_marker='d'))
        self.assertEqual([(o.name, o.etag, o.size) for o in objs],
                         [('a', 'e', 1), ('b', 'e', 1), ('c', 'e', 1)])
        self.assertEqual(objs[0].last_modified, WHEN.timestamp())


class TestGet(StubbedTest):
    def body(self, data):
        return StreamingBody(io.BytesIO(data), len(data))

    def test_range_and_conditionals_are_passed_through(self):
        provider = self.make()
        self.stub.add_response('get_object', {
            'Body': self.body(b'el'), 'ResponseMetadata': {'HTTPStatusCode': 206, 'HTTPHeaders': {
                'content-range': 'bytes 1-2/5', 'etag': '"e"'}}},
            {'Bucket': 'bucket', 'Key': PREFIX + 'o', 'Range': 'bytes=1-2', 'IfMatch': '"e"',
             'IfModifiedSince': datetime.datetime(2015, 10, 21, 7, 28,
                                                  tzinfo=datetime.timezone.utc)})
        resp = provider.get_object('o', {'Range': 'bytes=1-2', 'If-Match': '"e"',
                                         'If-Modified-Since': 'Wed, 21 Oct 2015 07:28:00 GMT',
                                         'X-Other': 'dropped'})
        self.assertEqual((resp.status, b''.join(resp.body)), (206, b'el'))
        self.assertEqual(resp.headers['content-range'], 'bytes 1-2/5')
        self.assertEqual(resp.headers['etag'], 'e')

    def test_not_modified_and_not_found_are_returned(self):
        provider = self.make()
        self.stub.add_client_error('get_object', '304', 'Not Modified', 304)
        self.stub.add_client_error('get_object', 'NoSuchKey', 'The key does not exist', 404)
        resp = provider.get_object('o', {'If-None-Match': '"e"'})
        self.assertEqual((resp.status, list(resp.body)), (304, []))
        resp = provider.get_object('o')
        self.assertEqual(resp.status, 404)
        body = b''.join(resp.body)
        self.assertEqual(body, b'The key does not exist')
        self.assertEqual(resp.headers['content-length'], str(len(body)))

    def test_head_error_has_empty_body(self):
        provider = self.make()
        self.stub.add_client_error('head_object', '', '', 404)
        resp = provider.get_object('o', head=True)
        self.assertEqual((resp.status, list(resp.body), resp.headers['content-length']),
                         (404, [], '0'))

    def test_manifest_is_read_as_json_or_none(self):
        provider = self.make()
        manifest = [{'name': '/segs/1', 'bytes': 5, 'hash': BODY_MD5}]
        self.stub.add_response('get_object', {'Body': self.body(json.dumps(manifest).encode())},
                               {'Bucket': 'bucket', 'Key': provider.manifest_key('big')})
        self.stub.add_client_error('get_object', 'NoSuchKey', '', 404)
        self.assertEqual(provider.get_manifest('big'), manifest)
        self.assertIsNone(provider.get_manifest('big'))


class TestTransportErrors(unittest.TestCase):
    def make(self):
        client = mock.Mock()
        provider = S3Provider(mapping(), client=client)
        provider.retry = no_sleep_policy()
        return provider, client

    def test_connection_errors_are_retried_then_raised_as_502(self):
        provider, client = self.make()
        client.head_object.side_effect = EndpointConnectionError(endpoint_url=ENDPOINT)
        with self.assertRaises(RemoteError) as caught:
            provider.head_object('x')
        self.assertEqual(client.head_object.call_count, 4)
        err = caught.exception
        self.assertEqual(err.status, 502)
        self.assertTrue(err.retryable)
        self.assertIn('cannot reach %s' % ENDPOINT, err.message)
        self.assertNotIn('\n', err.message)

    def test_timeout_then_success(self):
        provider, client = self.make()
        client.list_objects.side_effect = [ReadTimeoutError(endpoint_url=ENDPOINT),
                                           {'IsTruncated': False}]
        self.assertEqual(provider.list_objects(), [])
        self.assertEqual(client.list_objects.call_count, 2)

    def test_client_errors_below_500_are_not_retried(self):
        provider, client = self.make()
        client.head_object.side_effect = client_error(400, 'InvalidArgument')
        with self.assertRaises(RemoteError):
            provider.head_object('x')
        self.assertEqual(client.head_object.call_count, 1)

    def test_rate_limits_are_retryable(self):
        provider, client = self.make()
        client.delete_object.side_effect = client_error(429, 'TooManyRequests')
        with self.assertRaises(RemoteError) as caught:
            provider._delete_one('k')
        self.assertTrue(caught.exception.retryable)
        self.assertEqual(client.delete_object.call_count, 4)

    def test_stream_failure_mid_body_is_remote_error(self):
        provider, client = self.make()
        body = mock.Mock()

        def chunks(size):
            yield b'a'
            raise ReadTimeoutError(endpoint_url=ENDPOINT)
        body.iter_chunks.side_effect = chunks
        client.get_object.return_value = {
            'Body': body, 'ResponseMetadata': {'HTTPStatusCode': 200, 'HTTPHeaders': {}}}
        resp = provider.get_object('x')
        it = iter(resp.body)
        self.assertEqual(next(it), b'a')
        with self.assertRaises(RemoteError) as caught:
            next(it)
        self.assertEqual(caught.exception.status, 502)
        body.close.assert_called()


    def test_migrator_reads_in_copy_sized_pieces_and_clients_in_body_sized_ones(self):
        provider, client = self.make()
        body = mock.Mock()
        body.iter_chunks.return_value = iter([b'lo'])
        client.get_object.return_value = {
            'Body': body, 'ResponseMetadata': {'HTTPStatusCode': 206, 'HTTPHeaders': {
                'content-range': 'bytes 3-4/5'}}}
        self.assertTrue(provider.features.ranged_raw_reads)
        resp = provider.get_raw('x', {'range': 'bytes=3-', 'if-match': '"e"'})
        self.assertEqual((resp.status, b''.join(resp.body)), (206, b'lo'))
        self.assertEqual(client.get_object.call_args[1]['Range'], 'bytes=3-')
        self.assertEqual(client.get_object.call_args[1]['IfMatch'], '"e"')
        body.iter_chunks.return_value = iter([b'hello'])
        b''.join(provider.get_object('x').body)
        self.assertEqual([c[0][0] for c in body.iter_chunks.call_args_list],
                         [COPY_CHUNK, BODY_CHUNK])


class TestLayoutUse(unittest.TestCase):
    def test_provider_keys_follow_layout(self):
        provider = S3Provider(mapping(custom_prefix=''), client=mock.Mock())
        self.assertEqual(provider.key('o'), 'o')
        self.assertEqual(provider.manifest_key('o'),
                         layout.manifest_key(mapping(custom_prefix=''), 'AUTH_test', 'cont', 'o'))
        self.assertEqual(provider.content_location, 'http://127.0.0.1:1;bucket')


if __name__ == '__main__':
    unittest.main()


class TestCompose(StubbedTest):
    def test_compose_is_one_upload_of_part_copies(self):
        provider = self.make()
        key = PREFIX + 'big'
        self.stub.add_response('create_multipart_upload', {'UploadId': 'U'},
                               {'Bucket': 'bucket', 'Key': key, 'Metadata': {'m': 'v'},
                                'ContentType': 'text/x'})
        for number, source in enumerate(('seg/1', 'seg/2'), 1):
            self.stub.add_response(
                'upload_part_copy', {'CopyPartResult': {'ETag': '"e%d"' % number}},
                {'Bucket': 'bucket', 'Key': key, 'UploadId': 'U', 'PartNumber': number,
                 'CopySource': {'Bucket': 'bucket', 'Key': source}})
        self.stub.add_response(
            'complete_multipart_upload', {'ETag': '"abc-2"'},
            {'Bucket': 'bucket', 'Key': key, 'UploadId': 'U',
             'MultipartUpload': {'Parts': [{'PartNumber': 1, 'ETag': '"e1"'},
                                           {'PartNumber': 2, 'ETag': '"e2"'}]}})
        etag = provider.compose_object('big', {'content-type': 'text/x',
                                               'x-object-meta-m': 'v'}, ['seg/1', 'seg/2'])
        self.assertEqual(etag, 'abc-2')

    def test_a_failed_part_copy_aborts_the_upload(self):
        provider = self.make()
        key = PREFIX + 'big'
        self.stub.add_response('create_multipart_upload', {'UploadId': 'U'}, None)
        self.stub.add_client_error('upload_part_copy', 'NoSuchKey', http_status_code=404)
        self.stub.add_response('abort_multipart_upload', {},
                               {'Bucket': 'bucket', 'Key': key, 'UploadId': 'U'})
        with self.assertRaises(RemoteError):
            provider.compose_object('big', {}, ['seg/1'])

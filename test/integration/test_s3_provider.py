"""S3Provider against real S3 servers: a moto server this module starts itself (port 5155, moved
by S3SYNC_DEVENV_PORT_OFFSET like the environment's), and
Swift's s3api from the shared dev environment (``test.integration.env``).

The same target-independent tests run on both. moto checks neither Content-MD5 nor copy-source
conditions nor credentials, so those tests are skipped on moto and proven on s3api.
"""
import hashlib
import io
import json
import os
import socket
import subprocess
import sys
import time
import unittest
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from unittest import mock

import urllib3.connection

from devenv.request_counter import RequestCounter
from devenv.settings import OFFSET_VAR
from s3_sync import metadata
from s3_sync.config import mapping_from_dict
from s3_sync.providers import create_provider
from s3_sync.providers.base import RemoteError
from s3_sync.retry import RetryPolicy
from test.integration.env import IntegrationTest, bypass_http_proxies, s3_client_for

MOTO_HOST = '127.0.0.1'
MOTO_PORT = 5155 + int(os.environ.get(OFFSET_VAR) or 0)
MOTO_TARGET = {'name': 'own-moto', 'aws_endpoint': 'http://%s:%d' % (MOTO_HOST, MOTO_PORT),
               'aws_identity': 'provider-test', 'aws_secret': 'provider-secret',
               'region': 'us-east-1'}
_moto = None


def _port_open(host, port):
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def setUpModule():
    global _moto
    bypass_http_proxies()
    if _port_open(MOTO_HOST, MOTO_PORT):
        raise RuntimeError('port %d is already taken; cannot start moto there' % MOTO_PORT)
    python = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), '.venv', 'bin', 'python')
    _moto = subprocess.Popen(
        [python if os.path.exists(python) else sys.executable, '-c',
         'import sys; from moto.server import main; main(sys.argv[1:])',
         '-H', MOTO_HOST, '-p', str(MOTO_PORT)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.time() + 30
    while True:
        try:
            opener.open('http://%s:%d/moto-api/' % (MOTO_HOST, MOTO_PORT), timeout=1).read()
            return
        except OSError:
            if _moto.poll() is not None or time.time() > deadline:
                tearDownModule()
                raise RuntimeError('moto did not start on port %d' % MOTO_PORT)
            time.sleep(0.1)


def tearDownModule():
    global _moto
    if _moto is not None:
        _moto.terminate()
        try:
            _moto.wait(10)
        except subprocess.TimeoutExpired:
            _moto.kill()
            _moto.wait()
        _moto = None


def md5(data):
    return hashlib.md5(data).hexdigest()


class OnlyReadable:
    """A body that can only be read forward, like a Swift GET stream."""

    def __init__(self, data):
        self._io = io.BytesIO(data)

    def read(self, size=-1):
        return self._io.read(size)


class ProviderContract:
    """Target-independent tests; subclasses say which target and what it can check."""
    verifies_content_md5 = True
    verifies_copy_conditions = True
    verifies_credentials = True
    many_keys = False

    def target(self):
        raise NotImplementedError

    def setUp(self):
        super().setUp()
        self.tgt = self.target()
        self.raw = s3_client_for(self.tgt)
        self.bucket = 'prov-%s' % uuid.uuid4().hex[:12]
        self.raw.create_bucket(Bucket=self.bucket)
        self.addCleanup(self._drop_bucket)
        self.provider = self.make_provider()

    def _drop_bucket(self):
        for page in self.raw.get_paginator('list_objects').paginate(Bucket=self.bucket):
            for obj in page.get('Contents', []):
                self.raw.delete_object(Bucket=self.bucket, Key=obj['Key'])
        self.raw.delete_bucket(Bucket=self.bucket)

    def mapping(self, **kw):
        mapping = {'account': 'AUTH_pr\u00f6v', 'container': 'c\u00f6nt',
                   'aws_bucket': self.bucket, 'aws_endpoint': self.tgt['aws_endpoint'],
                   'aws_identity': self.tgt['aws_identity'],
                   'aws_secret': self.tgt['aws_secret'], 'aws_region': self.tgt['region']}
        mapping.update(kw)
        return mapping

    def make_provider(self, **kw):
        provider = create_provider(mapping_from_dict(self.mapping(**kw)))
        self.addCleanup(provider.close)
        return provider

    def put(self, name, data=b'data', provider=None, **headers):
        headers.setdefault('etag', md5(data))
        headers.setdefault('content-type', 'application/x-test')
        return (provider or self.provider).put_object(name, headers, io.BytesIO(data),
                                                      len(data))

    def counted_provider(self):
        counter = RequestCounter(self.tgt['aws_endpoint']).start()
        self.addCleanup(counter.stop)
        return counter, self.make_provider(aws_endpoint=counter.url)

    # -- names, bodies, metadata -------------------------------------------
    def test_unicode_names_round_trip(self):
        names = ['d\u00edr/\u65e5\u672c\u8a9e \u00f1.txt', 'a+b c%20d&e=f', 'x?y#z']
        for name in names:
            self.assertEqual(self.put(name, name.encode('utf-8')), md5(name.encode('utf-8')))
        for name in names:
            resp = self.provider.get_object(name)
            self.assertEqual((resp.status, b''.join(resp.body)), (200, name.encode('utf-8')))
        self.assertEqual([e['name'] for e in self.provider.list_objects()], sorted(names))
        raw_keys = [o['Key'] for o in self.raw.list_objects(Bucket=self.bucket)['Contents']]
        self.assertIn(self.provider.prefix + names[0], raw_keys)

    def test_zero_byte_object(self):
        self.assertEqual(self.put('empty', b''), md5(b''))
        obj = self.provider.head_object('empty')
        self.assertEqual((obj.size, obj.etag), (0, md5(b'')))
        resp = self.provider.get_object('empty')
        self.assertEqual(b''.join(resp.body), b'')

    def test_metadata_round_trip_with_non_ascii_values(self):
        local = {'x-object-meta-Name': 'caf\u00e9 au lait', 'x-object-meta-ctl': '\x04w',
                 'x-object-meta-plain': 'a b', 'content-type': 'text/plain; charset=utf-8'}
        self.put('meta', **local)
        remote = self.provider.head_object('meta').headers
        self.assertEqual(remote['x-object-meta-name'], 'caf\u00e9 au lait')
        self.assertEqual(remote['x-object-meta-ctl'], '\x04w')
        self.assertTrue(metadata.metadata_matches(local, remote))
        stored = self.raw.head_object(Bucket=self.bucket, Key=self.provider.key('meta'))
        self.assertEqual(stored['Metadata']['ctl'], '=?UTF-8?Q?=04w?=')

    def test_put_streams_a_body_that_cannot_seek(self):
        data = b'x' * 100000
        self.assertEqual(self.provider.put_object('stream', {'etag': md5(data)},
                                                  OnlyReadable(data), len(data)), md5(data))
        self.assertEqual(self.provider.head_object('stream').size, len(data))

    def test_put_with_wrong_content_md5_is_rejected(self):
        if not self.verifies_content_md5:
            self.skipTest('this server does not check Content-MD5')
        with self.assertRaises(RemoteError) as caught:
            self.put('bad', b'actual', etag=md5(b'claimed'))
        self.assertEqual((caught.exception.status, caught.exception.code), (400, 'BadDigest'))
        self.assertIsNone(self.provider.head_object('bad'))

    # -- metadata updates --------------------------------------------------
    def test_update_metadata_replaces_it_in_place(self):
        self.put('obj', b'body', **{'x-object-meta-old': '1'})
        self.assertTrue(self.provider.update_metadata(
            'obj', {'x-object-meta-new': 'n\u00e9w', 'content-type': 'text/x'}, md5(b'body')))
        obj = self.provider.head_object('obj')
        self.assertEqual(obj.etag, md5(b'body'))
        self.assertEqual(obj.headers['x-object-meta-new'], 'n\u00e9w')
        self.assertNotIn('x-object-meta-old', obj.headers)
        self.assertEqual(obj.headers['content-type'], 'text/x')
        self.assertEqual(b''.join(self.provider.get_object('obj').body), b'body')

    def test_update_metadata_with_another_etag_is_false(self):
        self.put('obj', b'body', **{'x-object-meta-old': '1'})
        self.assertFalse(self.provider.update_metadata(
            'obj', {'x-object-meta-new': '2'}, md5(b'other')))
        if self.verifies_copy_conditions:
            self.assertEqual(self.provider.head_object('obj').headers['x-object-meta-old'], '1')
        # else the store copied all the same, and the caller's upload repairs it

    def test_update_metadata_of_missing_object_is_false(self):
        self.assertFalse(self.provider.update_metadata('nope', {}, md5(b'x')))

    # -- deletes -----------------------------------------------------------
    def test_delete_objects_removes_objects_and_manifests_missing_ones_too(self):
        self.put('a')
        self.put('b')
        self.raw.put_object(Bucket=self.bucket, Key=self.provider.manifest_key('a'), Body=b'[]')
        self.provider.delete_objects(['a', 'b', 'missing'])
        self.assertIsNone(self.provider.head_object('a'))
        self.assertIsNone(self.provider.head_object('b'))
        self.assertNotIn('Contents', self.raw.list_objects(Bucket=self.bucket))

    # -- listings ----------------------------------------------------------
    def test_iter_objects_pages_with_markers(self):
        names = ['k%02d' % i for i in range(23)]
        for name in names:
            self.put(name, name.encode())
        self.provider.page_size = 5
        objs = list(self.provider.iter_objects())
        self.assertEqual([o.name for o in objs], names)
        self.assertEqual(objs[3].etag, md5(b'k03'))
        self.assertEqual(objs[3].size, 3)
        self.assertGreater(objs[3].last_modified, time.time() - 3600)
        self.assertEqual([o.name for o in self.provider.iter_objects('k04', 'k17')],
                         names[5:17])
        self.assertEqual([o.name for o in self.provider.iter_objects(prefix='k1')],
                         names[10:20])

    def test_iter_objects_beyond_1000_keys(self):
        if not self.many_keys:
            self.skipTest('1000+ PUTs are only cheap on moto; paging is proven with small pages')
        names = ['m%05d' % i for i in range(1003)]
        for name in names:
            self.raw.put_object(Bucket=self.bucket, Key=self.provider.key(name), Body=b'')
        self.assertEqual([o.name for o in self.provider.iter_objects()], names)

    def test_list_objects_with_delimiter_prefix_and_marker(self):
        for name in ('a/1', 'a/2', 'b', 'c/3'):
            self.put(name)
        listing = self.provider.list_objects(delimiter='/')
        self.assertEqual([e.get('name', e.get('subdir')) for e in listing], ['a/', 'b', 'c/'])
        self.assertEqual(listing[1]['hash'], md5(b'data'))
        self.assertEqual(listing[1]['content_location'], self.provider.content_location)
        self.assertEqual([e['name'] for e in self.provider.list_objects(prefix='a/')],
                         ['a/1', 'a/2'])
        self.assertEqual([e['name'] for e in self.provider.list_objects('a/1', limit=1)],
                         ['a/2'])
        self.assertEqual(self.provider.list_objects('c/3'), [])

    def test_custom_prefix_listing_hides_manifests(self):
        provider = self.make_provider(custom_prefix='')
        self.put('obj', provider=provider)
        self.raw.put_object(Bucket=self.bucket, Key=provider.manifest_key('obj'), Body=b'[]')
        self.assertEqual([e['name'] for e in provider.list_objects()], ['obj'])
        self.assertEqual([o.name for o in provider.iter_objects()], ['obj'])
        self.assertEqual(provider.get_manifest('obj'), [])

    # -- reads -------------------------------------------------------------
    def test_get_object_range_and_conditionals(self):
        self.put('obj', b'hello')
        resp = self.provider.get_object('obj', {'Range': 'bytes=1-2'})
        self.assertEqual((resp.status, b''.join(resp.body)), (206, b'el'))
        resp = self.provider.get_object('obj', {'If-None-Match': '"%s"' % md5(b'hello')})
        self.assertEqual(resp.status, 304)
        resp = self.provider.get_object('missing')
        self.assertEqual(resp.status, 404)
        self.assertEqual(len(b''.join(resp.body)), int(resp.headers['content-length']))
        resp = self.provider.get_object('obj', head=True)
        self.assertEqual((resp.status, resp.headers['etag']), (200, md5(b'hello')))

    def test_raw_read_on_from_a_byte_is_held_to_the_etag(self):
        # What the migrator sends to go on with a source body that broke partway.
        self.put('obj', b'hello world')
        resp = self.provider.get_raw('obj', {'range': 'bytes=6-',
                                             'if-match': '"%s"' % md5(b'hello world')})
        self.assertEqual((resp.status, resp.headers['content-range'], b''.join(resp.body)),
                         (206, 'bytes 6-10/11', b'world'))
        resp = self.provider.get_raw('obj', {'range': 'bytes=6-', 'if-match': '"%s"' % md5(
            b'hello')})
        resp.close()
        self.assertEqual(resp.status, 412)

    def test_lean_object_reads_answer_what_boto3_answers(self):
        """get_object's lean path (providers.s3_get) against boto3's, answer for answer."""
        names = ['obj', 'd\u00edr/\u65e5\u672c \u00f1', 'a+b c%20d&e=f', 'x?y#z', '~t//u']
        for name in names:
            self.put(name, b'hello', **{'x-object-meta-f\u00e4rbe': 'bl\u00e5'})
        lean = self.provider
        self.assertIsNotNone(lean._reader)
        boto = self.make_provider()
        boto._reader = None
        etag = '"%s"' % md5(b'hello')
        cases = [(name, {}, False) for name in names] + [
            ('obj', {}, True), ('missing', {}, False), ('missing', {}, True),
            ('obj', {'Range': 'bytes=1-2'}, False), ('obj', {'Range': 'bytes=9-'}, False),
            ('obj', {'If-None-Match': etag}, False), ('obj', {'If-Match': '"nope"'}, False),
            ('obj', {'If-Modified-Since': 'Fri, 01 Jan 2100 00:00:00 GMT'}, False),
            ('obj', {'If-Unmodified-Since': 'Sat, 01 Jan 2000 00:00:00 GMT'}, True),
            ('obj', {'If-Modified-Since': 'not a date'}, False)]
        for name, headers, head in cases:
            with self.subTest(name=name, headers=headers, head=head):
                self.assertEqual(self._answer(lean, name, headers, head),
                                 self._answer(boto, name, headers, head))

    @staticmethod
    def _answer(provider, name, headers, head):
        resp = provider.get_object(name, dict(headers), head=head)
        try:
            body = b''.join(resp.body)
        finally:
            resp.close()
        volatile = ('date', 'x-amz-request-id', 'x-amz-id-2', 'x-trans-id',
                    'x-openstack-request-id', 'x-amzn-requestid')
        kept = {k: v for k, v in resp.headers.items()
                if k not in volatile and not k.startswith('remote-')}
        return resp.status, kept, body

    def test_get_manifest(self):
        manifest = [{'name': '/segs/\u00e9/1', 'bytes': 5, 'hash': md5(b'x')}]
        self.raw.put_object(Bucket=self.bucket, Key=self.provider.manifest_key('big'),
                            Body=json.dumps(manifest).encode())
        self.assertEqual(self.provider.get_manifest('big'), manifest)
        self.assertIsNone(self.provider.get_manifest('small'))

    # -- setup and errors ----------------------------------------------------
    def test_check_names_a_missing_bucket_and_creates_it_when_asked(self):
        name = 'prov-%s' % uuid.uuid4().hex[:12]
        provider = self.make_provider(aws_bucket=name)
        with self.assertRaises(RemoteError) as caught:
            provider.check()
        self.assertEqual(caught.exception.message, "bucket '%s' does not exist at %s" % (
            name, self.tgt['aws_endpoint']))
        provider.check(create=True)
        self.raw.delete_bucket(Bucket=name)

    def test_bad_credentials_are_access_denied(self):
        if not self.verifies_credentials:
            self.skipTest('this server does not check credentials')
        provider = self.make_provider(aws_secret='wrong-secret')
        with self.assertRaises(RemoteError) as caught:
            provider.check()
        self.assertEqual(caught.exception.status, 403)
        self.assertIn('access denied', caught.exception.message)
        self.assertNotIn('wrong-secret', str(caught.exception))

    def test_sigv2_opt_in_signs_bucket_and_object_requests(self):
        provider = self.make_provider(signature_version='s3')
        provider.check()
        self.put('v2/obj', b'v2', provider=provider)
        self.assertEqual([e['name'] for e in provider.list_objects()], ['v2/obj'])
        provider.delete_objects(['v2/obj'])
        self.assertIsNone(provider.head_object('v2/obj'))

    # -- request economy and throttling ------------------------------------
    def test_one_request_per_operation(self):
        counter, provider = self.counted_provider()
        self.put('a', provider=provider)
        provider.head_object('a')
        provider.update_metadata('a', {'x-object-meta-k': 'v'}, md5(b'data'))
        provider.delete_objects(['a', 'b', 'c'])
        self.assertEqual(dict(counter.counts), {'PUT': 2, 'HEAD': 1, 'POST': 1})

    def test_throttled_requests_are_retried(self):
        counter, provider = self.counted_provider()
        provider.retry = RetryPolicy(attempts=4, base=0.01)
        self.put('a', provider=provider)
        counter.fail_next(2, status=503)
        self.assertEqual(provider.head_object('a').etag, md5(b'data'))
        self.assertEqual(counter.counts['HEAD'], 3)


class TestS3ProviderOnOwnMoto(ProviderContract, unittest.TestCase):
    verifies_content_md5 = False
    verifies_copy_conditions = False
    verifies_credentials = False
    many_keys = True

    def target(self):
        return MOTO_TARGET


class TestS3ProviderOnSwiftS3api(ProviderContract, IntegrationTest):
    def target(self):
        return [t for t in self.s3_targets() if t['name'] == 's3api'][0]

    def test_puts_in_flight_reuse_max_conns_connections(self):
        """s3api keeps connections alive (moto closes each one): PUTs as many at once as the
        pool holds, small ones sent whole and larger ones streamed after the go-ahead, open
        each connection once."""
        provider = self.make_provider(max_conns=4)
        provider.check()
        small, large = b's' * 4096, b'L' * (70 * 1024)
        connect = urllib3.connection.HTTPConnection.connect
        with mock.patch.object(urllib3.connection.HTTPConnection, 'connect',
                               autospec=True, side_effect=connect) as connects, \
                ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda i: self.put('o%03d' % i, small if i % 2 else large,
                                             provider=provider), range(40)))
        self.assertLessEqual(connects.call_count, 4)
        self.assertEqual(len(list(provider.iter_objects())), 40)


if __name__ == '__main__':
    unittest.main()

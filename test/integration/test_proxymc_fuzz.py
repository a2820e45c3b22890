"""Malformed requests against proxymc's Swift and S3 APIs get 4xx, never 5xx.

A fixed list of bad Ranges, listing parameters, invalid UTF-8 names, huge headers, bad copy
sources (Swift ``X-Copy-From``/``Destination``, S3 ``X-Amz-Copy-Source``), bad metadata and
expiry headers, sent raw (S3 ones signed with v4 and v2) to a container holding one object in
the cloud and one on-prem. Checked: no 5xx but S3's 501 ``NotImplemented`` for the bucket and
object subresources s3api does not implement (as a plain Swift's s3api answers them), the named
statuses where Swift gives one (Swift itself answers 500 to the copy headers, see
``proxymc.guard``), the two objects unchanged, and no traceback in proxymc's log.
"""
import os

from botocore.auth import HmacV1Auth, S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from test.integration.namespace import raw_request
from test.integration.test_proxymc import ProxyMCTest

BODY = b'0123456789'
S3_NOT_IMPLEMENTED = ('?policy', '?cors', '?notification', '?website', '/cloud?acl',
                      '/cloud?tagging')
LONG_META = 'X-Object-Meta-' + 'x' * 200


def swift_cases(c):
    """(method, path below /v1/AUTH_test, headers, expected statuses or None for any 4xx)."""
    o = '/%s/cloud' % c
    cases = [('GET', o, {'Range': r}, None) for r in (
        'bytes=9-2', 'bytes=x-y', 'bytes=99-', 'bytes=-0', 'bytes=0-1,abc', 'bytes=-', 'bytes=--1',
        'bytes=' + ','.join('%d-%d' % (i, i) for i in range(200)), 'bytes=0-' + '9' * 30)]
    cases += [('GET', '/%s/local' % c, {'Range': r}, None) for r in (
        'bytes=9-2', 'bytes=99-', 'bytes=0-1,abc')]
    cases += [('GET', '/%s?%s' % (c, q), {}, None) for q in (
        'limit=abc', 'limit=-1', 'limit=%C2%B2', 'limit=' + '9' * 25, 'marker=%FF',
        'end_marker=%FF%FE', 'prefix=%C0', 'delimiter=%FF', 'marker=' + 'x' * 5000,
        'prefix=%00', 'format=%FF', 'reverse=%FF', 'path=%FF', 'marker=%00&reverse=true')]
    cases += [
        ('GET', '/%FF', {}, (412,)), ('HEAD', '/%FF', {}, (412,)),
        ('GET', '/%s/%%FF%%FE' % c, {}, (412,)), ('HEAD', '/%s/%%C0%%80' % c, {}, (412,)),
        ('DELETE', '/%s/%%FF' % c, {}, (412,)), ('POST', '/%s/%%FF' % c, {}, (412,)),
        ('GET', '/%s/%s' % (c, 'x' * 2000), {}, None), ('PUT', '/%s/%s' % (c, 'x' * 2000), {}, (400,)),
        ('HEAD', '/' + 'c' * 300, {}, None), ('GET', '/%s//x' % c, {}, None),
        ('GET', o, {'X-Huge': 'a' * 7000}, (200,)), ('GET', o, {'X-Huge': 'a' * 20000}, (400,)),
        ('GET', o, {'If-Match': '\xff'}, (412,)), ('GET', o, {'If-Modified-Since': 'junk'}, (200,)),
        # copies: what Swift's copy middleware fails on is proxymc-guard's 400
        ('PUT', '/%s/cp' % c, {'X-Copy-From': '%s/%%FF' % c}, (400,)),
        ('PUT', '/%s/cp' % c, {'X-Copy-From': '%s/cloud' % c, 'X-Copy-From-Account': '%FF'},
         (400,)),
        ('COPY', o, {'Destination': '%FF/x'}, (400,)),
        ('COPY', o, {'Destination': '%s/%%FF' % c}, (400,)),
        ('PUT', '/%s/cp' % c, {'X-Copy-From': '%s/a?%%FF' % c}, (400,)),
        ('PUT', '/%s/cp' % c, {'X-Copy-From': 'nocontainer'}, (412,)),
        ('PUT', '/%s/cp' % c, {'X-Copy-From': '%s/missing' % c}, (404,)),
        ('PUT', '/%s/cp' % c, {'X-Copy-From': '%s/%%00' % c}, None),
        ('COPY', o, {}, (412,)),
        # metadata and expiry, as Swift's proxy checks them
        ('POST', o, {'X-Delete-At': '1'}, (400,)), ('POST', o, {LONG_META: 'v'}, (400,)),
        ('POST', o, {'X-Object-Meta-A': '\xff'}, (400,)),
        ('PUT', '/%s/bad' % c, {'X-Object-Meta-A': '\xff'}, (400,)),
        ('PUT', '/%s/bad' % c, {'X-Delete-At': 'abc'}, (400,)),
        ('PUT', '/%s/bad' % c, {'Etag': 'nothex'}, (422,)),
        ('PUT', '/%s/bad' % c, {LONG_META: 'v'}, (400,)),
        ('PUT', '/%s+segments/x' % c, {}, (403,)),
        ('OPTIONS', o, {}, (405,)), ('FOO', '/' + c, {}, (405,)),
    ]
    return cases


def s3_cases(c):
    b = '/' + c
    cases = [('GET', b + '/cloud', {'Range': r}) for r in (
        'bytes=9-2', 'bytes=x-y', 'bytes=99-', 'bytes=0-1,abc', 'bytes=-0')]
    cases += [('GET', b + '?' + q, {}) for q in (
        'max-keys=abc', 'max-keys=-1', 'max-keys=' + '9' * 20, 'marker=%FF', 'prefix=%FF',
        'delimiter=%FF', 'list-type=2&continuation-token=%FF', 'list-type=2&start-after=%FF',
        'encoding-type=bad', 'uploads&key-marker=%FF', 'uploads&upload-id-marker=x',
        'uploads&max-uploads=abc', 'versions', 'acl', 'location')]
    cases += [('GET', b + sub, {}) for sub in S3_NOT_IMPLEMENTED[:4]]
    cases += [
        ('GET', b + '/%FF', {}), ('HEAD', b + '/%FF%FE', {}), ('PUT', b + '/%C0%80', {}),
        ('DELETE', b + '/%FF', {}), ('GET', '/%FF/x', {}), ('GET', b + '/' + 'k' * 1100, {}),
        ('GET', b + '/cloud', {'X-Huge': 'a' * 7000}),
        ('PUT', b + '/cp', {'X-Amz-Copy-Source': '%FF/%FF'}),
        ('PUT', b + '/cp', {'X-Amz-Copy-Source': '%s/%%FF' % c}),
        ('PUT', b + '/cp', {'X-Amz-Copy-Source': '%s/cloud?versionId=%%FF' % c}),
        ('PUT', b + '/cp', {'X-Amz-Copy-Source': '%s/cloud?versionId=x' % c}),
        ('PUT', b + '/cp', {'X-Amz-Copy-Source': 'nobucket'}),
        ('PUT', b + '/cp', {'X-Amz-Copy-Source': '%s/missing' % c}),
        ('PUT', b + '/cp', {'X-Amz-Copy-Source': '%s/cloud' % c,
                            'X-Amz-Metadata-Directive': 'BAD'}),
        ('PUT', b + '/cp', {'X-Amz-Copy-Source': '%s/cloud' % c,
                            'X-Amz-Copy-Source-If-Match': 'nope'}),
        ('PUT', b + '/p?partNumber=abc&uploadId=nope', {}),
        ('PUT', b + '/p?partNumber=1&uploadId=nope', {}),
        ('POST', b + '/p?uploadId=nope', {}), ('DELETE', b + '/p?uploadId=nope', {}),
        ('POST', b + '?delete', {}), ('PUT', b, {}), ('DELETE', b, {}),
        ('GET', b + '/cloud?partNumber=abc', {}), ('PUT', b + '/md', {'Content-MD5': 'bad'}),
        ('PUT', b + '/md', {'X-Amz-Meta-' + 'x' * 300: 'v'}),
    ] + [('PUT', b + path, {}) for path in S3_NOT_IMPLEMENTED[4:]]
    return cases


class TestFuzz(ProxyMCTest):
    def setUp(self):
        super().setUp()
        self.c = self.container()
        self.put_cloud(self.c, 'cloud', BODY)
        self.local.put_object(self.c, 'local', BODY)
        self.log = os.path.join(self.env['log_dir'], 'proxymc.log')
        self.log_start = os.path.getsize(self.log)

    def assertNothingHurt(self):
        self.assertEqual(self.cloud_body(self.c, 'cloud'), BODY)
        self.assertEqual(self.local.get_object(self.c, 'local')[1], BODY)
        self.assertIsNone(self.onprem_head(self.c, 'cp'))
        with open(self.log, 'rb') as f:
            f.seek(self.log_start)
            self.assertNotIn(b'Traceback', f.read())

    def test_swift_api_malformed_requests_get_4xx(self):
        url, token = self.pmc.get_auth()
        for method, path, headers, expected in swift_cases(self.c):
            body = b'x' if method == 'PUT' and 'X-Copy-From' not in headers else None
            status, _h, got = raw_request(url, method, '/v1/AUTH_test' + path,
                                          dict(headers, **{'X-Auth-Token': token}), body)
            case = (method, path[:100], str(headers)[:100], got[:200])
            if expected:
                self.assertIn(status, expected, case)
            else:
                self.assertLess(status, 500, case)
        self.assertNothingHurt()

    def test_s3_api_malformed_requests_get_4xx(self):
        user = self.env['users']['test:tester']
        creds = Credentials('test:tester', user['key'])
        for signature in ('v4', 'v2'):
            for method, path, headers in s3_cases(self.c):
                body = b'x' if method == 'PUT' and 'X-Amz-Copy-Source' not in headers else b''
                status, got = self.s3_raw(creds, signature, method, path, headers, body)
                case = (signature, method, path[:100], str(headers)[:100], got[:300])
                if any(path.endswith(sub) for sub in S3_NOT_IMPLEMENTED):
                    self.assertEqual(status, 501, case)
                    self.assertIn(b'NotImplemented', got, case)
                else:
                    self.assertLess(status, 500, case)
                if headers.get('X-Amz-Copy-Source', '').startswith('%FF'):
                    self.assertIn(b'InvalidArgument', got, case)
        self.assertNothingHurt()

    def s3_raw(self, creds, signature, method, path, headers, body):
        url = self.info['s3_endpoint']
        req = AWSRequest(method=method, url=url + path, headers=dict(headers), data=body)
        if signature == 'v4':
            req.headers['X-Amz-Content-SHA256'] = 'UNSIGNED-PAYLOAD'
            S3SigV4Auth(creds, 's3', self.info['region']).add_auth(req)
        else:
            HmacV1Auth(creds).add_auth(req)
        status, _h, got = raw_request(url, method, path, dict(req.headers.items()),
                                      body if method in ('PUT', 'POST') else None)
        return status, got

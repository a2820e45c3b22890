"""proxymc's dispatch, auth, reads, writes and S3 identity, with a fake on-prem Swift and cloud."""
import io
import json
import os
import shutil
import tempfile
import unittest

from swift.common.middleware import keystoneauth
from swift.common.swob import HTTPForbidden, Request

from s3_sync.providers.base import RemoteError, RemoteObject
from s3_sync.proxymc import containers, guard, reads
from s3_sync.proxymc import app_config
from s3_sync.proxymc.app import ProxyMC
from s3_sync.proxymc.onprem import BYPASS_HEADER, WRITE_CHECK, forwarded_headers, \
    request_target
from s3_sync.proxymc.s3 import S3Identity, unknown_access_key, verified_identity
from s3_sync.proxymc.s3 import filter_factory as s3_filter_factory
from s3_sync.shunt.profiles import Profiles
from test.unit.fakes import NullLogger
from test.unit.test_shunt_fakes import FakeProvider, FakeSwift, md5

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class CloudProvider(FakeProvider):
    """A fake cloud copy that also takes PUTs (and can refuse them like S3 does)."""
    put_error = None

    def put_object(self, name, headers, body, size):
        self.requests.append(('PUT', name, dict(headers)))
        if self.put_error:
            raise self.put_error
        data = body.read(size)
        self.add(name, data, {k: v for k, v in headers.items()
                              if k.startswith('x-object-meta-') or k == 'content-type'})
        return md5(data)

    def iter_objects(self, marker='', end_marker='', prefix=''):
        self.requests.append(('ITER',))
        self._check()
        for name in sorted(self.objects):
            yield RemoteObject(name, md5(self.objects[name][1]), len(self.objects[name][1]), 0)


def owner_only(req):
    """A stand-in for tempauth's authorize: only AUTH_a's owner passes."""
    groups = (req.remote_user or '').split(',')
    if 'AUTH_a' in groups:
        return None
    return HTTPForbidden(request=req) if req.remote_user else \
        HTTPForbidden(request=req, status=401)


class ProxyMCTestCase(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        conf = os.path.join(self.dir, 'sync.json')
        with open(conf, 'w') as f:
            json.dump({'containers': [{
                'account': 'AUTH_a', 'container': '/*', 'aws_bucket': 'bucket',
                'aws_endpoint': 'http://cloud.example', 'aws_identity': 'id',
                'aws_secret': 'SECRET', 'retain_local': False}]}, f)
        self.cloud = CloudProvider()
        self.onprem = FakeSwift()
        self.onprem.containers.add('/v1/AUTH_a/c')
        profiles = Profiles(conf, NullLogger(), provider_factory=lambda *a, **k: self.cloud,
                            select=lambda m: True, name='proxymc')
        self.app = ProxyMC(profiles, self.onprem, NullLogger())

    def request(self, path, method='GET', user='AUTH_a,a:u', body=None, headers=None,
                authorize=owner_only, env=None):
        req = Request.blank(path, method=method, headers=headers or {})
        if body is not None:
            req.body = body
        if authorize:
            req.environ['swift.authorize'] = authorize
        if user:
            req.environ['REMOTE_USER'] = user
        req.environ.update(env or {})
        return req.get_response(self.app)


class TestDispatch(ProxyMCTestCase):
    def test_no_auth_middleware_refuses_everything(self):
        self.cloud.add('o', b'data')
        resp = self.request('/v1/AUTH_a/c/o', authorize=None)
        self.assertEqual(resp.status_int, 403)
        self.assertIn(b'no auth middleware', resp.body)

    def test_unmapped_container_and_account_requests_are_403(self):
        self.assertEqual(self.request('/v1/AUTH_b/c/o', user='AUTH_b,b:u',
                                      authorize=lambda r: None).status_int, 403)
        resp = self.request('/v1/AUTH_a')
        self.assertEqual(resp.status_int, 403)
        self.assertIn(b'account requests', resp.body)

    def test_unsupported_verbs_are_405_with_allow(self):
        resp = self.request('/v1/AUTH_a/c', method='PUT')
        self.assertEqual((resp.status_int, resp.headers['Allow']), (405, 'GET, HEAD'))
        resp = self.request('/v1/AUTH_a/c/o', method='OPTIONS')
        self.assertEqual(resp.status_int, 405)
        self.assertIn('PUT', resp.headers['Allow'])

    def test_bad_paths_are_4xx(self):
        self.assertEqual(self.request('/v1/AUTH_a/c/bad\xff').status_int, 412)
        self.assertEqual(self.request('/v9/AUTH_a/c/o').status_int, 400)
        self.assertEqual(self.request('/nope').status_int, 400)


class TestReads(ProxyMCTestCase):
    def test_cloud_copy_first(self):
        self.cloud.add('o', b'cloud')
        self.onprem.add('/v1/AUTH_a/c/o', b'onprem')
        resp = self.request('/v1/AUTH_a/c/o')
        self.assertEqual((resp.body, resp.headers['X-Proxymc-Source']), (b'cloud', 'cloud'))
        self.assertEqual(self.onprem.calls, [])

    def test_missing_in_the_cloud_falls_back_on_prem_with_bypass_and_the_users_token(self):
        self.onprem.add('/v1/AUTH_a/c/o', b'onprem')
        resp = self.request('/v1/AUTH_a/c/o', headers={'X-Auth-Token': 'tok',
                                                       'Authorization': 'AWS4 secret'})
        self.assertEqual((resp.body, resp.headers['X-Proxymc-Source']), (b'onprem', 'swift'))
        # the fake on-prem app sees the env as proxymc hands it to the HTTP forwarder
        method, path, _q, env = self.onprem.calls[-1]
        self.assertEqual((method, path), ('GET', '/v1/AUTH_a/c/o'))
        headers = forwarded_headers(env)
        self.assertEqual(headers[BYPASS_HEADER], 'true')
        self.assertEqual(headers['X-Auth-Token'], 'tok')
        self.assertNotIn('Authorization', headers)

    def test_a_restoring_mapping_is_read_without_restores_from_one_copy_of_it(self):
        conf = os.path.join(self.dir, 'restoring.json')
        with open(conf, 'w') as f:
            json.dump({'containers': [{
                'account': 'AUTH_a', 'container': 'c', 'aws_bucket': 'bucket',
                'aws_endpoint': 'http://cloud.example', 'aws_identity': 'id',
                'aws_secret': 'SECRET', 'retain_local': False, 'restore_object': True}]}, f)
        profiles = Profiles(conf, NullLogger(), provider_factory=lambda *a, **k: self.cloud,
                            select=lambda m: True, name='proxymc')
        self.app = ProxyMC(profiles, self.onprem, NullLogger())
        self.cloud.add('o', b'cloud')
        for _ in range(2):
            self.assertEqual(self.request('/v1/AUTH_a/c/o').body, b'cloud')
        self.assertEqual(self.onprem.calls, [])         # nothing restored on-prem
        mapping = profiles.lookup('AUTH_a', 'c')
        self.assertTrue(mapping.restore_object)
        self.assertIs(reads._no_restore(mapping), reads._no_restore(mapping))
        self.assertFalse(reads._no_restore(mapping).restore_object)

    def test_cloud_failure_stays_502_when_on_prem_has_nothing(self):
        self.cloud.fail = RemoteError(503, 'down')
        resp = self.request('/v1/AUTH_a/c/o')
        self.assertEqual(resp.status_int, 502)
        self.assertNotIn(b'SECRET', resp.body)
        self.onprem.add('/v1/AUTH_a/c/o', b'onprem')
        self.assertEqual(self.request('/v1/AUTH_a/c/o').body, b'onprem')

    def test_listing_marks_on_prem_entries(self):
        self.cloud.add('b', b'cloud')
        self.onprem.add('/v1/AUTH_a/c/a', b'onprem')
        resp = self.request('/v1/AUTH_a/c?format=json')
        listing = json.loads(resp.body)
        self.assertEqual([(e['name'], e['content_location']) for e in listing],
                         [('a', ['swift']), ('b', [self.cloud.content_location])])


    def test_container_only_in_the_cloud_lists_its_cloud_half(self):
        self.cloud.add('b', b'cloud')
        resp = self.request('/v1/AUTH_a/cloud-only?format=json')
        self.assertEqual([e['name'] for e in json.loads(resp.body)], ['b'])


    def test_container_held_by_neither_side_is_404_not_an_empty_listing(self):
        self.assertEqual(self.request('/v1/AUTH_a/nowhere?format=json').status_int, 404)

    def test_container_head_of_an_on_prem_container_is_the_on_prem_answer(self):
        self.cloud.add('b', b'cloud')
        resp = self.request('/v1/AUTH_a/c', method='HEAD')
        self.assertEqual(resp.status_int, 204)
        self.assertNotIn('X-Proxymc-Source', resp.headers)
        self.assertEqual(self.cloud.requests, [])

    def test_container_head_of_a_cloud_only_container_counts_the_cloud_copy(self):
        self.cloud.add('b', b'cloud')
        self.cloud.add('c', b'more data')
        resp = self.request('/v1/AUTH_a/cloud-only', method='HEAD')
        self.assertEqual(resp.status_int, 204)
        self.assertEqual((resp.headers['X-Container-Object-Count'],
                          resp.headers['X-Container-Bytes-Used'],
                          resp.headers['X-Proxymc-Counts'], resp.headers['X-Proxymc-Source']),
                         ('2', '14', 'exact', 'cloud'))

    def test_container_head_counts_stop_at_the_limit_and_say_so(self):
        for name in 'abc':
            self.cloud.add(name, b'xx')
        self.addCleanup(setattr, containers, 'COUNT_LIMIT', containers.COUNT_LIMIT)
        containers.COUNT_LIMIT = 2
        head = containers.container_head
        resp = Request.blank('/v1/AUTH_a/x', method='HEAD').get_response(
            lambda env, sr: head(self.onprem, env, sr, self.cloud, ('AUTH_a', 'x')))
        self.assertEqual((resp.status_int, resp.headers['X-Container-Object-Count'],
                          resp.headers['X-Proxymc-Counts']), (204, '2', 'at-least'))

    def test_container_head_held_by_neither_side_is_404_and_a_cloud_failure_502(self):
        self.assertEqual(self.request('/v1/AUTH_a/nowhere', method='HEAD').status_int, 404)
        self.cloud.fail = RemoteError(503, 'down')
        resp = self.request('/v1/AUTH_a/nowhere', method='HEAD')
        self.assertEqual(resp.status_int, 502)
        self.assertNotIn(b'SECRET', resp.body)

    def test_big_cloud_bodies_go_out_in_big_pieces_and_whole(self):
        data = os.urandom(3 * 1024 * 1024 + 5)
        self.cloud.add('big', data)
        self.cloud._chunks = lambda body: (body[i:i + 65536]
                                           for i in range(0, len(body), 65536))
        req = Request.blank('/v1/AUTH_a/c/big', environ={'swift.authorize': owner_only,
                                                         'REMOTE_USER': 'AUTH_a,a:u'})
        pieces = []
        body = self.app(req.environ, lambda *a: None)
        for piece in body:
            pieces.append(piece)
        body.close()
        self.assertEqual(b''.join(pieces), data)
        self.assertEqual([len(p) for p in pieces[:-1]], [1024 * 1024] * 3)
        self.assertEqual(self.cloud.closed, 1)


class TestAuth(ProxyMCTestCase):
    def test_reader_refused_here_is_allowed_when_on_prem_lets_them_read(self):
        self.cloud.add('o', b'cloud')
        resp = self.request('/v1/AUTH_a/c/o', user='AUTH_x,x:u')
        self.assertEqual(resp.status_int, 200)
        self.assertEqual(self.onprem.calls[0][:2], ('HEAD', '/v1/AUTH_a/c'))
        self.request('/v1/AUTH_a/c/o', user='AUTH_x,x:u')
        self.assertEqual(len(self.onprem.calls), 1)       # remembered

    def test_reader_refused_on_prem_too_stays_refused(self):
        self.cloud.add('o', b'cloud')
        self.onprem.denied.add('/v1/AUTH_a/c')
        self.assertEqual(self.request('/v1/AUTH_a/c/o', user='AUTH_x,x:u').status_int, 403)
        self.assertEqual(self.request('/v1/AUTH_a/c/o', user=None).status_int, 401)

    def test_writer_refused_here_and_by_the_on_prem_write_check_stays_refused(self):
        self.assertEqual(self.request('/v1/AUTH_a/c/o', method='PUT', body=b'x',
                                      user=None).status_int, 401)
        self.assertEqual(self.onprem.calls, [])     # no write ACL names anonymous users
        self.assertEqual(self.request('/v1/AUTH_a/c/o', method='PUT', body=b'x',
                                      user='AUTH_x,x:u',
                                      headers={'X-Auth-Token': 'tok'}).status_int, 403)
        # one write check: a POST to a name no one uses, with the headers Swift refuses
        [(method, path, _q, env)] = self.onprem.calls
        self.assertEqual(method, 'POST')
        self.assertTrue(path.startswith('/v1/AUTH_a/c/.proxymc-write-check-'), path)
        self.assertTrue(env[WRITE_CHECK])
        self.assertEqual(self.cloud.requests, [])

    def test_writer_the_on_prem_write_acl_lets_write_writes_the_cloud_copy(self):
        self.onprem = WriteACL(self.onprem, readable=False)
        self.app.auth.onprem = self.app.writes.onprem = self.onprem
        resp = self.request('/v1/AUTH_a/c/o', method='PUT', body=b'x', user='AUTH_x,x:u',
                            headers={'X-Auth-Token': 'tok'})
        self.assertEqual(resp.status_int, 201)
        self.assertEqual(self.cloud.objects['o'][1], b'x')
        # the write check carried the user's own token; the on-prem object's HEAD was a 403
        self.assertEqual([(c[0], c[3].get('HTTP_X_AUTH_TOKEN')) for c in self.onprem.calls],
                         [('POST', 'tok'), ('HEAD', 'tok')])
        self.request('/v1/AUTH_a/c/o', method='DELETE', user='AUTH_x,x:u',
                     headers={'X-Auth-Token': 'tok'})
        self.assertNotIn('o', self.cloud.objects)
        self.assertEqual([c[0] for c in self.onprem.calls], ['POST', 'HEAD', 'HEAD'])

    def test_a_write_acl_grants_no_container_writes(self):
        self.onprem = WriteACL(self.onprem)
        self.app.auth.onprem = self.onprem
        self.assertEqual(self.request('/v1/AUTH_a/c', method='PUT',
                                      user='AUTH_x,x:u').status_int, 403)
        self.assertEqual(self.onprem.calls, [])


class WriteACL:
    """The on-prem cluster for a user its write ACL names (and, unless ``readable``, its read
    ACL does not): the write check gets Swift's 400."""

    def __init__(self, swift, readable=True):
        self.swift = swift
        self.readable = readable
        self.calls = []

    def __call__(self, env, start_response):
        self.calls.append((env['REQUEST_METHOD'], env['PATH_INFO'], None, env))
        if env.get(WRITE_CHECK):
            start_response('400 Bad Request', [('Content-Type', 'text/plain')])
            return [b'Metadata name too long: x-object-meta-...']
        if not self.readable and env['REQUEST_METHOD'] in ('GET', 'HEAD'):
            start_response('403 Forbidden', [('Content-Length', '0')])
            return [b'']
        return self.swift(env, start_response)


class TestWrites(ProxyMCTestCase):
    def test_put_goes_to_the_cloud_after_checking_on_prem(self):
        resp = self.request('/v1/AUTH_a/c/new.txt', method='PUT', body=b'data',
                            headers={'X-Object-Meta-K': 'v'})
        self.assertEqual(resp.status_int, 201)
        self.assertEqual(resp.headers['Etag'], md5(b'data'))
        self.assertEqual(self.cloud.objects['new.txt'][1], b'data')
        self.assertEqual(self.cloud.objects['new.txt'][0]['content-type'], 'text/plain')
        self.assertEqual([c[:2] for c in self.onprem.calls], [('HEAD', '/v1/AUTH_a/c/new.txt')])

    def test_objects_on_prem_are_not_written_anywhere(self):
        self.onprem.add('/v1/AUTH_a/c/o', b'onprem')
        for method in ('PUT', 'POST', 'DELETE'):
            resp = self.request('/v1/AUTH_a/c/o', method=method,
                                body=b'x' if method == 'PUT' else None)
            self.assertEqual(resp.status_int, 409, method)
        self.assertEqual(self.cloud.requests, [])
        self.assertEqual([c[0] for c in self.onprem.calls], ['HEAD'] * 3)
        # S3 clients get AccessDenied instead (s3api turns a 409 into a 503)
        resp = self.request('/v1/AUTH_a/c/o', method='DELETE',
                            env={'s3api.auth_details': {'access_key': 'a:u'}})
        self.assertEqual(resp.status_int, 403)

    def test_put_refusals(self):
        self.cloud.put_error = RemoteError(400, 'bad digest', code='BadDigest')
        self.assertEqual(self.request('/v1/AUTH_a/c/o', method='PUT', body=b'x').status_int,
                         422)
        self.assertEqual(self.request('/v1/AUTH_a/c/o?multipart-manifest=put', method='PUT',
                                      body=b'[]').status_int, 400)
        req_env = {'wsgi.input': io.BytesIO(b'xx')}
        resp = self.request('/v1/AUTH_a/c/o', method='PUT', env=dict(
            req_env, HTTP_TRANSFER_ENCODING='chunked'))
        self.assertEqual(resp.status_int, 411)

    def test_delete_and_post_reach_the_cloud_copy(self):
        self.cloud.add('o', b'cloud', {'x-object-meta-old': '1'})
        self.assertEqual(self.request('/v1/AUTH_a/c/o', method='POST',
                                      headers={'X-Object-Meta-New': '2'}).status_int, 202)
        self.assertEqual(self.cloud.objects['o'][0].get('x-object-meta-new'), '2')
        self.assertEqual(self.request('/v1/AUTH_a/c/o', method='DELETE').status_int, 204)
        self.assertNotIn('o', self.cloud.objects)
        self.assertEqual(self.request('/v1/AUTH_a/c/o', method='DELETE').status_int, 404)


class ComposingCloud(CloudProvider):
    def key(self, name):
        return 'prefix/' + name

    def compose_object(self, name, headers, keys):
        self.requests.append(('COMPOSE', name, tuple(keys), headers.get('content-type')))
        return 'abc-%d' % len(keys)


class TestMultipart(ProxyMCTestCase):
    S3 = {'s3api.auth_details': {'access_key': 'a:u'}}

    def setUp(self):
        super().setUp()
        self.cloud = ComposingCloud()

    def complete(self, manifest, path='/v1/AUTH_a/c/o'):
        return self.request(path + '?multipart-manifest=put', method='PUT',
                            body=json.dumps(manifest).encode(), env=self.S3)

    def test_segments_container_is_the_clouds_alone(self):
        for method, status in (('HEAD', 204), ('PUT', 201)):
            resp = self.request('/v1/AUTH_a/c+segments', method=method, env=self.S3)
            self.assertEqual(resp.status_int, status)
            self.assertEqual(resp.headers['X-Backend-Recheck-Container-Existence'], '1')
        self.request('/v1/AUTH_a/c+segments/o/upload/1', method='PUT', body=b'part', env=self.S3)
        self.assertEqual(self.onprem.calls, [])
        self.assertEqual(self.cloud.objects['o/upload/1'][1], b'part')

    def test_completing_composes_the_parts_and_drops_them(self):
        self.cloud.add('o/u/1', b'a' * (5 * 1024 * 1024))
        self.cloud.add('o/u/2', b'tail')
        resp = self.complete([{'path': '/c+segments/o/u/1', 'etag': md5(b'a' * 5242880)},
                              {'path': '/c+segments/o/u/2', 'etag': md5(b'tail')}])
        self.assertEqual((resp.status_int, resp.headers['Etag']), (201, 'abc-2'))
        self.assertIn(('COMPOSE', 'o', ('prefix/o/u/1', 'prefix/o/u/2'), None),
                      self.cloud.requests)
        self.assertNotIn('o/u/1', self.cloud.objects)

    def test_completing_refuses_bad_manifests_as_s3api_understands(self):
        self.cloud.add('o/u/1', b'small')
        self.cloud.add('o/u/2', b'tail')
        cases = [([{'path': '/c+segments/o/u/1'}, {'path': '/c+segments/o/u/2'}],
                  b'at least'),
                 ([{'path': '/c+segments/o/u/9'}], b'404 Not Found'),
                 ([{'path': '/c+segments/o/u/2', 'etag': 'f' * 32}], b'Etag Mismatch'),
                 ([{'path': '/other/o/u/2'}], b'not a part'),
                 ('nonsense', b'Invalid manifest')]
        for manifest, message in cases:
            resp = self.complete(manifest)
            self.assertEqual(resp.status_int, 400, manifest)
            self.assertIn(message, resp.body)
        self.assertFalse([r for r in self.cloud.requests if r[0] == 'COMPOSE'])

    def test_swift_api_manifest_puts_stay_refused(self):
        resp = self.request('/v1/AUTH_a/c/o?multipart-manifest=put', method='PUT', body=b'[]')
        self.assertEqual(resp.status_int, 400)


class FakeTokens:
    def __init__(self):
        self.asked = []

    def token(self, access_key, secret):
        self.asked.append((access_key, secret))
        return 'AUTH_tk-of-' + access_key


class TestS3Identity(unittest.TestCase):
    def call(self, details, secret, token=None):
        env = {'s3api.auth_details': details}
        if token:
            env['HTTP_X_AUTH_TOKEN'] = token
        seen = []

        def app(env, start_response):
            if secret is not None:      # what tempauth does
                seen.append(env['s3api.auth_details']['check_signature'](secret))
            return []
        self.tokens = FakeTokens()
        S3Identity(app, self.tokens)(env, lambda *a: None)
        return env, seen

    def test_a_verified_key_buys_the_users_own_on_prem_token(self):
        good = {'access_key': 'a:u', 'check_signature': lambda key: key == 'right'}
        env, seen = self.call(good, 'right')
        self.assertEqual((seen, verified_identity(env)), ([True], ('a:u', 'right')))
        self.assertEqual(env['HTTP_X_AUTH_TOKEN'], 'AUTH_tk-of-a:u')
        self.assertEqual(self.tokens.asked, [('a:u', 'right')])

    def test_a_wrong_key_buys_nothing(self):
        bad = {'access_key': 'a:u', 'check_signature': lambda key: key == 'right'}
        env, seen = self.call(bad, 'wrong')
        self.assertEqual((seen, verified_identity(env)), ([False], None))
        self.assertNotIn('HTTP_X_AUTH_TOKEN', env)
        self.assertEqual(self.tokens.asked, [])
        self.assertFalse(unknown_access_key(env))

    def test_a_signature_never_checked_means_an_unknown_access_key(self):
        env, _seen = self.call({'access_key': 'x:y', 'check_signature': lambda key: True},
                               None)
        self.assertTrue(unknown_access_key(env))

    def test_filter_needs_the_on_prem_url(self):
        with self.assertRaisesRegex(ValueError, 'swift_url'):
            s3_filter_factory({})


class TestConfig(unittest.TestCase):
    def test_options_are_checked(self):
        self.assertEqual(app_config({'swift_url': 'http://s'})['reload_interval'], 5.0)
        with self.assertRaisesRegex(ValueError, 'swift_url'):
            app_config({})
        with self.assertRaisesRegex(ValueError, 'remote_timeout'):
            app_config({'swift_url': 'http://s', 'remote_timeout': 'soon'})

    def test_on_prem_request_target_quotes_utf8(self):
        env = {'PATH_INFO': '/v1/a/c/\xe2\x98\x83 x', 'QUERY_STRING': 'prefix=\xc3\xa9&a=b'}
        self.assertEqual(request_target(env), '/v1/a/c/%E2%98%83%20x?prefix=%C3%A9&a=b')

    def test_example_paste_config_loads(self):
        from swift.common.wsgi import loadapp
        path = os.path.join(REPO, 'etc', 'proxymc.conf-sample')
        app = loadapp(path, global_conf={'swift_dir': self.id()})
        while hasattr(app, 'app'):
            app = app.app
        self.assertIsInstance(app, ProxyMC)


class TestGuard(unittest.TestCase):
    def setUp(self):
        self.seen = []

        def app(env, start_response):
            self.seen.append(env['PATH_INFO'])
            start_response('201 Created', [('Content-Length', '0')])
            return [b'']
        self.guard = guard.filter_factory({})(app)

    def test_copy_headers_that_are_not_utf8_are_400_before_swifts_middlewares(self):
        for method, headers in (('PUT', {'X-Copy-From': 'c/%FF'}),
                                ('PUT', {'X-Copy-From': 'c/o', 'X-Copy-From-Account': '%C0'}),
                                ('COPY', {'Destination': '%FF/x'}),
                                ('COPY', {'Destination': 'c/x', 'Destination-Account': '%FE'})):
            resp = Request.blank('/v1/a/c/o', method=method, headers=headers).get_response(
                self.guard)
            self.assertEqual(resp.status_int, 400, headers)
            self.assertIn(b'not UTF-8', resp.body)
        # a query part is the object name's ('?' is a name character)
        resp = Request.blank('/v1/a/c/o', method='PUT', headers={
            'X-Copy-From': 'c/a?%FF'}).get_response(self.guard)
        self.assertEqual(resp.status_int, 400)
        resp = Request.blank('/b/k', method='PUT', headers={
            'X-Amz-Copy-Source': '%FF/%FF'}).get_response(self.guard)
        self.assertEqual(resp.status_int, 400)
        self.assertIn(b'<Code>InvalidArgument</Code>', resp.body)
        self.assertEqual(self.seen, [])

    def test_good_copy_headers_and_other_methods_pass(self):
        for method, headers in (('PUT', {'X-Copy-From': 'c/%E2%98%83'}),
                                ('PUT', {'X-Amz-Copy-Source': 'b/k%C3%BC?versionId=a'}),
                                ('GET', {'Destination': '%FF'}),
                                ('COPY', {'Destination': 'c/\u2603'.encode().decode('latin-1')})):
            resp = Request.blank('/v1/a/c/o', method=method, headers=headers).get_response(
                self.guard)
            self.assertEqual(resp.status_int, 201, headers)


class TestWriteChecks(ProxyMCTestCase):
    def test_post_gets_swifts_checks_and_utf8_metadata(self):
        self.cloud.add('o', b'cloud')
        for headers, text in (({'X-Delete-At': '1'}, b'X-Delete-At in past'),
                              ({'X-Object-Meta-' + 'x' * 200: 'v'}, b'Metadata name too long'),
                              ({'X-Object-Meta-A': '\xff'}, b'Metadata must be valid UTF-8')):
            resp = self.request('/v1/AUTH_a/c/o', method='POST', headers=headers)
            self.assertEqual(resp.status_int, 400, headers)
            self.assertIn(text, resp.body)
        self.assertEqual([r[0] for r in self.cloud.requests], [])

    def test_put_with_non_utf8_metadata_or_an_etag_no_body_has_is_refused(self):
        resp = self.request('/v1/AUTH_a/c/o', method='PUT', body=b'x',
                            headers={'X-Object-Meta-A': '\xff\xfe'})
        self.assertEqual(resp.status_int, 400)
        resp = self.request('/v1/AUTH_a/c/o', method='PUT', body=b'x',
                            headers={'Etag': 'nothex'})
        self.assertEqual(resp.status_int, 422)
        self.assertNotIn('o', self.cloud.objects)

    def test_swift_api_requests_never_write_a_segments_container(self):
        resp = self.request('/v1/AUTH_a/c+segments/x', method='PUT', body=b'x')
        self.assertEqual(resp.status_int, 403)
        self.assertEqual(self.cloud.requests, [])


class TestKeystone(ProxyMCTestCase):
    """Behind Swift's real keystoneauth, fed the identity headers authtoken sets (no Keystone
    server here: what authtoken itself checks is not tested)."""

    def setUp(self):
        super().setUp()
        self.pipeline = keystoneauth.filter_factory(
            {}, operator_roles='admin, member', reseller_prefix='AUTH_')(self.app)

    def keystone(self, path, project='a', roles='member', method='GET', body=None,
                 confirmed=True):
        headers = {'X-Auth-Token': 'ks-token-of-%s' % project}
        if confirmed:
            headers.update({'X-Identity-Status': 'Confirmed', 'X-Roles': roles,
                            'X-Project-Id': project, 'X-Project-Name': 'p-' + project,
                            'X-User-Id': 'u-' + project, 'X-User-Name': 'user-' + project})
        req = Request.blank(path, method=method, headers=headers)
        if body is not None:
            req.body = body
        return req.get_response(self.pipeline)

    def test_project_member_reads_both_sides_with_its_own_token_on_prem(self):
        self.cloud.add('o', b'cloud')
        self.onprem.add('/v1/AUTH_a/c/local', b'onprem')
        self.assertEqual(self.keystone('/v1/AUTH_a/c/o').body, b'cloud')
        self.assertEqual(self.keystone('/v1/AUTH_a/c/local').body, b'onprem')
        [(_m, path, _q, env)] = self.onprem.calls
        self.assertEqual((path, env['HTTP_X_AUTH_TOKEN']), ('/v1/AUTH_a/c/local',
                                                            'ks-token-of-a'))

    def test_project_member_writes_the_cloud_copy(self):
        resp = self.keystone('/v1/AUTH_a/c/new', method='PUT', body=b'data')
        self.assertEqual(resp.status_int, 201)
        self.assertEqual(self.cloud.objects['new'][1], b'data')

    def test_another_project_is_refused_unless_the_on_prem_acls_allow(self):
        self.cloud.add('o', b'cloud')
        self.onprem.denied.add('/v1/AUTH_a/c')
        self.assertEqual(self.keystone('/v1/AUTH_a/c/o', project='b').status_int, 403)
        self.assertEqual(self.keystone('/v1/AUTH_a/c/o', project='b', method='PUT',
                                       body=b'x').status_int, 403)
        # the on-prem answers were asked with that user's own token
        self.assertEqual({c[3].get('HTTP_X_AUTH_TOKEN') for c in self.onprem.calls},
                         {'ks-token-of-b'})
        self.onprem.denied.clear()
        self.assertEqual(self.keystone('/v1/AUTH_a/c/o', project='b').body, b'cloud')
        self.onprem = WriteACL(self.onprem)
        self.app.auth.onprem = self.app.writes.onprem = self.onprem
        self.assertEqual(self.keystone('/v1/AUTH_a/c/w', project='b', method='PUT',
                                       body=b'x').status_int, 201)

    def test_unconfirmed_token_and_member_without_operator_role_are_refused(self):
        self.cloud.add('o', b'cloud')
        self.onprem.denied.add('/v1/AUTH_a/c')
        self.assertEqual(self.keystone('/v1/AUTH_a/c/o', confirmed=False).status_int, 401)
        self.assertEqual(self.keystone('/v1/AUTH_a/c/o', roles='observer').status_int, 403)
        self.assertEqual(self.keystone('/v1/AUTH_a/c/o', project='b',
                                       roles='ResellerAdmin').body, b'cloud')

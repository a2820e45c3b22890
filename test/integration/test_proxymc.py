"""proxymc in the dev environment (its own server, Swift and S3 APIs), against moto.

Two mappings, as an operator would have them: an archive ``"/*"`` mapping of the test account
(``AUTH_test``, every container) and a sync mapping of one named container of ``AUTH_test2``.
Objects "in the cloud" are written to the bucket at the key layout's place (as the sync daemon
leaves them), objects "on-prem" through proxy B (no shunt), so each test knows exactly where
each object lives. The layer writes ``sync.json`` once (proxymc re-reads it within a second;
the first test waits until a probe object is served) and empties it at the end.
"""
import hashlib
import json
import os
import time
from urllib.parse import urlsplit

import swiftclient

from devenv.daemons import s3_mapping
from s3_sync import metadata
from test.integration.env import EnvLayer, IntegrationTest, empty_and_delete_bucket, \
    empty_and_delete_container
from test.integration.namespace import md5, new_bucket, object_key, put_archived, \
    put_archived_slo, raw_request, wait_until_served, write_sync_conf


class ProxyMCLayer(EnvLayer):
    bucket = None
    s3 = None
    mappings = None

    @classmethod
    def setUp(cls):
        env = EnvLayer.info
        moto = [t for t in env['s3_targets'] if t['name'] == 'moto'][0]
        cls.s3, cls.bucket = new_bucket(moto, 'proxymc')
        cls.sync_container = IntegrationTest.unique_name('sync')
        cls.mappings = {
            'archive': s3_mapping(moto, cls.bucket, 'AUTH_test', '/*', retain_local=False,
                                  propagate_delete=False, merge_namespaces=True),
            'sync': s3_mapping(moto, cls.bucket, 'AUTH_test2', cls.sync_container),
        }
        write_sync_conf(env['sync_conf'], list(cls.mappings.values()))

    @classmethod
    def tearDown(cls):
        if EnvLayer.info:
            write_sync_conf(EnvLayer.info['sync_conf'], [])
        if cls.s3:
            empty_and_delete_bucket(cls.s3, cls.bucket)


class ProxyMCTest(IntegrationTest):
    layer = ProxyMCLayer
    probed = False

    def setUp(self):
        super().setUp()
        self.info = self.env['proxymc']
        self.s3 = ProxyMCLayer.s3
        self.bucket = ProxyMCLayer.bucket
        self.local = self.swift_conn(shunt=False)           # on-prem truth
        self.pmc = self.pmc_conn('test:tester')
        if not ProxyMCTest.probed:
            self._wait_for_reload()
            ProxyMCTest.probed = True

    # -- helpers ------------------------------------------------------------------
    def pmc_conn(self, user, key=None, storage_url=None):
        """A Swift client of proxymc; ``storage_url``: another account's than the user's."""
        key = key or self.env['users'][user]['key']
        options = {'object_storage_url': storage_url} if storage_url else {}
        return swiftclient.Connection(self.info['auth_url'], user, key, retries=0,
                                      os_options=options)

    def _wait_for_reload(self):
        container = self.container()
        self.put_cloud(container, 'probe', b'probe')
        wait_until_served(self.pmc, container, 'probe', (403, 404))

    def container(self, conn=None, account='AUTH_test'):
        """A fresh on-prem container of the archive mapping (``"/*"`` of AUTH_test)."""
        conn = conn or self.local
        name = self.unique_name('pmc')
        conn.put_container(name)
        self.addCleanup(empty_and_delete_container, conn, name)
        return name

    @staticmethod
    def mapping(account):
        return ProxyMCLayer.mappings['archive' if account == 'AUTH_test' else 'sync']

    def key(self, container, name, account='AUTH_test'):
        return object_key(self.mapping(account), account, container, name)

    def put_cloud(self, container, name, body, headers=None, account='AUTH_test'):
        put_archived(self.s3, self.bucket, self.mapping(account), account, container, name,
                     body, headers)

    def cloud_keys(self, container, account='AUTH_test'):
        prefix = self.key(container, '', account)
        resp = self.s3.list_objects(Bucket=self.bucket, Prefix=prefix)
        return sorted(o['Key'][len(prefix):] for o in resp.get('Contents', []))

    def cloud_body(self, container, name, account='AUTH_test'):
        return self.s3.get_object(Bucket=self.bucket,
                                  Key=self.key(container, name, account))['Body'].read()

    def onprem_head(self, container, name, conn=None):
        try:
            return (conn or self.local).head_object(container, name)
        except swiftclient.ClientException as err:
            if err.http_status == 404:
                return None
            raise

    def raw(self, method, path, headers=None, body=None, token=True):
        url, auth = self.pmc.get_auth()
        headers = dict(headers or {})
        if token:
            headers['X-Auth-Token'] = auth
        return raw_request(url, method, '/v1' + path, headers, body)

    def assertStatus(self, expected, func, *args, **kwargs):
        with self.assertRaises(swiftclient.ClientException) as ctx:
            func(*args, **kwargs)
        self.assertEqual(ctx.exception.http_status, expected, ctx.exception)


class TestReads(ProxyMCTest):
    def test_cloud_only_object_is_served_from_the_cloud_copy_with_decoded_metadata(self):
        c = self.container()
        self.put_cloud(c, 'only-cloud', b'from the cloud', {
            'content-type': 'text/plain', 'x-object-meta-colour': 'bl\u00e9u \u2603'})
        headers, body = self.pmc.get_object(c, 'only-cloud')
        self.assertEqual(body, b'from the cloud')
        self.assertEqual(headers['x-object-meta-colour'], 'bl\u00e9u \u2603')
        self.assertEqual(headers['content-type'], 'text/plain')
        self.assertEqual(headers['etag'], md5(b'from the cloud'))
        self.assertEqual(headers['x-proxymc-source'], 'cloud')
        head = self.pmc.head_object(c, 'only-cloud')
        self.assertEqual(head['content-length'], '14')
        self.assertEqual(head['x-object-meta-colour'], 'bl\u00e9u \u2603')

    def test_onprem_only_object_falls_back_to_the_onprem_cluster(self):
        c = self.container()
        self.local.put_object(c, 'only-onprem', b'on-prem bytes',
                              headers={'X-Object-Meta-Owner': '\u00e5sa'})
        headers, body = self.pmc.get_object(c, 'only-onprem')
        self.assertEqual(body, b'on-prem bytes')
        self.assertEqual(headers['x-proxymc-source'], 'swift')
        self.assertEqual(headers['x-object-meta-owner'], '\u00e5sa')
        self.assertEqual(self.pmc.head_object(c, 'only-onprem')['content-length'], '13')

    def test_object_in_both_places_is_served_from_the_cloud_copy(self):
        c = self.container()
        self.local.put_object(c, 'both', b'on-prem version')
        self.put_cloud(c, 'both', b'cloud version')
        self.assertEqual(self.pmc.get_object(c, 'both')[1], b'cloud version')

    def test_unicode_names_on_both_sides(self):
        c = self.container()
        self.put_cloud(c, 'cl\u00f6ud/\u65e5\u672c', b'cloud unicode')
        self.local.put_object(c, 'l\u00f6cal/\u2603', b'local unicode')
        self.assertEqual(self.pmc.get_object(c, 'cl\u00f6ud/\u65e5\u672c')[1], b'cloud unicode')
        self.assertEqual(self.pmc.get_object(c, 'l\u00f6cal/\u2603')[1], b'local unicode')
        names = [e['name'] for e in self.pmc.get_container(c)[1]]
        self.assertEqual(names, ['cl\u00f6ud/\u65e5\u672c', 'l\u00f6cal/\u2603'])

    def test_missing_everywhere_is_404(self):
        c = self.container()
        self.assertStatus(404, self.pmc.get_object, c, 'nothing')
        self.assertStatus(404, self.pmc.head_object, c, 'nothing')

    def test_range_get_on_both_sides(self):
        c = self.container()
        self.put_cloud(c, 'cloud', b'0123456789')
        self.local.put_object(c, 'local', b'abcdefghij')
        for name, expected in (('cloud', b'234'), ('local', b'cde')):
            headers, body = self.pmc.get_object(c, name, headers={'Range': 'bytes=2-4'})
            self.assertEqual(body, expected, name)
            self.assertEqual(headers['content-range'], 'bytes 2-4/10', name)
        status, _h, _b = self.raw('GET', '/AUTH_test/%s/cloud' % c,
                                  {'Range': 'bytes=20-30'})
        self.assertEqual(status, 416)
        status, _h, _b = self.raw('GET', '/AUTH_test/%s/local' % c,
                                  {'Range': 'bytes=20-30'})
        self.assertEqual(status, 416)

    def test_conditional_requests_on_both_sides(self):
        c = self.container()
        self.put_cloud(c, 'cloud', b'cloud body')
        self.local.put_object(c, 'local', b'local body')
        for name, body in (('cloud', b'cloud body'), ('local', b'local body')):
            path = '/AUTH_test/%s/%s' % (c, name)
            status, _h, _b = self.raw('GET', path, {'If-None-Match': '"%s"' % md5(body)})
            self.assertEqual(status, 304, name)
            status, _h, _b = self.raw('GET', path, {'If-Match': '"nope"'})
            self.assertEqual(status, 412, name)
            status, _h, got = self.raw('GET', path, {'If-Match': '*'})
            self.assertEqual((status, got), (200, body), name)
        status, _h, _b = self.raw('GET', '/AUTH_test/%s/none' % c, {'If-Match': '*'})
        self.assertEqual(status, 412)

    def test_slo_in_the_cloud_is_served_whole_with_its_swift_etag(self):
        c = self.container()
        segments = [b'a' * 5 * 1024 * 1024, b'b' * 100]
        put_archived_slo(self.s3, self.bucket, self.mapping('AUTH_test'), 'AUTH_test', c, 'big',
                         segments, c + '_segments')
        headers, body = self.pmc.get_object(c, 'big')
        self.assertEqual(body, b''.join(segments))
        slo_etag = md5(''.join(md5(s) for s in segments).encode())
        self.assertEqual(headers['etag'], '"%s"' % slo_etag)
        self.assertEqual(headers['x-static-large-object'], 'True')
        _h, raw = self.pmc.get_object(c, 'big', query_string='multipart-manifest=get')
        self.assertEqual([s['hash'] for s in json.loads(raw)], [md5(s) for s in segments])


class TestListings(ProxyMCTest):
    def fill(self):
        c = self.container()
        for i in range(10):
            name = 'obj-%02d' % i
            if i % 2:
                self.put_cloud(c, name, b'cloud %d' % i)
            else:
                self.local.put_object(c, name, b'local %d' % i)
        self.local.put_object(c, 'obj-03', b'on both sides')
        return c

    def test_listing_merges_both_sides_saying_where_each_entry_lives(self):
        c = self.fill()
        listing = self.pmc.get_container(c)[1]
        self.assertEqual([e['name'] for e in listing], ['obj-%02d' % i for i in range(10)])
        where = {e['name']: e['content_location'] for e in listing}
        self.assertEqual(where['obj-00'], ['swift'])
        self.assertEqual(len(where['obj-01']), 1)
        self.assertIn(self.bucket, where['obj-01'][0])
        self.assertEqual(where['obj-03'][1:], ['swift'])

    def test_listing_paged_by_marker_across_both_sides(self):
        c = self.fill()
        seen, marker = [], ''
        for _page in range(10):
            page = self.pmc.get_container(c, marker=marker, limit=3)[1]
            if not page:
                break
            self.assertLessEqual(len(page), 3)
            seen += [e['name'] for e in page]
            marker = page[-1]['name']
        self.assertEqual(seen, ['obj-%02d' % i for i in range(10)])
        page = self.pmc.get_container(c, marker='obj-02', end_marker='obj-06')[1]
        self.assertEqual([e['name'] for e in page], ['obj-03', 'obj-04', 'obj-05'])
        page = self.pmc.get_container(c, limit=2, query_string='reverse=true')[1]
        self.assertEqual([e['name'] for e in page], ['obj-09', 'obj-08'])

    def test_listing_prefix_and_delimiter(self):
        c = self.container()
        self.put_cloud(c, 'a/cloud', b'x')
        self.local.put_object(c, 'a/local', b'x')
        self.local.put_object(c, 'b/local', b'x')
        self.put_cloud(c, 'top', b'x')
        page = self.pmc.get_container(c, delimiter='/')[1]
        self.assertEqual([e.get('subdir', e.get('name')) for e in page], ['a/', 'b/', 'top'])
        page = self.pmc.get_container(c, prefix='a/')[1]
        self.assertEqual([e['name'] for e in page], ['a/cloud', 'a/local'])

    def test_listing_formats_plain_and_xml(self):
        c = self.container()
        self.put_cloud(c, 'cloud', b'x')
        self.local.put_object(c, 'local', b'x')
        status, headers, body = self.raw('GET', '/AUTH_test/%s' % c)
        self.assertEqual((status, body), (200, b'cloud\nlocal\n'))
        status, headers, body = self.raw('GET', '/AUTH_test/%s?format=xml' % c)
        self.assertEqual(status, 200)
        self.assertIn(b'<name>cloud</name>', body)
        self.assertIn(b'<name>local</name>', body)
        self.assertTrue(headers['content-type'].startswith('application/xml'))

    def test_container_only_in_the_cloud_heads_and_lists_and_one_nowhere_is_404(self):
        c = self.unique_name('pmc-cloud')      # no on-prem container of that name
        self.put_cloud(c, 'a', b'12345')
        self.pmc.put_object(c, 'b \u2603', b'xyz')       # a write makes one too
        headers = self.pmc.head_container(c)
        self.assertEqual((headers['x-container-object-count'],
                          headers['x-container-bytes-used'], headers['x-proxymc-counts']),
                         ('2', '8', 'exact'))
        self.assertEqual([e['name'] for e in self.pmc.get_container(c)[1]], ['a', 'b \u2603'])
        nowhere = self.unique_name('pmc-none')
        self.assertStatus(404, self.pmc.head_container, nowhere)
        self.assertStatus(404, self.pmc.get_container, nowhere)
        with self.assertRaises(swiftclient.ClientException):
            self.local.head_container(c)

    def test_container_head_is_the_onprem_one(self):
        c = self.container()
        self.local.put_object(c, 'local', b'x')
        headers = self.pmc.head_container(c)
        self.assertEqual(headers['x-container-object-count'], '1')


class TestWrites(ProxyMCTest):
    def test_put_lands_in_the_cloud_bucket_only(self):
        c = self.container()
        etag = self.pmc.put_object(c, 'new \u2603', b'written to the cloud',
                                   headers={'X-Object-Meta-Tag': '\u00e9t\u00e9',
                                            'Content-Type': 'text/plain'})
        self.assertEqual(etag, md5(b'written to the cloud'))
        self.assertEqual(self.cloud_body(c, 'new \u2603'), b'written to the cloud')
        self.assertIsNone(self.onprem_head(c, 'new \u2603'))
        headers, body = self.pmc.get_object(c, 'new \u2603')
        self.assertEqual((body, headers['x-object-meta-tag']),
                         (b'written to the cloud', '\u00e9t\u00e9'))
        self.assertEqual(headers['content-type'], 'text/plain')

    def test_writes_to_an_object_that_exists_onprem_are_refused_and_change_nothing(self):
        c = self.container()
        self.local.put_object(c, 'mine', b'on-prem data')
        self.assertStatus(409, self.pmc.put_object, c, 'mine', b'overwrite')
        self.assertStatus(409, self.pmc.delete_object, c, 'mine')
        self.assertStatus(409, self.pmc.post_object, c, 'mine', {'X-Object-Meta-A': 'b'})
        self.assertEqual(self.local.get_object(c, 'mine')[1], b'on-prem data')
        self.assertEqual(self.cloud_keys(c), [])

    def test_delete_removes_the_cloud_copy_only(self):
        c = self.container()
        self.put_cloud(c, 'cloudy', b'x')
        self.pmc.delete_object(c, 'cloudy')
        self.assertEqual(self.cloud_keys(c), [])
        self.assertStatus(404, self.pmc.get_object, c, 'cloudy')
        self.assertStatus(404, self.pmc.delete_object, c, 'cloudy')

    def test_post_changes_the_metadata_of_the_cloud_copy(self):
        c = self.container()
        self.put_cloud(c, 'meta', b'x', {'x-object-meta-old': '1', 'content-type': 'text/x'})
        self.pmc.post_object(c, 'meta', {'X-Object-Meta-New': '\u2603'})
        headers = self.pmc.head_object(c, 'meta')
        self.assertEqual(headers['x-object-meta-new'], '\u2603')
        self.assertNotIn('x-object-meta-old', headers)
        self.assertEqual(headers['content-type'], 'text/x')
        self.assertStatus(404, self.pmc.post_object, c, 'none', {'X-Object-Meta-A': 'b'})

    def test_copy_of_an_onprem_object_lands_in_the_cloud(self):
        c = self.container()
        self.local.put_object(c, 'src', b'copy me')
        self.pmc.copy_object(c, 'src', '/%s/dst' % c)
        self.assertEqual(self.cloud_body(c, 'dst'), b'copy me')
        self.assertIsNone(self.onprem_head(c, 'dst'))
        self.assertEqual(self.local.get_object(c, 'src')[1], b'copy me')


class TestAuth(ProxyMCTest):
    def test_other_account_user_gets_403_on_reads_writes_and_listings(self):
        c = self.container()
        self.put_cloud(c, 'cloud', b'x')
        self.local.put_object(c, 'local', b'x')
        url, token = self.pmc_conn('test2:tester2').get_auth()
        base = urlsplit(url).path.replace('AUTH_test2', 'AUTH_test')
        for method, path in (('GET', '/%s/cloud' % c), ('GET', '/%s/local' % c),
                             ('HEAD', '/%s/cloud' % c), ('GET', '/%s' % c),
                             ('PUT', '/%s/new' % c), ('DELETE', '/%s/cloud' % c)):
            status, _h, _b = raw_request(url, method, base + path, {'X-Auth-Token': token},
                                         b'' if method == 'PUT' else None)
            self.assertEqual(status, 403, (method, path))
        self.assertEqual(self.cloud_keys(c), ['cloud'])

    def test_anonymous_client_is_refused(self):
        c = self.container()
        self.put_cloud(c, 'cloud', b'x')
        for method, path in (('GET', '/AUTH_test/%s/cloud' % c), ('GET', '/AUTH_test/%s' % c),
                             ('PUT', '/AUTH_test/%s/x' % c)):
            status, _h, _b = self.raw(method, path, token=False,
                                      body=b'' if method == 'PUT' else None)
            self.assertEqual(status, 401, (method, path))

    def test_bad_password_and_bad_token_are_refused(self):
        with self.assertRaises(swiftclient.ClientException) as ctx:
            self.pmc_conn('test:tester', key='wrong').get_auth()
        self.assertEqual(ctx.exception.http_status, 401)
        c = self.container()
        self.put_cloud(c, 'cloud', b'x')
        status, _h, _b = raw_request(self.info['url'], 'GET',
                                     '/v1/AUTH_test/%s/cloud' % c,
                                     {'X-Auth-Token': 'AUTH_tk' + 'f' * 32})
        self.assertEqual(status, 401)

    def test_read_acl_on_the_onprem_container_lets_a_reader_read_but_not_write(self):
        c = self.container()
        self.put_cloud(c, 'cloud', b'cloud data')
        self.local.put_object(c, 'local', b'local data')
        reader = self.pmc_conn('test:tester3')
        self.assertStatus(403, reader.get_object, c, 'cloud')
        self.local.post_container(c, {'X-Container-Read': 'test:tester3'})
        self.assertEqual(reader.get_object(c, 'cloud')[1], b'cloud data')
        self.assertEqual(reader.get_object(c, 'local')[1], b'local data')
        self.assertEqual(len(reader.get_container(c)[1]), 2)
        self.assertStatus(403, reader.put_object, c, 'new', b'x')
        self.assertStatus(403, reader.delete_object, c, 'cloud')

    def test_write_acl_on_the_onprem_container_lets_a_writer_write_the_cloud_copy_only(self):
        c = self.container()
        self.local.put_object(c, 'local', b'on-prem data')
        # test2:tester2: another account's user; test:tester3: this account's, no rights
        storage = self.pmc.get_auth()[0]
        writer = self.pmc_conn('test2:tester2', storage_url=storage)
        stranger = self.pmc_conn('test:tester3')
        self.assertStatus(403, writer.put_object, c, 'new', b'x')
        self.local.post_container(c, {'X-Container-Write': 'test2:tester2'})
        writer.put_object(c, 'new', b'written by a writer')
        self.assertEqual(self.cloud_body(c, 'new'), b'written by a writer')
        self.assertIsNone(self.onprem_head(c, 'new'))
        writer.post_object(c, 'new', {'X-Object-Meta-By': 'writer'})
        self.assertEqual(self.pmc.head_object(c, 'new')['x-object-meta-by'], 'writer')
        # a write ACL is no read ACL, here as in Swift
        self.assertStatus(403, writer.get_object, c, 'new')
        self.assertStatus(403, writer.get_container, c)
        writer.delete_object(c, 'new')
        self.assertEqual(self.cloud_keys(c), [])
        for func, args in ((stranger.put_object, (c, 'other', b'x')),
                           (stranger.delete_object, (c, 'local'))):
            self.assertStatus(403, func, *args)
        # whatever the writer does, the on-prem object stays as it was
        self.assertStatus(404, writer.delete_object, c, 'local')
        self.assertEqual(self.local.get_object(c, 'local')[1], b'on-prem data')
        self.assertEqual(self.cloud_keys(c), [])

    def test_read_and_write_acls_together_keep_on_prem_objects_unwritable(self):
        c = self.container()
        self.local.put_object(c, 'local', b'on-prem data')
        self.local.post_container(c, {'X-Container-Write': 'test:tester3',
                                      'X-Container-Read': 'test:tester3'})
        user = self.pmc_conn('test:tester3')
        self.assertStatus(409, user.put_object, c, 'local', b'overwrite')
        self.assertStatus(409, user.delete_object, c, 'local')
        user.put_object(c, 'new', b'mine')
        self.assertEqual(user.get_object(c, 'new')[1], b'mine')
        self.assertEqual(self.local.get_object(c, 'local')[1], b'on-prem data')

    def test_unmapped_container_is_403(self):
        owner = self.pmc_conn('test2:tester2')
        onprem2 = self.swift_conn(user='test2:tester2', shunt=False)
        c = self.container(conn=onprem2)
        onprem2.put_object(c, 'x', b'x')
        self.assertStatus(403, owner.get_object, c, 'x')
        self.assertStatus(403, owner.get_container, c)
        self.assertStatus(403, owner.put_object, c, 'y', b'y')

    def test_sync_mapping_of_another_account_is_served_to_its_owner(self):
        owner = self.pmc_conn('test2:tester2')
        onprem2 = self.swift_conn(user='test2:tester2', shunt=False)
        c = ProxyMCLayer.sync_container
        try:
            onprem2.put_container(c)
        except swiftclient.ClientException:
            pass
        onprem2.put_object(c, 'synced', b'in both')
        self.addCleanup(onprem2.delete_object, c, 'synced')
        self.put_cloud(c, 'synced', b'in both', account='AUTH_test2')
        headers, body = owner.get_object(c, 'synced')
        self.assertEqual((body, headers['x-proxymc-source']), (b'in both', 'cloud'))
        listing = owner.get_container(c)[1]
        self.assertEqual([e['content_location'][1:] for e in listing if
                          e['name'] == 'synced'], [['swift']])

    def test_account_requests_and_unsupported_verbs(self):
        c = self.container()
        status, _h, body = self.raw('GET', '/AUTH_test')
        self.assertEqual(status, 403)
        status, headers, body = self.raw('PUT', '/AUTH_test/%s' % c, body=b'')
        self.assertEqual(status, 405)
        self.assertEqual(headers['allow'], 'GET, HEAD')
        status, headers, body = self.raw('OPTIONS', '/AUTH_test/%s/x' % c)
        self.assertIn(status, (405, 501))


class TestConfig(ProxyMCTest):
    def test_a_broken_config_keeps_the_last_good_one_and_a_new_one_is_picked_up(self):
        c = self.container()
        self.put_cloud(c, 'cloud', b'still served')
        path = self.env['sync_conf']
        good = list(ProxyMCLayer.mappings.values())
        self.addCleanup(write_sync_conf, path, good)
        with open(path, 'w') as f:
            f.write('{"containers": [ this is not json')
        time.sleep(2.5)             # the devenv's proxymc checks every second
        self.assertEqual(self.pmc.get_object(c, 'cloud')[1], b'still served')
        write_sync_conf(path, good[1:])     # the archive mapping of AUTH_test removed
        deadline = time.time() + 30
        while True:
            try:
                self.pmc.get_object(c, 'cloud')
            except swiftclient.ClientException as err:
                self.assertEqual(err.http_status, 403)
                break
            self.assertLess(time.time(), deadline, 'the new config was not picked up')
            time.sleep(0.3)
        write_sync_conf(path, good)
        deadline = time.time() + 30
        while True:
            try:
                self.pmc.get_object(c, 'cloud')
                break
            except swiftclient.ClientException:
                self.assertLess(time.time(), deadline, 'the mapping did not come back')
                time.sleep(0.3)


class TestMalformed(ProxyMCTest):
    def test_malformed_requests_get_4xx_never_5xx(self):
        log = os.path.join(self.env['log_dir'], 'proxymc.log')
        start = os.path.getsize(log)
        c = self.container()
        self.put_cloud(c, 'cloud', b'0123456789')
        self.local.put_object(c, 'local', b'0123456789')
        cases = [
            ('GET', '/AUTH_test/%s/cloud' % c, {'Range': 'bytes=9-2'}, (200, 416)),
            ('GET', '/AUTH_test/%s/cloud' % c, {'Range': 'bytes=x-y'}, (200,)),
            ('GET', '/AUTH_test/%s/local' % c, {'Range': 'bytes=99-'}, (416,)),
            ('GET', '/AUTH_test/%s?limit=abc' % c, {}, (200,)),
            ('GET', '/AUTH_test/%s?limit=99999999' % c, {}, (412,)),
            ('GET', '/AUTH_test/%s?marker=%%FF%%FE' % c, {}, (400,)),
            ('GET', '/AUTH_test/%s?format=json&prefix=%%C0' % c, {}, (400,)),
            ('GET', '/AUTH_test/%s/bad%%FFname' % c, {}, (412,)),
            ('PUT', '/AUTH_test/%s/bad%%FFname' % c, {}, (412,)),
            ('GET', '/AUTH_test/%s/with%%00nul' % c, {}, (412,)),
            ('GET', '/v9/AUTH_test/%s/x' % c, {}, (400,)),
        ]
        for method, path, headers, expected in cases:
            url, token = self.pmc.get_auth()
            if not path.startswith('/v9'):
                path = '/v1' + path
            status, _h, body = raw_request(url, method, path,
                                           dict(headers, **{'X-Auth-Token': token}),
                                           b'' if method == 'PUT' else None)
            self.assertIn(status, expected, (method, path, headers, body[:200]))
        # nothing hurt, nothing logged a traceback
        self.assertEqual(self.pmc.get_object(c, 'cloud')[1], b'0123456789')
        with open(log, 'rb') as f:
            f.seek(start)
            self.assertNotIn(b'Traceback', f.read())


class TestS3API(ProxyMCTest):
    """The same namespace through Swift's s3api in front of proxymc (tempauth: access key
    ``account:user``, secret the user's key)."""

    def s3_client(self, user='test:tester', secret=None, signature='s3v4'):
        import boto3
        from botocore.config import Config
        config = Config(signature_version=signature, s3={'addressing_style': 'path'},
                        request_checksum_calculation='when_required',
                        response_checksum_validation='when_required',
                        retries={'max_attempts': 1, 'mode': 'standard'})
        return boto3.session.Session().client(
            's3', endpoint_url=self.info['s3_endpoint'], region_name=self.info['region'],
            aws_access_key_id=user,
            aws_secret_access_key=secret or self.env['users'][user]['key'], config=config)

    def s3_error(self, func, **kwargs):
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError) as ctx:
            func(**kwargs)
        return ctx.exception.response['Error']['Code']

    def test_get_head_list_with_v4_and_v2_signatures_on_both_sides(self):
        c = self.container()
        self.put_cloud(c, 'cloud \u2603', b'cloud data', {'x-object-meta-k': '\u00e9'})
        self.local.put_object(c, 'local', b'local data')
        self.local.put_object(c, 'both', b'on-prem version')
        self.put_cloud(c, 'both', b'cloud version')
        for signature in ('s3', 's3v4'):
            s3 = self.s3_client(signature=signature)
            got = s3.get_object(Bucket=c, Key='cloud \u2603')
            self.assertEqual(got['Body'].read(), b'cloud data', signature)
            # as S3 carries it: an RFC 2047 encoded word
            self.assertEqual(metadata.decode_value(got['Metadata']['k']), '\u00e9')
            self.assertEqual(s3.get_object(Bucket=c, Key='local')['Body'].read(),
                             b'local data', signature)
            self.assertEqual(s3.get_object(Bucket=c, Key='local', Range='bytes=1-3')[
                'Body'].read(), b'oca')
            self.assertEqual(s3.head_object(Bucket=c, Key='cloud \u2603')['ContentLength'], 10)
            self.assertEqual(self.s3_error(s3.head_object, Bucket=c, Key='none'), '404')
            self.assertEqual(s3.get_object(Bucket=c, Key='both')['Body'].read(),
                             b'cloud version', signature)
        # listings with v4 only: Swift's s3api itself refuses boto3's SigV2 ListObjects (the
        # same SignatureDoesNotMatch from a plain Swift proxy)
        keys = [o['Key'] for o in s3.list_objects(Bucket=c)['Contents']]
        self.assertEqual(keys, ['both', 'cloud \u2603', 'local'])
        keys = [o['Key'] for o in s3.list_objects_v2(Bucket=c)['Contents']]
        self.assertEqual(keys, ['both', 'cloud \u2603', 'local'])

    def test_head_bucket_and_listing_of_a_container_only_in_the_cloud(self):
        c = self.unique_name('pmc-cloud')
        self.put_cloud(c, 'k', b'cloud')
        s3 = self.s3_client()
        s3.head_bucket(Bucket=c)
        self.assertEqual([o['Key'] for o in s3.list_objects_v2(Bucket=c)['Contents']], ['k'])
        nowhere = self.unique_name('pmc-none')
        self.assertEqual(self.s3_error(s3.head_bucket, Bucket=nowhere), '404')
        self.assertEqual(self.s3_error(s3.list_objects_v2, Bucket=nowhere), 'NoSuchBucket')

    def test_listing_pages_across_both_sides(self):
        c = self.container()
        for i in range(7):
            if i % 2:
                self.put_cloud(c, 'k%d' % i, b'x')
            else:
                self.local.put_object(c, 'k%d' % i, b'x')
        s3 = self.s3_client()
        keys = []
        for page in s3.get_paginator('list_objects_v2').paginate(Bucket=c, MaxKeys=2):
            keys += [o['Key'] for o in page.get('Contents', [])]
        self.assertEqual(keys, ['k%d' % i for i in range(7)])
        keys = []
        for page in s3.get_paginator('list_objects').paginate(Bucket=c, MaxKeys=3):
            keys += [o['Key'] for o in page.get('Contents', [])]
        self.assertEqual(keys, ['k%d' % i for i in range(7)])

    def test_put_and_delete_reach_the_cloud_copy_only(self):
        c = self.container()
        self.local.put_object(c, 'onprem', b'keep me')
        s3 = self.s3_client()
        s3.put_object(Bucket=c, Key='new', Body=b'via s3', Metadata={'a': 'b'})
        self.assertEqual(self.cloud_body(c, 'new'), b'via s3')
        self.assertIsNone(self.onprem_head(c, 'new'))
        self.assertEqual(s3.head_object(Bucket=c, Key='new')['Metadata'], {'a': 'b'})
        s3.delete_object(Bucket=c, Key='new')
        self.assertEqual(self.cloud_keys(c), [])
        self.assertEqual(self.s3_error(s3.delete_object, Bucket=c, Key='onprem'),
                         'AccessDenied')
        self.assertEqual(self.s3_error(s3.put_object, Bucket=c, Key='onprem', Body=b'x'),
                         'AccessDenied')
        self.assertEqual(self.local.get_object(c, 'onprem')[1], b'keep me')

    def test_copy_object_from_onprem_lands_in_the_cloud(self):
        c = self.container()
        self.local.put_object(c, 'src', b'copy me', headers={'X-Object-Meta-A': 'b'})
        s3 = self.s3_client()
        s3.copy_object(Bucket=c, Key='dst', CopySource={'Bucket': c, 'Key': 'src'})
        self.assertEqual(self.cloud_body(c, 'dst'), b'copy me')
        self.assertIsNone(self.onprem_head(c, 'dst'))
        self.assertEqual(s3.head_object(Bucket=c, Key='dst')['Metadata'], {'a': 'b'})

    def test_bad_signature_unknown_key_and_other_account_are_refused(self):
        c = self.container()
        self.put_cloud(c, 'cloud', b'x')
        for signature in ('s3v4', 's3'):
            bad = self.s3_client(secret='wrong', signature=signature)
            self.assertEqual(self.s3_error(bad.get_object, Bucket=c, Key='cloud'),
                             'SignatureDoesNotMatch')
            unknown = self.s3_client(user='nobody:none', secret='x', signature=signature)
            self.assertEqual(self.s3_error(unknown.get_object, Bucket=c, Key='cloud'),
                             'InvalidAccessKeyId')
        # test2's bucket namespace is its own account: test's container is not in it
        other = self.s3_client(user='test2:tester2')
        self.assertIn(self.s3_error(other.get_object, Bucket=c, Key='cloud'),
                      ('AccessDenied', 'NoSuchBucket', 'NoSuchKey'))

    def test_anonymous_s3_client_and_unmapped_bucket_are_refused(self):
        from botocore import UNSIGNED
        from botocore.config import Config
        import boto3
        c = self.container()
        self.put_cloud(c, 'cloud', b'x')
        self.local.put_object(c, 'local', b'x')
        anonymous = boto3.session.Session().client(
            's3', endpoint_url=self.info['s3_endpoint'], region_name=self.info['region'],
            config=Config(signature_version=UNSIGNED, s3={'addressing_style': 'path'},
                          retries={'max_attempts': 1, 'mode': 'standard'}))
        # an unsigned request is no S3 request to s3api: the Swift path /<bucket>/<key> it
        # leaves is refused 400, as by a Swift proxy with s3api
        for func, kwargs in ((anonymous.get_object, {'Key': 'cloud'}),
                             (anonymous.get_object, {'Key': 'local'}),
                             (anonymous.list_objects_v2, {}),
                             (anonymous.put_object, {'Key': 'new', 'Body': b'x'})):
            self.assertEqual(self.s3_error(func, Bucket=c, **kwargs), '400')
        self.assertEqual(self.cloud_keys(c), ['cloud'])
        # test2's containers are mapped but one: the others are refused, on both sides
        owner = self.s3_client(user='test2:tester2')
        onprem2 = self.swift_conn(user='test2:tester2', shunt=False)
        unmapped = self.container(conn=onprem2)
        onprem2.put_object(unmapped, 'x', b'x')
        for func, kwargs in ((owner.get_object, {'Key': 'x'}), (owner.list_objects_v2, {}),
                             (owner.put_object, {'Key': 'y', 'Body': b'y'})):
            self.assertEqual(self.s3_error(func, Bucket=unmapped, **kwargs), 'AccessDenied')

    def test_s3_user_reads_and_writes_through_the_container_acls(self):
        c = self.container()
        self.local.put_object(c, 'local', b'on-prem data')
        s3 = self.s3_client(user='test:tester3')        # of the account, not its owner
        self.assertEqual(self.s3_error(s3.get_object, Bucket=c, Key='local'), 'AccessDenied')
        self.assertEqual(self.s3_error(s3.put_object, Bucket=c, Key='new', Body=b'x'),
                         'AccessDenied')
        self.local.post_container(c, {'X-Container-Read': 'test:tester3',
                                      'X-Container-Write': 'test:tester3'})
        s3.put_object(Bucket=c, Key='new', Body=b'via the acl')
        self.assertEqual(s3.get_object(Bucket=c, Key='local')['Body'].read(), b'on-prem data')
        self.assertEqual([o['Key'] for o in s3.list_objects_v2(Bucket=c)['Contents']],
                         ['local', 'new'])
        upload = s3.create_multipart_upload(Bucket=c, Key='parts')
        part = s3.upload_part(Bucket=c, Key='parts', PartNumber=1, Body=b'one part',
                              UploadId=upload['UploadId'])
        s3.complete_multipart_upload(Bucket=c, Key='parts', UploadId=upload['UploadId'],
                                     MultipartUpload={'Parts': [
                                         {'PartNumber': 1, 'ETag': part['ETag']}]})
        self.assertEqual(self.cloud_keys(c), ['new', 'parts'])
        self.assertEqual(self.s3_error(s3.delete_object, Bucket=c, Key='local'),
                         'AccessDenied')
        self.assertEqual(self.local.get_object(c, 'local')[1], b'on-prem data')
        self.assertIsNone(self.onprem_head(c, 'new'))

    def test_multipart_upload_lands_in_the_cloud_bucket_only(self):
        c = self.container()
        s3 = self.s3_client()
        name = 'big \u2603'
        parts_data = [os.urandom(5 * 1024 * 1024), b'tail of the upload']
        upload = s3.create_multipart_upload(Bucket=c, Key=name, ContentType='text/x',
                                            Metadata={'m': 'v'})
        parts = []
        for number, data in enumerate(parts_data, 1):
            resp = s3.upload_part(Bucket=c, Key=name, PartNumber=number, Body=data,
                                  UploadId=upload['UploadId'])
            parts.append({'PartNumber': number, 'ETag': resp['ETag']})
        listed = s3.list_parts(Bucket=c, Key=name, UploadId=upload['UploadId'])['Parts']
        self.assertEqual([p['PartNumber'] for p in listed], [1, 2])
        done = s3.complete_multipart_upload(Bucket=c, Key=name, UploadId=upload['UploadId'],
                                            MultipartUpload={'Parts': parts})
        expected = md5(b''.join(hashlib.md5(d).digest() for d in parts_data)) + '-2'
        self.assertEqual(done['ETag'].strip('"'), expected)
        got = s3.get_object(Bucket=c, Key=name)
        self.assertEqual(got['Body'].read(), b''.join(parts_data))
        self.assertEqual((got['ETag'].strip('"'), got['ContentType'], got['Metadata']),
                         (expected, 'text/x', {'m': 'v'}))
        # one object in the cloud bucket (parts and upload marker gone), nothing on-prem
        self.assertEqual(self.cloud_keys(c), [name])
        self.assertEqual(self.cloud_keys(c + '+segments'), [])
        self.assertIsNone(self.onprem_head(c, name))
        with self.assertRaises(swiftclient.ClientException):
            self.local.head_container(c + '+segments')
        self.assertEqual(self.pmc.get_object(c, name)[1], b''.join(parts_data))

    def test_upload_part_copy_from_an_onprem_object(self):
        c = self.container()
        self.local.put_object(c, 'source', b'on-prem part')
        s3 = self.s3_client()
        upload = s3.create_multipart_upload(Bucket=c, Key='copied')
        part = s3.upload_part_copy(Bucket=c, Key='copied', PartNumber=1,
                                   UploadId=upload['UploadId'],
                                   CopySource={'Bucket': c, 'Key': 'source'})
        s3.complete_multipart_upload(
            Bucket=c, Key='copied', UploadId=upload['UploadId'],
            MultipartUpload={'Parts': [{'PartNumber': 1,
                                        'ETag': part['CopyPartResult']['ETag']}]})
        self.assertEqual(s3.get_object(Bucket=c, Key='copied')['Body'].read(),
                         b'on-prem part')
        self.assertEqual(self.cloud_keys(c), ['copied'])
        self.assertEqual(self.local.get_object(c, 'source')[1], b'on-prem part')

    def test_aborted_multipart_upload_leaves_nothing(self):
        c = self.container()
        s3 = self.s3_client()
        upload = s3.create_multipart_upload(Bucket=c, Key='gone')
        s3.upload_part(Bucket=c, Key='gone', PartNumber=1, Body=b'x' * 100,
                       UploadId=upload['UploadId'])
        uploads = s3.list_multipart_uploads(Bucket=c).get('Uploads', [])
        self.assertEqual([u['Key'] for u in uploads], ['gone'])
        s3.abort_multipart_upload(Bucket=c, Key='gone', UploadId=upload['UploadId'])
        self.assertEqual(self.cloud_keys(c + '+segments'), [])
        self.assertEqual(self.cloud_keys(c), [])

    def test_multipart_upload_with_a_small_part_is_refused(self):
        c = self.container()
        s3 = self.s3_client()
        upload = s3.create_multipart_upload(Bucket=c, Key='small')
        parts = []
        for number in (1, 2):
            resp = s3.upload_part(Bucket=c, Key='small', PartNumber=number, Body=b'x' * 10,
                                  UploadId=upload['UploadId'])
            parts.append({'PartNumber': number, 'ETag': resp['ETag']})
        self.assertEqual(self.s3_error(s3.complete_multipart_upload, Bucket=c, Key='small',
                                       UploadId=upload['UploadId'],
                                       MultipartUpload={'Parts': parts}), 'EntityTooSmall')
        self.assertNotIn('small', self.cloud_keys(c))
        s3.abort_multipart_upload(Bucket=c, Key='small', UploadId=upload['UploadId'])

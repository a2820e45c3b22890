"""The cloud-shunt in a real proxy (proxy A of the dev environment), against both S3 targets.

"Archived" objects are made the way the sync daemon leaves them: written to the bucket at the
key layout's place (and, for SLOs, the manifest at the manifest key), absent locally. Proxy B
(no shunt) shows the real local state.

Each test class writes the environment's ``sync.json`` once: a per-account ``"/*"`` archive
mapping (every fresh container of the test account is archived) plus two named containers with
``restore_object`` (one with ``restore_expire_days``). The shunt re-reads the file within a few
seconds; the first test of a class waits until a probe object is served, which also proves the
reload. The layer switches the mappings off again at the end.
"""
import email.utils
import http.client
import json
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote, urlsplit
from xml.etree import ElementTree

import swiftclient

from devenv.daemons import NodeDaemons, s3_mapping
from test.integration.env import EnvLayer, IntegrationTest, empty_and_delete_bucket
# md5, write_sync_conf and request_status are imported from here by other modules
from test.integration.namespace import md5, new_bucket, object_key, put_archived, \
    put_archived_slo, request_status, wait_until_served, write_sync_conf  # noqa: F401


_BUCKETS = []       # (client, bucket) made by the classes, removed when the layer ends


class ShuntLayer(EnvLayer):
    """Inside the shared environment: on the way out, switch the shunt's mappings off (other
    modules use proxy A too) and remove our buckets. (nose2 layers run no tearDownClass or
    tearDownModule, hence a layer.)"""

    @classmethod
    def tearDown(cls):
        if EnvLayer.info:
            write_sync_conf(EnvLayer.info['sync_conf'], [])
        while _BUCKETS:
            client, bucket = _BUCKETS.pop()
            empty_and_delete_bucket(client, bucket)


class ShuntTestBase(IntegrationTest):
    layer = ShuntLayer
    target_name = None

    @classmethod
    def set_up_class(cls):
        """Once per class, from the first setUp (nose2 layers skip setUpClass)."""
        env = EnvLayer.info
        cls.target = [t for t in env['s3_targets'] if t['name'] == cls.target_name][0]
        cls.s3, cls.bucket = new_bucket(cls.target, 'shunt')
        _BUCKETS.append((cls.s3, cls.bucket))
        cls.account = env['users']['test:tester']['account']
        cls.restore_container = 'restore-%s' % uuid.uuid4().hex[:8]
        cls.expire_container = 'expire-%s' % uuid.uuid4().hex[:8]
        archive = dict(retain_local=False, propagate_delete=False, merge_namespaces=True)
        cls.mappings = {
            '/*': cls._mapping('/*', **archive),
            cls.restore_container: cls._mapping(cls.restore_container, restore_object=True,
                                                **archive),
            cls.expire_container: cls._mapping(cls.expire_container, restore_object=True,
                                               restore_expire_days=3, **archive),
        }
        write_sync_conf(env['sync_conf'], list(cls.mappings.values()))
        cls._wait_for_reload(env)
        cls.ready = cls

    @classmethod
    def _mapping(cls, container, **extra):
        return s3_mapping(cls.target, cls.bucket, cls.account, container, **extra)

    @classmethod
    def _wait_for_reload(cls, env):
        container = 'probe-%s' % uuid.uuid4().hex[:8]
        cls.put_remote_raw(container, 'probe', b'probe')
        proxy = env['proxies']['shunt']
        conn = swiftclient.Connection(proxy['auth_url'], 'test:tester',
                                      env['users']['test:tester']['key'], retries=0)
        wait_until_served(conn, container, 'probe')

    # -- remote state ---------------------------------------------------------
    @classmethod
    def mapping_for(cls, container):
        return cls.mappings.get(container, cls.mappings['/*'])

    @classmethod
    def key(cls, container, name):
        return object_key(cls.mapping_for(container), cls.account, container, name)

    @classmethod
    def put_remote_raw(cls, container, name, body, headers=None):
        put_archived(cls.s3, cls.bucket, cls.mapping_for(container), cls.account, container,
                     name, body, headers)

    def put_remote(self, container, name, body, headers=None):
        """An archived plain object."""
        self.put_remote_raw(container, name, body, headers)

    def put_remote_slo(self, container, name, segments, seg_container, headers=None):
        """An archived SLO (``namespace.put_archived_slo``). Returns (manifest, body)."""
        return put_archived_slo(self.s3, self.bucket, self.mapping_for(container), self.account,
                                container, name, segments, seg_container, headers)

    # -- local side -------------------------------------------------------------
    ready = None

    def setUp(self):
        super().setUp()
        if type(self).ready is not type(self):
            type(self).set_up_class()
        self.conn = self.swift_conn(shunt=True)
        self.local = self.swift_conn(shunt=False)

    def container(self, name=None):
        """A container archived to the remote (fresh, or one of the named ones)."""
        name = name or self.unique_name('shunt')
        try:
            self.local.put_container(name)
        except swiftclient.ClientException:
            pass
        self.addCleanup(self._empty, name)
        return name

    def _empty(self, name):
        for conn_container in (name, name + '_segments'):
            try:
                _h, listing = self.local.get_container(conn_container, full_listing=True)
            except swiftclient.ClientException:
                continue
            for obj in listing:
                self.local.delete_object(conn_container, obj['name'])
            if conn_container not in (self.restore_container, self.expire_container):
                self.local.delete_container(conn_container)

    def local_head(self, container, name):
        try:
            return self.local.head_object(container, name)
        except swiftclient.ClientException as err:
            if err.http_status == 404:
                return None
            raise

    def raw(self, method, path, headers=None, conn=None):
        """(status, headers, body) of one request to proxy A, with our token."""
        conn = conn or self.conn
        url, token = conn.get_auth()
        return request_status(url, token, method, path, headers)


def _http(parsed):
    return http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)


class ShuntBehaviour:
    """Target-independent behaviour; mixed into one TestCase per S3 implementation."""

    # -- plain objects ------------------------------------------------------------
    def test_archived_object_get_head_range_and_conditionals(self):
        c = self.container()
        body = bytes(range(256)) * 40
        self.put_remote(c, 'obj', body, {'Content-Type': 'text/x-arch',
                                         'X-Object-Meta-Color': 'bár', 'X-Object-Meta-P': 'x'})
        headers, got = self.conn.get_object(c, 'obj')
        self.assertEqual(got, body)
        self.assertEqual(headers['etag'], md5(body))
        self.assertEqual(headers['content-type'], 'text/x-arch')
        self.assertEqual(headers['x-object-meta-color'], 'bár')
        self.assertEqual(headers['content-length'], str(len(body)))
        self.assertIsNone(self.local_head(c, 'obj'))        # not restored: no restore_object
        head = self.conn.head_object(c, 'obj')
        self.assertEqual((head['content-length'], head['etag']), (str(len(body)), md5(body)))
        headers, got = self.conn.get_object(c, 'obj', headers={'Range': 'bytes=10-19'})
        self.assertEqual((got, headers['content-range']), (body[10:20],
                                                          'bytes 10-19/%d' % len(body)))
        status, headers, got = self.raw('GET', '/%s/obj' % c, {'Range': 'bytes=0-1,-2'})
        self.assertEqual(status, 206)
        self.assertIn('multipart/byteranges', headers['content-type'])
        self.assertIn(body[:2], got)
        self.assertIn(body[-2:], got)
        for cond, status in (({'If-None-Match': md5(body)}, 304),
                             ({'If-Match': 'nope'}, 412),
                             ({'If-Modified-Since': email.utils.formatdate(
                                 time.time() + 3600, usegmt=True)}, 304),
                             ({'If-Unmodified-Since': 'Mon, 01 Jan 2001 00:00:00 GMT'}, 412),
                             ({'If-Match': md5(body)}, 200)):
            self.assertEqual(self.raw('GET', '/%s/obj' % c, cond)[0], status, cond)
        status, headers, got = self.raw('HEAD', '/%s/obj' % c)
        self.assertEqual((status, got, headers['content-length']), (200, b'', str(len(body))))

    def test_names_listed_archived_read_right_and_later_local_writes_win(self):
        # A client that lists then reads: the shunt starts the reads of names the listing
        # showed remote-only early; Swift's answer still decides.
        c = self.container()
        self.put_remote(c, 'arch', b'archived body')
        self.put_remote(c, 'again', b'old archived body')
        self.assertEqual([e['name'] for e in self.conn.get_container(c)[1]], ['again', 'arch'])
        self.local.put_object(c, 'again', b'new local body')     # written after the listing
        self.assertEqual(self.conn.get_object(c, 'arch')[1], b'archived body')
        self.assertEqual(self.conn.get_object(c, 'again')[1], b'new local body')
        self.local.delete_object(c, 'again')      # the client's delete hides the archived copy
        self.assertEqual(self.raw('GET', '/%s/again' % c)[0], 404)

    def test_missing_everywhere_is_a_404_with_matching_length(self):
        c = self.container()
        status, headers, body = self.raw('GET', '/%s/nothing' % c)
        self.assertEqual(status, 404)
        self.assertEqual(int(headers['content-length']), len(body))

    def test_bypass_header_shows_the_local_state(self):
        c = self.container()
        self.put_remote(c, 'obj', b'remote')
        self.assertEqual(self.raw('GET', '/%s/obj' % c)[0], 200)
        self.assertEqual(self.raw('GET', '/%s/obj' % c,
                                  {'X-Cloud-Sync-Shunt-Bypass': 'yes'})[0], 404)

    def test_other_users_get_the_same_denial_for_archived_and_local_objects(self):
        c = self.container()
        self.local.put_object(c, 'here', b'local')
        self.put_remote(c, 'away', b'remote')
        other_url, other_token = self.swift_conn(user='test2:tester2').get_auth()
        url = other_url.replace('AUTH_test2', self.account)     # aim at our account
        results = {}
        for name in ('here', 'away', ''):
            path = '/%s/%s' % (c, name) if name else '/%s' % c
            results[name] = (request_status(url, other_token, 'GET', path)[0],
                             request_status(url, None, 'GET', path)[0])
        self.assertEqual(results['here'], results['away'])
        self.assertIn(results['away'][0], (401, 403))
        self.assertEqual(results['away'][1], 401)
        self.assertIn(results[''][0], (401, 403))     # and the listing likewise

    # -- SLOs ---------------------------------------------------------------------
    def test_archived_slo_has_its_swift_etag_type_and_metadata(self):
        c = self.container()
        segments = [b'a' * 1000, b'b' * 700, b'c' * 300]
        manifest, body = self.put_remote_slo(c, 'big', segments, c + '_segments', {
            'Content-Type': 'video/x-big', 'X-Object-Meta-Label': 'étiquette'})
        slo_etag = md5(''.join(s['hash'] for s in manifest).encode())
        headers, got = self.conn.get_object(c, 'big')
        self.assertEqual(got, body)
        self.assertEqual(headers['etag'], '"%s"' % slo_etag)
        self.assertEqual(headers['x-static-large-object'], 'True')
        self.assertEqual(headers['content-type'], 'video/x-big')
        self.assertEqual(headers['x-object-meta-label'], 'étiquette')
        head = self.conn.head_object(c, 'big')
        self.assertEqual((head['etag'], head['content-length']), ('"%s"' % slo_etag, '2000'))
        headers, got = self.conn.get_object(c, 'big', headers={'Range': 'bytes=990-1009'})
        self.assertEqual(got, body[990:1010])
        self.assertEqual(self.raw('GET', '/%s/big' % c, {'If-None-Match': slo_etag})[0], 304)
        self.assertEqual(self.raw('GET', '/%s/big' % c, {'If-Match': slo_etag})[0], 200)

    # -- restore ------------------------------------------------------------------
    def test_full_get_restores_range_get_does_not(self):
        c = self.container(self.restore_container)
        body = os.urandom(300000)
        self.put_remote(c, 'ranged', body)
        self.conn.get_object(c, 'ranged', headers={'Range': 'bytes=0-99'})
        self.assertIsNone(self.local_head(c, 'ranged'))
        self.put_remote(c, 'whole', body, {'X-Object-Meta-Kept': 'yes',
                                           'Content-Type': 'application/x-whole'})
        headers, got = self.conn.get_object(c, 'whole')
        self.assertEqual(got, body)
        local = self.local_head(c, 'whole')
        self.assertIsNotNone(local)
        self.assertEqual(local['etag'], md5(body))
        self.assertEqual(local['x-object-meta-kept'], 'yes')
        self.assertEqual(local['content-type'], 'application/x-whole')
        self.assertNotIn('x-delete-at', local)
        self.assertEqual(self.local.get_object(c, 'whole')[1], body)
        # the listing now shows it on both sides
        listing = self.conn.get_container(c, prefix='whole')[1]
        self.assertEqual(listing[0]['content_location'][1:], ['swift'])

    def test_slo_restore_puts_segments_back_then_the_manifest(self):
        c = self.container(self.restore_container)
        seg_container = self.container(self.unique_name('segs'))
        self.local.delete_container(seg_container)      # restore must create it
        segments = [os.urandom(1500), os.urandom(1000), os.urandom(10)]
        manifest, body = self.put_remote_slo(c, 'big', segments, seg_container)
        self.assertEqual(self.conn.get_object(c, 'big')[1], body)
        headers, got = self.local.get_object(c, 'big')
        self.assertEqual(got, body)
        self.assertEqual(headers['x-static-large-object'], 'True')
        self.assertEqual(headers['etag'], '"%s"' % md5(''.join(
            s['hash'] for s in manifest).encode()))
        for segment, data in zip(manifest, segments):
            _cont, seg_name = segment['name'].lstrip('/').split('/', 1)
            self.assertEqual(self.local.get_object(seg_container, seg_name)[1], data)

    def test_aborted_restore_leaves_nothing(self):
        c = self.container(self.restore_container)
        body = os.urandom(8 * 1024 * 1024)
        self.put_remote(c, 'cut', body)
        url, token = self.conn.get_auth()
        parsed = urlsplit(url)
        http_conn = _http(parsed)
        http_conn.request('GET', '%s/%s/cut' % (parsed.path, c),
                          headers={'X-Auth-Token': token})
        resp = http_conn.getresponse()
        self.assertEqual(resp.status, 200)
        self.assertEqual(len(resp.read(100000)), 100000)
        http_conn.sock.close()
        http_conn.close()
        time.sleep(3)       # let the proxy notice the client is gone
        self.assertIsNone(self.local_head(c, 'cut'))
        # the same GET read to the end does restore (so the check above could fail)
        self.assertEqual(self.conn.get_object(c, 'cut')[1], body)
        self.assertEqual(self.local_head(c, 'cut')['etag'], md5(body))

    def test_temporary_restore_expires_after_the_configured_days(self):
        c = self.container(self.expire_container)
        self.put_remote(c, 'tmp', b'temporary')
        before = time.time()
        self.conn.get_object(c, 'tmp')
        delete_at = int(self.local_head(c, 'tmp')['x-delete-at'])
        self.assertGreaterEqual(delete_at, int(before) + 3 * 86400)
        self.assertLessEqual(delete_at, time.time() + 3 * 86400 + 1)

    # -- listings -----------------------------------------------------------------
    def test_unicode_names_and_delimiter_listing(self):
        c = self.container()
        for name in ('dir/ünï', 'dir/b', 'top-local', '日本/x'):
            self.local.put_object(c, name, b'l')
        for name in ('dir/ç', 'dir2/remote', 'top-remote', '日本/y', 'ünïcødé'):
            self.put_remote(c, name, b'r')
        self.assertEqual(self.conn.get_object(c, 'ünïcødé')[1], b'r')
        _h, listing = self.conn.get_container(c, delimiter='/')
        self.assertEqual([e.get('name', e.get('subdir')) for e in listing],
                         ['dir/', 'dir2/', 'top-local', 'top-remote', 'ünïcødé', '日本/'])
        locations = {e.get('name', e.get('subdir')): e.get('content_location')
                     for e in listing}
        self.assertEqual(len(locations['dir/']), 2)
        self.assertEqual(locations['dir/'][1], 'swift')
        self.assertEqual(len(locations['dir2/']), 1)
        self.assertIsNone(locations['top-local'])
        _h, listing = self.conn.get_container(c, prefix='dir/', delimiter='/')
        self.assertEqual([e['name'] for e in listing], ['dir/b', 'dir/ç', 'dir/ünï'])
        _h, listing = self.conn.get_container(c, marker='dir/', delimiter='/')
        self.assertEqual([e.get('name', e.get('subdir')) for e in listing],
                         ['dir2/', 'top-local', 'top-remote', 'ünïcødé', '日本/'])
        _h, listing = self.conn.get_container(c, query_string='reverse=on&end_marker=dir2/')
        self.assertEqual([e['name'] for e in listing],
                         ['日本/y', '日本/x', 'ünïcødé', 'top-remote', 'top-local',
                          'dir2/remote'])

    def test_large_listing_paged_in_three_formats_is_the_exact_union(self):
        c = self.container()
        # over 1,000 remote keys (the S3 listing page), and fewer local ones (the slow PUTs)
        local = ['obj-%05d' % i for i in range(0, 2400, 6)]                # 400 local
        remote = ['obj-%05d' % i for i in range(2400) if i % 6]            # 2000 remote only
        both = local[:60:2]                                                # 30 on both sides
        conns = threading.local()      # a swiftclient Connection is not thread-safe

        def put_local(name):
            if not hasattr(conns, 'conn'):
                conns.conn = self.swift_conn(shunt=False)
            conns.conn.put_object(c, name, b'l')
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(put_local, local))
            list(pool.map(lambda n: self.put_remote(c, n, b'r'), remote + both))
        union = sorted(set(local) | set(remote))
        self.assertEqual(len(union), 2400)
        for fmt in ('json', 'xml', 'plain'):
            self.assertEqual(self._page_all(c, fmt), union, fmt)
        # annotations on one page
        page = json.loads(self.raw('GET', '/%s?format=json&limit=20' % c)[2])
        where = {e['name']: e.get('content_location') for e in page}
        self.assertEqual(len(where['obj-00000']), 2)
        self.assertIsNone(where['obj-00006'])
        self.assertEqual(len(where['obj-00001']), 1)
        # reverse paging with end_marker gives the same names backwards
        names, marker = [], ''
        while True:
            query = '?format=json&limit=100&reverse=on&end_marker=obj-01000'
            page = json.loads(self.raw('GET', '/%s%s&marker=%s' % (c, query, marker))[2])
            if not page:
                break
            names.extend(e['name'] for e in page)
            marker = quote(page[-1]['name'])
        self.assertEqual(names, [n for n in reversed(union) if n > 'obj-01000'])

    def _page_all(self, container, fmt):
        names, marker = [], ''
        while True:
            status, headers, body = self.raw(
                'GET', '/%s?format=%s&limit=100&marker=%s' % (container, fmt, quote(marker)))
            if status == 204 or not body:
                break
            self.assertEqual(status, 200)
            if fmt == 'json':
                page = [e['name'] for e in json.loads(body)]
            elif fmt == 'xml':
                page = [o.find('name').text for o in ElementTree.fromstring(body)]
            else:
                page = body.decode('utf-8').splitlines()
            if not page:
                break
            self.assertLessEqual(len(page), 100)
            names.extend(page)
            marker = page[-1]
        return names


class TestShuntMoto(ShuntTestBase, ShuntBehaviour):
    target_name = 'moto'


class TestShuntS3api(ShuntTestBase, ShuntBehaviour):
    target_name = 's3api'


class TestArchiveThenGet(ShuntTestBase):
    """The real sync daemon archives; the shunt serves what it left."""
    target_name = 'moto'

    def test_archived_by_the_daemon_is_still_readable_and_listed(self):
        c = self.container()
        self.local.put_object(c, 'kept', b'archive me', headers={'X-Object-Meta-A': 'b'})
        daemons = NodeDaemons(self.env, [self._mapping(c, retain_local=False,
                                                        propagate_delete=False,
                                                        merge_namespaces=True)])
        for rc, out in daemons.run_once():
            self.assertEqual(rc, 0, out)
        # the daemon archives: a local copy still there would leave the shunt nothing to prove
        self.assertIsNone(self.local_head(c, 'kept'))
        headers, body = self.conn.get_object(c, 'kept')
        self.assertEqual((body, headers['x-object-meta-a']), (b'archive me', 'b'))
        self.assertEqual([e['name'] for e in self.conn.get_container(c)[1]], ['kept'])

"""The local read's fast path against the real cluster: for the same objects it gives what the
proxy path gives, and it leaves to the proxy what it cannot answer for certain."""
import json

from devenv import Environment
from s3_sync.config import validate_config
from s3_sync.local import LocalSwift
from s3_sync.swift_env import make_internal_client, setup_swift
from swift.common.utils import Timestamp
from test.integration.env import IntegrationTest

PER_REQUEST = ('x-trans-id', 'x-openstack-request-id')


class TestDirectRead(IntegrationTest):
    def setUp(self):
        setup_swift(self.env['swift_dir'])
        conf = validate_config({'swift_dir': self.env['swift_dir'],
                                'internal_client_path': self.env['internal_client_conf_path']},
                               for_daemon=False)
        self.client = make_internal_client(conf)
        self.local = LocalSwift(self.client)
        self.proxy = LocalSwift(self.client, direct=False)
        self.assertIsNotNone(self.local.direct)
        self.proxy_reads = 0
        get_object = self.client.get_object

        def counted(*args, **kwargs):
            self.proxy_reads += 1
            return get_object(*args, **kwargs)
        self.client.get_object = counted
        self.conn = self.swift_conn(shunt=False)
        self.container = self.make_container(self.conn)
        self.account = self.env['users']['test:tester']['account']

    def row_timestamps(self, name):
        """(data, metadata) timestamps of the object, as its container row holds them."""
        headers = self.proxy.head(self.account, self.container, name, 0)
        return (Timestamp(headers['x-backend-data-timestamp']),
                Timestamp(headers['x-backend-timestamp']))

    def read(self, local, name, timestamps=None):
        obj = local.open(self.account, self.container, name, 0, timestamps)
        if obj is None:
            return None
        try:
            return obj.headers, obj.reader.read()
        finally:
            obj.close()

    def assert_same_as_proxy(self, name, direct_expected=True):
        stamps = self.row_timestamps(name)
        before = self.proxy_reads
        fast = self.read(self.local, name, stamps)
        served_directly = self.proxy_reads == before
        slow = self.read(self.proxy, name)
        self.assertEqual(served_directly, direct_expected, name)
        for headers in (fast[0], slow[0]):
            for key in PER_REQUEST:
                self.assertTrue(headers.pop(key).startswith('tx'))
        self.assertEqual(fast, slow)
        return fast

    def test_plain_objects_are_read_directly_with_the_proxys_headers_and_body(self):
        objects = {
            'plain': (b'x' * 4096, {}),
            'empty': (b'', {}),
            'caf\u00e9/\u65e5\u672c': (b'unicode name', {
                'X-Object-Meta-Caf\u00e9': 'cr\u00e8me', 'Content-Type': 'text/plain; charset=utf-8',
                'Content-Encoding': 'gzip', 'Content-Disposition': 'attachment',
                'X-Delete-At': str(int(Timestamp.now()) + 86400)}),
        }
        for name, (body, headers) in objects.items():
            self.conn.put_object(self.container, name, body, headers=headers)
        self.conn.put_object(self.container, 'posted', b'then posted')
        self.conn.post_object(self.container, 'posted', {'X-Object-Meta-Color': 'red',
                                                         'Content-Type': 'text/x-posted'})
        for name in list(objects) + ['posted']:
            with self.subTest(name=name):
                headers, body = self.assert_same_as_proxy(name)
                if name in objects:
                    self.assertEqual(body, objects[name][0])
        data, meta = self.row_timestamps('posted')
        self.assertLess(data, meta)

    def test_large_objects_and_symlinks_are_read_through_the_proxy(self):
        self.conn.put_object(self.container, 'seg/1', b'a' * 10)
        seg_etag = self.conn.head_object(self.container, 'seg/1')['etag']
        manifest = [{'path': '/%s/seg/1' % self.container, 'etag': seg_etag,
                     'size_bytes': 10}]
        self.conn.put_object(self.container, 'slo', json.dumps(manifest),
                             query_string='multipart-manifest=put')
        self.conn.put_object(self.container, 'dlo', b'',
                             headers={'X-Object-Manifest': '%s/seg/' % self.container})
        self.conn.put_object(self.container, 'link', b'',
                             headers={'X-Symlink-Target': '%s/seg/1' % self.container})
        for name in ('slo', 'dlo', 'link'):
            with self.subTest(name=name):
                self.assert_same_as_proxy(name, direct_expected=False)

    def test_a_row_older_than_the_object_is_read_through_the_proxy(self):
        self.conn.put_object(self.container, 'o', b'v1')
        old = self.row_timestamps('o')
        self.conn.put_object(self.container, 'o', b'v2')
        headers, body = self.read(self.local, 'o', old)
        self.assertEqual(body, b'v2')
        self.assertEqual(self.proxy_reads, 1)

    def test_an_object_whose_primary_is_down_is_read_through_the_proxy(self):
        # Written while its primary is down, it lives on a handoff: only the proxy finds it.
        part, nodes = self.local.direct.app.get_object_ring(0).get_nodes(
            self.account, self.container, 'o')
        index = [n['object_bind_port'] for n in self.env['nodes']].index(nodes[0]['port'])
        environment = Environment()
        self.addCleanup(environment.up)
        environment.procs.stop(['object-server-%d' % self.env['nodes'][index]['index']])
        self.conn.put_object(self.container, 'o', b'on a handoff')
        headers, body = self.assert_same_as_proxy('o', direct_expected=False)
        self.assertEqual(body, b'on a handoff')

    def test_an_object_on_no_primary_is_left_to_the_proxy(self):
        self.conn.put_object(self.container, 'o', b'x')
        stamps = self.row_timestamps('o')
        self.conn.delete_object(self.container, 'o')
        self.assertIsNone(self.read(self.local, 'o', stamps))
        self.assertEqual(self.proxy_reads, 1)

"""Large objects (SLO, DLO) to the second Swift cluster: real node daemons, a real cluster.

Every remote request goes through ``SwiftProxy``, a loopback proxy in front of the remote
Swift (its tempauth hands out storage URLs on the proxy's own address, so storage requests go
through it too) that records each request and can fail or hold the ones a test picks.
"""
import hashlib
import json
import os
import threading
import time
import unittest
import urllib.parse

import swiftclient

from devenv.daemons import NodeDaemons
from devenv.request_counter import RequestCounter
from s3_sync.config import mapping_from_dict
from s3_sync.providers import create_provider
from test.integration.env import IntegrationTest, empty_and_delete_container
from test.integration.test_shunt import write_sync_conf

KiB = 1024
MiB = 1024 * KiB


def md5(data):
    return hashlib.md5(data).hexdigest()


class SwiftProxy(RequestCounter):
    """A RequestCounter that records (method, path, query, start, end, status) and applies
    ``rule(method, path, query)``: None forwards, a status answers it unforwarded, 'hold'
    keeps the request unanswered until ``release()`` (then drops the connection)."""

    def __init__(self, target):
        super().__init__(target)
        self.records = []
        self.rule = None
        self.held = threading.Event()
        self._release = threading.Event()

    def release(self):
        self._release.set()

    def puts(self, container=None):
        """Paths of the object PUTs forwarded (optionally into one container)."""
        with self.lock:
            records = list(self.records)
        return [r for r in records if r['method'] == 'PUT' and r['status'] and
                200 <= r['status'] < 300 and len(r['parts']) >= 5 and
                (container is None or r['parts'][3] == container)]

    def reset(self):
        super().reset()
        with self.lock:
            self.records.clear()

    def _handler_class(self):
        base = super()._handler_class()
        proxy = self

        class Handler(base):
            def _proxy(self):
                path, _, query = self.path.partition('?')
                path = urllib.parse.unquote(path)
                record = {'method': self.command, 'path': path, 'query': query,
                          'parts': path.split('/'), 'start': time.time(), 'end': None,
                          'status': None}
                with proxy.lock:
                    proxy.records.append(record)
                action = proxy.rule(self.command, path, query) if proxy.rule else None
                if action == 'hold':
                    proxy.held.set()
                    proxy._release.wait(120)
                    self.close_connection = True
                    return
                self.record = record
                if action:
                    length = int(self.headers.get('Content-Length') or 0)
                    if length:
                        self.rfile.read(length)
                    with proxy.lock:
                        proxy.counts[self.command] += 1
                    return self._reply(action, [('Content-Type', 'text/plain')], b'injected')
                self.record = record
                try:
                    return super()._proxy()
                finally:
                    record['end'] = time.time()

            def send_response(self, code, message=None):
                self.record['status'] = code
                super().send_response(code, message)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _proxy
        return Handler


def empty_remote(remote, container):
    try:
        listing = remote.get_container(container, full_listing=True)[1]
    except swiftclient.ClientException as err:
        if err.http_status == 404:
            return
        raise
    for obj in listing:
        remote.delete_object(container, obj['name'])
    remote.delete_container(container)


class SwiftLargeBase(IntegrationTest):
    """A local container and segments container, an (absent) remote container, the proxy."""

    def setUp(self):
        super().setUp()
        target = self.swift_target()
        self.proxy = SwiftProxy(target['aws_endpoint'].rsplit('/auth', 1)[0]).start()
        self.addCleanup(self.proxy.stop)
        self.addCleanup(self.proxy.release)
        self.conn = self.swift_conn()
        self.remote = self.remote_swift_conn()
        self.account = self.env['users']['test:tester']['account']
        self.container = self.make_container(self.conn, 'large')
        self.segments = self.make_container(self.conn, 'segs-ünï')
        self.bucket = self.unique_name('rl')
        self.seg_bucket = self.bucket + '_segments'
        self.remote.put_container(self.bucket)
        for name in (self.seg_bucket, self.bucket):
            self.addCleanup(empty_remote, self.remote, name)
        self.mapping = self.make_mapping(self.container, self.bucket)

    def make_mapping(self, container, bucket, **extra):
        target = self.swift_target()
        mapping = {'account': self.account, 'container': container, 'aws_bucket': bucket,
                   'protocol': 'swift', 'aws_endpoint': self.proxy.url + '/auth/v1.0',
                   'aws_identity': target['aws_identity'], 'aws_secret': target['aws_secret'],
                   'remote_timeout': 5}
        mapping.update(extra)
        return mapping

    # -- helpers ------------------------------------------------------------
    def sync(self, mappings=None, expect_clean=True):
        daemons = NodeDaemons(self.env, mappings or [self.mapping])
        outputs = daemons.run_once()
        for rc, out in outputs:
            self.assertEqual(rc, 0, out)
            self.assertNotIn('Traceback', out)
        return '\n'.join(out for _, out in outputs)

    def put_segments(self, sizes, prefix='seg-ü/', container=None):
        out = []
        for i, size in enumerate(sizes):
            name = '%s%04d' % (prefix, i)
            data = os.urandom(size)
            self.conn.put_object(container or self.segments, name, data)
            out.append((name, data))
        return out

    def put_slo(self, name, entries, headers=None, container=None):
        self.conn.put_object(container or self.container, name, json.dumps(entries),
                             query_string='multipart-manifest=put', headers=headers or {})

    def seg_path(self, name, container=None):
        return '/%s/%s' % (container or self.segments, name)

    def local(self, name, container=None, **kwargs):
        return self.conn.get_object(container or self.container, name, **kwargs)

    def remote_get(self, name, container=None, **kwargs):
        try:
            return self.remote.get_object(container or self.bucket, name, **kwargs)
        except swiftclient.ClientException as err:
            if err.http_status == 404:
                return None
            raise

    def remote_manifest(self, name, container=None):
        got = self.remote_get(name, container, query_string='multipart-manifest=get')
        return None if got is None else json.loads(got[1])

    def remote_names(self, container):
        try:
            return [o['name'] for o in self.remote.get_container(container,
                                                                 full_listing=True)[1]]
        except swiftclient.ClientException as err:
            if err.http_status == 404:
                return None
            raise

    def assert_remote_equals_local(self, name, container=None, bucket=None, **kwargs):
        got = self.remote_get(name, bucket, **kwargs)
        self.assertIsNotNone(got, name)
        self.assertEqual(md5(got[1]), md5(self.local(name, container, **kwargs)[1]))
        return got[0]


class TestSloToSwift(SwiftLargeBase):

    def test_slo_goes_segments_first_then_its_manifest_and_unchanged_costs_no_upload(self):
        segs = self.put_segments([MiB, MiB, 10])
        name = 'slo/ünïcødé'
        self.put_slo(name, [{'path': self.seg_path(n)} for n, _ in segs],
                     headers={'X-Object-Meta-Farbe': 'Blå Grön', 'Content-Type': 'Video/X-Test'})
        self.mapping['storage_policy'] = 'gold'
        self.sync()
        headers = self.assert_remote_equals_local(name)
        local_headers = self.local(name)[0]
        self.assertEqual(headers['etag'], local_headers['etag'])
        self.assertEqual((headers['x-object-meta-farbe'], headers['content-type']),
                         ('Blå Grön', 'Video/X-Test'))
        self.assertEqual(headers['x-static-large-object'], 'True')
        # The original's layout: <bucket>_segments, names kept, created with the policy.
        self.assertEqual(sorted(self.remote_names(self.seg_bucket)), [n for n, _ in segs])
        self.assertEqual(self.remote.head_container(self.seg_bucket)['x-storage-policy'], 'gold')
        self.assertEqual([e['name'] for e in self.remote_manifest(name)],
                         ['/%s/%s' % (self.seg_bucket, n) for n, _ in segs])
        # Segments first: the manifest PUT started after every segment PUT had its answer.
        seg_puts = self.proxy.puts(self.seg_bucket)
        manifest_puts = [r for r in self.proxy.puts(self.bucket)
                         if 'multipart-manifest=put' in r['query']]
        self.assertEqual((len(seg_puts), len(manifest_puts)), (3, 1))
        self.assertGreaterEqual(manifest_puts[0]['start'], max(r['end'] for r in seg_puts))
        # Unchanged: a second run (fresh status files) uploads nothing.
        self.proxy.reset()
        self.sync()
        self.assertEqual(self.proxy.counts['PUT'], 0, self.proxy.counts)
        self.assertEqual(self.proxy.counts['POST'], 0, self.proxy.counts)

    def test_unicode_metadata_names_reach_the_remote_slo(self):
        # Straight to the remote: the test proxy (http.server) cannot parse non-ASCII header
        # names, Swift can.
        self.mapping['aws_endpoint'] = self.swift_target()['aws_endpoint']
        segs = self.put_segments([MiB, 10])
        self.put_slo('ü', [{'path': self.seg_path(n)} for n, _ in segs],
                     headers={'X-Object-Meta-Färg': 'Blå'})
        self.sync()
        # swiftclient (http.client) stops parsing headers at a non-ASCII name, so it no longer
        # knows the body's length and reads until the server closes: ask it to close at once
        self.assert_remote_equals_local('ü', headers={'Connection': 'close'})
        # the headers after that name are lost to swiftclient; the provider reads them raw
        provider = create_provider(mapping_from_dict(self.mapping))
        self.addCleanup(provider.close)
        self.assertEqual(provider.head_object('ü').headers['x-object-meta-färg'], 'Blå')
        self.conn.post_object(self.container, 'ü', headers={'X-Object-Meta-Färg': 'Grön'})
        self.sync()
        self.assertEqual(provider.head_object('ü').headers['x-object-meta-färg'], 'Grön')

    def test_metadata_post_on_an_slo_is_one_remote_post(self):
        segs = self.put_segments([MiB, 100])
        self.put_slo('posted', [{'path': self.seg_path(n)} for n, _ in segs],
                     headers={'X-Object-Meta-V': '1'})
        self.sync()
        self.conn.post_object(self.container, 'posted',
                              headers={'X-Object-Meta-V': 'zwëi', 'Content-Type': 'text/two'})
        self.proxy.reset()
        self.sync()
        self.assertEqual((self.proxy.counts['PUT'], self.proxy.counts['POST']), (0, 1),
                         self.proxy.counts)
        headers = self.assert_remote_equals_local('posted')
        self.assertEqual((headers['x-object-meta-v'], headers['content-type']),
                         ('zwëi', 'text/two'))
        self.assertEqual(headers['x-static-large-object'], 'True')

    def test_new_version_sends_only_the_segments_the_remote_does_not_hold(self):
        segs = self.put_segments([MiB, MiB])
        self.put_slo('grow', [{'path': self.seg_path(n)} for n, _ in segs])
        self.sync()
        more = self.put_segments([MiB], prefix='seg-ü/new-')
        self.put_slo('grow', [{'path': self.seg_path(n)} for n, _ in segs + more])
        self.proxy.reset()
        self.sync()
        self.assertEqual(sorted(r['parts'][-1] for r in self.proxy.puts(self.seg_bucket)),
                         ['new-0000'])
        self.assert_remote_equals_local('grow')

    def test_a_segment_replaced_under_the_same_name_never_leaves_a_stale_manifest(self):
        segs = self.put_segments([MiB, 200])
        entries = [{'path': self.seg_path(n)} for n, _ in segs]
        self.put_slo('reused', entries)
        self.sync()
        self.conn.put_object(self.segments, segs[1][0], b'new bytes, same name')
        self.put_slo('reused', entries)
        # Hold the new manifest: the old one must already be gone (it names an old segment).
        self.proxy.rule = lambda method, path, query: (
            'hold' if 'multipart-manifest=put' in query else None)
        daemons = NodeDaemons(self.env, [self.mapping])
        daemons.start_all()
        try:
            self.assertTrue(self.proxy.held.wait(120), 'the manifest PUT never came')
            self.assertIsNone(self.remote_get('reused'))
        finally:
            daemons.kill_all()
        self.proxy.rule = None
        self.proxy.release()
        self.sync()
        self.assert_remote_equals_local('reused')

    def test_kill_9_between_segments_and_manifest_leaves_no_manifest_then_completes(self):
        segs = self.put_segments([MiB] * 4)
        name = 'killed ü'
        self.put_slo(name, [{'path': self.seg_path(n)} for n, _ in segs])
        self.proxy.rule = lambda method, path, query: (
            'hold' if 'multipart-manifest=put' in query else None)
        daemons = NodeDaemons(self.env, [self.mapping])
        daemons.start_all()
        try:
            self.assertTrue(self.proxy.held.wait(120), 'the manifest PUT never came')
        finally:
            daemons.kill_all()      # SIGKILL while the manifest PUT is in flight
        self.proxy.rule = None
        self.proxy.release()
        self.assertIsNone(self.remote_get(name))
        self.assertEqual(sorted(self.remote_names(self.seg_bucket)), [n for n, _ in segs])
        self.proxy.reset()
        self.sync()
        self.assertEqual(self.proxy.puts(self.seg_bucket), [], 'segments were sent again')
        self.assert_remote_equals_local(name)

    def test_a_failing_segment_put_never_lets_the_manifest_through(self):
        segs = self.put_segments([MiB, MiB, 300])
        self.put_slo('faulty', [{'path': self.seg_path(n)} for n, _ in segs])
        failing = '/%s/%s' % (self.seg_bucket, segs[1][0])
        self.proxy.rule = lambda method, path, query: (
            500 if method == 'PUT' and path.endswith(failing) else None)
        logs = self.sync()
        self.assertIn('500', logs)
        self.assertIsNone(self.remote_get('faulty'))
        self.assertEqual([r for r in self.proxy.puts(self.bucket)
                          if 'multipart-manifest=put' in r['query']], [])
        self.proxy.rule = None
        self.sync()
        self.assert_remote_equals_local('faulty')

    def test_nested_slo_range_segments_inline_data_and_other_containers(self):
        other = self.make_container(self.conn, 'other-segs')
        segs = self.put_segments([2 * MiB, MiB, MiB])
        far = self.put_segments([300 * KiB], prefix='far-', container=other)
        self.put_slo('inner', [{'path': self.seg_path(segs[1][0])},
                               {'path': self.seg_path(segs[2][0]), 'range': '100-700000'}],
                     container=self.segments)
        entries = [{'path': self.seg_path(segs[0][0]), 'range': '%d-%d' % (KiB, MiB)},
                   {'data': 'aGVsbG8gd29ybGQ='},
                   {'path': '/%s/inner' % self.segments, 'range': '1000-%d' % (MiB + 5)},
                   {'path': self.seg_path(far[0][0], other)}]
        self.put_slo('ranged', entries)
        self.sync()
        self.assert_remote_equals_local('ranged')
        # A nested SLO's segments are flattened into the one manifest; all in <bucket>_segments.
        self.assertEqual({e['name'].split('/')[1] for e in self.remote_manifest('ranged')
                          if 'name' in e}, {self.seg_bucket})
        # Range across a segment boundary, from the remote.
        got = self.remote_get('ranged', headers={'Range': 'bytes=%d-%d' % (MiB - 10, MiB + 20)})
        local = self.local('ranged')[1]
        self.assertEqual(got[1], local[MiB - 10:MiB + 21])

    def test_expiry_reaches_manifest_and_segments_which_outlive_it(self):
        segs = self.put_segments([MiB, 10])
        delete_at = int(time.time()) + 7200
        self.put_slo('expiring', [{'path': self.seg_path(n)} for n, _ in segs],
                     headers={'X-Delete-At': str(delete_at)})
        self.mapping.update(propagate_expiration=True, propagate_expiration_offset=60,
                            remote_delete_after_addition=600)
        self.sync()
        self.assertEqual(int(self.remote_get('expiring')[0]['x-delete-at']), delete_at + 60)
        for name, _ in segs:
            self.assertEqual(int(self.remote.head_object(self.seg_bucket, name)['x-delete-at']),
                             delete_at + 660)
        # A POST that moves the expiry moves it for the segments too, without an upload.
        self.conn.post_object(self.container, 'expiring',
                              headers={'X-Delete-At': str(delete_at + 3600)})
        self.proxy.reset()
        self.sync()
        self.assertEqual(self.proxy.counts['PUT'], 0, self.proxy.counts)
        self.assertEqual(int(self.remote_get('expiring')[0]['x-delete-at']), delete_at + 3660)
        for name, _ in segs:
            self.assertEqual(int(self.remote.head_object(self.seg_bucket, name)['x-delete-at']),
                             delete_at + 4260)


class TestLargeDeletesOnSwift(SwiftLargeBase):

    def test_deleting_an_slo_removes_its_segments_but_not_those_another_manifest_uses(self):
        segs = self.put_segments([MiB, 100, 200])
        self.put_slo('a', [{'path': self.seg_path(n)} for n, _ in segs[:2]])
        self.put_slo('b', [{'path': self.seg_path(n)} for n, _ in segs[1:]])
        self.sync()
        self.assertEqual(len(self.remote_names(self.seg_bucket)), 3)
        self.conn.delete_object(self.container, 'a')
        self.sync()
        self.assertIsNone(self.remote_get('a'))
        self.assertEqual(sorted(self.remote_names(self.seg_bucket)),
                         [segs[1][0], segs[2][0]])
        self.assert_remote_equals_local('b')
        self.conn.delete_object(self.container, 'b')
        self.sync()
        self.assertEqual(self.remote_names(self.seg_bucket), [])
        self.assertEqual(self.remote_names(self.bucket), [])

    def test_deleting_a_dlo_removes_the_segments_under_its_prefix(self):
        self.put_segments([MiB, 1000], prefix='dlo-ü/')
        self.put_segments([10], prefix='keep/')
        self.conn.put_object(self.container, 'dlo', b'',
                             headers={'X-Object-Manifest': '%s/dlo-ü/' % self.segments})
        self.put_slo('keeper', [{'path': self.seg_path('keep/0000')}])
        self.sync()
        self.assert_remote_equals_local('dlo')
        self.conn.delete_object(self.container, 'dlo')
        self.sync()
        self.assertIsNone(self.remote_get('dlo'))
        self.assertEqual(self.remote_names(self.seg_bucket), ['keep/0000'])


class TestDloToSwift(SwiftLargeBase):

    def test_dlo_segments_go_up_and_the_manifest_points_at_the_remote_segments(self):
        segs = self.put_segments([MiB, MiB, 5], prefix='dlo-ü/')
        self.conn.put_object(self.container, 'dlo', b'',
                             headers={'X-Object-Manifest': '%s/dlo-ü/' % self.segments,
                                      'X-Object-Meta-Kind': 'dlö'})
        self.sync()
        headers = self.assert_remote_equals_local('dlo')
        self.assertEqual(urllib.parse.unquote(headers['x-object-manifest']),
                         '%s/dlo-ü/' % self.seg_bucket)
        self.assertEqual(headers['x-object-meta-kind'], 'dlö')
        local_etag = self.local('dlo')[0]['etag'].strip('"')
        self.assertEqual(headers['x-object-meta-swift-source-dlo-etag'], local_etag)
        self.assertEqual(sorted(self.remote_names(self.seg_bucket)), [n for n, _ in segs])
        self.proxy.reset()
        self.sync()
        self.assertEqual((self.proxy.counts['PUT'], self.proxy.counts['POST']), (0, 0),
                         self.proxy.counts)
        self.conn.post_object(self.container, 'dlo', headers={
            'X-Object-Meta-Kind': 'neu', 'X-Object-Manifest': '%s/dlo-ü/' % self.segments})
        self.proxy.reset()
        self.sync()
        self.assertEqual((self.proxy.counts['PUT'], self.proxy.counts['POST']), (0, 1),
                         self.proxy.counts)
        headers = self.assert_remote_equals_local('dlo')
        self.assertEqual(headers['x-object-meta-kind'], 'neu')

    def test_dlo_segments_outlive_the_manifest_by_remote_delete_after_addition(self):
        segs = self.put_segments([MiB, 5], prefix='exp/')
        self.conn.put_object(self.container, 'dlo-exp', b'',
                             headers={'X-Object-Manifest': '%s/exp/' % self.segments})
        self.mapping.update(remote_delete_after=3600, remote_delete_after_addition=600)
        self.sync()
        headers = self.remote_get('dlo-exp')[0]
        manifest_at = int(headers['x-delete-at'])
        self.assertAlmostEqual(manifest_at - float(headers['x-timestamp']), 3600, delta=2)
        for name, _ in segs:
            # each counted from its own PUT (X-Delete-After), a few seconds before the manifest's
            segment_at = int(self.remote.head_object(self.seg_bucket, name)['x-delete-at'])
            self.assertAlmostEqual(segment_at, manifest_at + 600, delta=10)

    def test_convert_dlo_writes_an_slo_manifest(self):
        segs = self.put_segments([MiB, 700], prefix='conv/')
        self.conn.put_object(self.container, 'converted', b'',
                             headers={'X-Object-Manifest': '%s/conv/' % self.segments})
        self.mapping['convert_dlo'] = True
        self.sync()
        headers = self.assert_remote_equals_local('converted')
        self.assertEqual(headers['x-static-large-object'], 'True')
        self.assertNotIn('x-object-manifest', headers)
        self.assertEqual([e['name'] for e in self.remote_manifest('converted')],
                         ['/%s/%s' % (self.seg_bucket, n) for n, _ in segs])
        self.proxy.reset()
        self.sync()
        self.assertEqual(self.proxy.counts['PUT'], 0, self.proxy.counts)

    def test_min_segment_size_joins_small_segments_into_checked_pieces(self):
        segs = self.put_segments([300 * KiB] * 7 + [MiB, 10], prefix='small/')
        self.conn.put_object(self.container, 'joined', b'',
                             headers={'X-Object-Manifest': '%s/small/' % self.segments})
        timestamp = self.local('joined')[0]['x-timestamp']
        self.mapping.update(convert_dlo=True, min_segment_size=MiB)
        self.sync()
        headers = self.assert_remote_equals_local('joined')
        self.assertEqual(headers['x-static-large-object'], 'True')
        # 4 x 300 KiB, 3 x 300 KiB + 1 MiB, then the 10-byte rest: a piece of one segment is
        # that segment, under its own name.
        names = ['joined/%s/%06d' % (timestamp, i) for i in (1, 2)] + [segs[-1][0]]
        self.assertEqual([e['name'] for e in self.remote_manifest('joined')],
                         ['/%s/%s' % (self.seg_bucket, n) for n in names])
        self.assertEqual(sorted(self.remote_names(self.seg_bucket)), sorted(names))
        first = self.remote.head_object(self.seg_bucket, names[0])
        self.assertEqual(first['x-object-meta-combined-etag'],
                         md5(''.join(md5(d) for _, d in segs[:4]).encode()))
        self.assertEqual(int(first['content-length']), 4 * 300 * KiB)
        # Unchanged: nothing sent again.
        self.proxy.reset()
        self.sync()
        self.assertEqual(self.proxy.counts['PUT'], 0, self.proxy.counts)


class TestArchiveLargeToSwift(SwiftLargeBase):
    """Archive mode: upload, verify, drop the local copy and segments; the shunt serves and
    restores the SLO from the remote Swift."""

    def setUp(self):
        super().setUp()
        self.local_view = self.swift_conn(shunt=False)     # what is really stored locally

    def shunted(self, mapping, probe_container):
        """Serve ``mapping`` through the shunt proxy, once the shunt has it (a probe object
        only on the remote shows up in the listing)."""
        write_sync_conf(self.env['sync_conf'], [mapping])
        self.addCleanup(write_sync_conf, self.env['sync_conf'], [])
        self.remote.put_object(self.bucket, '.shunt-probe', b'')
        try:
            deadline = time.time() + 30
            while time.time() < deadline:
                listing = self.conn.get_container(probe_container)[1]
                if any(e.get('name') == '.shunt-probe' for e in listing):
                    return
                time.sleep(0.3)
            self.fail('the shunt did not take the new config within 30 s')
        finally:
            self.remote.delete_object(self.bucket, '.shunt-probe')

    def test_archived_slo_is_served_ranged_and_restored_through_the_shunt(self):
        segs = self.put_segments([MiB, MiB, 1000])
        self.put_slo('cold ü', [{'path': self.seg_path(n)} for n, _ in segs],
                     headers={'X-Object-Meta-Tier': 'kält'})
        whole = b''.join(d for _, d in segs)
        local_etag = self.local('cold ü')[0]['etag']
        self.mapping.update(retain_local=False, propagate_delete=False, merge_namespaces=True,
                            restore_object=True)
        self.sync()
        # Verified on the remote, then gone locally, segments too.
        self.assertEqual(self.remote_get('cold ü')[1], whole)
        self.assertEqual(self.local_view.get_container(self.container)[1], [])
        self.assertEqual(self.local_view.get_container(self.segments)[1], [])
        restored_segments = self.container + '_segments'
        self.addCleanup(empty_and_delete_container, self.local_view, restored_segments)
        # Before the remote container goes (the shunt may still list it for a while).
        self.addCleanup(empty_and_delete_container, self.local_view, self.container)
        shunt_mapping = dict(self.mapping, aws_endpoint=self.swift_target()['aws_endpoint'])
        self.shunted(shunt_mapping, self.container)
        # A range across the first segment boundary: served, not restored.
        headers, body = self.conn.get_object(self.container, 'cold ü',
                                             headers={'Range': 'bytes=%d-%d' % (MiB - 5, MiB + 5)})
        self.assertEqual(body, whole[MiB - 5:MiB + 6])
        self.assertEqual(self.local_view.get_container(self.container)[1], [])
        # A full GET: the SLO with its Swift ETag and metadata, restored as it streams.
        headers, body = self.conn.get_object(self.container, 'cold ü')
        self.assertEqual(body, whole)
        self.assertEqual(headers['etag'], local_etag)
        self.assertEqual(headers['x-object-meta-tier'], 'kält')
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                headers, body = self.local_view.get_object(self.container, 'cold ü')
                break
            except swiftclient.ClientException:
                time.sleep(0.3)
        self.assertEqual(body, whole)
        self.assertEqual(headers['x-static-large-object'], 'True')
        self.assertEqual(sorted(o['name'] for o in self.local_view.get_container(
            restored_segments)[1]), [n for n, _ in segs])

    def test_retain_local_segments_keeps_them(self):
        segs = self.put_segments([MiB, 10])
        self.put_slo('kept', [{'path': self.seg_path(n)} for n, _ in segs])
        self.mapping.update(retain_local=False, propagate_delete=False,
                            retain_local_segments=True)
        self.sync()
        self.assertEqual(self.local_view.get_container(self.container)[1], [])
        self.assertEqual(len(self.local_view.get_container(self.segments)[1]), 2)
        self.assertEqual(self.remote_get('kept')[1], b''.join(d for _, d in segs))


class TestPerAccountLargeToSwift(SwiftLargeBase):
    """A "/*" mapping over two containers whose SLOs share a segments container."""

    def fresh_account(self, tag, containers):
        """(an admin connection to a new account holding ``containers``, that account, the
        mapping's remote prefix); everything is removed at cleanup, remote copies too."""
        admin = self.swift_conn(user=self.env['admin_user'], key=self.env['admin_key'])
        admin.get_auth()
        account = 'AUTH_%s%d' % (tag, int(time.time() * 1000))
        admin.url = admin.url.rsplit('/', 1)[0] + '/' + urllib.parse.quote(account)
        prefix = self.unique_name('p' + tag) + '-'
        for name in containers:
            admin.put_container(name)
            self.addCleanup(empty_and_delete_container, admin, name)
            self.addCleanup(empty_remote, self.remote, prefix + name)
        return admin, account, prefix

    def test_two_containers_with_slos_and_their_segments_container(self):
        admin, account, prefix = self.fresh_account('lo', ('alpha', 'beta', 'segs ü'))
        data = {}
        for i, container in enumerate(('alpha', 'beta')):
            entries = []
            for j, size in enumerate((MiB, 1000 + i)):
                seg = '%s/%d' % (container, j)
                data[seg] = os.urandom(size)
                admin.put_object('segs ü', seg, data[seg])
                entries.append({'path': '/segs ü/%s' % seg})
            admin.put_object(container, 'big', json.dumps(entries),
                             query_string='multipart-manifest=put')
        mapping = self.make_mapping('/*', prefix)
        mapping['account'] = account
        self.sync([mapping])
        for container in ('alpha', 'beta'):
            _headers, body = self.remote.get_object(prefix + container, 'big')
            self.assertEqual(body, data[container + '/0'] + data[container + '/1'])
            manifest = self.remote_manifest('big', prefix + container)
            self.assertEqual([e['name'] for e in manifest],
                             ['/%ssegs ü/%s/%d' % (prefix, container, j) for j in (0, 1)])
        # The segments container is mapped too: its objects are the SLOs' segments, once.
        self.assertEqual(sorted(self.remote_names(prefix + 'segs ü')), sorted(data))

    def test_deleting_an_slo_keeps_a_segment_an_slo_of_another_container_uses(self):
        admin, account, prefix = self.fresh_account('ld', ('one', 'two', 'segs'))
        shared, own = os.urandom(MiB), os.urandom(1000)
        admin.put_object('segs', 'shared', shared)
        admin.put_object('segs', 'own', own)
        admin.put_object('one', 'big', json.dumps([{'path': '/segs/shared'},
                                                   {'path': '/segs/own'}]),
                         query_string='multipart-manifest=put')
        admin.put_object('two', 'big', json.dumps([{'path': '/segs/shared'}]),
                         query_string='multipart-manifest=put')
        mapping = self.make_mapping('/*', prefix, account=account)
        self.sync([mapping])
        self.assertEqual(sorted(self.remote_names(prefix + 'segs')), ['own', 'shared'])
        admin.delete_object('one', 'big')
        self.proxy.reset()
        self.sync([mapping])
        self.assertIsNone(self.remote_get('big', prefix + 'one'))
        # The mapped 'segs' container may upload its objects again (fresh status files), so
        # the deletes sent tell: 'own' went with its only manifest, 'shared' was kept for the
        # other container's SLO.
        with self.proxy.lock:
            deleted = sorted(r['parts'][-1] for r in self.proxy.records
                             if r['method'] == 'DELETE' and len(r['parts']) >= 5 and
                             r['parts'][3] == prefix + 'segs')
        self.assertEqual(deleted, ['own'])
        self.assertEqual(self.remote.get_object(prefix + 'two', 'big')[1], shared)


if __name__ == '__main__':
    unittest.main()

"""The sync daemon end to end: three real node daemons, a real 3-replica cluster, real S3 servers.

Every behaviour is proven against both S3 implementations of the environment (moto and Swift's
s3api), by subclassing the target-independent tests once per target.
"""
import collections
import concurrent.futures
import hashlib
import json
import threading
import time
import unittest
from urllib.parse import quote

from devenv.daemons import NodeDaemons, remote_key, s3_mapping
from devenv.request_counter import RequestCounter
from test.integration.env import IntegrationTest, S3TargetTest


class KeyCountingCounter(RequestCounter):
    """The request counter, plus how many PUTs each key received (to name the worst key)."""

    def __init__(self, *args, **kw):
        self.puts = collections.Counter()     # set first: the handler class is built in __init__
        super().__init__(*args, **kw)

    def reset(self):
        super().reset()
        with self.lock:
            self.puts.clear()

    def _handler_class(self):
        base = super()._handler_class()
        counter = self

        class Handler(base):
            def _proxy(self):
                if self.command == 'PUT':
                    with counter.lock:
                        counter.puts[self.path.split('?', 1)[0]] += 1
                return base._proxy(self)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _proxy
        return Handler


class SyncTestBase(S3TargetTest):
    def new_container(self, prefix='sync'):
        return self.make_container(self.conn, prefix)

    def mapping(self, container, **extra):
        return s3_mapping(self.target, self.bucket, self.account, container, **extra)

    def sync(self, *mappings, **overrides):
        daemons = NodeDaemons(self.env, list(mappings), **overrides)
        outputs = daemons.run_once()
        for rc, out in outputs:
            self.assertEqual(rc, 0, out)
            self.assertNotIn('Traceback', out)
        return daemons, outputs

    def remote_get(self, mapping, name):
        try:
            resp = self.s3.get_object(Bucket=self.bucket, Key=remote_key(mapping, name))
        except self.s3.exceptions.NoSuchKey:
            return None
        return resp['Body'].read(), resp

    def remote_keys(self, mapping):
        prefix = remote_key(mapping, '')
        keys = {}
        for page in self.s3.get_paginator('list_objects_v2').paginate(
                Bucket=self.bucket, Prefix=prefix):
            for item in page.get('Contents', []):
                keys[item['Key'][len(prefix):]] = item['ETag'].strip('"')
        return keys

    def local_etags(self, container):
        return {o['name']: o['hash']
                for o in self.conn.get_container(container, full_listing=True)[1]}

    def put_many_at_once(self, container, count, size=None):
        """``count`` objects (``o00000``...; ``size`` bytes each, else their number) written
        by 8 clients at once (a sequential loop takes too long)."""
        local = threading.local()

        def put(i):
            if not hasattr(local, 'conn'):
                local.conn = self.swift_conn()
                local.conn.retries = 5     # the test's own writes may meet a 503 when busy
            local.conn.put_object(container, 'o%05d' % i, b'x' * size if size else b'%d' % i)
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(put, range(count)))

    def delete_many_at_once(self, container, mapping):
        """Empty both sides quickly; the usual cleanups (one request per object) then have
        nothing left to do."""
        names = [o['name'] for o in self.conn.get_container(container, full_listing=True)[1]]
        local = threading.local()

        def delete(name):
            if not hasattr(local, 'conn'):
                local.conn = self.swift_conn()
            local.conn.delete_object(container, name)
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(delete, names))
        keys = [remote_key(mapping, name) for name in names]
        for i in range(0, len(keys), 1000):
            self.s3.delete_objects(Bucket=self.bucket, Delete={
                'Objects': [{'Key': key} for key in keys[i:i + 1000]], 'Quiet': True})


class SyncBehaviour:
    """Target-independent behaviour; mixed into one TestCase per S3 implementation."""

    def test_unicode_names_metadata_content_type_and_empty_objects_arrive(self):
        container = self.new_container('sync-ünï')
        objects = {
            'ünïcødé/日本語 name.txt': (b'hello', 'text/x-custom;charset=utf-8',
                                      {'X-Object-Meta-Color': 'bár', 'X-Object-Meta-Plain': 'x y'}),
            'a+b c%20d&e=f': (b'odd', 'application/x-odd', {}),
            'empty': (b'', 'application/octet-stream', {'X-Object-Meta-Ünï': 'ok'}),
        }
        for name, (body, ctype, meta) in objects.items():
            self.conn.put_object(container, name, body, content_type=ctype, headers=meta)
        mapping = self.mapping(container)
        self.sync(mapping)
        for name, (body, ctype, meta) in objects.items():
            got = self.remote_get(mapping, name)
            self.assertIsNotNone(got, name)
            data, resp = got
            self.assertEqual(data, body)
            self.assertEqual(resp['ContentType'], ctype)
            self.assertEqual(resp['ETag'].strip('"'), hashlib.md5(body).hexdigest())
        _, resp = self.remote_get(mapping, 'ünïcødé/日本語 name.txt')
        # Q and B are the same length here; the email encoder (and so the original) picks Q.
        self.assertEqual(resp['Metadata']['color'], '=?UTF-8?Q?b=C3=A1r?=')
        self.assertEqual(resp['Metadata']['plain'], 'x y')

    def test_overwrite_post_and_delete_propagate(self):
        container = self.new_container()
        mapping = self.mapping(container)
        self.conn.put_object(container, 'obj', b'one')
        self.sync(mapping)
        self.conn.put_object(container, 'obj', b'two', headers={'X-Object-Meta-V': '2'})
        self.sync(mapping)
        data, resp = self.remote_get(mapping, 'obj')
        self.assertEqual((data, resp['Metadata']), (b'two', {'v': '2'}))
        self.conn.post_object(container, 'obj', headers={'X-Object-Meta-V': '3',
                                                         'Content-Type': 'text/three'})
        self.sync(mapping)
        data, resp = self.remote_get(mapping, 'obj')
        self.assertEqual((data, resp['Metadata'], resp['ContentType']),
                         (b'two', {'v': '3'}, 'text/three'))
        self.conn.delete_object(container, 'obj')
        self.sync(mapping)
        self.assertIsNone(self.remote_get(mapping, 'obj'))

    def test_content_encoding_and_disposition_propagate_and_follow_posts(self):
        container = self.new_container()
        mapping = self.mapping(container)
        self.conn.put_object(container, 'report.csv.gz', b'zipped', headers={
            'Content-Encoding': 'gzip', 'Content-Disposition': 'attachment; filename="r.csv"'})
        self.sync(mapping)
        _, resp = self.remote_get(mapping, 'report.csv.gz')
        self.assertEqual((resp['ContentEncoding'], resp['ContentDisposition']),
                         ('gzip', 'attachment; filename="r.csv"'))
        self.conn.post_object(container, 'report.csv.gz', headers={
            'Content-Encoding': 'gzip', 'Content-Disposition': 'inline'})
        self.sync(mapping)
        _, resp = self.remote_get(mapping, 'report.csv.gz')
        self.assertEqual(resp['ContentDisposition'], 'inline')

    def test_delete_is_not_propagated_without_propagate_delete(self):
        container = self.new_container()
        mapping = self.mapping(container, propagate_delete=False)
        self.conn.put_object(container, 'keep', b'x')
        self.sync(mapping)
        self.conn.delete_object(container, 'keep')
        self.sync(mapping)
        self.assertEqual(self.remote_get(mapping, 'keep')[0], b'x')

    def test_exclude_pattern_and_selection_criteria_choose_objects(self):
        container = self.new_container()
        self.conn.put_object(container, 'tmp/skip', b'x', headers={'X-Object-Meta-Sync': 'yes'})
        self.conn.put_object(container, 'doc/yes', b'x', headers={'X-Object-Meta-Sync': 'YES'})
        self.conn.put_object(container, 'doc/no', b'x', headers={'X-Object-Meta-Sync': 'no'})
        self.conn.put_object(container, 'doc/none', b'x')
        mapping = self.mapping(container, exclude_pattern='tmp/',
                               selection_criteria={'x-object-meta-sync': 'yes'})
        self.sync(mapping)
        self.assertEqual(sorted(self.remote_keys(mapping)), ['doc/yes'])

    def test_unicode_account_and_container(self):
        admin = self.swift_conn(user=self.env['admin_user'], key=self.env['admin_key'])
        admin.get_auth()
        account = 'AUTH_ünï%d' % int(time.time() * 1000)
        url = admin.url.rsplit('/', 1)[0] + '/' + quote(account)
        admin.url = url
        admin.put_container('cønt')
        admin.put_object('cønt', 'øbj', b'data')
        mapping = s3_mapping(self.target, self.bucket, account, 'cønt')
        self.sync(mapping)
        self.assertEqual(self.remote_get(mapping, 'øbj')[0], b'data')


class TestSyncToMoto(SyncTestBase, SyncBehaviour):
    target_name = 'moto'


class TestSyncToS3api(SyncTestBase, SyncBehaviour):
    target_name = 's3api'


class TestSyncEconomyAndRecovery(SyncTestBase):
    """Counted at the S3 endpoint (a counting proxy in front of moto)."""
    target_name = 'moto'

    def setUp(self):
        super().setUp()
        self.counter = KeyCountingCounter(self.target['aws_endpoint']).start()
        self.addCleanup(self.counter.stop)
        self.target = dict(self.target, aws_endpoint=self.counter.url)

    def put_many(self, container, count, prefix='o'):
        for i in range(count):
            self.conn.put_object(container, '%s%05d' % (prefix, i), b'%d' % i)

    # the deferral is the crawler's, the same whatever the target: proven once, counted
    def test_copy_after_defers_objects_until_they_are_old_enough(self):
        container = self.new_container()
        # Far longer than daemons take to start even on a loaded machine, short enough to wait.
        copy_after = 15
        mapping = self.mapping(container, copy_after=copy_after)
        self.conn.put_object(container, 'young', b'x')
        written = time.time()
        daemons, _ = self.sync(mapping)
        self.assertLess(time.time() - written, copy_after, 'too slow to prove the deferral')
        self.assertIsNone(self.remote_get(mapping, 'young'))
        self.assertEqual(self.counter.counts['PUT'], 0, self.counter.counts)
        time.sleep(max(0, written + copy_after + 0.5 - time.time()))
        for rc, out in daemons.run_once():      # the same daemons: the row is pending, now due
            self.assertEqual(rc, 0, out)
        self.assertEqual(self.remote_get(mapping, 'young')[0], b'x')

    def test_three_daemons_sync_every_object_exactly_once(self):
        count = 400         # enough that the fixed requests (bucket checks) show per object
        container = self.new_container()
        self.put_many(container, count)
        mapping = self.mapping(container)
        self.counter.reset()
        daemons, _ = self.sync(mapping)
        self.assertEqual(self.counter.counts['PUT'], count, self.counter.counts)
        per_object = self.counter.total() / float(count)
        print('remote requests per synced object: %.3f %s' % (per_object, dict(self.counter.counts)))
        self.assertLessEqual(per_object, 1.05)
        self.assertEqual(self.remote_keys(mapping), self.local_etags(container))
        # Steady state: the same daemons again find nothing to do.
        self.counter.reset()
        for rc, out in daemons.run_once():
            self.assertEqual(rc, 0, out)
        self.assertEqual(self.counter.counts['PUT'], 0)

    def test_lost_status_files_cause_a_listing_not_reuploads(self):
        container = self.new_container()
        self.put_many(container, 200)
        mapping = self.mapping(container)
        self.sync(mapping, verification_slack=0)
        self.counter.reset()
        self.sync(mapping, verification_slack=0)     # fresh status dirs: nothing remembered
        self.assertEqual(self.counter.counts['PUT'], 0, self.counter.counts)
        self.assertLessEqual(self.counter.total(), 12, self.counter.counts)

    def test_kill_9_mid_run_and_restart_leave_remote_equal_to_local(self):
        container = self.new_container()
        self.put_many(container, 300)
        mapping = self.mapping(container)
        daemons = NodeDaemons(self.env, [mapping])
        daemons.start_all()
        deadline = time.time() + 60
        while self.counter.counts['PUT'] < 60 and time.time() < deadline:
            time.sleep(0.05)
        daemons.kill_all()
        self.assertLess(self.counter.counts['PUT'], 300, 'killed too late to prove anything')
        for path in daemons.status_files():
            with open(path) as f:
                json.load(f)        # never corrupt
        for rc, out in daemons.run_once():
            self.assertEqual(rc, 0, out)
        self.assertEqual(self.remote_keys(mapping), self.local_etags(container))

    def test_three_kill_9s_mid_sync_cost_only_the_uploads_in_flight(self):
        objects, kills, workers, daemon_count = 600, 3, 10, len(self.env['nodes'])
        container = self.new_container()
        self.put_many_at_once(container, objects)
        mapping = self.mapping(container)
        self.addCleanup(self.delete_many_at_once, container, mapping)
        counter = self.counter
        counter.reset()
        daemons = NodeDaemons(self.env, [mapping], workers=workers)
        self.addCleanup(daemons.stop_all)
        started = time.time()
        # Each life of the daemons makes a quarter of the uploads, then all three are killed: the
        # kills are spaced over the sync and each one lands while rows are in flight.
        life = objects // (kills + 1)
        for kill in range(kills):
            before = counter.counts['PUT']
            daemons.start_all()
            deadline = time.time() + 30
            while counter.counts['PUT'] - before < life and time.time() < deadline:
                time.sleep(0.01)
            daemons.kill_all()
            self.assertLess(len(self.remote_keys(mapping)), objects,
                            'kill %d came after the sync was done' % (kill + 1))
        daemons.start_all()
        self.wait_for_all(mapping, objects, 60)
        daemons.stop_all()
        puts = counter.counts['PUT']
        allowance = workers * daemon_count * kills      # uploads in flight at the kills
        worst = counter.puts.most_common(1)[0][1]
        print('kill -9 x%d during a %d-object sync: %d PUTs (%.3f per object), %d extra, '
              'at most %d for one key, %d LISTs, %.1fs' % (
                  kills, objects, puts, puts / objects, puts - objects, worst,
                  counter.counts['GET'], time.time() - started))
        self.assertLessEqual(puts, 1.05 * objects + allowance, dict(counter.counts))
        self.assertEqual(self.remote_keys(mapping), self.local_etags(container))

    def wait_for_all(self, mapping, count, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if len(self.remote_keys(mapping)) >= count:
                return
            time.sleep(0.2)
        self.fail('only %d of %d objects reached the remote within %ds' % (
            len(self.remote_keys(mapping)), count, timeout))

    def test_running_daemons_pick_up_new_objects_without_waiting_for_the_poll(self):
        container = self.new_container()
        self.conn.put_object(container, 'first', b'1')
        mapping = self.mapping(container)
        daemons = NodeDaemons(self.env, [mapping], poll_interval=600)
        self.addCleanup(daemons.stop_all)
        daemons.start_all()
        self.wait_for_remote(mapping, 'first', 60)      # the first full cycle
        self.conn.put_object(container, 'second', b'2')
        # A poll would come after 600 s; only change watching brings it before the deadline.
        self.wait_for_remote(mapping, 'second', 30)

    def wait_for_remote(self, mapping, name, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.remote_get(mapping, name):
                return
            time.sleep(0.1)
        self.fail('%s did not reach the remote within %ds' % (name, timeout))

    def test_throttled_remote_recovers_and_objects_arrive(self):
        container = self.new_container()
        self.put_many(container, 5)
        mapping = self.mapping(container)
        self.counter.fail_next(3, status=503)
        daemons, outputs = self.sync(mapping)
        time.sleep(2.5)     # the failed rows' backoff
        for rc, out in daemons.run_once():
            self.assertEqual(rc, 0, out)
        self.assertEqual(self.remote_keys(mapping), self.local_etags(container))

    def test_missing_bucket_is_one_clear_error_and_other_mappings_carry_on(self):
        good = self.new_container()
        bad = self.new_container()
        self.conn.put_object(good, 'g', b'g')
        self.conn.put_object(bad, 'b', b'b')
        missing = s3_mapping(self.target, 'no-such-bucket-%d' % int(time.time()),
                             self.account, bad)
        _, outputs = self.sync(self.mapping(good), missing)
        for _, out in outputs:     # each node's daemon: one line for the mapping, none per row
            lines = [line for line in out.splitlines()
                     if '[ERROR]' in line and 'no-such-bucket' in line]
            self.assertEqual(len(lines), 1, out)
            self.assertIn('destination unusable', lines[0])
        self.assertEqual(self.remote_get(self.mapping(good), 'g')[0], b'g')


class TestSyncBadCredentials(SyncTestBase):
    target_name = 's3api'     # moto accepts any credentials

    def test_bad_credentials_are_reported_without_crash_or_secret(self):
        container = self.new_container()
        self.conn.put_object(container, 'x', b'x')
        mapping = self.mapping(container, aws_secret='wrong-secret-value')
        _, outputs = self.sync(mapping)
        logs = '\n'.join(out for _, out in outputs)
        self.assertRegex(logs, r'(?i)(denied|signature|forbidden|403)')
        self.assertNotIn('wrong-secret-value', logs)


class TestSyncToSwift(IntegrationTest):
    """The same daemons with a Swift target: names unchanged, metadata case and values kept."""

    def swift_pair(self, prefix, **extra):
        """A local container, an empty remote one, and the mapping between them."""
        conn = self.swift_conn()
        container = self.make_container(conn, prefix)
        remote = self.remote_swift_conn()
        remote_container = self.unique_name(prefix + '-remote')
        remote.put_container(remote_container)
        self.addCleanup(self._empty_remote, remote, remote_container)
        mapping = self.swift_target_mapping(container, remote_container, **extra)
        return conn, container, remote, remote_container, mapping

    def test_put_post_delete_reach_the_remote_swift(self):
        conn, container, remote, remote_container, mapping = self.swift_pair('to-swift')
        conn.put_object(container, 'ünï/obj', b'data', content_type='Text/Mixed',
                        headers={'X-Object-Meta-Color': 'Bár'})
        conn.put_object(container, 'gone', b'x')
        daemons = NodeDaemons(self.env, [mapping])
        self.assertTrue(all(rc == 0 for rc, _ in daemons.run_once()))
        headers, body = remote.get_object(remote_container, 'ünï/obj')
        self.assertEqual((body, headers['content-type'], headers['x-object-meta-color']),
                         (b'data', 'Text/Mixed', 'Bár'))
        conn.post_object(container, 'ünï/obj', headers={'X-Object-Meta-Color': 'Grün'})
        conn.delete_object(container, 'gone')
        self.assertTrue(all(rc == 0 for rc, _ in daemons.run_once()))
        headers = remote.head_object(remote_container, 'ünï/obj')
        self.assertEqual(headers['x-object-meta-color'], 'Grün')
        names = [o['name'] for o in remote.get_container(remote_container)[1]]
        self.assertEqual(names, ['ünï/obj'])

    def test_container_metadata_and_acls_follow_when_asked(self):
        conn, container, remote, remote_container, mapping = self.swift_pair(
            'meta-swift', sync_container_metadata=True, sync_container_acl=True)
        conn.post_container(container, {'X-Container-Meta-Owner': 'Ops Team',
                                         'X-Container-Read': '.r:*'})
        daemons = NodeDaemons(self.env, [mapping])
        self.assertTrue(all(rc == 0 for rc, _ in daemons.run_once()))
        headers = remote.head_container(remote_container)
        self.assertEqual((headers.get('x-container-meta-owner'), headers.get('x-container-read')),
                         ('Ops Team', '.r:*'))
        conn.post_container(container, {'X-Container-Meta-Owner': ''})
        self.assertTrue(all(rc == 0 for rc, _ in daemons.run_once()))
        self.assertNotIn('x-container-meta-owner', remote.head_container(remote_container))

    @staticmethod
    def _empty_remote(remote, container):
        for obj in remote.get_container(container)[1]:
            remote.delete_object(container, obj['name'])
        remote.delete_container(container)


if __name__ == '__main__':
    unittest.main()

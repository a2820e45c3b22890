"""The reliability suite, short (about 2 minutes), inside the normal test run.

One run of ``test/reliability`` against the shared environment: 300 objects (SLOs included)
synced and archived to moto through a fault-injecting proxy (20 % of requests: resets, 500,
503 SlowDown, stalls, answers past the client timeout), three kill -9 of the node daemons (one
aimed inside a multipart upload, one inside the archiver's local delete, one at random), then
every invariant of ``test/reliability/checker.py``. The full suite is ``tools/reliability``.

The product bugs the suite found have a test each here (see ``test/reliability/bugs.py``): an
expectedFailure while open, a plain regression test once fixed."""
import hashlib
import json
import random
import shutil
import tempfile
import time
import unittest

import swiftclient
from devenv.daemons import NodeDaemons, remote_key, s3_mapping
from devenv.request_counter import FaultProxy
from s3_sync.config import validate_config
from s3_sync.local import LocalSwift, new_fence
from s3_sync.swift_env import make_internal_client, setup_swift
from swift.common.utils import Timestamp, close_if_possible
from test.integration.env import S3TargetTest
from test.reliability.figures import Tally
from test.reliability.localfaults import shard_container
from test.reliability.scenarios import SHORT, run_scenario


def remove_sharded_container(conn, container):
    """Its objects; the container itself when the root's stats allow (409 until the shards
    reported to it: left to the environment's next wipe then)."""
    for obj in conn.get_container(container, full_listing=True)[1]:
        conn.delete_object(container, obj['name'])
    try:
        conn.delete_container(container)
    except swiftclient.ClientException as err:
        if err.http_status not in (404, 409):
            raise


def proxy_app(client):
    """The proxy Application inside an InternalClient's pipeline."""
    app = client.app
    while not hasattr(app, 'watchdog'):
        app = app.app
    return app


class TestReliabilityShort(S3TargetTest):
    target_name = 'moto'

    def setUp(self):
        super().setUp()
        setup_swift(self.env['swift_dir'])

    def test_kills_and_remote_faults_lose_nothing(self):
        tally = Tally()
        seed = int(time.time())
        run_scenario('short', self.env, tally, SHORT, seed, log=print, cleanup=True)
        print(tally.kill_report())
        print(tally.figures())
        self.assertEqual(tally.losses, 0)
        self.assertEqual([text for _run, text in tally.problems], [], 'seed %d' % seed)
        self.assertEqual(sum(tally.kills.values()), 3)
        self.assertGreater(sum(tally.faults.values()), 0)
        self.assertGreater(tally.objects_checked, 250)

    # -- product bugs the suite found (test/reliability/bugs.py) -----------------------------
    def archive(self, container):
        mapping = s3_mapping(self.target, self.bucket, self.account, container,
                             retain_local=False)
        for rc, out in NodeDaemons(self.env, [mapping]).run_once():
            self.assertEqual(rc, 0, out)
        return [o['name'] for o in self.swift_conn(shunt=False).get_container(container)[1]]

    # B1 (fixed in e31e0be): non-ASCII user metadata made the fence POST get a local 500
    def test_object_with_non_ascii_metadata_is_archived(self):
        container = self.make_container(self.conn, 'rel-b1')
        self.conn.put_object(container, 'doc', b'data', headers={'X-Object-Meta-Note': 'çà ☃'})
        self.assertEqual(self.archive(container), [])

    # B3 (fixed in ec4033a): LocalObject.close() left the proxy's GET generator open
    def test_closing_a_local_object_closes_its_get(self):
        self.assert_get_closed(read=True)

    # B8 (fixed in be9b45c): closed unread, the proxy's GET stayed open (watchdog armed)
    def test_closing_an_unread_local_object_closes_its_get(self):
        self.assert_get_closed(read=False)

    def assert_get_closed(self, read):
        container = self.make_container(self.conn, 'rel-b3')
        self.conn.put_object(container, 'doc', b'x' * 3000)
        client = make_internal_client(self.internal_client_conf())
        watchdog = proxy_app(client).watchdog
        obj = LocalSwift(client).open(self.account, container, 'doc', 0)
        # what close() should do, so a failure here leaves nothing to fire later
        self.addCleanup(close_if_possible, obj.reader._app_iter.inner_iter)
        self.assertEqual(len(watchdog._timeouts), 1)    # the proxy's client_timeout, armed
        if read:
            self.assertEqual(len(obj.reader.read(obj.size)), 3000)
        obj.close()
        # open, its 60 s client_timeout would fire into the hub (a Traceback in the log)
        self.assertEqual(len(watchdog._timeouts), 0)

    def internal_client_conf(self):
        return validate_config({'swift_dir': self.env['swift_dir'],
                                'internal_client_path': self.env['internal_client_conf_path']},
                               for_daemon=False)

    # B2 (fixed in 070835a): a kill between fence POST and DELETE kept the object local
    def test_object_fenced_by_a_killed_archiver_is_archived_after_restart(self):
        container = self.make_container(self.conn, 'rel-b2')
        self.conn.put_object(container, 'doc', b'data', headers={'X-Object-Meta-A': 'b'})
        # The state a kill -9 leaves between the two steps of LocalSwift.delete_if_unchanged:
        # its fence POST (the metadata re-stated, a fence X-Delete-At, timestamp meta_ts + 1
        # offset) done, its DELETE never sent.
        meta_ts = Timestamp(self.conn.head_object(container, 'doc')['x-timestamp'])
        client = make_internal_client(self.internal_client_conf())
        client.make_request('POST', client.make_path(self.account, container, 'doc'), {
            'X-Object-Meta-A': 'b', 'X-Delete-At': new_fence(),
            'X-Timestamp': Timestamp(meta_ts, offset=meta_ts.offset + 1).internal}, (2,))
        self.assertEqual(self.archive(container), [])

    def test_sharding_a_synced_container_uploads_nothing_again(self):
        """B5, quiescent case (fixed in 0a870d0): a container sharded between two passes."""
        counter, container, daemons = self.sharding_setup(30)
        for rc, out in daemons.run_once():
            self.assertEqual(rc, 0, out)
        self.assertEqual(sum(counter.uploads().values()), 30)
        self.shard(container, 10)
        for rc, out in daemons.run_once():      # the same daemons, the same status files
            self.assertEqual(rc, 0, out)
        self.assertEqual(sum(counter.uploads().values()), 30)

    def test_sharding_during_a_sync_uploads_each_object_once(self):
        """B5 (fixed in 06c62f4): sharded mid-sync, rows went up from the root and the shards."""
        counter, container, daemons = self.sharding_setup(60)
        counter.arm(1.0, ['stall'], stall_seconds=0.3, match=lambda kind: kind == 'PutObject')
        self.addCleanup(daemons.stop_all)
        daemons.start_all()
        deadline = time.time() + 60
        while sum(counter.uploads().values()) < 10 and time.time() < deadline:
            time.sleep(0.2)
        self.shard(container, 15)
        while sum(counter.uploads().values()) < 60 and time.time() < deadline + 60:
            time.sleep(0.5)
        time.sleep(5)           # anything more would come now
        daemons.stop_all()
        uploads = counter.uploads()
        self.assertEqual(len(uploads), 60)
        self.assertEqual(sum(uploads.values()), 60, [p for p, n in uploads.items() if n > 1])

    def test_verification_does_not_upload_again_a_copy_made_in_the_same_second(self):  # B6
        counter = FaultProxy(self.target['aws_endpoint']).start()
        self.addCleanup(counter.stop)
        container = self.make_container(self.conn, 'rel-b6')
        mapping = s3_mapping(dict(self.target, aws_endpoint=counter.url), self.bucket,
                             self.account, container)
        for attempt in range(10):
            name = 'doc%d' % attempt
            self.conn.put_object(container, name, b'data')
            written = float(self.conn.head_object(container, name)['x-timestamp'])
            # the copy a daemon keeping up makes: at once (what it uploads, byte for byte)
            key = remote_key(mapping, name)
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=b'data')
            copied = self.s3.head_object(Bucket=self.bucket, Key=key)['LastModified']
            if int(copied.timestamp()) == int(written):
                break
        else:
            self.skipTest('could not copy an object within the second it was written')
        # every row is past the slack: checked with one listing, nothing to upload
        for rc, out in NodeDaemons(self.env, [mapping], verification_slack=0).run_once():
            self.assertEqual(rc, 0, out)
        self.assertEqual(sum(counter.uploads().values()), 0)

    # B7 (fixed in ea47259): a multipart upload cut by a kill -9 was left incomplete
    def test_a_multipart_upload_cut_by_a_kill_is_aborted_after_the_restart(self):
        counter = FaultProxy(self.target['aws_endpoint']).start()
        self.addCleanup(counter.stop)
        # 12 MiB: a multipart upload of two 6 MiB parts
        container = self.slo_container('rel-b7', [6 * 1024 * 1024] * 2)
        mapping = s3_mapping(dict(self.target, aws_endpoint=counter.url), self.bucket,
                             self.account, container, remote_timeout=60)
        # the parts reach the proxy and wait there: the kill lands inside the upload
        counter.arm(1.0, ['stall'], stall_seconds=30, match=lambda kind: kind == 'UploadPart')
        daemons = NodeDaemons(self.env, [mapping])
        self.addCleanup(daemons.kill_all)
        daemons.start_all()
        deadline = time.time() + 60
        while not counter.in_flight['UploadPart'] and time.time() < deadline:
            time.sleep(0.1)
        self.assertTrue(counter.in_flight['UploadPart'], 'no part upload began')
        daemons.kill_all()
        counter.disarm()
        self.assertEqual(len(self.incomplete_uploads()), 1)
        # its row is superseded: after the restart nothing uploads that key again
        self.conn.delete_object(container, 'big')
        for rc, out in daemons.run_once():
            self.assertEqual(rc, 0, out)
        self.assertEqual(self.incomplete_uploads(), [])

    # B12 (fixed in 0a76a64): a create whose answer was lost (here: past the client timeout,
    # then retried) left an upload nobody knew the id of
    def test_a_multipart_create_answered_too_late_leaves_no_upload_open(self):
        counter = FaultProxy(self.target['aws_endpoint']).start()
        self.addCleanup(counter.stop)
        container = self.slo_container('rel-b12', [5 * 1024 * 1024, 4 * 1024 * 1024])  # 9 MiB
        mapping = s3_mapping(dict(self.target, aws_endpoint=counter.url), self.bucket,
                             self.account, container, remote_timeout=4)
        creates = []

        def first_create(kind):
            creates.append(kind)
            return kind == 'CreateMultipartUpload' and creates.count(kind) == 1
        counter.arm(1.0, ['late'], late_seconds=8, match=first_create)
        for rc, out in NodeDaemons(self.env, [mapping]).run_once():
            self.assertEqual(rc, 0, out)
        self.assertEqual(counter.injected['late'], 1)
        time.sleep(8)       # the late answer's upload exists by now whatever happened
        self.assertEqual(self.incomplete_uploads(), [])
        key = remote_key(mapping, 'big')
        self.assertEqual(self.s3.head_object(Bucket=self.bucket, Key=key)['ContentLength'],
                         9 * 1024 * 1024)

    def slo_container(self, prefix, sizes):
        """A new container holding the SLO ``big`` of segments of ``sizes`` bytes."""
        container = self.make_container(self.conn, prefix)
        segments = self.make_container(self.conn, prefix + '-seg')
        manifest = []
        for i, size in enumerate(sizes):
            part = bytes([65 + i]) * size
            self.conn.put_object(segments, 's%d' % i, part)
            manifest.append({'path': '/%s/s%d' % (segments, i),
                             'etag': hashlib.md5(part).hexdigest(), 'size_bytes': size})
        self.conn.put_object(container, 'big', json.dumps(manifest),
                             query_string='multipart-manifest=put')
        return container

    def incomplete_uploads(self):
        return self.s3.list_multipart_uploads(Bucket=self.bucket).get('Uploads', [])

    def sharding_setup(self, count):
        """A counting proxy, a container of ``count`` objects mapped through it, daemons."""
        counter = FaultProxy(self.target['aws_endpoint']).start()
        self.addCleanup(counter.stop)
        container = self.unique_name('rel-b5')
        self.conn.put_container(container)
        self.addCleanup(remove_sharded_container, self.conn, container)
        for i in range(count):
            self.conn.put_object(container, 'o%02d' % i, b'%d' % i)
        mapping = s3_mapping(dict(self.target, aws_endpoint=counter.url), self.bucket,
                             self.account, container)
        return counter, container, NodeDaemons(self.env, [mapping])

    def shard(self, container, rows):
        workdir = tempfile.mkdtemp(prefix='s3sync-b5-')
        self.addCleanup(shutil.rmtree, workdir, True)
        shards, _seconds, log = shard_container(self.env, self.account, container, rows, workdir)
        self.assertGreater(shards, 1, log)

if __name__ == '__main__':
    random.seed()
    unittest.main()

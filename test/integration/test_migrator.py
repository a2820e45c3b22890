"""swift-s3-migrator end to end: the three real node migrators of the environment pull from a
real S3 server (moto and Swift's s3api) or the second Swift cluster into the real local cluster.

Each test uses fresh buckets and containers; local state is read through proxy B (no shunt).
"""
import hashlib
import json
import os
import re
import signal
import socket
import time
import uuid

import swiftclient

from devenv.daemons import NodeMigrators
from s3_sync.metadata import encode_value
from test.integration.env import IntegrationTest, S3TargetTest, empty_and_delete_container

MiB = 1024 * 1024


def md5(data):
    return hashlib.md5(data).hexdigest()


def unversion(conn, container):
    try:
        conn.post_container(container, {'X-Remove-Versions-Location': 'x'})
    except swiftclient.ClientException as err:
        if err.http_status != 404:
            raise


class MigratorTestMixin:
    def run_migrators(self, migrations, top=None, **settings):
        migrators = NodeMigrators(self.env, migrations, top=top, **settings)
        outputs = migrators.run_once()
        for rc, out in outputs:
            self.assertEqual(rc, 0, out[-3000:])
            self.assertNotIn('Traceback', out, out[-3000:])
        return migrators, outputs

    def statuses(self, migrators):
        found = []
        for index in range(len(self.env['nodes'])):
            path = migrators.status_file(index)
            if os.path.exists(path):
                with open(path) as f:
                    found.extend(json.load(f))
        return found

    def moved(self, migrators):
        return sum(e['status'].get('moved_count', 0) for e in self.statuses(migrators))

    def local(self):
        """Proxy B: the local cluster as it is, without the shunt."""
        return self.swift_conn(shunt=False)

    def local_listing(self, container, conn=None):
        conn = conn or self.local()
        try:
            return {o['name']: o for o in conn.get_container(container, full_listing=True)[1]}
        except swiftclient.ClientException as err:
            if err.http_status == 404:
                return {}
            raise

    def cleanup_local(self, container, conn=None):
        conn = conn or self.local()
        self.addCleanup(empty_and_delete_container, conn, container + '_segments')
        self.addCleanup(empty_and_delete_container, conn, container)


class S3MigrationTests(MigratorTestMixin):
    """Against one S3 server (``target_name``)."""

    def migration(self, **extra):
        entry = {'account': self.account, 'aws_bucket': self.bucket,
                 'aws_endpoint': self.target['aws_endpoint'],
                 'aws_identity': self.target['aws_identity'],
                 'aws_secret': self.target['aws_secret'], 'protocol': 's3'}
        entry.update(extra)
        return entry

    def setUp(self):
        super().setUp()
        self.cleanup_local(self.bucket)

    def put(self, key, body, **kw):
        return self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, **kw)

    def multipart(self, key, parts):
        upload = self.s3.create_multipart_upload(Bucket=self.bucket, Key=key,
                                                 Metadata={'kind': 'mpu'})
        done = []
        for number, data in enumerate(parts, 1):
            resp = self.s3.upload_part(Bucket=self.bucket, Key=key, PartNumber=number,
                                       UploadId=upload['UploadId'], Body=data)
            done.append({'PartNumber': number, 'ETag': resp['ETag']})
        resp = self.s3.complete_multipart_upload(
            Bucket=self.bucket, Key=key, UploadId=upload['UploadId'],
            MultipartUpload={'Parts': done})
        return resp['ETag'].strip('"')

    def source_time(self, key):
        return self.s3.head_object(Bucket=self.bucket, Key=key)['LastModified'].timestamp()

    def test_bucket_is_migrated_with_bodies_metadata_and_timestamps(self):
        objects = {'plain': b'plain body', 'dir/nested.txt': b'nested',
                   'ünïcode/☃ snow': b'unicode name', 'empty': b''}
        for key, body in objects.items():
            self.put(key, body, ContentType='text/x-test',
                     Metadata={'color': 'blue', 'accent': encode_value('bär ☃')})
        self.put('encoded', b'gz', ContentEncoding='gzip',
                 ContentDisposition='attachment; filename="e.gz"')
        parts = [os.urandom(5 * MiB), os.urandom(MiB + 3)]
        mpu_etag = self.multipart('multi/part', parts)
        migrators, _ = self.run_migrators([self.migration()], items_chunk=3)

        local = self.local()
        listing = self.local_listing(self.bucket)
        self.assertEqual(set(listing), set(objects) | {'encoded', 'multi/part'})
        for key, body in objects.items():
            headers, got = local.get_object(self.bucket, key)
            self.assertEqual(got, body, key)
            self.assertEqual(headers['etag'], md5(body))
            self.assertEqual(headers['content-type'], 'text/x-test')
            self.assertEqual(headers['x-object-meta-color'], 'blue')
            self.assertEqual(headers['x-object-meta-accent'], 'bär ☃')
            # the source's time is the local X-Timestamp (a local write is always newer)
            self.assertAlmostEqual(float(headers['x-timestamp']), self.source_time(key),
                                   delta=0.001)
        headers, _ = local.get_object(self.bucket, 'encoded')
        self.assertEqual(headers['content-encoding'], 'gzip')
        self.assertEqual(headers['content-disposition'], 'attachment; filename="e.gz"')
        headers, got = local.get_object(self.bucket, 'multi/part')
        self.assertEqual(got, b''.join(parts))
        self.assertEqual(headers['x-object-meta-kind'], 'mpu')
        segments = self.local_listing(self.bucket + '_segments')
        if self.parts_by_number:
            # each part by its number into <container>_segments, then an SLO
            self.assertEqual(headers['x-static-large-object'], 'True')
            self.assertEqual(sorted(o['hash'] for o in segments.values()),
                             sorted(md5(p) for p in parts))
            self.assertTrue(all(re.match(r'multi/part/\d+\.\d+/%d/%d/0000000[12]$' % (
                sum(map(len, parts)), len(parts[0])), name) for name in segments), segments)
        else:
            # moto ignores partNumber on GET: the object is copied whole
            self.assertEqual(headers['etag'], md5(b''.join(parts)))
            self.assertEqual(segments, {})
        # every object copied by exactly one node
        self.assertEqual(self.moved(migrators), len(objects) + 2)
        # a second run copies nothing: the same times are here
        again, _ = self.run_migrators([self.migration()], items_chunk=3)
        self.assertEqual(self.moved(again), 0)
        self.assertEqual(mpu_etag.split('-')[1], '2')

    def test_local_overwrite_wins_over_migration(self):
        self.put('kept', b'source v1')
        self.put('overwritten-before', b'source old')
        time.sleep(1.1)   # the local write is surely newer than the source's whole second
        local = self.local()
        local.put_container(self.bucket)
        local.put_object(self.bucket, 'overwritten-before', b'local newer')
        self.run_migrators([self.migration()])
        self.assertEqual(local.get_object(self.bucket, 'overwritten-before')[1], b'local newer')
        self.assertEqual(local.get_object(self.bucket, 'kept')[1], b'source v1')
        # a local write after the migration wins too, on every later pass; and a newer
        # source version replaces a copy no client touched since (one pass checks both)
        local.put_object(self.bucket, 'kept', b'local v2')
        self.put('overwritten-before', b'source newest')
        self.run_migrators([self.migration()])
        self.assertEqual(local.get_object(self.bucket, 'kept')[1], b'local v2')
        self.assertEqual(local.get_object(self.bucket, 'overwritten-before')[1],
                         b'source newest')

    def test_source_delete_removes_only_objects_still_marked_and_never_all(self):
        for key in ('gone-marked', 'gone-posted', 'gone-overwritten', 'stays'):
            self.put(key, key.encode())
        self.run_migrators([self.migration()])
        local = self.local()
        local.post_object(self.bucket, 'gone-posted', {'X-Object-Meta-Edited': 'yes'})
        local.put_object(self.bucket, 'gone-overwritten', b'client data')
        local.put_object(self.bucket, 'local-only', b'never at the source')
        for key in ('gone-marked', 'gone-posted', 'gone-overwritten'):
            self.s3.delete_object(Bucket=self.bucket, Key=key)
        statsd = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(statsd.close)
        statsd.bind(('127.0.0.1', 0))
        migrators, _ = self.run_migrators([self.migration()], top={
            'statsd_host': '127.0.0.1', 'statsd_port': statsd.getsockname()[1]},
            statsd_prefix='mig')
        # progress as gauges: the scan listed the whole source ('stays') and ended
        statsd.settimeout(0.5)
        lines = []
        try:
            while True:
                lines.extend(statsd.recv(65536).decode().splitlines())
        except socket.timeout:
            pass
        sent = [re.match(r'mig\..*\.([a-z_]+):([0-9.]+)\|([a-z]+)$', line).groups()
                for line in lines]
        gauges = {(name, value) for name, value, kind in sent if kind == 'g'}
        self.assertIn(('remaining_objects', '0'), gauges, lines)
        self.assertIn(('pass_errors', '0'), gauges, lines)
        self.assertTrue(any(name == 'pass_age' for name, _v in gauges), lines)
        self.assertIn(('deleted_objects', '1', 'c'), sent)
        self.assertEqual(set(self.local_listing(self.bucket)),
                         {'gone-posted', 'gone-overwritten', 'local-only', 'stays'})
        self.assertEqual(sum(e['status'].get('deleted_count', 0)
                             for e in self.statuses(migrators)), 1)
        # the source then lists nothing at all (emptied, or the wrong bucket): the rail
        # keeps every local object, the migrated 'stays' included, and says so
        self.s3.delete_object(Bucket=self.bucket, Key='stays')
        _, outputs = self.run_migrators([self.migration()])
        self.assertEqual(set(self.local_listing(self.bucket)),
                         {'gone-posted', 'gone-overwritten', 'local-only', 'stays'})
        rails = [line for _, out in outputs for line in out.splitlines()
                 if 'the source lists no object' in line]
        self.assertTrue(rails, 'the rail said nothing')

    def test_prefix_and_older_than_select_objects(self):
        self.put('keep/old', b'1')
        self.put('skip/other', b'2')
        self.run_migrators([self.migration(prefix='keep/', older_than=3600)])
        self.assertEqual(self.local_listing(self.bucket), {})
        self.run_migrators([self.migration(prefix='keep/')])
        self.assertEqual(set(self.local_listing(self.bucket)), {'keep/old'})

    def test_kill_9_mid_migration_then_restart_copies_the_rest_once(self):
        count = 120
        for i in range(count):
            self.put('obj-%04d' % i, os.urandom(256))
        migrators = NodeMigrators(self.env, [self.migration()], items_chunk=10, workers=1,
                                  log_level='debug')
        migrators.start_all()
        deadline = time.time() + 120
        while time.time() < deadline:
            have = len(self.local_listing(self.bucket))
            if have >= count // 4:
                break
            time.sleep(0.2)
        migrators.kill_all(signal.SIGKILL)
        before = set(self.local_listing(self.bucket))
        self.assertLess(len(before), count, 'the kill came too late to prove anything')
        # slow (1 worker) only until the kill: the restart need not crawl
        migrators.settings['workers'] = 10
        migrators.write_configs()
        outputs = migrators.run_once()
        copied = [m.group(1) for _, out in outputs
                  for m in re.finditer(r"copied '([^']+)'", out)]
        self.assertEqual(len(self.local_listing(self.bucket)), count)
        self.assertFalse(set(copied) & before, 'copied again after the restart')
        self.assertEqual(len(copied), len(set(copied)), 'copied twice')


class TestMigrateFromMoto(S3MigrationTests, S3TargetTest):
    target_name = 'moto'
    parts_by_number = False


class TestTakeoverOfASilentNode(MigratorTestMixin, S3TargetTest):
    """One node's migrator is not running: its share is taken over after ``takeover_after``
    by one other node, and no object is ever fetched by two nodes."""
    target_name = 'moto'
    # well above a pass of 30 objects even on a loaded machine: the two live nodes must never
    # take each other's share for a slow pass
    TAKEOVER_AFTER = 15

    def test_a_silent_nodes_share_is_taken_over_by_one_node_once(self):
        self.cleanup_local(self.bucket)
        names = ['obj-%03d' % i for i in range(30)]
        for name in names:
            self.s3.put_object(Bucket=self.bucket, Key=name, Body=name.encode())
        log = os.path.join(self.env['log_dir'], 'moto.log')
        offset = os.path.getsize(log)
        migration = {'account': self.account, 'aws_bucket': self.bucket,
                     'aws_endpoint': self.target['aws_endpoint'],
                     'aws_identity': self.target['aws_identity'],
                     'aws_secret': self.target['aws_secret'], 'protocol': 's3'}
        migrators = NodeMigrators(self.env, [migration], takeover_after=self.TAKEOVER_AFTER,
                                  poll_interval=1)
        self.addCleanup(migrators.kill_all)
        started = time.time()
        migrators.start(0)
        migrators.start(1)          # the third node's migrator is down
        deadline = started + 240
        while time.time() < deadline and len(self.local_listing(self.bucket)) < len(names):
            time.sleep(0.5)
        done = time.time()
        migrators.kill_all(signal.SIGKILL)      # at once: a node stopping is silent too
        self.assertEqual(sorted(self.local_listing(self.bucket)), names)
        self.assertGreater(done - started, self.TAKEOVER_AFTER,
                           'all arrived before any takeover: nothing was proven')
        takers = [i for i in (0, 1) if 'migrates their share too' in migrators.log(i)]
        self.assertEqual(len(takers), 1, [migrators.log(i)[-2000:] for i in (0, 1)])
        with open(log, 'rb') as f:
            f.seek(offset)
            # moto's access line (devenv.launch): '... GET /<bucket>/<key> HTTP/1.1 200 ...'
            gets = re.findall(r' GET /%s/(obj-\d+) HTTP/' % self.bucket,
                              f.read().decode('utf-8', 'replace'))
        self.assertEqual(sorted(gets), names, 'an object was fetched twice, or never')


class TestMigrateFromS3api(S3MigrationTests, S3TargetTest):
    target_name = 's3api'
    parts_by_number = True


class SwiftSourceTest(MigratorTestMixin, IntegrationTest):
    """The second Swift cluster as the source, through a fresh account of its own (the admin
    user reaches it with ``remote_account``), so ``"/*"`` sees only this test's containers."""

    def setUp(self):
        super().setUp()
        target = self.env['swift_target']
        cluster = self.env['remote_cluster']
        self.remote_account = 'AUTH_mig%s' % uuid.uuid4().hex[:10]
        self.local_account = 'AUTH_dst%s' % uuid.uuid4().hex[:10]
        admin = swiftclient.Connection(cluster['auth_url'], 'admin:admin', 'admin', retries=0)
        url, token = admin.get_auth()
        self.remote = swiftclient.Connection(
            preauthurl=url.rsplit('/', 1)[0] + '/' + self.remote_account, preauthtoken=token,
            retries=0)
        local_admin = self.swift_conn('admin:admin', shunt=False)
        url, token = local_admin.get_auth()
        self.local_conn = swiftclient.Connection(
            preauthurl=url.rsplit('/', 1)[0] + '/' + self.local_account, preauthtoken=token,
            retries=0)
        self.source = {'account': self.local_account, 'protocol': 'swift',
                       'aws_endpoint': target['aws_endpoint'], 'aws_identity': 'admin:admin',
                       'aws_secret': 'admin', 'remote_account': self.remote_account}

    def remote_container(self, name, headers=None):
        self.remote.put_container(name, headers=headers or {})
        self.addCleanup(empty_and_delete_container, self.remote, name)
        self.cleanup_local(name, self.local_conn)
        return name


class TestMigrateFromSwift(SwiftSourceTest):
    def test_account_migration_with_two_containers(self):
        first = self.remote_container('first', {'X-Container-Meta-Team': 'blue',
                                                'X-Container-Read': '.r:*'})
        second = self.remote_container('second ☃')
        self.remote.put_object(first, 'a', b'alpha', headers={'X-Object-Meta-K': 'v ☃',
                                                              'Content-Type': 'text/a'})
        self.remote.put_object(second, 'b/ü', b'beta')
        self.remote.post_account({'X-Account-Meta-Owner': 'team ☃'})
        migration = dict(self.source, aws_bucket='/*', propagate_account_metadata=True)
        migrators, _ = self.run_migrators([migration])
        headers, got = self.local_conn.get_object(first, 'a')
        self.assertEqual(got, b'alpha')
        self.assertEqual(headers['x-object-meta-k'], 'v ☃')
        self.assertEqual(headers['content-type'], 'text/a')
        remote_headers = self.remote.head_object(first, 'a')
        self.assertEqual(headers['x-timestamp'], remote_headers['x-timestamp'])
        self.assertEqual(self.local_conn.get_object(second, 'b/ü')[1], b'beta')
        container = self.local_conn.head_container(first)
        self.assertEqual(container['x-container-meta-team'], 'blue')
        self.assertEqual(container['x-container-read'], '.r:*')
        self.assertEqual(self.local_conn.head_account()['x-account-meta-owner'], 'team ☃')
        entries = self.statuses(migrators)
        self.assertEqual(sorted({e['container'] for e in entries}), [first, second])
        self.assertTrue(all(e['all_buckets'] and 'aws_secret' not in e for e in entries))

    def test_source_container_gone_removes_only_what_the_migrator_made(self):
        stays = self.remote_container('stays')
        gone = self.remote_container('gone')
        gone_used = self.remote_container('gone-used')
        for container in (stays, gone, gone_used):
            self.remote.put_object(container, 'obj', b'data')
        migration = dict(self.source, aws_bucket='/*')
        self.run_migrators([migration])
        self.local_conn.put_object(gone_used, 'client-object', b'client')
        self.local_conn.put_container('client-made')
        self.cleanup_local('client-made', self.local_conn)
        for container in (gone, gone_used):
            self.remote.delete_object(container, 'obj')
            self.remote.delete_container(container)
        _, outputs = self.run_migrators([migration])
        names = [c['name'] for c in self.local_conn.get_account()[1]]
        self.assertEqual(sorted(names), sorted(['client-made', gone_used, stays]),
                         [out[-1500:] for _, out in outputs])
        self.assertEqual(sorted(self.local_listing(gone_used, self.local_conn)),
                         ['client-object'])
        self.assertEqual(sorted(self.local_listing(stays, self.local_conn)), ['obj'])

    def test_versioned_container_with_its_versions_first(self):
        versions = self.remote_container('docs_versions')
        docs = self.remote_container('docs', {'X-Versions-Location': versions})
        # cleanups run last-first: versioning off before the containers are emptied
        for conn in (self.remote, self.local_conn):
            self.addCleanup(unversion, conn, docs)
        self.remote.put_object(docs, 'doc', b'v1')
        self.remote.put_object(docs, 'doc', b'v2')
        self.assertEqual(len(self.remote.get_container(versions)[1]), 1)
        migrators, _ = self.run_migrators([dict(self.source, aws_bucket=docs)])
        self.assertEqual(self.local_conn.get_object(docs, 'doc')[1], b'v2')
        old, = self.local_listing(versions, self.local_conn)
        self.assertEqual(self.local_conn.get_object(versions, old)[1], b'v1')
        self.assertEqual(self.local_conn.head_container(docs)['x-versions-location'], versions)
        self.assertEqual({e['aws_bucket'] for e in self.statuses(migrators)}, {docs, versions})

    def test_swift_slo_and_dlo_segments_then_manifests(self):
        container = self.remote_container('large')
        segs = self.remote_container('slo_segs')
        dlo_segs = self.remote_container('dlo_segs')
        parts = [os.urandom(MiB), os.urandom(1000)]
        for i, data in enumerate(parts):
            self.remote.put_object(segs, 'part%d' % i, data)
        manifest = [{'path': '/%s/part%d' % (segs, i), 'etag': md5(d), 'size_bytes': len(d)}
                    for i, d in enumerate(parts)]
        self.remote.put_object(container, 'slo', json.dumps(manifest),
                               query_string='multipart-manifest=put',
                               headers={'X-Object-Meta-Size': 'large'})
        self.remote.put_object(dlo_segs, 'part/1', b'one-')
        self.remote.put_object(dlo_segs, 'part/2', b'two')
        self.remote.put_object(dlo_segs, 'other', b'not a segment')
        self.remote.put_object(container, 'dlo', b'',
                               headers={'X-Object-Manifest': '%s/part/' % dlo_segs})
        self.run_migrators([dict(self.source, aws_bucket=container)])
        headers, got = self.local_conn.get_object(container, 'slo')
        self.assertEqual(got, b''.join(parts))
        self.assertEqual(headers['x-object-meta-size'], 'large')
        self.assertEqual(headers['etag'], self.remote.head_object(container, 'slo')['etag'])
        headers, got = self.local_conn.get_object(container, 'dlo')
        self.assertEqual(got, b'one-two')
        self.assertEqual(headers['x-object-manifest'], '%s/part/' % dlo_segs)
        self.assertEqual(sorted(self.local_listing(dlo_segs, self.local_conn)),
                         ['part/1', 'part/2'])
        # a second run finds the same manifests here (same listing hash and time)
        again, _ = self.run_migrators([dict(self.source, aws_bucket=container)])
        self.assertEqual(self.moved(again), 0)


class TestMigratorRefusesBadConfig(MigratorTestMixin, IntegrationTest):
    def test_unknown_storage_policy_is_one_line_exit_2(self):
        migrators = NodeMigrators(self.env, [{
            'account': 'AUTH_test', 'aws_bucket': 'b', 'aws_identity': 'i', 'aws_secret': 's',
            'storage_policy': 'no-such-policy'}])
        (rc, out), = migrators.run_once(nodes=[0])
        self.assertEqual(rc, 2, out)
        self.assertEqual(len(out.strip().splitlines()), 1, out)
        self.assertIn('migrations[0].storage_policy: no storage policy "no-such-policy"', out)

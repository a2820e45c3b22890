"""The cloud-shunt for migrations, in the real proxy A: clients read, list and write a container
whose data is still (partly) at the source, before and while swift-s3-migrator copies it.

The environment's ``sync.json`` (read by proxy A's shunt) gets one migration per test; proxy B
(no shunt) shows the real local state.
"""
import json
import os
import time
import urllib.request
import uuid

import swiftclient

from devenv.daemons import NodeMigrators
from test.integration.env import IntegrationTest, S3TargetTest, empty_and_delete_container


def write_sync_conf(path, migrations):
    tmp = '%s.%s.tmp' % (path, uuid.uuid4().hex[:6])
    with open(tmp, 'w') as f:
        json.dump({'containers': [], 'migrations': migrations}, f, indent=1)
    os.rename(tmp, path)


class TestMigrationShunt(S3TargetTest):
    target_name = 'moto'

    def setUp(self):
        super().setUp()
        self.migration = {'account': self.account, 'aws_bucket': self.bucket,
                          'aws_endpoint': self.target['aws_endpoint'],
                          'aws_identity': self.target['aws_identity'],
                          'aws_secret': self.target['aws_secret']}
        self.local = self.swift_conn(shunt=False)
        self.addCleanup(empty_and_delete_container, self.local, self.bucket)
        self.addCleanup(write_sync_conf, self.env['sync_conf'], [])
        self.s3.put_object(Bucket=self.bucket, Key='probe', Body=b'probe')
        write_sync_conf(self.env['sync_conf'], [self.migration])
        self.wait_for_shunt()

    def wait_for_shunt(self):
        deadline = time.time() + 30
        while True:
            try:
                self.conn.head_object(self.bucket, 'probe')
                return
            except swiftclient.ClientException as err:
                if err.http_status != 404 or time.time() > deadline:
                    raise
            time.sleep(0.5)

    def local_names(self):
        try:
            return {o['name'] for o in self.local.get_container(self.bucket)[1]}
        except swiftclient.ClientException as err:
            if err.http_status == 404:
                return None
            raise

    def test_container_only_at_the_source_is_listed_and_created(self):
        self.s3.put_object(Bucket=self.bucket, Key='a ☃', Body=b'a')
        headers, listing = self.conn.get_container(self.bucket)
        self.assertEqual([o['name'] for o in listing], ['a ☃', 'probe'])
        # the local container exists now (empty), made from the source's settings
        self.assertEqual(self.local_names(), set())
        self.conn.head_container(self.bucket)

    def test_not_yet_migrated_object_is_read_through_and_restored(self):
        self.s3.put_object(Bucket=self.bucket, Key='doc', Body=b'source data',
                           Metadata={'k': 'v'}, ContentType='text/x-doc')
        source_time = self.s3.head_object(Bucket=self.bucket, Key='doc')['LastModified']
        headers, body = self.conn.get_object(self.bucket, 'doc')
        self.assertEqual(body, b'source data')
        self.assertEqual(headers['x-object-meta-k'], 'v')
        deadline = time.time() + 10
        while 'doc' not in (self.local_names() or ()) and time.time() < deadline:
            time.sleep(0.2)
        headers = self.local.head_object(self.bucket, 'doc')
        self.assertEqual(float(headers['x-timestamp']), source_time.timestamp())
        self.assertEqual(headers['content-type'], 'text/x-doc')
        # the restored copy is what the migrator would have written: it copies nothing
        migrators = NodeMigrators(self.env, [self.migration])
        for rc, out in migrators.run_once():
            self.assertEqual(rc, 0, out[-2000:])
            self.assertNotIn("copied 'doc'", out)
        # and it is marked: gone from the source, it goes here too
        self.s3.delete_object(Bucket=self.bucket, Key='doc')
        migrators.run_once()
        self.assertNotIn('doc', self.local_names())

    def test_client_write_wins_over_source_and_delete_hides_it(self):
        self.s3.put_object(Bucket=self.bucket, Key='obj', Body=b'old')
        time.sleep(1.1)
        self.conn.put_object(self.bucket, 'obj', b'new local')   # container made on the way
        self.assertEqual(self.conn.get_object(self.bucket, 'obj')[1], b'new local')
        self.conn.delete_object(self.bucket, 'obj')
        with self.assertRaises(swiftclient.ClientException) as ctx:
            self.conn.get_object(self.bucket, 'obj')
        self.assertEqual(ctx.exception.http_status, 404)

    def test_post_of_a_source_only_object_reaches_the_source(self):
        self.s3.put_object(Bucket=self.bucket, Key='meta', Body=b'm', ContentType='text/m')
        self.conn.head_container(self.bucket)
        self.conn.post_object(self.bucket, 'meta', {'X-Object-Meta-New': 'yes'})
        head = self.s3.head_object(Bucket=self.bucket, Key='meta')
        self.assertEqual(head['Metadata'], {'new': 'yes'})
        self.assertEqual(head['ContentType'], 'text/m')

    def test_account_listing_of_an_all_buckets_migration_shows_the_source(self):
        write_sync_conf(self.env['sync_conf'], [dict(self.migration, aws_bucket='/*')])
        deadline = time.time() + 30
        while True:
            names = [c['name'] for c in self.conn.get_account(full_listing=True)[1]]
            if self.bucket in names or time.time() > deadline:
                break
            time.sleep(0.5)
        self.assertIn(self.bucket, names)
        self.assertEqual(names, sorted(names))
        # plain format too, rendered by listing_formats from our JSON
        url, token = self.conn.get_auth()
        request = urllib.request.Request(url, headers={'X-Auth-Token': token})
        with urllib.request.urlopen(request) as resp:
            self.assertIn(self.bucket, resp.read().decode('utf-8').splitlines())


class TestMigrationShuntS3api(TestMigrationShunt):
    target_name = 's3api'


class TestMigrationShuntSwiftSource(IntegrationTest):
    """The second Swift as the source: reads come from it, and a DELETE reaches it."""

    def setUp(self):
        super().setUp()
        target = self.swift_target()
        self.remote = self.remote_swift_conn()
        self.container = self.unique_name('msrc')
        self.remote.put_container(self.container, headers={'X-Container-Meta-Origin': 'old'})
        self.addCleanup(empty_and_delete_container, self.remote, self.container)
        self.conn = self.swift_conn()
        self.local = self.swift_conn(shunt=False)
        self.addCleanup(empty_and_delete_container, self.local, self.container)
        self.addCleanup(write_sync_conf, self.env['sync_conf'], [])
        self.remote.put_object(self.container, 'probe', b'probe')
        write_sync_conf(self.env['sync_conf'], [{
            'account': self.env['users']['test:tester']['account'],
            'aws_bucket': self.container, 'protocol': 'swift',
            'aws_endpoint': target['aws_endpoint'], 'aws_identity': target['aws_identity'],
            'aws_secret': target['aws_secret'], 'restore_object': False}])
        deadline = time.time() + 30
        while True:
            try:
                self.conn.head_object(self.container, 'probe')
                break
            except swiftclient.ClientException as err:
                if err.http_status != 404 or time.time() > deadline:
                    raise
            time.sleep(0.5)

    def test_container_settings_come_from_the_source_and_delete_reaches_it(self):
        self.remote.put_object(self.container, 'doc ☃', b'remote body')
        self.assertEqual(self.conn.head_container(self.container)['x-container-meta-origin'],
                         'old')
        self.assertEqual(self.conn.get_object(self.container, 'doc ☃')[1], b'remote body')
        # restore_object false: nothing was written here
        self.assertEqual(self.local.get_container(self.container)[1], [])
        self.conn.delete_object(self.container, 'doc ☃')
        with self.assertRaises(swiftclient.ClientException) as ctx:
            self.remote.head_object(self.container, 'doc ☃')
        self.assertEqual(ctx.exception.http_status, 404)

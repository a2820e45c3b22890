"""The dev environment is what the other integration tests assume it is.

Real Swift through both proxies, both S3 implementations, the second Swift
cluster, container DB replicas on all three nodes, the silver policy, and an
idempotent ``up``.
"""

import glob
import hashlib
import os

import swiftclient
from botocore.exceptions import ClientError

from devenv import Environment
from s3_sync.swift_env import setup_swift
from test.integration.env import IntegrationTest

UNICODE_NAME = 'ünïcødé/日本語 name.txt'


class TestSwiftThroughBothProxies(IntegrationTest):
    def test_object_put_get_post_delete_through_shunt_proxy(self):
        conn = self.swift_conn()
        container = self.make_container(conn)
        etag = conn.put_object(container, 'a/b.txt', b'hello world',
                               content_type='text/plain')
        self.assertEqual(hashlib.md5(b'hello world').hexdigest(), etag)
        headers, body = conn.get_object(container, 'a/b.txt')
        self.assertEqual(b'hello world', body)
        conn.post_object(container, 'a/b.txt',
                         {'X-Object-Meta-Color': 'blue'})
        self.assertEqual('blue', conn.head_object(
            container, 'a/b.txt')['x-object-meta-color'])
        conn.delete_object(container, 'a/b.txt')
        with self.assertRaises(swiftclient.ClientException) as caught:
            conn.get_object(container, 'a/b.txt')
        self.assertEqual(404, caught.exception.http_status)

    def test_proxies_agree_when_no_mapping_is_configured(self):
        shunt, noshunt = self.swift_conn(), self.swift_conn(shunt=False)
        container = self.make_container(shunt)
        shunt.put_object(container, 'via-a', b'A')
        noshunt.put_object(container, 'via-b', b'B')
        noshunt.post_container(container, {'X-Container-Meta-Mood': 'ok'})
        for conn in (shunt, noshunt):
            headers, listing = conn.get_container(container)
            self.assertEqual(['via-a', 'via-b'],
                             [o['name'] for o in listing])
            self.assertEqual('ok', headers['x-container-meta-mood'])
            self.assertEqual(b'B', conn.get_object(container, 'via-b')[1])

    def test_unicode_object_name_round_trips_on_both_proxies(self):
        shunt, noshunt = self.swift_conn(), self.swift_conn(shunt=False)
        container = self.make_container(shunt, 'uni')
        shunt.put_object(container, UNICODE_NAME, b'x')
        for conn in (shunt, noshunt):
            names = [o['name'] for o in conn.get_container(container)[1]]
            self.assertEqual([UNICODE_NAME], names)
            self.assertEqual(b'x', conn.get_object(container,
                                                   UNICODE_NAME)[1])

    def test_non_admin_user_cannot_create_containers(self):
        conn = self.swift_conn('test:tester3')
        with self.assertRaises(swiftclient.ClientException) as caught:
            conn.put_container(self.unique_name('denied'))
        self.assertEqual(403, caught.exception.http_status)


class TestOnDiskLayout(IntegrationTest):
    def setUp(self):
        setup_swift(self.env['swift_dir'])  # hash prefix/suffix, policies

    def test_new_container_has_a_db_replica_on_every_node(self):
        from swift.common.ring import Ring
        from swift.common.utils import hash_path

        container = self.make_container(self.swift_conn())
        ring = Ring(self.env['swift_dir'], ring_name='container')
        part, nodes = ring.get_nodes('AUTH_test', container)
        self.assertEqual(['127.0.0.1', '127.0.0.2', '127.0.0.3'],
                         sorted(n['ip'] for n in nodes))
        name_hash = hash_path('AUTH_test', container)
        devices = {n['swift_bind_ip']: n['devices'] for n in self.env['nodes']}
        for node in nodes:
            db = os.path.join(devices[node['ip']], node['device'],
                              'containers', str(part), name_hash[-3:],
                              name_hash, name_hash + '.db')
            self.assertTrue(os.path.isfile(db), db)

    def test_silver_policy_container_stores_objects_in_policy_1(self):
        from swift.common.ring import Ring
        from swift.common.utils import hash_path

        conn = self.swift_conn()
        container = self.make_container(
            conn, 'silver', {'X-Storage-Policy': 'silver'})
        self.assertEqual('silver', conn.head_container(
            container)['x-storage-policy'])
        conn.put_object(container, 'obj', b'silver data')
        self.assertEqual(b'silver data', conn.get_object(container, 'obj')[1])
        part, nodes = Ring(self.env['swift_dir'],
                           ring_name='object-1').get_nodes(
                               'AUTH_test', container, 'obj')
        name_hash = hash_path('AUTH_test', container, 'obj')
        devices = {n['swift_bind_ip']: n['devices'] for n in self.env['nodes']}
        for node in nodes:
            pattern = os.path.join(devices[node['ip']], node['device'],
                                   'objects-1', str(part), '*', name_hash,
                                   '*.data')
            self.assertEqual(1, len(glob.glob(pattern)), pattern)


class TestS3Targets(IntegrationTest):
    def test_there_are_two_independent_s3_targets(self):
        self.assertEqual(['moto', 's3api'],
                         [t['name'] for t in self.s3_targets()])

    def test_object_round_trip_on_every_target(self):
        for target in self.s3_targets():
            with self.subTest(target=target['name']):
                client = self.s3_client(target)
                bucket = self.make_bucket(target)
                resp = client.put_object(
                    Bucket=bucket, Key=UNICODE_NAME, Body=b'data',
                    Metadata={'color': 'blue', 'mixed-case': 'Value'})
                md5 = hashlib.md5(b'data').hexdigest()
                self.assertEqual('"%s"' % md5, resp['ETag'])
                head = client.head_object(Bucket=bucket, Key=UNICODE_NAME)
                self.assertEqual({'color': 'blue', 'mixed-case': 'Value'},
                                 head['Metadata'])
                got = client.get_object(Bucket=bucket, Key=UNICODE_NAME)
                self.assertEqual(b'data', got['Body'].read())
                listing = client.list_objects_v2(Bucket=bucket)
                self.assertEqual([(UNICODE_NAME, '"%s"' % md5)],
                                 [(o['Key'], o['ETag'])
                                  for o in listing['Contents']])
                client.delete_object(Bucket=bucket, Key=UNICODE_NAME)
                with self.assertRaises(ClientError) as caught:
                    client.head_object(Bucket=bucket, Key=UNICODE_NAME)
                self.assertEqual('404', caught.exception.response[
                    'Error']['Code'])

    def test_s3api_buckets_live_in_the_test2_account(self):
        target = [t for t in self.s3_targets() if t['name'] == 's3api'][0]
        bucket = self.make_bucket(target)
        test2 = self.swift_conn('test2:tester2', shunt=False)
        test2.head_container(bucket)  # raises if it is not there
        names = [c['name'] for c in self.swift_conn().get_account()[1]]
        self.assertNotIn(bucket, names)

    def test_s3api_rejects_a_wrong_secret(self):
        target = [t for t in self.s3_targets() if t['name'] == 's3api'][0]
        target['aws_secret'] = 'wrong'
        with self.assertRaises(ClientError) as caught:
            self.s3_client(target).list_buckets()
        self.assertEqual('SignatureDoesNotMatch',
                         caught.exception.response['Error']['Code'])


class TestSwiftTarget(IntegrationTest):
    def test_remote_cluster_round_trip(self):
        conn = self.remote_swift_conn()
        container = self.make_container(conn, 'remote')
        conn.put_object(container, UNICODE_NAME, b'remote data')
        conn.post_object(container, UNICODE_NAME,
                         {'X-Object-Meta-Where': 'remote'})
        headers, body = conn.get_object(container, UNICODE_NAME)
        self.assertEqual((b'remote data', 'remote'),
                         (body, headers['x-object-meta-where']))
        self.assertEqual([UNICODE_NAME],
                         [o['name'] for o in conn.get_container(
                             container)[1]])
        conn.delete_object(container, UNICODE_NAME)
        self.assertEqual([], conn.get_container(container)[1])

    def test_remote_cluster_is_a_separate_cluster(self):
        container = self.make_container(self.remote_swift_conn(), 'remote')
        local_admin = swiftclient.Connection(
            self.env['auth_url'], self.env['admin_user'],
            self.env['admin_key'], retries=0,
            os_options={'object_storage_url': '%s/v1/AUTH_remote' % (
                self.env['proxies']['noshunt']['url'])})
        with self.assertRaises(swiftclient.ClientException) as caught:
            local_admin.head_container(container)
        self.assertEqual(404, caught.exception.http_status)
        self.assertNotEqual(self.env['hash_path_suffix'],
                            self.env['remote_cluster']['hash_path_suffix'])

    def test_swift_target_names_the_remote_auth_url(self):
        target = self.swift_target()
        self.assertEqual(self.env['remote_cluster']['auth_url'],
                         target['aws_endpoint'])
        conn = swiftclient.Connection(target['aws_endpoint'],
                                      target['aws_identity'],
                                      target['aws_secret'], retries=0)
        self.assertIn('/v1/AUTH_remote', conn.get_auth()[0])


class TestLifecycle(IntegrationTest):
    def _pids(self, env):
        return {name: env.procs.running_pid(name)
                for name in env.procs.names()}

    def test_up_on_a_running_environment_restarts_nothing(self):
        env = Environment(self.env['base'])
        before = self._pids(env)
        self.assertEqual(19, len(before))     # proxymc included
        info = env.up()
        self.assertEqual(before, self._pids(env))
        self.assertEqual(self.env['nodes'], info['nodes'])
        self.assertTrue(env.is_up())

    def test_proxymc_answers_on_its_own_port_with_swift_auth(self):
        info = self.env['proxymc']
        conn = swiftclient.Connection(info['auth_url'], 'test:tester',
                                      self.env['users']['test:tester']['key'], retries=0)
        self.assertIn('/v1/AUTH_test', conn.get_auth()[0])
        self.assertNotIn(info['url'], [p['url'] for p in self.env['proxies'].values()])

    def test_env_json_gives_each_node_what_a_sync_daemon_needs(self):
        for node in self.env['nodes']:
            self.assertTrue(os.path.isdir(os.path.join(
                node['devices'], node['device'])))
            self.assertTrue(os.path.isfile(node['internal_client_conf_path']))
            with open(node['container_server_conf']) as fp:
                conf = fp.read()
            self.assertIn('bind_port = %d\n' % node['bind_port'], conf)
            self.assertIn('bind_ip = %s\n' % node['swift_bind_ip'], conf)
            self.assertIn('devices = %s\n' % node['devices'], conf)
            self.assertTrue(os.path.isfile(os.path.join(
                node['swift_dir'], 'container.ring.gz')))

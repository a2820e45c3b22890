"""Swift's own container-sync runs between the two dev clusters (the realm scheme).

The benchmark compares our daemon with container-sync, so the environment must let
container-sync work: a ``container-sync-realms.conf`` in both swift_dirs and the
``container_sync`` middleware in the proxies. Each test syncs a fresh local container to a
fresh remote one by running ``swift.container.sync`` with ``--once`` on every local node
(each node sends its share of the rows), then reads the remote cluster.
"""
import subprocess
import sys

import swiftclient

from devenv.launch import child_env
from devenv.sync_realms import sync_to
from test.integration.env import IntegrationTest, empty_and_delete_container

SYNC_KEY = 'test-sync-key'
# run_daemon as swift-container-sync does, after pointing Swift at the cluster's swift_dir
# (prepare_swift also keeps Swift from logging to a syslog socket)
RUN_ONCE = ('import sys\n'
            'from devenv.launch import prepare_swift\n'
            'prepare_swift(sys.argv[1])\n'
            'from swift.common.daemon import run_daemon\n'
            'from swift.container.sync import ContainerSync\n'
            'run_daemon(ContainerSync, sys.argv[2], once=True, verbose=True)\n')
PASS_TIMEOUT = 120


def run_container_sync_once(info):
    """One container-sync pass on every local node, all at once; their output."""
    env = child_env()
    procs = [subprocess.Popen([sys.executable, '-c', RUN_ONCE, node['swift_dir'],
                               node['container_server_conf']],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
             for node in info['nodes']]
    output = []
    for proc in procs:
        out, _ = proc.communicate(timeout=PASS_TIMEOUT)
        output.append(out.decode('utf-8', 'replace'))
        if proc.returncode:
            raise AssertionError('container-sync exited %d:\n%s' % (
                proc.returncode, output[-1][-3000:]))
    return '\n'.join(output)


class TestContainerSync(IntegrationTest):
    def setUp(self):
        self.local = self.swift_conn(shunt=False)
        self.remote = self.remote_swift_conn()
        self.addCleanup(self.local.close)
        self.addCleanup(self.remote.close)
        self.account = self.env['swift_target']['account']

    def remote_container(self, key):
        name = self.unique_name('csync-dst')
        self.remote.put_container(name, headers={'X-Container-Sync-Key': key})
        self.addCleanup(empty_and_delete_container, self.remote, name)
        return name

    def synced_local_container(self, dest):
        name = self.make_container(self.local, 'csync-src', headers={
            'X-Container-Sync-To': sync_to(self.account, dest),
            'X-Container-Sync-Key': SYNC_KEY})
        # stop syncing first, so a daemon run by another test leaves it alone
        self.addCleanup(self.local.post_container, name, {'X-Container-Sync-To': ''})
        return name

    def put_objects(self, container, count=6):
        bodies = {'obj-%d' % i: b'body of object %d' % i for i in range(count)}
        bodies['ünïcødé/name'] = b'unicode name'
        for name, body in bodies.items():
            self.local.put_object(container, name, body)
        return bodies

    def remote_bodies(self, container):
        _headers, listing = self.remote.get_container(container, full_listing=True)
        return {entry['name']: self.remote.get_object(container, entry['name'])[1]
                for entry in listing}

    def test_objects_reach_the_remote_cluster_after_one_pass_on_every_node(self):
        dest = self.remote_container(SYNC_KEY)
        source = self.synced_local_container(dest)
        bodies = self.put_objects(source)
        log = run_container_sync_once(self.env)
        self.assertEqual(self.remote_bodies(dest), bodies, log[-3000:])

    def test_a_different_key_on_the_remote_container_syncs_nothing(self):
        dest = self.remote_container('not-' + SYNC_KEY)
        source = self.synced_local_container(dest)
        self.put_objects(source, count=2)
        log = run_container_sync_once(self.env)
        self.assertEqual(self.remote_bodies(dest), {})
        self.assertIn('Unauth', log)     # it tried, and the remote proxy said 401

    def test_container_server_rejects_a_realm_not_in_the_realms_file(self):
        with self.assertRaises(swiftclient.ClientException) as caught:
            self.make_container(self.local, 'csync-bad', headers={
                'X-Container-Sync-To': '//no-such-realm/remote/%s/x' % self.account,
                'X-Container-Sync-Key': SYNC_KEY})
        self.assertEqual(caught.exception.http_status, 400)
        self.assertIn(b'No realm key', caught.exception.http_response_content)

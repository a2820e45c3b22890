"""Per-object sync status through the Swift API: a HEAD with ?sync-status (or
X-Cloud-Sync-Status: check) says synced / pending / failed / archived, with one remote HEAD,
and only when asked."""
import json
import os
import time
import uuid

from devenv.daemons import NodeDaemons
from devenv.request_counter import FaultProxy
from test.integration.test_sync_daemon import SyncTestBase


def write_sync_conf(path, mappings):
    tmp = '%s.%s.tmp' % (path, uuid.uuid4().hex[:6])
    with open(tmp, 'w') as f:
        json.dump({'containers': mappings}, f, indent=1)
    os.rename(tmp, path)


class SyncStatusHeadTest(SyncTestBase):
    target_name = 'moto'

    def head_status(self, container, name, header=False):
        if header:
            headers = self.conn.head_object(container, name,
                                            headers={'X-Cloud-Sync-Status': 'check'})
        else:
            headers = self.conn.head_object(container, name, query_string='sync-status')
        return headers.get('x-cloud-sync-status'), headers

    def test_head_reports_synced_pending_failed_archived_with_one_remote_head_when_asked(self):
        proxy = FaultProxy(self.target['aws_endpoint']).start()
        self.addCleanup(proxy.stop)
        synced, archived = self.new_container('st-sync'), self.new_container('st-arch')
        sync_mapping = dict(self.mapping(synced), aws_endpoint=proxy.url)
        arch_mapping = dict(self.mapping(archived), aws_endpoint=proxy.url, retain_local=False)
        write_sync_conf(self.env['sync_conf'], [sync_mapping, arch_mapping])
        self.addCleanup(write_sync_conf, self.env['sync_conf'], [])
        self.conn.put_object(synced, 'good', b'good', headers={'X-Object-Meta-K': 'v'})
        self.conn.put_object(archived, 'old', b'archived bytes')
        daemons = NodeDaemons(self.env, [sync_mapping, arch_mapping])
        for rc, out in daemons.run_once():
            self.assertEqual(rc, 0, out)
        proxy.arm(1.0, kinds=('500',), match=lambda kind: kind == 'PutObject')
        self.conn.put_object(synced, 'bad', b'bad')
        for rc, out in daemons.run_once():
            self.assertEqual(rc, 0, out)
        proxy.disarm()
        self.conn.put_object(synced, 'new', b'new')
        deadline = time.time() + 30
        while self.head_status(synced, 'good')[0] in (None, 'not-mapped'):
            self.assertLess(time.time(), deadline, 'the shunt never loaded the mappings')
            time.sleep(0.5)

        before = len(proxy.records)
        state, headers = self.head_status(synced, 'good')
        self.assertEqual(state, 'synced')
        self.assertEqual(headers['x-cloud-sync-remote-etag'], headers['etag'])
        self.assertEqual([r['method'] for r in proxy.records[before:]], ['HEAD'])
        before = len(proxy.records)
        plain = self.conn.head_object(synced, 'good')
        self.assertNotIn('x-cloud-sync-status', plain)
        self.assertEqual(len(proxy.records), before, 'a plain HEAD costs no remote request')

        state, headers = self.head_status(synced, 'bad', header=True)
        self.assertEqual(state, 'failed', headers)
        self.assertIn('500', headers['x-cloud-sync-status-detail'])
        state, headers = self.head_status(synced, 'new')
        self.assertEqual(state, 'pending')
        self.assertIn('not on the remote yet', headers['x-cloud-sync-status-detail'])
        self.conn.post_object(synced, 'good', headers={'X-Object-Meta-K': 'changed'})
        state, headers = self.head_status(synced, 'good')
        self.assertEqual((state, headers['x-cloud-sync-status-detail']),
                         ('pending', 'remote metadata differ'))
        state, headers = self.head_status(archived, 'old')
        self.assertEqual(state, 'archived')
        self.assertEqual(headers['content-length'], str(len(b'archived bytes')))
        other = self.new_container('st-unmapped')
        self.conn.put_object(other, 'x', b'x')
        self.assertEqual(self.head_status(other, 'x')[0], 'not-mapped')

"""`swift-s3-sync resync` repairs a bucket from which objects were deleted behind the daemon's
back; `swift-s3-verify --audit` finds a missing, an extra and a corrupted remote object."""
import json
import subprocess
import sys

from devenv.daemons import remote_key
from test.integration.ops_helpers import run_command
from test.integration.test_sync_daemon import SyncTestBase

NAMES = ['r-%02d' % i for i in range(9)]


class ResyncAuditTest(SyncTestBase):
    target_name = 'moto'

    def synced_container(self, prefix):
        container = self.new_container(prefix)
        for name in NAMES:
            self.conn.put_object(container, name, name.encode() * 10,
                                 headers={'X-Object-Meta-Name': name})
        mapping = self.mapping(container)
        daemons, _ = self.sync(mapping, cluster_status=False)
        self.assertEqual(set(self.remote_keys(mapping)), set(NAMES))
        return container, mapping, daemons

    def audit(self, daemons, container, *extra):
        cmd = [sys.executable, '-m', 's3_sync.cli.verify', '--audit', '--config',
               daemons.configs[0], '--container', container] + list(extra)
        proc = subprocess.run(cmd, capture_output=True, text=True, env=daemons._env(),
                              timeout=120)
        self.assertNotIn('Traceback', proc.stderr)
        return proc.returncode, proc.stdout, proc.stderr

    def test_resync_repairs_objects_deleted_behind_the_daemons_back(self):
        container, mapping, daemons = self.synced_container('resync')
        lost = NAMES[:4]
        for name in lost:
            self.s3.delete_object(Bucket=self.bucket, Key=remote_key(mapping, name))
        # The daemons' checkpoints are past these rows: a normal pass does not see the loss.
        daemons.run_once()
        self.assertEqual(set(self.remote_keys(mapping)), set(NAMES) - set(lost))
        summaries = []
        for i in range(3):
            rc, out, err = run_command(daemons, i, 'resync', '--container', container)
            self.assertEqual(rc, 0, err)
            summaries.append(out)
        self.assertEqual(set(self.remote_keys(mapping)), set(NAMES))
        repaired = sum(int(s.split(', ')[2].split()[0]) for s in summaries)
        checked = sum(int(s.split()[1]) for s in summaries)
        self.assertEqual((repaired, checked), (len(lost), len(NAMES)), summaries)
        self.assertTrue(all('rows checked' in s and 'repaired' in s for s in summaries))
        # --since a future date checks nothing; a bad date is one line, exit 2.
        rc, out, err = run_command(daemons, 0, 'resync', '--since', '2999-01-01')
        self.assertEqual(rc, 0, err)
        self.assertIn('resync: 0 rows checked', out)
        rc, out, err = run_command(daemons, 0, 'resync', '--since', 'yesterday-ish')
        self.assertEqual((rc, out), (2, ''))
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertIn('--since', err)
        rc, out, err = run_command(daemons, 0, 'resync', '--container', 'nope')
        self.assertEqual(rc, 2, err)
        self.assertNotIn('Traceback', err)

    def test_audit_finds_a_missing_an_extra_and_a_corrupted_remote_object(self):
        container, mapping, daemons = self.synced_container('audit')
        rc, out, err = self.audit(daemons, container)
        self.assertEqual(rc, 0, out + err)
        self.assertIn('0 missing, 0 extra, 0 differing', out)
        self.s3.delete_object(Bucket=self.bucket, Key=remote_key(mapping, NAMES[1]))
        self.s3.put_object(Bucket=self.bucket, Key=remote_key(mapping, 'stray'), Body=b'?')
        self.s3.put_object(Bucket=self.bucket, Key=remote_key(mapping, NAMES[2]),
                           Body=b'corrupted!!', Metadata={'name': NAMES[2]})
        # Same bytes, other metadata: only --metadata sees it.
        key = remote_key(mapping, NAMES[3])
        self.s3.copy_object(Bucket=self.bucket, Key=key, CopySource={
            'Bucket': self.bucket, 'Key': key}, Metadata={'name': 'changed'},
            MetadataDirective='REPLACE')
        rc, out, err = self.audit(daemons, container, '--json')
        self.assertEqual(rc, 1, err)
        report = json.loads(out)
        self.assertEqual(report['missing'], [NAMES[1]])
        self.assertEqual(report['extra'], ['stray'])
        self.assertEqual([d['name'] for d in report['differing']], [NAMES[2]])
        self.assertEqual(report['compared'], len(NAMES) + 1)
        rc, out, err = self.audit(daemons, container, '--metadata', '--json')
        self.assertEqual(rc, 1, err)
        self.assertEqual(sorted(d['name'] for d in json.loads(out)['differing']),
                         [NAMES[2], NAMES[3]])
        rc, out, err = self.audit(daemons, container)
        self.assertEqual(rc, 1)
        self.assertIn('1 missing, 1 extra, 1 differing', out)
        self.assertIn('missing: %s' % NAMES[1], out)
        rc, out, err = self.audit(daemons, 'no-such-container')
        self.assertEqual(rc, 2)
        self.assertEqual(len(err.strip().splitlines()), 1, err)

"""The delete rail stops a mass delete at its limit until `retry-failed --allow-deletes`, and a
daemon `--dry-run` logs what it would do while changing nothing, locally or remotely."""
import hashlib
import os
import subprocess

from devenv.daemons import NodeDaemons
from test.integration.ops_helpers import run_command, status_json
from test.integration.test_sync_daemon import SyncTestBase

NAMES = ['del-%02d' % i for i in range(12)]


def snapshot(directory):
    """{path: (size, mtime, sha1)} of every file under ``directory``."""
    found = {}
    for root, _dirs, files in os.walk(directory):
        for name in files:
            path = os.path.join(root, name)
            with open(path, 'rb') as f:
                found[path] = (os.path.getmtime(path), hashlib.sha1(f.read()).hexdigest())
    return found


class DeleteRailTest(SyncTestBase):
    target_name = 'moto'

    def run_all(self, daemons):
        logs = daemons.run_once()
        for rc, out in logs:
            self.assertEqual(rc, 0, out)
            self.assertNotIn('Traceback', out)
        return [out for _rc, out in logs]

    def test_mass_delete_stops_at_the_limit_until_released(self):
        container = self.new_container('rail')
        for name in NAMES:
            self.conn.put_object(container, name, b'x' * 10)
        mapping = self.mapping(container, max_deletes_per_pass=1)
        daemons = NodeDaemons(self.env, [mapping], cluster_status=False)
        self.run_all(daemons)
        self.assertEqual(set(self.remote_keys(mapping)), set(NAMES))
        for name in NAMES:
            self.conn.delete_object(container, name)
        logs = self.run_all(daemons)
        left = set(self.remote_keys(mapping))
        # At most one delete per node's daemon in the pass; the rest held.
        self.assertGreaterEqual(len(left), len(NAMES) - 3, left)
        tripped = [out.count('delete rail tripped') for out in logs]
        self.assertTrue(all(n <= 1 for n in tripped), tripped)
        self.assertGreaterEqual(sum(tripped), 1, tripped)
        held = [status_json(self, daemons, i)['deletes_held'] for i in range(3)]
        self.assertEqual(sum(1 for h in held if h), sum(tripped), held)
        rc, out, err = run_command(daemons, held.index(next(h for h in held if h)), 'status')
        self.assertIn('DELETES HELD', out)
        # Held across runs (the trip is saved): a second pass deletes nothing more.
        self.run_all(daemons)
        self.assertEqual(set(self.remote_keys(mapping)), left)
        for i in range(3):
            rc, out, err = run_command(daemons, i, 'retry-failed', '--allow-deletes')
            self.assertEqual(rc, 0, err)
        self.run_all(daemons)
        self.assertEqual(self.remote_keys(mapping), {})
        self.assertEqual([status_json(self, daemons, i)['deletes_held'] for i in range(3)],
                         [[], [], []])

    def test_dry_run_logs_uploads_deletes_and_archives_and_changes_nothing(self):
        synced, archived = self.new_container('dry-sync'), self.new_container('dry-arch')
        for name in ('keep', 'gone'):
            self.conn.put_object(synced, name, b'old')
        sync_mapping = self.mapping(synced)
        arch_mapping = self.mapping(archived, retain_local=False)
        daemons = NodeDaemons(self.env, [sync_mapping, arch_mapping], cluster_status=False)
        self.run_all(daemons)
        self.conn.delete_object(synced, 'gone')
        self.conn.put_object(synced, 'new', b'new')
        for name in ('a1', 'a2'):
            self.conn.put_object(archived, name, b'archive me')
        remote_before = self.remote_keys(sync_mapping)
        files_before = snapshot(daemons.dir)
        logs = []
        for i in range(3):
            cmd = daemons.command(i, once=False) + ['--dry-run']
            proc = subprocess.run(cmd, capture_output=True, text=True, env=daemons._env(),
                                  timeout=300)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertNotIn('Traceback', proc.stdout + proc.stderr)
            logs.append(proc.stdout + proc.stderr)
        joined = '\n'.join(logs)
        self.assertIn('dry run: would upload %s/%s/new' % (self.account, synced), joined)
        self.assertIn('dry run: would delete %s/%s/gone remotely' % (self.account, synced),
                      joined)
        for name in ('a1', 'a2'):
            self.assertIn('would upload %s/%s/%s' % (self.account, archived, name), joined)
        self.assertIn('would archive it', joined)
        # Nothing changed: remote, local objects, status files.
        self.assertEqual(self.remote_keys(sync_mapping), remote_before)
        self.assertEqual(self.remote_keys(arch_mapping), {})
        self.assertEqual(sorted(o['name'] for o in self.conn.get_container(archived)[1]),
                         ['a1', 'a2'])
        self.assertEqual(self.conn.get_object(archived, 'a1')[1], b'archive me')
        self.assertEqual(snapshot(daemons.dir), files_before)
        # And the next real pass does all of it.
        self.run_all(daemons)
        self.assertEqual(set(self.remote_keys(sync_mapping)), {'keep', 'new'})
        self.assertEqual(set(self.remote_keys(arch_mapping)), {'a1', 'a2'})

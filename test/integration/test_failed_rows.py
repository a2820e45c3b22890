"""Failed rows against a fault-injecting remote: recorded with their error, visible in
`status`, never blocking another container, re-driven by `swift-s3-sync retry-failed`."""
import json
import os
import time

from devenv.daemons import NodeDaemons
from devenv.request_counter import FaultProxy
from test.integration.ops_helpers import container_row, run_command, status_json
from test.integration.test_sync_daemon import SyncTestBase

NAMES = ['f-%d' % i for i in range(4)]


class FailedRowsTest(SyncTestBase):
    target_name = 'moto'

    def push_due_times(self, daemons, container, seconds):
        """Make every pending row of ``container`` due ``seconds`` from now (a long backoff)."""
        for index in range(3):
            path = os.path.join(daemons.dir, 'status-%d' % (index + 1), self.account, container)
            with open(path) as f:
                data = json.load(f)
            for entry in data.values():
                for row in entry.get('pending', {}).values():
                    row['due'] = time.time() + seconds
            with open(path, 'w') as f:
                json.dump(data, f)

    def failed(self, daemons, container):
        return [f for i in range(3)
                for f in container_row(status_json(self, daemons, i), container)['failed_rows']]

    def test_failed_rows_show_their_error_do_not_block_others_and_retry_failed_redrives_them(self):
        proxy = FaultProxy(self.target['aws_endpoint'], seed=13).start()
        self.addCleanup(proxy.stop)
        proxy.arm(1.0, kinds=('500',), match=lambda kind: kind == 'PutObject')
        faulty, healthy = self.new_container('faulty'), self.new_container('healthy')
        for name in NAMES:
            self.conn.put_object(faulty, name, name.encode())
            self.conn.put_object(healthy, name, name.encode())
        bad_mapping = dict(self.mapping(faulty), aws_endpoint=proxy.url)
        good_mapping = self.mapping(healthy)
        daemons = NodeDaemons(self.env, [bad_mapping, good_mapping], cluster_status=False)
        for rc, out in daemons.run_once():
            self.assertEqual(rc, 0, out)
        self.assertEqual(set(self.remote_keys(good_mapping)), set(NAMES))
        self.assertEqual(self.remote_keys(bad_mapping), {})
        failed = self.failed(daemons, faulty)
        self.assertEqual(sorted(f['name'] for f in failed), NAMES)
        for row in failed:
            self.assertIn('500', row['error'])
            self.assertGreaterEqual(row['attempts'], 1)
            self.assertIsNotNone(row['next_retry'])
        rc, out, err = run_command(daemons, 0, 'status')
        self.assertEqual(rc, 0, err)
        self.assertIn('failed rows (last error, attempts, next retry):', out)

        proxy.disarm()
        self.push_due_times(daemons, faulty, 3600)
        for rc, out in daemons.run_once():
            self.assertEqual(rc, 0, out)
        self.assertEqual(self.remote_keys(bad_mapping), {}, 'not due: not retried yet')
        self.assertEqual(len(self.failed(daemons, faulty)), 4)

        outputs = [run_command(daemons, i, 'retry-failed', '--container', faulty)
                   for i in range(3)]
        self.assertEqual(sum(int(out.split()[0]) for _rc, out, _err in outputs), 4, outputs)
        self.assertTrue(all(rc == 0 for rc, _out, _err in outputs), outputs)
        logs = daemons.run_once()
        self.assertTrue(all(rc == 0 for rc, _out in logs), logs)
        self.assertTrue(any('failed row(s) re-driven' in out for _rc, out in logs))
        self.assertEqual(set(self.remote_keys(bad_mapping)), set(NAMES))
        self.assertEqual(self.failed(daemons, faulty), [])

    def test_retry_failed_refuses_an_unknown_container_in_one_line(self):
        container = self.new_container('known')
        daemons = NodeDaemons(self.env, [self.mapping(container)])
        rc, out, err = run_command(daemons, 0, 'retry-failed', '--container', 'nope')
        self.assertEqual(rc, 2)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertIn('nope', err)
        self.assertNotIn('Traceback', err)

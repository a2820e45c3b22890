"""`swift-s3-sync status` and the figures the daemons write, against the 3-node environment.

A backlog drains under the real node daemons while `status` (one node, and the cluster view
from the reports the daemons publish) is sampled: rows behind and lag go down to zero. The same
figures reach the recon file, the Prometheus text file and statsd. Bad input gets one line and
a non-zero exit.
"""
import concurrent.futures
import json
import os
import socket
import time

from devenv.daemons import NodeDaemons
from test.integration.ops_helpers import (container_row, run_command, status_json,
                                          wait_for_replicas)
from test.integration.test_sync_daemon import SyncTestBase

BACKLOG = 800
DRAIN_TIMEOUT = 600
SAMPLE_EVERY = 2.0     # seconds between status samples: each is two processes on a busy box
# Enough to keep each daemon busy while remote and local requests wait; few enough that the
# drain lasts several status samples even on an idle machine.
DRAIN_WORKERS = 6


class StatusTest(SyncTestBase):
    target_name = 'moto'

    def statuses(self, daemons, *calls):
        """``status --json`` for each ``(node index, args...)`` at once."""
        with concurrent.futures.ThreadPoolExecutor(len(calls)) as pool:
            return list(pool.map(lambda call: status_json(self, daemons, *call), calls))

    def test_backlog_drain_shows_rows_behind_and_lag_going_to_zero_on_node_and_cluster(self):
        container = self.new_container('drain')
        mapping = self.mapping(container)
        self.put_many_at_once(container, BACKLOG, size=100)
        # Both sides emptied many at a time once the daemons are stopped (cleanups run last
        # first): one request per object takes minutes on a busy machine.
        self.addCleanup(self.delete_many_at_once, container, mapping)
        wait_for_replicas(self, [container], BACKLOG)
        daemons = NodeDaemons(self.env, [mapping], stats_interval=1, workers=DRAIN_WORKERS)
        before = [container_row(report, container)
                  for report in self.statuses(daemons, (0,), (1,), (2,))]
        # Each replica owns its share of the names: the shares add up to the backlog.
        self.assertEqual(sum(r['rows_behind'] for r in before), BACKLOG, before)
        self.assertEqual(sum(r['bytes_pending'] for r in before), BACKLOG * 100)
        self.assertTrue(all(r['lag'] > 0 and r['failed'] == 0 for r in before), before)
        daemons.start_all()
        self.addCleanup(daemons.stop_all)
        node_samples, cluster_samples = [], []
        deadline = time.time() + DRAIN_TIMEOUT
        while time.time() < deadline:
            started = time.time()
            node, cluster = self.statuses(daemons, (0,), (1, '--cluster', '--container',
                                                         container))
            row = container_row(node, container)
            node_samples.append((row['rows_behind'], row['lag']))
            crow = container_row(cluster, container)
            if crow is not None and len(crow['nodes']) == 3:
                cluster_samples.append((crow['rows_behind'], crow['lag']))
                if crow['rows_behind'] == 0 and row['rows_behind'] == 0:
                    break
            time.sleep(max(0.0, started + SAMPLE_EVERY - time.time()))
        self.assertEqual(node_samples[-1], (0, 0.0), node_samples)
        self.assertEqual(cluster_samples[-1], (0, 0.0), cluster_samples)
        behind = [b for b, _lag in node_samples]
        # The checkpoint only moves forward: rows behind never grow while nothing is written.
        self.assertEqual(behind, sorted(behind, reverse=True), node_samples)
        self.assertGreater(behind[0], 0, node_samples)
        self.assertTrue(any(b > 0 for b, _lag in cluster_samples), cluster_samples)
        self.assertEqual(len(self.remote_keys(mapping)), BACKLOG)
        nodes = {n['node']: n for n in cluster['nodes']}
        self.assertEqual(len(nodes), 3, cluster['nodes'])
        self.assertTrue(all(n['last_pass'] and not n['stale'] for n in nodes.values()), nodes)

    def test_table_shows_columns_totals_the_last_pass_and_copy_after_rows_as_deferred(self):
        # One daemon run for both: a synced container and one whose row waits for copy_after.
        container, later = self.new_container('table'), self.new_container('defer')
        self.conn.put_object(container, 'a', b'abc')
        self.conn.put_object(later, 'later', b'abc')
        wait_for_replicas(self, [container, later], 1)
        daemons, _ = self.sync(self.mapping(container), self.mapping(later, copy_after=3600),
                               stats_interval=1)
        rc, out, err = run_command(daemons, 0, 'status', '--container', container)
        self.assertEqual((rc, err), (0, ''))
        for word in ('BEHIND', 'LAG', 'PENDING', 'DEFERRED', 'NEXT DUE', 'FAILED',
                     'last pass: ended', container, 'total: 1 containers, 0 rows behind'):
            self.assertIn(word, out)
        rc, out, err = run_command(daemons, 0, 'status', '--cluster', '--container', container)
        self.assertEqual((rc, err), (0, ''))
        self.assertIn('NODE', out)
        self.assertIn(container, out)
        rows = [container_row(report, later)
                for report in self.statuses(daemons, (0,), (1,), (2,))]
        deferred = [r for r in rows if r['deferred']]
        self.assertEqual(len(deferred), 1, rows)
        self.assertAlmostEqual(deferred[0]['next_due'], time.time() + 3600, delta=120)
        self.assertEqual(sum(r['rows_behind'] for r in rows), 0, rows)
        self.assertEqual(sum(r['failed'] for r in rows), 0, rows)


class MetricsTest(SyncTestBase):
    target_name = 'moto'

    def statsd_listener(self):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(('127.0.0.1', 0))
        sock.settimeout(0.2)
        self.addCleanup(sock.close)
        return sock

    @staticmethod
    def drain(sock):
        lines = []
        while True:
            try:
                lines.extend(sock.recv(65536).decode().splitlines())
            except socket.timeout:
                return lines

    def test_recon_file_prometheus_text_file_and_statsd_carry_the_figures(self):
        container = self.new_container('metrics')
        for i in range(5):
            self.conn.put_object(container, 'm%d' % i, b'12345')
        wait_for_replicas(self, [container], 5)
        sock = self.statsd_listener()
        mapping = self.mapping(container)
        daemons = NodeDaemons(self.env, [mapping], statsd_host='127.0.0.1',
                              statsd_port=sock.getsockname()[1], statsd_prefix='s3sync')
        proms = []
        for i, path in enumerate(daemons.configs):
            with open(path) as f:
                conf = json.load(f)
            conf['prometheus_textfile'] = os.path.join(daemons.dir, 'node%d.prom' % i)
            proms.append(conf['prometheus_textfile'])
            with open(path, 'w') as f:
                json.dump(conf, f)
        for rc, out in daemons.run_once():
            self.assertEqual(rc, 0, out)
        lines = self.drain(sock)
        gauges = [line for line in lines if '.rows_behind:' in line and container in line]
        self.assertEqual(len(gauges), 3, lines)
        self.assertTrue(all(g.endswith(':0|g') for g in gauges), gauges)
        self.assertTrue(any('.pass_duration:' in line and line.endswith('|ms')
                            for line in lines), lines)
        copied = [line for line in lines if '.copied_objects:' in line and container in line]
        self.assertEqual(len(copied), 5, lines)     # the original's counter, by its name
        texts = []
        for path in proms:
            with open(path) as f:
                texts.append(f.read())
        joined = ''.join(texts)
        self.assertIn('# TYPE swift_s3_sync_rows_behind gauge', joined)
        self.assertEqual(joined.count('swift_s3_sync_lag_seconds{'), 3)
        total = sum(int(line.rsplit(' ', 1)[1]) for text in texts for line in text.splitlines()
                    if line.startswith('swift_s3_sync_copied_objects_total{') and
                    'container="%s"' % container in line)
        self.assertEqual(total, 5)
        recon = json.load(open(os.path.join(daemons.dir, 'status-1', 's3_sync.recon')))
        self.assertEqual(recon['last_pass']['errors'], 0)
        self.assertGreaterEqual(recon['last_pass']['duration'], 0)
        self.assertEqual(container_row(recon['report'], container)['rows_behind'], 0)


class BadInputTest(SyncTestBase):
    target_name = 'moto'

    def one_line_error(self, rc, out, err, expected_rc=None):
        self.assertNotEqual(rc, 0, out)
        if expected_rc is not None:
            self.assertEqual(rc, expected_rc, err)
        self.assertNotIn('Traceback', err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertEqual(out, '')

    def test_unknown_container_corrupt_status_file_and_bad_config_are_one_line_errors(self):
        container = self.new_container('bad')
        self.conn.put_object(container, 'a', b'abc')
        wait_for_replicas(self, [container], 1)
        # No daemon run needed: the status file the daemon would write is corrupted by hand.
        daemons = NodeDaemons(self.env, [self.mapping(container)])
        rc, out, err = run_command(daemons, 0, 'status', '--container', 'no-such-container')
        self.one_line_error(rc, out, err, 2)
        self.assertIn('no-such-container', err)
        status_file = os.path.join(daemons.dir, 'status-1', self.account, container)
        os.makedirs(os.path.dirname(status_file))
        with open(status_file, 'w') as f:
            f.write('{not json')
        rc, out, err = run_command(daemons, 0, 'status')
        self.one_line_error(rc, out, err, 1)
        self.assertIn('corrupt', err)
        self.assertIn(status_file, err)
        with open(daemons.configs[1]) as f:
            conf = json.load(f)
        conf['items_chunk'] = 'many'
        with open(daemons.configs[1], 'w') as f:
            json.dump(conf, f)
        rc, out, err = run_command(daemons, 1, 'status')
        self.one_line_error(rc, out, err, 2)
        self.assertIn('items_chunk', err)
        with open(daemons.configs[2]) as f:
            conf = json.load(f)
        conf['status_dir'] = daemons.configs[0]     # a file, not a directory
        with open(daemons.configs[2], 'w') as f:
            json.dump(conf, f)
        rc, out, err = run_command(daemons, 2, 'status')
        self.one_line_error(rc, out, err, 1)
        self.assertIn('not a directory', err)
        rc, out, err = run_command(daemons, 2, 'status', '--bogus')
        self.assertEqual(rc, 2)
        self.assertNotIn('Traceback', err)

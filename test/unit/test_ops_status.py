"""The node report, the cluster merge, the table, the Prometheus text and re-drive requests,
on real container DBs (three nodes on one host) with hand-written status files."""
import os
import time
import unittest
from unittest import mock

from swift.common.utils import Timestamp

from s3_sync.crawler.failures import HELD, Redrive, write_request
from s3_sync.crawler.progress import atomic_write_json, status_path
from s3_sync.status import StatusError, cluster, render
from s3_sync.status.metrics import prometheus_text, write_textfile
from s3_sync.status import report as report_module
from s3_sync.status.report import node_report
from s3_sync.crawler.crawler import Crawler
from s3_sync.sync.outcome import Retry
from test.unit.test_crawler_helpers import Cluster, FakeFactory, NullLogger, mapping, put


class ReportTest(unittest.TestCase):
    def setUp(self):
        self.cluster = Cluster()
        self.addCleanup(self.cluster.cleanup)
        self.mapping = mapping()
        self.brokers = self.cluster.create('AUTH_test', 'cont')
        self.now = time.time()
        for i in range(9):
            put(self.brokers[0], 'o%d' % i, Timestamp(self.now - 100 + i).internal)
        for broker in self.brokers[1:]:
            broker.merge_items(self.brokers[0].get_items_since(0, 100))

    def report(self, n):
        conf = self.cluster.conf(n, [self.mapping])
        return node_report(conf, self.cluster.node(n), NullLogger(), clock=lambda: self.now)

    def rows(self):
        return [self.report(n)['containers'][0] for n in (1, 2, 3)]

    def test_shares_of_rows_behind_add_up_with_their_bytes_and_the_oldest_ages(self):
        rows = self.rows()
        self.assertEqual(sum(r['rows_behind'] for r in rows), 9)
        self.assertEqual(sum(r['bytes_pending'] for r in rows), 27)
        self.assertEqual([r['unscanned_rows'] for r in rows], [9, 9, 9])
        self.assertAlmostEqual(max(r['lag'] for r in rows), 100, delta=1)
        self.assertTrue(all(r['dbs'] == 1 for r in rows))

    def write_entry(self, n, **entry):
        db_id = self.brokers[n - 1].get_info()['id']
        atomic_write_json(status_path(self.cluster.status_dir, 'AUTH_test', 'cont'),
                          {db_id: dict(entry, aws_bucket='bucket')})

    def test_pending_rows_split_into_deferred_with_due_time_and_failed_with_their_error(self):
        self.write_entry(1, last_row=9, pending={
            '2': {'name': 'o1', 'due': self.now + 600, 'attempts': 1, 'error': None},
            '5': {'name': 'o4', 'due': self.now + 30, 'attempts': 3, 'error': '500 boom'}})
        row = self.report(1)['containers'][0]
        self.assertEqual((row['deferred'], row['next_due']), (1, self.now + 600))
        self.assertEqual(row['failed'], 1)
        self.assertEqual(row['failed_rows'], [{'row': 5, 'name': 'o4', 'error': '500 boom',
                                               'attempts': 3, 'next_retry': self.now + 30}])
        # Nothing past the checkpoint: only the failed row is behind, and it sets the lag.
        self.assertEqual((row['rows_behind'], row['unscanned_rows']), (1, 0))
        self.assertAlmostEqual(row['lag'], 96, delta=1)

    def test_a_db_and_status_file_unchanged_since_the_last_report_are_not_read_again(self):
        conf = self.cluster.conf(1, [self.mapping])
        figures, opened = {}, []
        real = report_module._brokers

        def counting(job, logger):
            opened.append(job.db_path)
            return real(job, logger)

        def report():
            with mock.patch.object(report_module, '_brokers', counting):
                return node_report(conf, self.cluster.node(1), NullLogger(),
                                   clock=lambda: self.now, figures=figures)['containers'][0]
        first = report()
        self.assertEqual(len(opened), 1)
        self.now += 50
        again = report()
        self.assertEqual(len(opened), 1, 'an unchanged DB is not opened again')
        self.assertEqual(again['rows_behind'], first['rows_behind'])
        self.assertAlmostEqual(again['lag'], first['lag'] + 50, delta=0.01)
        # A new row (a pending-file append, then its merge) and a status-file write are seen.
        put(self.brokers[0], 'new', Timestamp(self.now).internal)
        self.assertEqual(report()['unscanned_rows'], 10)
        self.assertEqual(len(opened), 2)
        self.write_entry(1, last_row=10)
        self.assertEqual(report()['unscanned_rows'], 0)
        self.assertEqual(len(opened), 3)

    def crawled_report(self, crawler, conf, with_crawler=True):
        """Node 1's report with the crawler's shortcut (or without); the DBs it opened."""
        opened, real = [], report_module._brokers

        def counting(job, logger):
            opened.append(job.db_path)
            return real(job, logger)
        with mock.patch.object(report_module, '_brokers', counting):
            found = node_report(conf, self.cluster.node(1), NullLogger(), jobs=crawler.jobs(),
                                clock=lambda: self.now, figures={},
                                crawled=crawler.quiet_db if with_crawler else None)
        return found['containers'], opened

    def test_a_db_the_crawler_left_quiet_is_not_opened_and_reads_as_the_db_says(self):
        conf = self.cluster.conf(1, [self.mapping], verification_slack=60)
        factory = FakeFactory()
        for i in range(9):
            factory.sync.outcomes['o%d' % i] = Retry(self.now + 600)    # deferred: no error
        crawler = Crawler(conf, factory, NullLogger())
        crawler.run_once()
        quick, opened = self.crawled_report(crawler, conf)
        self.assertEqual(opened, [])
        full, opened = self.crawled_report(crawler, conf, with_crawler=False)
        self.assertEqual(len(opened), 1)
        self.assertEqual(quick, full)
        self.assertEqual((quick[0]['newest_row'], quick[0]['checkpoint']), (9, 9))
        self.assertEqual((quick[0]['deferred'], quick[0]['next_due']),
                         (len(factory.sync.rows), self.now + 600))
        self.assertGreater(quick[0]['deferred'], 0)
        # changed since the crawl: read from the DB
        put(self.brokers[0], 'new', Timestamp(self.now).internal)
        changed, opened = self.crawled_report(crawler, conf)
        self.assertEqual(len(opened), 1)
        self.assertEqual((changed[0]['newest_row'], changed[0]['unscanned_rows']), (10, 1))

    def test_a_failed_row_is_read_from_the_db_for_its_age_and_size(self):
        conf = self.cluster.conf(1, [self.mapping], verification_slack=60)
        factory = FakeFactory()
        crawler = Crawler(conf, factory, NullLogger())
        owned = factory.sync.outcomes
        for i in range(9):
            owned['o%d' % i] = RuntimeError('500 boom')
        crawler.run_once()
        quick, opened = self.crawled_report(crawler, conf)
        self.assertEqual(len(opened), 1)
        self.assertGreater(quick[0]['failed'], 0)
        self.assertAlmostEqual(quick[0]['lag'], 100, delta=10)
        self.assertEqual(quick, self.crawled_report(crawler, conf, with_crawler=False)[0])

    def test_corrupt_status_file_is_one_line_error_naming_the_file(self):
        path = status_path(self.cluster.status_dir, 'AUTH_test', 'cont')
        os.makedirs(os.path.dirname(path))
        with open(path, 'w') as f:
            f.write('{"half')
        with self.assertRaises(StatusError) as caught:
            self.report(1)
        self.assertIn(path, str(caught.exception))
        self.assertIn('corrupt', str(caught.exception))
        self.assertTrue(os.path.exists(path), 'status never moves the file aside')

    def test_table_and_prometheus_text_carry_the_figures(self):
        report = self.report(1)
        report['last_pass'] = {'start': self.now - 5, 'end': self.now - 2, 'duration': 3.0,
                               'dbs': 1, 'scanned': 9, 'handled': 3, 'errors': 0}
        text = render.node_text(report, clock=lambda: self.now)
        self.assertIn('last pass: ended', text)
        self.assertIn('took 3.0s', text)
        self.assertIn('AUTH_test/cont', text)
        prom = prometheus_text(report, report['last_pass'], totals={
            ('AUTH_test', 'bucket', 'cont', 'copied_objects'): 7})
        row = report['containers'][0]
        self.assertIn('swift_s3_sync_rows_behind{account="AUTH_test",bucket="bucket",'
                      'container="cont",node="%s"} %d' % (report['node'], row['rows_behind']),
                      prom)
        self.assertIn('swift_s3_sync_copied_objects_total{account="AUTH_test",bucket="bucket",'
                      'container="cont",node="%s"} 7' % report['node'], prom)
        self.assertIn('swift_s3_sync_last_pass_duration_seconds', prom)

    def test_prometheus_text_file_is_replaced_whole_and_readable_by_node_exporter(self):
        path = os.path.join(self.cluster.base, 's3_sync.prom')
        write_textfile(path, 'old 1\n')
        write_textfile(path, 'new 2\n')
        with open(path) as f:
            self.assertEqual(f.read(), 'new 2\n')
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o644)
        self.assertFalse([n for n in os.listdir(self.cluster.base) if n.endswith('.tmp')])


class ClusterMergeTest(unittest.TestCase):
    def node(self, name, behind, lag, age, now):
        return {'node': name, 'host': 'h', 'time': now - age, 'stats_interval': 10,
                'containers': [{'mapping': 0, 'account': 'a', 'container': 'c',
                                'aws_bucket': 'b', 'rows_behind': behind, 'unscanned_rows': 0,
                                'bytes_pending': behind * 10, 'lag': lag, 'deferred': 0,
                                'next_due': None, 'failed': 0, 'failed_rows': []}]}

    def test_sums_rows_keeps_the_worst_lag_and_flags_stale_and_missing_nodes(self):
        now = 1000000.0
        merged = cluster.merge([self.node('n1:1', 5, 3.0, 1, now),
                                self.node('n2:1', 7, 9.0, 100, now)],
                               ['n1:1', 'n2:1', 'n3:1'], clock=lambda: now)
        row = merged['containers'][0]
        self.assertEqual((row['rows_behind'], row['bytes_pending'], row['lag']), (12, 120, 9.0))
        nodes = {n['node']: n for n in merged['nodes']}
        self.assertFalse(nodes['n1:1']['stale'])
        self.assertTrue(nodes['n2:1']['stale'])
        self.assertTrue(nodes['n3:1']['missing'])
        text = render.cluster_text(merged, clock=lambda: now)
        self.assertIn('NO REPORT', text)
        self.assertIn('STALE', text)


class FakeProgress:
    def __init__(self, pending):
        self.pending = pending


class FakeJob:
    container = 'cont'
    account = 'AUTH_test'
    mapping = None


class RedriveTest(unittest.TestCase):
    def setUp(self):
        import tempfile
        self.dir = tempfile.mkdtemp()
        self.addCleanup(__import__('shutil').rmtree, self.dir)
        self.now = 5000.0
        self.redrive = Redrive(self.dir, NullLogger(), clock=lambda: self.now)

    def pending(self):
        return {'1': {'name': 'a', 'due': 9000.0, 'attempts': 4, 'error': '503'},
                '2': {'name': 'b', 'due': 9000.0, 'attempts': 1, 'error': None},
                '3': {'name': 'c', 'due': 9000.0, 'attempts': 2,
                      'error': HELD + ' (more than 1 deletes in one pass)'}}

    def test_failed_rows_become_due_once_per_request_deferred_and_held_rows_stay(self):
        progress = FakeProgress(self.pending())
        write_request(self.dir, clock=lambda: 4000.0)
        self.redrive(FakeJob, progress)
        self.assertEqual([progress.pending[k]['due'] for k in '123'], [5000.0, 9000.0, 9000.0])
        progress.pending['1']['due'] = 7000.0       # failed again, a new backoff
        self.redrive(FakeJob, progress)
        self.assertEqual(progress.pending['1']['due'], 7000.0, 'one request, one re-drive')

    def test_allow_deletes_redrives_held_deletes_and_containers_limit_the_request(self):
        progress = FakeProgress(self.pending())
        write_request(self.dir, containers=['other'], allow_deletes=True, clock=lambda: 4000.0)
        self.redrive(FakeJob, progress)
        self.assertEqual(progress.pending['3']['due'], 9000.0)
        os.utime(os.path.join(self.dir, '.retry-failed'), (1, 1))
        write_request(self.dir, containers=['cont'], allow_deletes=True, clock=lambda: 4001.0)
        self.redrive(FakeJob, progress)
        self.assertEqual(progress.pending['3']['due'], 5000.0)

    def test_a_corrupt_request_file_is_ignored_with_a_warning(self):
        with open(os.path.join(self.dir, '.retry-failed'), 'w') as f:
            f.write('nope')
        progress = FakeProgress(self.pending())
        self.redrive(FakeJob, progress)
        self.assertEqual(progress.pending['1']['due'], 9000.0)


if __name__ == '__main__':
    unittest.main()


class ScanLimitTest(ReportTest):
    def test_past_the_scan_limit_the_share_is_estimated_from_a_count(self):
        from s3_sync.status import report
        old = report.SCAN_LIMIT, report.SCAN_CHUNK
        report.SCAN_LIMIT, report.SCAN_CHUNK = 3, 3
        self.addCleanup(setattr, report, 'SCAN_CHUNK', old[1])
        self.addCleanup(setattr, report, 'SCAN_LIMIT', old[0])
        rows = self.rows()
        self.assertTrue(all(r['estimated'] for r in rows))
        self.assertEqual([r['unscanned_rows'] for r in rows], [9, 9, 9])
        # 3 rows scanned (their owned share exact), 6 estimated as 6 // 3 per replica.
        self.assertEqual(sum(r['rows_behind'] for r in rows), 3 + 3 * 2)
        self.assertIn('~', render.node_text(self.report(1), clock=lambda: self.now))

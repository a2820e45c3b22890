"""An unchanged DB whose last crawl left nothing to do is not opened again: what its stamp
sees (new rows, merges, metadata, the status file, a re-drive request), and every moment that
wakes it all the same (a pending row due, a row due for verification, container-level work,
the periodic re-read)."""
import os
import time
from unittest import mock

from swift.common.utils import Timestamp
from swift.container.backend import ContainerBroker

from s3_sync.crawler import crawler as crawler_module
from s3_sync.crawler.failures import Redrive, write_request
from s3_sync.crawler.stamps import db_stamp
from s3_sync.sync.outcome import Retry

from test.unit.test_crawler_crawler import CrawlerTestCase
from test.unit.test_crawler_helpers import mapping, put


class TestDbStamp(CrawlerTestCase):
    def setUp(self):
        super().setUp()
        self.broker = self.cluster.create('AUTH_test', 'cont')[0]
        self.broker.get_info()          # merged, as the crawl leaves it

    def test_reads_leave_the_stamp_alone(self):
        before = db_stamp(self.broker.db_file)
        self.assertIsNotNone(before)
        self.broker.get_info()
        self.broker.get_items_since(0, 10)
        self.assertEqual(db_stamp(self.broker.db_file), before)

    def test_a_row_in_the_pending_file_leaves_no_stamp_and_its_merge_changes_it(self):
        before = db_stamp(self.broker.db_file)
        put(self.broker, 'o1')
        self.assertIsNone(db_stamp(self.broker.db_file))
        self.broker.get_info()          # merges the pending file
        after = db_stamp(self.broker.db_file)
        self.assertIsNotNone(after)
        self.assertNotEqual(after, before)

    def test_a_row_merged_straight_into_the_db_changes_it(self):
        before = db_stamp(self.broker.db_file)
        self.broker.merge_items([{'name': 'replicated', 'created_at': Timestamp.now().internal,
                                  'size': 1, 'content_type': 'text/plain', 'etag': 'x',
                                  'deleted': 0, 'storage_policy_index': 0}])
        self.assertNotEqual(db_stamp(self.broker.db_file), before)

    def test_a_metadata_update_changes_it(self):
        before = db_stamp(self.broker.db_file)
        self.broker.update_metadata({'X-Container-Meta-Color': ('red', Timestamp.now().internal)})
        self.assertNotEqual(db_stamp(self.broker.db_file), before)

    def test_a_db_replaced_by_another_file_changes_it(self):
        before = db_stamp(self.broker.db_file)
        copy = self.broker.db_file + '.tmp'
        with open(self.broker.db_file, 'rb') as src, open(copy, 'wb') as dst:
            dst.write(src.read())
        os.rename(copy, self.broker.db_file)        # as rsync replication does
        self.assertNotEqual(db_stamp(self.broker.db_file), before)


class TestUnchangedDbs(CrawlerTestCase):
    def setUp(self):
        super().setUp()
        self.broker = self.cluster.create('AUTH_test', 'cont')[0]
        self.owned = self.names(self.replica(1).index, n=3)
        for name in self.owned:
            put(self.broker, name)

    def crawler(self, n=1, **conf):
        conf.setdefault('verification_slack', 60)     # rows this new are handed, not listed
        return super().crawler(n, **conf)

    def opened(self, crawler, full=True):
        """The DBs a pass of ``crawler`` opened, and its counts."""
        made = []

        def broker(*args, **kwargs):
            made.append(args[0])
            return ContainerBroker(*args, **kwargs)
        with mock.patch.object(crawler_module, 'ContainerBroker', side_effect=broker):
            counts = crawler.cycle() if full else crawler.quick_pass(list(crawler.jobs()))
        return made, counts

    def test_an_unchanged_container_is_not_opened_nor_its_status_file_read_or_written(self):
        crawler = self.crawler(1)
        crawler.run_once()
        self.assertEqual(sorted(self.sync.rows), sorted(self.owned))
        status = os.path.join(self.cluster.status_dir, 'AUTH_test', 'cont')
        written = os.stat(status).st_mtime_ns, os.stat(status).st_ino
        with mock.patch('s3_sync.crawler.progress.StatusFile.read') as read:
            made, counts = self.opened(crawler)
        self.assertEqual(made, [])
        read.assert_not_called()
        self.assertEqual((counts.dbs, counts.unchanged), (1, 1))
        self.assertEqual((os.stat(status).st_mtime_ns, os.stat(status).st_ino), written)
        self.assertEqual(sorted(self.sync.rows), sorted(self.owned))

    def test_the_quick_pass_after_a_full_cycle_skips_the_dbs_it_left_unchanged(self):
        crawler = self.crawler(1)
        crawler.run_once()
        made, counts = self.opened(crawler, full=False)
        self.assertEqual((made, counts.unchanged), ([], 1))

    def test_a_new_row_is_handled_at_the_next_pass(self):
        crawler = self.crawler(1)
        crawler.run_once()
        new = self.names(self.replica(1).index, n=4)[3]
        put(self.broker, new)
        made, counts = self.opened(crawler, full=False)
        self.assertEqual((len(made), counts.unchanged), (1, 0))
        self.assertIn(new, self.sync.rows)

    def test_the_full_pass_after_a_quick_pass_reads_the_db_again(self):
        crawler = self.crawler(1)
        crawler.run_once()
        put(self.broker, self.names(self.replica(1).index, n=4)[3])
        self.assertEqual(len(self.opened(crawler, full=False)[0]), 1)
        self.assertEqual(len(self.opened(crawler, full=False)[0]), 0)
        # the quick pass neither verified nor looked at the container's metadata
        self.assertEqual(len(self.opened(crawler)[0]), 1)
        self.assertEqual(len(self.opened(crawler)[0]), 0)

    def test_a_status_file_changed_by_someone_else_is_read_again(self):
        crawler = self.crawler(1)
        crawler.run_once()
        os.unlink(os.path.join(self.cluster.status_dir, 'AUTH_test', 'cont'))
        made, _counts = self.opened(crawler)
        self.assertEqual(len(made), 1)
        self.assertTrue(os.path.exists(os.path.join(self.cluster.status_dir, 'AUTH_test',
                                                    'cont')))

    def test_a_pending_row_coming_due_wakes_the_db(self):
        crawler = self.crawler(1)
        first = self.owned[0]
        due = time.time() + 100
        self.sync.outcomes[first] = Retry(due)
        crawler.run_once()
        self.assertEqual(len(self.opened(crawler)[0]), 0)
        self.sync.outcomes[first] = None
        crawler.clock = lambda: due + 1
        made, _counts = self.opened(crawler)
        self.assertEqual(len(made), 1)
        self.assertEqual(self.sync.rows.count(first), 2)
        self.assertEqual(self.entry(self.broker)['pending'], {})

    def test_a_row_coming_due_for_verification_wakes_the_db(self):
        crawler = self.crawler(1)       # verification_slack: 60 minutes
        crawler.run_once()
        self.assertEqual(self.sync.verify_calls, [])
        self.assertEqual(len(self.opened(crawler)[0]), 0)
        crawler.clock = lambda: time.time() + 3601
        made, _counts = self.opened(crawler)
        self.assertEqual(len(made), 1)
        self.assertEqual(self.entry(self.broker)['last_verified_row'], 3)
        self.assertEqual(len(self.opened(crawler)[0]), 0)      # all verified: quiet again

    def test_container_level_work_due_wakes_the_db(self):
        crawler = self.crawler(1)
        wake = time.time() + 100
        self.sync.handle_container_info = lambda info, metadata: wake
        crawler.run_once()
        self.assertEqual(len(self.opened(crawler)[0]), 0)
        crawler.clock = lambda: wake + 1
        self.assertEqual(len(self.opened(crawler)[0]), 1)

    def test_a_container_info_failure_leaves_the_db_awake(self):
        crawler = self.crawler(1)

        def refused(info, metadata):
            raise RuntimeError('refused')
        self.sync.handle_container_info = refused
        crawler.run_once()
        self.assertEqual(len(self.opened(crawler)[0]), 1)

    def test_a_retry_failed_request_wakes_every_db(self):
        crawler = self.crawler(1)
        first = self.owned[0]
        self.sync.outcomes[first] = Retry(time.time() + 300, 'remote down')
        crawler.progress_hooks.append(Redrive(self.cluster.status_dir, self.logger))
        crawler.run_once()
        self.sync.outcomes[first] = None
        self.assertEqual(len(self.opened(crawler)[0]), 0)
        write_request(self.cluster.status_dir)
        self.assertEqual(len(self.opened(crawler)[0]), 1)
        self.assertEqual(self.sync.rows.count(first), 2)

    def test_every_db_is_read_again_after_the_reread_interval(self):
        crawler = self.crawler(1)
        crawler.run_once()
        crawler.clock = lambda: time.time() + crawler_module.REREAD_SECONDS + 1
        self.assertLess(crawler_module.REREAD_SECONDS, 3600)   # not a verification wake-up
        self.assertEqual(len(self.opened(crawler)[0]), 1)

    def test_an_unchanged_sharded_root_still_names_its_shards(self):
        crawler = self.crawler(1)
        shard = [mock.sentinel.shard_job]
        with mock.patch.object(crawler_module, 'shard_jobs', return_value=shard):
            found = crawler.crawl_db(crawler.root_jobs()[0], crawler_module.CycleCounts())
            self.assertEqual(found, shard)
            counts = crawler_module.CycleCounts()
            found = crawler.crawl_db(crawler.root_jobs()[0], counts)
        self.assertEqual((found, counts.unchanged), (shard, 1))


class TestUnchangedDbsPerAccount(CrawlerTestCase):
    def test_idle_containers_of_a_per_account_mapping_cost_no_db_open(self):
        names = ['c%d' % i for i in range(5)]
        for name in names:
            put(self.cluster.create('AUTH_test', name)[0], 'o')

        class IC:
            def iter_containers(self, account):
                return [{'name': n} for n in names]
        crawler = self.crawler(1, mappings=[mapping(container='/*')], ic=IC())
        crawler.run_once()
        made = []
        with mock.patch.object(crawler_module, 'ContainerBroker',
                               side_effect=lambda *a, **k: made.append(a) or
                               ContainerBroker(*a, **k)):
            counts = crawler.run_once()
        self.assertEqual((made, counts.dbs, counts.unchanged), ([], 5, 5))
        self.assertIn(', 5 DBs unchanged, ', self.logger.at('INFO')[-1])

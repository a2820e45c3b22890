import collections
import json
import os
import time
import unittest
from unittest import mock

import eventlet.debug
import eventlet.event

from swift.common import db as swift_db
from swift.common.exceptions import LockTimeout
from swift.common.utils import ShardName, ShardRange, Timestamp
from swift.container.backend import ContainerBroker

from s3_sync.crawler import progress as progress_module
from s3_sync.crawler.crawler import Crawler
from s3_sync.crawler.ownership import owns
from s3_sync.sync.outcome import DestinationUnavailable, Retry

from test.unit.test_crawler_helpers import (
    Cluster, FakeFactory, NullLogger, RemoteSync, mapping, put)


class CrawlerTestCase(unittest.TestCase):
    def setUp(self):
        self.cluster = Cluster()
        self.logger = NullLogger()

    def tearDown(self):
        self.cluster.cleanup()

    def crawler(self, n=1, mappings=None, factory=None, **conf):
        self.factory = factory or FakeFactory()
        self.sync = self.factory.sync
        ic = conf.pop('ic', None)
        conf = self.cluster.conf(n, mappings or [mapping()], **conf)
        return Crawler(conf, self.factory, self.logger, internal_client=ic)

    def status(self, account='AUTH_test', container='cont'):
        with open(os.path.join(self.cluster.status_dir, account, container)) as f:
            return json.load(f)

    def entry(self, broker, account='AUTH_test', container='cont'):
        return self.status(account, container)[broker.get_info()['id']]

    def names(self, index, count=3, owned=True, n=5, prefix='o'):
        out, i = [], 0
        while len(out) < n:
            name = '%s%d' % (prefix, i)
            if owns(name, index, count) == owned:
                out.append(name)
            i += 1
        return out

    def replica(self, n, account='AUTH_test', container='cont'):
        return self.cluster.node(n).replicas(account, container)[0]


class TestPrimaryPass(CrawlerTestCase):
    def test_three_replicas_handle_every_row_exactly_once(self):
        brokers = self.cluster.create('AUTH_test', 'cont')
        names = ['obj-%d' % i for i in range(40)]
        for name in names:
            ts = Timestamp.now().internal
            for b in brokers:
                put(b, name, ts)
        handled = []
        for n in (1, 2, 3):
            crawler = self.crawler(n, verification_slack=60)
            # (the nodes share a status dir here: the others' entries make each DB look
            # rebuilt, so its rows are checked first; the remote has none of them)
            self.sync.need = set(names)
            crawler.run_once()
            handled.extend(self.sync.rows)
        self.assertEqual(sorted(handled), sorted(names))

    def test_checkpoint_advances_over_unowned_rows(self):
        broker = self.cluster.create('AUTH_test', 'cont')[0]
        index = self.replica(1).index
        for name in self.names(index, owned=False, n=25):
            put(broker, name)
        self.crawler(1, verification_slack=60).run_once()
        self.assertEqual(self.sync.rows, [])
        self.assertEqual(self.entry(broker)['last_row'], 25)

    def test_excluded_rows_are_passed_over_without_being_handed_or_checkpointed(self):
        index = self.replica(1).index
        kept = self.names(index, n=2, prefix='keep-')
        saves = {}
        for container, skipped in (('plain', []), ('cont', self.names(index, n=30,
                                                                      prefix='skip-'))):
            broker = self.cluster.create('AUTH_test', container)[0]
            for name in skipped + kept:
                put(broker, name)
            crawler = self.crawler(1, mappings=[mapping(container=container)],
                                   verification_slack=60, items_chunk=1000)
            crawler.checkpoint_rows, crawler.checkpoint_seconds = 10, 3600
            self.sync.excluded_prefix = 'skip-'
            paths = saves[container] = []
            real_write = progress_module.atomic_write_json
            with mock.patch.object(progress_module, 'atomic_write_json',
                                   lambda path, data, **kw: (paths.append(path),
                                                             real_write(path, data, **kw))):
                crawler.run_once()
            self.assertEqual(sorted(self.sync.rows), sorted(kept))
            self.assertEqual(self.entry(broker, container=container)['last_row'],
                             len(skipped) + len(kept))
        # 30 excluded rows cost no checkpoint save (one per 10 rows handed otherwise)
        self.assertEqual(len(saves['cont']), len(saves['plain']))

    def test_chunks_that_hand_no_row_share_one_checkpoint_save(self):
        broker = self.cluster.create('AUTH_test', 'cont')[0]
        for name in self.names(self.replica(1).index, owned=False, n=30):
            put(broker, name)
        crawler = self.crawler(1, verification_slack=60, items_chunk=10)
        crawler.checkpoint_seconds = 3600
        saves = []
        real_write = progress_module.atomic_write_json
        with mock.patch.object(progress_module, 'atomic_write_json',
                               lambda path, data, **kw: (saves.append(data),
                                                         real_write(path, data, **kw))):
            crawler.run_once()
        self.assertEqual(self.entry(broker)['last_row'], 30)
        self.assertEqual(len(saves), 1)     # not one per chunk of 10

    def test_backlog_drains_in_one_cycle(self):
        broker = self.cluster.create('AUTH_test', 'cont')[0]
        for i in range(35):
            put(broker, 'o%d' % i)
        crawler = self.crawler(1, verification_slack=60)
        counts = crawler.run_once()
        self.assertEqual(counts.scanned, 35)
        index = self.replica(1).index
        self.assertEqual(sorted(self.sync.rows),
                         sorted(n for n in ('o%d' % i for i in range(35)) if owns(n, index, 3)))
        self.assertEqual(self.entry(broker)['last_row'], 35)

    def test_stop_mid_pass_finishes_rows_in_flight_saves_status_and_starts_no_new_chunk(self):
        broker = self.cluster.create('AUTH_test', 'cont')[0]
        for i in range(35):
            put(broker, 'o%d' % i)
        crawler = self.crawler(1, verification_slack=60)
        first = min(n for n in ('o%d' % i for i in range(10))
                    if owns(n, self.replica(1).index, 3))
        finished = []

        def upload_while_asked_to_stop(row):
            crawler.stop()               # what the SIGTERM handler does
            eventlet.sleep(0.05)         # the remote request still in flight
            finished.append(row['name'])
        self.sync.outcomes[first] = upload_while_asked_to_stop
        crawler.run_forever()            # returns: it was asked to stop
        self.assertEqual(finished, [first])
        self.assertEqual(self.entry(broker)['last_row'], 10)    # the chunk is saved...
        self.assertTrue(all(int(n[1:]) < 10 for n in self.sync.rows))  # ...no new one began
        self.assertEqual(self.entry(broker)['pending'], {})

    def test_an_idle_daemon_stops_within_the_stop_check_not_a_whole_idle_wait(self):
        from s3_sync.crawler import crawler as crawler_module
        self.cluster.create('AUTH_test', 'cont')
        crawler = self.crawler(1, poll_interval=60)
        # idle waits of 5 s: waited out, a stop would take seconds, not a slice of them
        patcher = mock.patch.object(crawler_module, 'MAX_WAIT', 5.0)
        patcher.start()
        self.addCleanup(patcher.stop)
        for watch in (False, True):
            crawler._stopped = False
            crawler.watch = watch
            asked = []

            def stop_when_idle():
                eventlet.sleep(0.3)          # the first cycle is done: the crawler idles
                asked.append(time.monotonic())
                crawler.stop()               # what the SIGTERM handler does
            eventlet.spawn(stop_when_idle)
            crawler.run_forever()
            self.assertLess(time.monotonic() - asked[0], 2.0)
            crawler.close()

    def test_rows_are_handed_in_rowid_order(self):
        broker = self.cluster.create('AUTH_test', 'cont')[0]
        names = self.names(self.replica(1).index, n=8)
        for name in names:
            put(broker, name)
        self.crawler(1, workers=1, verification_slack=60).run_once()
        self.assertEqual(self.sync.rows, names)

    def test_failing_row_goes_pending_and_checkpoint_moves_on(self):
        broker = self.cluster.create('AUTH_test', 'cont')[0]
        bad, good = self.names(self.replica(1).index, n=2)
        put(broker, bad)
        put(broker, good)
        crawler = self.crawler(1, verification_slack=60)
        self.sync.outcomes[bad] = RuntimeError('remote said 503\nwith details')
        crawler.run_once()
        entry = self.entry(broker)
        self.assertEqual(entry['last_row'], 2)
        self.assertEqual(entry['pending']['1']['name'], bad)
        self.assertEqual(entry['pending']['1']['error'], 'remote said 503')
        self.assertEqual(entry['pending']['1']['attempts'], 1)
        self.assertEqual(self.logger.at('ERROR'),
                         ['AUTH_test/cont/%s (row 1): remote said 503' % bad])
        self.assertEqual(self.sync.rows, [bad, good])

    def test_pending_row_is_retried_when_due_and_cleared_on_success(self):
        broker = self.cluster.create('AUTH_test', 'cont')[0]
        bad, = self.names(self.replica(1).index, n=1)
        put(broker, bad)
        crawler = self.crawler(1, verification_slack=60)
        self.sync.outcomes[bad] = RuntimeError('boom')
        crawler.run_once()
        due = self.entry(broker)['pending']['1']['due']
        crawler.clock = lambda: due - 0.001
        crawler.run_once()
        self.assertEqual(self.sync.rows, [bad])     # not due yet: not handed again
        del self.sync.outcomes[bad]
        crawler.clock = lambda: due + 0.001
        crawler.run_once()
        self.assertEqual(self.sync.rows, [bad, bad])
        self.assertEqual(self.entry(broker)['pending'], {})

    def test_failing_again_backs_off_and_counts_attempts(self):
        broker = self.cluster.create('AUTH_test', 'cont')[0]
        bad, = self.names(self.replica(1).index, n=1)
        put(broker, bad)
        crawler = self.crawler(1, verification_slack=60)
        self.sync.outcomes[bad] = RuntimeError('boom')
        crawler.run_once()
        crawler.clock = lambda: time.time() + 3600
        crawler.run_once()
        pending = self.entry(broker)['pending']['1']
        self.assertEqual(pending['attempts'], 2)
        self.assertGreaterEqual(pending['due'], time.time() + 3600)

    def test_superseded_pending_row_is_dropped(self):
        broker = self.cluster.create('AUTH_test', 'cont')[0]
        bad, = self.names(self.replica(1).index, n=1)
        put(broker, bad)
        crawler = self.crawler(1, verification_slack=60)
        self.sync.outcomes[bad] = RuntimeError('boom')
        crawler.run_once()
        del self.sync.outcomes[bad]
        put(broker, bad)     # an overwrite: row 1 is gone, row 2 replaces it
        self.sync.need = {bad}   # an hour later the new row is old: the remote must lack it
        crawler.clock = lambda: time.time() + 3600
        crawler.run_once()
        self.assertEqual(self.sync.rows, [bad, bad])  # the new row once, the old one not again
        entry = self.entry(broker)
        self.assertEqual((entry['last_row'], entry['pending']), (2, {}))

    def test_retry_outcome_does_not_block_rows_behind_it(self):
        broker = self.cluster.create('AUTH_test', 'cont')[0]
        young, *others = self.names(self.replica(1).index, n=4)
        for name in [young] + others:
            put(broker, name)
        crawler = self.crawler(1, verification_slack=60)
        far = time.time() + 86400
        self.sync.outcomes[young] = Retry(far)
        crawler.run_once()
        crawler.run_once()
        self.assertEqual(self.sync.rows, [young] + others)
        entry = self.entry(broker)
        self.assertEqual(entry['last_row'], 4)
        self.assertEqual(entry['pending']['1']['due'], far)
        self.assertIsNone(entry['pending']['1']['error'])

    def test_full_pending_list_stops_checkpoint_before_unrecorded_row(self):
        broker = self.cluster.create('AUTH_test', 'cont')[0]
        names = self.names(self.replica(1).index, n=5)
        for name in names:
            put(broker, name)
        crawler = self.crawler(1, verification_slack=60, max_pending=2)
        for name in names:
            self.sync.outcomes[name] = RuntimeError('down')
        crawler.run_once()
        entry = self.entry(broker)
        self.assertEqual(sorted(entry['pending']), ['1', '2'])
        self.assertEqual(entry['last_row'], 2)

    def test_interrupted_crawl_never_passes_unhandled_rows(self):
        broker = self.cluster.create('AUTH_test', 'cont')[0]
        names = ['o%d' % i for i in range(25)]
        for name in names:
            put(broker, name)
        crawler = self.crawler(1, verification_slack=60, items_chunk=10)
        crawler.node.replicas = lambda a, c: [self.replica(1)._replace(index=0, count=1)]

        class Killed(BaseException):
            pass
        self.sync.outcomes[names[14]] = Killed()
        eventlet.debug.hub_exceptions(False)   # the green thread's traceback is expected
        try:
            with self.assertRaises(Killed):
                crawler.run_once()
        finally:
            eventlet.debug.hub_exceptions(True)
        self.assertEqual(self.entry(broker)['last_row'], 10)   # the chunk with row 15 not saved


class TestKillAndRestart(CrawlerTestCase):
    """A daemon killed -9 in the middle of a chunk, then a new one on the same status dir."""
    workers = 4

    def setUp(self):
        super().setUp()
        self.broker = self.cluster.create('AUTH_test', 'cont')[0]
        self.remote = collections.Counter()     # uploads per name, shared by the daemons

    def daemon(self, items_chunk=1000, checkpoint_rows=None, checkpoint_seconds=3600):
        """Node 1's crawler, owning every row, over the shared remote. By default it saves its
        checkpoint only by rows (``checkpoint_rows``), so timing cannot change what a test sees."""
        crawler = self.crawler(1, factory=FakeFactory(RemoteSync(self.remote)),
                               verification_slack=60, items_chunk=items_chunk,
                               workers=self.workers)
        crawler.node.replicas = _single_owner(crawler.node.replicas)
        if checkpoint_rows is not None:
            crawler.checkpoint_rows = checkpoint_rows
        crawler.checkpoint_seconds = checkpoint_seconds
        return crawler

    def put_rows(self, n, prefix='o'):
        names = ['%s%04d' % (prefix, i) for i in range(n)]
        for name in names:
            put(self.broker, name)
        return names

    def run_until_killed(self, crawler, uploads):
        """One cycle of ``crawler``, killed -9 once ``uploads`` rows are on the remote: from then
        on no status write reaches the disk and no upload the remote (the rest of the cycle runs
        on as a ghost). Returns the names handed to the sync side before the kill."""
        sync = crawler.factory.sync
        handed = []
        self.killed = eventlet.event.Event()

        def after_upload(s):
            if not s.dead and sum(self.remote.values()) >= uploads:
                s.dead = True
                handed.extend(s.rows)
                self.killed.send()
        sync.after_upload = after_upload
        # nor does a first crawl's note (s3_sync.crawler.first_crawls) after the kill
        journal = crawler.first_crawls
        real_note, real_compact = journal.note, journal.compact
        journal.note = lambda db_id: None if sync.dead else real_note(db_id)
        journal.compact = lambda: None if sync.dead else real_compact()
        real_write = progress_module.atomic_write_json

        def write(path, data, **kwargs):
            if not sync.dead:
                real_write(path, data, **kwargs)
        with mock.patch.object(progress_module, 'atomic_write_json', write):
            crawler.run_once()
        self.assertTrue(sync.dead, 'the cycle ended before the kill')
        return handed

    def assert_each_uploaded_once(self, names):
        self.assertEqual(set(self.remote), set(names))
        self.assertEqual({n: c for n, c in self.remote.items() if c > 1}, {})

    def test_kill_mid_chunk_re_hands_at_most_the_rows_in_flight(self):
        names = self.put_rows(250)
        handed = self.run_until_killed(self.daemon(), uploads=150)
        restarted = self.daemon()
        restarted.run_once()
        again = set(handed) & set(restarted.factory.sync.rows)
        self.assertLessEqual(len(again), self.workers, sorted(again))
        self.assert_each_uploaded_once(names)

    def test_checkpoint_is_saved_every_n_rows_while_a_chunk_is_handled(self):
        self.put_rows(100)
        self.run_until_killed(self.daemon(checkpoint_rows=10), uploads=55)
        last_row = self.entry(self.broker)['last_row']
        # Never past a row without an outcome; behind the uploads by at most one save's worth
        # of rows plus the rows in flight (the outcomes are settled as the line moves on).
        self.assertLessEqual(last_row, 55)
        self.assertGreaterEqual(last_row, 55 - 10 - 2 * self.workers)

    def test_checkpoint_is_saved_every_second_while_a_chunk_is_handled(self):
        names = self.put_rows(60)
        crawler = self.daemon(checkpoint_rows=10 ** 6, checkpoint_seconds=1.0)
        now = [0.0]
        crawler.timer = lambda: now[0]

        def quarter_second(row):
            now[0] += 0.25
        for name in names:
            crawler.factory.sync.outcomes[name] = quarter_second
        self.run_until_killed(crawler, uploads=30)
        last_row = self.entry(self.broker)['last_row']
        self.assertLessEqual(last_row, 30)
        self.assertGreaterEqual(last_row, 30 - 4 - 2 * self.workers)   # 4 rows take a second

    def test_slow_row_holds_back_the_checkpoint_but_not_the_rows_behind_it(self):
        names = self.put_rows(100)
        crawler = self.daemon(checkpoint_rows=3)
        slow = names[9]         # ROWID 10: blocked until the kill
        crawler.factory.sync.outcomes[slow] = lambda row: self.killed.wait()
        handed = self.run_until_killed(crawler, uploads=60)
        self.assertIn(slow, handed)
        self.assertNotIn(slow, self.remote)       # 60 rows went by while it was in flight
        self.assertEqual(self.entry(self.broker)['last_row'], 9)   # up to it, never past it
        restarted = self.daemon(checkpoint_rows=3)
        restarted.run_once()
        self.assertIn(slow, restarted.factory.sync.rows)
        self.assert_each_uploaded_once(names)

    def test_restart_checks_the_rows_past_the_checkpoint_with_one_listing(self):
        names = self.put_rows(50)
        self.run_until_killed(self.daemon(checkpoint_rows=10), uploads=25)
        last_row = self.entry(self.broker)['last_row']
        already = set(self.remote)
        restarted = self.daemon(checkpoint_rows=10)
        fresh = self.put_rows(3, prefix='fresh')     # written after the start: not checked
        restarted.run_once()
        sync = restarted.factory.sync
        self.assertEqual(sync.verify_calls, [names[last_row:]])
        self.assertEqual(sorted(sync.rows), sorted((set(names) - already) | set(fresh)))
        later = self.put_rows(3, prefix='later')
        restarted.run_once()                         # the check was the start's, once
        self.assertEqual(len(sync.verify_calls), 1)
        self.assert_each_uploaded_once(names + fresh + later)

    def test_only_the_first_chunk_past_the_checkpoint_is_checked(self):
        names = self.put_rows(70)
        self.run_until_killed(self.daemon(items_chunk=20, checkpoint_rows=10), uploads=25)
        last_row = self.entry(self.broker)['last_row']
        restarted = self.daemon(items_chunk=20, checkpoint_rows=10)
        restarted.run_once()
        # The killed run never read past its chunk: rows further on cost no listing.
        self.assertEqual(restarted.factory.sync.verify_calls, [names[last_row:last_row + 20]])
        self.assert_each_uploaded_once(names)

    def test_kill_before_the_first_checkpoint_leaves_a_note_that_makes_the_restart_check(self):
        names = self.put_rows(30)
        self.run_until_killed(self.daemon(checkpoint_rows=100), uploads=5)
        self.assertFalse(os.path.exists(os.path.join(self.cluster.status_dir, 'AUTH_test',
                                                     'cont')))     # no entry saved
        restarted = self.daemon()
        restarted.run_once()
        self.assertEqual(restarted.factory.sync.verify_calls, [names])  # one listing
        self.assert_each_uploaded_once(names)
        self.assertEqual(restarted.first_crawls.unsaved, set())     # the note is done with

    def test_first_crawl_writes_its_status_file_once_after_its_rows(self):
        # What a kill before then leaves is a line in the first-crawls file (the test above):
        # a new container costs one status-file write, not an entry written ahead as well.
        names = self.put_rows(5)
        written, real_write = [], progress_module.atomic_write_json

        def write(path, data, **kwargs):
            written.append(data[self.broker.get_info()['id']]['last_row'])
            return real_write(path, data, **kwargs)
        crawler = self.daemon()
        with mock.patch.object(progress_module, 'atomic_write_json', write):
            crawler.run_once()
        self.assertEqual(written, [5])
        self.assertEqual(self.entry(self.broker)['last_row'], 5)
        self.assert_each_uploaded_once(names)

    def test_first_crawl_and_restart_after_a_finished_pass_cost_no_listing(self):
        names = self.put_rows(20)
        first = self.daemon()
        first.run_once()
        restarted = self.daemon()
        fresh = self.put_rows(5, prefix='fresh')
        restarted.run_once()
        self.assertEqual(first.factory.sync.verify_calls, [])
        self.assertEqual(restarted.factory.sync.verify_calls, [])
        self.assertEqual(restarted.factory.sync.rows, fresh)
        self.assert_each_uploaded_once(names + fresh)

    def test_clean_stop_mid_chunk_leaves_nothing_to_send_again(self):
        names = self.put_rows(40)
        crawler = self.daemon(checkpoint_rows=10)

        def stop_at_the_twentieth_upload(sync):
            if sum(self.remote.values()) == 20:
                crawler.stop()
        crawler.factory.sync.after_upload = stop_at_the_twentieth_upload
        crawler.run_forever()
        self.assertEqual(self.entry(self.broker)['last_row'], 40)   # the chunk was finished
        self.daemon().run_once()
        self.assert_each_uploaded_once(names)


class TestUnusableDestination(CrawlerTestCase):
    def test_rows_wait_untouched_and_one_line_is_logged(self):
        broker = self.cluster.create('AUTH_test', 'cont')[0]
        for name in self.names(self.replica(1).index, n=5):
            put(broker, name)
        crawler = self.crawler(1, verification_slack=60)
        self.sync.unavailable = DestinationUnavailable("bucket 'b' does not exist")
        crawler.run_once()
        self.sync.unavailable = DestinationUnavailable("bucket 'b' does not exist", fresh=False)
        crawler.run_once()
        self.assertEqual(self.sync.rows, [])
        errors = [m for m in self.logger.at('ERROR') if 'destination unusable' in m]
        self.assertEqual(len(errors), 1, self.logger.at('ERROR'))
        self.sync.unavailable = None        # the bucket appears: every row goes
        crawler.run_once()
        self.assertEqual(len(self.sync.rows), 5)


class TestVerificationPass(CrawlerTestCase):
    def setUp(self):
        super().setUp()
        self.broker = self.cluster.create('AUTH_test', 'cont')[0]
        index = self.replica(1).index
        old = Timestamp(time.time() - 3600)
        self.old_unowned = self.names(index, owned=False, n=3, prefix='old')
        self.old_owned = self.names(index, owned=True, n=2, prefix='old-owned')
        for name in self.old_unowned + self.old_owned:
            put(self.broker, name, old.internal)
        self.new = ['new-%d' % i for i in range(3)]
        for name in self.new:
            put(self.broker, name)

    def test_rows_younger_than_slack_wait_and_handled_rows_are_not_verified(self):
        self.crawler(1, verification_slack=10).run_once()
        # Old owned rows are checked (batched) by the primary pass, the rest by verification.
        self.assertEqual(self.sync.verify_calls, [self.old_owned, self.old_unowned])
        self.assertEqual(self.entry(self.broker)['last_verified_row'], 5)

    def test_old_owned_rows_the_remote_already_has_are_not_uploaded_again(self):
        self.crawler(1, verification_slack=10).run_once()
        self.assertFalse(set(self.old_owned) & set(self.sync.rows))

    def test_a_missing_replicas_share_is_taken_over_by_one_survivor_first(self):
        broker = self.cluster.create('AUTH_test', 'other')[0]
        index, count = self.replica(1, container='other').index, 3
        # rows older than the slack (60 s) but younger than two slacks
        when = Timestamp(time.time() - 90).internal
        names = {d: self.names((index - d) % count, n=2, prefix='d%d-' % d) for d in (1, 2)}
        for name in names[1] + names[2]:
            put(broker, name, when)
        crawler = self.crawler(1, mappings=[mapping(container='other')], verification_slack=1)
        self.sync.need = set(names[1] + names[2])     # the owners never propagated them
        crawler.run_once()
        handled = set(self.sync.rows)
        self.assertEqual(handled & set(names[1]), set(names[1]))     # the next replica: now
        self.assertEqual(handled & set(names[2]), set())             # the one after: later

    def test_rows_taken_over_later_do_not_hold_back_the_missing_replicas_share(self):
        broker = self.cluster.create('AUTH_test', 'other')[0]
        index, count = self.replica(1, container='other').index, 3
        when = Timestamp(time.time() - 90).internal
        names = {d: self.names((index - d) % count, n=2, prefix='d%d-' % d) for d in (1, 2)}
        # in ROWID order the rows this replica takes over only later come first
        for name in names[2] + names[1]:
            put(broker, name, when)
        crawler = self.crawler(1, mappings=[mapping(container='other')], verification_slack=1)
        self.sync.need = set(names[1] + names[2])
        crawler.run_once()
        self.assertEqual(sorted(self.sync.rows), sorted(names[1]))
        pending = self.status(container='other')[broker.get_info()['id']]['pending']
        self.assertEqual(sorted(e['name'] for e in pending.values()), sorted(names[2]))
        # a slack later the others have done them: checked with a listing, not handled
        self.sync.need = set()
        crawler.clock = lambda: time.time() + 61
        crawler.run_once()
        self.assertEqual(sorted(self.sync.rows), sorted(names[1]))
        self.assertEqual(self.status(container='other')[broker.get_info()['id']]['pending'], {})

    def test_a_deferred_row_is_left_to_its_owner_for_a_slack_after_it_comes_due(self):
        """Two uploads when the replica after the owner took over a row copy_after deferred
        at the moment the owner archived it (the slack counted from the write)."""
        broker = self.cluster.create('AUTH_test', 'other')[0]
        index, count = self.replica(1, container='other').index, 3
        when = time.time() - 90       # past the slack (60 s), not yet past copy_after (120 s)
        names = self.names((index - 1) % count, n=2, prefix='d1-')
        for name in names:
            put(broker, name, Timestamp(when).internal)
        crawler = self.crawler(1, mappings=[mapping(container='other', archive=True,
                                                    copy_after=120)], verification_slack=1)
        self.sync.need = set(names)
        crawler.run_once()
        self.assertEqual(self.sync.rows, [])
        self.assertEqual(self.status(container='other')[broker.get_info()['id']]['pending'], {})
        # a slack after they came due the owner has not archived them: taken over now
        crawler.clock = lambda: when + 120 + 61
        crawler.run_once()
        self.assertEqual(sorted(self.sync.rows), sorted(names))

    def checkpointed_replica(self):
        """Node 1's replica of a new container 'other' (slack 60 s), crawled once so that it
        has a checkpoint and every row is verified: (broker, index, count, crawler)."""
        broker = self.cluster.create('AUTH_test', 'other')[0]
        index, count = self.replica(1, container='other').index, 3
        crawler = self.crawler(1, mappings=[mapping(container='other')], verification_slack=1)
        put(broker, self.names(index, n=1, prefix='first-')[0],
            Timestamp(time.time() - 200).internal)
        crawler.run_once()
        return broker, index, count, crawler

    def test_rows_a_lagging_replica_reaches_late_are_left_to_their_owner_for_a_slack(self):
        """B14: under load a crawl took longer than the slack, so the replica after the owner
        found rows past the slack in the same crawl that first read them and uploaded them
        at the moment the owner, as far behind, did."""
        broker, index, count, crawler = self.checkpointed_replica()
        # rows written 90 s ago (past the 60 s slack) that this crawl reaches only now
        when = time.time() - 90
        names = self.names((index - 1) % count, n=2, prefix='d1-')
        for name in names:
            put(broker, name, Timestamp(when).internal)
        self.sync.need = set(names)              # the owner has not propagated them yet
        crawler.run_once()
        self.assertEqual(self.sync.rows, [])
        pending = self.status(container='other')[broker.get_info()['id']]['pending']
        self.assertEqual(sorted((e['name'], e['verify']) for e in pending.values()),
                         [(n, True) for n in sorted(names)])
        self.assertGreater(min(e['due'] for e in pending.values()), time.time() + 50)
        # a slack later the owner still has not: taken over then, after a listing
        crawler.clock = lambda: time.time() + 61
        crawler.run_once()
        self.assertEqual(sorted(self.sync.rows), sorted(names))

    def test_replicas_that_reach_rows_late_keep_their_turns_a_slack_apart(self):
        """B15: a row reached late was left to its owner for a slack from the crawl (B14), the
        same moment for the next replica and the one after it: with the owner missing, both
        uploaded it."""
        broker, index, count, crawler = self.checkpointed_replica()
        when = Timestamp(time.time() - 90).internal
        names = {d: self.names((index - d) % count, n=2, prefix='d%d-' % d) for d in (1, 2)}
        for name in names[1] + names[2]:
            put(broker, name, when)
        self.sync.need = set(names[1] + names[2])
        start = time.time()
        crawler.run_once()
        self.assertEqual(self.sync.rows, [])
        pending = self.status(container='other')[broker.get_info()['id']]['pending']
        due = {e['name']: e['due'] for e in pending.values()}
        self.assertEqual(sorted(due), sorted(names[1] + names[2]))
        self.assertGreaterEqual(min(due[n] for n in names[2]),
                                max(due[n] for n in names[1]) + 60 - (time.time() - start))

    def test_rows_the_remote_lacks_are_handled(self):
        crawler = self.crawler(1, verification_slack=10)
        self.sync.need = {self.old_unowned[1]}
        crawler.run_once()
        # by the replica after its owner at once, by the one after that a slack later
        crawler.clock = lambda: time.time() + 601
        crawler.run_once()
        self.assertEqual(self.sync.rows, [self.old_unowned[1]])
        self.assertNotIn(self.old_unowned[0], self.sync.rows)

    def test_verified_rows_are_not_verified_again(self):
        crawler = self.crawler(1, verification_slack=10)
        crawler.run_once()
        crawler.run_once()
        self.assertEqual(self.sync.verify_calls, [self.old_owned, self.old_unowned])

    def test_verification_failure_is_pending_with_verify_flag(self):
        crawler = self.crawler(1, verification_slack=10)
        self.sync.need = {self.old_unowned[0]}
        self.sync.outcomes[self.old_unowned[0]] = RuntimeError('nope')
        crawler.run_once()
        pending = self.entry(self.broker)['pending']
        self.assertEqual([(e['name'], e['verify']) for e in pending.values()],
                         [(self.old_unowned[0], True)])


class TestStatusAndContainers(CrawlerTestCase):
    def test_bucket_change_restarts_from_row_zero(self):
        broker = self.cluster.create('AUTH_test', 'cont')[0]
        names = self.names(self.replica(1).index, n=3)
        for name in names:
            put(broker, name)
        self.crawler(1, verification_slack=60).run_once()
        self.crawler(1, [mapping(bucket='elsewhere')], verification_slack=60).run_once()
        self.assertEqual(self.sync.rows, names)
        self.assertEqual(self.entry(broker)['aws_bucket'], 'elsewhere')

    def test_container_info_is_passed_for_root_db(self):
        broker = self.cluster.create('AUTH_test', 'cont')[0]
        self.crawler(1).run_once()
        self.assertEqual(self.sync.infos, [broker.get_info()['id']])

    def test_the_pending_file_is_merged_once_a_crawl_and_rows_put_meanwhile_go_next_pass(self):
        broker = self.cluster.create('AUTH_test', 'cont')[0]
        first, later = self.names(self.replica(1).index, n=2)
        put(broker, first)
        crawler = self.crawler(1, verification_slack=60)
        crawler.progress_hooks.append(lambda job, progress: put(broker, later))
        real_lock, locks = swift_db.lock_parent_directory, []

        def lock(path, *args, **kwargs):
            locks.append(path)
            return real_lock(path, *args, **kwargs)
        with mock.patch.object(swift_db, 'lock_parent_directory', lock):
            crawler.run_once()
        # the crawl's one merge and the put's append, not a merge for each query of the crawl
        self.assertEqual(locks, [broker.pending_file] * 2)
        self.assertEqual(self.sync.rows, [first])
        crawler.progress_hooks.clear()
        crawler.run_once()
        self.assertEqual(self.sync.rows, [first, later])

    def test_container_metadata_is_not_read_for_a_sync_that_does_not_ask_for_it(self):
        self.cluster.create('AUTH_test', 'cont')
        crawler = self.crawler(1)
        asked = []
        self.sync.handle_container_info = lambda info, read_metadata: asked.append(read_metadata)
        with mock.patch.object(ContainerBroker, 'get_raw_metadata') as query:
            crawler.run_once()
        query.assert_not_called()           # a query of the DB per crawl, for nothing
        self.assertEqual(len(asked), 1)
        self.assertEqual(asked[0](), {})    # and there when asked

    def test_jobs_of_the_first_cycle_are_known_while_it_runs(self):
        for name in ('a', 'b'):
            self.cluster.create('AUTH_test', name)
        crawler = self.crawler(1, [mapping(container='a'), mapping(container='b')],
                               enumerator_workers=1)
        seen = []
        crawler.progress_hooks.append(
            lambda job, progress: seen.append(sorted(j.container for j in crawler.jobs())))
        self.assertEqual(crawler.jobs(), [])
        crawler.run_once()
        # the node report takes them instead of opening every DB to find them again
        self.assertEqual(seen, [['a', 'b'], ['a', 'b']])

    def test_unicode_account_container_and_object_names(self):
        acct, cont = 'AUTH_t\u00e9st', 'c\u00f6nt \u6587'
        broker = self.cluster.create(acct, cont)[0]
        index = self.replica(1, acct, cont).index
        names = self.names(index, n=3, prefix='\u00fcber/\u6587\u4ef6-')
        for name in names:
            put(broker, name)
        self.crawler(1, [mapping(acct, cont)], verification_slack=60).run_once()
        self.assertEqual(self.sync.rows, names)
        self.assertEqual(self.entry(broker, acct, cont)['last_row'], 3)

    def test_missing_db_is_skipped_quietly(self):
        counts = self.crawler(1).run_once()
        self.assertEqual((counts.dbs, counts.errors), (0, 0))
        self.assertEqual(self.logger.at('ERROR'), [])
        self.assertEqual(self.factory.calls, [])

    def test_deleted_container_is_skipped(self):
        broker = self.cluster.create('AUTH_test', 'cont')[0]
        broker.delete_db(Timestamp.now().internal)
        counts = self.crawler(1).run_once()
        self.assertEqual(counts.dbs, 0)

    def bad_and_good(self):
        """Containers 'bad' (one row) and 'good' (two rows node 1 owns): the good rows."""
        bad = self.cluster.create('AUTH_test', 'bad')[0]
        good = self.cluster.create('AUTH_test', 'good')[0]
        put(bad, 'x')
        names = self.names(self.replica(1, 'AUTH_test', 'good').index, n=2)
        for name in names:
            put(good, name)
        return names

    def test_one_failing_container_does_not_stop_the_others(self):
        names = self.bad_and_good()
        factory = FakeFactory()
        factory.fail.add('bad')
        counts = self.crawler(1, [mapping(container='bad'), mapping(container='good')],
                              factory=factory, verification_slack=60).run_once()
        self.assertEqual(self.sync.rows, names)
        self.assertEqual(counts.errors, 1)
        errors = self.logger.at('ERROR')
        self.assertEqual(len(errors), 1)
        self.assertIn('cannot build provider for bad', errors[0])

    def test_a_db_lock_held_too_long_is_one_error_line_and_the_daemon_goes_on(self):
        # LockTimeout is an eventlet Timeout, not an Exception: it used to end the daemon
        names = self.bad_and_good()
        real = ContainerBroker.is_deleted

        def is_deleted(broker):
            if broker.container == 'bad':
                held = LockTimeout(10, broker.db_dir + '/.lock')
                held.cancel()
                raise held
            return real(broker)
        crawler = self.crawler(1, [mapping(container='bad'), mapping(container='good')],
                               verification_slack=60)
        with mock.patch.object(ContainerBroker, 'is_deleted', is_deleted):
            counts = crawler.run_once()
        self.assertEqual(self.sync.rows, names)
        self.assertEqual(counts.errors, 1)
        errors = self.logger.at('ERROR')
        self.assertEqual(len(errors), 1)
        self.assertIn('crawl of', errors[0])
        self.assertIn('10 seconds', errors[0])

    def test_star_mapping_crawls_every_container_of_the_account(self):
        for cont in ('one', 'two'):
            put(self.cluster.create('AUTH_test', cont)[0], 'x')

        class IC:
            def iter_containers(self, account):
                assert account == 'AUTH_test'
                return iter([{'name': 'one'}, {'name': 'two'}, {'name': 'elsewhere'}])
        m = mapping(container='/*')
        self.crawler(1, [m], ic=IC()).run_once()
        self.assertEqual(sorted(self.factory.calls), [('AUTH_test', 'one'), ('AUTH_test', 'two')])
        self.assertTrue(os.path.exists(os.path.join(self.cluster.status_dir, 'AUTH_test', 'two')))

    def test_star_mapping_without_internal_client_is_one_error_line(self):
        self.crawler(1, [mapping(container='/*')]).run_once()
        self.assertEqual(len(self.logger.at('ERROR')), 1)

    def test_cycle_summary_is_one_info_line(self):
        put(self.cluster.create('AUTH_test', 'cont')[0], 'x')
        self.crawler(1).run_once()
        info = self.logger.at('INFO')
        self.assertEqual(len(info), 1)
        self.assertRegex(info[0], r'^cycle done in \d+\.\d\ds: 1 DBs, 1 rows scanned, ')

    def test_cycle_summary_ends_with_the_cpu_seconds_the_cycle_took(self):
        crawler = self.crawler(1)
        with mock.patch('time.process_time', side_effect=[10.0, 12.5]):
            crawler.run_once()
        self.assertTrue(self.logger.at('INFO')[0].endswith(
            ', 0 errors, 0 DBs unchanged, 2.50s cpu'), self.logger.at('INFO')[0])


def activate(shard, state=ShardRange.ACTIVE):
    """Give a shard DB its own shard range in ``state`` (as the sharder does), from now on."""
    now = Timestamp.now()
    shard.merge_shard_ranges([ShardRange(shard.path, now, '', '', state=state,
                                         state_timestamp=now)])


class TestShardedContainer(CrawlerTestCase):
    def test_shard_rows_are_crawled_into_the_root_status_file(self):
        root = self.cluster.create('AUTH_test', 'cont')[0]
        put(root, 'root-row')
        shard_names = ['cont-abc-%d-0' % i for i in range(2)]
        ranges = [ShardRange('.shards_AUTH_test/%s' % shard_names[0], Timestamp.now(),
                             lower='', upper='m', state=ShardRange.ACTIVE),
                  ShardRange('.shards_AUTH_test/%s' % shard_names[1], Timestamp.now(),
                             lower='m', upper='', state=ShardRange.ACTIVE)]
        root.merge_shard_ranges(ranges)
        shard_dbs = []
        for sname, objs in zip(shard_names, (['apple', 'fig'], ['pear', 'zucchini'])):
            sb = self.cluster.create('.shards_AUTH_test', sname)[0]
            activate(sb)
            for obj in objs:
                put(sb, obj)
            shard_dbs.append(sb)
        crawler = self.crawler(1, verification_slack=60)
        crawler.node.replicas = _single_owner(crawler.node.replicas)
        self.sync.need = {'apple', 'fig', 'pear', 'zucchini'}     # not on the remote yet
        crawler.run_once()
        self.assertEqual(sorted(self.sync.rows), ['apple', 'fig', 'pear', 'root-row', 'zucchini'])
        status = self.status()
        self.assertEqual(set(status), {root.get_info()['id']} |
                         {sb.get_info()['id'] for sb in shard_dbs})
        self.assertEqual(self.sync.infos, [root.get_info()['id']])
        self.assertEqual(set(self.factory.calls), {('AUTH_test', 'cont')})
        self.assertFalse(os.path.exists(os.path.join(self.cluster.status_dir,
                                                     '.shards_AUTH_test')))

    def test_sharding_root_crawls_retiring_and_fresh_db_and_its_shards(self):
        root = self.cluster.create('AUTH_test', 'cont')[0]
        put(root, 'old-1')
        put(root, 'old-2')
        retiring_id = root.get_info()['id']
        own = root.get_own_shard_range()
        own.update_state(ShardRange.SHARDING, state_timestamp=Timestamp.now())
        own.epoch = Timestamp.now()
        root.merge_shard_ranges([own, ShardRange('.shards_AUTH_test/cont-x-1-0', Timestamp.now(),
                                                 '', '', state=ShardRange.CREATED)])
        self.assertTrue(root.set_sharding_state())
        put(root, 'during-sharding')      # lands in the fresh DB
        shard = self.cluster.create('.shards_AUTH_test', 'cont-x-1-0')[0]
        put(shard, 'in-shard')
        crawler = self.crawler(1, verification_slack=60)
        crawler.node.replicas = _single_owner(crawler.node.replicas)
        self.sync.need = {'during-sharding', 'in-shard'}     # not on the remote yet
        crawler.run_once()
        # the shard is not active yet: its new row waits a grace, the root may hold it too
        self.assertEqual(sorted(self.sync.rows), ['during-sharding', 'old-1', 'old-2'])
        crawler.clock = lambda: time.time() + crawler.handover_grace + 1
        crawler.run_once()
        self.assertEqual(sorted(self.sync.rows),
                         ['during-sharding', 'in-shard', 'old-1', 'old-2'])
        fresh_id = root.get_info()['id']
        self.assertEqual(set(self.status()), {retiring_id, fresh_id, shard.get_info()['id']})
        self.assertEqual(set(self.sync.infos), {fresh_id})

    def shard_with_root_rows(self, names, written=None):
        """A root holding ``names`` (written at ``written``) and its one shard, into which
        sharding moved them: a new DB, a new id, ROWIDs from 1, the rows' own timestamps."""
        root = self.cluster.create('AUTH_test', 'cont')[0]
        for name in names:
            put(root, name, written)
        root.merge_shard_ranges([ShardRange('.shards_AUTH_test/cont-s-1-0', Timestamp.now(),
                                             '', '', state=ShardRange.ACTIVE)])
        shard = self.cluster.create('.shards_AUTH_test', 'cont-s-1-0')[0]
        for item in root.get_objects():
            shard.put_object(item['name'], item['created_at'], item['size'],
                             item['content_type'], item['etag'])
        return root, shard

    def test_rows_a_shard_inherits_are_not_uploaded_again(self):
        names = ['a%d' % i for i in range(5)]
        root, _shard = self.shard_with_root_rows(names)
        crawler = self.crawler(1, verification_slack=60)
        crawler.node.replicas = _single_owner(crawler.node.replicas)
        crawler.run_once()
        # the root's crawl propagates them; the shard leaves them to it (in the same cycle
        # here, as when the root and the shard are crawled on two nodes)
        self.assertEqual(sorted(self.sync.rows), names)
        self.assertEqual(self.sync.verify_calls, [])

    def test_rows_sharded_while_the_root_is_crawled_are_left_to_the_root(self):
        # The shard is first seen empty (the sharder creates it, then cleaves rows into it):
        # rows arriving later are the root's too.
        root = self.cluster.create('AUTH_test', 'cont')[0]
        names = ['a%d' % i for i in range(5)]
        for name in names:
            put(root, name)
        root.merge_shard_ranges([ShardRange('.shards_AUTH_test/cont-s-1-0', Timestamp.now(),
                                             '', '', state=ShardRange.CREATED)])
        time.sleep(0.01)
        shard = self.cluster.create('.shards_AUTH_test', 'cont-s-1-0')[0]
        crawler = self.crawler(1, verification_slack=60)
        crawler.node.replicas = _single_owner(crawler.node.replicas)
        crawler.run_once()
        self.assertEqual(sorted(self.sync.rows), names)
        for item in root.get_objects():
            shard.put_object(item['name'], item['created_at'], item['size'],
                             item['content_type'], item['etag'])
        put(shard, 'written-to-the-shard')        # a client write redirected to the shard
        self.sync.rows = []
        crawler.run_once()
        # the shard is not active yet: a grace later, and only what the remote lacks
        self.assertEqual(self.sync.rows, [])
        self.sync.need = {'written-to-the-shard'}
        crawler.clock = lambda: time.time() + crawler.handover_grace + 1
        crawler.run_once()
        self.assertEqual(self.sync.rows, ['written-to-the-shard'])

    def test_a_row_moved_from_the_root_after_the_shard_was_made_is_not_uploaded_again(self):
        """B10: a root replica not knowing the shard ranges yet took a client write after the
        shard DB was created; the root's crawl uploaded it, then the sharder moved it here."""
        root = self.cluster.create('AUTH_test', 'cont')[0]
        root.merge_shard_ranges([ShardRange('.shards_AUTH_test/cont-s-1-0', Timestamp.now(),
                                             '', '', state=ShardRange.CLEAVED)])
        shard = self.cluster.create('.shards_AUTH_test', 'cont-s-1-0')[0]
        activate(shard, ShardRange.CLEAVED)
        time.sleep(0.01)
        put(root, 'late', None)
        crawler = self.crawler(1, verification_slack=60)
        replicas = _single_owner(crawler.node.replicas)
        crawler.node.replicas = lambda a, c: [] if c == 'cont' else replicas(a, c)
        crawler._remote_shards = lambda a, c: [('.shards_AUTH_test', 'cont-s-1-0')]
        for item in root.get_objects():
            shard.put_object(item['name'], item['created_at'], item['size'],
                             item['content_type'], item['etag'])
        crawler.run_once()
        self.assertEqual(self.sync.rows, [])
        pending = list(self.status()[self.shard_id()]['pending'].values())
        self.assertEqual([(e['name'], e['verify']) for e in pending], [('late', True)])
        self.sync.need = set()      # the root's crawl propagated it meanwhile
        crawler.clock = lambda: time.time() + crawler.handover_grace + 1
        crawler.run_once()
        self.assertEqual(self.sync.rows, [])
        self.assertEqual(self.status()[self.shard_id()]['pending'], {})

    def test_rows_of_an_active_shard_newer_than_its_activation_go_straight_on(self):
        shard = self.cluster.create('.shards_AUTH_test', 'cont-s-1-0')[0]
        activate(shard)
        time.sleep(0.01)
        put(shard, 'new')
        crawler = self.crawler(1, verification_slack=60)
        replicas = _single_owner(crawler.node.replicas)
        crawler.node.replicas = lambda a, c: [] if c == 'cont' else replicas(a, c)
        crawler._remote_shards = lambda a, c: [('.shards_AUTH_test', 'cont-s-1-0')]
        crawler.run_once()
        self.assertEqual(self.sync.rows, ['new'])

    def test_inherited_rows_the_root_did_not_finish_are_taken_over_by_their_owner(self):
        # written 90 s ago: past a 60 s slack; the shard is new
        when = Timestamp(time.time() - 90).internal
        index, count = 0, 3
        names = {d: self.names((index - d) % count, n=2, prefix='d%d-' % d) for d in (0, 1)}
        self.shard_with_root_rows(names[0] + names[1], when)
        crawler = self.crawler(1, verification_slack=1)
        replicas = crawler.node.replicas
        # no root replica here (its rows are the shard's only): the shard, as replica 0 of 3
        crawler.node.replicas = lambda a, c: [] if c == 'cont' else [
            r._replace(index=index, count=count) for r in replicas(a, c)]
        crawler._remote_shards = lambda a, c: [('.shards_AUTH_test', 'cont-s-1-0')]
        self.sync.need = set(names[0] + names[1])     # never propagated
        crawler.run_once()
        # the root's replicas have their turns first: nothing handled yet
        self.assertEqual(self.sync.rows, [])
        pending = self.status()[self.shard_id()]['pending']
        self.assertEqual(sorted(e['name'] for e in pending.values()),
                         sorted(names[0] + names[1]))
        self.assertTrue(all(e['verify'] for e in pending.values()))
        # then the owner takes them over, once the root's last replica had its turn (two
        # slacks after the root's first takeover, a slack after the sharding); the next
        # replica only a slack later
        crawler.clock = lambda: time.time() + 181
        crawler.run_once()
        self.assertEqual(sorted(self.sync.rows), sorted(names[0]))
        pending = self.status()[self.shard_id()]['pending']
        self.assertEqual(sorted(e['name'] for e in pending.values()), sorted(names[1]))
        # by when the owner of those has done it: checked, not handled again
        self.sync.need = set()
        crawler.clock = lambda: time.time() + 241
        crawler.run_once()
        self.assertEqual(sorted(self.sync.rows), sorted(names[0]))
        self.assertEqual(self.status()[self.shard_id()]['pending'], {})

    def shard_id(self):
        path = self.cluster.node(1).replicas('.shards_AUTH_test', 'cont-s-1-0')[0].db_path
        return ContainerBroker(path).get_info()['id']

    def test_a_deferral_of_an_inherited_row_waits_a_slack_more_than_the_root(self):
        when = time.time() - 90
        self.shard_with_root_rows(['a'], Timestamp(when).internal)
        crawler = self.crawler(1, verification_slack=1)
        replicas = _single_owner(crawler.node.replicas)
        crawler.node.replicas = lambda a, c: [] if c == 'cont' else replicas(a, c)
        crawler._remote_shards = lambda a, c: [('.shards_AUTH_test', 'cont-s-1-0')]
        self.sync.need = {'a'}
        self.sync.outcomes['a'] = Retry(when + 120)      # copy_after: 120 s
        crawler.run_once()
        crawler.clock = lambda: time.time() + 61          # taken over a slack after sharding
        crawler.run_once()
        self.assertEqual(self.sync.rows, ['a'])
        pending = list(self.status()[self.shard_id()]['pending'].values())
        self.assertEqual([e['due'] for e in pending], [when + 120 + 60])

    def inherited_as(self, crawler, index, count=3):
        """``crawler`` sees the shard only (no root replica), as replica ``index`` of ``count``."""
        replicas = crawler.node.replicas
        crawler.node.replicas = lambda a, c: [] if c == 'cont' else [
            r._replace(index=index, count=count) for r in replicas(a, c)]
        crawler._remote_shards = lambda a, c: [('.shards_AUTH_test', 'cont-s-1-0')]

    def test_an_inherited_row_due_after_the_sharding_is_the_next_replicas_a_slack_after_its_owners(self):
        """B15: the root deferred rows (copy_after) and went away while sharding; the shard's
        owner takes such a row over once it is due, but the next replica's turn was counted
        from the shard's creation: for a row written shortly before the sharding, a few
        seconds after the owner's, so both uploaded it."""
        when = time.time() - 5        # written 5 s before the sharding; copy_after: 60 s
        index, count = 1, 3
        names = {d: self.names((index - d) % count, n=2, prefix='d%d-' % d) for d in (0, 1)}
        _root, shard = self.shard_with_root_rows(names[0] + names[1], Timestamp(when).internal)
        created = float(Timestamp(shard.get_info()['created_at']))
        crawler = self.crawler(1, mappings=[mapping(archive=True, copy_after=60)],
                               verification_slack=1)
        self.inherited_as(crawler, index, count)
        self.sync.need = set(names[0] + names[1])     # the root never archived them
        # past the root's first takeover (a slack after they came due): the root's other
        # replicas have two more turns, then the shard's owner, then the next replica
        crawler.clock = lambda: created + 121
        crawler.run_once()
        self.assertEqual(self.sync.rows, [])
        pending = self.status()[self.shard_id()]['pending']
        due = {e['name']: e['due'] for e in pending.values()}
        self.assertEqual(sorted(due), sorted(names[0] + names[1]))
        self.assertGreaterEqual(min(due[n] for n in names[0]), created + 240)
        self.assertGreaterEqual(min(due[n] for n in names[1]),
                                max(due[n] for n in names[0]) + 60)
        crawler.clock = lambda: created + 242
        crawler.run_once()
        self.assertEqual(sorted(self.sync.rows), sorted(names[0]))
        # a slack later the owner still has not (a missing replica): taken over then
        crawler.clock = lambda: created + 302
        crawler.run_once()
        self.assertEqual(sorted(self.sync.rows), sorted(names[0] + names[1]))

    def test_an_inherited_row_a_lagging_replica_finds_missing_is_not_handed_in_that_crawl(self):
        """B15: the turns on a row sharding moved here were counted from the shard's creation
        alone; a crawl that found it missing past its turn (lagging behind, as the crawls of
        the root's replicas and of the owner may be on nodes as loaded) handed it at once."""
        when = Timestamp(time.time() - 600).internal
        index, count = 1, 3
        names = self.names((index - 1) % count, n=2, prefix='d1-')
        _root, shard = self.shard_with_root_rows(names, when)
        created = float(Timestamp(shard.get_info()['created_at']))
        crawler = self.crawler(1, verification_slack=1)
        self.inherited_as(crawler, index, count)
        self.sync.need = set(names)
        crawler.clock = lambda: created + 400        # past its turn (four slacks)
        crawler.run_once()
        self.assertEqual(self.sync.rows, [])
        pending = self.status()[self.shard_id()]['pending']
        self.assertEqual(sorted(e['name'] for e in pending.values()), sorted(names))
        self.assertGreaterEqual(min(e['due'] for e in pending.values()), created + 580)
        crawler.clock = lambda: created + 581
        crawler.run_once()
        self.assertEqual(sorted(self.sync.rows), sorted(names))

    def test_rows_of_a_rebuilt_replica_are_checked_with_one_listing_not_uploaded_again(self):
        broker = self.cluster.create('AUTH_test', 'cont')[0]
        names = ['a%d' % i for i in range(5)]
        for name in names:
            put(broker, name)
        crawler = self.crawler(1, verification_slack=60)
        crawler.node.replicas = _single_owner(crawler.node.replicas)
        crawler.run_once()
        # the replicator's copy of another replica: the same rows under a new id
        broker.newid('another-replica')
        self.sync.rows, self.sync.verify_calls = [], []
        crawler = self.crawler(1, verification_slack=60)
        crawler.node.replicas = _single_owner(crawler.node.replicas)
        crawler.run_once()
        self.assertEqual(self.sync.rows, [])        # all on the remote: nothing uploaded again
        self.assertEqual(self.sync.verify_calls, [names])

    def test_shards_of_a_root_with_no_local_replica_are_found_through_the_cluster(self):
        mine = str(ShardName.create('', 'cont', 'cont', Timestamp.now(), 0))[1:]
        other = str(ShardName.create('', 'cont-bar', 'cont-bar', Timestamp.now(), 0))[1:]
        for name, root in ((mine, 'cont'), (other, 'cont-bar')):
            shard = self.cluster.create('.shards_AUTH_test', name)[0]
            activate(shard)
            put(shard, 'in-' + root)
        requests = []

        class IC:
            def get_container_metadata(self, account, container, acceptable_statuses=()):
                requests.append(('HEAD', account, container))
                return {'x-backend-sharding-state': 'sharded'}

            def iter_containers(self, account, prefix=''):
                requests.append(('GET', account, prefix))
                return iter([{'name': mine}, {'name': other}])
        crawler = self.crawler(1, ic=IC(), verification_slack=60)
        replicas = _single_owner(crawler.node.replicas)
        crawler.node.replicas = lambda a, c: [] if c == 'cont' else replicas(a, c)
        crawler.run_once()
        self.assertEqual(self.sync.rows, ['in-cont'])
        self.assertEqual(requests, [('HEAD', 'AUTH_test', 'cont'),
                                    ('GET', '.shards_AUTH_test', 'cont-')])
        self.assertEqual(self.sync.infos, [])
        self.assertEqual(len(self.status()), 1)

    def test_unsharded_root_elsewhere_costs_one_head_and_no_listing(self):
        class IC:
            def get_container_metadata(self, account, container, acceptable_statuses=()):
                return {'x-backend-sharding-state': 'unsharded'}

            def iter_containers(self, account, prefix=''):
                raise AssertionError('listed')
        crawler = self.crawler(1, ic=IC())
        crawler.node.replicas = lambda a, c: []
        self.assertEqual(crawler.run_once().dbs, 0)
        self.assertEqual(self.logger.at('ERROR'), [])


def _single_owner(replicas):
    """Make this node own every row (index 0 of 1) so the test does not depend on hashing."""
    def wrapped(account, container):
        return [r._replace(index=0, count=1) for r in replicas(account, container)]
    return wrapped


if __name__ == '__main__':
    unittest.main()

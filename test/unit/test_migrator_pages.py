"""Listing pages shared by a container's nodes: the lister leaves each page it lists, the
readers use a fresh one instead of listing, and list themselves when it does not come."""
import json
import logging
import time
import unittest
from unittest import mock

import eventlet

from s3_sync.migrator import pages
from s3_sync.migrator.container_pass import ContainerMigration
from s3_sync.migrator.pages import PageBoard, SourcePage, page_name, page_parts
from s3_sync.migrator.placement import Share, split_page
from s3_sync.status import cluster
from test.unit.test_migrator_pass import FakeCopier, FakeSource, FakeStore, entry, migration

LISTED_AT = 1767225600.0       # 2026-01-01T00:00:00


class FakeClient:
    """InternalClient's object calls on a dict; a PUT into a missing container fails."""

    def __init__(self, fail_puts=False):
        self.containers = set()
        self.objects = {}       # (account, container, name) -> (headers, body)
        self.fail_puts = fail_puts

    def create_container(self, account, container, headers=None):
        self.containers.add((account, container))

    def upload_object(self, fobj, account, container, name, headers=None):
        if self.fail_puts or (account, container) not in self.containers:
            raise IOError('PUT %s/%s/%s: 404' % (account, container, name))
        self.objects[(account, container, name)] = (dict(headers or {}), fobj.read())

    def get_object(self, account, container, name, acceptable_statuses=(2,)):
        found = self.objects.get((account, container, name))
        if found is None:
            return 404, {}, iter([b''])
        return 200, found[0], iter([found[1]])

    def page(self, marker, bucket='b'):
        """The stored page document after ``marker``, or None."""
        found = self.objects.get((cluster.ACCOUNT, pages.CONTAINER,
                                  page_name(page_parts(migration(), bucket, marker))))
        return None if found is None else (found[0], json.loads(found[1]))

    def leave(self, marker, page, parts=None):
        """Store ``page`` as the lister would (``parts``: the key parts it carries)."""
        self.containers.add((cluster.ACCOUNT, pages.CONTAINER))
        name = page_name(page_parts(migration(), 'b', marker))
        doc = dict(page._asdict(), key=parts or page_parts(migration(), 'b', marker))
        self.objects[(cluster.ACCOUNT, pages.CONTAINER, name)] = (
            {}, json.dumps(doc).encode('utf-8'))


def work(source, store, share, client, clock=lambda: LISTED_AT, copier=None,
         logger='t', board=None):
    return ContainerMigration(migration(), 'b', source, store, copier or FakeCopier(), share,
                              items_chunk=3, workers=2, logger=logging.getLogger(logger),
                              clock=clock,
                              pages=board or PageBoard(client, logging.getLogger(logger)))


def run_pass(migration_work, marker=''):
    results = []
    with eventlet.Timeout(20):
        while True:
            result = migration_work.page(marker)
            results.append(result)
            if result.end:
                break
            marker = result.marker
    migration_work.close()
    return results


class TestPageExpiry(unittest.TestCase):
    def test_a_page_lives_at_least_a_day_and_rewrites_within_the_hour_keep_its_time(self):
        now = 1796220000.5
        at = pages.delete_at(now)
        self.assertGreaterEqual(at, now + pages.KEEP)
        self.assertLess(at, now + pages.KEEP + pages.KEEP_ROUNDING)
        self.assertEqual(at % pages.KEEP_ROUNDING, 0)
        self.assertEqual(pages.delete_at(now + 60), at)


class TestLister(unittest.TestCase):
    def test_the_lister_leaves_every_page_it_lists_for_the_other_nodes(self):
        client = FakeClient()
        source = FakeSource(list('abcdefg'))
        run_pass(work(source, FakeStore([]), Share([0], 3), client))
        self.assertIn((cluster.ACCOUNT, pages.CONTAINER), client.containers)
        headers, doc = client.page('')
        self.assertEqual([e['name'] for e in doc['entries']], ['a', 'b', 'c'])
        self.assertEqual((doc['end'], doc['empty'], doc['listed_at']), (False, False, LISTED_AT))
        self.assertEqual(doc['key'], page_parts(migration(), 'b', ''))
        self.assertEqual(headers['X-Delete-At'], str(pages.delete_at(time.time())))
        self.assertEqual([e['name'] for e in client.page('c')[1]['entries']], list('def'))
        self.assertTrue(client.page('f')[1]['end'])

    def test_a_node_holding_every_replica_leaves_no_page(self):
        client = FakeClient()
        run_pass(work(FakeSource(list('abcdefg')), FakeStore([]), Share([0, 1, 2], 3), client))
        run_pass(work(FakeSource(list('abcd')), FakeStore([]), Share([0], 2, taken=(1,)),
                      client))
        self.assertEqual(client.containers, set())
        self.assertFalse(client.objects)

    def test_a_failed_page_put_is_one_warning_and_the_page_goes_on(self):
        source = FakeSource(list('ab'))
        copier = FakeCopier()
        with self.assertLogs('t', 'WARNING') as logs:
            results = run_pass(work(source, FakeStore([]), Share([0], 3),
                                    FakeClient(fail_puts=True), copier=copier))
        self.assertTrue(results[-1].end)
        self.assertEqual(len(logs.output), 1)
        self.assertIn('not shared', logs.output[0])
        self.assertEqual(sorted(copier.copied), sorted(
            n for n, replica in split_page([entry('a'), entry('b')], 3).items() if replica == 0))


class TestReader(unittest.TestCase):
    def setUp(self):
        self.client = FakeClient()
        self.source = FakeSource(list('abcdef'))

    def test_a_fresh_page_is_used_and_the_source_is_not_listed(self):
        # the page says what the lister saw: not what this node would list now
        page = [entry('a'), entry('b'), entry('x')]
        self.client.leave('', SourcePage(page, True, False, LISTED_AT + 1))
        copier = FakeCopier()
        results = run_pass(work(self.source, FakeStore([]), Share([1], 3), self.client,
                                copier=copier))
        self.assertEqual(self.source.calls, [])
        self.assertTrue(results[-1].end)
        self.assertEqual(sorted(copier.copied), sorted(
            n for n, replica in split_page(page, 3).items() if replica == 1))

    def assert_listed_here(self, page, parts=None):
        """``page`` is left for the first marker: this node lists the source instead."""
        self.client.leave('', page, parts)
        copier = FakeCopier()
        run_pass(work(self.source, FakeStore([]), Share([1], 3), self.client, copier=copier))
        self.assertEqual(self.source.calls[:1], [''])
        self.assertEqual(sorted(copier.copied)[:1], [
            n for n, replica in split_page([entry(n) for n in 'abc'], 3).items()
            if replica == 1])

    @mock.patch.object(pages, 'WAIT', 0.3)
    def test_a_page_listed_longer_than_fresh_before_this_pass_is_not_used(self):
        self.assert_listed_here(SourcePage([entry('old')], True, False,
                                           LISTED_AT - pages.FRESH - 1))

    @mock.patch.object(pages, 'WAIT', 5.0)
    def test_pages_of_the_listers_pass_under_way_are_used_though_listed_before_this_one(self):
        # the lister's pass of this container began minutes before this node's (passes
        # drift apart over an account): its pages are used, none waited for, none listed
        self.client.leave('', SourcePage([entry(n) for n in 'abc'], False, False,
                                         LISTED_AT - pages.FRESH + 1))
        self.client.leave('c', SourcePage([entry('d')], True, False, LISTED_AT - 60))
        started = time.monotonic()
        run_pass(work(self.source, FakeStore([]), Share([1], 3), self.client))
        self.assertLess(time.monotonic() - started, pages.WAIT / 2)
        self.assertEqual(self.source.calls, [])

    @mock.patch.object(pages, 'WAIT', 0.3)
    def test_a_page_carrying_another_key_is_not_used(self):
        other = dict(page_parts(migration(), 'b', ''), bucket='other')
        self.assert_listed_here(SourcePage([entry('old')], True, False, LISTED_AT + 1), other)

    @mock.patch.object(pages, 'WAIT', 1.0)
    def test_no_page_lists_itself_after_one_wait_and_waits_no_more_that_pass(self):
        copier = FakeCopier()
        started = time.monotonic()
        with self.assertLogs('t', 'INFO') as logs:
            results = run_pass(work(self.source, FakeStore([]), Share([1], 3), self.client,
                                    copier=copier))
        took = time.monotonic() - started
        self.assertEqual([r.marker for r in results], ['c', 'f', ''])
        self.assertEqual(self.source.calls[:3], ['', 'c', 'f'])
        waits = [line for line in logs.output if 'no listing page' in line]
        self.assertEqual(len(waits), 1, logs.output)
        self.assertGreaterEqual(took, pages.WAIT)
        self.assertLess(took, 1.9 * pages.WAIT)     # three pages, one wait
        self.assertEqual(sorted(copier.copied), sorted(
            n for n, replica in split_page([entry(n) for n in 'abc'], 3).items()
            if replica == 1) + sorted(
            n for n, replica in split_page([entry(n) for n in 'def'], 3).items()
            if replica == 1))

    @mock.patch.object(pages, 'WAIT', 0.5)
    def test_after_a_wait_timed_out_other_containers_do_not_wait_until_the_backoff_ends(self):
        # a reader far behind (or ahead of) the lister must not pay a wait per container:
        # it would fall further behind with each one of a "/*" migration
        board = PageBoard(self.client, logging.getLogger('t'))
        with mock.patch.object(pages, 'BACKOFF', 2.0):
            started = time.monotonic()
            for _container in range(4):
                run_pass(work(FakeSource(list('ab')), FakeStore([]), Share([1], 3),
                              self.client, board=board))
            self.assertLess(time.monotonic() - started, 2 * pages.WAIT)
            eventlet.sleep(2.0)
            started = time.monotonic()
            run_pass(work(FakeSource(list('ab')), FakeStore([]), Share([1], 3), self.client,
                          board=board))
            self.assertGreaterEqual(time.monotonic() - started, pages.WAIT)

    @mock.patch.object(pages, 'WAIT', 0.3)
    def test_after_a_wait_a_page_already_there_is_still_used(self):
        # the lister started late: page '' never came in time, page 'c' is there
        self.client.leave('c', SourcePage([entry('d'), entry('y')], True, False,
                                          LISTED_AT + 5))
        run_pass(work(self.source, FakeStore([]), Share([1], 3), self.client))
        self.assertEqual(self.source.calls, [''])

    @mock.patch.object(pages, 'WAIT', 0.5)
    def test_a_read_ahead_waits_for_the_lister_from_when_its_page_is_needed(self):
        # page one's copies last longer than WAIT; page two's page comes just before they end
        class SlowCopier(FakeCopier):
            def copy(inner, *args, **kwargs):
                eventlet.sleep(1.0)
                if self.client.page('c') is None:
                    self.client.leave('c', SourcePage([entry('d')], True, False,
                                                      LISTED_AT + 2))
                return FakeCopier.copy(inner, *args, **kwargs)
        self.client.leave('', SourcePage([entry(n) for n in 'abc'], False, False,
                                         LISTED_AT + 1))
        run_pass(work(self.source, FakeStore([]), Share([1], 3), self.client,
                      copier=SlowCopier()))
        self.assertEqual(self.source.calls, [])

    def test_the_gone_rule_takes_the_pages_listed_at(self):
        # this node began its pass before the lister listed, and reads the page an hour
        # later: a local object written in that hour is not judged gone by it; an older one is
        share = Share([1], 3, taken=(2,))
        gone, late = [next(n for n in ('%s-%d' % (prefix, i) for i in range(100))
                           if share.owns(n)) for prefix in ('gone', 'late')]
        store = FakeStore([gone, late], {gone: '2025-12-31T23:59:00.000000',
                                         late: '2026-01-01T00:30:00.000000'})
        self.client.leave('', SourcePage([entry('a')], True, False, LISTED_AT))
        times = iter([LISTED_AT - 1])
        run_pass(work(self.source, store, share, self.client,
                      clock=lambda: next(times, LISTED_AT + 3600)))
        self.assertEqual(self.source.calls, [])
        self.assertEqual(store.deleted, [gone])


if __name__ == '__main__':
    unittest.main()

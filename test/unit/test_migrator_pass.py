"""One page of a container migration: what is deleted, and what never is."""
import logging
import unittest

import eventlet

from s3_sync.config import validate_config
from s3_sync.migrator.container_pass import ContainerMigration
from s3_sync.migrator.copy import COPIED, Outcome
from s3_sync.migrator.local_store import DELETED
from s3_sync.migrator.placement import Share
from s3_sync.migrator.runner import Migrator


def entry(name, last_modified='2026-01-01T00:00:10.000000'):
    return {'name': name, 'last_modified': last_modified, 'hash': 'h'}


class FakeSource:
    """A source whose pages may come back short before the end (hidden keys)."""

    def __init__(self, names, page_cut=None):
        self.names = sorted(names)
        self.page_cut = page_cut
        self.calls = []     # the marker of every listing asked for

    def list_objects(self, marker='', limit=1000, prefix=''):
        self.calls.append(marker)
        found = [entry(n) for n in self.names if n > marker and n.startswith(prefix)]
        cut = min(limit, self.page_cut or limit)
        return found[:cut]


class FakeStore:
    def __init__(self, names, last_modified=None):
        self.last_modified = last_modified or {}
        self.names = sorted(names)
        self.deleted = []
        self.posts = []
        self.listings = []      # (marker, end_marker) of each local listing asked for

    def post_container(self, account, container, headers):
        self.posts.append(headers)

    def listing(self, account, container, marker='', prefix='', end_marker=''):
        self.listings.append((marker, end_marker))
        return iter([entry(n, *[self.last_modified[n]] if n in self.last_modified else [])
                     for n in self.names if n > marker and (not end_marker or n < end_marker)])

    def delete_marked(self, account, container, name):
        self.deleted.append(name)
        return DELETED


class FakeCopier:
    def __init__(self, source=None):
        self.copied = []
        self.source = source
        self.listed_while_copying = set()

    def copy(self, account, container, bucket, source_entry, offset=0):
        eventlet.sleep(0.01)     # a copy takes time: a read-ahead runs meanwhile
        self.copied.append(source_entry['name'])
        if self.source is not None:
            self.listed_while_copying.update(self.source.calls)
        return Outcome(COPIED, 1)


def migration():
    conf = validate_config({'migrations': [{
        'account': 'AUTH_a', 'aws_bucket': 'b', 'aws_identity': 'i', 'aws_secret': 's'}]},
        for_daemon=False)
    return conf.migrations[0]


class TestPage(unittest.TestCase):
    def page(self, source, store, marker=''):
        work = ContainerMigration(migration(), 'b', source, store, FakeCopier(), Share([0], 1),
                                  items_chunk=3, workers=2, logger=logging.getLogger('t'))
        return work.page(marker)

    def test_short_page_before_the_end_judges_nothing_after_it(self):
        store = FakeStore(['a', 'b', 'z-only-here', 'zz'])
        result = self.page(FakeSource(['a', 'b', 'c', 'zz'], page_cut=2), store)
        self.assertEqual(store.deleted, [])
        self.assertFalse(result.end)
        self.assertEqual(result.marker, 'b')

    def test_a_page_before_the_end_reads_the_local_listing_only_up_to_its_last_name(self):
        store = FakeStore(['a', 'b', 'b/x', 'c', 'd'])
        self.page(FakeSource(['a', 'b', 'c', 'd']), store)
        self.assertEqual(store.listings[0], ('', 'c\x01'))   # a page of 3: a, b, c
        # every name up to the page's last sorts before it, every later one after it
        self.assertTrue(all(n < 'c\x01' for n in ['a', 'b', 'b/x', 'c']))
        self.assertTrue(all(n > 'c\x01' for n in ['c/', 'ca', 'd']))

    def test_at_the_end_the_local_listing_is_read_to_its_end(self):
        store = FakeStore(['a', 'zz-local-only'])
        self.page(FakeSource(['a']), store)
        self.assertEqual(store.listings, [('', '')])

    def test_at_the_end_marked_leftovers_are_deleted(self):
        store = FakeStore(['a', 'gone'])
        result = self.page(FakeSource(['a']), store)
        self.assertEqual(store.deleted, ['gone'])
        self.assertTrue(result.end)
        self.assertEqual(result.marker, '')

    def test_a_source_listing_nothing_deletes_nothing(self):
        store = FakeStore(['a', 'b'])
        with self.assertLogs('t', 'WARNING') as logs:
            result = self.page(FakeSource([]), store)
        self.assertEqual(store.deleted, [])
        self.assertTrue(result.end)
        self.assertIn('the source lists no object', logs.output[0])


class TestReadAhead(unittest.TestCase):
    def work(self, source, store, copier, clock=None):
        kwargs = {'clock': clock} if clock else {}
        return ContainerMigration(migration(), 'b', source, store, copier, Share([0], 1),
                                  items_chunk=3, workers=2, logger=logging.getLogger('t'),
                                  **kwargs)

    def test_the_next_page_is_listed_while_this_page_copies(self):
        source = FakeSource(['a', 'b', 'c', 'd', 'e', 'f'])
        copier = FakeCopier(source)
        work = self.work(source, FakeStore([]), copier)
        result = work.page('')
        self.assertEqual(result.marker, 'c')
        self.assertEqual(copier.copied, ['a', 'b', 'c'])
        self.assertIn('c', copier.listed_while_copying)

    def test_each_page_is_listed_once_and_the_marker_moves_page_by_page(self):
        source = FakeSource(['a', 'b', 'c', 'd', 'e', 'f', 'g'])
        copier = FakeCopier(source)
        work = self.work(source, FakeStore([]), copier)
        markers, marker = [], ''
        while True:
            result = work.page(marker)
            markers.append(result.marker)
            if result.end:
                break
            marker = result.marker
        work.close()
        self.assertEqual(markers, ['c', 'f', ''])
        self.assertEqual(sorted(copier.copied), list('abcdefg'))
        # one listing per page, plus the check that a short page ends the listing
        self.assertEqual(source.calls, ['', 'c', 'f', 'g'])

    def test_a_read_ahead_for_another_marker_is_not_used(self):
        source = FakeSource(['a', 'b', 'c', 'd', 'e', 'f'])
        work = self.work(source, FakeStore([]), FakeCopier())
        work.page('')
        result = work.page('a')        # the caller went back (a page failed, say)
        self.assertEqual(result.marker, 'd')
        self.assertEqual(source.calls[:3], ['', 'c', 'a'])
        work.close()

    def test_a_failed_read_ahead_fails_the_page_that_needs_it(self):
        source = FakeSource(['a', 'b', 'c', 'd', 'e', 'f'])
        real = source.list_objects

        def list_objects(marker='', **kwargs):
            if marker == 'c':
                raise IOError('source unreachable')
            return real(marker=marker, **kwargs)
        source.list_objects = list_objects
        work = self.work(source, FakeStore([]), FakeCopier())
        self.assertEqual(work.page('').marker, 'c')
        with self.assertRaises(IOError):
            work.page('c')
        # the caller tries the same marker again later: listed afresh
        source.list_objects = real
        self.assertEqual(work.page('c').marker, 'f')
        work.close()

    def test_a_local_object_newer_than_the_source_listing_is_not_judged_gone(self):
        # 'late' was written here after the source listing was read (another node copied
        # a name this listing could not show yet): only the next pass may judge it
        listed_at = 1767225600.0       # 2026-01-01T00:00:00
        store = FakeStore(['gone', 'late'], {
            'gone': '2025-12-31T23:59:00.000000', 'late': '2026-01-01T00:00:05.000000'})
        work = self.work(FakeSource(['a']), store, FakeCopier(), clock=lambda: listed_at)
        result = work.page('')
        self.assertTrue(result.end)
        self.assertEqual(store.deleted, ['gone'])


class SlowFirstCopier(FakeCopier):
    """Page one's first copy ('a') lasts until a copy of page two ('d') has begun."""

    def __init__(self):
        super().__init__()
        self.page_two_began = eventlet.event.Event()

    def copy(self, account, container, bucket, source_entry, offset=0):
        name = source_entry['name']
        if name == 'd':
            self.page_two_began.send()
        if name == 'a':
            self.page_two_began.wait()
        return super().copy(account, container, bucket, source_entry, offset)


class FakeStatus:
    def __init__(self, copier):
        self.copier = copier
        self.saved = []     # (marker, names copied when it was saved)

    def record(self, entry, marker, counts, reset, source_count=None, started=None):
        self.saved.append((marker, sorted(self.copier.copied)))


class TestPagesOverlap(unittest.TestCase):
    """The pages of a pass share the workers: no worker waits for a page's slowest copy."""

    def work(self, copier):
        return ContainerMigration(migration(), 'b', FakeSource(list('abcdef')), FakeStore([]),
                                  copier, Share([0], 1), items_chunk=3, workers=2,
                                  logger=logging.getLogger('t'))

    def test_the_next_page_copies_while_the_slowest_copy_of_this_one_runs(self):
        copier = SlowFirstCopier()
        work = self.work(copier)
        with eventlet.Timeout(5):
            first = work.start_page('')
            second = work.start_page(first.marker)
            self.assertEqual(first.wait().marker, 'c')
            self.assertEqual(second.wait().marker, 'f')
        work.close()
        self.assertEqual(sorted(copier.copied), list('abcdef'))
        self.assertLess(copier.copied.index('d'), copier.copied.index('a'))

    def test_a_marker_is_saved_only_once_its_page_and_those_before_are_done(self):
        copier = SlowFirstCopier()
        work = self.work(copier)
        migrator = Migrator(None, {}, None, None, FakeStatus(copier), logging.getLogger('t'))
        with eventlet.Timeout(5):
            migrator._pages(work, {}, '')
        work.close()
        saved = migrator.status.saved
        self.assertEqual([marker for marker, _copied in saved], ['c', 'f', ''])
        # page one ('a'-'c') was saved with all of its copies done, though 'd' ran before 'a'
        self.assertTrue(set('abc') <= set(saved[0][1]))
        self.assertEqual(saved[-1][1], list('abcdef'))

    def test_a_stop_still_waits_for_and_saves_the_running_page(self):
        copier = SlowFirstCopier()
        copier.page_two_began.send()        # nothing waits here
        work = self.work(copier)
        migrator = Migrator(None, {}, None, None, FakeStatus(copier), logging.getLogger('t'))
        real = work.start_page

        def start_page(marker):
            migrator.stop()                 # a stop arrives while the first page runs
            return real(marker)
        work.start_page = start_page
        with eventlet.Timeout(5):
            migrator._pages(work, {}, '')
        work.close()
        self.assertEqual(migrator.status.saved, [('c', list('abc'))])


if __name__ == '__main__':
    unittest.main()

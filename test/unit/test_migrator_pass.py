"""One page of a container migration: what is deleted, and what never is."""
import logging
import unittest

import eventlet

from s3_sync.config import validate_config
from s3_sync.migrator.container_pass import ContainerMigration
from s3_sync.migrator.copy import COPIED, Outcome
from s3_sync.migrator.local_store import DELETED
from s3_sync.migrator.placement import Share


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

    def post_container(self, account, container, headers):
        self.posts.append(headers)

    def listing(self, account, container, marker='', prefix=''):
        return iter([entry(n, *[self.last_modified[n]] if n in self.last_modified else [])
                     for n in self.names if n > marker])

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


if __name__ == '__main__':
    unittest.main()

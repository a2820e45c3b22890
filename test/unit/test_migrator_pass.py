"""One page of a container migration: what is deleted, and what never is."""
import logging
import unittest

from s3_sync.config import validate_config
from s3_sync.migrator.container_pass import ContainerMigration
from s3_sync.migrator.local_store import DELETED
from s3_sync.migrator.placement import Share


def entry(name):
    return {'name': name, 'last_modified': '2026-01-01T00:00:10.000000', 'hash': 'h'}


class FakeSource:
    """A source whose pages may come back short before the end (hidden keys)."""

    def __init__(self, names, page_cut=None):
        self.names = sorted(names)
        self.page_cut = page_cut

    def list_objects(self, marker='', limit=1000, prefix=''):
        found = [entry(n) for n in self.names if n > marker and n.startswith(prefix)]
        cut = min(limit, self.page_cut or limit)
        return found[:cut]


class FakeStore:
    def __init__(self, names):
        self.names = sorted(names)
        self.deleted = []
        self.posts = []

    def post_container(self, account, container, headers):
        self.posts.append(headers)

    def listing(self, account, container, marker='', prefix=''):
        return iter([entry(n) for n in self.names if n > marker])

    def delete_marked(self, account, container, name):
        self.deleted.append(name)
        return DELETED


class FakeCopier:
    def __init__(self):
        self.copied = []


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


if __name__ == '__main__':
    unittest.main()

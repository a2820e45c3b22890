"""The migrator's merge-join of a source page with the local listing, and its timestamps."""
import unittest

from swift.common.utils import Timestamp

from s3_sync.migrator.headers import MIGRATOR_TAG, local_headers, source_timestamp
from s3_sync.migrator.merge import COPY, GONE, LARGE, merge


def entry(name, when='2026-01-01T00:00:10.000000', hash_='h'):
    return {'name': name, 'last_modified': when, 'hash': hash_}


def plan(page, local, marker='', end=False):
    return [(a.kind, a.name) for a in merge(page, local, marker, end)]


class TestMerge(unittest.TestCase):
    def test_missing_and_older_local_objects_are_copied(self):
        page = [entry('a'), entry('b', '2026-01-01T00:00:20.000000'), entry('c')]
        local = [entry('b'), entry('c')]
        self.assertEqual(plan(page, local), [(COPY, 'a'), (COPY, 'b')])

    def test_newer_local_object_wins(self):
        self.assertEqual(plan([entry('a')], [entry('a', '2026-01-01T00:00:11.000000')]), [])

    def test_same_time_different_hash_is_checked(self):
        self.assertEqual(plan([entry('a', hash_='x-2')], [entry('a', hash_='y')]),
                         [(LARGE, 'a')])

    def test_slo_listing_hash_parameters_are_ignored(self):
        self.assertEqual(plan([entry('a', hash_='m')], [entry('a', hash_='m; slo_etag=s')]),
                         [])

    def test_local_only_names_inside_the_page_are_candidates(self):
        self.assertEqual(plan([entry('a'), entry('c')], [entry('b'), entry('d')]),
                         [(COPY, 'a'), (GONE, 'b'), (COPY, 'c')])

    def test_nothing_beyond_the_page_is_judged_unless_the_listing_ended(self):
        page, local = [entry('a')], [entry('a'), entry('z')]
        self.assertEqual(plan(page, local), [])
        self.assertEqual(plan(page, local, end=True), [(GONE, 'z')])

    def test_an_empty_page_at_the_end_judges_names_after_the_marker(self):
        self.assertEqual(plan([], [entry('m'), entry('n')], marker='k', end=True),
                         [(GONE, 'm'), (GONE, 'n')])
        self.assertEqual(plan([], [entry('m')], marker='k', end=False), [])


class TestTimestamps(unittest.TestCase):
    def test_listing_milliseconds_win_over_a_whole_second_header(self):
        ts = source_timestamp(1700000000.123, {'last-modified': 'Tue, 14 Nov 2023 22:13:20 GMT'})
        self.assertEqual(ts, Timestamp(1700000000.123))

    def test_the_later_time_wins_otherwise(self):
        ts = source_timestamp(1700000000.0, {'last-modified': 'Tue, 14 Nov 2023 22:13:25 GMT'})
        self.assertEqual(ts, Timestamp(1700000005))

    def test_swift_x_timestamp_is_exact(self):
        ts = source_timestamp(1700000000.12345, {'x-timestamp': '1700000000.12346'})
        self.assertEqual(ts.internal, '1700000000.12346')

    def test_copy_carries_metadata_time_and_mark(self):
        ts = Timestamp(1700000000.5)
        out = local_headers({'x-object-meta-a': 'ä', 'content-type': 'text/x',
                             'x-amz-request-id': 'r', 'etag': 'e', 'x-delete-at': '9'}, ts)
        self.assertEqual(out, {'x-object-meta-a': 'ä', 'content-type': 'text/x',
                               'x-delete-at': '9', 'X-Timestamp': ts.internal,
                               MIGRATOR_TAG: ts.internal})


if __name__ == '__main__':
    unittest.main()

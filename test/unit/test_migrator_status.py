"""The migrator's status file: the original's format and matching, atomic, corrupt set aside."""
import json
import os
import shutil
import tempfile
import unittest

from s3_sync.migrator.status import StatusFile, equal_migration, progress

ENTRY = {'account': 'AUTH_a', 'aws_bucket': 'b', 'aws_identity': 'i', 'custom_prefix': ''}


class TestStatusFile(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        self.path = os.path.join(self.dir, 'sub', 'migrator.json')
        self.now = 100.0

    def status(self):
        return StatusFile(self.path, clock=lambda: self.now)

    def test_pages_accumulate_and_a_new_scan_rolls_over(self):
        status = self.status()
        status.record(ENTRY, 'm', {'moved_count': 2, 'scanned_count': 3, 'bytes_count': 10},
                      reset=True)
        status.record(ENTRY, '', {'moved_count': 1, 'scanned_count': 1}, reset=False)
        self.now = 200.0
        status.record(ENTRY, 'x', {'scanned_count': 4}, reset=True)
        with open(self.path) as f:
            saved, = json.load(f)
        self.assertEqual(saved['status']['marker'], 'x')
        self.assertEqual((saved['status']['last_moved_count'],
                          saved['status']['last_scanned_count'],
                          saved['status']['last_finished']), (3, 4, 100.0))
        self.assertEqual((saved['status']['moved_count'], saved['status']['scanned_count']),
                         (0, 4))
        self.assertEqual(self.status().get(ENTRY)['marker'], 'x')

    def test_without_a_container_count_the_last_full_scan_counts_the_source(self):
        status = self.status()
        status.record(ENTRY, 'm', {'scanned_count': 3}, reset=True, started=90.0)
        self.assertNotIn('source_count', status.get(ENTRY))      # no scan has ended yet
        status.record(ENTRY, '', {'scanned_count': 2}, reset=False)
        got = status.get(ENTRY)     # the scan ended: it counted the source, nothing remains
        self.assertEqual((got['source_count'], progress(got, 100.0)['remaining_objects']),
                         (5, 0))
        self.now = 200.0
        status.record(ENTRY, 'm', {'scanned_count': 3, 'errors_count': 1}, reset=True,
                      started=190.0)
        got = status.get(ENTRY)
        self.assertEqual((got['source_count'], got['source_count_from']), (5, 'last scan'))
        self.assertEqual(progress(got, 250.0),
                         {'remaining_objects': 2, 'pass_errors': 1, 'pass_age': 60.0})

    def test_a_container_count_wins_and_remaining_never_goes_below_zero(self):
        status = self.status()
        status.record(ENTRY, 'm', {'scanned_count': 7}, reset=True, source_count=4)
        got = status.get(ENTRY)
        self.assertEqual((got['source_count'], got['source_count_from']), (4, 'container'))
        self.assertEqual(progress(got, 100.0)['remaining_objects'], 0)

    def test_unknown_count_leaves_remaining_out(self):
        self.assertEqual(progress({'errors_count': 2}, 5.0),
                         {'pass_errors': 2, 'pass_age': 0.0})

    def test_corrupt_file_is_moved_aside(self):
        os.makedirs(os.path.dirname(self.path))
        with open(self.path, 'w') as f:
            f.write('{"truncated')
        self.assertEqual(self.status().entries, [])
        self.assertTrue(os.path.exists(self.path + '.corrupted.0'))

    def test_matching_ignores_secret_and_lets_container_default(self):
        self.assertTrue(equal_migration(dict(ENTRY, aws_secret='s', status={}),
                                        dict(ENTRY, container='b')))
        self.assertFalse(equal_migration(ENTRY, dict(ENTRY, aws_endpoint='http://x')))
        self.assertTrue(equal_migration(dict(ENTRY, aws_bucket='/*'), ENTRY))

    def test_prune_drops_entries_not_handled(self):
        status = self.status()
        status.record(ENTRY, '', {}, reset=True)
        status.record(dict(ENTRY, aws_bucket='other'), '', {}, reset=True)
        status.prune([ENTRY])
        self.assertEqual([e['aws_bucket'] for e in self.status().entries], ['b'])


if __name__ == '__main__':
    unittest.main()

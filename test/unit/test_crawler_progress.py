import logging
import json
import os
import shutil
import tempfile
import time
import unittest

from s3_sync.crawler.progress import StatusFile, atomic_write_json, prune_status_files

from test.unit.test_crawler_helpers import NullLogger, mapping
from test.unit.fakes import make_mapping

POLICY = {'copy_after': 0, 'retain_local': True, 'propagate_delete': True}


class TestStatusFile(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='crawler-progress-')
        self.logger = NullLogger()
        self.status = StatusFile(self.dir, 'AUTH_test', 'cont', self.logger)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write(self, data):
        os.makedirs(os.path.dirname(self.status.path), exist_ok=True)
        with open(self.status.path, 'w') as f:
            f.write(data if isinstance(data, str) else json.dumps(data))

    def read(self):
        with open(self.status.path) as f:
            return json.load(f)

    def entry(self, **kw):
        e = {'last_row': 10, 'last_verified_row': 7, 'aws_bucket': 'bucket', 'policy': POLICY,
             'pending': {'5': {'name': 'o', 'due': 1.0, 'attempts': 1, 'error': 'x',
                               'verify': False}}}
        e.update(kw)
        return e

    def test_path_is_status_dir_account_container(self):
        self.assertEqual(self.status.path, os.path.join(self.dir, 'AUTH_test', 'cont'))

    def test_missing_file_starts_from_zero(self):
        p = self.status.load('db1', mapping(), 20)
        self.assertEqual((p.last_row, p.last_verified_row, p.pending), (0, 0, {}))

    def test_saved_progress_round_trips_with_original_keys(self):
        p = self.status.load('db1', mapping(), 20)
        p.last_row, p.last_verified_row = 12, 4
        p.record({'ROWID': 3, 'name': 'o'}, 99.0, 'boom')
        p.save()
        entry = self.read()['db1']
        self.assertEqual(entry['last_row'], 12)
        self.assertEqual(entry['last_verified_row'], 4)
        self.assertEqual(entry['aws_bucket'], 'bucket')
        self.assertEqual(entry['policy'], POLICY)
        self.assertEqual(entry['pending'], {'3': {'name': 'o', 'due': 99.0, 'attempts': 1,
                                                  'error': 'boom', 'verify': False}})
        again = self.status.load('db1', mapping(), 20)
        self.assertEqual((again.last_row, again.last_verified_row), (12, 4))
        self.assertEqual(again.pending, entry['pending'])

    def test_bucket_change_resets_rows_pending_and_metadata_hash(self):
        self.write({'db1': self.entry(metadata_hash='abc')})
        p = self.status.load('db1', mapping(bucket='other'), 20)
        self.assertEqual((p.last_row, p.last_verified_row, p.pending), (0, 0, {}))
        self.assertNotIn('metadata_hash', self.read()['db1'])
        self.assertEqual(self.read()['db1']['aws_bucket'], 'other')

    def test_policy_change_resets_to_zero(self):
        self.write({'db1': self.entry()})
        p = self.status.load('db1', mapping(retain_local=False), 20)
        self.assertEqual((p.last_row, p.last_verified_row, p.pending), (0, 0, {}))

    def test_unchanged_bucket_and_policy_keep_progress(self):
        self.write({'db1': self.entry()})
        p = self.status.load('db1', mapping(), 20)
        self.assertEqual((p.last_row, p.last_verified_row, len(p.pending)), (10, 7, 1))

    def test_missing_last_verified_row_falls_back_to_last_row(self):
        e = self.entry()
        del e['last_verified_row']
        self.write({'db1': e})
        self.assertEqual(self.status.load('db1', mapping(), 20).last_verified_row, 10)

    def test_legacy_top_level_last_row_is_honoured_then_rewritten(self):
        self.write({'last_row': 42})
        p = self.status.load('db1', mapping(), 20)
        self.assertEqual((p.last_row, p.last_verified_row), (42, 42))
        p.save()
        self.assertEqual(list(self.read()), ['db1'])

    def test_other_db_entries_are_kept(self):
        self.write({'shard-db': self.entry(last_row=3)})
        p = self.status.load('db1', mapping(), 20)
        p.last_row = 5
        p.save()
        data = self.read()
        self.assertEqual(data['shard-db']['last_row'], 3)
        self.assertEqual(data['db1']['last_row'], 5)

    def test_saving_rows_keeps_metadata_hash(self):
        self.write({'db1': self.entry(metadata_hash='abc')})
        p = self.status.load('db1', mapping(), 20)
        p.last_row = 11
        p.save()
        self.assertEqual(self.read()['db1']['metadata_hash'], 'abc')

    def test_corrupt_file_is_moved_aside_with_a_warning(self):
        self.write('{"db1": {"last_row": 1')
        p = self.status.load('db1', mapping(), 20)
        self.assertEqual(p.last_row, 0)
        with open(self.status.path + '.corrupted.1') as f:
            self.assertEqual(f.read(), '{"db1": {"last_row": 1')
        self.assertEqual(len(self.logger.at('WARNING')), 1)
        self.write('[]')
        self.status.load('db1', mapping(), 20)
        self.assertTrue(os.path.exists(self.status.path + '.corrupted.2'))

    def test_malformed_entry_starts_from_zero(self):
        self.write({'db1': {'last_row': 'ten'}})
        self.assertEqual(self.status.load('db1', mapping(), 20).last_row, 0)

    def test_writes_leave_no_temp_files(self):
        p = self.status.load('db1', mapping(), 20)
        for i in range(5):
            p.last_row = i
            p.save()
        self.assertEqual(os.listdir(os.path.dirname(self.status.path)), ['cont'])

    def test_failed_write_keeps_old_file_and_leaves_no_temp(self):
        path = os.path.join(self.dir, 'x', 'file')
        atomic_write_json(path, {'a': 1})
        with self.assertRaises(TypeError):
            atomic_write_json(path, {'a': object()})
        with open(path) as f:
            self.assertEqual(json.load(f), {'a': 1})
        self.assertEqual(os.listdir(os.path.dirname(path)), ['file'])

    def test_unicode_names_on_disk(self):
        status = StatusFile(self.dir, 'AUTH_t\u00e9st', 'c\u00f6nt', self.logger)
        p = status.load('db1', mapping(), 20)
        p.save()
        self.assertTrue(os.path.exists(os.path.join(self.dir, 'AUTH_t\u00e9st', 'c\u00f6nt')))


class TestPendingList(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='crawler-pending-')
        self.progress = StatusFile(self.dir, 'a', 'c', NullLogger()).load('db', mapping(), 2)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_pending_list_is_capped_but_known_rows_still_update(self):
        p = self.progress
        self.assertTrue(p.record({'ROWID': 1, 'name': 'a'}, 5.0, None))
        self.assertTrue(p.record({'ROWID': 2, 'name': 'b'}, 5.0, None))
        self.assertFalse(p.record({'ROWID': 3, 'name': 'c'}, 5.0, None))
        self.assertTrue(p.record({'ROWID': 1, 'name': 'a'}, 9.0, 'again'))
        self.assertEqual(p.pending['1']['attempts'], 2)
        self.assertEqual(p.pending['1']['error'], 'again')

    def test_due_rows_in_rowid_order(self):
        p = self.progress
        p.record({'ROWID': 10, 'name': 'a'}, 5.0, None)
        p.record({'ROWID': 9, 'name': 'b'}, 50.0, None)
        self.assertEqual([r for r, _e in p.due_rows(10.0)], [10])
        self.assertEqual([r for r, _e in p.due_rows(60.0)], [9, 10])
        self.assertEqual(p.next_due(), 5.0)


class TestPruneStatusFiles(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        for account, container in [('AUTH_a', 'kept'), ('AUTH_a', 'gone'), ('AUTH_b', 'x'),
                                   ('AUTH_all', 'any'), ('AUTH_ü', 'ç')]:
            os.makedirs(os.path.join(self.dir, account), exist_ok=True)
            with open(os.path.join(self.dir, account, container), 'w') as f:
                f.write('{}')

    def remaining(self):
        return sorted(os.path.join(a, c) for a in os.listdir(self.dir)
                      for c in os.listdir(os.path.join(self.dir, a)))

    def test_unmapped_containers_and_accounts_lose_their_progress_files(self):
        mappings = [make_mapping(account='AUTH_a', container='kept'),
                    make_mapping(account='AUTH_all', container='/*'),
                    make_mapping(account='AUTH_ü', container='ç')]
        prune_status_files(self.dir, mappings, logging.getLogger('test'))
        self.assertEqual(self.remaining(), ['AUTH_a/kept', 'AUTH_all/any', 'AUTH_ü/ç'])
        self.assertFalse(os.path.exists(os.path.join(self.dir, 'AUTH_b')))

    def test_a_write_in_flight_of_another_process_is_left_alone(self):
        # processes > 1: one process prunes while another writes its status file
        account_dir = os.path.join(self.dir, 'AUTH_a')
        fresh = os.path.join(account_dir, '.kept.abc123.tmp')
        stale = os.path.join(account_dir, '.gone.def456.tmp')
        for path in (fresh, stale):
            with open(path, 'w') as f:
                f.write('{')
        old = time.time() - 2 * 3600
        os.utime(stale, (old, old))
        prune_status_files(self.dir, [make_mapping(account='AUTH_a', container='kept')],
                           logging.getLogger('test'))
        self.assertTrue(os.path.exists(fresh))
        self.assertFalse(os.path.exists(stale))
        self.assertTrue(os.path.exists(os.path.join(account_dir, 'kept')))

    def test_a_mapped_account_keeps_its_directory_even_when_empty(self):
        # another process may be about to write into it
        os.unlink(os.path.join(self.dir, 'AUTH_a', 'kept'))
        os.unlink(os.path.join(self.dir, 'AUTH_a', 'gone'))
        prune_status_files(self.dir, [make_mapping(account='AUTH_a', container='kept')],
                           logging.getLogger('test'))
        self.assertTrue(os.path.isdir(os.path.join(self.dir, 'AUTH_a')))

    def test_missing_status_dir_is_fine(self):
        prune_status_files(os.path.join(self.dir, 'nope'), [], logging.getLogger('test'))

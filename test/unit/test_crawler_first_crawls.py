"""The first-crawls file: what a kill before a DB's first checkpoint leaves behind, read by the
next start, rewritten smaller once the entries are saved, never written by a dry run."""
import os
import shutil
import tempfile
import unittest

from s3_sync.crawler.first_crawls import FirstCrawls
from s3_sync.dryrun import ReadOnlyFirstCrawls

from test.unit.test_crawler_helpers import NullLogger


class TestFirstCrawls(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='first-crawls-')
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.logger = NullLogger()

    def journal(self, process=0, cls=FirstCrawls):
        found = cls(self.dir, process, self.logger)
        self.addCleanup(found.close)
        return found

    def test_a_db_noted_before_a_kill_is_noted_for_the_next_start(self):
        first = self.journal()
        first.note('db-a')
        first.note('db-a')          # once per DB
        first.note('db-b')
        first.saved('db-b')
        # a kill: no compaction, the file is read as the page cache kept it
        again = self.journal()
        self.assertTrue(again.noted('db-a'))
        self.assertTrue(again.noted('db-b'))    # not known to be saved by the killed run
        self.assertFalse(again.noted('db-c'))
        self.assertFalse(self.journal(process=1).noted('db-a'))    # each process its own

    def test_compaction_keeps_only_the_dbs_still_without_an_entry(self):
        journal = self.journal()
        for db_id in ('db-a', 'db-b', 'db-c'):
            journal.note(db_id)
        journal.saved('db-a')
        journal.saved('db-c')
        journal.compact()
        with open(journal.path) as f:
            self.assertEqual(f.read(), 'db-b\n')
        journal.note('db-d')        # appends after a rewrite
        self.assertEqual(self.journal().unsaved, {'db-b', 'db-d'})
        journal.saved('db-b')
        journal.saved('db-d')
        journal.compact()
        self.assertEqual(os.path.getsize(journal.path), 0)

    def test_the_file_lies_beside_the_account_dirs_as_a_dot_file(self):
        self.journal(process=2).note('x')
        self.assertEqual(os.listdir(self.dir), ['.first-crawls-2'])

    def test_an_unreadable_file_is_one_warning_and_an_empty_journal(self):
        os.mkdir(os.path.join(self.dir, '.first-crawls-0'))     # a directory: cannot be read
        journal = self.journal()
        self.assertEqual(journal.unsaved, set())
        [line] = self.logger.at('WARNING')
        self.assertIn('.first-crawls-0', line)

    def test_a_dry_run_reads_the_file_and_writes_nothing(self):
        self.journal().note('db-a')
        dry = self.journal(cls=ReadOnlyFirstCrawls)
        self.assertTrue(dry.noted('db-a'))
        dry.note('db-b')
        dry.saved('db-a')
        dry.compact()
        with open(dry.path) as f:
            self.assertEqual(f.read(), 'db-a\n')

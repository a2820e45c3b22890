"""Which mappings the shunt serves, and how its config follows the file."""
import json
import os
import shutil
import tempfile
import unittest

import types

from s3_sync.shunt.profiles import Profiles, index_mappings
from test.unit.test_shunt_objects import archive_entry, archive_mapping


class RecordingLogger:
    def __init__(self):
        self.lines = []

    def _log(self, level):
        return lambda fmt, *args: self.lines.append((level, fmt % args))

    def __getattr__(self, level):
        return self._log(level)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class TestActiveMappings(unittest.TestCase):
    def test_archive_and_merged_namespace_mappings_are_active(self):
        self.assertTrue(archive_mapping(retain_local=False).shunted)
        self.assertTrue(archive_mapping(retain_local=True, propagate_delete=True,
                                        merge_namespaces=True).shunted)
        self.assertFalse(archive_mapping(retain_local=True, propagate_delete=True,
                                         merge_namespaces=False).shunted)

    def test_index_keys_by_account_and_container(self):
        first = archive_mapping()
        config = types.SimpleNamespace(containers=[
            first, archive_mapping(aws_bucket='other'),
            archive_mapping(container='plain', retain_local=True, propagate_delete=True)])
        self.assertEqual(index_mappings(config), {('a', 'c'): first})


class TestProfiles(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        self.path = os.path.join(self.dir, 'sync.json')
        self.clock = Clock()
        self.logger = RecordingLogger()

    def write(self, containers, raw=None):
        with open(self.path, 'w') as f:
            f.write(raw if raw is not None else json.dumps({'containers': [
                m.wire() if hasattr(m, 'wire') else m for m in containers]}))
        # each rewrite gets its own mtime, however fast the test runs
        self.mtime = getattr(self, 'mtime', 1000) + 10
        os.utime(self.path, (self.mtime, self.mtime))

    def profiles(self):
        return Profiles(self.path, self.logger, check_interval=5, clock=self.clock,
                        provider_factory=lambda m, container, logger, retry_policy: (m.aws_bucket,
                                                                        container))

    def test_lookup_falls_back_to_the_per_account_mapping(self):
        exact, per_account = archive_mapping(), archive_mapping(container='/*')
        self.write([exact, per_account])
        profiles = self.profiles()
        self.assertEqual(profiles.lookup('a', 'c').container, 'c')
        self.assertEqual(profiles.lookup('a', 'x').container, '/*')
        self.assertIsNone(profiles.lookup('b', 'c'))

    def test_missing_file_means_no_mappings_and_one_log_line(self):
        profiles = self.profiles()
        self.assertEqual(profiles.mappings, {})
        errors = [line for level, line in self.logger.lines if level == 'error']
        self.assertEqual(len(errors), 1)
        self.assertIn(self.path, errors[0])
        self.assertNotIn('\n', errors[0])

    def test_changed_file_is_reloaded_after_the_interval(self):
        self.write([archive_mapping()])
        profiles = self.profiles()
        self.write([archive_mapping(container='d')])
        profiles.reload_if_changed()
        self.assertIn(('a', 'c'), profiles.mappings)       # not checked yet
        self.clock.now += 5
        profiles.reload_if_changed()
        self.assertEqual(list(profiles.mappings), [('a', 'd')])

    def test_invalid_file_keeps_the_last_good_config_and_says_why_once(self):
        self.write([archive_mapping()])
        profiles = self.profiles()
        self.write(None, raw='{"containers": [{"account": "a"')
        self.clock.now += 5
        profiles.reload_if_changed()
        self.clock.now += 5
        profiles.reload_if_changed()
        self.assertIn(('a', 'c'), profiles.mappings)
        errors = [line for level, line in self.logger.lines if level == 'error']
        self.assertEqual(len(errors), 1)
        self.assertIn('invalid JSON', errors[0])
        self.write([dict(archive_entry(), aws_secret=None)])
        self.clock.now += 5
        profiles.reload_if_changed()
        self.assertIn(('a', 'c'), profiles.mappings)
        self.assertEqual(len([1 for level, _ in self.logger.lines if level == 'error']), 2)

    def test_secrets_never_reach_the_log(self):
        self.write([archive_entry(aws_secret='TOPSECRET', propagate_delete=True)])
        self.profiles()
        self.assertTrue(self.logger.lines)
        for _level, line in self.logger.lines:
            self.assertNotIn('TOPSECRET', line)

    def test_providers_are_made_once_per_container_and_dropped_on_reload(self):
        self.write([archive_mapping(container='/*')])
        profiles = self.profiles()
        mapping = profiles.lookup('a', 'x')
        made = []
        profiles.provider_factory = \
            lambda m, container, logger, retry_policy: made.append(container) or object()
        first = profiles.provider(mapping, 'x')
        self.assertIs(profiles.provider(mapping, 'x'), first)
        profiles.provider(mapping, 'y')
        self.assertEqual(made, ['x', 'y'])
        self.write([archive_mapping(container='/*', aws_bucket='new')])
        self.clock.now += 5
        profiles.reload_if_changed()
        self.assertIsNot(profiles.provider(profiles.lookup('a', 'x'), 'x'), first)

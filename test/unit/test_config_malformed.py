"""Malformed configs, one table: each is refused by the daemon with exit status 2 and exactly one
stderr line naming the file and the key (never a traceback, which exits 1 and makes systemd
restart the daemon in a loop), and the shunt, handed the same file after a good one, keeps its
previous mappings and logs one error line.

Also the keys that load with a warning (typos): one warning line naming the closest known key,
which the daemon logs.
"""
import contextlib
import io
import json
import os
import unittest

from s3_sync.cli import sync
from s3_sync.config import load_config
from s3_sync.shunt.profiles import Profiles
from test.unit.daemon_helpers import (
    DaemonDirs, archive_entry, restore_logging, run_daemon)
from test.unit.test_shunt_profiles import Clock, RecordingLogger

GOOD_GLOBALS = {'devices': '/srv/node', 'status_dir': '/var/lib/swift-s3-sync',
                'items_chunk': 100}


def conf(**globals_):
    """A good config with the given globals changed (None removes a key)."""
    result = dict(GOOD_GLOBALS, containers=[archive_entry()])
    result.update(globals_)
    return {k: v for k, v in result.items() if v is not None}


def mapping(**keys):
    """A good config whose mapping has the given keys changed (None removes a key)."""
    entry = {k: v for k, v in archive_entry(**keys).items() if v is not None}
    return conf(containers=[entry])


def swift_mapping(**keys):
    return mapping(protocol='swift', aws_endpoint='http://127.0.0.1:9/auth/v1.0', **keys)


def nested(depth):
    return '[' * depth + ']' * depth


GOOD_JSON = json.dumps(conf())[1:-1]     # the good config's members, to splice raw text into

# (name, file content, the key the error must name or None for whole-file errors,
#  whether only the daemon refuses it (keys the shunt does not need)).
MALFORMED = [
    # -- the file itself
    ('empty_file', '', None),
    ('whitespace_only', '  \n\t\n', None),
    ('utf8_bom', '\ufeff' + json.dumps(conf()), None),
    ('latin1_bytes', b'{"devices": "/srv/n\xf6de"}', None),
    ('truncated_json', '{"containers": [', None),
    ('trailing_comma', '{%s,}' % GOOD_JSON, None),
    ('single_quotes', "{'devices': '/srv/node'}", None),
    ('top_level_list', [conf()], None),
    ('top_level_string', '"sync"', None),
    ('top_level_null', 'null', None),
    ('deeply_nested_100000', nested(100000), None),
    ('nested_900_under_a_key', '{%s, "extra": %s}' % (GOOD_JSON, nested(900)), 'extra'),
    ('nested_criteria_200', mapping(selection_criteria=json.loads(
        '{"NOT": ' * 200 + '{"x-object-meta-a": "b"}' + '}' * 200)),
     'containers[0].selection_criteria'),
    ('integer_of_5000_digits', '{"items_chunk": %s}' % ('9' * 5000), None),
    ('integer_of_400_digits_as_number', '{%s, "poll_interval": %s}' % (GOOD_JSON, '9' * 400),
     'poll_interval'),
    ('integer_of_400_digits_as_string', '{%s, "statsd_host": %s}' % (GOOD_JSON, '9' * 400),
     'statsd_host'),
    ('integer_of_400_digits_in_migration', conf(migrations=[
        {'account': 'AUTH_test', 'aws_bucket': 'b', 'aws_identity': 'i', 'aws_secret': 's',
         'older_than': 10 ** 400}]),
     'migrations[0].older_than'),
    ('duplicate_global_key', '{%s, "items_chunk": 5}' % GOOD_JSON, 'items_chunk'),
    ('duplicate_mapping_key', json.dumps(conf()).replace(
        '"retain_local": false', '"retain_local": false, "retain_local": true'),
     'containers[0].retain_local'),
    # -- non-finite numbers (Python's JSON reads these literals)
    ('nan_items_chunk', conf(items_chunk=float('nan')), 'items_chunk'),
    ('infinity_poll_interval', conf(poll_interval=float('inf')), 'poll_interval'),
    ('minus_infinity_copy_after', mapping(copy_after=float('-inf')),
     'containers[0].copy_after'),
    ('overflowing_float_timeout', '{%s, "containers": [%s]}' % (
        json.dumps(GOOD_GLOBALS)[1:-1],
        json.dumps(archive_entry())[:-1] + ', "remote_timeout": 1e400}'),
     'containers[0].remote_timeout'),
    # -- types
    ('containers_object', conf(containers={'account': 'AUTH_test'}), 'containers'),
    ('mapping_is_a_string', conf(containers=['AUTH_test/archive']), 'containers[0]'),
    ('mapping_is_null', conf(containers=[None]), 'containers[0]'),
    ('items_chunk_string', conf(items_chunk='100'), 'items_chunk'),
    ('items_chunk_float', conf(items_chunk=1.5), 'items_chunk'),
    ('workers_boolean', conf(workers=True), 'workers'),
    ('retain_local_string', mapping(retain_local='false'), 'containers[0].retain_local'),
    ('propagate_delete_integer', mapping(propagate_delete=0),
     'containers[0].propagate_delete'),
    ('secret_number', mapping(aws_secret=12345), 'containers[0].aws_secret'),
    ('bucket_null', json.dumps(mapping()).replace('"archive-bucket"', 'null'),
     'containers[0].aws_bucket'),
    ('syslog_string', conf(syslog='localhost'), 'syslog'),
    ('criteria_list', mapping(selection_criteria=[{'x-object-meta-a': 'b'}]),
     'containers[0].selection_criteria'),
    ('migrations_object', conf(migrations={'account': 'AUTH_test'}), 'migrations'),
    ('log_file_number', conf(log_file=5), 'log_file'),
    # -- bounds
    ('items_chunk_zero', conf(items_chunk=0), 'items_chunk'),
    ('items_chunk_1e30', conf(items_chunk=10 ** 30), 'items_chunk'),
    ('remote_timeout_1e300', mapping(remote_timeout=1e300), 'containers[0].remote_timeout'),
    ('remote_timeout_zero', mapping(remote_timeout=0), 'containers[0].remote_timeout'),
    ('max_conns_1e9', mapping(max_conns=10 ** 9), 'containers[0].max_conns'),
    ('workers_a_million', conf(workers=10 ** 6), 'workers'),
    ('enumerator_workers_zero', conf(enumerator_workers=0), 'enumerator_workers'),
    ('swift_bind_port_70000', conf(swift_bind_port=70000), 'swift_bind_port'),
    ('swift_bind_port_zero', conf(swift_bind_port=0), 'swift_bind_port'),
    ('statsd_port_zero', conf(statsd_port=0), 'statsd_port'),
    ('poll_interval_negative', conf(poll_interval=-1), 'poll_interval'),
    ('copy_after_negative', mapping(copy_after=-5), 'containers[0].copy_after'),
    ('verification_slack_huge', conf(verification_slack=10 ** 9), 'verification_slack'),
    ('restore_expire_days_negative', mapping(restore_expire_days=-1),
     'containers[0].restore_expire_days'),
    ('min_segment_size_a_terabyte', mapping(convert_dlo=True, min_segment_size=10 ** 12),
     'containers[0].min_segment_size'),
    ('expiration_offset_huge', mapping(propagate_expiration_offset=10 ** 12),
     'containers[0].propagate_expiration_offset'),
    ('max_pending_zero', conf(max_pending=0), 'max_pending'),
    # -- choices
    ('unknown_protocol', mapping(protocol='gcs'), 'containers[0].protocol'),
    ('unknown_auth_type', swift_mapping(auth_type='oauth'), 'containers[0].auth_type'),
    ('unknown_signature_version', mapping(signature_version='v2'),
     'containers[0].signature_version'),
    ('unknown_log_level', conf(log_level='verbose'), 'log_level'),
    ('syslog_proto_sctp', conf(syslog={'host': 'localhost', 'proto': 'sctp'}), 'syslog.proto'),
    ('syslog_port_70000', conf(syslog={'host': 'localhost', 'port': 70000}), 'syslog.port'),
    ('syslog_host_empty', conf(syslog={'host': ''}), 'syslog.host'),
    # -- names
    ('account_empty', mapping(account=''), 'containers[0].account'),
    ('account_with_slash', mapping(account='../../etc'), 'containers[0].account'),
    ('container_with_slash', mapping(container='a/b'), 'containers[0].container'),
    ('container_dot_dot', mapping(container='..'), 'containers[0].container'),
    ('bucket_empty', mapping(aws_bucket=''), 'containers[0].aws_bucket'),
    ('s3_bucket_with_space', mapping(aws_bucket='my bucket'), 'containers[0].aws_bucket'),
    ('swift_container_with_slash', swift_mapping(aws_bucket='a/b'), 'containers[0].aws_bucket'),
    ('identity_empty', mapping(aws_identity=''), 'containers[0].aws_identity'),
    ('nul_in_account', mapping(account='AUTH_\u0000test'), 'containers[0].account'),
    ('lone_surrogate_in_bucket', mapping(aws_bucket='bucket\ud800'),
     'containers[0].aws_bucket'),
    ('line_separator_in_protocol', mapping(protocol='s3\u2028swift'),
     'containers[0].protocol'),
    ('escape_sequence_in_log_level', conf(log_level='\x1b[2Jinfo'), 'log_level'),
    ('s3_region_with_space', mapping(aws_region='us east'), 'containers[0].aws_region'),
    ('swift_bind_ip_not_an_ip', conf(swift_bind_ip='not an ip'), 'swift_bind_ip'),
    ('statsd_host_with_space', conf(statsd_host='stats host'), 'statsd_host'),
    # -- patterns and selection criteria
    ('exclude_pattern_unbalanced', mapping(exclude_pattern='('), 'containers[0].exclude_pattern'),
    ('exclude_pattern_huge_repeat', mapping(exclude_pattern='a{99999999999}'),
     'containers[0].exclude_pattern'),
    ('exclude_pattern_2000_groups', mapping(exclude_pattern='(' * 2000 + ')' * 2000),
     'containers[0].exclude_pattern'),
    ('criteria_and_empty', mapping(selection_criteria={'AND': []}),
     'containers[0].selection_criteria.AND'),
    ('criteria_or_string', mapping(selection_criteria={'OR': 'x'}),
     'containers[0].selection_criteria.OR'),
    ('criteria_two_keys', mapping(selection_criteria={'a': 'b', 'c': 'd'}),
     'containers[0].selection_criteria'),
    ('criteria_not_empty', mapping(selection_criteria={'NOT': {}}),
     'containers[0].selection_criteria.NOT'),
    ('criteria_value_number', mapping(selection_criteria={'x-object-meta-a': 1}),
     'containers[0].selection_criteria.x-object-meta-a'),
    # -- URLs
    ('endpoint_not_a_url', mapping(aws_endpoint='not a url'), 'containers[0].aws_endpoint'),
    ('endpoint_ftp', mapping(aws_endpoint='ftp://s3.example.com'), 'containers[0].aws_endpoint'),
    ('endpoint_no_host', mapping(aws_endpoint='http://'), 'containers[0].aws_endpoint'),
    ('endpoint_port_99999', mapping(aws_endpoint='http://host:99999'),
     'containers[0].aws_endpoint'),
    ('endpoint_port_zero', mapping(aws_endpoint='http://host:0'), 'containers[0].aws_endpoint'),
    ('endpoint_port_not_a_number', mapping(aws_endpoint='http://host:eighty'),
     'containers[0].aws_endpoint'),
    ('endpoint_space_in_host', mapping(aws_endpoint='http://s3 host/'),
     'containers[0].aws_endpoint'),
    ('endpoint_unclosed_ipv6', mapping(aws_endpoint='https://[::1'),
     'containers[0].aws_endpoint'),
    ('s3_endpoint_underscore', mapping(aws_endpoint='http://s3_host:8080'),
     'containers[0].aws_endpoint'),
    ('http_proxy_no_scheme', conf(http_proxy='proxy:3128'), 'http_proxy'),
    ('https_proxy_socks', conf(https_proxy='socks5://proxy:1080'), 'https_proxy'),
    # -- keys that need each other
    ('keystone_v2_without_tenant', swift_mapping(auth_type='keystone_v2'),
     'containers[0].tenant_name'),
    ('keystone_v3_without_project_domain', swift_mapping(
        auth_type='keystone_v3', project_name='p', user_domain_name='d'),
     'containers[0].project_domain_name'),
    ('archive_propagating_deletes', mapping(propagate_delete=True),
     'containers[0].propagate_delete'),
    ('min_segment_size_without_convert_dlo', mapping(min_segment_size=10 ** 6),
     'containers[0].min_segment_size'),
    ('swift_without_endpoint', mapping(protocol='swift', aws_endpoint=None), 'containers[0].aws_endpoint'),
    ('acl_without_container_metadata', swift_mapping(sync_container_acl=True),
     'containers[0].sync_container_acl'),
    ('duplicate_mappings', conf(containers=[archive_entry(), archive_entry()]), 'containers[1]'),
    ('mapping_without_identity', mapping(aws_identity=None), 'containers[0].aws_identity'),
    ('required_key_misspelt', mapping(aws_bucket=None, aws_bucekt='archive-bucket'),
     'containers[0].aws_bucket'),
    ('migration_without_bucket', conf(migrations=[{'account': 'AUTH_test'}]),
     'migrations[0].aws_bucket'),
    ('migration_protocol_unknown', conf(migrations=[
        {'account': 'AUTH_test', 'aws_bucket': 'b', 'aws_identity': 'i', 'aws_secret': 's',
         'protocol': 'ftp'}]),
     'migrations[0].protocol'),
]
MALFORMED = [case + (False,) for case in MALFORMED] + [
    # The daemon's own keys: the shunt loads the file without them.
    ('daemon_without_devices', conf(devices=None), 'devices', True),
    ('daemon_without_status_dir', conf(status_dir=None), 'status_dir', True),
    ('daemon_without_items_chunk', conf(items_chunk=None), 'items_chunk', True),
]

# (name, mapping keys, the warning's key path, the key it must suggest)
TYPOS = [
    ('retain_locall', {'retain_locall': True}, 'containers[0].retain_locall', 'retain_local'),
    ('propogate_delete', {'propogate_delete': False}, 'containers[0].propogate_delete',
     'propagate_delete'),
    ('Retain_Local', {'Retain_Local': False}, 'containers[0].Retain_Local', 'retain_local'),
    ('aws_endpiont', {'aws_endpiont': 'http://x'}, 'containers[0].aws_endpiont',
     'aws_endpoint'),
]

# A sample also run through a real process (python -m s3_sync.cli.sync): what systemd sees.
SUBPROCESS_SAMPLE = ('deeply_nested_100000', 'integer_of_400_digits_as_number',
                     'exclude_pattern_huge_repeat', 'duplicate_mapping_key',
                     'lone_surrogate_in_bucket', 'endpoint_port_99999', 'utf8_bom')


def content_of(case_content):
    if isinstance(case_content, (dict, list)):
        return json.dumps(case_content)
    return case_content


class MalformedCase(unittest.TestCase):
    def setUp(self):
        self.dirs = DaemonDirs()
        self.addCleanup(self.dirs.cleanup)
        self.addCleanup(restore_logging)

    def assert_one_line_naming(self, text, path, key, prefix=''):
        self.assertNotIn('Traceback', text)
        lines = text.splitlines()
        self.assertEqual(len(lines), 1, lines)
        # No control character either: an escape sequence from the file must not reach a
        # terminal or a log viewer.
        self.assertTrue(lines[0].isprintable(), repr(lines[0]))
        self.assertTrue(lines[0].startswith(prefix + path + ': '), lines[0])
        if key is not None:
            self.assertIn(': %s: ' % key, lines[0])


class TestDaemonRefusesMalformedConfig(MalformedCase):
    """``swift-s3-sync --config F --once --console``: exit 2, one stderr line."""

    def refuse(self, content, key):
        path = self.dirs.write(content_of(content))
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            rc = sync.run(['--config', path, '--once', '--console'])
        self.assertEqual(rc, 2, err.getvalue())
        self.assert_one_line_naming(err.getvalue(), path, key, prefix='swift-s3-sync: ')


class TestRealProcessRefusesMalformedConfig(MalformedCase):
    def refuse(self, content, key):
        path = self.dirs.write(content_of(content))
        rc, err = run_daemon('--config', path, '--once', '--console')
        self.assertEqual(rc, 2, err)
        self.assert_one_line_naming(err, path, key, prefix='swift-s3-sync: ')


class TestShuntKeepsServingOnMalformedConfig(MalformedCase):
    """The shunt's Profiles, handed the file after a good one: previous mappings kept, one
    error line."""

    def refuse(self, content, key):
        path = self.dirs.write(conf())
        clock, logger = Clock(), RecordingLogger()
        profiles = Profiles(path, logger, check_interval=5, clock=clock,
                            provider_factory=lambda *a, **kw: None)
        before = dict(profiles.mappings)
        self.assertEqual(list(before), [('AUTH_test', 'archive')])
        logger.lines.clear()
        self.dirs.write(content_of(content))
        os.utime(path, (2000, 2000))     # a new signature however fast the test runs
        clock.now += 5
        profiles.reload_if_changed()
        self.assertEqual(profiles.mappings, before)
        errors = [line for level, line in logger.lines if level == 'error']
        self.assertEqual(len(errors), 1, logger.lines)
        self.assertEqual(len(logger.lines), 1, logger.lines)
        message = errors[0].split(': ', 2)[2]  # after 'cloud-shunt: keeping N previous ...: '
        self.assert_one_line_naming(message, path, key)


def _add_tests():
    for name, content, key, daemon_only in MALFORMED:
        def daemon_test(self, content=content, key=key):
            self.refuse(content, key)
        setattr(TestDaemonRefusesMalformedConfig, 'test_%s_is_exit_2_one_line' % name,
                daemon_test)
        if name in SUBPROCESS_SAMPLE:
            setattr(TestRealProcessRefusesMalformedConfig,
                    'test_%s_is_exit_2_one_line' % name, daemon_test)
        if not daemon_only:
            setattr(TestShuntKeepsServingOnMalformedConfig,
                    'test_%s_keeps_the_previous_mappings' % name, daemon_test)


_add_tests()


class TestTableSize(unittest.TestCase):
    def test_at_least_sixty_distinct_malformed_configs(self):
        names = [case[0] for case in MALFORMED]
        self.assertEqual(len(names), len(set(names)))
        contents = [content_of(case[1]) for case in MALFORMED]
        self.assertEqual(len(contents), len(set(map(repr, contents))))
        self.assertGreaterEqual(len(MALFORMED), 60)

    def test_subprocess_sample_names_real_cases(self):
        self.assertLessEqual(set(SUBPROCESS_SAMPLE), {case[0] for case in MALFORMED})


class TestTyposWarn(unittest.TestCase):
    """A key that is unknown but close to a known one loads, with one warning naming both."""

    def setUp(self):
        self.dirs = DaemonDirs()
        self.addCleanup(self.dirs.cleanup)
        self.addCleanup(restore_logging)

    def test_typos_load_with_one_warning_naming_the_closest_key(self):
        for name, keys, where, closest in TYPOS:
            with self.subTest(name):
                path = self.dirs.write(self.dirs.conf(containers=[archive_entry(**keys)]))
                config = load_config(path)
                self.assertEqual(len(config.warnings), 1, config.warnings)
                self.assertEqual(config.warnings[0], '%s: unknown key, ignored (did you mean '
                                 '"%s"?)' % (where, closest))

    def test_the_daemon_logs_the_typo_warning_and_runs(self):
        path = self.dirs.write(self.dirs.conf(containers=[
            archive_entry(retain_locall=True)]))
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            rc = sync.run(['--config', path, '--once', '--console'])
        self.assertEqual(rc, 0, err.getvalue())
        warnings = [line for line in err.getvalue().splitlines() if '[WARNING]' in line]
        self.assertEqual(len(warnings), 1, err.getvalue())
        self.assertIn('%s: containers[0].retain_locall: unknown key, ignored (did you mean '
                      '"retain_local"?)' % path, warnings[0])

    def test_the_shunt_logs_the_typo_warning_and_serves(self):
        path = self.dirs.write(self.dirs.conf(containers=[
            archive_entry(propogate_delete=True)]))
        logger = RecordingLogger()
        profiles = Profiles(path, logger, provider_factory=lambda *a, **kw: None)
        self.assertEqual(list(profiles.mappings), [('AUTH_test', 'archive')])
        warnings = [line for level, line in logger.lines if level == 'warning']
        self.assertEqual(len(warnings), 1, logger.lines)
        self.assertIn('did you mean "propagate_delete"?', warnings[0])


if __name__ == '__main__':
    unittest.main()

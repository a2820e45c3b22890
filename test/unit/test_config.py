"""Loading and validating sync.json: defaults, and every refusal as one line naming file and key."""
import copy
import json
import os
import shutil
import tempfile
import unittest
from unittest import mock

from s3_sync.config import (
    ConfigError, MAPPING_DEFAULTS, load_config, mapping_from_dict, validate_config)

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def s3_mapping(**overrides):
    mapping = {'account': 'AUTH_test', 'container': 'c1', 'aws_bucket': 'bucket',
               'aws_identity': 'id', 'aws_secret': 'secret'}
    mapping.update(overrides)
    return mapping


def swift_mapping(**overrides):
    return s3_mapping(protocol='swift', aws_endpoint='http://127.0.0.1:8080/auth/v1.0',
                      **overrides)


def base_conf(*mappings):
    return {'devices': '/srv/node', 'status_dir': '/var/lib/s3-sync', 'items_chunk': 100,
            'containers': list(mappings) or [s3_mapping()]}


class ConfigFileCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.path = os.path.join(self.tmp, 'sync.json')

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def write(self, content):
        with open(self.path, 'w') as f:
            f.write(content if isinstance(content, str) else json.dumps(content))
        return self.path

    def refusal(self, conf, for_daemon=True):
        """The one-line message load_config gives for ``conf``."""
        self.write(conf)
        with self.assertRaises(ConfigError) as ctx:
            load_config(self.path, for_daemon=for_daemon)
        message = str(ctx.exception)
        self.assertNotIn('\n', message)
        self.assertTrue(message.startswith(self.path + ': '), message)
        return message


class TestReadingTheFile(ConfigFileCase):
    def test_missing_file_is_one_line_error(self):
        missing = os.path.join(self.tmp, 'nope.json')
        with self.assertRaises(ConfigError) as ctx:
            load_config(missing)
        self.assertEqual(str(ctx.exception),
                         '%s: cannot read config: No such file or directory' % missing)

    def test_unreadable_file_is_one_line_error(self):
        self.write(base_conf())
        with mock.patch('builtins.open', side_effect=PermissionError(13, 'Permission denied')):
            with self.assertRaises(ConfigError) as ctx:
                load_config(self.path)
        self.assertEqual(str(ctx.exception),
                         '%s: cannot read config: Permission denied' % self.path)

    def test_directory_instead_of_file_is_refused(self):
        with self.assertRaises(ConfigError) as ctx:
            load_config(self.tmp)
        self.assertIn('cannot read config', str(ctx.exception))

    def test_bad_json_names_line_and_column(self):
        message = self.refusal('{\n  "devices": "/srv/node",\n  "items_chunk" 1\n}')
        self.assertIn('invalid JSON at line 3 column 17', message)

    def test_non_utf8_file_is_refused(self):
        with open(self.path, 'wb') as f:
            f.write(b'{"devices": "\xff"}')
        with self.assertRaises(ConfigError) as ctx:
            load_config(self.path)
        self.assertIn('not UTF-8', str(ctx.exception))

    def test_top_level_list_is_refused(self):
        message = self.refusal([base_conf()])
        self.assertEqual(message, '%s: top level must be a JSON object, not list' % self.path)

    def test_valid_file_loads(self):
        self.write(base_conf())
        conf = load_config(self.path)
        self.assertEqual(conf.containers[0].aws_bucket, 'bucket')


class TestGlobalDefaults(unittest.TestCase):
    def test_global_defaults_are_filled(self):
        conf = validate_config(base_conf())
        expected = {
            'poll_interval': 5, 'workers': 10, 'enumerator_workers': 10,
            'verification_slack': 60, 'swift_bind_ip': '0.0.0.0', 'swift_dir': '/etc/swift',
            'log_level': 'info', 'statsd_port': 8125, 'watch': True, 'migrations': (),
            'internal_client_path': '/etc/swift/internal-client.conf', 'bulk_process': False,
            'max_pending': 2 * conf.items_chunk, 'internal_client_logname': 'ContainerCrawler',
        }
        for key, value in expected.items():
            self.assertEqual(getattr(conf, key), value, key)
        for key in ('swift_bind_port', 'statsd_host', 'log_file', 'syslog'):
            self.assertIsNone(getattr(conf, key), key)

    def test_internal_client_path_follows_swift_dir(self):
        conf = validate_config(dict(base_conf(), swift_dir='/tmp/sw'))
        self.assertEqual(conf.internal_client_path, '/tmp/sw/internal-client.conf')

    def test_containers_default_to_empty_list(self):
        conf = base_conf()
        del conf['containers']
        self.assertEqual(validate_config(conf).containers, ())

    def test_input_is_not_modified(self):
        conf = base_conf()
        before = copy.deepcopy(conf)
        validate_config(conf)
        self.assertEqual(conf, before)

    def test_unknown_keys_load_with_a_warning_naming_the_closest_key(self):
        conf = validate_config(dict(base_conf(s3_mapping(retain_locall=False)), other='x'))
        self.assertIs(conf.containers[0].retain_local, True)
        self.assertIn('containers[0].retain_locall: unknown key, ignored '
                      '(did you mean "retain_local"?)', conf.warnings)
        self.assertIn('other: unknown key, ignored', conf.warnings)

    def test_a_missing_required_key_points_at_its_misspelling(self):
        conf = base_conf()
        conf['status_dri'] = conf.pop('status_dir')
        with self.assertRaises(ConfigError) as ctx:
            validate_config(conf)
        self.assertEqual(str(ctx.exception),
                         'status_dir: missing required key (is "status_dri" a typo?)')

    def test_log_level_is_case_insensitive(self):
        self.assertEqual(validate_config(dict(base_conf(), log_level='DEBUG')).log_level,
                         'debug')

    def test_unknown_log_level_is_refused(self):
        with self.assertRaises(ConfigError) as ctx:
            validate_config(dict(base_conf(), log_level='loud'))
        self.assertIn('log_level: must be one of', str(ctx.exception))

    def test_syslog_defaults_are_filled(self):
        conf = validate_config(dict(base_conf(), syslog={'host': '127.0.0.1'}))
        self.assertEqual(conf.syslog, {'host': '127.0.0.1', 'port': 514, 'proto': 'udp'})

    def test_syslog_proto_must_be_udp_or_tcp(self):
        with self.assertRaises(ConfigError) as ctx:
            validate_config(dict(base_conf(), syslog={'proto': 'http'}))
        self.assertIn('syslog.proto: must be one of udp, tcp', str(ctx.exception))


class TestDaemonOnlyKeys(ConfigFileCase):
    def test_missing_devices_is_refused_for_daemon(self):
        conf = base_conf()
        del conf['devices']
        self.assertEqual(self.refusal(conf), '%s: devices: missing required key' % self.path)

    def test_missing_status_dir_is_refused_for_daemon(self):
        conf = base_conf()
        del conf['status_dir']
        self.assertIn(': status_dir: missing required key', self.refusal(conf))

    def test_missing_items_chunk_is_refused_for_daemon(self):
        conf = base_conf()
        del conf['items_chunk']
        self.assertIn(': items_chunk: missing required key', self.refusal(conf))

    def test_daemon_keys_are_optional_for_shunt(self):
        conf = {'containers': [s3_mapping()]}
        self.write(conf)
        loaded = load_config(self.path, for_daemon=False)
        self.assertIsNone(loaded.devices)
        self.assertEqual(loaded.containers[0].retain_local, True)

    def test_daemon_keys_are_still_type_checked_for_shunt(self):
        message = self.refusal({'items_chunk': 'many'}, for_daemon=False)
        self.assertIn('items_chunk: must be an integer, not string', message)


class TestTypes(ConfigFileCase):
    def test_string_false_is_not_a_boolean(self):
        message = self.refusal(base_conf(s3_mapping(retain_local='false')))
        self.assertEqual(message, '%s: containers[0].retain_local: must be a boolean '
                         '(true/false), not string' % self.path)

    def test_integer_is_not_a_boolean(self):
        message = self.refusal(base_conf(s3_mapping(propagate_delete=0)))
        self.assertIn('containers[0].propagate_delete: must be a boolean', message)

    def test_boolean_is_not_an_integer(self):
        message = self.refusal(dict(base_conf(), workers=True))
        self.assertIn(': workers: must be an integer, not boolean', message)

    def test_float_is_not_an_integer(self):
        message = self.refusal(dict(base_conf(), items_chunk=10.5))
        self.assertIn(': items_chunk: must be an integer, not number', message)

    def test_number_keys_accept_floats(self):
        conf = validate_config(dict(base_conf(), poll_interval=1.5, verification_slack=1.5))
        self.assertEqual(conf.poll_interval, 1.5)

    def test_string_is_not_a_number(self):
        message = self.refusal(base_conf(s3_mapping(copy_after='3600')))
        self.assertIn('containers[0].copy_after: must be a number, not string', message)

    def test_number_is_not_a_string(self):
        message = self.refusal(base_conf(s3_mapping(aws_bucket=12)))
        self.assertIn('containers[0].aws_bucket: must be a string, not number', message)

    def test_mistyped_secret_is_not_echoed(self):
        message = self.refusal(base_conf(s3_mapping(aws_secret=123456789)))
        self.assertNotIn('123456789', message)

    def test_containers_must_be_a_list(self):
        message = self.refusal(dict(base_conf(), containers={'a': 1}))
        self.assertIn(': containers: must be a list, not object', message)

    def test_mapping_must_be_an_object(self):
        message = self.refusal(base_conf('AUTH_test/c1'))
        self.assertIn(': containers[0]: must be an object, not string', message)

    def test_syslog_must_be_an_object(self):
        message = self.refusal(dict(base_conf(), syslog='localhost'))
        self.assertIn(': syslog: must be an object', message)

    def test_nan_is_not_a_number(self):
        message = self.refusal('{"devices": "/d", "status_dir": "/s", "items_chunk": 1, '
                               '"poll_interval": NaN}')
        self.assertIn(': poll_interval: must be a number, not non-finite number', message)

    def test_null_is_not_a_string(self):
        message = self.refusal(base_conf(s3_mapping(aws_endpoint=None)))
        self.assertIn('containers[0].aws_endpoint: must be a string, not null', message)


class TestMappingRequiredKeys(ConfigFileCase):
    def test_missing_bucket_is_one_line_error(self):
        mappings = [s3_mapping(container='c%d' % i) for i in range(3)]
        del mappings[2]['aws_bucket']
        self.assertEqual(self.refusal(base_conf(*mappings)),
                         '%s: containers[2].aws_bucket: missing required key' % self.path)

    def test_each_required_mapping_key_is_enforced(self):
        for key in ('account', 'container', 'aws_bucket', 'aws_identity', 'aws_secret'):
            mapping = s3_mapping()
            del mapping[key]
            self.assertIn('containers[0].%s: missing required key' % key,
                          self.refusal(base_conf(mapping)))

    def test_empty_account_is_refused(self):
        self.assertIn('containers[0].account: must not be empty',
                      self.refusal(base_conf(s3_mapping(account=''))))


class TestMappingDefaults(unittest.TestCase):
    def test_mapping_defaults_are_filled(self):
        mapping = validate_config(base_conf()).containers[0]
        for key, value in MAPPING_DEFAULTS.items():
            self.assertEqual(getattr(mapping, key), value, key)
        self.assertEqual(mapping.protocol, 's3')
        self.assertIs(mapping.propagate_delete, True)
        self.assertIs(mapping.retain_local_segments, False)
        self.assertEqual(mapping.signature_version, 's3v4')
        self.assertEqual(mapping.remote_delete_after_addition, 86400)
        self.assertEqual(mapping.restore_expire_days, 0)

    def test_absence_meaningful_keys_get_no_default(self):
        mapping = validate_config(base_conf()).containers[0]
        for key in ('custom_prefix', 'aws_endpoint', 'exclude_pattern', 'selection_criteria',
                    'auth_type'):
            self.assertIsNone(getattr(mapping, key), key)
            self.assertNotIn(key, mapping.wire())

    def test_empty_custom_prefix_is_kept(self):
        mapping = validate_config(base_conf(s3_mapping(custom_prefix=''))).containers[0]
        self.assertEqual(mapping.custom_prefix, '')

    def test_swift_mapping_gets_swift_auth_type(self):
        mapping = validate_config(base_conf(swift_mapping())).containers[0]
        self.assertEqual(mapping.auth_type, 'swift')

    def test_given_values_win_over_defaults(self):
        mapping = validate_config(base_conf(s3_mapping(copy_after=60, encryption=False))).containers[0]
        self.assertEqual(mapping.copy_after, 60)
        self.assertIs(mapping.encryption, False)

    def test_mapping_policy_holds_the_three_progress_keys(self):
        mapping = validate_config(base_conf(s3_mapping(copy_after=30))).containers[0]
        self.assertEqual(mapping.policy,
                         {'copy_after': 30, 'retain_local': True, 'propagate_delete': True})

    def test_archive_policy_has_propagate_delete_false(self):
        mapping = mapping_from_dict(s3_mapping(retain_local=False))
        self.assertEqual(mapping.policy,
                         {'copy_after': 0, 'retain_local': False, 'propagate_delete': False})


class TestMappingRules(ConfigFileCase):
    def test_unknown_protocol_is_refused(self):
        self.assertIn('containers[0].protocol: must be one of s3, swift, not "ftp"',
                      self.refusal(base_conf(s3_mapping(protocol='ftp'))))

    def test_invalid_exclude_pattern_is_refused(self):
        self.assertEqual(
            self.refusal(base_conf(s3_mapping(exclude_pattern='['))),
            '%s: containers[0].exclude_pattern: invalid regex: unterminated character set '
            'at position 0' % self.path)

    def test_valid_exclude_pattern_is_kept(self):
        mapping = validate_config(base_conf(s3_mapping(exclude_pattern='^tmp/'))).containers[0]
        self.assertEqual(mapping.exclude_pattern, '^tmp/')

    def test_original_archive_config_without_propagate_delete_loads(self):
        # The original's archive mappings leave propagate_delete unset: unset means false.
        mapping = validate_config(base_conf(s3_mapping(retain_local=False))).containers[0]
        self.assertTrue(mapping.archive)
        self.assertIs(mapping.propagate_delete, False)

    def test_archive_with_explicit_propagate_delete_true_is_refused(self):
        self.assertEqual(
            self.refusal(base_conf(s3_mapping(retain_local=False, propagate_delete=True))),
            '%s: containers[0].propagate_delete: must be false when retain_local is false '
            '(archive mode)' % self.path)

    def test_archive_with_explicit_propagate_delete_false_loads(self):
        mapping = validate_config(base_conf(s3_mapping(
            retain_local=False, propagate_delete=False))).containers[0]
        self.assertIs(mapping.retain_local, False)

    def test_duplicate_mapping_is_refused(self):
        self.assertIn(': containers[1]: duplicate of containers[0]',
                      self.refusal(base_conf(s3_mapping(), s3_mapping(copy_after=5))))

    def test_mappings_differing_in_custom_prefix_are_not_duplicates(self):
        conf = validate_config(base_conf(s3_mapping(), s3_mapping(custom_prefix='')))
        self.assertEqual(len(conf.containers), 2)

    def test_mappings_differing_in_bucket_are_not_duplicates(self):
        conf = validate_config(base_conf(s3_mapping(), s3_mapping(aws_bucket='other')))
        self.assertEqual(len(conf.containers), 2)

    def test_slash_in_container_is_refused(self):
        self.assertIn('containers[0].container: must be a container name or "/*", not "a/b"',
                      self.refusal(base_conf(s3_mapping(container='a/b'))))

    def test_slash_star_container_is_allowed_with_custom_prefix(self):
        mapping = validate_config(base_conf(s3_mapping(container='/*', custom_prefix='p'))).containers[0]
        self.assertEqual(mapping.container, '/*')

    def test_negative_copy_after_is_refused(self):
        self.assertIn('containers[0].copy_after: must be >= 0, not -1',
                      self.refusal(base_conf(s3_mapping(copy_after=-1))))

    def test_negative_poll_interval_is_refused(self):
        self.assertIn(': poll_interval: must be >= 0, not -2',
                      self.refusal(dict(base_conf(), poll_interval=-2)))

    def test_zero_items_chunk_is_refused(self):
        self.assertIn(': items_chunk: must be >= 1, not 0',
                      self.refusal(dict(base_conf(), items_chunk=0)))

    def test_zero_workers_is_refused(self):
        self.assertIn(': workers: must be >= 1, not 0',
                      self.refusal(dict(base_conf(), workers=0)))

    def test_min_segment_size_without_convert_dlo_is_refused(self):
        self.assertIn('containers[0].min_segment_size: requires convert_dlo: true',
                      self.refusal(base_conf(swift_mapping(min_segment_size=1024))))

    def test_min_segment_size_with_convert_dlo_loads(self):
        validate_config(base_conf(swift_mapping(min_segment_size=1024, convert_dlo=True)))

    def test_container_acl_without_container_metadata_is_refused(self):
        self.assertIn(
            'containers[0].sync_container_acl: requires sync_container_metadata: true',
            self.refusal(base_conf(swift_mapping(sync_container_acl=True))))

    def test_keystone_v2_without_tenant_is_refused(self):
        self.assertIn('containers[0].tenant_name: missing required key for auth_type '
                      'keystone_v2',
                      self.refusal(base_conf(swift_mapping(auth_type='keystone_v2'))))

    def test_keystone_v3_needs_project_and_domains(self):
        full = {'project_name': 'p', 'project_domain_name': 'd', 'user_domain_name': 'u'}
        validate_config(base_conf(swift_mapping(auth_type='keystone_v3', **full)))
        for missing in full:
            keys = dict(full)
            del keys[missing]
            self.assertIn('containers[0].%s: missing required key for auth_type keystone_v3'
                          % missing,
                          self.refusal(base_conf(swift_mapping(auth_type='keystone_v3',
                                                               **keys))))

    def test_unknown_auth_type_is_refused(self):
        self.assertIn('containers[0].auth_type: must be one of',
                      self.refusal(base_conf(swift_mapping(auth_type='oauth'))))

    def test_unknown_signature_version_is_refused(self):
        self.assertIn('containers[0].signature_version: must be one of s3v4, s3, not "v2"',
                      self.refusal(base_conf(s3_mapping(signature_version='v2'))))

    def test_sigv2_opt_in_loads(self):
        mapping = validate_config(base_conf(s3_mapping(signature_version='s3'))).containers[0]
        self.assertEqual(mapping.signature_version, 's3')

    def test_negative_restore_expire_days_is_refused(self):
        self.assertIn('containers[0].restore_expire_days: must be >= 0',
                      self.refusal(base_conf(s3_mapping(restore_expire_days=-1))))

    def test_zero_max_conns_is_refused(self):
        self.assertIn('containers[0].max_conns: must be >= 1',
                      self.refusal(base_conf(s3_mapping(max_conns=0))))


class TestSelectionCriteria(ConfigFileCase):
    def accepts(self, criteria):
        validate_config(base_conf(s3_mapping(selection_criteria=criteria)))

    def refuses(self, criteria):
        return self.refusal(base_conf(s3_mapping(selection_criteria=criteria)))

    def test_empty_criteria_selects_all_and_loads(self):
        self.accepts({})

    def test_nested_criteria_load(self):
        self.accepts({'AND': [{'x-object-meta-a': '1'},
                              {'NOT': {'OR': [{'content-type': 'x'}, {'x-object-meta-b': 'é'}]}}]})

    def test_two_keys_are_refused(self):
        self.assertIn('containers[0].selection_criteria: must have exactly one key, has 2',
                      self.refuses({'x-object-meta-a': '1', 'x-object-meta-b': '2'}))

    def test_criteria_must_be_an_object(self):
        self.assertIn('containers[0].selection_criteria: must be an object, not list',
                      self.refuses([{'a': 'b'}]))

    def test_and_needs_a_list(self):
        self.assertIn('containers[0].selection_criteria.AND: must be a non-empty list',
                      self.refuses({'AND': {'a': 'b'}}))

    def test_or_with_empty_list_is_refused(self):
        self.assertIn('selection_criteria.OR: must be a non-empty list', self.refuses({'OR': []}))

    def test_not_needs_a_criterion(self):
        self.assertIn('selection_criteria.NOT: must be an object, not string',
                      self.refuses({'NOT': 'x'}))

    def test_nested_empty_criterion_is_refused(self):
        self.assertIn('selection_criteria.AND[1]: must have exactly one key, has 0',
                      self.refuses({'AND': [{'a': 'b'}, {}]}))

    def test_leaf_value_must_be_string(self):
        self.assertIn('selection_criteria.OR[0].x-object-meta-n: header value must be a '
                      'string, not number', self.refuses({'OR': [{'x-object-meta-n': 5}]}))


MIGRATION = {'account': 'AUTH_m', 'aws_bucket': 'src', 'aws_identity': 'id',
             'aws_secret': 'secret'}


class TestMigrations(ConfigFileCase):
    def migration(self, **extra):
        return validate_config(dict(base_conf(), migrations=[dict(MIGRATION, **extra)]))

    def test_migration_defaults_come_from_the_schema(self):
        conf = self.migration()
        migration, = conf.migrations
        self.assertEqual((migration.container, migration.protocol, migration.prefix,
                          migration.restore_object, migration.custom_prefix),
                         ('src', 's3', '', True, ''))
        self.assertEqual(migration.wire(), MIGRATION)
        self.assertIsNone(conf.migrator_settings)

    def test_migration_source_is_a_native_mapping(self):
        source = self.migration(protocol='swift', aws_endpoint='http://127.0.0.1:1/auth/v1.0',
                                remote_account='AUTH_r').migrations[0].source()
        self.assertEqual((source.aws_bucket, source.container, source.custom_prefix,
                          source.remote_account, source.auth_type),
                         ('src', 'src', '', 'AUTH_r', 'swift'))

    def test_unknown_migration_key_is_a_warning(self):
        self.assertIn('migrations[0].custom: unknown key, ignored',
                      self.migration(custom=1).warnings)

    def test_migration_without_bucket_is_refused(self):
        self.assertIn(': migrations[0].aws_bucket: missing required key',
                      self.refusal(dict(base_conf(), migrations=[{'account': 'AUTH_m'}])))

    def test_migration_protocol_is_checked(self):
        self.assertIn(': migrations[0].protocol: must be one of s3, swift',
                      self.refusal(dict(base_conf(), migrations=[
                          dict(MIGRATION, protocol='nfs')])))

    def test_all_buckets_cannot_be_relocated(self):
        self.assertIn('migrations[0].container: must be "/*"', self.refusal(dict(
            base_conf(), migrations=[dict(MIGRATION, aws_bucket='/*', container='c')])))

    def test_two_migrations_into_one_container_are_refused(self):
        self.assertIn('migrations[1]: same account and container as migrations[0]',
                      self.refusal(dict(base_conf(), migrations=[
                          MIGRATION, dict(MIGRATION, aws_bucket='other', container='src')])))

    def test_swift_source_needs_an_auth_url(self):
        self.assertIn('migrations[0].aws_endpoint: missing required key for protocol swift',
                      self.refusal(dict(base_conf(), migrations=[
                          dict(MIGRATION, protocol='swift')])))

    def test_migrator_settings_are_checked_and_filled(self):
        conf = validate_config(dict(base_conf(), migrator_settings={
            'status_file': '/tmp/m.json', 'items_chunk': 50, 'process': 0}))
        settings = conf.migrator_settings
        self.assertEqual((settings['workers'], settings['segment_size'],
                          settings['ring_name']), (10, 100000000, 'container'))
        self.assertTrue(any(w.startswith('migrator_settings.process: ignored')
                            for w in conf.warnings), conf.warnings)
        self.assertIn('migrator_settings.items_chunk: missing required key', self.refusal(
            dict(base_conf(), migrator_settings={'status_file': '/tmp/m.json'})))


class TestSample(unittest.TestCase):
    def test_sample_config_loads_cleanly(self):
        conf = load_config(os.path.join(REPO_ROOT, 'sync.json-sample'))
        mappings = conf.containers
        self.assertEqual(len(mappings), 4)
        archive = [m for m in mappings if not m.retain_local]
        self.assertEqual(len(archive), 1)
        self.assertIs(archive[0].merge_namespaces, True)
        self.assertIn('swift', [m.protocol for m in mappings])
        self.assertIn('/*', [m.container for m in mappings])
        self.assertIsNotNone(conf.statsd_host)
        self.assertIsNotNone(conf.log_file)
        self.assertEqual(conf.warnings, (), 'the sample shows only keys that work')


class TestAnnouncements(unittest.TestCase):
    """Keys that load but are not acted on are said, one line each, naming the key."""

    def warnings(self, conf):
        return validate_config(conf).warnings

    def test_keys_this_version_does_not_apply_are_announced(self):
        warnings = self.warnings(dict(
            base_conf(swift_mapping()),
            bulk_process=True))
        for key in ('bulk_process',):
            self.assertTrue(any(w.startswith(key + ': not applied') for w in warnings),
                            (key, warnings))
        self.assertTrue(all('\n' not in w for w in warnings))

    def test_remote_delete_after_applies_to_both_targets(self):
        self.assertEqual(self.warnings(base_conf(s3_mapping(remote_delete_after=86400))), ())
        self.assertEqual(self.warnings(base_conf(swift_mapping(remote_delete_after=86400))), ())

    def test_dlo_conversion_applies_to_swift_targets_only(self):
        self.assertEqual(self.warnings(base_conf(swift_mapping(
            convert_dlo=True, min_segment_size=1024))), ())
        s3 = self.warnings(base_conf(s3_mapping(convert_dlo=True, min_segment_size=1024)))
        self.assertEqual([w.split(':')[0] for w in s3],
                         ['containers[0].convert_dlo', 'containers[0].min_segment_size'])
        self.assertTrue(all('not applied to s3 targets' in w for w in s3), s3)

    def test_s3_remote_delete_after_below_half_a_day_is_refused(self):
        with self.assertRaises(ConfigError) as ctx:
            validate_config(base_conf(s3_mapping(remote_delete_after=3600)))
        self.assertIn('containers[0].remote_delete_after: must be 0 or at least 43200 on S3 '
                      'targets', str(ctx.exception))
        validate_config(base_conf(swift_mapping(remote_delete_after=3600)))

    def test_keys_of_the_other_protocol_are_announced(self):
        s3 = self.warnings(base_conf(s3_mapping(
            storage_policy='gold', remote_account='AUTH_x', propagate_expiration=True,
            propagate_expiration_offset=5, sync_container_metadata=True)))
        for key in ('storage_policy', 'remote_account', 'propagate_expiration',
                    'propagate_expiration_offset', 'sync_container_metadata'):
            self.assertTrue(any(w.startswith('containers[0].%s: not applied to s3 targets' % key)
                                for w in s3), (key, s3))
        swift = self.warnings(base_conf(swift_mapping(
            custom_prefix='p', aws_session_token='t', encryption=True, aws_region='eu-west-1',
            signature_version='s3')))
        for key in ('custom_prefix', 'aws_session_token', 'encryption', 'aws_region',
                    'signature_version'):
            self.assertTrue(any(w.startswith('containers[0].%s: not applied to swift targets'
                                             % key) for w in swift), (key, swift))
        self.assertFalse(any('aws_session_token' in w and "'t'" in w for w in swift))

    def test_keys_without_effect_in_their_mapping_are_announced(self):
        warnings = self.warnings(base_conf(swift_mapping(
            propagate_expiration_offset=60, restore_object=True, restore_expire_days=2)))
        self.assertIn('containers[0].propagate_expiration_offset: has no effect without '
                      'propagate_expiration: true', warnings)
        self.assertTrue(any(w.startswith('containers[0].restore_object: has no effect')
                            for w in warnings), warnings)
        self.assertEqual(self.warnings(base_conf(swift_mapping(
            restore_object=True, restore_expire_days=2, merge_namespaces=True))), ())
        warnings = self.warnings(base_conf(swift_mapping(tenant_name='t')))
        self.assertEqual(warnings, ('containers[0].tenant_name: has no effect without '
                                    'auth_type: "keystone_v2"',))
        warnings = self.warnings(base_conf(s3_mapping(tenant_name='t')))
        self.assertEqual(len(warnings), 1)
        self.assertIn('not applied to s3 targets', warnings[0])

    def test_propagate_expiration_overridden_by_remote_delete_after_is_announced(self):
        warnings = self.warnings(base_conf(swift_mapping(propagate_expiration=True,
                                                         remote_delete_after=100)))
        self.assertEqual(len(warnings), 1)
        self.assertTrue(warnings[0].startswith('containers[0].propagate_expiration: ignored '
                                               'while remote_delete_after is set'))
        self.assertEqual(self.warnings(base_conf(swift_mapping(
            propagate_expiration=True, remote_delete_after=100,
            propagate_expiration_offset=1))), ())

    def test_keys_at_their_default_say_nothing(self):
        self.assertEqual(self.warnings(base_conf(s3_mapping(convert_dlo=False,
                                                            remote_delete_after=0))), ())

    def test_proxies_reach_the_mappings(self):
        conf = validate_config(dict(base_conf(s3_mapping()),
                                    https_proxy='http://127.0.0.1:3128'))
        self.assertEqual(conf.containers[0].proxies, {'https': 'http://127.0.0.1:3128'})

    def test_proxy_must_be_a_url(self):
        with self.assertRaises(ConfigError) as ctx:
            validate_config(dict(base_conf(), http_proxy='proxy:3128'))
        self.assertIn('http_proxy: must be an http:// or https:// URL', str(ctx.exception))


class TestBounds(ConfigFileCase):
    def test_numbers_past_their_maximum_are_refused(self):
        for conf, key in ((base_conf(s3_mapping(remote_timeout=1e300)), 'remote_timeout'),
                          (base_conf(s3_mapping(max_conns=10 ** 9)), 'max_conns'),
                          (dict(base_conf(), items_chunk=10 ** 30), 'items_chunk'),
                          (dict(base_conf(), swift_bind_port=70000), 'swift_bind_port')):
            message = self.refusal(conf)
            self.assertIn('%s: must be <=' % key, message)
            self.assertLess(len(message), 200)

    def test_endpoint_must_be_a_url(self):
        self.assertIn('containers[0].aws_endpoint: must be an http:// or https:// URL',
                      self.refusal(base_conf(s3_mapping(aws_endpoint='not a url'))))

    def test_deeply_nested_json_is_one_line(self):
        with open(self.path, 'w') as f:
            f.write('[' * 100000 + ']' * 100000)
        with self.assertRaises(ConfigError) as ctx:
            load_config(self.path)
        self.assertIn('nested too deeply', str(ctx.exception))

    def test_huge_integer_is_one_line(self):
        with open(self.path, 'w') as f:
            f.write('{"items_chunk": %s}' % ('9' * 5000))
        with self.assertRaises(ConfigError) as ctx:
            load_config(self.path)
        self.assertIn('invalid JSON', str(ctx.exception))
        self.assertNotIn('\n', str(ctx.exception))


class TestWhatPassedAndThenHurt(ConfigFileCase):
    """Values that used to load and then crashed, hung or misled the daemon later."""

    def test_poll_interval_zero_is_raised_to_one_second_with_a_warning(self):
        conf = validate_config(dict(base_conf(), poll_interval=0))
        self.assertEqual(conf.poll_interval, 1)
        self.assertEqual(conf.warnings, ('poll_interval: 0 is too short; 1 is used',))

    def test_integer_past_float_range_is_a_bounds_error(self):
        message = self.refusal('{"devices": "/d", "status_dir": "/s", "items_chunk": 1, '
                               '"verification_slack": %s}' % ('9' * 400))
        self.assertIn(': verification_slack: must be <= ', message)
        self.assertLess(len(message), 200)

    def test_duplicate_key_names_the_key(self):
        message = self.refusal('{"devices": "/d", "status_dir": "/s", "items_chunk": 1, '
                               '"items_chunk": 2}')
        self.assertEqual(message, '%s: items_chunk: given twice in one object' % self.path)

    def test_duplicate_header_in_criteria_names_the_mapping_key_and_the_header(self):
        text = json.dumps(base_conf(s3_mapping(selection_criteria={'AND': [
            {'x-object-meta-a': '1'}]}))).replace(
            '{"x-object-meta-a": "1"}', '{"x-object-meta-a": "1", "x-object-meta-a": "2"}')
        self.assertIn(': containers[0].selection_criteria: key "x-object-meta-a" given twice',
                      self.refusal(text))

    def test_nesting_past_the_limit_names_the_key(self):
        criteria = {'x-object-meta-a': 'b'}
        for _ in range(40):
            criteria = {'NOT': criteria}
        message = self.refusal(base_conf(s3_mapping(selection_criteria=criteria)))
        self.assertEqual(message, '%s: containers[0].selection_criteria: nested deeper than '
                         '32 levels' % self.path)

    def test_ordinary_criteria_nesting_loads(self):
        criteria = {'x-object-meta-a': 'b'}
        for _ in range(10):
            criteria = {'AND': [criteria, {'NOT': {'x-object-meta-c': 'd'}}]}
        self.write(base_conf(s3_mapping(selection_criteria=criteria)))
        self.assertEqual(load_config(self.path).containers[0].selection_criteria, criteria)

    def test_byte_order_mark_says_what_to_do(self):
        with open(self.path, 'wb') as f:
            f.write(b'\xef\xbb\xbf' + json.dumps(base_conf()).encode())
        with self.assertRaises(ConfigError) as ctx:
            load_config(self.path)
        self.assertIn('save it as UTF-8 without BOM', str(ctx.exception))

    def test_oversized_file_is_refused_without_reading_it_all(self):
        with open(self.path, 'w') as f:
            f.write(' ' * 100 + json.dumps(base_conf()))
        with mock.patch('s3_sync.config.MAX_SIZE', 64), self.assertRaises(ConfigError) as ctx:
            load_config(self.path)
        self.assertIn('not a config file', str(ctx.exception))

    def test_an_unforeseen_failure_is_still_a_config_error(self):
        self.write(base_conf())
        with mock.patch('s3_sync.config.check_config', side_effect=TypeError('boom\nline 2')):
            with self.assertRaises(ConfigError) as ctx:
                load_config(self.path)
        self.assertEqual(str(ctx.exception),
                         '%s: cannot check config: TypeError: boom' % self.path)

    def test_control_characters_from_the_file_are_escaped(self):
        message = self.refusal(base_conf(s3_mapping(protocol='s3\n\x1b[31m\u2028')))
        self.assertIn('not "s3\\n\\x1b[31m\\u2028"', message)
        self.assertTrue(message.isprintable())

    def test_unknown_key_warning_is_printable(self):
        conf = validate_config(dict(base_conf(), **{'bad\nkey': 1}))
        self.assertEqual(conf.warnings, ('bad\\nkey: unknown key, ignored',))

    def test_long_values_are_cut_in_messages(self):
        message = self.refusal(base_conf(s3_mapping(protocol='x' * 10000)))
        self.assertLess(len(message), 200 + len(self.path))

    def test_swift_endpoint_may_have_an_underscore_s3_may_not(self):
        validate_config(base_conf(s3_mapping(protocol='swift',
                                              aws_endpoint='http://swift_proxy:8080/auth')))
        with self.assertRaises(ConfigError) as ctx:
            validate_config(base_conf(s3_mapping(aws_endpoint='http://s3_host:8080')))
        self.assertIn('has a "_", which the S3 client refuses', str(ctx.exception))

    def test_ip_literal_endpoints_load(self):
        for url in ('http://127.0.0.1:8080', 'https://[::1]:8443/', 'https://s3.example.com.',
                    'http://user:pass@proxy.example:3128'):
            validate_config(base_conf(s3_mapping(aws_endpoint=url)))

    def test_url_errors_do_not_echo_the_url(self):
        message = self.refusal(dict(base_conf(), https_proxy='http://user:pa ss@proxy:3128'))
        self.assertNotIn('pa ss', message)

    def test_swift_bind_ip_must_be_an_address(self):
        for ip in ('0.0.0.0', '::', '127.0.0.2', 'fd00::1'):
            validate_config(dict(base_conf(), swift_bind_ip=ip))
        message = self.refusal(dict(base_conf(), swift_bind_ip='storage1'))
        self.assertIn(': swift_bind_ip: must be an IP address', message)

    def test_swift_container_names_may_use_any_character_but_slash(self):
        validate_config(base_conf(swift_mapping(aws_bucket='my container \u00e9')))

    def test_swift_container_name_past_256_bytes_is_refused(self):
        message = self.refusal(base_conf(swift_mapping(aws_bucket='\u00e9' * 129)))
        self.assertIn(': containers[0].aws_bucket: must be a Swift container name', message)

    def test_empty_secret_is_refused(self):
        self.assertIn(': containers[0].aws_secret: must not be empty',
                      self.refusal(base_conf(s3_mapping(aws_secret=''))))

    def test_nul_in_a_secret_is_refused_without_echo(self):
        message = self.refusal(base_conf(s3_mapping(aws_secret='top\x00secret')))
        self.assertIn(': containers[0].aws_secret: must not contain a NUL', message)
        self.assertNotIn('secret\'', message)
        self.assertNotIn('top', message)


if __name__ == '__main__':
    unittest.main()

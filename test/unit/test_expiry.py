"""Expiry rules: Swift object expiry headers, the S3 lifecycle rule plan, and the sync side's
once-per-container application of the rule."""
import unittest
from unittest import mock

from s3_sync.providers import expiry, lifecycle
from s3_sync.providers.base import Features, RemoteError
from s3_sync.sync.expiry import RULE_RECHECK, RULE_RETRY, ExpiryRule, expired_remotely
from test.unit.fakes import make_mapping


def swift(**keys):
    return make_mapping(protocol='swift', aws_endpoint='http://h/auth/v1.0', **keys)


class TestObjectExpiry(unittest.TestCase):
    def test_nothing_asked_means_no_expiry(self):
        self.assertEqual(expiry.expiry_headers(swift(), {'x-delete-at': '2000000000'}), {})

    def test_propagated_delete_at_gets_the_offset(self):
        mapping = swift(propagate_expiration=True, propagate_expiration_offset=-60)
        self.assertEqual(expiry.expiry_headers(mapping, {'x-delete-at': '2000000000'}),
                         {'x-delete-at': '1999999940'})

    def test_segments_outlive_their_manifest_by_the_addition(self):
        mapping = swift(propagate_expiration=True, remote_delete_after_addition=100)
        self.assertEqual(expiry.segment_expiry_headers(mapping, {'x-delete-at': '2000000000'}),
                         {'x-delete-at': '2000000100'})
        mapping = swift(remote_delete_after=3600)     # default addition: one day
        self.assertEqual(expiry.segment_expiry_headers(mapping, {}),
                         {'x-delete-after': str(3600 + 86400)})
        self.assertEqual(expiry.expiry_headers(mapping, {}), {'x-delete-after': '3600'})

    def test_delete_after_applies_when_the_object_has_no_delete_at(self):
        mapping = swift(propagate_expiration=True, propagate_expiration_offset=5,
                        remote_delete_after=100)
        self.assertEqual(expiry.expiry_headers(mapping, {}), {'x-delete-after': '100'})

    def test_fence_and_garbage_are_no_expiry(self):
        mapping = swift(propagate_expiration=True)
        for value in ('9000000001', 'soon', ''):
            self.assertEqual(expiry.expiry_headers(mapping, {'x-delete-at': value}), {}, value)

    def test_expires_at_only_for_a_fixed_moment(self):
        mapping = swift(propagate_expiration=True, propagate_expiration_offset=-10)
        self.assertEqual(expiry.expires_at(mapping, {'x-delete-at': '1000'}), 990)
        self.assertIsNone(expiry.expires_at(swift(remote_delete_after=5), {}))

    def test_expiry_matches(self):
        mapping = swift(propagate_expiration=True, propagate_expiration_offset=10)
        local = {'x-delete-at': '2000000000'}
        self.assertTrue(expiry.expiry_matches(mapping, local, {'x-delete-at': '2000000010'}))
        self.assertFalse(expiry.expiry_matches(mapping, local, {'x-delete-at': '2000000000'}))
        self.assertFalse(expiry.expiry_matches(mapping, local, {}))
        self.assertTrue(expiry.expiry_matches(mapping, {}, {}))
        self.assertFalse(expiry.expiry_matches(mapping, {}, {'x-delete-at': '2000000010'}))
        after = swift(remote_delete_after=3600)
        remote = {'x-timestamp': '1000000000.50000', 'x-delete-at': '1000003600'}
        self.assertTrue(expiry.expiry_matches(after, {}, remote))
        self.assertFalse(expiry.expiry_matches(after, {}, dict(remote, **{
            'x-delete-at': '1000007200'})))
        self.assertFalse(expiry.expiry_matches(after, {}, {'x-timestamp': '1000000000.5'}))


def rule(prefix, days=1, status='Enabled', rule_id=None, **extra):
    out = {'ID': prefix if rule_id is None else rule_id, 'Filter': {'Prefix': prefix},
           'Status': status, 'Expiration': {'Days': days}}
    out.update(extra)
    return out


class TestLifecyclePlan(unittest.TestCase):
    P = 'abc/AUTH_ü/cont/'

    def test_days_round_as_the_original(self):
        self.assertEqual([lifecycle.rule_days(s) for s in (43200, 86400, 129599, 129600)],
                         [1, 1, 1, 2])

    def test_empty_bucket_gets_our_rule(self):
        self.assertEqual(lifecycle.plan([], self.P, 3),
                         (lifecycle.APPLIED, [rule(self.P, 3)], None))

    def test_same_rule_is_unchanged_other_days_replaced_others_kept(self):
        other = rule('elsewhere/', 9)
        self.assertEqual(lifecycle.plan([other, rule(self.P, 3)], self.P, 3)[0],
                         lifecycle.UNCHANGED)
        self.assertEqual(lifecycle.plan([other, rule(self.P, 3)], self.P, 5),
                         (lifecycle.APPLIED, [other, rule(self.P, 5)], None))

    def test_covering_enabled_rule_is_a_conflict(self):
        for theirs in (rule('abc/', 9), rule('', 9, rule_id='all'),
                       {'ID': 'old', 'Prefix': 'abc/AUTH', 'Status': 'Enabled',
                        'Expiration': {'Days': 1}},
                       {'ID': 'tags', 'Filter': {'And': {'Prefix': 'abc/', 'Tags': []}},
                        'Status': 'Enabled', 'Expiration': {'Days': 1}}):
            outcome, rules, conflict = lifecycle.plan([theirs], self.P, 3)
            self.assertEqual((outcome, rules, conflict), (lifecycle.CONFLICT, None, theirs))

    def test_disabled_or_narrower_rules_do_not_conflict(self):
        fake = rule('', 30000, status='Disabled', rule_id='fakerule')    # the original's
        narrower = rule(self.P + 'sub/', 1)
        self.assertEqual(lifecycle.plan([fake, narrower], self.P, 3),
                         (lifecycle.APPLIED, [fake, narrower, rule(self.P, 3)], None))

    def test_our_id_on_a_rule_that_is_not_ours_is_a_conflict(self):
        for theirs in (rule(self.P, 3, status='Disabled'),
                       rule(self.P, 3, Transitions=[{'Days': 1, 'StorageClass': 'GLACIER'}])):
            self.assertEqual(lifecycle.plan([theirs], self.P, 3)[0], lifecycle.CONFLICT)

    def test_long_prefix_gets_a_short_unique_id(self):
        long_prefix = 'x' * 300 + '/'
        rid = lifecycle.rule_id(long_prefix)
        self.assertEqual(len(rid), 255)
        self.assertNotEqual(rid, lifecycle.rule_id('x' * 301 + '/'))


class FakeBucket:
    """get/put lifecycle configuration on a list of rules (None: no configuration);
    ``clobbers`` are configurations a concurrent writer puts over each of our writes."""

    def __init__(self, rules=None, clobbers=()):
        self.rules = rules
        self.clobbers = list(clobbers)
        self.puts = 0
        self.prefix = 'abc/AUTH_a/c/'

    def _retried(self, op, **params):
        if op == 'get_bucket_lifecycle_configuration':
            if not self.rules:
                raise RemoteError(404, 'none', code=lifecycle.NO_CONFIGURATION)
            return {'Rules': list(self.rules)}
        self.puts += 1
        self.rules = params['LifecycleConfiguration']['Rules']
        if self.clobbers:
            self.rules = self.clobbers.pop(0)
        return {}


class TestApplyRule(unittest.TestCase):
    def apply(self, bucket, days=2):
        return lifecycle.apply_rule(bucket, days, sleep=lambda s: None)

    def test_written_then_read_back(self):
        bucket = FakeBucket()
        self.assertEqual(self.apply(bucket), (lifecycle.APPLIED, None))
        self.assertEqual((bucket.puts, bucket.rules), (1, [rule(bucket.prefix, 2)]))
        self.assertEqual(self.apply(bucket), (lifecycle.UNCHANGED, None))
        self.assertEqual(bucket.puts, 1)

    def test_rule_lost_to_a_concurrent_writer_is_written_again(self):
        theirs = rule('other/', 5)
        bucket = FakeBucket(None, clobbers=[[theirs]])
        self.assertEqual(self.apply(bucket), (lifecycle.APPLIED, None))
        self.assertEqual(bucket.rules, [theirs, rule(bucket.prefix, 2)])
        self.assertEqual(bucket.puts, 2)

    def test_writes_are_bounded_when_the_rule_keeps_getting_lost(self):
        bucket = FakeBucket(None, clobbers=[[rule('x/', 1)]] * 10)
        self.assertEqual(self.apply(bucket)[0], lifecycle.APPLIED)
        self.assertEqual(bucket.puts, lifecycle.WRITES)

    def test_listing_instead_of_configuration_means_unsupported(self):
        bucket = FakeBucket()
        bucket._retried = lambda op, **p: {'ResponseMetadata': {}}     # s3api: a listing
        self.assertEqual(self.apply(bucket), (lifecycle.UNSUPPORTED, None))

    def test_not_implemented_means_unsupported(self):
        bucket = FakeBucket()

        def refuse(op, **params):
            raise RemoteError(501, 'no', code='NotImplemented')
        bucket._retried = refuse
        self.assertEqual(self.apply(bucket), (lifecycle.UNSUPPORTED, None))


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class TestExpiryRule(unittest.TestCase):
    def make(self, outcome=(lifecycle.APPLIED, None), features=None, delete_after=86400):
        provider = mock.Mock(features=features or Features(lifecycle=True), prefix='p/')
        provider.name = 's3'
        provider.set_expiry_rule.return_value = outcome
        logger = mock.Mock()
        clock = FakeClock()
        mapping = make_mapping(remote_delete_after=delete_after)
        return ExpiryRule(mapping, provider, 'AUTH_a/c', logger, clock), provider, logger, clock

    def test_applied_once_then_rechecked_hourly(self):
        apply, provider, logger, clock = self.make()
        apply()
        apply()
        provider.set_expiry_rule.assert_called_once_with(1)
        self.assertIn('1 day(s)', logger.info.call_args[0][0] % logger.info.call_args[0][1:])
        clock.now += RULE_RECHECK
        apply()
        self.assertEqual(provider.set_expiry_rule.call_count, 2)

    def test_conflict_is_one_error_and_never_retried(self):
        theirs = rule('', 2, rule_id='theirs')
        apply, provider, logger, clock = self.make((lifecycle.CONFLICT, theirs))
        apply()
        clock.now += 10 * RULE_RECHECK
        apply()
        provider.set_expiry_rule.assert_called_once_with(1)
        self.assertEqual(logger.error.call_count, 1)
        line = logger.error.call_args[0][0] % logger.error.call_args[0][1:]
        self.assertIn("rule 'theirs'", line)
        self.assertNotIn('\n', line)

    def test_unsupported_is_one_warning(self):
        apply, provider, logger, clock = self.make((lifecycle.UNSUPPORTED, None))
        for _ in range(3):
            apply()
            clock.now += RULE_RECHECK
        provider.set_expiry_rule.assert_called_once_with(1)
        self.assertEqual(logger.warning.call_count, 1)
        self.assertIn('does not support bucket lifecycle rules',
                      logger.warning.call_args[0][0] % logger.warning.call_args[0][1:])

    def test_transient_failure_is_retried_later_not_in_a_loop(self):
        apply, provider, logger, clock = self.make()
        provider.set_expiry_rule.side_effect = RemoteError(503, 'busy')
        apply()
        apply()
        self.assertEqual(provider.set_expiry_rule.call_count, 1)
        clock.now += RULE_RETRY
        provider.set_expiry_rule.side_effect = None
        apply()
        self.assertEqual(provider.set_expiry_rule.call_count, 2)
        self.assertEqual(logger.warning.call_count, 1)

    def test_refusal_is_one_error(self):
        apply, provider, logger, clock = self.make()
        provider.set_expiry_rule.side_effect = RemoteError(400, 'MalformedXML', code='Bad')
        apply()
        clock.now += RULE_RECHECK
        apply()
        self.assertEqual((provider.set_expiry_rule.call_count, logger.error.call_count), (1, 1))

    def test_nothing_without_delete_after_or_with_per_object_expiry(self):
        apply, provider, _logger, _clock = self.make(delete_after=0)
        apply()
        apply, provider2, _logger, _clock = self.make(features=Features(expiry=True))
        apply()
        provider.set_expiry_rule.assert_not_called()
        provider2.set_expiry_rule.assert_not_called()

    def test_target_without_lifecycle_is_one_warning(self):
        apply, provider, logger, _clock = self.make(features=Features())
        apply()
        apply()
        provider.set_expiry_rule.assert_not_called()
        self.assertEqual(logger.warning.call_count, 1)


class TestExpiredRemotely(unittest.TestCase):
    def test_past_fixed_expiry_only(self):
        provider = mock.Mock(features=Features(expiry=True))
        provider.expires_at.return_value = 100
        self.assertTrue(expired_remotely(provider, {}, 100))
        self.assertFalse(expired_remotely(provider, {}, 99))
        provider.expires_at.return_value = None
        self.assertFalse(expired_remotely(provider, {}, 10 ** 10))
        provider = mock.Mock(features=Features(lifecycle=True))
        self.assertFalse(expired_remotely(provider, {}, 10 ** 10))
        provider.expires_at.assert_not_called()


if __name__ == '__main__':
    unittest.main()

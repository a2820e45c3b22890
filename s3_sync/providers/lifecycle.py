"""The S3 bucket lifecycle rule that implements ``remote_delete_after`` (behaviour 4.10).

One rule per mapping prefix (``<hash>/<account>/<container>/``, ``<custom_prefix>/`` or ``""``),
in the original's format so rules it wrote are recognised as ours::

    {"ID": prefix, "Filter": {"Prefix": prefix}, "Status": "Enabled",
     "Expiration": {"Days": round(remote_delete_after / 86400)}}

S3 counts the days from the object's last write, as X-Delete-After does on Swift.

Applying it is read-modify-write of the bucket's whole configuration (S3 has no per-rule API):

* our rule there with the same Days: nothing to write;
* our rule there with other Days: replaced (``remote_delete_after`` changed);
* an enabled rule of someone else whose prefix covers ours (a prefix of our prefix; none means
  the whole bucket), or a rule with our ID that is not ours to change (disabled by hand, or
  with transitions or filters of its own): ``CONFLICT``, nothing written, never clobbered;
* otherwise ours is appended and every other rule is written back unchanged.

Targets without lifecycle support answer the GET with NotImplemented/501, or (Swift's s3api,
which routes ``?lifecycle`` to its bucket controller) with a bucket listing instead of a
configuration: ``UNSUPPORTED``. Unlike the original we write no disabled ``fakerule``
placeholder into an empty configuration; one it left (disabled) is kept and ignored.
"""
import hashlib
import random

import eventlet

from s3_sync.providers.base import RemoteError
from s3_sync.retry import NOT_IMPLEMENTED_CODES

DAY = 86400
MAX_ID = 255        # S3's limit on a rule ID
WRITES = 3          # writes of one rule before the periodic re-check takes over
SETTLE = (0.2, 1.0)     # seconds to let concurrent writers land before reading back

APPLIED, UNCHANGED, CONFLICT, UNSUPPORTED = 'applied', 'unchanged', 'conflict', 'unsupported'
NO_CONFIGURATION = 'NoSuchLifecycleConfiguration'


def rule_days(seconds):
    """Whole days, rounded as the original did; the config loader refuses values below a
    half day on S3 targets (0 days is not a valid rule)."""
    return int(seconds / DAY + 0.5)


def rule_id(prefix):
    """The prefix itself, as the original; a hash-shortened form past S3's 255 characters."""
    if len(prefix) <= MAX_ID:
        return prefix
    digest = hashlib.md5(prefix.encode('utf-8')).hexdigest()
    return prefix[:MAX_ID - len(digest) - 1] + '~' + digest


def our_rule(prefix, days):
    return {'ID': rule_id(prefix), 'Filter': {'Prefix': prefix}, 'Status': 'Enabled',
            'Expiration': {'Days': days}}


def rule_prefix(rule):
    """The key prefix a rule covers: Filter.Prefix, Filter.And.Prefix, then the deprecated
    Rule.Prefix; none means every key."""
    filt = rule.get('Filter')
    if filt is not None:
        return filt.get('Prefix', (filt.get('And') or {}).get('Prefix', '')) or ''
    return rule.get('Prefix') or ''


def _is_ours(rule, prefix):
    """A rule we could have written for this prefix: same ID and prefix, enabled, expiring by
    Days only (a rule with transitions, tags or other actions is someone's own)."""
    plain = set(rule) <= {'ID', 'Filter', 'Prefix', 'Status', 'Expiration'}
    filt = rule.get('Filter')
    return (plain and rule.get('ID') == rule_id(prefix) and rule.get('Status') == 'Enabled'
            and (filt is None or set(filt) == {'Prefix'}) and rule_prefix(rule) == prefix
            and set(rule.get('Expiration') or {}) == {'Days'})


def plan(rules, prefix, days):
    """``(outcome, rules to write or None, the conflicting rule or None)``."""
    ours = None
    for rule in rules:
        if _is_ours(rule, prefix):
            ours = rule
        elif rule.get('ID') == rule_id(prefix):
            return CONFLICT, None, rule
        elif rule.get('Status') == 'Enabled' and prefix.startswith(rule_prefix(rule)):
            return CONFLICT, None, rule
    if ours is not None and ours['Expiration']['Days'] == days:
        return UNCHANGED, None, None
    kept = [rule for rule in rules if rule is not ours]
    return APPLIED, kept + [our_rule(prefix, days)], None


def describe(rule):
    """A rule in a few words for a log line."""
    what = rule.get('Expiration') or {k: v for k, v in rule.items()
                                      if k not in ('ID', 'Filter', 'Prefix', 'Status')}
    return 'rule %r (%s, prefix %r, %s)' % (rule.get('ID'), rule.get('Status'),
                                            rule_prefix(rule), what)


def _unsupported(err):
    return err.status == 501 or err.code in NOT_IMPLEMENTED_CODES


def current_rules(provider):
    """The bucket's rules (``[]`` when it has none), or None when the target has no
    lifecycle support."""
    try:
        resp = provider._retried('get_bucket_lifecycle_configuration')
    except RemoteError as err:
        if err.code == NO_CONFIGURATION:
            return []
        if _unsupported(err):
            return None
        raise
    # A store that has a configuration always has a rule in it (S3 refuses an empty one).
    return resp['Rules'] if resp.get('Rules') else None


def apply_rule(provider, days, sleep=eventlet.sleep):
    """``(outcome, conflicting rule or None)`` for the S3 provider's prefix.

    A write is read back after a short random pause: several writers (the daemons of every
    node, the containers of a ``"/*"`` mapping sharing a bucket) may read-modify-write the one
    configuration at the same time, and the last write drops the others' rules. A rule found
    missing is written again, up to ``WRITES`` times; past that the caller's periodic re-check
    restores it."""
    prefix = provider.prefix
    for attempt in range(WRITES + 1):
        rules = current_rules(provider)
        if rules is None:
            return UNSUPPORTED, None
        outcome, new_rules, conflict = plan(rules, prefix, days)
        if outcome == UNCHANGED and attempt:
            return APPLIED, None    # our write is there
        if outcome != APPLIED or attempt == WRITES:
            return outcome, conflict
        try:
            provider._retried('put_bucket_lifecycle_configuration',
                              LifecycleConfiguration={'Rules': new_rules})
        except RemoteError as err:
            if _unsupported(err):
                return UNSUPPORTED, None
            raise
        sleep(random.uniform(*SETTLE))

"""Expiry on the sync side: ``remote_delete_after`` as a bucket lifecycle rule, and objects
whose remote copy would already be expired.

Stores whose objects carry their own expiry (Swift: ``features.expiry``) get it per object from
the provider, on every PUT and POST (``providers.expiry``). Stores with bucket lifecycle rules
(S3: ``features.lifecycle``) get one rule per mapping prefix, applied when the container is
crawled (``providers.lifecycle``): once per daemon start and then re-checked every
``RULE_RECHECK`` seconds (a rule lost to a concurrent read-modify-write of the bucket's
configuration, from another node or another container of a ``"/*"`` mapping, comes back).

Every outcome is one log line per container, never a loop: a conflicting rule is an error
(ours is not written, theirs is kept), a target without lifecycle support a warning, a
transient failure a warning and another try ``RULE_RETRY`` seconds later.
"""
from s3_sync import metadata
from s3_sync.local import is_fence
from s3_sync.log import one_line
from s3_sync.providers import lifecycle
from s3_sync.providers.base import RemoteError

RULE_RECHECK = 3600.0
RULE_RETRY = 300.0


class ExpiryRule:
    """Keeps ``remote_delete_after`` applied as the lifecycle rule of one container's prefix."""

    def __init__(self, mapping, provider, path, logger, clock):
        self.provider = provider
        self.path = path
        self.logger = logger
        self.clock = clock
        self.days = lifecycle.rule_days(mapping.remote_delete_after)
        # Stores whose objects carry their own expiry get it per object instead.
        self.wanted = bool(mapping.remote_delete_after) and not provider.features.expiry
        self._next = 0.0
        self._settled = False       # conflict, unsupported or refused: not tried again

    def __call__(self):
        if not self.wanted or self._settled or self.clock() < self._next:
            return
        if not self.provider.features.lifecycle:
            self._give_up('warning', 'the target (%s) has no S3 lifecycle rules' % getattr(
                self.provider, 'where', self.provider.name))
            return
        try:
            outcome, conflict = self.provider.set_expiry_rule(self.days)
        except RemoteError as exc:
            if exc.retryable:
                self._next = self.clock() + RULE_RETRY
                self.logger.warning('%s: remote_delete_after: lifecycle rule not applied yet, '
                                    'retried in %ds: %s', self.path, RULE_RETRY,
                                    one_line(exc.message))
            else:
                self._give_up('error', 'the target refused it: %s' % one_line(exc.message))
            return
        self._next = self.clock() + RULE_RECHECK
        if outcome == lifecycle.APPLIED:
            self.logger.info('%s: remote_delete_after: lifecycle rule %r set, objects expire '
                             '%d day(s) after they are written', self.path,
                             self.provider.prefix, self.days)
        elif outcome == lifecycle.CONFLICT:
            self._give_up('error', 'bucket already has %s, which covers prefix %r; it is kept '
                          'and ours not written' % (lifecycle.describe(conflict),
                                                    self.provider.prefix))
        elif outcome == lifecycle.UNSUPPORTED:
            self._give_up('warning', 'the target does not support bucket lifecycle rules')

    def next_at(self):
        """When the rule wants another look (epoch seconds); None: not again."""
        if not self.wanted or self._settled:
            return None
        return self._next

    def _give_up(self, level, why):
        self._settled = True
        getattr(self.logger, level)('%s: remote_delete_after not applied: %s (remote objects '
                                    'will not expire)', self.path, why)


def expired_remotely(provider, headers, now):
    """True when the remote copy of an object with these local headers would already be
    expired (a propagated X-Delete-At plus a negative offset in the past)."""
    if not provider.features.expiry:
        return False
    at = provider.expires_at(headers)
    return at is not None and at <= now


def expiry_matches(provider, local_headers, remote_headers):
    """True when the remote copy already carries the expiry the local object asks for (always,
    on stores whose objects have none of their own)."""
    return not provider.features.expiry or provider.expiry_matches(local_headers,
                                                                   remote_headers)


def propagated_headers(headers):
    """The local headers a write or metadata update sends: those ``metadata.sync_headers``
    keeps, plus X-Delete-At for targets that propagate expiry (the archiver's fence is no
    expiry)."""
    wanted = metadata.sync_headers(headers)
    delete_at = headers.get('x-delete-at')
    if delete_at and not is_fence(delete_at):
        wanted['x-delete-at'] = delete_at
    return wanted

"""The one retry policy: exponential backoff with full jitter.

Used for single remote requests (`RetryPolicy.call`) and for rows the crawler re-tries in a later
cycle (`backoff_delay`), so every wait in the product grows the same way. botocore's and
swiftclient's own retries are switched off so requests are not retried twice.
"""
import random

import eventlet


def backoff_delay(attempt, base=0.5, cap=300.0):
    """Seconds to wait before try number ``attempt + 1`` (attempt counts from 1).

    Full jitter (uniform in [0, min(cap, base * 2**attempt)]) keeps many daemons that failed at
    the same moment from retrying in lock-step against a throttling remote."""
    return random.uniform(0, min(cap, base * (2 ** min(attempt, 30))))


# Statuses that say "not now" rather than "no": request timeout, too many requests, and
# Swift's 498 rate limit; with every 5xx but 501 (not implemented will not become implemented).
RETRYABLE_STATUSES = (408, 429, 498)
# S3 error codes that mean the same, whatever status a clone sends them with.
RETRYABLE_CODES = frozenset(('SlowDown', 'Throttling', 'ThrottlingException', 'RequestTimeout',
                             'InternalError', 'ServiceUnavailable'))
NOT_IMPLEMENTED_CODES = frozenset(('NotImplemented', 'MethodNotAllowed'))


def retryable_status(status, code=None):
    """The one rule for remote answers: may the same request succeed later?"""
    if status == 501 or code in NOT_IMPLEMENTED_CODES:
        return False
    return status >= 500 or status in RETRYABLE_STATUSES or code in RETRYABLE_CODES


def is_retryable(exc):
    """True for failures that may go away: 5xx/429/408, throttling, resets and timeouts."""
    retryable = getattr(exc, 'retryable', None)
    if retryable is not None:
        return retryable
    return isinstance(exc, (ConnectionError, TimeoutError, eventlet.Timeout))


class RetryPolicy:
    """Call a function, retrying retryable failures up to ``attempts`` tries in all."""

    def __init__(self, attempts=4, base=0.5, cap=20.0, sleep=eventlet.sleep):
        self.attempts = attempts
        self.base = base
        self.cap = cap
        self._sleep = sleep

    def call(self, fn, *args, **kwargs):
        for attempt in range(1, self.attempts + 1):
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                if attempt == self.attempts or not is_retryable(exc):
                    raise
                self.pause(attempt)

    def pause(self, attempt):
        """Wait as this policy does after failed try number ``attempt`` (from 1): for callers
        that retry something ``call`` cannot wrap, such as a stream read on from where it
        broke."""
        self._sleep(backoff_delay(attempt, self.base, self.cap))


# The daemon's: nobody waits on a row, so a remote gets time to recover.
DEFAULT_POLICY = RetryPolicy()
# The shunt's and proxymc's: a client is waiting for the answer, so one quick second try.
CLIENT_POLICY = RetryPolicy(attempts=2, base=0.1, cap=0.5)



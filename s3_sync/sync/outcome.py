"""What handling a row can end in, as the crawler sees it.

``None`` means done (propagated, unchanged, skipped on purpose). A :class:`Retry` means "not now":
the crawler records the row in the status file's pending list and hands it back at ``due``, while
its checkpoint moves on past the row.

Inside the sync side, :class:`Propagated` says "the remote now holds this object" (so archive
mode may drop the local copy).
"""
from swift.common.utils import Timestamp

# How long a stale local read (an object server behind the container row) waits to be re-read.
STALE_RETRY_SECONDS = 1.0


class Retry:
    __slots__ = ('due', 'error')

    def __init__(self, due, error=None):
        self.due = due          # epoch seconds; the row is not handed back before then
        self.error = error      # one line, or None for a plain deferral (copy_after, stale read)

    def __repr__(self):
        return 'Retry(due=%r, error=%r)' % (self.due, self.error)


class DestinationUnavailable(Exception):
    """The remote cannot take anything for this container now (missing bucket, bad
    credentials, unreachable): the crawler leaves all of its rows for later, untouched.

    ``fresh`` is True when this came from a new check, so the crawler logs it once per check
    rather than once per pass."""

    def __init__(self, message, fresh=True):
        super().__init__(message)
        self.fresh = fresh


class Propagated:
    """The remote holds the row's object: its ``etag`` and ``size`` there, and the local
    (container, object) ``segments`` it is made of (large objects; archive drops them)."""
    __slots__ = ('etag', 'size', 'segments')

    def __init__(self, etag, size, segments=()):
        self.etag, self.size, self.segments = etag, size, segments


def stale_read(headers, meta_ts, now):
    """A Retry when the object server answered with an older version than the row's."""
    # X-Timestamp carries no offset; compare at the precision both sides share.
    local_ts = Timestamp(headers.get('x-timestamp', 0))
    if local_ts < Timestamp(meta_ts.normal):
        return Retry(now + STALE_RETRY_SECONDS,
                     'stale local read (%s < %s)' % (local_ts.internal, meta_ts.internal))
    return None

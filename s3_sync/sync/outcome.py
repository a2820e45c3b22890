"""What handling a row can end in, as the crawler sees it.

``None`` means done (propagated, unchanged, skipped on purpose). A :class:`Retry` means "not now":
the crawler records the row in the status file's pending list and hands it back at ``due``, while
its checkpoint moves on past the row.
"""


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

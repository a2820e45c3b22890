"""The merge-join of one page of the source listing with the local listing (behaviour 7.3).

Both sides are walked in name order. A name only at the source is copied; a name on both
sides is copied when the local copy is older than the source's (a newer local one is a client's
write and wins); a name only here is a candidate for deletion (``GONE``), which the caller
deletes only if it still carries the migrator's mark.

Safety: nothing is ever judged missing at the source beyond what the page showed. Local names
after the page's last source name are left alone unless the page reached the end of the source
listing (``end``), and the caller never passes ``end`` for an empty listing from the start
(the "source suddenly lists empty" rail lives in ``container_pass``).
"""
import collections

from swift.common.utils import Timestamp

from s3_sync.providers.swift_conn import listing_epoch

COPY, GONE, LARGE = 'copy', 'gone', 'large'

# One decision: ``kind`` is COPY (``source`` entry), GONE (``local`` entry) or LARGE (equal
# times, different hashes: a large object whose local form differs from the source's listing
# hash by construction; the caller checks it).
Action = collections.namedtuple('Action', 'kind name source local')


def listing_timestamp(entry):
    """A listing entry's ``last_modified`` as a Swift Timestamp (10 us resolution, so the
    source's and our listing's renderings of one time compare equal)."""
    return Timestamp(listing_epoch(entry['last_modified']))


def merge(page, local, marker, end):
    """Yield the Actions for one source ``page`` (listing dicts, name order) against the
    ``local`` listing iterator (name order, starting after ``marker``). ``end``: the page
    reached the end of the source listing, so local names after it are judged too.

    Counting the page (``scanned``) is the caller's: every source entry is one."""
    local = iter(local)
    here = _next(local)
    last = page[-1]['name'] if page else marker
    for source in page:
        name = source['name']
        while here is not None and here['name'] < name:
            yield Action(GONE, here['name'], None, here)
            here = _next(local)
        if here is None or here['name'] != name:
            yield Action(COPY, name, source, None)
            continue
        source_ts, local_ts = listing_timestamp(source), listing_timestamp(here)
        if local_ts < source_ts:
            yield Action(COPY, name, source, here)
        elif local_ts == source_ts and _hash(here) != _hash(source):
            yield Action(LARGE, name, source, here)
        here = _next(local)
    while here is not None and (end or here['name'] <= last):
        yield Action(GONE, here['name'], None, here)
        here = _next(local)


def _hash(entry):
    # A listing hash may carry parameters (an SLO's "; slo_etag=...") and quotes.
    return entry.get('hash', '').split(';')[0].strip().strip('"')


def _next(iterator):
    return next(iterator, None)

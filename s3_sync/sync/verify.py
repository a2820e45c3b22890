"""Batched verification: does the remote reflect these rows?

Every replica re-checks every row once it is older than ``verification_slack``, which is how work
left by a dead node gets done. The original spent one remote HEAD per row per replica; we list the
remote over the name range the rows span and compare, so verifying 1,000 rows costs about one
LIST page. When the rows are sparse in a big bucket the listing is cut short and the rest fall
back to HEADs, so a verification never costs more than a few times the HEADs it replaces.

A remote object reflects a live row when its ETag and size match and it was written no earlier
than the row's newest timestamp: a remote copy older than a local metadata change (same bytes,
new metadata) is not in sync even though its ETag matches. This relies on the NTP-synchronised
clocks Swift itself relies on for last-write-wins.
"""
import math
import time

from s3_sync.providers.base import written_after
from s3_sync.rows import is_archiver_tombstone, row_timestamps


# Listing entries read per row to verify before falling back to HEADs (plus a flat allowance).
LIST_BUDGET_PER_ROW = 3
LIST_BUDGET_FLAT = 1000


def rows_needing_repair(rows, provider, mapping, clock=time.time):
    """The rows (in the order given) whose remote state does not reflect them.

    Only rows whose verdict depends on the remote are looked up there: archive mappings,
    unpropagated deletes and rows not yet past ``copy_after`` are decided from the row alone,
    so they cost no listing."""
    if not rows:
        return []
    now = clock()
    verdicts = {id(row): local_verdict(row, mapping, now) for row in rows}
    ask = [row for row in rows if verdicts[id(row)] is None]
    if ask:
        listed, covered_until = _list_range(ask, provider)
        for row in ask:
            name = row['name']
            remote = listed.get(name) if name <= covered_until else provider.head_object(name)
            verdicts[id(row)] = remote_reflects(row, remote)
    return [row for row in rows if not verdicts[id(row)]]


def _list_range(rows, provider):
    """Remote objects named like the rows, and the last name the listing is complete up to."""
    names = sorted({row['name'] for row in rows})
    wanted = set(names)
    budget = LIST_BUDGET_PER_ROW * len(names) + LIST_BUDGET_FLAT
    listed = {}
    # A name's own prefix sorts just before it, so the listing starts at the first name.
    marker, end_marker = names[0][:-1], names[-1] + '\x00'
    seen = 0
    for obj in provider.iter_objects(marker=marker, end_marker=end_marker):
        if obj.name in wanted:
            listed[obj.name] = obj
        seen += 1
        if seen >= budget:
            return listed, obj.name
    return listed, end_marker


def _floor_ms(ts):
    return math.floor(float(ts) * 1000) / 1000.0


def _whole_seconds(ts):
    # S3 listings (moto, Swift's s3api) give Last-Modified in whole seconds, truncated: a copy
    # made in the same second as the write must not look older than it.
    return math.floor(float(ts))


def local_verdict(row, mapping, now):
    """Whether the remote reflects ``row`` when the row alone decides it; None otherwise."""
    if row['deleted']:
        if mapping.archive:
            # the archiver's own delete keeps the remote copy; a client's removes it
            return True if is_archiver_tombstone(row) else None
        return None if mapping.propagate_delete else True
    _data_ts, _ctype_ts, meta_ts = row_timestamps(row)
    if now < float(meta_ts) + mapping.copy_after:
        return False        # not eligible yet: the handler defers it to its due time
    if mapping.archive:
        return False        # still local and eligible: it has to be archived
    if mapping.remote_delete_after and \
            now >= float(meta_ts) + mapping.copy_after + mapping.remote_delete_after:
        # Its remote copy has expired (or would have by now, had it been written in time):
        # copying it again would only make a copy the mapping asks to be gone.
        return True
    return None


def remote_reflects(row, remote):
    """True when ``remote`` (a RemoteObject or None) is what propagating ``row`` would leave."""
    data_ts, _ctype_ts, meta_ts = row_timestamps(row)
    if row['deleted']:
        # A remote object written after the local delete is someone else's newer write.
        return remote is None or written_after(remote.last_modified, float(data_ts))
    if remote is None:
        return False
    # A copy made in the second of the write has a Last-Modified that cannot tell "after" from
    # "before": good enough for the data (the ETag tells versions apart), not for a POST, whose
    # metadata a listing does not show (a needless check then costs a copy, not an upload).
    posted = meta_ts > data_ts
    if remote.last_modified < (_floor_ms(meta_ts) if posted else _whole_seconds(meta_ts)):
        return False
    if ';swift_bytes=' in row['content_type']:
        total = int(row['content_type'].rsplit(';swift_bytes=', 1)[1])
        return remote.size == total
    return remote.etag == row['etag'] and remote.size == row['size']


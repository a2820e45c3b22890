"""Object expiry on Swift targets: the X-Delete-At / X-Delete-After a remote copy gets.

The rules are the original's (behaviour 5), so a Swift remote it wrote keeps the same expiry:

* ``propagate_expiration``: the local X-Delete-At plus ``propagate_expiration_offset`` becomes
  the remote X-Delete-At. It is ignored when ``remote_delete_after`` is set and the offset is 0.
* otherwise ``remote_delete_after``: X-Delete-After on every PUT and POST, so the remote copy
  expires that long after it was last written (Swift turns it into X-Delete-At = write time +
  delay; an S3 lifecycle rule likewise counts from the object's last write).
* segments live ``remote_delete_after_addition`` seconds longer than their manifest, so a
  manifest never outlives its segments; that holds for a propagated X-Delete-At too (the
  original gave segments no expiry there, and they stayed on the remote for ever).

What we do differently, and why:

* A local object without X-Delete-At gets none remotely (nor X-Delete-After): a local POST that
  removed the expiry removes the remote one too (a Swift POST without it drops it). The
  original kept the stale remote expiry.
* The archiver's fence (``s3_sync.local.is_fence``) is an X-Delete-At of ours, never the
  object's: it is never propagated.
* A propagated expiry already in the past (a negative offset) is not sent (Swift refuses it with
  400, for ever): ``expires_at`` lets the sync side drop the remote copy instead.

Headers in and out are Swift-style (lower-case keys).
"""
from s3_sync.local import is_fence

DELETE_AT = 'x-delete-at'
DELETE_AFTER = 'x-delete-after'
# Swift computes X-Delete-At = int(request timestamp + X-Delete-After): up to a second early.
DELETE_AFTER_SLACK = 1.0


def local_delete_at(headers):
    """The object's own X-Delete-At (an int), or None (none set, unreadable, or our fence)."""
    value = headers.get(DELETE_AT)
    if not value or is_fence(value):
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def propagates(mapping):
    """Whether the mapping copies X-Delete-At (behaviour 2.2: not when ``remote_delete_after``
    is set and the offset is 0)."""
    return bool(mapping.propagate_expiration) and not (
        mapping.remote_delete_after and not mapping.propagate_expiration_offset)


def _delete_after(mapping, segment):
    delay = int(mapping.remote_delete_after or 0)
    if delay and segment:
        delay += int(mapping.remote_delete_after_addition or 0)
    return delay


def expiry_headers(mapping, headers, segment=False):
    """The expiry headers a PUT or POST of the remote copy carries.

    ``headers`` are the local object's (for a segment: its manifest's, so the segment follows
    the manifest). ``{}`` means no expiry, which on a POST also removes a remote one."""
    if propagates(mapping):
        delete_at = local_delete_at(headers)
        if delete_at is not None:
            delete_at += int(mapping.propagate_expiration_offset or 0)
            if segment:
                delete_at += int(mapping.remote_delete_after_addition or 0)
            return {DELETE_AT: str(delete_at)}
    delay = _delete_after(mapping, segment)
    return {DELETE_AFTER: str(delay)} if delay else {}


def segment_expiry_headers(mapping, manifest_headers):
    """The expiry headers of a large object's segment upload (see ``expiry_headers``)."""
    return expiry_headers(mapping, manifest_headers, segment=True)


def expires_at(mapping, headers):
    """The fixed moment (epoch seconds) the remote copy would expire at, or None: only a
    propagated X-Delete-At is fixed; X-Delete-After counts from the write."""
    value = expiry_headers(mapping, headers).get(DELETE_AT)
    return int(value) if value else None


def expiry_matches(mapping, local_headers, remote_headers, segment=False):
    """True when the remote copy (its HEAD headers) already has the expiry the local object
    asks for: a propagated X-Delete-At equal, X-Delete-After's X-Delete-At within a second of
    the remote's X-Timestamp plus the delay, no expiry when none is asked for."""
    wanted = expiry_headers(mapping, local_headers, segment)
    remote_at = remote_headers.get(DELETE_AT)
    if DELETE_AT in wanted:
        return remote_at == wanted[DELETE_AT]
    if DELETE_AFTER in wanted:
        try:
            lived = int(remote_at) - float(remote_headers['x-timestamp'])
        except (KeyError, TypeError, ValueError):
            return False
        return abs(lived - int(wanted[DELETE_AFTER])) <= DELETE_AFTER_SLACK
    return not remote_at

"""What a migrated object carries locally: the source's metadata and time, and the marks.

* The source's user metadata (already decoded from RFC 2047 by the provider), content-type,
  content-encoding/-disposition, the other headers a Swift POST may set, and X-Delete-At.
* ``X-Timestamp``: the source's time (behaviour 7.4), so a local client write (always later)
  wins over the migrated copy, and a migrated copy never replaces a newer local object (the
  object server refuses an older PUT with 409).
* The migrator's mark, ``X-Object-Transient-Sysmeta-Multi-Cloud-Internal-Migrator``: a client PUT
  replaces the object without it and a client POST drops transient sysmeta, so an object that
  still has it is exactly as the migrator left it, and may be deleted when its source goes.
"""
import email.utils

from swift.common.utils import Timestamp

from s3_sync.metadata import DLO_HEADER, META_PREFIX

MIGRATOR_TAG = 'X-Object-Transient-Sysmeta-Multi-Cloud-Internal-Migrator'
REMOTE_ETAG = MIGRATOR_TAG + '-Remote-Etag'
CONTAINER_STATE = 'X-Container-Sysmeta-Multi-Cloud-Internal-Migrator'
MIGRATING, MODIFIED, SRC_DELETED = 'migrating', 'modified', 'src_deleted'
# What a Swift object keeps besides user metadata (the object server's allowed_headers).
KEPT = ('content-type', 'content-encoding', 'content-disposition', 'cache-control',
        'content-language', 'expires', 'x-robots-tag', 'x-delete-at', DLO_HEADER)
# Within this many seconds a sub-second listing time is the same write as the header's
# whole-second Last-Modified (S3 floors it, GCS lists milliseconds; behaviour 7.4).
SAME_WRITE = 1.0


def header_time(headers):
    """When the source says the object was written: X-Timestamp (Swift, precise), else
    Last-Modified (whole seconds), else None."""
    if headers.get('x-timestamp'):
        return float(headers['x-timestamp'])
    parsed = email.utils.parsedate_tz(headers.get('last-modified') or '')
    return float(email.utils.mktime_tz(parsed)) if parsed else None


def source_timestamp(listing_time, headers):
    """The local X-Timestamp of a copy: the listing's time when it is finer than the header's
    and the same write; otherwise the later of the two."""
    from_header = header_time(headers)
    if from_header is None:
        return Timestamp(listing_time)
    if listing_time % 1 and abs(listing_time - from_header) <= SAME_WRITE and \
            'x-timestamp' not in headers:
        return Timestamp(listing_time)
    return Timestamp(max(listing_time, from_header))


def local_headers(source_headers, timestamp, now=None):
    """The PUT headers of a migrated copy (without Content-Length/ETag, which the caller sets
    for the body it sends). An X-Delete-At already past is dropped: the object server refuses
    it, and the caller skips such an object."""
    out = {}
    for key, value in source_headers.items():
        key = key.lower()
        if (key.startswith(META_PREFIX) and len(key) > len(META_PREFIX)) or key in KEPT:
            out[key] = value
    out['X-Timestamp'] = timestamp.internal
    out[MIGRATOR_TAG] = timestamp.internal
    return out


def expired(source_headers, now):
    """True when the source object has an X-Delete-At in the past (it is expiring there)."""
    try:
        return int(source_headers.get('x-delete-at')) <= now
    except (TypeError, ValueError):
        return False


def is_marked(local_headers):
    return bool(local_headers.get(MIGRATOR_TAG.lower()))


def existing_timestamp(local_headers):
    """The exact timestamp of a local object, for a delete just after it (behaviour 7.5)."""
    for key in ('x-backend-durable-timestamp', 'x-backend-timestamp', 'x-timestamp'):
        if local_headers.get(key):
            return Timestamp(local_headers[key])
    return Timestamp(header_time(local_headers) or 0)

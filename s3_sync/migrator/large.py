"""Large objects the migrator writes as local SLOs: S3 multipart objects (one segment per part)
and objects bigger than the cluster's ``max_file_size`` (cut into ``segment_size`` segments).

Segments go to ``<container>_segments`` under the original's names (Appendix A):
``<key>/<x-timestamp>/<total size>/<part 1 or segment size>/<%08d index from 1>``, written at the
object's timestamp and without the migrator's mark (they do not exist at the source). Every
byte is streamed from the source GET to the local PUT, segment by segment, with its MD5 computed
on the way: memory stays flat whatever the object's size. The whole is checked before the
manifest goes in (an S3 multipart ETag is ``md5(concat(part md5s))-N``; a single-PUT ETag is the
MD5 of the body); on a mismatch the segments written are deleted and the copy fails.

The manifest is written in Swift's stored form with the sysmeta the SLO middleware would add
(``slo_put_headers``), so the migrator needs no SLO middleware in its InternalClient pipeline.
"""
import binascii
import hashlib
import re

from s3_sync.metadata import DEFAULT_CONTENT_TYPE

SEGMENTS_SUFFIX = '_segments'
CHUNK = 65536
MPU_ETAG = re.compile(r'^[0-9a-fA-F]{32}-(\d+)$')
SLO_SYSMETA_ETAG = 'X-Object-Sysmeta-Slo-Etag'
SLO_SYSMETA_SIZE = 'X-Object-Sysmeta-Slo-Size'
OVERRIDE_ETAG = 'X-Object-Sysmeta-Container-Update-Override-Etag'


class CopyFailed(Exception):
    """One object could not be copied this time (the next pass tries again)."""


def mpu_parts(etag):
    """The part count of an S3 multipart ETag (``<md5>-<N>``), or None."""
    match = MPU_ETAG.match((etag or '').strip('"'))
    return int(match.group(1)) if match else None


def segments_container(container):
    return container + SEGMENTS_SUFFIX


def segment_name(key, timestamp, total, size, index):
    return '%s/%s/%d/%d/%08d' % (key, timestamp.internal, total, size, index)


def _range_size(segment):
    start, _, end = segment['range'].partition('-')
    return int(end) - int(start) + 1


def slo_put_headers(segments, body, content_type=None):
    """The headers of a raw SLO manifest PUT (what ``slo.py`` sets on a
    ``multipart-manifest=put``): the SLO flag, its ETag and size as sysmeta, the listing's
    override ETag and ``swift_bytes`` so listings show the whole object's size."""
    slo_md5 = hashlib.md5(usedforsecurity=False)
    total = 0
    for segment in segments:
        if segment.get('range'):
            slo_md5.update(('%s:%s;' % (segment['hash'], segment['range'])).encode('ascii'))
            total += _range_size(segment)
        else:
            slo_md5.update(segment['hash'].encode('ascii'))
            total += int(segment['bytes'])
    manifest_etag = hashlib.md5(body, usedforsecurity=False).hexdigest()
    content_type = (content_type or DEFAULT_CONTENT_TYPE).split(';swift_bytes=')[0]
    return {'X-Static-Large-Object': 'True',
            SLO_SYSMETA_ETAG: slo_md5.hexdigest(),
            SLO_SYSMETA_SIZE: str(total),
            'Etag': manifest_etag,
            OVERRIDE_ETAG: '%s; slo_etag=%s' % (manifest_etag, slo_md5.hexdigest()),
            'Content-Type': '%s;swift_bytes=%d' % (content_type, total)}


class HashingReader:
    """Reads at most ``limit`` bytes of ``reader`` (a file-like), hashing them."""

    def __init__(self, reader, limit):
        self.reader = reader
        self.left = limit
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.count = 0

    def read(self, size=-1):
        if self.left <= 0:
            return b''
        if size is None or size < 0 or size > self.left:
            size = self.left
        data = self.reader.read(size)
        self.left -= len(data)
        self.count += len(data)
        self.md5.update(data)
        return data


class SegmentedCopy:
    """Writes one large object's segments, then its manifest; undoes the segments if the
    whole does not check out."""

    def __init__(self, store, account, container, key, timestamp, total, size):
        self.store = store
        self.account = account
        self.container = segments_container(container)
        self.key = key
        self.timestamp = timestamp
        self.total = total
        self.size = size                 # part 1's size (MPU) or segment_size (oversize)
        self.written = []                # manifest entries
        self.ensured = False

    def put_segment(self, index, reader, length):
        """Stream ``length`` bytes of ``reader`` into segment ``index``; its MD5 hex."""
        if not self.ensured:
            self.ensure_container()
        name = segment_name(self.key, self.timestamp, self.total, self.size, index)
        hashing = HashingReader(reader, length)
        headers = {'X-Timestamp': self.timestamp.internal,
                   'Content-Type': DEFAULT_CONTENT_TYPE}
        status = self.store.put(self.account, self.container, name, headers, hashing, length)
        if status == 409:
            # This segment is there already at this timestamp (an earlier, interrupted copy):
            # read the source's bytes through the hash and keep it if they are the same.
            while hashing.read(CHUNK):
                pass
            there = self.store.head(self.account, self.container, name) or {}
            if there.get('etag', '').strip('"') != hashing.md5.hexdigest():
                status = 'a different segment with the same name (409)'
        if status not in (201, 409) or hashing.count != length:
            raise CopyFailed('segment /%s/%s: local %s after %d of %d bytes' % (
                self.container, name, status, hashing.count, length))
        etag = hashing.md5.hexdigest()
        self.written.append({'name': '/%s/%s' % (self.container, name), 'hash': etag,
                             'bytes': length, 'content_type': DEFAULT_CONTENT_TYPE})
        return etag

    def ensure_container(self):
        if self.store.container_headers(self.account, self.container) is None:
            self.store.create_container(self.account, self.container, {})
        self.ensured = True

    def multipart_etag(self):
        raw = b''.join(binascii.unhexlify(s['hash']) for s in self.written)
        return '%s-%d' % (hashlib.md5(raw, usedforsecurity=False).hexdigest(),
                          len(self.written))

    def abandon(self):
        """Delete the segments written so far (a failed copy must not leak them)."""
        for segment in self.written:
            _, container, name = segment['name'].split('/', 2)
            try:
                self.store.delete(self.account, container, name)
            except Exception:   # best effort: the failure being reported matters more
                pass
        self.written = []

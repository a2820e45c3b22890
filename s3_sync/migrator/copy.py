"""Copying one source object into the local cluster (behaviour 7.4).

One source GET per object (``get_raw``: a Swift SLO comes as its manifest), streamed into one
local PUT at the source's timestamp, with the source's ETag for the object server to check; a
source body that breaks partway is read on from where it stopped (``resume``).
Large objects:

* Swift SLO: its segments first (each copied like any object, unless the same version is here
  already), then the manifest as stored at the source (same bytes, so the listings' hashes
  match);
* Swift DLO: the manifest object as is (its segments are objects of a container the migrator
  copies like any other; behaviour 7.4 calls DLOs best effort);
* S3 multipart: each part by PartNumber into ``<container>_segments``, then an SLO carrying the
  source ETag (``large``);
* bigger than ``max_file_size``: ``segment_size`` segments, then an SLO.

The outcome is one of COPIED (with the bytes), NEWER_HERE (409: a local write is newer and
wins), GONE (the source object went meanwhile), EXPIRED (its X-Delete-At is past) or SKIPPED
(the same version is here already). Failures raise ``CopyFailed`` or ``RemoteError``/
``LocalError``; the object is tried again on the next pass.
"""
import collections
import contextlib
import json
import time
from urllib.parse import unquote

from swift.common import constraints
from swift.common.utils import Timestamp

from s3_sync.local import BodyReader, LocalError
from s3_sync.log import one_line
from s3_sync.metadata import DLO_HEADER, content_md5, is_slo
from s3_sync.migrator import large
from s3_sync.migrator.headers import (REMOTE_ETAG, expired, header_time, local_headers,
                                      source_timestamp)
from s3_sync.migrator.large import CopyFailed, SegmentedCopy
from s3_sync.migrator.merge import COPY, merge
from s3_sync.migrator.resume import resumable
from s3_sync.providers.swift_conn import listing_epoch

COPIED, NEWER_HERE, GONE, EXPIRED, SKIPPED = 'copied', 'newer-here', 'gone', 'expired', 'skipped'
MAX_MANIFEST = 8 * 1024 * 1024     # far above Swift's 1000-segment manifests (~250 KiB)

Outcome = collections.namedtuple('Outcome', 'result bytes')


class Copier:
    """Copies objects of one migration's source into the local cluster.

    ``providers(bucket)`` returns the source provider of a bucket (segments may live in
    another container of the source); ``store`` is the ``LocalStore``."""

    def __init__(self, store, providers, segment_size, logger=None, clock=time.time):
        self.store = store
        self.providers = providers
        self.segment_size = segment_size
        self.logger = logger
        self.clock = clock

    def copy(self, account, container, bucket, entry, offset=0):
        """Copy the object a source listing ``entry`` names into ``account/container``;
        ``offset`` is added to the source's timestamp (see ``container_pass``)."""
        provider = self.providers(bucket)
        name = entry['name']
        resp = provider.get_raw(name)
        try:
            if resp.status == 404:
                return Outcome(GONE, 0)
            if resp.status != 200:
                raise CopyFailed('source GET %s/%s: %s' % (bucket, name, resp.status))
            headers = resp.headers
            if expired(headers, self.clock()):
                return Outcome(EXPIRED, 0)
            listed = listing_epoch(entry['last_modified']) if entry.get('last_modified') \
                else header_time(headers) or self.clock()
            timestamp = source_timestamp(listed, headers)
            if offset:
                timestamp = Timestamp(timestamp, offset=offset)
            put_headers = local_headers(headers, timestamp)
            size = int(headers.get('content-length', 0))
            etag = (headers.get('etag') or '').strip('"')
            target = (account, container, name)
            if is_slo(headers):
                return self._slo(target, bucket, resp, put_headers, size)
            if headers.get(DLO_HEADER):
                put_headers[DLO_HEADER] = headers[DLO_HEADER]
                self._dlo_segments(account, bucket, headers[DLO_HEADER])
                return self._put(target, put_headers, resp, size, None)
            parts = large.mpu_parts(etag)
            if parts and provider.features.large_objects:
                resp.close()
                return self._multipart(target, provider, put_headers, timestamp, etag, parts)
            resp = resumable(provider, name, resp, size, etag, self.logger)
            if size > constraints.MAX_FILE_SIZE:
                return self._oversize(target, resp, put_headers, timestamp, size, etag)
            return self._put(target, put_headers, resp, size, etag if not parts else None)
        finally:
            resp.close()

    # -- plain objects ----------------------------------------------------------
    def _put(self, target, headers, resp, size, etag):
        if content_md5(etag):       # a plain MD5 the object server can check the body by
            headers['Etag'] = etag
        reader = BodyReader(resp.body)
        with blamed_on_source(reader, target[2], size):
            status = self.store.put(*target, headers, reader, size)
        return self._outcome(target, status, size, reader.bytes_read)

    def _outcome(self, target, status, size, sent=None):
        if status == 201:
            return Outcome(COPIED, size)
        if status == 409:
            return Outcome(NEWER_HERE, 0)
        if status == 404:
            raise CopyFailed('local container /%s/%s is missing' % target[:2])
        raise CopyFailed('local PUT /%s/%s/%s: %s%s' % (
            target + (status, '' if sent is None else ' after %d of %d bytes' % (sent, size))))

    # -- Swift SLOs -------------------------------------------------------------
    def _slo(self, target, bucket, resp, headers, size):
        if size > MAX_MANIFEST:
            raise CopyFailed('SLO manifest %s/%s: %d bytes is no manifest' % (
                bucket, target[2], size))
        raw = b''.join(resp.body)
        try:
            segments = json.loads(raw)
            paths = [s['name'] for s in segments]
        except (ValueError, TypeError, KeyError):
            raise CopyFailed('SLO manifest %s/%s is not valid JSON' % (bucket, target[2]))
        for path in paths:
            self._segment(target[0], path.lstrip('/'))
        status = self.store.put_manifest(*target, headers, segments)
        return self._outcome(target, status, size)

    def _segment(self, account, path):
        """Copy one SLO segment (``container/object``) unless this version is here."""
        container, _, name = path.partition('/')
        provider = self.providers(container)
        remote = provider.head_object(name)
        if remote is None:
            raise CopyFailed('SLO segment /%s is missing at the source' % path)
        here = self.store.head(account, container, name)
        if here is not None and here.get('etag', '').strip('"') == remote.etag:
            return
        if here is None and self.store.container_headers(account, container) is None:
            self.store.create_container(account, container, {})
        outcome = self.copy(account, container, container, {
            'name': name, 'last_modified': None})
        if outcome.result not in (COPIED, NEWER_HERE):
            raise CopyFailed('SLO segment /%s: %s' % (path, outcome.result))

    # -- Swift DLOs -------------------------------------------------------------
    def _dlo_segments(self, account, bucket, manifest):
        """Copy the objects a DLO's ``container/prefix`` names (missing or older here) before
        its manifest. Segments in the manifest's own container are that container's objects,
        migrated like any other (a self-referencing DLO is no loop)."""
        container, _, prefix = unquote(manifest).partition('/')
        if not container or container == bucket:
            return
        provider = self.providers(container)
        if self.store.container_headers(account, container) is None:
            self.store.create_container(account, container, {})
        marker = ''
        while True:
            page = provider.list_objects(marker=marker, limit=1000, prefix=prefix)
            if not page:
                return
            local = self.store.listing(account, container, marker, prefix)
            for action in merge(page, local, marker, False):
                if action.kind == COPY:
                    self.copy(account, container, container, action.source)
            marker = page[-1]['name']

    # -- S3 multipart and oversize objects ---------------------------------------
    def _multipart(self, target, provider, headers, timestamp, etag, parts):
        account, container, name = target
        copy = None
        try:
            for number in range(1, parts + 1):
                resp = provider.get_part(name, number, etag)
                try:
                    if number == 1 and resp.status == 200 and \
                            'content-range' not in resp.headers:
                        # The store ignored partNumber (moto does) and sent the whole
                        # object: part sizes are unknown, so it is copied whole.
                        return self._whole(target, resp, headers, timestamp, etag)
                    if resp.status != 206:
                        raise CopyFailed('part %d of %s: source %s (changed meanwhile?)' % (
                            number, name, resp.status))
                    length = int(resp.headers.get('content-length', 0))
                    if copy is None:
                        total = _total_size(resp.headers, length)
                        copy = SegmentedCopy(self.store, account, container, name,
                                             timestamp, total, length)
                    reader = BodyReader(resp.body)
                    with blamed_on_source(reader, '%s part %d' % (name, number), length):
                        copy.put_segment(number, reader, length)
                finally:
                    resp.close()
            if copy.multipart_etag() != etag:
                raise CopyFailed('%s: parts give ETag %s, the source says %s' % (
                    name, copy.multipart_etag(), etag))
            return self._manifest(target, copy, headers, etag)
        except BaseException:
            if copy is not None:
                copy.abandon()
            raise

    def _whole(self, target, resp, headers, timestamp, etag):
        """A multipart object read whole: one PUT (or segments when oversize) recording the
        source ETag, which no local ETag can equal."""
        size = int(resp.headers.get('content-length', 0))
        if size > constraints.MAX_FILE_SIZE:
            return self._oversize(target, resp, headers, timestamp, size, etag)
        return self._put(target, dict(headers, **{REMOTE_ETAG: etag}), resp, size, None)

    def _oversize(self, target, resp, headers, timestamp, size, etag):
        account, container, name = target
        copy = SegmentedCopy(self.store, account, container, name, timestamp, size,
                             self.segment_size)
        reader = BodyReader(resp.body)
        try:
            whole = large.HashingReader(reader, size)
            index, left = 1, size
            while left > 0:
                length = min(self.segment_size, left)
                with blamed_on_source(reader, name, size):
                    copy.put_segment(index, whole, length)
                index, left = index + 1, left - length
            if etag and large.mpu_parts(etag) is None and whole.md5.hexdigest() != etag:
                raise CopyFailed('%s: body MD5 %s is not the source ETag %s' % (
                    name, whole.md5.hexdigest(), etag))
            return self._manifest(target, copy, headers, etag)
        except BaseException:
            copy.abandon()
            raise

    def _manifest(self, target, copy, headers, etag):
        headers = dict(headers, **{REMOTE_ETAG: etag})
        status = self.store.put_manifest(*target, headers, copy.written)
        outcome = self._outcome(target, status, copy.total)
        if outcome.result != COPIED:
            copy.abandon()
        return outcome

    # -- equal times, different hashes --------------------------------------------
    def same_large_object(self, account, container, source_entry):
        """Whether the local object of the same time as ``source_entry`` is the same data:
        a converted large object records the source ETag (behaviour 7.3)."""
        here = self.store.head(account, container, source_entry['name'])
        if here is None:
            return False
        recorded = here.get(REMOTE_ETAG.lower())
        return recorded is not None and recorded.strip('"') == \
            source_entry.get('hash', '').strip('"')


@contextlib.contextmanager
def blamed_on_source(reader, what, size):
    """A local write failing once ``reader`` (the source body, a ``BodyReader``) has failed is
    the source's failure: the local proxy answers any error of its input with a bare 500, so
    the source's error is raised instead (CopyFailed naming it and the bytes handed on)."""
    try:
        yield
    except (LocalError, CopyFailed):
        if reader.error is None:
            raise
        raise CopyFailed('source GET %s broke after %d of %d bytes: %s' % (
            what, reader.bytes_read, size, one_line(reader.error))) from None


def _total_size(headers, default):
    """The whole object's size from a part GET's ``Content-Range: bytes a-b/total``."""
    content_range = headers.get('content-range', '')
    if '/' in content_range:
        try:
            return int(content_range.rsplit('/', 1)[1])
        except ValueError:
            pass
    return default

"""Large objects (SLO/DLO content) to S3: part plans, streamed part uploads, part copies.

The sync side describes a large object as a *source* (see ``Provider.put_large``): its total
``size``, its ``pieces`` (byte ranges of local objects, each with ``size``, ``md5`` when the md5 of
exactly those bytes is known, and ``open(offset, length)`` returning an iterable of bytes), the
identity ``etag`` and the metadata ``marker`` key that records it remotely, the raw SLO
``manifest`` (or None) and ``still_current()``. This module turns it into S3 requests.

Choices, and why:

* At most ``SINGLE_PUT_LIMIT`` (8 MiB) in all: one streamed PutObject. Three requests (create,
  part, complete) for what one PUT carries would waste requests, and an SLO of small segments
  is not a failure here (the original refused segments under 5 MiB).
* Parts map 1:1 to segments when S3 allows it (every piece a whole object with a known md5, all
  but the last >= 5 MiB, none > 5 GiB, <= 10,000): the object's ETag is then
  ``md5(concat(binary segment md5s))-N``, computable from the manifest alone, as the original
  wrote it, so objects it uploaded are recognised too. Otherwise (small segments, ranges,
  nested SLOs, DLOs) the bytes are cut into fixed-size parts of ``COALESCED_PART_SIZE`` (more
  when 10,000 parts would not hold the object) and the swift etag in the marker metadata is what
  recognises the object later.
* Nothing is held whole in memory: a part is a :class:`PartReader` that opens each local range
  only when the upload reaches it (so the S3 connection exists before the Swift GET that would
  time out unread), hashes as it goes and checks every whole segment against its manifest md5.
  A failed part is retried alone by re-opening its local ranges; at most ``PART_CONCURRENCY``
  parts of one object are in flight, each holding one read chunk.
* Any failure aborts the upload, so no orphan parts are billed; uploads of the same key left by
  a killed daemon are aborted before a new one starts, and every upload is noted in the
  daemon's journal (``s3_sync.sync.journal``) from *before* its creation to its end, so a
  restarted daemon aborts those a kill -9 left, whatever became of their rows. Before, because
  a create can succeed on the store with its answer lost (a kill, a reset, an answer past the
  client timeout, then a retry that creates a second upload): such an upload has an id nobody
  ever learnt, so every upload of that key is aborted then, as a new upload of the key would
  (not only those initiated since the note: stores disagree on that date, moto gives one fixed
  date in 2010). ``still_current()`` is asked right before the commit
  (CompleteMultipartUpload): an object overwritten or deleted locally meanwhile is aborted
  rather than written over a newer remote version.
* Metadata-only changes copy the parts from the remote object itself (UploadPartCopy,
  conditional on its ETag) into a new upload with the new metadata: CopyObject would turn a
  ``-N`` ETag into a plain one and cannot copy more than 5 GiB.
"""
import binascii
import hashlib
import math

import eventlet

from s3_sync import metadata
from s3_sync.providers.base import LocalDataError, RemoteError

MiB = 1024 * 1024
MIN_PART_SIZE = 5 * MiB
MAX_PART_SIZE = 5 * 1024 * MiB
MAX_PARTS = 10000
SINGLE_PUT_LIMIT = 8 * MiB
COALESCED_PART_SIZE = 8 * MiB
PART_CONCURRENCY = 4
MANIFEST_CONTENT_TYPE = 'application/json'


class Span:
    """``length`` bytes of ``piece`` starting at ``offset`` within the piece."""
    __slots__ = ('piece', 'offset', 'length')

    def __init__(self, piece, offset, length):
        self.piece, self.offset, self.length = piece, offset, length

    @property
    def whole(self):
        return self.offset == 0 and self.length == self.piece.size


class Part:
    """Part ``number``: ``size`` bytes at ``offset`` of the object, read from ``spans``.

    ``md5`` is known up front when the part is exactly one whole piece with a known md5."""
    __slots__ = ('number', 'offset', 'size', 'spans', 'md5')

    def __init__(self, number, offset, size, spans, md5=None):
        self.number, self.offset, self.size, self.spans, self.md5 = \
            number, offset, size, spans, md5


def one_to_one(pieces):
    """True when every piece can be one part and the ETag is computable from piece md5s."""
    if not pieces or len(pieces) > MAX_PARTS:
        return False
    if any(not p.md5 or p.size > MAX_PART_SIZE for p in pieces):
        return False
    return all(p.size >= MIN_PART_SIZE for p in pieces[:-1])


def multipart_etag(md5s):
    """S3's ETag for a multipart upload of parts with these hex md5s."""
    digest = hashlib.md5(b''.join(binascii.unhexlify(m) for m in md5s)).hexdigest()
    return '%s-%d' % (digest, len(md5s))


def expected_etag(source):
    """The remote ETag a 1:1 multipart upload of ``source`` has, or None when not 1:1.

    Also for sources small enough that we would PUT them: the original uploaded every SLO
    as a 1:1 multipart upload, and what it uploaded is recognised."""
    if not one_to_one(source.pieces):
        return None
    return multipart_etag([p.md5 for p in source.pieces])


def part_size_for(total):
    """Fixed part size for coalesced uploads: 8 MiB, more when 10,000 parts would not do."""
    return max(COALESCED_PART_SIZE, int(math.ceil(total / float(MAX_PARTS))))


def plan_parts(pieces, total):
    """The parts for an upload of ``pieces`` (``total`` bytes): 1:1 or fixed-size."""
    if one_to_one(pieces):
        parts, offset = [], 0
        for number, piece in enumerate(pieces, 1):
            parts.append(Part(number, offset, piece.size, [Span(piece, 0, piece.size)],
                              piece.md5))
            offset += piece.size
        return parts
    return fixed_parts(pieces, total, part_size_for(total))


def fixed_parts(pieces, total, part_size):
    """Cut the concatenation of ``pieces`` into parts of ``part_size`` (the last shorter)."""
    parts, spans, filled, offset = [], [], 0, 0

    def close_part():
        number = len(parts) + 1
        only = spans[0] if len(spans) == 1 else None
        md5 = only.piece.md5 if only is not None and only.whole else None
        parts.append(Part(number, offset - filled, filled, list(spans), md5))

    for piece in pieces:
        used = 0
        while used < piece.size:
            take = min(piece.size - used, part_size - filled)
            spans.append(Span(piece, used, take))
            used += take
            filled += take
            offset += take
            if filled == part_size:
                close_part()
                spans, filled = [], 0
    if spans or not parts:
        close_part()
    return parts


def byte_ranges(sizes):
    """Parts (without spans) covering consecutive ``sizes``: for copies."""
    parts, offset = [], 0
    for number, size in enumerate(sizes, 1):
        parts.append(Part(number, offset, size, []))
        offset += size
    return parts


class PartReader:
    """A file-like, forward-only view of some spans, read in the size the uploader asks.

    Each span's local range is opened when reading reaches it and closed when done; bytes are
    hashed on the way (``hexdigest()``). Whole pieces with a known md5 and every span's length
    are checked: a mismatch raises :class:`LocalDataError`, also kept in ``error`` because
    botocore may wrap what a body's ``read`` raises."""

    def __init__(self, spans):
        self._spans = list(spans)
        self._index = -1
        self._iter = None
        self._close = None
        self._span_md5 = None
        self._span_read = 0
        self._buf = b''
        self._pos = 0
        self._md5 = hashlib.md5()
        self.bytes_read = 0
        self.error = None

    def hexdigest(self):
        return self._md5.hexdigest()

    def read(self, size=-1):
        try:
            return self._read(size)
        except Exception as exc:
            self.error = exc
            raise

    def _read(self, size):
        out, want = [], float('inf') if size is None or size < 0 else size
        while want > 0:
            if self._pos >= len(self._buf):
                self._buf, self._pos = self._next_chunk(), 0
                if not self._buf:
                    break
            take = self._buf[self._pos:self._pos + int(min(want, len(self._buf)))]
            self._pos += len(take)
            want -= len(take)
            out.append(take)
        data = b''.join(out)
        self._md5.update(data)
        self.bytes_read += len(data)
        return data

    def _next_chunk(self):
        while True:
            if self._iter is None:
                if self._index + 1 >= len(self._spans):
                    return b''
                self._open(self._index + 1)
            for chunk in self._iter:
                if not chunk:
                    continue
                self._span_read += len(chunk)
                span = self._spans[self._index]
                if self._span_read > span.length:
                    raise LocalDataError('%s: more bytes than the %d expected' % (
                        span.piece, span.length))
                if self._span_md5 is not None:
                    self._span_md5.update(chunk)
                return chunk
            self._finish_span()

    def _open(self, index):
        self._index = index
        span = self._spans[index]
        body = span.piece.open(span.offset, span.length)
        self._iter = iter(body)
        self._close = getattr(body, 'close', None)
        self._span_read = 0
        self._span_md5 = hashlib.md5() if span.whole and span.piece.md5 else None

    def _finish_span(self):
        span = self._spans[self._index]
        self.close()
        if self._span_read != span.length:
            raise LocalDataError('%s: read %d bytes, expected %d' % (
                span.piece, self._span_read, span.length), retryable=True)
        if self._span_md5 is not None and self._span_md5.hexdigest() != span.piece.md5:
            raise LocalDataError('%s: content md5 %s is not the manifest\'s %s' % (
                span.piece, self._span_md5.hexdigest(), span.piece.md5))

    def close(self):
        close, self._close, self._iter = self._close, None, None
        if close:
            close()


def run_bounded(fn, items, concurrency):
    """fn(item) for every item, at most ``concurrency`` at once, results in order (the parts
    of an upload, the segments of a Swift large object).

    The first failure stops items not yet started and is raised once the others end."""
    failed = []

    def one(item):
        if failed:
            return None
        try:
            return fn(item)
        except BaseException as exc:   # noqa: B036 - re-raised below, after the others
            failed.append(exc)
            return None

    pool = eventlet.GreenPool(max(1, min(concurrency, len(items))))
    results = list(pool.imap(one, items))
    if failed:
        raise failed[0]
    return results


class MultipartUploads:
    """The large-object requests of one S3Provider (its client, bucket, retry policy, SSE)."""

    def __init__(self, provider, concurrency=PART_CONCURRENCY):
        self.p = provider
        self.concurrency = concurrency

    # -- helpers ----------------------------------------------------------
    def _uploaded_with(self, reader, op, key, **params):
        """One request whose body is ``reader``: a local read error wins over botocore's."""
        try:
            return self.p._call(op, key, Body=reader, **params)
        except Exception:
            if reader.error is not None:
                raise reader.error from None
            raise
        finally:
            reader.close()

    def _check_etag(self, key, what, got, wanted):
        got = (got or '').strip('"')
        if got != wanted:
            raise RemoteError(502, "%s of '%s/%s' at %s: remote ETag %s, sent md5 %s" % (
                what, self.p.bucket, key, self.p.where, got, wanted))

    # -- single PUT -------------------------------------------------------
    def put_single(self, name, fields, source):
        """One streamed PutObject of the whole source, retried by re-reading it.

        A PUT commits as it ends, so ``still_current()`` is asked after it: None then tells
        the caller the local object (or a DLO's listing) moved meanwhile. The remote holds a
        complete earlier version, never a truncated one, and the newer row (or the caller's
        retry) replaces it."""
        key = self.p.key(name)
        spans = [Span(p, 0, p.size) for p in source.pieces if p.size]
        known = source.pieces[0].md5 if len(source.pieces) == 1 else None

        def attempt():
            reader = PartReader(spans)
            params = dict(ContentLength=source.size, **fields, **self.p.sse)
            if known:
                params['ContentMD5'] = metadata.content_md5(known)
            resp = self._uploaded_with(reader, 'put_object', key, **params)
            self._check_etag(key, 'PUT', resp.get('ETag'), reader.hexdigest())
            return resp['ETag'].strip('"')

        self.put_manifest(name, source)
        etag = self.p.retry.call(attempt)
        return etag if source.still_current() else None

    def put_manifest(self, name, source):
        """The raw SLO manifest beside the object, so a shunt can rebuild the SLO."""
        if source.manifest is None:
            return
        body = source.manifest
        md5 = hashlib.md5(body).hexdigest()
        self.p._retried('put_object', self.p.manifest_key(name), Body=body,
                        ContentLength=len(body), ContentType=MANIFEST_CONTENT_TYPE,
                        ContentMD5=metadata.content_md5(md5), **self.p.sse)

    # -- multipart upload -------------------------------------------------
    def abort_orphans(self, key, keep=None):
        """Abort the uploads of ``key`` but ``keep``: uploads a killed daemon or a lost create
        answer left. One LIST; True when every one found is gone."""
        try:
            resp = self.p._retried('list_multipart_uploads', Prefix=key)
        except RemoteError as err:
            self._log('cannot list uploads of %s: %s', key, err)
            return False
        done = True
        for upload in resp.get('Uploads', []):
            if upload.get('Key') != key or upload['UploadId'] == keep:
                continue
            done = self.abort(key, upload['UploadId']) and done
        return done

    def abort(self, key, upload_id):
        """True when the upload is gone (aborted now, or no longer there)."""
        try:
            self.p._retried('abort_multipart_upload', key, UploadId=upload_id)
        except RemoteError as err:
            if err.status != 404:
                self._log('abort of upload %s of %s failed: %s', upload_id, key, err)
                return False
        self._ended(upload_id)
        return True

    def create(self, key, fields):
        """A new upload of ``key``, noted in the journal before it is asked for; its id."""
        journal = self.p.journal
        intent = journal.intending(self.p, key) if journal is not None else None
        attempts = []

        def attempt():
            attempts.append(None)
            return self.p._call('create_multipart_upload', key, **fields, **self.p.sse)

        try:
            upload_id = self.p.retry.call(attempt)['UploadId']
        except Exception:
            # an attempt may have created an upload whose answer was lost
            if intent is not None and self.abort_orphans(key):
                journal.finished(intent)
            raise
        orphans_left = False
        if len(attempts) > 1:
            orphans_left = not self.abort_orphans(key, keep=upload_id)
        if intent is not None:
            journal.created(intent, upload_id, orphans_left)
        return upload_id

    def _ended(self, upload_id):
        if self.p.journal is not None:
            self.p.journal.finished(upload_id)

    def _log(self, msg, *args):
        if self.p.logger:
            self.p.logger.warning(msg, *args)

    def put_multipart(self, name, fields, source):
        """Upload ``source`` as a multipart upload; the ETag, or None when superseded."""
        key = self.p.key(name)
        parts = plan_parts(source.pieces, source.size)
        self.abort_orphans(key)
        upload_id = self.create(key, fields)
        try:
            etags = run_bounded(lambda part: self._upload_part(key, upload_id, part), parts,
                                self.concurrency)
            return self._commit(name, key, upload_id, etags, source)
        except BaseException:
            self.abort(key, upload_id)
            raise

    def _upload_part(self, key, upload_id, part):
        def attempt():
            reader = PartReader(part.spans)
            params = dict(UploadId=upload_id, PartNumber=part.number, ContentLength=part.size)
            if part.md5:
                params['ContentMD5'] = metadata.content_md5(part.md5)
            resp = self._uploaded_with(reader, 'upload_part', key, **params)
            self._check_etag(key, 'part %d' % part.number, resp.get('ETag'), reader.hexdigest())
            return resp['ETag'].strip('"')
        return self.p.retry.call(attempt)

    def _commit(self, name, key, upload_id, etags, source):
        """Stale check, manifest, then CompleteMultipartUpload; None (aborted) when stale."""
        if not source.still_current():
            self.abort(key, upload_id)
            return None
        self.put_manifest(name, source)
        parts = [{'PartNumber': n, 'ETag': '"%s"' % e} for n, e in enumerate(etags, 1)]
        return self._complete(key, upload_id, parts)

    def _complete(self, key, upload_id, parts):
        etag = self._complete_once_done(key, upload_id, parts)
        self._ended(upload_id)
        return etag

    def _complete_once_done(self, key, upload_id, parts):
        tries = []

        def attempt():
            tries.append(1)
            try:
                resp = self.p._call('complete_multipart_upload', key, UploadId=upload_id,
                                    MultipartUpload={'Parts': parts})
            except RemoteError as err:
                # An earlier try may have completed it and lost only the answer.
                if len(tries) > 1 and err.code == 'NoSuchUpload':
                    head = self.p._retried('head_object', key)
                    return head['ETag'].strip('"')
                raise
            # Some stores (Ceph radosgw 16) answer with an empty ETag: it is known anyway.
            return (resp.get('ETag') or '').strip('"') or \
                multipart_etag([p['ETag'].strip('"') for p in parts])
        return self.p.retry.call(attempt)

    # -- metadata-only change ---------------------------------------------
    def copy_parts(self, name, fields, source, remote):
        """Copy the remote object's bytes into a new upload carrying new metadata.

        Returns the new ETag, False when the remote object changed (412/404: upload instead),
        None when the local object was superseded meanwhile (aborted)."""
        key = self.p.key(name)
        if not remote.size:
            return False        # nothing to copy: the caller's upload is one empty PUT
        if one_to_one(source.pieces) and sum(p.size for p in source.pieces) == remote.size:
            parts = plan_parts(source.pieces, remote.size)   # keeps the computable -N ETag
        else:
            size = part_size_for(remote.size)
            sizes = [size] * (remote.size // size)
            if remote.size % size or not sizes:
                sizes.append(remote.size % size)
            parts = byte_ranges(sizes)
        upload_id = self.create(key, fields)
        try:
            etags = run_bounded(lambda part: self._copy_part(key, upload_id, part, remote),
                                parts, self.concurrency)
            if not self._still_there(name, remote):
                self.abort(key, upload_id)
                return False
            return self._commit(name, key, upload_id, etags, _NoManifest(source))
        except RemoteError as err:
            self.abort(key, upload_id)
            if err.status in (404, 412) or err.code == 'InvalidObjectState':
                return False
            raise
        except BaseException:
            self.abort(key, upload_id)
            raise

    def _still_there(self, name, remote):
        """Whether the object the parts were copied from is still ``remote`` now that they
        are all copied: what each part's copy condition says where the store honours it, and
        the only check where it does not (moto; radosgw 16 reads another header), so parts of
        a newer object never go out under this object's metadata and identity marker."""
        now = self.p.head_object(name)
        return now is not None and now.etag == remote.etag

    def _copy_part(self, key, upload_id, part, remote):
        """One part copied, and checked: a wrong ETag is retried like a failed request."""
        return self.p.retry.call(self._copy_part_once, key, upload_id, part, remote)

    def _copy_part_once(self, key, upload_id, part, remote):
        resp = self.p._call(
            'upload_part_copy', key, UploadId=upload_id, PartNumber=part.number,
            CopySource={'Bucket': self.p.bucket, 'Key': key},
            CopySourceRange='bytes=%d-%d' % (part.offset, part.offset + part.size - 1),
            CopySourceIfMatch='"%s"' % remote.etag)
        etag = resp['CopyPartResult']['ETag'].strip('"')
        if part.md5:
            self._check_etag(key, 'copy of part %d' % part.number, etag, part.md5)
        return etag


class _NoManifest:
    """The source as a copy sees it: the manifest stored beside the object is unchanged."""
    manifest = None

    def __init__(self, source):
        self.still_current = source.still_current


def marker_metadata(headers, source):
    """boto3 object fields for ``headers`` plus the source's identity marker."""
    headers = dict(headers)
    headers[source.marker] = source.etag
    return metadata.s3_fields(headers)

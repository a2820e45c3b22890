"""Propagating a large object (SLO or DLO) whose row the handler is looking at.

The remote gets the object's *content* (the concatenated segments), not the manifest, so clients
of the remote see the object they stored; an SLO's raw manifest is also stored beside it so the
shunt can rebuild the SLO. What the content is comes from the local cluster, read raw through
InternalClient (no SLO/DLO middleware):

* SLO: the raw manifest, entry by entry: segments in any container, ``range`` entries (a byte
  range of a segment), inline ``data`` entries, and nested SLOs (``sub_slo``), whose own raw
  manifests are read and expanded (at most ``MAX_NESTING`` deep, as Swift allows);
* DLO (``x-object-manifest: cont/prefix``): the listing of ``cont`` under ``prefix``, as the
  DLO middleware concatenates it.

The result is a *source* (see ``Provider.put_large``): byte ranges of local objects that the
provider reads while it uploads, plus the Swift identity of the content (the SLO etag, or the
DLO etag ``md5(concat(segment etags))``) that the provider records in metadata, so an unchanged
large object is recognised from one remote HEAD and never uploaded again, and a metadata-only
change is a copy on the remote, not an upload.

Races: every local segment read checks the segment's etag against the manifest (or the DLO
listing), and just before the provider commits it asks ``still_current()``: the object's data
timestamp must be the one we read and, for a DLO, the segment listing the one we uploaded. An
object overwritten or deleted meanwhile is abandoned (its newer row says what to do); a DLO
whose segments moved is tried again shortly (no new row would tell us).
"""
import base64
import hashlib
import json
from urllib.parse import unquote

from s3_sync import metadata
from s3_sync.local import LocalError, SegmentChanged
from s3_sync.providers.base import LocalDataError
from s3_sync.sync.expiry import expiry_matches, propagated_headers
from s3_sync.sync.outcome import Propagated, Retry, stale_read

SLO_ETAG_MARKER = 'x-object-meta-swift-slo-etag'
DLO_ETAG_MARKER = 'x-object-meta-swift-source-dlo-etag'
MARKERS = (SLO_ETAG_MARKER, DLO_ETAG_MARKER)
MAX_NESTING = 10
SEGMENT_RETRY_SECONDS = 1.0


class BadManifest(LocalError):
    """The raw manifest or ``x-object-manifest`` value cannot be understood."""
    retryable = False


def is_large(headers):
    return metadata.is_slo(headers) or metadata.DLO_HEADER in headers


def _data_version(headers):
    """What changes when the object's bytes (or manifest) change, but not on a POST."""
    return headers.get('x-backend-data-timestamp') or headers.get('x-timestamp')


def _etag(value):
    return (value or '').strip().strip('"')


class Piece:
    """``size`` bytes at ``start`` of local object ``/account/container/obj`` (or inline
    ``data``), read through ``local`` (a ``LocalSwift``); ``etag`` is the object version every
    read must find, ``md5`` the md5 of exactly these bytes when known (a whole segment);
    ``whole`` the size of the whole segment object (targets that copy segments as they are,
    Swift, upload it whole and refer to the piece as a range of it)."""

    __slots__ = ('local', 'account', 'container', 'obj', 'etag', 'start', 'size', 'md5',
                 'data', 'whole')

    def __init__(self, local, account, container, obj, etag, start, size, md5=None,
                 data=None, whole=None):
        self.local, self.account, self.container, self.obj = local, account, container, obj
        self.etag, self.start, self.size, self.md5, self.data = etag, start, size, md5, data
        self.whole = size if whole is None else whole

    @property
    def is_whole(self):
        """True when the piece is its whole segment object."""
        return self.start == 0 and self.size == self.whole

    def open(self, offset, length):
        if self.data is not None:
            return [self.data[offset:offset + length]]
        return self.local.read_range(self.account, self.container, self.obj,
                                     self.start + offset, length, self.etag, str(self))

    def slice(self, offset, length):
        whole = offset == 0 and length == self.size
        data = None if self.data is None else self.data[offset:offset + length]
        return Piece(self.local, self.account, self.container, self.obj, self.etag,
                     self.start + offset, length, self.md5 if whole else None, data,
                     self.whole)

    def __str__(self):
        if self.data is not None:
            return 'inline data segment'
        return 'segment /%s/%s' % (self.container, self.obj)


def slice_pieces(pieces, start, length):
    """The pieces covering bytes [start, start+length) of their concatenation."""
    out, offset, end = [], 0, start + length
    for piece in pieces:
        lo, hi = max(start, offset), min(end, offset + piece.size)
        if lo < hi:
            out.append(piece.slice(lo - offset, hi - lo))
        offset += piece.size
    return out


class LargeSource:
    """What the provider uploads: see ``Provider.put_large``."""

    def __init__(self, kind, pieces, etag, marker, manifest=None, check=None, dlo=None,
                 timestamp=None):
        self.kind = kind                  # 'slo' or 'dlo'
        self.dlo = dlo                    # a DLO's (segment container, prefix)
        self.timestamp = timestamp        # the local object's X-Timestamp
        self.pieces = pieces
        self.size = sum(p.size for p in pieces)
        self.etag = etag
        self.marker = marker
        self.manifest = manifest
        self._check = check
        self.segments_changed = False

    def still_current(self):
        return self._check(self) if self._check else True


def parse_manifest(raw, where):
    try:
        entries = json.loads(raw)
    except ValueError:
        raise BadManifest('%s: SLO manifest is not valid JSON' % where) from None
    if not isinstance(entries, list):
        raise BadManifest('%s: SLO manifest is not a list' % where)
    return entries


def split_segment_name(name, where):
    """``/container/object`` -> (container, object)."""
    parts = name.lstrip('/').split('/', 1) if isinstance(name, str) else []
    if len(parts) != 2 or not all(parts):
        raise BadManifest('%s: bad segment name %r' % (where, name))
    return parts


def parse_range(value, where):
    """A stored SLO ``range`` (``first-last``, inclusive) as (start, length)."""
    try:
        first, last = (int(v) for v in str(value).split('-'))
    except ValueError:
        raise BadManifest('%s: bad segment range %r' % (where, value)) from None
    if first < 0 or last < first:
        raise BadManifest('%s: bad segment range %r' % (where, value))
    return first, last - first + 1


class ManifestExpander:
    """SLO manifest entries -> pieces, reading nested SLO manifests as needed."""

    def __init__(self, local, account):
        self.local = local
        self.account = account

    def expand(self, entries, where, depth=0):
        pieces = []
        for entry in entries:
            if not isinstance(entry, dict):
                raise BadManifest('%s: bad manifest entry %r' % (where, entry))
            if 'data' in entry:
                data = base64.b64decode(entry['data'])
                pieces.append(Piece(None, None, None, None, None, 0, len(data),
                                    hashlib.md5(data).hexdigest(), data))
                continue
            pieces.extend(self._entry_pieces(entry, where, depth))
        return pieces

    def _entry_pieces(self, entry, where, depth):
        try:
            container, obj = split_segment_name(entry['name'], where)
            size, etag = int(entry['bytes']), _etag(entry['hash'])
        except (KeyError, TypeError, ValueError):
            raise BadManifest('%s: manifest entry without name/bytes/hash' % where) from None
        if entry.get('sub_slo'):
            inner = self._nested(container, obj, etag, depth)
        else:
            inner = [Piece(self.local, self.account, container, obj, etag, 0, size, etag)]
        if 'range' in entry:
            start, length = parse_range(entry['range'], where)
            total = sum(p.size for p in inner)
            if start + length > total:
                raise BadManifest('%s: range %s beyond the %d bytes of /%s/%s' % (
                    where, entry['range'], total, container, obj))
            inner = slice_pieces(inner, start, length)
        return inner

    def _nested(self, container, obj, etag, depth):
        if depth + 1 >= MAX_NESTING:
            raise BadManifest('/%s/%s: SLOs nested more than %d deep' % (
                container, obj, MAX_NESTING))
        raw, headers = self.local.raw_manifest(self.account, container, obj)
        entries = parse_manifest(raw, '/%s/%s' % (container, obj))
        found = _etag(headers.get('x-object-sysmeta-slo-etag'))
        if found != etag:
            raise SegmentChanged('nested SLO /%s/%s: etag %s is not the expected %s' % (
                container, obj, found, etag))
        return self.expand(entries, '/%s/%s' % (container, obj), depth + 1)


class LargeObjectSync:
    """Large-object propagation for one local container and one provider.

    ``propagate`` answers with a :class:`Propagated` (the remote holds the object: the caller
    archives it if it should) or an outcome for the crawler (``None``, ``Retry``)."""

    def __init__(self, provider, local, account, container, stats, logger, clock):
        self.provider = provider
        self.local = local
        self.account = account
        self.container = container
        self.path = '%s/%s' % (account, container)
        self.stats = stats
        self.logger = logger
        self.clock = clock

    # -- entry point -----------------------------------------------------------
    def propagate(self, row, headers, meta_ts, body=None):
        """Make the remote hold this large object.

        ``headers`` are the local object's (from a raw GET whose manifest ``body`` is given, or
        from a HEAD, in which case an SLO manifest is read here)."""
        kind = 'slo' if metadata.is_slo(headers) else 'dlo'
        try:
            if kind == 'slo' and body is None:
                found = self._open_manifest(row, meta_ts)
                if found is None or isinstance(found, Retry):
                    return found
                headers, raw = found
            else:
                raw = body.read() if kind == 'slo' else None
            source = (self.slo_source(row, headers, raw) if kind == 'slo'
                      else self.dlo_source(row, headers))
            return self._sync(row, headers, source)
        except (SegmentChanged, LocalDataError) as exc:
            if kind == 'dlo':
                # The segments moved under us; no new row of ours will say so: look again soon.
                return Retry(self.clock() + SEGMENT_RETRY_SECONDS, str(exc))
            raise SegmentChanged('%s/%s: %s' % (self.path, row['name'], exc)) from None

    def _open_manifest(self, row, meta_ts):
        obj = self.local.open(self.account, self.container, row['name'],
                              row['storage_policy_index'])
        if obj is None:
            return None
        try:
            stale = stale_read(obj.headers, meta_ts, self.clock())
            if stale:
                return stale
            if not metadata.is_slo(obj.headers):
                raise SegmentChanged('no longer an SLO')
            return obj.headers, obj.reader.read()
        finally:
            obj.close()

    # -- sources ---------------------------------------------------------------
    def slo_source(self, row, headers, raw):
        where = '%s/%s' % (self.path, row['name'])
        entries = parse_manifest(raw, where)
        pieces = ManifestExpander(self.local, self.account).expand(entries, where)
        etag = _etag(headers.get('x-object-sysmeta-slo-etag'))
        if not etag:    # manifests written before Swift recorded the SLO etag
            etag = hashlib.md5(''.join(_etag(e.get('hash')) for e in entries).encode()
                               ).hexdigest()
        source = LargeSource('slo', pieces, etag, SLO_ETAG_MARKER, raw,
                             self._checker(row, headers))
        declared = headers.get('x-object-sysmeta-slo-size')
        if declared and int(declared) != source.size:
            raise BadManifest('%s: segments add up to %d bytes, the SLO says %s' % (
                where, source.size, declared))
        return source

    def dlo_source(self, row, headers):
        where = '%s/%s' % (self.path, row['name'])
        value = unquote(headers[metadata.DLO_HEADER])
        if '/' not in value or not value.split('/', 1)[0]:
            raise BadManifest('%s: x-object-manifest %r is not container/prefix' % (
                where, value))
        container, prefix = value.split('/', 1)
        listing = self.local.listing(self.account, container, prefix)
        pieces = [Piece(self.local, self.account, container, name, etag, 0, size, etag)
                  for name, etag, size in listing]
        etag = hashlib.md5(''.join(e for _n, e, _s in listing).encode()).hexdigest()
        return LargeSource('dlo', pieces, etag, DLO_ETAG_MARKER, None,
                           self._checker(row, headers, (container, prefix, listing)),
                           (container, prefix), headers.get('x-timestamp'))

    def _checker(self, row, headers, dlo=None):
        """still_current(): same data version locally and, for a DLO, the same segments."""
        version = _data_version(headers)

        def check(source):
            now = self.local.head(self.account, self.container, row['name'],
                                  row['storage_policy_index'])
            if now is None or _data_version(now) != version:
                return False
            if dlo is not None and self.local.listing(self.account, dlo[0], dlo[1]) != dlo[2]:
                source.segments_changed = True
                return False
            return True
        return check

    # -- deciding --------------------------------------------------------------
    def _sync(self, row, headers, source):
        name = row['name']
        wanted = propagated_headers(headers)
        remote = self.provider.head_object(name)
        if remote is not None and self.provider.large_data_matches(remote, source):
            if metadata.metadata_matches(headers, remote.headers or {},
                                        ignore=MARKERS + self.provider.rewritten_headers) \
                    and expiry_matches(self.provider, headers, remote.headers or {}):
                self.logger.debug('%s/%s unchanged on the remote', self.path, name)
                return Propagated(remote.etag, remote.size, _segments(source))
            done = self.provider.update_large_metadata(name, wanted, source, remote)
            if done is None:
                return self._superseded(source)
            if done:
                self.logger.debug('updated metadata of %s/%s (copied on the remote)',
                                  self.path, name)
                return Propagated(remote.etag, remote.size, _segments(source))
        etag = self.provider.put_large(name, wanted, source)
        if etag is None:
            return self._superseded(source)
        self.stats.increment('copied_objects')
        self.stats.increment('bytes', source.size)
        self.logger.debug('uploaded %s %s/%s (%d bytes, %d pieces)', source.kind.upper(),
                          self.path, name, source.size, len(source.pieces))
        return Propagated(etag, source.size, _segments(source))

    def _superseded(self, source):
        """The upload was abandoned before its commit."""
        if source.segments_changed:
            return Retry(self.clock() + SEGMENT_RETRY_SECONDS,
                         'DLO segments changed during the upload')
        return None     # overwritten or deleted locally: the newer row says what to do


def _segments(source):
    """The local (container, object) segments a large object is made of, for archiving."""
    return [(piece.container, piece.obj) for piece in source.pieces]

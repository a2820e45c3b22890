"""Large objects on a Swift remote: segments first, then the manifest.

A Swift remote takes an SLO or DLO as Swift itself holds it (the original's layout, kept so a
remote it wrote keeps working):

* segments go to the remote *segments container*: ``<aws_bucket>_segments``, or for a ``"/*"``
  mapping ``aws_bucket + <local segment container>``; segment names are kept. The container is
  created (with ``storage_policy``) when a segment PUT finds it missing;
* a segment already there with the same ETag and size is not sent again (one listing of the
  segments' common prefix, or a HEAD each when they share none);
* only when every segment is stored is the manifest written: an SLO with
  ``?multipart-manifest=put`` (whose validation HEADs every segment and checks its ETag and size,
  so the remote never takes a manifest with a missing or stale segment; the ETag sent with it is
  the SLO ETag Swift must compute), a DLO as an empty object whose ``x-object-manifest`` points
  at the remote segments, or, with ``convert_dlo``, as an SLO manifest;
* the manifest carries the marker of ``s3_sync.sync.large`` (``x-object-meta-swift-slo-etag`` /
  ``-swift-source-dlo-etag``) so an unchanged large object costs one HEAD, and a metadata change
  one POST;
* ``min_segment_size`` (with ``convert_dlo``): consecutive DLO segments are concatenated until
  each piece has at least that many bytes, into ``<object>/<x-timestamp>/<NNNNNN>`` (index from
  1) in the segments container, each marked ``x-object-meta-combined-etag`` (md5 of the joined
  segment ETags) so an unchanged piece is not sent again; every segment's md5 is checked on the
  way and the piece's own md5 against the ETag the remote answered (a mismatch deletes it);
* a segment that must be *replaced* (same name, new bytes) while the remote manifest of this
  object still uses it: that manifest is deleted first, since it would otherwise serve bytes it
  never described; while *another* remote manifest uses it, the upload is refused (409, one
  line naming the segment) rather than leave that manifest stale.

Nested SLOs, ``range`` entries and inline ``data`` are flattened into one manifest of leaf
segments (``range`` kept; a nested SLO's segments are uploaded like any other), so what the
remote serves is exactly the local content.

Deletes remove the manifest first, then the segments no other remote SLO manifest refers to: a
remote SLO read never finds a missing segment. (Swift's ``?multipart-manifest=delete`` deletes
the segments before the manifest, and all of them: a failure on the way would leave a manifest
without its segments, and a segment another manifest shares would go.) Finding the other
manifests costs a listing of the manifest containers (``aws_bucket``; every ``aws_bucket*``
container for ``"/*"`` mappings) and a manifest GET per other SLO there.
"""
import hashlib
import base64
import json
import os
from urllib.parse import quote, unquote

from s3_sync.local import BodyReader
from s3_sync.metadata import DLO_HEADER, is_slo
from s3_sync.providers.base import BODY_CHUNK, LocalDataError, RemoteError
from s3_sync.providers.s3_multipart import PartReader, Span, run_bounded
from s3_sync.providers.swift_conn import response_headers

SEGMENTS_SUFFIX = '_segments'
COMBINED_ETAG = 'x-object-meta-combined-etag'
SEGMENT_CONCURRENCY = 4
# Fewer segments than this are HEADed one by one rather than listed.
LIST_FROM = 3


def remote_segments_container(mapping, local_container):
    """Where the segments of local container ``local_container`` go (behaviour 5)."""
    if mapping.per_account:
        return mapping.aws_bucket + local_container
    return mapping.aws_bucket + SEGMENTS_SUFFIX


def local_segments_container(mapping, remote_container, local_container):
    """The local container a remote segments container stands for (restores): the exact one
    for ``"/*"`` mappings; for one container, whose segments all share
    ``<aws_bucket>_segments``, ``<container>_segments`` as swiftclient names it."""
    if mapping.per_account and remote_container.startswith(mapping.aws_bucket):
        return remote_container[len(mapping.aws_bucket):] or remote_container
    if remote_container == mapping.aws_bucket + SEGMENTS_SUFFIX:
        return local_container + SEGMENTS_SUFFIX
    return remote_container


class Segment:
    """One local segment object to have on the remote: its first piece reads it."""
    __slots__ = ('piece', 'remote_container', 'headers')

    def __init__(self, piece, remote_container, headers=None):
        self.piece = piece
        self.remote_container = remote_container
        self.headers = headers or {}    # what its PUT carries besides the data (expiry)

    @property
    def name(self):
        return self.piece.obj

    @property
    def etag(self):
        return self.piece.etag

    @property
    def size(self):
        return self.piece.whole


def segments_of(pieces, mapping, headers=None):
    """The distinct local segment objects the pieces read, in order (inline data has none;
    empty DLO segments are kept: a remote DLO's ETag counts them)."""
    found = {}
    for piece in pieces:
        if piece.data is not None:
            continue
        key = (piece.container, piece.obj)
        if key not in found:
            found[key] = Segment(piece, remote_segments_container(mapping, piece.container),
                                 headers)
    return list(found.values())


def manifest_entries(pieces, mapping):
    """``multipart-manifest=put`` entries for the pieces: ``path``/``etag``/``size_bytes`` of
    the remote segment, ``range`` when the piece is part of it, ``data`` for inline bytes."""
    entries = []
    for piece in pieces:
        if piece.data is not None:
            if piece.data:
                entries.append({'data': base64.b64encode(piece.data).decode('ascii')})
            continue
        if not piece.size:
            continue    # Swift refuses empty segments; they add nothing
        entry = {'path': '/%s/%s' % (remote_segments_container(mapping, piece.container),
                                     piece.obj),
                 'etag': piece.etag, 'size_bytes': piece.whole}
        if not piece.is_whole:
            entry['range'] = '%d-%d' % (piece.start, piece.start + piece.size - 1)
        entries.append(entry)
    return entries


def combine(pieces, minimum):
    """Consecutive non-empty pieces grouped until each group has ``minimum`` bytes (the last
    group may have fewer)."""
    groups, current, size = [], [], 0
    for piece in pieces:
        if not piece.size:
            continue
        current.append(piece)
        size += piece.size
        if size >= minimum:
            groups.append(current)
            current, size = [], 0
    if current:
        groups.append(current)
    return groups


def combined_etag(pieces):
    """The ``x-object-meta-combined-etag`` of a piece joined from these segments."""
    return hashlib.md5(''.join(p.etag for p in pieces).encode('ascii')).hexdigest()


def combined_name(name, timestamp, index):
    return '%s/%s/%06d' % (name, timestamp, index)


def slo_etag(entries):
    """The ETag Swift gives an SLO with these put-form entries (its own formula)."""
    total = hashlib.md5()
    for entry in entries:
        if 'data' in entry:
            part = hashlib.md5(base64.b64decode(entry['data'])).hexdigest()
        elif entry.get('range'):
            part = '%s:%s;' % (entry['etag'], entry['range'])
        else:
            part = entry['etag']
        total.update(part.encode('ascii'))
    return total.hexdigest()


def common_prefix(names):
    return os.path.commonprefix(list(names)) if names else ''


def manifest_paths(manifest):
    """(container, object) of every segment a raw (``multipart-manifest=get``) manifest names;
    nested SLOs are left alone (never a segment of ours: we write flat manifests)."""
    out = set()
    for entry in manifest or ():
        if not isinstance(entry, dict) or 'name' not in entry or entry.get('sub_slo'):
            continue
        parts = entry['name'].lstrip('/').split('/', 1)
        if len(parts) == 2:
            out.add(tuple(parts))
    return out


class SwiftLargeObjects:
    """The large-object requests of one SwiftProvider (``p``)."""

    def __init__(self, provider, concurrency=SEGMENT_CONCURRENCY):
        self.p = provider
        self.mapping = provider.mapping
        self.concurrency = concurrency
        self.known = set()      # remote segments containers known to exist

    # -- plumbing ---------------------------------------------------------------
    def _call(self, op, container, name, fn):
        """``fn(conn)`` on a pooled connection, errors named after ``container/name``."""
        return self.p._with_conn(op, name, fn, container=container)

    def _retried(self, op, container, name, fn):
        return self.p.retry.call(self._call, op, container, name, fn)

    def _run(self, fn, items):
        return run_bounded(fn, items, self.concurrency)

    # -- what the remote holds -----------------------------------------------------
    def data_matches(self, remote, source):
        """The remote object holds ``source``'s content in the shape this mapping writes."""
        headers = remote.headers or {}
        if remote.size != source.size and not self._dlo_shape(source):
            return False
        if source.kind == 'slo':
            return is_slo(headers) and (headers.get(source.marker) == source.etag or
                                        remote.etag == source.etag)
        if headers.get(source.marker) != source.etag:
            return False
        if self._dlo_shape(source):
            return DLO_HEADER in headers
        return is_slo(headers) and remote.size == source.size

    def _dlo_shape(self, source):
        """True when the remote keeps this DLO a DLO (not converted to an SLO)."""
        return source.kind == 'dlo' and not self.mapping.convert_dlo

    def _present(self, container, segments, fresh=False):
        """{name: (etag, size)} of those segments already in the remote ``container``."""
        names = [s.name for s in segments]
        prefix = common_prefix(names)
        if not fresh and prefix and len(names) >= LIST_FROM:
            try:
                listing = self._retried('GET', container, None, lambda conn: conn.get_container(
                    container, prefix=prefix, full_listing=True)[1])
            except RemoteError as err:
                if err.status == 404:
                    return {}
                raise
            wanted = set(names)
            return {o['name']: (o['hash'], int(o['bytes'])) for o in listing
                    if o['name'] in wanted}
        found = {}
        for name in names:
            try:
                headers = self._retried('HEAD', container, name, lambda conn, n=name: (
                    response_headers(conn, conn.head_object(container, n))))
            except RemoteError as err:
                if err.status == 404:
                    continue
                raise
            found[name] = (headers.get('etag'), int(headers.get('content-length', -1)))
        return found

    # -- uploads --------------------------------------------------------------------
    def put(self, name, headers, source):
        """Segments, then the manifest; the remote ETag, or None when the local object changed
        before the manifest was written (uploaded segments stay, unreferenced, for the next
        try to reuse)."""
        if source.kind == 'dlo' and self.mapping.convert_dlo and self.mapping.min_segment_size:
            return self._put_combined(name, headers, source)
        segments = segments_of(source.pieces, self.mapping, self._segment_headers(headers))
        self.upload_segments(segments, name)
        if not source.still_current():
            return None
        try:
            return self._put_manifest(name, headers, source)
        except RemoteError as err:
            if err.status != 400 or not segments:
                raise
        # Swift's manifest check found a segment missing or different from what a listing
        # said (listings lag behind writes): HEAD every segment and send what is not right.
        self.upload_segments(segments, name, fresh=True)
        return self._put_manifest(name, headers, source)

    def upload_segments(self, segments, name, fresh=False):
        """Upload the segments the remote does not hold as they are (``fresh``: HEAD each
        rather than trust a listing)."""
        todo = []
        by_container = {}
        for segment in segments:
            by_container.setdefault(segment.remote_container, []).append(segment)
        replaced = set()
        for container, group in by_container.items():
            present = self._present(container, group, fresh)
            for segment in group:
                found = present.get(segment.name)
                if found != (segment.etag, segment.size):
                    todo.append(segment)
                    if found is not None:
                        replaced.add((container, segment.name))
        if replaced:
            self._drop_manifest_using(name, replaced)
            self._refuse_if_shared(name, replaced)
        # A container not seen yet gets its first segment alone: if it is missing, one PUT
        # finds out and creates it, not one per segment in flight.
        first = {}
        for segment in todo:
            if segment.remote_container not in self.known:
                first.setdefault(segment.remote_container, segment)
        self._run(self._put_segment, list(first.values()))
        self._run(self._put_segment, [s for s in todo if s not in first.values()])

    def _drop_manifest_using(self, name, replaced):
        """Delete this object's remote SLO manifest if it uses a segment about to change."""
        manifest = self.read_manifest(self.p.remote_container, name)
        if manifest and manifest_paths(manifest) & replaced:
            self.p._delete_one(name)
            if self.p.logger:
                self.p.logger.info("removed the remote manifest of '%s/%s' before replacing "
                                   "segments it uses", self.p.remote_container, name)

    def _refuse_if_shared(self, name, replaced):
        """Another remote manifest still uses a segment that would get new bytes under its
        name (two local segment containers with the same names share ``<aws_bucket>_segments``,
        or manifests share segments): replacing it would leave that manifest stale."""
        shared = self.referenced(replaced, name)
        if shared:
            container, obj = sorted(shared)[0]
            raise RemoteError(409, "'%s/%s' at %s: segment '%s/%s' would get other bytes, but "
                              "another remote manifest still uses it (%d such segment(s))" % (
                                  self.p.remote_container, name, self.p.where, container, obj,
                                  len(shared)), retryable=False)

    def _put_segment(self, segment):
        self._into(segment.remote_container, lambda: self._send_segment(segment))

    def _into(self, container, send):
        """``send()`` under the retry rule; when it finds ``container`` missing (404), the
        container is created, once, and ``send()`` tried again. What ``send()`` returned."""
        created = []

        def attempt():
            try:
                return send()
            except RemoteError as err:
                if err.status != 404 or created:
                    raise
            created.append(self.create_container(container))
            return send()
        result = self.p.retry.call(attempt)
        self.known.add(container)
        return result

    def _put_read(self, container, name, reader, **kwargs):
        """One PUT whose body is ``reader``: a local read error wins over the transport
        error it causes. The remote's ETag."""
        try:
            return self._call('PUT', container, name, lambda conn: conn.put_object(
                container, name, reader, content_type='application/octet-stream', **kwargs))
        except RemoteError:
            if reader.error is not None:
                raise reader.error from None
            raise
        finally:
            reader.close()

    def _send_segment(self, segment):
        piece = segment.piece
        reader = BodyReader(piece.local.read_range(piece.account, piece.container, piece.obj, 0,
                                                segment.size, piece.etag, str(piece)))
        self._put_read(segment.remote_container, segment.name, reader,
                       content_length=segment.size, etag=segment.etag,
                       headers=segment.headers)
        if reader.bytes_read != segment.size:
            raise LocalDataError('%s: read %d of %d bytes' % (
                piece, reader.bytes_read, segment.size), retryable=True)

    # -- min_segment_size ---------------------------------------------------------
    def _put_combined(self, name, headers, source):
        """A DLO as an SLO of pieces of at least ``min_segment_size`` bytes."""
        container = remote_segments_container(self.mapping, source.dlo[0])
        groups = combine(source.pieces, self.mapping.min_segment_size)
        extra = self._segment_headers(headers)
        singles = [Segment(g[0], container, extra) for g in groups if len(g) == 1]
        self.upload_segments(singles, name)
        joined = [(index, group) for index, group in enumerate(groups, 1) if len(group) > 1]
        etags = dict(zip([i for i, _ in joined], self._run(
            lambda item: self._put_joined(container, combined_name(
                name, source.timestamp, item[0]), item[1], extra), joined)))
        entries = []
        for index, group in enumerate(groups, 1):
            if len(group) == 1:
                entries.extend(manifest_entries(group, self.mapping))
            else:
                entries.append({'path': '/%s/%s' % (container, combined_name(
                    name, source.timestamp, index)), 'etag': etags[index],
                    'size_bytes': sum(p.size for p in group)})
        if not source.still_current():
            return None
        return self._put_slo_manifest(name, self._manifest_headers(headers, source), entries)

    def _put_joined(self, container, name, pieces, extra):
        """One piece joined from ``pieces`` at ``container/name``, unless it is there already
        (same combined ETag and size); its md5."""
        marker, size = combined_etag(pieces), sum(p.size for p in pieces)
        try:
            found = self._retried('HEAD', container, name, lambda conn: response_headers(
                conn, conn.head_object(container, name)))
        except RemoteError as err:
            if err.status != 404:
                raise
            found = {}
        if found.get(COMBINED_ETAG) == marker and int(found.get('content-length', -1)) == size:
            return found['etag']
        return self._into(container, lambda: self._send_joined(container, name, pieces, marker,
                                                                size, extra))

    def _send_joined(self, container, name, pieces, marker, size, extra):
        reader = PartReader([Span(p, 0, p.size) for p in pieces])
        etag = self._put_read(container, name, reader, content_length=size,
                              headers=dict(extra, **{COMBINED_ETAG: marker}))
        etag = (etag or '').strip('"')
        if reader.bytes_read != size or etag != reader.hexdigest():
            # What the remote stored is not what was read: it must not be used.
            self.p._delete_one(name, container)
            raise RemoteError(502, "joined segment '%s/%s' at %s: remote ETag %s, sent md5 %s "
                              "(%d of %d bytes)" % (container, name, self.p.where, etag,
                                                   reader.hexdigest(), reader.bytes_read, size))
        return etag

    def create_container(self, container):
        headers = {}
        if self.mapping.storage_policy:
            headers['X-Storage-Policy'] = self.mapping.storage_policy
        self._retried('create', container, None, lambda conn: conn.put_container(
            container, headers=headers))
        return container

    def _segment_headers(self, headers):
        """A segment's expiry follows its manifest's, ``remote_delete_after_addition`` later
        (``providers.expiry``)."""
        return self.p.expiry_headers({k.lower(): v for k, v in headers.items()}, segment=True)

    def _manifest_headers(self, headers, source):
        lower = {k.lower(): v for k, v in headers.items()}
        out = self.p._user_headers(lower)
        out[source.marker] = source.etag
        out.update(self.p.expiry_headers(lower))
        return out

    def _put_manifest(self, name, headers, source):
        out = self._manifest_headers(headers, source)
        container = self.p.remote_container
        if self._dlo_shape(source):
            seg_container, prefix = source.dlo
            out[DLO_HEADER] = quote('%s/%s' % (
                remote_segments_container(self.mapping, seg_container), prefix))
            self._retried('PUT', container, name, lambda conn: conn.put_object(
                container, name, b'', content_length=0, headers=out))
            remote = self.p.head_object(name)
            if remote is None:
                raise RemoteError(502, "DLO manifest '%s/%s' at %s: gone right after its PUT"
                                  % (container, name, self.p.where))
            return remote.etag
        return self._put_slo_manifest(name, out, manifest_entries(source.pieces, self.mapping))

    def _put_slo_manifest(self, name, headers, entries):
        """``multipart-manifest=put`` with the ETag Swift must find; that ETag."""
        container = self.p.remote_container
        body = json.dumps(entries).encode('utf-8')
        etag = slo_etag(entries)
        self._retried('PUT', container, name, lambda conn: conn.put_object(
            container, name, body, content_length=len(body), etag=etag, headers=headers,
            query_string='multipart-manifest=put'))
        return etag

    def update_metadata(self, name, headers, source, remote):
        """POST the user metadata (a DLO keeps its remote ``x-object-manifest``). With an
        expiry, the segments are POSTed their own first: the manifest's new expiry must not
        outlive them."""
        if not source.still_current():
            return None
        out = self._manifest_headers(headers, source)
        remote_headers = remote.headers or {}
        if DLO_HEADER in remote_headers:
            out[DLO_HEADER] = quote(unquote(remote_headers[DLO_HEADER]))
        extra = self._segment_headers(headers)
        if extra:
            self._refresh_segments(name, remote_headers, extra)
        container = self.p.remote_container
        try:
            self._retried('POST', container, name, lambda conn: conn.post_object(
                container, name, out))
        except RemoteError as err:
            if err.status == 404:
                return False
            raise
        return True

    def _refresh_segments(self, name, remote_headers, extra):
        """POST ``extra`` (the segments' expiry) to every remote segment of ``name``, keeping
        each segment's own metadata (a joined piece's combined ETag)."""
        if is_slo(remote_headers):
            segments = manifest_paths(self.read_manifest(self.p.remote_container, name))
        elif DLO_HEADER in remote_headers:
            segments = self._dlo_segments(remote_headers[DLO_HEADER])
        else:
            return

        def post(path):
            container, obj = path
            found = self._retried('HEAD', container, obj, lambda conn: response_headers(
                conn, conn.head_object(container, obj)))
            kept = {k: v for k, v in found.items() if k.startswith('x-object-meta-')}
            self._retried('POST', container, obj, lambda conn: conn.post_object(
                container, obj, dict(kept, **extra)))
        self._run(post, sorted(segments))

    # -- reads ------------------------------------------------------------------
    def read_manifest(self, container, name):
        """The raw manifest of an SLO in ``container``, or None (absent, not an SLO; the body
        of a plain object is not read)."""
        def get(conn):
            headers, body = conn.get_object(container, name, resp_chunk_size=BODY_CHUNK,
                                            query_string='multipart-manifest=get')
            try:
                headers = response_headers(conn, headers)
                return headers, b''.join(body) if is_slo(headers) else None
            finally:
                body.close()
        try:
            _headers, raw = self._retried('GET', container, name, get)
        except RemoteError as err:
            if err.status == 404:
                return None
            raise
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise RemoteError(502, "SLO manifest '%s/%s' at %s is not valid JSON" % (
                container, name, self.p.where), retryable=False) from None

    # -- deletes ----------------------------------------------------------------
    def delete(self, name):
        """Delete ``name`` if it is a large object (True); False for a plain object (the
        caller deletes it), True when it is not there at all."""
        remote = self.p.head_object(name)
        if remote is None:
            return True
        headers = remote.headers or {}
        if is_slo(headers):
            segments = manifest_paths(self.read_manifest(self.p.remote_container, name))
        elif DLO_HEADER in headers:
            segments = self._dlo_segments(headers[DLO_HEADER])
        else:
            return False
        self.p._delete_one(name)
        doomed = segments - self.referenced(segments, name)
        by_container = {}
        for container, obj in sorted(doomed):
            by_container.setdefault(container, []).append(obj)
        for container, names in by_container.items():
            self.p._delete_many(names, container)
        kept = len(segments) - len(doomed)
        if kept and self.p.logger:
            self.p.logger.info("kept %d segment(s) of '%s/%s' that other manifests use",
                               kept, self.p.remote_container, name)
        return True

    def _dlo_segments(self, value):
        value = unquote(value)
        if '/' not in value:
            return set()
        container, prefix = value.split('/', 1)
        try:
            listing = self._retried('GET', container, None, lambda conn: conn.get_container(
                container, prefix=prefix, full_listing=True)[1])
        except RemoteError as err:
            if err.status == 404:
                return set()
            raise
        return {(container, o['name']) for o in listing}

    def manifest_containers(self):
        """The remote containers whose SLOs may use segments this mapping wrote."""
        if not self.mapping.per_account:
            return [self.p.remote_container]
        prefix = self.mapping.aws_bucket
        listing = self._retried('GET', None, None, lambda conn: conn.get_account(
            prefix=prefix or None, full_listing=True)[1])
        return [c['name'] for c in listing]

    def referenced(self, segments, skip_name):
        """Those of ``segments`` some other remote SLO manifest still names."""
        if not segments:
            return set()
        used = set()
        for container in self.manifest_containers():
            try:
                listing = self._retried('GET', container, None, lambda conn, c=container: (
                    conn.get_container(c, full_listing=True)[1]))
            except RemoteError as err:
                if err.status == 404:
                    continue
                raise
            for entry in listing:
                if 'slo_etag' not in entry or (
                        container == self.p.remote_container and entry['name'] == skip_name):
                    continue
                used |= manifest_paths(self.read_manifest(container, entry['name'])) & segments
                if used == segments:
                    return used
        return used


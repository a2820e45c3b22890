"""Reading and archiving objects in the local cluster, through InternalClient.

Every read names the storage policy the container row was recorded under, so an object is read
from the policy its row describes. The InternalClient pipeline has no SLO/DLO middleware, so a
manifest comes back raw, which is what propagation needs. A read that knows its row's
timestamps first tries the fast path (``s3_sync.direct_read``: the object servers themselves),
which answers only when its answer is certainly the proxy's.
"""
import random

from swift.common.internal_client import UnexpectedResponse
from swift.common.swob import wsgi_to_str
from swift.common.utils import Timestamp, close_if_possible

from s3_sync.direct_read import DirectReader

POLICY_HEADER = 'X-Backend-Storage-Policy-Index'
# What a POST replaces besides user metadata (the object server's default allowed_headers,
# less X-Delete-At, which the fence sets).
POST_REPLACED = ('content-disposition', 'content-encoding', 'x-object-manifest',
                 'cache-control', 'content-language', 'expires', 'x-robots-tag')
# What an archive delete found (see LocalSwift.delete_if_unchanged).
DELETED, KEPT, CLIENT_DELETED = 'deleted', 'kept', 'client-deleted'
# Fence X-Delete-At values: far beyond any real expiry, unique per archive delete, and below
# the 10-digit ceiling of Swift timestamps.
FENCE_BASE = 9000000000            # year 2255
FENCE_SPREAD = 10 ** 8


def new_fence():
    return str(FENCE_BASE + random.randrange(FENCE_SPREAD))


def is_fence(delete_at):
    """True for an X-Delete-At set by the archiver's fence (never to be propagated)."""
    try:
        return int(delete_at) >= FENCE_BASE
    except (TypeError, ValueError):
        return False


def is_post_metadata(key):
    return key.startswith('x-object-meta-') or key in POST_REPLACED


class LocalError(Exception):
    """The local cluster did not answer as it should (5xx, timeouts)."""

    retryable = True


class SegmentChanged(LocalError):
    """A segment is missing or is not the version the manifest (or listing) names.

    Not retryable within one upload: reading it again gives the same answer."""
    retryable = False


class BodyReader:
    """A file-like view of a Swift response body iterator, read in client-chosen sizes.

    Lets boto3 and swiftclient stream an object without it ever being held whole in memory.
    Each byte is copied at most once on its way out (a read that fits inside the current chunk
    is one slice; a whole chunk is handed over as is)."""

    def __init__(self, app_iter):
        self._iter = iter(app_iter)
        self._app_iter = app_iter
        self._chunk = b''
        self._offset = 0
        self.bytes_read = 0
        # What the body's iterator raised: a consumer that reports failures of its own (the
        # proxy's bare 500 for a PUT's input, a transport error in swiftclient) names it.
        self.error = None

    def _fill(self):
        while self._offset >= len(self._chunk):
            try:
                self._chunk, self._offset = next(self._iter), 0
            except StopIteration:
                return False
            except Exception as exc:
                self.error = exc
                raise
        return True

    def read(self, size=-1):
        if size is None or size < 0:
            size = float('inf')
        pieces = []
        while size > 0 and self._fill():
            start = self._offset
            end = min(len(self._chunk), start + size)
            pieces.append(self._chunk if (start, end) == (0, len(self._chunk))
                          else self._chunk[start:end])
            self._offset = end
            size -= end - start
        data = pieces[0] if len(pieces) == 1 else b''.join(pieces)
        self.bytes_read += len(data)
        return data

    def close(self):
        close_if_possible(self._iter)
        close_body(self._app_iter)


class LocalObject:
    """An open local GET: lower-case headers and a streaming ``reader``; close() when done."""

    def __init__(self, headers, app_iter):
        self.headers = _lower(headers)
        self.reader = BodyReader(app_iter)

    @property
    def size(self):
        return int(self.headers.get('content-length', 0))

    @property
    def etag(self):
        return self.headers.get('etag', '').strip('"')

    @property
    def timestamp(self):
        return Timestamp(self.headers['x-timestamp'])

    def close(self):
        self.reader.close()


def _lower(headers):
    """Lower-case keys; WSGI (latin-1 of UTF-8) strings turned into real str."""
    return {wsgi_to_str(k).lower(): wsgi_to_str(v) for k, v in headers.items()}


class LocalSwift:
    """Object operations on the local cluster for one account."""

    def __init__(self, internal_client, direct=True):
        self.client = internal_client
        self.direct = DirectReader.for_client(internal_client) if direct else None

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UnexpectedResponse as exc:
            raise LocalError('local %s' % exc.resp.status) from None

    def open(self, account, container, name, policy_index, timestamps=None):
        """GET the object (raw manifest for large objects); None when it is gone.

        ``timestamps``: the (data, metadata) timestamps of the row being propagated; with them
        a plain object of that version is read straight from the object servers."""
        if timestamps is not None and self.direct is not None:
            found = self.direct.get(account, container, name, policy_index, *timestamps)
            if found is not None:
                return LocalObject(*found)
        status, headers, body = self._call(
            self.client.get_object, account, container, name,
            headers={POLICY_HEADER: str(policy_index)}, acceptable_statuses=(2, 404),
            params={'multipart-manifest': 'get'})
        if status == 404:
            _drain(body)
            return None
        return LocalObject(headers, body)

    def head(self, account, container, name, policy_index):
        """Lower-case headers of the object, or None when it is gone."""
        resp = self._call(
            self.client.make_request, 'HEAD',
            self.client.make_path(account, container, name),
            {POLICY_HEADER: str(policy_index)}, (2, 404),
            params={'multipart-manifest': 'get'})
        if resp.status_int == 404:
            return None
        return _lower(resp.headers)

    # -- large objects' parts ------------------------------------------------
    def read_range(self, account, container, name, start, length, etag=None, what=None):
        """An iterable of ``length`` bytes at ``start`` of a (segment) object, with ``close()``.

        ``etag``: the version the caller expects; another one, or a missing object, raises
        SegmentChanged (``what`` names the object in that message)."""
        if length <= 0:
            return []
        what = what or 'segment /%s/%s' % (container, name)
        headers = {'Range': 'bytes=%d-%d' % (start, start + length - 1)}
        try:
            _status, resp_headers, body = self.client.get_object(
                account, container, name, headers=headers)
        except UnexpectedResponse as exc:
            status = exc.resp.status_int
            if status in (404, 416):
                raise SegmentChanged('%s: local %s' % (what, exc.resp.status)) from None
            raise LocalError('%s: local %s' % (what, exc.resp.status)) from None
        found = _lower(resp_headers).get('etag', '').strip().strip('"')
        if etag and found != etag:
            close_body(body)
            raise SegmentChanged('%s: etag %s is not the expected %s' % (what, found, etag))
        return ClosingBody(body)

    def raw_manifest(self, account, container, name):
        """(raw manifest bytes, lower-case headers) of a (nested) SLO; SegmentChanged when it
        is gone."""
        try:
            _status, headers, body = self.client.get_object(
                account, container, name, params={'multipart-manifest': 'get'})
        except UnexpectedResponse as exc:
            if exc.resp.status_int == 404:
                raise SegmentChanged('nested SLO /%s/%s: local 404' % (container, name)) \
                    from None
            raise LocalError('nested SLO /%s/%s: local %s' % (
                container, name, exc.resp.status)) from None
        try:
            return b''.join(body), _lower(headers)
        finally:
            close_body(body)

    def listing(self, account, container, prefix):
        """[(name, etag, size)] of the objects under ``prefix`` (a DLO's segments)."""
        try:
            return [(o['name'], o['hash'].strip().strip('"'), int(o['bytes']))
                    for o in self.client.iter_objects(account, container, prefix=prefix)]
        except UnexpectedResponse as exc:
            raise LocalError('DLO segments /%s/%s: local %s' % (
                container, prefix, exc.resp.status)) from None

    def delete_if_unchanged(self, account, container, name, meta_ts):
        """Delete the object unless a client wrote (PUT, POST or DELETE) it after ``meta_ts``.

        The object server settles the races, not us, but its DELETE compares only the *data*
        timestamp: a client POST newer than ``meta_ts`` would not stop it and its metadata
        would be lost. So the delete is fenced, in two steps just after ``meta_ts`` (offsets
        +1, +2, older than any later client write):

        1. a POST that re-states the object's metadata with a unique fence ``X-Delete-At``:
           the object server refuses it (409) once a client wrote after ``meta_ts``;
        2. a DELETE with ``X-If-Delete-At: <fence>``: a client POST landing between 1 and 2
           replaced the fence (412), a client PUT is newer data (409).

        Returns DELETED (gone now, or already by us), KEPT (a client's newer write keeps it) or
        CLIENT_DELETED (a client deleted it after ``meta_ts``: its archived copy must go too).
        """
        meta_ts = Timestamp(meta_ts)
        resp = self._head(account, container, name)
        if resp.status_int == 404:
            return self._gone(resp, meta_ts)
        base = self._fence_base(resp.headers, meta_ts)
        if base is None:
            return KEPT
        fence = new_fence()
        # As Swift sent them (WSGI strings): non-ASCII metadata goes back byte for byte.
        post = {k: v for k, v in resp.headers.items() if is_post_metadata(k.lower())}
        post.update({'X-Delete-At': fence,
                     'X-Timestamp': Timestamp(base, offset=1).internal})
        status = self._request('POST', account, container, name, post)
        if status == 404:
            return self._gone(self._head(account, container, name), meta_ts)
        if status in (409, 412):
            return KEPT
        status = self._request('DELETE', account, container, name, {
            'X-Timestamp': Timestamp(base, offset=2).internal,
            'X-If-Delete-At': fence})
        return KEPT if status in (409, 412) else DELETED

    @staticmethod
    def _fence_base(headers, meta_ts):
        """The timestamp the fence follows: the object's exact one (X-Backend-Timestamp, with
        its offset), when it is the archived version's or an earlier fence of ours for it (a
        killed archiver's, or the same row handled again); None when a client wrote since."""
        exact = headers.get('X-Backend-Timestamp')
        current = Timestamp(exact) if exact else Timestamp(headers['X-Timestamp'])
        if current <= meta_ts:
            return meta_ts
        ours = current.normal == meta_ts.normal and is_fence(headers.get('X-Delete-At'))
        return current if ours else None

    @staticmethod
    def _gone(resp, meta_ts):
        """Who deleted it: a tombstone without offset and newer than ``meta_ts`` is a
        client's (the archiver's own carry offsets)."""
        if resp.status_int != 404:
            return KEPT         # back already: a client wrote it again
        found = resp.headers.get('X-Backend-Timestamp')
        tombstone = Timestamp(found) if found else None
        if tombstone is not None and tombstone.offset == 0 and tombstone > meta_ts:
            return CLIENT_DELETED
        return DELETED

    def _head(self, account, container, name):
        resp = self._call(self.client.make_request, 'HEAD',
                          self.client.make_path(account, container, name), {}, (2, 404),
                          params={'multipart-manifest': 'get'})
        _drain(resp.app_iter)
        return resp

    def _request(self, method, account, container, name, headers):
        resp = self._call(self.client.make_request, method,
                          self.client.make_path(account, container, name), headers,
                          (2, 404, 409, 412))
        _drain(resp.app_iter)
        return resp.status_int

    def delete_segment(self, account, container, name):
        """Delete one segment of an archived large object; already gone is fine."""
        resp = self._call(self.client.make_request, 'DELETE',
                          self.client.make_path(account, container, name), {}, (2, 404, 409))
        _drain(resp.app_iter)


def close_body(body):
    """Close a response body InternalClient handed over, read or not. It is catch_errors'
    ByteEnforcer, which has no close() of its own: the proxy's GET generator inside it must be
    closed too, or its client_timeout watchdog stays armed and fires a ChunkWriteTimeout
    traceback into the hub a minute later."""
    close_if_possible(getattr(body, 'inner_iter', None))
    close_if_possible(body)


class ClosingBody:
    """A response body as an iterator whose ``close()`` reaches the proxy's GET."""

    def __init__(self, body):
        self._body = body
        self._iter = iter(body)

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._iter)

    def close(self):
        close_if_possible(self._iter)
        close_body(self._body)


def _drain(body):
    for _ in body:
        pass
    close_body(body)

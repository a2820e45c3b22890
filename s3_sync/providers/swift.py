"""The Swift provider: one mapping's container on another Swift cluster.

Naming follows the original's Swift target: the remote container is ``aws_bucket`` (or, for a
``"/*"`` mapping, ``aws_bucket + <local container>``), object names are unchanged (no hashed
prefix, ``custom_prefix`` ignored) and listings are annotated
``"<aws_endpoint>;<aws_identity>;<remote container>"``.

Requests go through python-swiftclient with its own retries off (``retries=0``; it still
re-authenticates once on a 401, which is how an expired token is renewed): idempotent requests
are retried by ``s3_sync.retry.DEFAULT_POLICY``, a PUT streams a body that cannot be rewound so
its caller retries it by re-reading the source. Each concurrent request takes its own
``Connection`` from a small green pool (``max_conns``); the connections share one token.

Headers are Swift-style both ways and values are passed through untouched (the original
lower-cased metadata values and content-types; we do not). Response headers are read from the
raw response because swiftclient URL-unquotes every header value (``50%25`` would come back as
``50%``). Every failure becomes a one-line ``RemoteError`` naming the container/object and the
remote, never the secret.

Large objects (segments first into the remote segments container, then the manifest; deletes
that spare segments other manifests use) are ``swift_large.SwiftLargeObjects``.
"""
import json
from urllib.parse import quote, urlsplit

import eventlet.pools
from swiftclient.exceptions import ClientException

from s3_sync.log import one_line
from s3_sync.metadata import DLO_HEADER, META_PREFIX
from s3_sync.retry import retryable_status
from s3_sync.providers import expiry
from s3_sync.providers.base import (
    BODY_CHUNK, COPY_CHUNK, Features, Provider, RemoteError, RemoteObject, RemoteResponse)
from s3_sync.providers.swift_large import SwiftLargeObjects, local_segments_container
from s3_sync.providers.swift_conn import (
    BULK_DELETE_MAX,
    MAX_LIST,
    PAGE_SIZE,
    PASSED_REQUEST_HEADERS,
    SharedAuth,
    SwiftConnection,
    TRANSPORT_ERRORS,
    _lost_length,
    _status_of,
    auth_key,
    connection_options,
    full_headers,
    header_epoch,
    last_response,
    listing_epoch,
    response_headers,
    swift_headers)


class SwiftProvider(Provider):
    """See ``providers.base.Provider``; ``connection_factory`` may be injected (tests);
    ``shared`` (``providers.shared.Shared``) lends the login of equal connection settings."""

    name = 'swift'
    features = Features(large_objects=True, container_metadata=True, expiry=True,
                        bulk_delete=True, ranged_raw_reads=True)
    rewritten_headers = (DLO_HEADER,)

    def __init__(self, mapping, container=None, logger=None, retry_policy=None,
                 connection_factory=None, shared=None):
        super().__init__(mapping, container, logger, retry_policy)
        self.per_account = mapping.per_account
        if self.per_account and self.container == '/*':
            raise ValueError("mapping %s/'/*' needs the real container to build a provider"
                             % self.account)
        self.remote_container = mapping.aws_bucket + (
            self.container if self.per_account else '')
        self.endpoint = mapping.aws_endpoint or ''
        self.identity = mapping.aws_identity
        self._secret = mapping.aws_secret
        self._content_location = '%s;%s;%s' % (self.endpoint, self.identity,
                                               self.remote_container)
        self.page_size = PAGE_SIZE
        if shared is not None:
            self.shared, _ = shared.get(auth_key(mapping),
                                        lambda: SharedAuth(mapping.remote_account))
        else:
            self.shared = SharedAuth(mapping.remote_account)
        if connection_factory is None:
            options = connection_options(mapping)
            proxy = mapping.proxies.get(urlsplit(self.endpoint).scheme or 'http')
            connection_factory = lambda: SwiftConnection(  # noqa: E731
                self.shared, proxy=proxy, throttle_of=lambda: self.throttle, **options)
        self._pool = eventlet.pools.Pool(max_size=mapping.max_conns, create=connection_factory)
        self._bulk_delete_max = None    # unknown until /info is read; 0 means unsupported
        self.large = SwiftLargeObjects(self)

    @property
    def content_location(self):
        return self._content_location

    @property
    def where(self):
        """The remote as error messages name it: the storage URL once known."""
        return self.shared.url or self.endpoint

    # -- plumbing -------------------------------------------------------
    def _target(self, name=None, container=None):
        container = container or self.remote_container
        if name is None:
            return "container '%s'" % container
        return "'%s/%s'" % (container, name)

    def _scrub(self, text):
        """Belt and braces: no message may carry the secret, whatever a library put in it."""
        if self._secret and len(self._secret) >= 4:
            return text.replace(self._secret, '***')
        return text

    def _error(self, exc, op, name=None, conn=None, container=None):
        """One-line RemoteError for a swiftclient or transport failure; it also carries the
        Swift-style response ``headers`` (None when no response arrived) and ``body``.

        ``conn`` (the connection that failed) lets the headers be read raw, when its last
        response is the one the error came from (not, say, a failed re-authentication)."""
        target = self._target(name, container)
        if isinstance(exc, ClientException):
            status, message, retryable = self._client_error(exc, op, target, name)
        else:
            status, message, retryable = 502, '%s %s: cannot reach %s: %s' % (
                op, target, self.where, one_line(exc)), True
        raw = getattr(exc, 'http_response_headers', None)
        resp = last_response(conn)
        if raw is not None and resp is not None and resp.headers is raw:
            headers = full_headers(resp)
        else:
            headers = swift_headers(raw) if raw is not None else None
        return RemoteError(status, self._scrub(message), retryable, headers=headers,
                           body=getattr(exc, 'http_response_content', b'') or b'')

    def _client_error(self, exc, op, target, name):
        """(status, message, retryable) for a ClientException."""
        status = exc.http_status
        if status is None:
            # Keystone failures carry no status; anything else (say keystoneclient missing)
            # will not go away by retrying.
            if 'Unauthorized' in exc.msg or 'Authorization Failure' in exc.msg:
                status = 401
            else:
                return 502, '%s %s at %s: %s' % (op, target, self.where,
                                                 one_line(exc.msg)), False
        retryable = retryable_status(status)
        if status == 401:
            return 401, 'authentication failed for %s at %s (401)' % (
                self.identity, self.endpoint), False
        if status == 404 and name is None:
            return 404, "container '%s' does not exist at %s" % (
                self.remote_container, self.where), False
        if status == 403:
            return 403, 'access denied to %s at %s (403)' % (target, self.where), False
        message = '%s %s at %s failed: %s %s' % (op, target, self.where, status,
                                                 exc.http_reason or '')
        body = exc.http_response_content
        if 400 <= status < 500 and status != 404 and body:
            if isinstance(body, bytes):
                body = body.decode('utf-8', 'replace')
            message = message.strip() + ': ' + one_line(body)
        return status, message.strip(), retryable

    def _with_conn(self, op, name, fn, container=None):
        """Run ``fn(conn)`` on a pooled connection; errors translated, naming ``container``
        (the mapping's remote container by default)."""
        conn = self._pool.get()
        try:
            return fn(conn)
        except (ClientException,) + TRANSPORT_ERRORS as exc:
            raise self._error(exc, op, name, conn, container) from None
        finally:
            self._pool.put(conn)

    def _retried(self, op, name, fn, container=None):
        return self.retry.call(self._with_conn, op, name, fn, container)

    # -- headers we send --------------------------------------------------
    def expiry_headers(self, headers, segment=False):
        """X-Delete-At/-After for a PUT or POST of an object with these local headers (for a
        segment: its manifest's headers); see ``providers.expiry``."""
        return expiry.expiry_headers(self.mapping, headers, segment)

    def expires_at(self, headers):
        return expiry.expires_at(self.mapping, headers)

    def expiry_matches(self, local_headers, remote_headers):
        return expiry.expiry_matches(self.mapping, local_headers, remote_headers)

    @staticmethod
    def _user_headers(headers):
        """User metadata and content-type, names lower-cased, values exactly as given."""
        out = {}
        for key, value in headers.items():
            key = key.lower()
            if (key.startswith(META_PREFIX) and len(key) > len(META_PREFIX)) or (
                    key == 'content-type' and value):
                out[key] = value
        return out

    # -- reads ----------------------------------------------------------
    def head_object(self, name):
        def head(conn):
            return response_headers(conn, conn.head_object(self.remote_container, name))
        try:
            headers = self._retried('HEAD', name, head)
        except RemoteError as err:
            if err.status == 404:
                return None
            raise
        return RemoteObject(name, headers.get('etag'), int(headers.get('content-length', 0)),
                            header_epoch(headers), headers)

    def get_object(self, name, headers=None, head=False):
        """Non-2xx answers below 500 are returned; 5xx and transport errors raise.

        A GET keeps its connection out of the pool until the body is read or closed."""
        wanted = _passed_headers(headers)
        if not head:
            return self._get(name, wanted)
        try:
            return self._retried('HEAD', name, lambda conn: RemoteResponse(
                200, response_headers(conn, conn.head_object(
                    self.remote_container, name, headers=wanted))))
        except RemoteError as err:
            return self._answered(err, head)

    def _get(self, name, wanted, query_string=None, chunk=BODY_CHUNK):
        try:
            out, body, release = self.retry.call(self._open, name, wanted, query_string, chunk)
        except RemoteError as err:
            return self._answered(err, False)
        return RemoteResponse(206 if 'content-range' in out else 200, out, body, close=release)

    def _answered(self, err, head):
        """A 3xx/4xx as the client's answer; 401 is our credentials' fault, not the
        client's: raised like a 5xx."""
        if err.status >= 500 or err.status == 401 or err.headers is None:
            raise err
        return self._error_response(err, head)

    def _open(self, name, wanted, query_string=None, chunk=BODY_CHUNK):
        """``(headers, body iterator, release)`` of a streamed GET, its body in pieces of
        ``chunk`` bytes; the connection stays out of the pool until ``release()`` (called when
        the body is exhausted)."""
        conn = self._pool.get()
        try:
            parsed, body = conn.get_object(self.remote_container, name, headers=wanted,
                                           resp_chunk_size=chunk,
                                           query_string=query_string)
            out = response_headers(conn, parsed)
        except (ClientException,) + TRANSPORT_ERRORS as exc:
            self._pool.put(conn)
            raise self._error(exc, 'GET', name, conn) from None
        except BaseException:
            self._pool.put(conn)
            raise
        release = _Release(self._pool, conn, body)
        return out, self._stream(body, release, name, _lost_length(conn, out), chunk), release

    def _stream(self, body, release, name, limit=None, chunk=BODY_CHUNK):
        """The body's chunks; with ``limit`` (framing lost, see ``_lost_length``) stop after
        that many bytes instead of waiting for the server to close the connection."""
        try:
            if limit is None:
                yield from body
                return
            # Never ask for more than is left: the read would block until the server closes.
            while limit > 0:
                piece = body.read(min(chunk, limit))
                if not piece:
                    return
                limit -= len(piece)
                yield piece
        except TRANSPORT_ERRORS as exc:
            raise self._error(exc, 'GET', name) from None
        finally:
            release()

    @staticmethod
    def _error_response(err, head):
        """A RemoteResponse for a 3xx/4xx, with a content-length matching its body."""
        headers = {k: v for k, v in err.headers.items()
                   if k not in ('content-length', 'transfer-encoding')}
        body = b'' if head or err.status == 304 else err.body
        if err.status != 304:
            headers['content-length'] = str(len(body))
        return RemoteResponse(err.status, headers, [body] if body else [])

    def _list(self, marker, limit, prefix, delimiter, end_marker):
        def page(conn):
            return conn.get_container(self.remote_container, marker=marker or None,
                                      limit=limit, prefix=prefix or None,
                                      delimiter=delimiter or None,
                                      end_marker=end_marker or None)[1]
        return self._retried('GET', None, page)

    def list_objects(self, marker='', limit=1000, prefix='', delimiter='', end_marker=''):
        entries = self._list(marker, min(int(limit), MAX_LIST), prefix, delimiter, end_marker)
        for entry in entries:
            entry['content_location'] = self.content_location
        return entries

    def iter_objects(self, marker='', end_marker='', prefix=''):
        while True:
            entries = self._list(marker, self.page_size, prefix, '', end_marker)
            for entry in entries:
                yield RemoteObject(entry['name'], entry['hash'], entry['bytes'],
                                   listing_epoch(entry['last_modified']))
            # A short page is the last one (Swift caps listings at 10000, far above ours).
            if len(entries) < self.page_size:
                return
            marker = entries[-1]['name']

    def get_manifest(self, name):
        """The remote SLO's manifest with its segments named where they would live locally
        (``swift_large.local_segments_container``), so the shunt restores them there."""
        manifest = self.large.read_manifest(self.remote_container, name)
        if manifest is None:
            return None
        for entry in manifest:
            if isinstance(entry, dict) and isinstance(entry.get('name'), str):
                parts = entry['name'].lstrip('/').split('/', 1)
                if len(parts) == 2:
                    entry['name'] = '/%s/%s' % (local_segments_container(
                        self.mapping, parts[0], self.container), parts[1])
        return manifest

    # -- reading a source (the migrator) -----------------------------------
    def get_raw(self, name, headers=None):
        return self._get(name, _passed_headers(headers), 'multipart-manifest=get', COPY_CHUNK)

    def container_headers(self):
        def head(conn):
            return response_headers(conn, conn.head_container(self.remote_container))
        try:
            return self._retried('HEAD', None, head)
        except RemoteError as err:
            if err.status == 404:
                return None
            raise

    def account_headers(self):
        """Swift-style headers of the source account (metadata, ACL)."""
        return self._retried('HEAD account', None, lambda conn: response_headers(
            conn, conn.head_account()))

    def list_containers(self, marker='', limit=1000, prefix=''):
        def page(conn):
            return conn.get_account(marker=marker or None, limit=min(int(limit), MAX_LIST),
                                    prefix=prefix or None)[1]
        return self._retried('GET account', None, page)

    # -- writes ---------------------------------------------------------
    def put_object(self, name, headers, body, size):
        """One streamed PUT; the remote checks the etag (422 on mismatch). Not retried here.

        Large objects (SLO/DLO) are ``put_large``."""
        lower = {k.lower(): v for k, v in headers.items()}
        out = self._user_headers(lower)
        out.update(self.expiry_headers(lower))
        etag = (lower.get('etag') or '').strip('"') or None

        def put(conn):
            return conn.put_object(self.remote_container, name, body, content_length=size,
                                   etag=etag, headers=out)
        return self._with_conn('PUT', name, put)

    def update_metadata(self, name, headers, etag):
        """HEAD (the object must be there with ``etag``) then POST the user metadata and
        content-type; a Swift POST replaces all user metadata, which is what we want."""
        remote = self.head_object(name)
        if remote is None or remote.etag != (etag or '').strip('"'):
            return False
        lower = {k.lower(): v for k, v in headers.items()}
        # A Swift POST replaces the expiry too: what the local object has (nothing = none).
        out = self._user_headers(lower)
        out.update(self.expiry_headers(lower))

        def post(conn):
            conn.post_object(self.remote_container, name, out)
        try:
            self._retried('POST', name, post)
        except RemoteError as err:
            if err.status == 404:     # deleted between the HEAD and the POST
                return False
            raise
        return True

    # -- large objects (see swift_large) -------------------------------------------
    def put_large(self, name, headers, source):
        return self.large.put(name, headers, source)

    def update_large_metadata(self, name, headers, source, remote):
        return self.large.update_metadata(name, headers, source, remote)

    def large_data_matches(self, remote, source):
        return self.large.data_matches(remote, source)

    def delete_objects(self, names):
        """Large objects with their segments (``swift_large``: a HEAD each tells them
        apart), the others in one bulk delete per 1000 names when the remote has the bulk
        middleware (and there is more than one name), else one DELETE each. Missing objects
        are fine."""
        plain = [name for name in names if not self.large.delete(name)]
        self._delete_many(plain)

    def _delete_many(self, names, container=None):
        names = list(names)
        if len(names) > 1 and self._bulk_limit():
            step = self._bulk_limit()
            for start in range(0, len(names), step):
                self.retry.call(self._bulk_delete, names[start:start + step], container)
            return
        for name in names:
            self._delete_one(name, container)

    def _delete_one(self, name, container=None):
        container = container or self.remote_container
        try:
            self._retried('DELETE', name, lambda conn: conn.delete_object(container, name),
                          container)
        except RemoteError as err:
            if err.status != 404:
                raise

    def _bulk_limit(self):
        """Names per bulk delete, 0 when unsupported; ``/info`` is read once per provider."""
        if self._bulk_delete_max is None:
            try:
                info = self._retried('GET /info for', None,
                                     lambda conn: conn.get_capabilities())
            except RemoteError as err:
                if err.status >= 500 or err.status == 401:
                    raise
                info = {}   # /info disabled (404): assume no bulk delete
            limit = (info.get('bulk_delete') or {}).get('max_deletes_per_request', 0)
            self._bulk_delete_max = min(int(limit or 0), BULK_DELETE_MAX)
        return self._bulk_delete_max

    def _bulk_delete(self, names, container=None):
        container = container or self.remote_container
        body = '\n'.join(quote('/%s/%s' % (container, name))
                         for name in names).encode('utf-8')
        headers = {'Content-Type': 'text/plain', 'Accept': 'application/json'}
        op = 'bulk delete of %d object(s) in' % len(names)
        _headers, raw = self._with_conn(op, None, lambda conn: conn.post_account(
            headers, query_string='bulk-delete', data=body), container)
        try:
            result = json.loads(raw)
        except ValueError:
            raise RemoteError(502, '%s %s at %s: unreadable answer' % (
                op, self._target(None, container), self.where)) from None
        # The bulk middleware answers 200 and puts the real outcome in the body; names that
        # were not there are counted in "Number Not Found", not in "Errors".
        errors = result.get('Errors') or []
        status = _status_of(result.get('Response Status'), 200)
        if errors:
            name, error = errors[0][0], errors[0][1]
            raise RemoteError(_status_of(error, 502),
                              "%s %s at %s failed: %d error(s), first '%s': %s" % (
                                  op, self._target(None, container), self.where, len(errors),
                                  name, error))
        if status >= 300:
            raise RemoteError(status, '%s %s at %s failed: %s %s' % (
                op, self._target(None, container), self.where, result.get('Response Status'),
                one_line(result.get('Response Body') or '')))

    # -- setup ----------------------------------------------------------
    def check(self, create=False):
        """HEAD the remote container; create it (with ``storage_policy``) when asked.

        Per-account mappings always create: their remote containers are named after local
        containers that come and go, as the original did before the first upload."""
        try:
            self._retried('HEAD', None, lambda conn: conn.head_container(self.remote_container))
            return
        except RemoteError as err:
            if not ((create or self.per_account) and err.status == 404):
                raise
        headers = {}
        if self.mapping.storage_policy:
            headers['X-Storage-Policy'] = self.mapping.storage_policy
        self._retried('create', None, lambda conn: conn.put_container(
            self.remote_container, headers=headers))

    def set_container_metadata(self, headers):
        """POST container metadata/ACLs; an empty value removes a key, as in Swift."""
        self._retried('POST', None, lambda conn: conn.post_container(
            self.remote_container, headers=headers))

    def close(self):
        """Close idle connections; a closed swiftclient Connection reconnects if used again."""
        for conn in list(self._pool.free_items):
            try:
                conn.close()
            except Exception:   # closing is best effort; nothing useful to report
                pass


class _Release:
    """Closes a streamed GET body and gives its connection back to the pool, once."""

    def __init__(self, pool, conn, body):
        self.pool, self.conn, self.body = pool, conn, body

    def __call__(self):
        if self.conn is None:
            return
        conn, self.conn = self.conn, None
        try:
            self.body.close()
        finally:
            self.pool.put(conn)


def _passed_headers(headers):
    """The Range and conditional headers of a Swift-style request a GET passes on."""
    return {k.lower(): v for k, v in (headers or {}).items()
            if k.lower() in PASSED_REQUEST_HEADERS}

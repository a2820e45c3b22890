"""The local-read adapter's fast path: a plain object GET straight from its object servers.

Through InternalClient an object GET costs the daemon ~2.5 ms of CPU (WSGI pipeline, proxy
controller, container info, node iteration, swob) on top of the object server's own work; a GET
sent to the object server on a kept-alive connection costs ~0.5 ms. The fast path only answers
when its answer is certainly the one the proxy would give, and otherwise says "ask the proxy"
(``None``), which ``s3_sync.local.LocalSwift.open`` then does:

* only replicated policies (an EC object needs the proxy's decoding);
* the primaries in ring order; a 404, an error, a timeout or an error-limited node moves on to
  the next one; none left (handoffs are the proxy's business) means "ask the proxy";
* a 200 is taken only when it is the version the container row describes (data and metadata
  timestamps, offsets included) and carries nothing a middleware of the pipeline would
  transform: no sysmeta or transient sysmeta (encryption, symlinks, SLO, versioning, s3api),
  no DLO manifest;
* its headers are shaped as the proxy shapes them (``proxy_headers``); the body is checked
  against Content-Length as it streams (a short body raises, it is never handed on as whole).

The proxy app at the end of the InternalClient pipeline provides the rings, the timeouts and
the error limiting (``error_limited``/``error_occurred``/``exception_occurred``), so both read
paths share one view of which nodes are sick. Connections are kept alive and pooled per node.
"""
from collections import defaultdict

from swift.common.bufferedhttp import BufferedHTTPConnection
from swift.common.exceptions import ChunkReadTimeout, ConnectionTimeout
from swift.common.http import HTTP_NOT_FOUND, HTTP_OK
from swift.common.storage_policy import POLICIES, REPL_POLICY
from swift.common.utils import Timestamp, clean_content_type, generate_trans_id, quote

POLICY_HEADER = 'X-Backend-Storage-Policy-Index'
# Headers whose presence means a middleware of the pipeline would transform the response
# (lower-case prefixes).
TRANSFORMED = ('x-object-sysmeta-', 'x-object-transient-sysmeta-', 'x-static-large-object',
               'x-object-manifest', 'x-symlink-')
# What the proxy does not copy from an object server's response (update_headers in
# swift.proxy.controllers.base); Content-Length and Content-Type it sets itself.
NOT_COPIED = ('date', 'connection', 'x-put-timestamp', 'x-delete-after')
CHUNK = 65536
MAX_IDLE = 32       # kept-alive connections per object server


class LocalReadError(Exception):
    """The object server's body ended before its Content-Length (or timed out): the row is
    tried again later, as after any local error."""

    retryable = True


def proxy_app(app):
    """The proxy app at the end of a WSGI pipeline (None when there is none)."""
    from swift.proxy.server import Application
    for _ in range(100):
        if app is None or isinstance(app, Application):
            return app
        app = getattr(app, 'app', None)
    return None


def proxy_headers(raw_headers, trans_id):
    """[(name, value)] of an object server's 200 as the proxy (and catch_errors) hand it on."""
    out = []
    length = ctype = None
    for name, value in raw_headers:
        low = name.lower()
        if low == 'content-length':
            length = value
        elif low == 'content-type':
            ctype = value
        elif low == 'etag':
            out.append((name, value.replace('"', '')))
        elif low not in NOT_COPIED:
            out.append((name, value))
    out.append(('Accept-Ranges', 'bytes'))
    if length is not None:
        out.append(('Content-Length', length))
    if ctype:
        out.append(('Content-Type', clean_content_type(ctype) if ';' in ctype else ctype))
    out += [('X-Trans-Id', trans_id), ('X-Openstack-Request-Id', trans_id)]
    return out


def acceptable(headers, data_ts, meta_ts):
    """True when a 200's lower-case ``headers`` are the row's version of a plain object."""
    if any(name.startswith(TRANSFORMED) for name in headers):
        return False
    try:
        return (Timestamp(headers['x-backend-data-timestamp']) == data_ts and
                Timestamp(headers['x-backend-timestamp']) == meta_ts)
    except (KeyError, ValueError):
        return False


class DirectBody:
    """An object server's body as an iterator of chunks, checked against its Content-Length;
    a body read to its end gives its connection back to the pool, any other is closed."""

    def __init__(self, reader, node, conn, resp, length):
        self._reader, self._node, self._conn, self._resp = reader, node, conn, resp
        self._left = length

    def __iter__(self):
        return self

    def __next__(self):
        if self._resp is None:
            raise StopIteration
        if self._left <= 0:
            self._finish(reuse=True)
            raise StopIteration
        try:
            with ChunkReadTimeout(self._reader.app.recoverable_node_timeout):
                chunk = self._resp.read(min(CHUNK, self._left))
        except (Exception, ChunkReadTimeout) as exc:
            self.close()
            raise LocalReadError('local object server %s:%s: %s' % (
                self._node['ip'], self._node['port'], exc or type(exc).__name__)) from None
        if not chunk:
            self.close()
            raise LocalReadError('local object server %s:%s: body ended %d bytes short' % (
                self._node['ip'], self._node['port'], self._left))
        self._left -= len(chunk)
        return chunk

    def _finish(self, reuse):
        resp, self._resp = self._resp, None
        if resp is None:
            return
        if reuse and not resp.will_close and resp.read(1) == b'':
            resp.close()
            self._reader.give_back(self._node, self._conn)
        else:
            resp.close()
            self._conn.close()

    def close(self):
        self._finish(reuse=False)


class DirectReader:
    """Plain-object GETs from the object servers, for one process (see the module's doc)."""

    def __init__(self, app):
        self.app = app
        self._idle = defaultdict(list)

    @classmethod
    def for_client(cls, internal_client):
        """The fast path of an InternalClient's proxy app; None when it has none."""
        app = proxy_app(getattr(internal_client, 'app', None))
        return cls(app) if app is not None else None

    def get(self, account, container, name, policy_index, data_ts, meta_ts):
        """(headers as the proxy gives them, DirectBody), or None: ask the proxy."""
        policy = POLICIES.get_by_index(policy_index)
        if policy is None or policy.policy_type != REPL_POLICY:
            return None
        ring = self.app.get_object_ring(policy.idx)
        part, nodes = ring.get_nodes(account, container, name)
        path = quote('/%s/%s/%s/%s' % (part, account, container, name))
        trans_id = generate_trans_id('')
        headers = {POLICY_HEADER: str(policy.idx), 'X-Trans-Id': trans_id,
                   'User-Agent': 'swift-s3-sync direct-read'}
        data_ts, meta_ts = Timestamp(data_ts), Timestamp(meta_ts)
        for node in nodes:
            if self.app.error_limited(node):
                continue
            found = self._get(node, '/' + quote(node['device']) + path, headers)
            if found is None:
                continue
            conn, resp = found
            lower = {k.lower(): v for k, v in resp.getheaders()}
            if not acceptable(lower, data_ts, meta_ts):
                resp.close()
                conn.close()
                return None
            length = int(lower.get('content-length', -1))
            if length < 0:
                resp.close()
                conn.close()
                return None
            body = DirectBody(self, node, conn, resp, length)
            return dict(proxy_headers(resp.getheaders(), trans_id)), body
        return None

    def _get(self, node, path, headers):
        """(connection, 200 response) from ``node``; None after a 404, an error or a
        timeout (noted in the error limiter as the proxy notes it)."""
        for conn, reused in self._connections(node):
            try:
                with ConnectionTimeout(self.app.conn_timeout):
                    conn.request('GET', path, headers=headers)
                with ChunkReadTimeout(self.app.recoverable_node_timeout):
                    resp = conn.getresponse()
            except (Exception, ConnectionTimeout, ChunkReadTimeout) as exc:
                conn.close()
                if reused:
                    continue    # the server closed an idle kept-alive connection: a new one
                self.app.exception_occurred(
                    node, 'Object', 'direct read GET %s: %s' % (path, exc or type(exc).__name__),
                    level=30, exc_info=False)
                return None
            if resp.status == HTTP_OK:
                return conn, resp
            body = resp.read()
            resp.close()
            conn.close()
            if resp.status != HTTP_NOT_FOUND:
                self.app.check_response(node, 'Object', resp, 'GET', path, body)
            return None
        return None

    def _connections(self, node):
        """An idle kept-alive connection to ``node`` if there is one, then a new one."""
        idle = self._idle[(node['ip'], node['port'])]
        if idle:
            yield idle.pop(), True
        yield BufferedHTTPConnection(node['ip'], node['port']), False

    def give_back(self, node, conn):
        idle = self._idle[(node['ip'], node['port'])]
        if len(idle) < MAX_IDLE:
            idle.append(conn)
        else:
            conn.close()

    def close(self):
        for idle in self._idle.values():
            while idle:
                idle.pop().close()

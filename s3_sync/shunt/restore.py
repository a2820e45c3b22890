"""Restore on GET: write a remote object back into Swift while it streams to the client.

The remote body is read once. Each chunk goes to the client and, through a bounded queue, into a
PUT subrequest that runs in its own green thread through the rest of the proxy pipeline (so the
PUT is a normal Swift write: placement, replicas, container update, SLO validation). The queue is
small, so the client and the local write move at the pace of the slower one and memory stays
flat whatever the object size.

Never a partial object in Swift:

* every PUT carries the length and the ETag the remote reported, so a body that ends short or
  differs is refused by Swift (499 / 422) instead of being stored;
* a stream that stops early (client gone, remote connection dropped) ends the feed without the
  remaining bytes, so the PUT fails as a client disconnect and nothing is committed;
* an SLO (``restore_slo``) is rebuilt segment by segment into its original segment containers,
  and its manifest is written only after every segment was stored; a failure on the way leaves
  segments (harmless, unreferenced objects) but never a manifest.

The PUTs never send ``X-Timestamp`` (an older timestamp would lose to a local tombstone) and send
``If-None-Match: *`` for the object itself, so a client's write that lands meanwhile wins over the
restore. Restores are pre-authorised: the client proved it may read the object, and putting the
archived copy back is the system's doing, not a write on the client's behalf. Failures are
logged and never break the client's download.
"""
import time

import eventlet
import eventlet.queue
from swift.common.swob import str_to_wsgi, wsgi_quote
from swift.common.wsgi import make_pre_authed_request

from s3_sync import metadata
from s3_sync.providers.base import RemoteError

SWIFT_SOURCE = 'CSR'
QUEUE_DEPTH = 4
_EOF = object()


class FeedInput:
    """A ``wsgi.input`` fed chunk by chunk from another green thread."""

    def __init__(self):
        self._queue = eventlet.queue.Queue(QUEUE_DEPTH)
        self._buffer = b''
        self._ended = False
        self.closed = False     # the PUT finished reading (or died): feeding is pointless

    def feed(self, chunk):
        if not self.closed and chunk:
            self._queue.put(chunk)

    def end(self):
        """No more data; the reader sees EOF (short of Content-Length if we stopped early)."""
        if not self.closed:
            self._queue.put(_EOF)

    def read(self, size=-1):
        while not self._buffer and not self._ended:
            item = self._queue.get()
            if item is _EOF:
                self._ended = True
            else:
                self._buffer = item
        if size is None or size < 0:
            size = len(self._buffer)
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out

    def readline(self, size=-1):
        return self.read(size)

    def close_reader(self):
        """Called when the PUT is over: unblock a feeder waiting on a full queue."""
        self.closed = True
        while not self._queue.empty():
            self._queue.get_nowait()


class PutStream:
    """One PUT subrequest whose body is fed by ``feed``; ``finish`` waits for its status."""

    def __init__(self, app, env, path, headers, length, logger):
        """``path``: unquoted WSGI string; ``headers``: ``str`` names and values."""
        self.path = path
        self.length = length
        self.input = FeedInput()
        req = make_pre_authed_request(
            env, 'PUT', wsgi_quote(path), swift_source=SWIFT_SOURCE,
            headers={str_to_wsgi(k): str_to_wsgi(str(v)) for k, v in headers.items()})
        req.environ['wsgi.input'] = self.input
        req.environ['CONTENT_LENGTH'] = str(length)
        req.environ.pop('HTTP_TRANSFER_ENCODING', None)
        self._app = app
        self._env = req.environ
        self._logger = logger
        self._thread = eventlet.spawn(self._run)

    def _run(self):
        try:
            status = []

            def start_response(st, _headers, exc_info=None):
                status.append(int(st.split()[0]))
            body = self._app(self._env, start_response)
            try:
                for _chunk in body:
                    pass
            finally:
                if hasattr(body, 'close'):
                    body.close()
            return status[0] if status else 500
        except Exception as exc:
            if self._logger:
                self._logger.warning('cloud-shunt: restore PUT %s failed: %s',
                                     wsgi_quote(self.path), exc)
            return 500
        finally:
            self.input.close_reader()

    def feed(self, chunk):
        self.input.feed(chunk)

    @property
    def running(self):
        return not self.input.closed

    def finish(self):
        """All data fed: the PUT's status."""
        self.input.end()
        return self._thread.wait()

    def abort(self):
        """Stop short: the PUT sees fewer bytes than its Content-Length and stores nothing."""
        self.input.end()
        return self._thread.wait()


def object_path(account, container, obj):
    return '/v1/%s/%s/%s' % (str_to_wsgi(account), str_to_wsgi(container), str_to_wsgi(obj))


def with_expiry(headers, expire_days):
    if expire_days and expire_days > 0:
        headers['x-delete-at'] = str(int(time.time() + expire_days * 86400))
    return headers


class PlainRestore:
    """Restore of one ordinary object."""

    def __init__(self, app, env, target, headers, length, etag, logger, expire_days=0):
        self.app, self.env, self.logger = app, env, logger
        self.target = target            # (account, container, object) as str
        self.headers = with_expiry(dict(headers, etag=etag), expire_days)
        self.headers['if-none-match'] = '*'
        self.length = length
        self.stream = None

    def start(self):
        self.stream = PutStream(self.app, self.env, object_path(*self.target), self.headers,
                                self.length, self.logger)

    def feed(self, chunk):
        self.stream.feed(chunk)

    def finish(self):
        status = self.stream.finish()
        report(self.logger, self.target, status)
        return status

    def abort(self):
        if self.stream:
            self.stream.abort()


def catch_up(app, env, provider, target, restored, logger=None):
    """Give a just restored copy the metadata its remote copy has now.

    A POST of an archived object while its restore streams reaches only the remote copy (there
    is no local one yet), and the restore writes the metadata it read at the start: without
    this the client's POST would be lost locally, and the next archive would put the old
    metadata back. One remote HEAD per restore; a local POST only when they differ."""
    try:
        current = provider.head_object(target[2])
    except RemoteError as err:
        if logger:
            logger.warning('cloud-shunt: after restoring %s/%s/%s: %s', *target, err)
        return
    if current is None or metadata.metadata_matches(restored, current.headers or {}):
        return
    wanted = {k: v for k, v in metadata.sync_headers(current.headers).items()
              if k not in metadata.LARGE_OBJECT_HEADERS}
    headers = {str_to_wsgi(k): str_to_wsgi(v) for k, v in wanted.items()}
    resp = make_pre_authed_request(env, 'POST', wsgi_quote(object_path(*target)),
                                   headers=headers, swift_source=SWIFT_SOURCE).get_response(app)
    if logger:
        logger.info('cloud-shunt: restored %s/%s/%s given its newer metadata (%s)', *target,
                    resp.status_int)


def report(logger, target, status):
    """One log line for the outcome of a restore PUT."""
    if not logger:
        return
    if status // 100 == 2:
        logger.info('cloud-shunt: restored %s/%s/%s', *target)
    elif status == 412:
        logger.info('cloud-shunt: not restoring %s/%s/%s: written locally meanwhile', *target)
    else:
        logger.warning('cloud-shunt: restoring %s/%s/%s failed: local PUT %s', *target,
                       status)


class _Guarded:
    """Runs restorer steps so that a failure disables the restore, never the download."""

    def __init__(self, restorer, logger):
        self.restorer = restorer
        self.logger = logger

    def __call__(self, step, *args):
        if self.restorer is None:
            return None
        try:
            return getattr(self.restorer, step)(*args)
        except Exception as exc:
            restorer, self.restorer = self.restorer, None
            if self.logger:
                self.logger.warning('cloud-shunt: restore %s failed: %s', step, exc)
            if step != 'abort':
                try:
                    restorer.abort()
                except Exception:
                    pass


def tee(body, restorer, close_remote, logger=None, length=None, restored=None):
    """Yield ``body`` to the client while ``restorer`` writes it locally.

    The restore starts at the first ``next`` (a 304/412 decided before the body is read costs
    nothing) and is finished only when the whole body went through; any early stop aborts it.
    With ``length`` known, the restore is finished *before* the last chunk goes out, so a client
    that has the whole body can read the restored copy locally right away. ``restored()`` runs
    once the restored copy is stored."""
    run = _Guarded(restorer, logger)
    finished = completed = False
    sent = 0

    def finish():
        status = run('finish')
        if restored is not None and status is not None and status // 100 == 2:
            restored()
    try:
        run('start')
        for chunk in body:
            run('feed', chunk)
            sent += len(chunk)
            if length is not None and sent >= length and not finished:
                finished = True
                finish()
            yield chunk
        completed = True
        if not finished:
            finished = True
            finish()
    finally:
        if not (completed or finished):
            run('abort')
        close_remote()

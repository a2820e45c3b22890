"""Object GET/HEAD that found nothing locally, answered from the remote.

Only a local 404 gets here (see ``middleware``), so authorization already passed. The answer is
built to look like Swift's own:

* one remote request in the common case: the client's single Range goes to the remote as swob
  reads it, and so does a date conditional that comes alone; a Range Swift ignores (HEAD, or a
  header swob cannot parse) is not sent, and the whole object is served as Swift serves it;
* conditionals are judged here by swob, as Swift judges them (all four, in swob's order, not
  HTTP's precedence), against the ETag the client will see: for an SLO stored in S3 the
  remote's multipart ETag is not the one Swift clients know, so the remote could not judge them;
* several ranges (which S3 does not serve) become one remote HEAD plus one ranged GET per range,
  assembled into ``multipart/byteranges`` by swob; so does a range the remote finds
  unsatisfiable, so that swob decides between 416, a conditional's 304/412 (checked first in
  Swift) and the whole object;
* remote errors keep their status and a body whose length matches; no answer at all is a 502
  whose body names no remote detail (the log line has it).
"""
import functools
import json

from swift.common.swob import HTTPBadGateway, HTTPNotFound, HTTPPreconditionFailed, Response, \
    multi_range_iterator

from s3_sync.providers.base import RemoteError
from s3_sync.shunt import headers as hdrs
from s3_sync.shunt.restore import PlainRestore, catch_up, tee
from s3_sync.shunt.restore_slo import SloRestore, restorable_manifest

REMOTE_FAILURE_BODY = b'The remote store did not answer.'


def remote_request_headers(req, multi_range):
    """Range and date conditionals for the remote GET/HEAD (see the module docstring)."""
    out = hdrs.remote_date_conditional(req)
    if not multi_range and hdrs.remote_range(req):
        out['range'] = hdrs.remote_range(req)
    return out


def bad_gateway(req, err, logger, target):
    if logger:
        logger.error('cloud-shunt: remote read of %s/%s/%s failed: %s', *target, err)
    return HTTPBadGateway(request=req, body=REMOTE_FAILURE_BODY, content_type='text/plain')


class RemoteRanges:
    """A body made of several ranges of one remote object, each fetched when swob asks."""

    def __init__(self, provider, name):
        self.provider = provider
        self.name = name

    def __iter__(self):
        return iter(())

    def _range(self, start, stop):
        resp = self.provider.get_object(self.name, {'range': 'bytes=%d-%d' % (start, stop - 1)})
        try:
            if resp.status != 206:
                raise RemoteError(502, 'range %d-%d of %s came back %s' % (
                    start, stop - 1, self.name, resp.status))
            for chunk in resp.body:
                yield chunk
        finally:
            resp.close()

    def app_iter_range(self, start, stop):
        return self._range(start, stop)

    def app_iter_ranges(self, ranges, content_type, boundary, size):
        return multi_range_iterator(ranges, content_type, boundary, size, self._range)


def _multi_range(req):
    ranges = req.range if req.method == 'GET' else None
    return bool(ranges and len(ranges.ranges) > 1)


def first_read(req, provider, name):
    """The remote read that answers ``req`` in the common case, as a callable (it depends on
    the request alone, so it may start before the local answer is in)."""
    multi = _multi_range(req)
    head = req.method == 'HEAD' or multi
    return functools.partial(provider.get_object, name, remote_request_headers(req, multi),
                             head=head)


def restores(req, mapping):
    """Whether serving ``req`` from the remote writes the object back locally."""
    return mapping.restore_object and req.method == 'GET' and 'Range' not in req.headers


class ObjectFallback:
    """``__call__(req, mapping, provider, target, local)`` -> a swob Response; ``local`` is the
    ``LocalMiss`` of Swift's 404."""

    def __init__(self, app, logger=None):
        self.app = app
        self.logger = logger

    def __call__(self, req, mapping, provider, target, local, early=None):
        """``early``: the first remote read (``first_read``), already started (see
        ``early``), or None to make it now."""
        name = target[2]
        local_ids = local.ids
        multi = _multi_range(req)
        head = req.method == 'HEAD' or multi
        restore = restores(req, mapping)
        try:
            remote = early.result() if early is not None else \
                first_read(req, provider, name)()
            if remote.status == 416:
                # swob decides, as for several ranges (see the module docstring)
                remote.close()
                multi = head = True
                remote = provider.get_object(name, remote_request_headers(req, multi), head=head)
        except RemoteError as err:
            return bad_gateway(req, err, self.logger, target)
        if (remote.status // 100 == 2 or remote.status == 304) and local.hides(remote.headers):
            # A client deleted it after the remote copy was written: the delete wins.
            remote.close()
            return HTTPNotFound(request=req, headers=dict(local_ids))
        if remote.status // 100 != 2:
            return self._error(req, remote, local_ids)
        manifest = self._manifest(provider, name, remote, restore, target)
        if manifest is not None and req.params.get('multipart-manifest') == 'get':
            remote.close()
            return self._manifest_response(req, manifest, remote.headers, local_ids)
        etag = '"%s"' % hdrs.slo_etag(manifest) if manifest else None
        resp = Response(request=req, status=remote.status, conditional_response=True)
        if head:
            remote.close()
            resp.app_iter = RemoteRanges(provider, name) if multi else iter(())
        elif restore and remote.status == 200:
            resp.app_iter = self._restoring_body(req, mapping, provider, remote, manifest,
                                                 target, local.restore_timestamp())
        else:
            resp.app_iter = _closing(remote)
        resp.headers.update(hdrs.client_headers(remote.headers, (), etag))
        for key, value in local_ids:
            resp.headers[key] = value
        return resp

    def _manifest(self, provider, name, remote, restore, target):
        """The stored SLO manifest when it is needed (the ETag to fix, or a restore)."""
        if not hdrs.is_slo(remote.headers):
            return None
        if not (restore or hdrs.looks_like_mpu(remote.headers.get('etag'))):
            return None
        try:
            return provider.get_manifest(name)
        except RemoteError as err:
            if self.logger:
                self.logger.warning('cloud-shunt: SLO manifest of %s/%s/%s: %s', *target, err)
            return None

    def _restoring_body(self, req, mapping, provider, remote, manifest, target, timestamp):
        headers = hdrs.restore_headers(remote.headers, timestamp)
        length = int(remote.headers.get('content-length', -1))
        days = mapping.restore_expire_days
        restorer = None
        if hdrs.is_slo(remote.headers):
            usable = restorable_manifest(manifest, length)
            if usable:
                restorer = SloRestore(self.app, req.environ, target, headers, usable,
                                      self.logger, days)
            elif self.logger:
                self.logger.warning('cloud-shunt: not restoring SLO %s/%s/%s: no usable '
                                    'manifest', *target)
        elif length >= 0 and len(remote.headers.get('etag', '')) == 32 and \
                'x-object-manifest' not in remote.headers:      # DLOs are not restored
            restorer = PlainRestore(self.app, req.environ, target, headers, length,
                                    remote.headers['etag'], self.logger, days)
        if restorer is None:
            return _closing(remote)
        restored = functools.partial(catch_up, self.app, req.environ, provider, target,
                                     headers, self.logger)
        return _Closing(tee(remote.body, restorer, remote.close, self.logger, length,
                            restored), remote)

    def _error(self, req, remote, local_ids):
        """A remote 3xx/4xx as it came (status, headers, a body matching Content-Length)."""
        body = b'' if req.method == 'HEAD' else b''.join(remote.body)
        remote.close()
        if remote.status == 404 and req.if_match is not None and '*' in req.if_match.tags:
            # Swift's answer for a missing object (the local read went without If-Match: *)
            return HTTPPreconditionFailed(request=req, headers=dict(local_ids))
        resp = Response(request=req, status=remote.status)
        resp.headers.update(hdrs.client_headers(remote.headers, local_ids))
        if remote.status != 304:
            resp.body = body
        if req.method == 'HEAD':
            resp.headers['Content-Length'] = remote.headers.get('content-length', '0')
        return resp

    @staticmethod
    def _manifest_response(req, manifest, remote_headers, local_ids):
        body = json.dumps(manifest).encode('utf-8')
        resp = Response(request=req, status=200, body=body,
                        content_type='application/json; charset=utf-8')
        keep = {k: v for k, v in remote_headers.items()
                if k.startswith(hdrs.META_PREFIX) or k in ('last-modified',)}
        resp.headers.update(hdrs.client_headers(keep, local_ids))
        resp.headers['X-Static-Large-Object'] = 'True'
        return resp


class _Closing:
    """A body iterable whose ``close`` always releases the remote connection, even when swob
    closes it unread (304/412) and a generator's ``finally`` would never run."""

    def __init__(self, iterable, remote):
        self._iter = iter(iterable)
        self._remote = remote

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._iter)

    def close(self):
        try:
            if hasattr(self._iter, 'close'):
                self._iter.close()
        finally:
            self._remote.close()


def _closing(remote):
    """The remote body as a WSGI iterable whose ``close`` releases the remote connection."""
    return _Closing(remote.body, remote)

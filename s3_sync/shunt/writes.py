"""Client writes to the objects of an archive mapping: a DELETE deletes, a POST reaches the
archived copy.

Once archived, an object's only copy is on the remote, so the Swift API must reach it there, as
every archive tier (S3 lifecycle transitions, MinIO tiering, Ceph cloud transition) lets a
DELETE delete. Swift answers every request first, so its authorization and its view of the
local copy decide; the remote is touched only when Swift allowed the request (2xx, or 404: the
request was authorized and there is no local copy):

* DELETE: the remote copy is deleted too, unless it was written after the request began (then
  it is a newer write, which wins). Swift's 2xx is the answer; on a local 404 it is 204 when a
  remote copy was deleted, else Swift's 404. A DELETE that bypasses the shunt (another proxy)
  is propagated by the daemon from its tombstone row (``ContainerSync._delete_archived``).
* POST on a local 404: the archived copy gets the request's metadata with Swift's POST
  semantics (user metadata and Content-Encoding/-Disposition replaced, Content-Type kept unless
  given), conditional on the copy being unchanged; 202. A POST of an object still local is
  Swift's: the archiver's fenced delete keeps the newer metadata, and its row propagates it.

Sync mappings (``merge_namespaces`` without archiving) are left to the daemon and
``propagate_delete``; their reads honour a local tombstone newer than the remote copy.
"""
import time

from swift.common.swob import HTTPAccepted, HTTPNoContent, Request, wsgi_to_str
from swift.common.utils import close_if_possible
from swift.common.wsgi import WSGIContext

from s3_sync import metadata
from s3_sync.providers.base import RemoteError, written_after
from s3_sync.shunt.headers import local_id_headers
from s3_sync.shunt.objects import bad_gateway

# Large-object markers the archived copy keeps whatever a POST says (they describe its data).
KEPT_ON_POST = ('x-object-meta-swift-slo-etag', 'x-object-meta-swift-source-dlo-etag',
                metadata.SLO_HEADER, metadata.DLO_HEADER)


class ArchiveWrites:
    """``__call__(env, start_response, mapping, provider, target)`` for DELETE and POST."""

    def __init__(self, app, logger=None, clock=time.time):
        self.app = app
        self.logger = logger
        self.clock = clock

    def __call__(self, env, start_response, mapping, provider, target):
        started = self.clock()
        ctx = WSGIContext(self.app)
        body = ctx._app_call(dict(env))
        status = ctx._get_status_int()
        method = env['REQUEST_METHOD']
        allowed = status // 100 == 2 or status == 404
        if not allowed or (method == 'POST' and status != 404):
            start_response(ctx._response_status, ctx._response_headers, ctx._response_exc_info)
            return body
        req = Request(env)
        try:
            if method == 'DELETE':
                resp = self._delete(req, provider, target, started, status == 404)
            else:
                resp = post_to_remote(req, provider, target, self.logger, started)
        except RemoteError as err:
            close_if_possible(body)
            return bad_gateway(req, err, self.logger, target)(env, start_response)
        if resp is None:      # Swift's answer stands
            start_response(ctx._response_status, ctx._response_headers, ctx._response_exc_info)
            return body
        close_if_possible(body)
        for key, value in local_id_headers(ctx._response_headers):
            resp.headers[key] = value
        return resp(env, start_response)

    def _delete(self, req, provider, target, started, local_missing):
        """None to answer as Swift did, or the response when only the remote had it."""
        name = target[2]
        remote = provider.head_object(name)
        if remote is None or written_after(remote.last_modified, started):
            return None
        provider.delete_objects([name])
        if self.logger:
            self.logger.info('cloud-shunt: deleted the archived copy of %s/%s/%s', *target)
        return HTTPNoContent(request=req) if local_missing else None


def post_to_remote(req, provider, target, logger=None, started=None):
    """Swift's POST semantics on the remote copy of ``target``: HTTPAccepted, or None when
    there is no remote copy (or it changed meanwhile). ``started`` (the request's time)
    counts a client X-Delete-After, for stores that carry an expiry."""
    name = target[2]
    remote = provider.head_object(name)
    if remote is None:
        return None
    current = remote.headers or {}
    wanted = metadata.sync_headers(
        {wsgi_to_str(k): wsgi_to_str(v) for k, v in req.headers.items()})
    if not wanted.get('content-type'):     # absent, or empty as eventlet's environ has it
        wanted['content-type'] = current.get('content-type')
    for key in KEPT_ON_POST:
        if key in current:
            wanted[key] = current[key]
    wanted = {k: v for k, v in wanted.items() if v is not None}
    delete_at = requested_delete_at(req, time.time() if started is None else started)
    if delete_at:       # for stores that carry an expiry (propagate_expiration)
        wanted['x-delete-at'] = delete_at
    if not provider.update_metadata(name, wanted, remote.etag):
        return None     # changed or gone meanwhile: Swift's 404 stands
    if logger:
        logger.info('new metadata on the remote copy of %s/%s/%s', *target)
    return HTTPAccepted(request=req)


def requested_delete_at(req, started):
    """The X-Delete-At a client POST asks for (X-Delete-After counted from the request, as
    Swift does), or None; Swift's proxy already refused malformed or past values (400)."""
    try:
        if req.headers.get('X-Delete-At'):
            return str(int(req.headers['X-Delete-At']))
        if req.headers.get('X-Delete-After'):
            return str(int(started + int(req.headers['X-Delete-After'])))
    except ValueError:
        return None
    return None

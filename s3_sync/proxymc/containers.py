"""Container HEAD and GET: the on-prem container's answer, else the cloud copy's.

A mapped container may be held by the cloud copy alone: one written through proxymc where the
on-prem cluster has no such container, or one removed on-prem after it was archived (a ``"/*"``
mapping). When the on-prem cluster answers a container request 404 (with the user's own token,
as for every on-prem request):

* HEAD: if the cloud copy holds any object of the container, ``204`` as Swift answers, with
  ``X-Container-Object-Count`` and ``X-Container-Bytes-Used`` counted from the cloud listing
  (S3 keeps no per-prefix totals: one listing request per 1000 objects). Counting stops at
  ``COUNT_LIMIT`` objects; the figures are then lower bounds and ``X-Proxymc-Counts: at-least``
  says so (else ``exact``). ``X-Proxymc-Source: cloud``. Nothing in the cloud either: 404;
  the cloud did not answer: 502, as for an object.
* GET: the on-prem half of the merged listing is empty, the cloud half is listed; a container
  neither side holds is 404, as in Swift (not an empty listing).

Any other on-prem answer is the client's: a container that exists on-prem is described by the
on-prem cluster (its counts are of the on-prem objects, as the cloud-shunt's listings keep them;
objects only in the cloud are not added), and a 401/403 there stays a refusal.
"""
from swift.common.swob import HTTPNoContent, Request, Response

from s3_sync.providers.base import RemoteError
from s3_sync.shunt.objects import bad_gateway

COUNT_LIMIT = 10000
SOURCE_HEADER = 'X-Proxymc-Source'
COUNTS_HEADER = 'X-Proxymc-Counts'


def _close(resp):
    if hasattr(resp.app_iter, 'close'):
        resp.app_iter.close()


def cloud_holds(provider):
    """Whether the cloud copy holds any object of the provider's container (a missing
    bucket holds none; another failure is raised)."""
    try:
        return bool(provider.list_objects(limit=1))
    except RemoteError as err:
        if err.status == 404:
            return False
        raise


def cloud_counts(provider, limit=None):
    """``(objects, bytes, exact)`` of the cloud copy of the provider's container."""
    limit = COUNT_LIMIT if limit is None else limit
    count = used = 0
    for obj in provider.iter_objects():
        if count >= limit:
            return count, used, False
        count += 1
        used += obj.size
    return count, used, True


class OnPremListing:
    """The on-prem half of a listing (a WSGI app for ``shunt.listing.ListingSplice``): a
    container the on-prem cluster does not have lists as empty there when the cloud copy holds
    it, so the cloud half still shows; held by neither side, it stays the on-prem 404."""

    def __init__(self, onprem, provider):
        self.onprem = onprem
        self.provider = provider

    def __call__(self, env, start_response):
        resp = Request(env).get_response(self.onprem)
        if resp.status_int == 404:
            try:
                held = cloud_holds(self.provider)
            except RemoteError:
                held = True     # the listing of the cloud half answers for the failure
            if held:
                _close(resp)
                resp = Response(request=Request(env), status=200, body=b'[]',
                                content_type='application/json', charset='utf-8')
        return resp(env, start_response)


def container_head(onprem, env, start_response, provider, target, logger=None):
    """A container HEAD of ``target`` (account, container): the on-prem answer, else the
    cloud copy's (module docstring)."""
    req = Request(env)
    resp = req.get_response(onprem)
    if resp.status_int != 404:
        return resp(env, start_response)
    try:
        count, used, exact = cloud_counts(provider)
    except RemoteError as err:
        if err.status != 404:
            # as for an object: the container may well be in the cloud
            _close(resp)
            return bad_gateway(req, err, logger, tuple(target) + ('',))(
                env, start_response)
        count = 0
    if not count:
        return resp(env, start_response)
    _close(resp)
    return HTTPNoContent(request=req, content_type='text/plain', charset='utf-8', headers={
        'X-Container-Object-Count': str(count), 'X-Container-Bytes-Used': str(used),
        COUNTS_HEADER: 'exact' if exact else 'at-least', SOURCE_HEADER: 'cloud',
        'Accept-Ranges': 'bytes'})(env, start_response)

"""Who may use a mapped container through proxymc: Swift's auth middleware decides.

proxymc runs behind Swift's own auth (tempauth, or authtoken + keystoneauth), which checks the
credential and puts its ``swift.authorize`` callback in the environ, as for a proxy server.
proxymc calls it on every request, as Swift's proxy controllers do:

* the account's owners (and whoever the account ACLs name) pass there;
* a read refused there may still be allowed by the container's read ACL, which lives in the
  on-prem cluster: the on-prem proxy is asked (a container HEAD with the user's own token, or
  none) and its yes or no is the answer. A yes is remembered for ``ACL_TTL`` seconds per
  (credential, container), so a reader with an ACL does not cost one more request per object;
* writes need the account's owner (write ACLs are not honoured: the cloud copy has no ACLs of
  its own, and the on-prem ones cannot be asked without writing there).

Account ACLs (``X-Account-Access-Control``) live in on-prem account metadata: the auth
middleware is handed an account with none (proxymc is no proxy server its info lookups could
ask, and they must never fill the cache with a made-up account), so they count for reads
through the on-prem question above, not for writes.

With no auth middleware in the pipeline, every request is refused: proxymc never serves
anonymous traffic by accident.
"""
import time

from swift.common.swob import HTTPForbidden, str_to_wsgi
from swift.proxy.controllers.base import get_cache_key, headers_to_account_info

from s3_sync.lru import LRU

ACL_TTL = 10.0
MAX_REMEMBERED = 10000
READS = ('GET', 'HEAD')
NO_AUTH_BODY = b'proxymc: no auth middleware in the pipeline; refusing every request'


def credential(env):
    return env.get('HTTP_X_AUTH_TOKEN') or env.get('HTTP_X_STORAGE_TOKEN') or ''


class Authorizer:
    """``denied(req, account, container, mapped)`` -> None when allowed, else the error
    response; the on-prem ACLs are asked only about ``mapped`` containers."""

    def __init__(self, onprem, clock=time.time):
        self.onprem = onprem
        self.clock = clock
        self._allowed = LRU(MAX_REMEMBERED)

    def denied(self, req, account, container, mapped=True):
        authorize = req.environ.get('swift.authorize')
        if authorize is None:
            return HTTPForbidden(request=req, body=NO_AUTH_BODY, content_type='text/plain')
        # the request's own info cache only: never memcache, which on-prem proxies may share
        req.environ.setdefault('swift.infocache', {}).setdefault(
            get_cache_key(str_to_wsgi(account)), headers_to_account_info({}, 200))
        refusal = authorize(req)
        if refusal is None:
            return None
        if req.method not in READS or container is None or not mapped:
            return refusal
        if self._acl_allows(req, account, container):
            return None
        return refusal

    def _acl_allows(self, req, account, container):
        key = (credential(req.environ), req.remote_user or '', account, container)
        until = self._allowed.get(key)
        now = self.clock()
        if until is not None and until > now:
            return True
        if self._onprem_allows(req, account, container):
            self._allowed.put(key, now + ACL_TTL)
            return True
        return False

    def _onprem_allows(self, req, account, container):
        env = {'REQUEST_METHOD': 'HEAD',
               'PATH_INFO': str_to_wsgi('/v1/%s/%s' % (account, container)),
               'QUERY_STRING': ''}
        for key in ('HTTP_X_AUTH_TOKEN', 'HTTP_X_STORAGE_TOKEN', 'HTTP_REFERER',
                    'HTTP_USER_AGENT'):
            if req.environ.get(key):
                env[key] = req.environ[key]
        status = []

        def start_response(line, headers, exc_info=None):
            status.append(int(line.split(' ', 1)[0]))
        body = self.onprem(env, start_response)
        if hasattr(body, 'close'):
            body.close()
        return bool(status) and status[0] // 100 == 2


"""Who may use a mapped container through proxymc: Swift's auth middleware decides.

proxymc runs behind Swift's own auth (tempauth, or authtoken + keystoneauth), which checks the
credential and puts its ``swift.authorize`` callback in the environ, as for a proxy server.
proxymc calls it on every request, as Swift's proxy controllers do:

* the account's owners (and whoever the account ACLs name) pass there;
* a read refused there may still be allowed by the container's read ACL, which lives in the
  on-prem cluster: the on-prem proxy is asked (a container HEAD with the user's own token, or
  none) and its yes or no is the answer. A yes is remembered for ``ACL_TTL`` seconds per
  (credential, container), so a reader with an ACL does not cost one more request per object;
* an object write (PUT, POST, DELETE) refused there may still be allowed by the container's
  write ACL, also an on-prem fact that a non-owner's token cannot read: the on-prem proxy is
  asked with the write check of ``onprem`` (a POST with the user's own token that Swift's proxy
  refuses with a 400 once the user is authorized, before any storage node hears of it: nothing
  is written on-prem); its 400 is a yes, anything else a no. A yes is remembered as for reads,
  and says ``WRITE_ACL`` in the environ (``writes`` then knows that a 403 to this user's HEAD
  of the object only means they may not read it).

The cloud copy has no ACLs of its own: the on-prem container's are the mapping's. Account ACLs
(``X-Account-Access-Control``) live in on-prem account metadata: the auth middleware is handed
an account with none (proxymc is no proxy server its info lookups could ask, and they must
never fill the cache with a made-up account), so they count through the on-prem questions above.

With no auth middleware in the pipeline, every request is refused: proxymc never serves
anonymous traffic by accident.
"""
import time
import uuid

from swift.common.swob import HTTPForbidden, str_to_wsgi
from swift.proxy.controllers.base import get_cache_key, headers_to_account_info

from s3_sync.lru import LRU
from s3_sync.proxymc.onprem import WRITE_CHECK, WRITE_CHECK_PASSED

ACL_TTL = 10.0
MAX_REMEMBERED = 10000
READS = ('GET', 'HEAD')
WRITES = ('PUT', 'POST', 'DELETE')
WRITE_ACL = 'proxymc.write_acl'
NO_AUTH_BODY = b'proxymc: no auth middleware in the pipeline; refusing every request'


def credential(env):
    return env.get('HTTP_X_AUTH_TOKEN') or env.get('HTTP_X_STORAGE_TOKEN') or ''


class Authorizer:
    """``denied(req, account, container, mapped, object_write)`` -> None when allowed, else the
    error response; the on-prem ACLs are asked only about ``mapped`` containers, the write ACL
    only for an ``object_write``."""

    def __init__(self, onprem, clock=time.time):
        self.onprem = onprem
        self.clock = clock
        self._allowed = LRU(MAX_REMEMBERED)

    def denied(self, req, account, container, mapped=True, object_write=False):
        authorize = req.environ.get('swift.authorize')
        if authorize is None:
            return HTTPForbidden(request=req, body=NO_AUTH_BODY, content_type='text/plain')
        # the request's own info cache only: never memcache, which on-prem proxies may share
        req.environ.setdefault('swift.infocache', {}).setdefault(
            get_cache_key(str_to_wsgi(account)), headers_to_account_info({}, 200))
        refusal = authorize(req)
        if refusal is None:
            return None
        if container is None or not mapped:
            return refusal
        if req.method in READS:
            check = self._onprem_reads
        elif req.method in WRITES and object_write and credential(req.environ):
            # (no write ACL names anonymous users)
            check = self._onprem_writes
        else:
            return refusal
        if self._acl_allows(req, account, container, check):
            if check == self._onprem_writes:
                req.environ[WRITE_ACL] = True
            return None
        return refusal

    def _acl_allows(self, req, account, container, check):
        key = (credential(req.environ), req.remote_user or '', account, container,
               check.__name__)
        until = self._allowed.get(key)
        now = self.clock()
        if until is not None and until > now:
            return True
        if check(req, account, container):
            self._allowed.put(key, now + ACL_TTL)
            return True
        return False

    def _onprem_reads(self, req, account, container):
        """A container HEAD with the user's credential: a 2xx says they may read."""
        status, _body = self._ask(req, 'HEAD', '/v1/%s/%s' % (account, container))
        return status // 100 == 2

    def _onprem_writes(self, req, account, container):
        """The write check (``onprem``) on a name no one uses: its 400 says they may write."""
        path = '/v1/%s/%s/.proxymc-write-check-%s' % (account, container, uuid.uuid4().hex)
        status, body = self._ask(req, 'POST', path, {WRITE_CHECK: True})
        return status == 400 and any(text in body for text in WRITE_CHECK_PASSED)

    def _ask(self, req, method, path, extra=None):
        """``(status, first bytes of the body)`` of an on-prem request with the user's own
        credential (or none)."""
        env = {'REQUEST_METHOD': method, 'PATH_INFO': str_to_wsgi(path), 'QUERY_STRING': ''}
        env.update(extra or {})
        for key in ('HTTP_X_AUTH_TOKEN', 'HTTP_X_STORAGE_TOKEN', 'HTTP_REFERER',
                    'HTTP_USER_AGENT'):
            if req.environ.get(key):
                env[key] = req.environ[key]
        status = []

        def start_response(line, headers, exc_info=None):
            status.append(int(line.split(' ', 1)[0]))
        body = self.onprem(env, start_response)
        head = b''
        try:
            for chunk in body:
                head += chunk
                if len(head) >= 1024:
                    break
        finally:
            if hasattr(body, 'close'):
                body.close()
        return (status[0] if status else 0), head

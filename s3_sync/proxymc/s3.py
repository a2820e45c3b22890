"""The S3 API in front of proxymc: who signed the request, and their on-prem token.

Swift's ``s3api`` turns S3 requests into Swift ones and the auth middleware after it checks the
signature with the user's own key (tempauth: ``check_signature(key)``). An S3 client brings no
Swift token, so for the on-prem half of the namespace proxymc needs one of the user's own, no
broader (never a shared admin credential). This module gets it:

* the ``proxymc-s3`` filter, placed between ``s3api`` and ``tempauth``, wraps the signature check
  so that the key it was verified with (and only a verified one) is exchanged
  (``OnPremTokens``) for a token of the same user at the on-prem cluster's auth endpoint
  (TempAuth v1: ``X-Auth-User``/``X-Auth-Key``), cached for ``TOKEN_TTL`` seconds, and given to
  the request as its ``X-Auth-Token``: the on-prem cluster applies that user's rights and ACLs
  exactly as for the Swift API, and the middlewares below auth (``copy``) pass it on;
* an access key the auth middleware does not know is refused as S3 does (403
  ``InvalidAccessKeyId``; a bad signature stays s3api's ``SignatureDoesNotMatch``).

With Keystone (``s3token``) no key is ever seen here: on-prem reads of S3 requests are then
anonymous ones (public containers only); see the README.

Pipeline: ``... s3api proxymc-s3 tempauth copy ... proxy-server``::

    [filter:proxymc-s3]
    use = egg:swift-s3-sync#proxymc-s3
    # the on-prem Swift proxy, and where its users get tokens (as for the app)
    swift_url = https://swift.example.com
    swift_auth_path = /auth/v1.0
"""
import hashlib
import http.client
import time
from urllib.parse import urlsplit

from swift.common.utils import get_logger

from s3_sync.log import one_line
from s3_sync.lru import LRU

DETAILS = 's3api.auth_details'
WRAPPED, CHECKED, SECRET = 'proxymc.wrapped', 'proxymc.checked', 'proxymc.secret'
CURRENT = 'proxymc.current'
TOKEN_TTL = 300.0
MAX_TOKENS = 10000


class S3Identity:
    """Keeps the key an S3 signature was verified with, and gives the request it verified the
    user's own on-prem token (see the module docstring)."""

    def __init__(self, app, tokens):
        self.app = app
        self.tokens = tokens

    def __call__(self, env, start_response):
        details = env.get(DETAILS)
        if details is not None and callable(details.get('check_signature')):
            if not details.get(WRAPPED):
                self._wrap(details)
            # s3api sends several Swift requests for one S3 request, each checked by the
            # auth filter right after this one: this is the one it checks next
            details[CURRENT] = env
        return self.app(env, start_response)

    def _wrap(self, details):
        original = details['check_signature']
        tokens = self.tokens

        def check_signature(secret):
            ok = original(secret)
            details[CHECKED] = True
            if ok:
                details[SECRET] = secret
                env = details.get(CURRENT)
                if env is not None and not env.get('HTTP_X_AUTH_TOKEN'):
                    # set before the middlewares below auth (copy's source GET) copy it
                    token = tokens.token(details.get('access_key'), secret)
                    if token:
                        env['HTTP_X_AUTH_TOKEN'] = token
            return ok
        details['check_signature'] = check_signature
        details[WRAPPED] = True


def filter_factory(global_conf, **local_conf):
    conf = dict(global_conf, **local_conf)
    swift_url = conf.get('swift_url')
    if not swift_url:
        raise ValueError('proxymc-s3: swift_url: missing (the on-prem Swift proxy URL)')
    logger = get_logger(conf, log_route='proxymc-s3')
    tokens = OnPremTokens(swift_url, conf.get('swift_auth_path') or '/auth/v1.0',
                          float(conf.get('remote_timeout', 10)), logger)

    def factory(app):
        return S3Identity(app, tokens)
    return factory


def unknown_access_key(env):
    """True for an S3 request whose signature was never checked: the auth middleware did not
    know its access key."""
    details = env.get(DETAILS)
    return bool(details) and bool(details.get(WRAPPED)) and not details.get(CHECKED) and \
        not env.get('REMOTE_USER')


def verified_identity(env):
    """``(access_key, secret)`` of an S3 request signed with a verified key, else None."""
    details = env.get(DETAILS) or {}
    if details.get(SECRET) is None:
        return None
    return details.get('access_key'), details[SECRET]


class OnPremTokens:
    """``token(access_key, secret)``: a token of that user at the on-prem cluster, or None."""

    def __init__(self, swift_url, auth_path='/auth/v1.0', timeout=10.0, logger=None,
                 clock=time.time):
        parts = urlsplit(swift_url)
        self.https = parts.scheme == 'https'
        self.host, self.port = parts.hostname, parts.port or (443 if self.https else 80)
        self.auth_path = auth_path
        self.timeout = timeout
        self.logger = logger
        self.clock = clock
        self._tokens = LRU(MAX_TOKENS)

    def token(self, access_key, secret):
        # keyed by a digest of the key too: a changed key must not reuse the old token
        key = (access_key, hashlib.sha256(secret.encode('utf-8')).hexdigest())
        cached = self._tokens.get(key)
        now = self.clock()
        if cached and cached[1] > now:
            return cached[0]
        token = self._fetch(access_key, secret)
        if token:
            self._tokens.put(key, (token, now + TOKEN_TTL))
        return token

    def _fetch(self, access_key, secret):
        cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        conn = cls(self.host, self.port, timeout=self.timeout)
        try:
            conn.request('GET', self.auth_path, headers={'X-Auth-User': access_key,
                                                         'X-Auth-Key': secret})
            resp = conn.getresponse()
            resp.read()
            if resp.status // 100 != 2:
                self._log('proxymc: on-prem auth of %s answered %d', access_key, resp.status)
                return None
            return resp.getheader('X-Auth-Token') or resp.getheader('X-Storage-Token')
        except (OSError, http.client.HTTPException) as err:
            self._log('proxymc: on-prem auth of %s failed: %s', access_key, one_line(err))
            return None
        finally:
            conn.close()

    def _log(self, fmt, *args):
        if self.logger:
            self.logger.warning(fmt, *args)

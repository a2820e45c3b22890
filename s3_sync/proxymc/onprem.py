"""The on-prem Swift cluster, as a WSGI app that forwards a request to its proxy over HTTP.

proxymc reads from the on-prem cluster what the cloud copy does not have (objects not synced
or archived yet, the on-prem half of a listing, container HEAD). Every request goes out:

* with the requesting user's own credential and nothing broader: the client's
  ``X-Auth-Token`` (or ``X-Storage-Token``/``X-Service-Token``) is forwarded, nothing is added,
  so the on-prem cluster's auth and ACLs decide what this user may read there; a request
  without a token is an anonymous one there too;
* with ``X-Cloud-Sync-Shunt-Bypass: true``, so the on-prem cloud-shunt does not answer from the
  very cloud copy proxymc just missed;
* with only the headers that mean something to a read (Range, conditionals, tokens,
  ``X-Newest``, ``Accept``), never an S3 ``Authorization`` (s3api there would check it against
  another request).

No answer at all is a 502 whose body names nothing internal (the log line has the reason).

The one request that is not a read is the write check (``WRITE_CHECK`` in the environ; see
``auth``): a POST that Swift's proxy refuses with a 400 once the user is authorized and before
any storage node hears of it, so its answer tells whether this user may write in the container
(the container's write ACL, which only the on-prem cluster knows) and nothing is ever written.
"""
import http.client
import socket
from urllib.parse import quote, urlsplit

from swift.common.swob import HTTPBadGateway, wsgi_to_bytes

from s3_sync.log import one_line

BYPASS_HEADER = 'X-Cloud-Sync-Shunt-Bypass'
FORWARDED = ('HTTP_X_AUTH_TOKEN', 'HTTP_X_STORAGE_TOKEN', 'HTTP_X_SERVICE_TOKEN', 'HTTP_RANGE',
             'HTTP_IF_MATCH', 'HTTP_IF_NONE_MATCH', 'HTTP_IF_MODIFIED_SINCE',
             'HTTP_IF_UNMODIFIED_SINCE', 'HTTP_X_NEWEST', 'HTTP_ACCEPT', 'HTTP_USER_AGENT',
             'HTTP_REFERER', 'HTTP_X_TRANS_ID_EXTRA')
# Describe the on-prem connection, not ours; its transaction ids are kept under another name.
DROPPED = frozenset(('connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer',
                     'upgrade', 'proxy-authenticate', 'date'))
RENAMED = {'x-trans-id': 'X-Onprem-Trans-Id', 'x-openstack-request-id': 'X-Onprem-Request-Id'}
NO_ANSWER_BODY = b'The on-prem Swift cluster did not answer.'
CHUNK = 65536
WRITE_CHECK = 'proxymc.write_check'
# An object metadata name over Swift's limit (refused by check_metadata after authorize) and,
# should an operator have raised that limit, an expiry in the past (refused next): see
# Swift's object controller's POST. Their refusals' texts, which only an authorized POST gets:
WRITE_CHECK_HEADERS = {'X-Object-Meta-' + 'proxymc-write-check-' * 40: 'x', 'X-Delete-At': '1'}
WRITE_CHECK_PASSED = (b'Metadata name too long', b'X-Delete-At in past')
QUERY_SAFE = "!$&'()*+,;=:@/?%~-._"


def forwarded_headers(env):
    headers = {BYPASS_HEADER: 'true'}
    for key in FORWARDED:
        if env.get(key):
            headers[key[5:].replace('_', '-').title()] = env[key]
    return headers


def request_target(env):
    """The quoted path and query of ``env`` (WSGI strings hold raw UTF-8 bytes)."""
    path = quote(wsgi_to_bytes(env.get('PATH_INFO', '/')), safe='/')
    query = env.get('QUERY_STRING', '')
    if query:
        path += '?' + quote(wsgi_to_bytes(query), safe=QUERY_SAFE)
    return path


class OnPrem:
    """``__call__(env, start_response)``: the on-prem proxy's answer to this request (GET or
    HEAD; writes never go on-prem)."""

    def __init__(self, url, timeout=10.0, logger=None):
        parts = urlsplit(url)
        if parts.scheme not in ('http', 'https') or not parts.hostname:
            raise ValueError('swift_url: not an http(s) URL: %r' % url)
        self.https = parts.scheme == 'https'
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        self.timeout = timeout
        self.logger = logger

    def _connection(self):
        cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        return cls(self.host, self.port, timeout=self.timeout)

    def __call__(self, env, start_response):
        method = env['REQUEST_METHOD']
        headers = forwarded_headers(env)
        if method == 'POST' and env.get(WRITE_CHECK):
            headers.update(WRITE_CHECK_HEADERS)
        elif method not in ('GET', 'HEAD'):
            raise ValueError('on-prem requests are reads only, not %s' % method)
        conn = self._connection()
        try:
            conn.request(method, request_target(env), headers=headers)
            resp = conn.getresponse()
        except (OSError, socket.timeout, http.client.HTTPException) as err:
            conn.close()
            if self.logger:
                self.logger.error('proxymc: on-prem %s %s failed: %s', method,
                                  env.get('PATH_INFO'), one_line(err))
            return HTTPBadGateway(body=NO_ANSWER_BODY, content_type='text/plain')(
                env, start_response)
        headers = []
        for key, value in resp.getheaders():
            low = key.lower()
            if low in DROPPED:
                continue
            headers.append((RENAMED.get(low, key), value))
        start_response('%d %s' % (resp.status, resp.reason), headers)
        if method == 'HEAD':
            conn.close()
            return [b'']
        return _Body(resp, conn, self.logger)


class _Body:
    """The on-prem response body, streamed; ``close`` releases the connection."""

    def __init__(self, resp, conn, logger):
        self.resp, self.conn, self.logger = resp, conn, logger

    def __iter__(self):
        try:
            while True:
                chunk = self.resp.read(CHUNK)
                if not chunk:
                    return
                yield chunk
        except (OSError, http.client.HTTPException) as err:
            if self.logger:
                self.logger.error('proxymc: on-prem body read failed: %s', one_line(err))
            raise
        finally:
            self.close()

    def close(self):
        self.conn.close()

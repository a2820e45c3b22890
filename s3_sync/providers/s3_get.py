"""GET and HEAD of one object without botocore's request machinery.

The shunt and proxymc answer a client who waits for one object: there botocore's per-call work
(events, parameter validation and serialization, endpoint rules, response parsing into typed
fields) cost ~1.4 ms of CPU per 4 KiB GET here, more than the rest of the request. This is the
same request, signed as botocore's ``S3SigV4Auth`` signs it (``SigV4``: the same headers and
signature, ~0.02 ms instead of its ~0.1 ms) and sent with ``http.client``. What it sends is what
botocore sends
for ``get_object``/``head_object`` of a path-style endpoint: ``/<bucket>/<key>`` with the key
percent-encoded (``/`` and ``~`` kept), the Range and conditional headers as given (dates
normalised to RFC 1123 GMT, an unparseable one dropped), an empty payload's SHA256.

Used only where it is that same request (``eligible``): SigV4, an ``http://`` endpoint that is
not AWS (so path-style addressing, no endpoint rules) and has no path of its own, no HTTP
proxy. Everything else (AWS, GCS, SigV2, proxies, TLS) goes through boto3 as before.

Connections are kept alive when the server allows (a per-provider pool of at most
``max_conns``); a kept connection the server closed meanwhile is retried once on a new one
(GET and HEAD are idempotent).
"""
import email.utils
import hashlib
import hmac
import http.client
import time
from urllib.parse import quote, urlsplit
from xml.etree import ElementTree

from s3_sync import layout

CONDITIONALS = {'range': 'Range', 'if-match': 'If-Match', 'if-none-match': 'If-None-Match',
                'if-modified-since': 'If-Modified-Since',
                'if-unmodified-since': 'If-Unmodified-Since'}
DATES = ('If-Modified-Since', 'If-Unmodified-Since')
# A kept connection the server closed before our request: retried once on a new connection.
STALE = (http.client.RemoteDisconnected, http.client.BadStatusLine, ConnectionResetError,
         BrokenPipeError)
ALGORITHM = 'AWS4-HMAC-SHA256'
EMPTY_SHA256 = hashlib.sha256(b'').hexdigest()


def eligible(mapping, sig_version):
    endpoint = mapping.aws_endpoint or ''
    parts = urlsplit(endpoint)
    return (sig_version == 's3v4' and parts.scheme.lower() == 'http' and
            parts.path in ('', '/') and not parts.query and
            not layout.is_aws(endpoint) and not layout.is_google(endpoint) and
            not mapping.proxies)


def request_headers(headers):
    """The Range and conditional headers of a Swift-style request, as the remote gets them."""
    out = {}
    for key, value in (headers or {}).items():
        name = CONDITIONALS.get(key.lower())
        if not name:
            continue
        if name in DATES:
            parsed = email.utils.parsedate_tz(value)
            if parsed is None:
                continue        # HTTP says to ignore an invalid date
            value = email.utils.formatdate(email.utils.mktime_tz(parsed), usegmt=True)
        out[name] = value
    return out


def error_fields(status, body):
    """``(code, message)`` of an S3 error body; bodiless answers (HEAD, 304) give the status
    as the code, as botocore does."""
    code = message = ''
    if body:
        try:
            root = ElementTree.fromstring(body)
            code = root.findtext('Code') or ''
            message = root.findtext('Message') or ''
        except ElementTree.ParseError:
            pass
    return code or str(status), message


class SigV4:
    """``headers(method, path, host, headers)``: the headers botocore's ``S3SigV4Auth`` sends
    with a bodiless request of ``path`` (already percent-encoded, no query): ``headers``, Host,
    X-Amz-Date, X-Amz-Security-Token (with a session token), X-Amz-Content-SHA256 and the
    Authorization that signs them all. The same canonical request and string to sign
    (``test_s3_get`` checks them against botocore's), without botocore's request object and
    with the signing key derived once a day (it depends on the date alone), not per request."""

    def __init__(self, access_key, secret_key, token, region, clock=time.time):
        self.access_key = access_key
        self.secret_key = secret_key
        self.token = token
        self.region = region
        self.clock = clock
        self._day = self._key = None

    def _signing_key(self, day):
        if day != self._day:
            key = ('AWS4' + self.secret_key).encode('utf-8')
            for part in (day, self.region, 's3', 'aws4_request'):
                key = hmac.new(key, part.encode('utf-8'), hashlib.sha256).digest()
            self._day, self._key = day, key
        return self._key

    def headers(self, method, path, host, headers):
        stamp = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(self.clock()))
        out = dict(headers, Host=host)
        out['X-Amz-Date'] = stamp
        if self.token:
            out['X-Amz-Security-Token'] = self.token
        out['X-Amz-Content-SHA256'] = EMPTY_SHA256
        # SigV4: lower-case names in order, values with their runs of spaces made one
        canonical = sorted((name.lower(), ' '.join(value.split()))
                           for name, value in out.items())
        signed = ';'.join(name for name, _value in canonical)
        request = '\n'.join([method, path, '', ''.join('%s:%s\n' % pair for pair in canonical),
                             signed, EMPTY_SHA256])
        scope = '%s/%s/s3/aws4_request' % (stamp[:8], self.region)
        to_sign = '\n'.join([ALGORITHM, stamp, scope,
                             hashlib.sha256(request.encode('utf-8')).hexdigest()])
        signature = hmac.new(self._signing_key(stamp[:8]), to_sign.encode('utf-8'),
                             hashlib.sha256).hexdigest()
        out['Authorization'] = '%s Credential=%s/%s, SignedHeaders=%s, Signature=%s' % (
            ALGORITHM, self.access_key, scope, signed, signature)
        return out


class SignedGet:
    """``request(method, key, headers)`` -> an ``Answer``."""

    def __init__(self, mapping):
        parts = urlsplit(mapping.aws_endpoint)
        self.host = parts.hostname
        self.port = parts.port or 80
        self.netloc = parts.netloc if parts.port not in (None, 80) else parts.hostname
        self.bucket_path = '/' + quote(mapping.aws_bucket, safe='')
        self.timeout = mapping.remote_timeout
        self.max_idle = max(1, mapping.max_conns)
        self.signer = SigV4(mapping.aws_identity, mapping.aws_secret,
                            mapping.aws_session_token or None, mapping.aws_region or 'us-east-1')
        self._idle = []

    def _signed(self, method, key, headers):
        path = '%s/%s' % (self.bucket_path, quote(key, safe='/~'))
        return path, self.signer.headers(method, path, self.netloc, headers)

    def request(self, method, key, headers):
        path, signed = self._signed(method, key, request_headers(headers))
        while self._idle:
            conn = self._idle.pop()
            try:
                return self._send(conn, method, path, signed)
            except STALE:
                conn.close()
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            return self._send(conn, method, path, signed)
        except BaseException:
            conn.close()
            raise

    def _send(self, conn, method, path, headers):
        conn.request(method, path, headers=headers)
        return Answer(self, conn.getresponse(), conn)

    def _release(self, resp, conn):
        if resp.isclosed() and not resp.will_close and conn.sock is not None and \
                len(self._idle) < self.max_idle:
            self._idle.append(conn)
        else:
            conn.close()

    def close(self):
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


class Answer:
    """One response: ``status``, ``headers`` (one lower-case dict, repeated headers joined, as
    botocore's ``HTTPHeaders``), ``read(size)``; ``release()`` (once or more) gives the
    connection back to the pool when the body was read to its end, else closes it."""

    def __init__(self, owner, resp, conn):
        self._owner, self._resp, self._conn = owner, resp, conn
        self.status = resp.status
        self.headers = {}
        for key, value in resp.getheaders():
            key = key.lower()
            self.headers[key] = '%s, %s' % (self.headers[key], value) \
                if key in self.headers else value

    def read(self, size=None):
        """Up to ``size`` bytes (all when None); b'' at the end. A body that ends before its
        Content-Length raises ``IncompleteRead`` (``http.client`` would just stop)."""
        chunk = self._resp.read(size)
        if not chunk and size and self._resp.length:
            raise http.client.IncompleteRead(b'', self._resp.length)
        return chunk

    def release(self):
        if self._conn is not None:
            conn, self._conn = self._conn, None
            self._owner._release(self._resp, conn)

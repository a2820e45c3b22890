"""Connections to a remote Swift for the Swift provider: auth options, a shared token, header
and timestamp helpers.

python-swiftclient is used with its own retries off; :mod:`s3_sync.retry` retries instead. Each
concurrent request takes its own ``Connection`` (they share one token, so the pool logs in once).
Response headers are read from the raw response because swiftclient URL-unquotes header values,
and because ``http.client`` drops every header after a non-ASCII header name (which Swift allows
for metadata); both are repaired here.
"""
import calendar
import email.utils
import http.client
import json
import logging
from datetime import datetime
from urllib.parse import quote, urlsplit, urlunsplit
import swiftclient
import urllib3.exceptions
from requests.exceptions import RequestException

from s3_sync.metadata import SWIFT_TIME_FMT, wire_to_str

MAX_LIST = 10000            # Swift's default container_listing_limit
PAGE_SIZE = 1000            # iter_objects page: matches the verification budget granularity
BULK_DELETE_MAX = 1000      # names per bulk-delete request (Swift's default cap is 10000)
REQUEST_ID_HEADERS = ('x-trans-id', 'x-openstack-request-id')
PASSED_REQUEST_HEADERS = ('range', 'if-match', 'if-none-match', 'if-modified-since',
                          'if-unmodified-since', 'x-trans-id-extra')
AUTH_VERSIONS = {'swift': '1', 'keystone_v2': '2', 'keystone_v3': '3'}
KEYSTONE_V3_OPTIONS = ('project_name', 'project_domain_name', 'user_domain_name')
# Mid-body failures come straight from urllib3/http.client: swiftclient reads resp.raw.
TRANSPORT_ERRORS = (OSError, RequestException, urllib3.exceptions.HTTPError,
                    http.client.HTTPException)


def _recovered_header_warning(record):
    """False for urllib3's warning about headers after a non-ASCII header name: we read those
    headers back (``_unparsed_headers``), so the warning (with a traceback) is only noise."""
    return not (record.getMessage().startswith('Failed to parse headers')
                and 'MissingHeaderBodySeparatorDefect' in record.getMessage())


logging.getLogger('urllib3.connection').addFilter(_recovered_header_warning)


def swift_headers(raw):
    """Swift-style headers from a response: lower-case keys, str values, etag unquoted,
    the remote's transaction ids renamed ``remote-<header>`` so they are not taken for ours."""
    out = {}
    for key, value in raw.items():
        key = wire_to_str(key).lower()
        value = wire_to_str(value) if isinstance(value, str) else str(value)
        if key == 'etag':
            value = value.strip('"')
        elif key in REQUEST_ID_HEADERS:
            key = 'remote-' + key
        out[key] = value
    return out


def last_response(conn):
    """The ``requests`` response of ``conn``'s last request, or None (not connected, mocks)."""
    try:
        resp = conn.http_conn[1].resp
    except (AttributeError, TypeError, IndexError):
        return None
    return resp if hasattr(getattr(resp, 'headers', None), 'items') else None


def _unparsed_headers(resp):
    """Header lines http.client could not parse, as (name, value) pairs.

    A non-ASCII header *name* (Swift stores ``X-Object-Meta-Färg`` as raw UTF-8) stops
    http.client's header parsing and every later header (etag, content-length ...) lands in
    the message payload instead (bpo-37093); Swift's own client recovers them the same way."""
    try:
        payload = resp.raw._original_response.msg.get_payload()
    except AttributeError:
        return []
    if isinstance(payload, list):
        payload = payload[0].get_payload() if len(payload) == 1 else ''
    pairs = []
    for line in (payload or '').splitlines():
        if ':' in line and line[:1] not in ' \t':
            name, value = line.split(':', 1)
            pairs.append((name, value.strip(' \t')))
    return pairs


def full_headers(resp):
    """Swift-style headers of a ``requests`` response, including unparsed ones."""
    raw = dict(resp.headers.items())
    raw.update(_unparsed_headers(resp))
    return swift_headers(raw)


def _lost_length(conn, headers):
    """The content-length to stop reading at when http.client did not see it (it was among
    the unparsed headers), else None; without it a keep-alive GET would only end when the
    server times the connection out."""
    resp = last_response(conn)
    if resp is None or 'content-length' not in headers or 'content-length' in resp.headers:
        return None
    return int(headers['content-length'])


def response_headers(conn, parsed=None):
    """The headers of ``conn``'s last response, read raw (see module doc); ``parsed`` (what
    swiftclient returned) only when there is no raw response."""
    resp = last_response(conn)
    return full_headers(resp) if resp is not None else swift_headers(parsed or {})


def _status_of(status_line, default):
    """The number at the start of ``"404 Not Found"``, or ``default``."""
    head = str(status_line or '').split(' ', 1)[0]
    return int(head) if head.isdigit() else default


def listing_epoch(value):
    """A listing ``last_modified`` (UTC, usually with microseconds) as float epoch seconds."""
    fmt = SWIFT_TIME_FMT if '.' in value else SWIFT_TIME_FMT[:-3]
    parsed = datetime.strptime(value, fmt)
    return calendar.timegm(parsed.timetuple()) + parsed.microsecond / 1e6


def header_epoch(headers):
    """When the remote object was last written: X-Timestamp (precise), else Last-Modified."""
    if headers.get('x-timestamp'):
        return float(headers['x-timestamp'])
    parsed = email.utils.parsedate_tz(headers.get('last-modified', ''))
    return float(email.utils.mktime_tz(parsed)) if parsed else 0.0


def rewrite_account(storage_url, account):
    """``storage_url`` with its last path segment (the account) replaced by ``account``."""
    parts = urlsplit(storage_url)
    path = parts.path.rstrip('/').rsplit('/', 1)[0] + '/' + quote(account, safe='')
    return urlunsplit((parts.scheme, parts.netloc, path, '', ''))


def connection_options(mapping):
    """swiftclient ``Connection`` keyword arguments for a mapping (auth flavour, timeout).

    Missing keystone keys are a ValueError naming them; the config loader checks them too."""
    auth_type = mapping.auth_type
    options = dict(authurl=mapping.aws_endpoint, user=mapping.aws_identity,
                   key=mapping.aws_secret, auth_version=AUTH_VERSIONS[auth_type],
                   timeout=mapping.remote_timeout,
                   # s3_sync.retry is the one retry policy; no backoff sleeps in swiftclient.
                   retries=0, starting_backoff=0, retry_on_ratelimit=False)
    if auth_type == 'keystone_v2':
        options['tenant_name'] = mapping.tenant_name
    elif auth_type == 'keystone_v3':
        options['os_options'] = {key: getattr(mapping, key) for key in KEYSTONE_V3_OPTIONS}
    return options


def auth_key(mapping):
    """The settings a login depends on: mappings with equal keys can share one token."""
    options = connection_options(mapping)
    return ('swift-auth', json.dumps(options, sort_keys=True, default=str),
            mapping.remote_account)


class SharedAuth:
    """The storage URL and token all connections of one provider (or of every provider with
    the same ``auth_key``) use, so a pool of ten connections authenticates once, and the
    ``remote_account`` URL rewrite in one place."""

    def __init__(self, remote_account=None):
        self.remote_account = remote_account
        self.url = None
        self.token = None

    def learn(self, url, token):
        if self.remote_account:
            url = rewrite_account(url, self.remote_account)
        self.url, self.token = url, token
        return url, token


def body_size(headers, data):
    """The byte count of a request body when known before sending, else None."""
    for key, value in (headers or {}).items():
        if key.lower() == 'content-length':
            return int(value)
    if data is None:
        return 0
    if hasattr(data, '__len__'):
        return len(data)
    return None


class ThrottledHTTPConnection(swiftclient.client.HTTPConnection):
    """swiftclient's HTTP connection taking a request token (and the body's bytes) from the
    provider's throttle (``s3_sync.throttle``) before each request it sends."""

    def __init__(self, url, throttle_of, **options):
        super().__init__(url, **options)
        self.throttle_of = throttle_of

    def _request(self, method, url, headers=None, data=None, **kwargs):
        throttle = self.throttle_of()
        if throttle:
            size = body_size(headers, data)
            throttle.request(size or 0)
            if size is None and not hasattr(data, 'read'):
                data = throttle.chunks(data)    # a generator: its bytes as they go
        return super()._request(method, url, headers=headers, data=data, **kwargs)


class SwiftConnection(swiftclient.Connection):
    """A swiftclient Connection that starts from the shared token and publishes new ones.

    The (rewritten) storage URL is pinned in ``os_options['object_storage_url']``, which
    swiftclient's ``get_auth`` returns on every re-authentication, so a re-auth after a token
    expiry keeps the ``remote_account``. ``throttle_of()`` gives the provider's throttle (or
    None): every request takes from it, an authentication counting as one."""

    def __init__(self, shared, proxy=None, throttle_of=lambda: None, **options):
        self.shared = shared
        self.proxy = proxy
        self.throttle_of = throttle_of
        super().__init__(preauthurl=shared.url, preauthtoken=shared.token, **options)

    def http_connection(self, url=None):
        # Storage requests go through the configured proxy (http_proxy/https_proxy); auth
        # requests follow swiftclient, which takes the proxy from the environment.
        conn = ThrottledHTTPConnection(
            url or self.url, self.throttle_of, proxy=self.proxy, cacert=self.cacert,
            insecure=self.insecure, cert=self.cert, cert_key=self.cert_key,
            ssl_compression=self.ssl_compression, timeout=self.timeout)
        return conn.parsed_url, conn

    def get_auth(self):
        throttle = self.throttle_of()
        if throttle:
            throttle.request()
        url, token = super().get_auth()
        url, token = self.shared.learn(url, token)
        self.os_options['object_storage_url'] = url
        self.url, self.token = url, token
        return url, token

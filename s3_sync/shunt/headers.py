"""Headers of a remote answer as a Swift client expects them, and of a restore PUT.

Providers hand back Swift-style, lower-case, decoded (``str``) headers with the remote's request
ids already renamed ``remote-*``. What is left to do here:

* drop hop-by-hop headers (they describe the remote connection, not ours) and the remote's
  ``date`` (our server sets its own);
* give SLOs the ETag Swift would give them: S3 stores an SLO as a multipart upload whose ETag
  (``<md5>-<parts>``) no Swift client would recognise, so the ETag is rebuilt from the manifest
  stored beside the object, as Swift computes it (md5 of the segment etags), quoted as Swift
  quotes SLO etags;
* encode values for the py3 WSGI layer (UTF-8 bytes seen as latin-1 ``str``).

And the other way, what the remote read may carry of the client's Range and conditionals: only
what it would judge as Swift does (see ``remote_range`` and ``remote_date_conditional``), so a
header Swift ignores never changes the answer and one a remote cannot parse never reaches it.
"""
import email.utils
import hashlib
import re

from swift.common.swob import DATE_HEADER_FORMAT_STRING, Match, str_to_wsgi
from swift.common.utils import Timestamp, close_if_possible
from swift.common.wsgi import WSGIContext

from s3_sync.metadata import META_PREFIX, SLO_HEADER, is_slo
from s3_sync.providers.base import written_after

HOP_BY_HOP = frozenset(('connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization',
                        'te', 'trailer', 'trailers', 'transfer-encoding', 'upgrade'))
DROPPED = HOP_BY_HOP | {'date'}
MPU_ETAG = re.compile(r'^[0-9a-f]+-\d+$')
LOCAL_ID_HEADERS = ('x-trans-id', 'x-openstack-request-id')
# What a restored copy keeps from the remote object (besides etag and length).
RESTORED_HEADERS = ('content-type', 'content-encoding', 'content-disposition',
                    'content-language', 'cache-control', 'expires')


def looks_like_mpu(etag):
    return bool(MPU_ETAG.match(etag or ''))


def slo_etag(manifest):
    """The ETag Swift gives an SLO built from ``manifest`` (raw ``multipart-manifest=get`` form:
    ``name, bytes, hash[, range]``)."""
    digest = hashlib.md5(usedforsecurity=False)
    for segment in manifest:
        if segment.get('range'):
            digest.update(('%s:%s;' % (segment['hash'], segment['range'])).encode('ascii'))
        else:
            digest.update(segment['hash'].encode('ascii'))
    return digest.hexdigest()


def client_headers(remote_headers, local_ids=(), etag=None):
    """``[(name, value)]`` WSGI-ready headers for the client; ``etag`` overrides the remote's.

    S3 ETags that look like a multipart upload's mark the object as a large object, as the
    original did, so clients know its ETag is not an md5 of the content."""
    out = {}
    for key, value in remote_headers.items():
        key = key.lower()
        if key in DROPPED:
            continue
        out[key] = value
    if etag is not None:
        out['etag'] = etag
    if looks_like_mpu(out.get('etag')) and SLO_HEADER not in out:
        out[SLO_HEADER] = 'True'
    if is_slo(out):
        out[SLO_HEADER] = 'True'
        if out.get('etag') and not out['etag'].startswith('"'):
            out['etag'] = '"%s"' % out['etag']      # Swift quotes SLO etags
    headers = [(_title(k), str_to_wsgi(str(v))) for k, v in out.items()]
    headers.extend(local_ids)
    return headers


def _title(key):
    """``x-object-meta-color`` -> ``X-Object-Meta-Color``; non-ASCII keys keep their UTF-8."""
    return str_to_wsgi('-'.join(part[:1].upper() + part[1:] for part in key.split('-')))


def local_id_headers(wsgi_headers):
    """The local transaction-id headers of a (404) local response, to append to ours."""
    return [(k, v) for k, v in wsgi_headers if k.lower() in LOCAL_ID_HEADERS]


class LocalMiss:
    """What Swift's local 404 said: its transaction ids, and the tombstone it found, if any
    (``X-Backend-Timestamp``; an archiver's carries an offset, a client's delete none)."""

    def __init__(self, wsgi_headers):
        self.ids = local_id_headers(wsgi_headers)
        found = dict((k.lower(), v) for k, v in wsgi_headers).get('x-backend-timestamp')
        try:
            self.tombstone = Timestamp(found) if found else None
        except ValueError:
            self.tombstone = None

    @property
    def deleted_by_client(self):
        return self.tombstone is not None and self.tombstone.offset == 0

    def hides(self, remote_headers):
        """A client's delete wins over a remote copy not surely written after it."""
        if not self.deleted_by_client:
            return False
        return not written_after(last_modified(remote_headers), float(self.tombstone))

    def restore_timestamp(self):
        """The X-Timestamp a restore writes with: just after the archiver's own tombstone, so
        any client write since (DELETE included) stays newer and wins; None (now) when no
        archiver's tombstone is known."""
        if self.tombstone is None or self.tombstone.offset == 0:
            return None
        return Timestamp(self.tombstone, offset=1).internal


def last_modified(headers):
    """The remote copy's Last-Modified as epoch seconds, or None."""
    value = headers.get('last-modified')
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None


def restore_headers(remote_headers, timestamp=None):
    """Swift-style (``str``) headers for the PUT that writes a remote object back locally.

    ``timestamp``: see ``LocalMiss.restore_timestamp``; without one the restored copy is
    written now, newer than any local tombstone. ``x-delete-at`` from the remote is not kept
    (it may already be in the past); a temporary restore sets its own."""
    out = {'x-timestamp': timestamp} if timestamp else {}
    for key, value in remote_headers.items():
        key = key.lower()
        if key in RESTORED_HEADERS or (key.startswith(META_PREFIX) and len(key) > len(
                META_PREFIX)):
            out[key] = value
    return out


def remote_range(req):
    """The Range for the remote read, or None. Only a GET has one (Swift serves a HEAD as if no
    Range were sent), only a single range that swob parses (Swift serves the whole object when
    it cannot parse the header; several ranges are fetched one by one), and written as swob
    read it: ``BYTES= 2-4`` goes out as ``bytes=2-4``."""
    if req.method != 'GET':
        return None
    ranges = req.range
    if ranges is None or len(ranges.ranges) != 1:
        return None
    return str(ranges)


def remote_date_conditional(req):
    """``{header: HTTP-date}`` for the remote read: the request's one date conditional, when it
    has no other conditional, as swob reads the date. Swift checks all four conditionals, each
    whatever the others say, in its own order (If-None-Match, If-Match, If-Modified-Since,
    If-Unmodified-Since); a remote follows HTTP's precedence instead, so with several of them
    the full answer is judged here. A date swob cannot read is ignored, as Swift ignores it."""
    if req.if_match is not None or req.if_none_match is not None:
        return {}
    dates = {name: value for name, value in (('if-modified-since', req.if_modified_since),
                                             ('if-unmodified-since', req.if_unmodified_since))
             if value is not None}
    if len(dates) != 1:
        return {}
    return {name: value.strftime(DATE_HEADER_FORMAT_STRING) for name, value in dates.items()}


def without_if_match_any(env):
    """A copy of ``env`` for the local read, without an ``If-Match`` that holds ``*``.

    Any existing object satisfies it, so a local object is answered the same without it; but
    Swift answers a missing object with 412, which would hide the archived copy (the remote
    read is judged against the same header)."""
    env = dict(env)
    if env.get('HTTP_IF_MATCH') and '*' in Match(env['HTTP_IF_MATCH']).tags:
        del env['HTTP_IF_MATCH']
    return env


def read_locally(app, env, start_response):
    """Ask Swift first (``without_if_match_any``). ``(body, None)`` with the response already
    started when Swift has an answer other than 404; ``(None, LocalMiss)`` when the remote
    should be asked."""
    ctx = WSGIContext(app)
    # A copy: what the pipeline below changes in the environ must not change our request.
    body = ctx._app_call(without_if_match_any(env))
    if ctx._get_status_int() != 404:
        start_response(ctx._response_status, ctx._response_headers, ctx._response_exc_info)
        return body, None
    close_if_possible(body)
    return None, LocalMiss(ctx._response_headers)

"""Object GET/HEAD: the cloud copy first, then the on-prem cluster.

The cloud copy is read exactly as the cloud-shunt reads a remote copy (``shunt.objects``:
key layout, metadata decoded, SLOs with their Swift ETag and whole from the stored manifest,
Range and conditionals judged as Swift judges them), without restoring anything: proxymc never
writes on-prem. When the cloud has no copy (404), or did not answer, the on-prem cluster is
asked with the client's own headers and token (``onprem``); its answer is the client's, except
that a cloud failure stays a 502 when on-prem has nothing either (the object may well be in the
cloud). ``X-Proxymc-Source`` says which side answered (``cloud`` or ``swift``).

For the S3 API, metadata values that are not printable ASCII go out as RFC 2047 encoded words,
the form S3 carries them in (``s3_sync.metadata``): s3api would send the raw UTF-8, which S3
clients read as Latin-1.
"""
import dataclasses
import functools

from swift.common.swob import Request, str_to_wsgi, wsgi_to_str

from s3_sync.metadata import encode_value

from s3_sync.shunt.headers import LocalMiss, looks_like_mpu, without_if_match_any
from s3_sync.shunt.objects import ObjectFallback

SOURCE_HEADER = 'X-Proxymc-Source'
CLOUD, SWIFT = 'cloud', 'swift'
NOTHING_LOCAL = LocalMiss([])       # no on-prem tombstone is known here: nothing hides a copy
ONPREM_ANSWERS = (200, 206, 304, 412, 416)
COALESCE = 1024 * 1024
MAX_MAPPINGS = 1000      # the no-restore copies kept (see _no_restore)


class ObjectReads:
    """``__call__(env, start_response, mapping, provider, target)`` for object GET/HEAD."""

    def __init__(self, onprem, logger=None):
        self.onprem = onprem
        # its app is only used to restore, which proxymc never does (see _no_restore)
        self.cloud = ObjectFallback(onprem, logger)

    def __call__(self, env, start_response, mapping, provider, target):
        # If-Match: * holds for any copy that exists, so the cloud read goes without it and a
        # missing cloud copy is a 404 (then on-prem judges the header), not a 412.
        resp = self.cloud(Request(without_if_match_any(env)), _no_restore(mapping), provider,
                          target, NOTHING_LOCAL)
        status = resp.status_int
        if status != 404 and status < 500:
            resp.headers[SOURCE_HEADER] = CLOUD
            body = _for_client(resp, env)(env, start_response)
            return Coalesced(body) if env['REQUEST_METHOD'] == 'GET' else body
        onprem = Request(env).get_response(self.onprem)
        if status >= 500 and onprem.status_int not in ONPREM_ANSWERS:
            _close(onprem)
            return resp(env, start_response)
        _close(resp)
        if onprem.status_int // 100 == 2:
            onprem.headers[SOURCE_HEADER] = SWIFT
        return _for_client(onprem, env)(env, start_response)


def _for_client(resp, env):
    if 's3api.auth_details' in env:
        for key, value in list(resp.headers.items()):
            if key.lower().startswith('x-object-meta-'):
                resp.headers[key] = str_to_wsgi(encode_value(wsgi_to_str(value)))
        if looks_like_mpu(resp.headers.get('Etag', '').strip('"')):
            # an S3 multipart object, not an SLO: s3api would add its own "-N" to the ETag
            resp.headers.pop('X-Static-Large-Object', None)
    return resp


class Coalesced:
    """A cloud body handed on in pieces of about ``size`` bytes: the store is read 64 KiB at a
    time, and every piece costs a pass through each middleware above and a socket write (a
    16 MiB GET went at 0.4x the S3 server's own speed in 64 KiB pieces)."""

    def __init__(self, body, size=COALESCE):
        self.body = body
        self.size = size

    def __iter__(self):
        pending, length = [], 0
        for chunk in self.body:
            pending.append(chunk)
            length += len(chunk)
            if length >= self.size:
                yield b''.join(pending)
                pending, length = [], 0
        if pending:
            yield b''.join(pending)

    def close(self):
        if hasattr(self.body, 'close'):
            self.body.close()


@functools.lru_cache(maxsize=MAX_MAPPINGS)
def _no_restore(mapping):
    """``mapping`` with restores off: made once per mapping (per config generation), not per
    GET (``dataclasses.replace`` costs ~0.03 ms)."""
    return dataclasses.replace(mapping, restore_object=False) if mapping.restore_object \
        else mapping


def _close(resp):
    body = resp.app_iter
    if hasattr(body, 'close'):
        body.close()

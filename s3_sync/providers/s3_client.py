"""Building the boto3 S3 client for one mapping.

Choices, and why:

* SigV4 by default; ``signature_version: "s3"`` in the mapping opts into SigV2 for old clones.
  Google Cloud Storage gets SigV2 with path-style addressing and the ``CloudSync/5.0
  (GPN:SwiftStack)`` User-Agent prefix, as the original did.
* Payload signing off (UNSIGNED-PAYLOAD): PutObject streams a Swift GET that cannot be rewound,
  and SigV4 would otherwise read the whole body first to hash it. Integrity comes from the
  Content-MD5 the provider sends.
* Non-AWS endpoints: path-style addressing, and botocore's flexible checksums only when an
  operation requires them, since many clones reject CRC32 trailers / aws-chunked uploads.
* botocore's own retries are off: ``s3_sync.retry`` is the one retry policy, so a request is
  never retried twice over.
* DeleteObjects to non-AWS endpoints carries Content-MD5, which older clones require.
* A conditional copy (CopyObject, UploadPartCopy) to a non-AWS, non-GCS endpoint states its
  condition twice: ``x-amz-copy-source-if-match`` as AWS reads it, and ``x-amz-copy-if-match``,
  the only one Ceph radosgw 16 (pacific) reads (it ignores the other, so the copy was
  unconditional there). Stores that ignore both are caught by the provider's checks after
  the copy (see ``S3Provider.update_metadata``).
* GCS listings go without ``encoding-type=url``, which GCS does not support.
* One client per provider, so one connection pool of ``max_conns`` connections; or, in the
  daemon, one per :func:`client_key` shared by the providers that have it (the containers of a
  ``"/*"`` mapping: see ``s3_sync.providers.shared``).
* A PutObject or UploadPart body of at most ``SMALL_BODY`` bytes in memory goes out in the
  same send as its headers, without ``Expect: 100-continue`` (``send_small_body_whole``).
  botocore turns every body into a file and asks for the server's go-ahead before sending it:
  one more round trip per object (a wait, a send and server work each), which for a body that
  small buys nothing. Larger bodies stream and keep the go-ahead: a refusal (bad credentials,
  missing bucket) then costs no body.
* Throttles (``s3_sync.throttle``): one ``before-send`` hook per client takes from the throttle
  of the provider sending in the current green thread (``sending_for``), so a client shared by
  several mappings still throttles each request by its own mapping.

Credentials are passed straight to botocore and never logged.
"""
import base64
import hashlib
import io
import threading
from urllib.parse import urlsplit

import boto3
import eventlet.corolocal
from botocore.config import Config
from botocore.handlers import set_list_objects_encoding_type_url

from s3_sync import layout

GOOGLE_UA_PREFIX = 'CloudSync/5.0 (GPN:SwiftStack)'
SIGNATURE_VERSIONS = {'s3': 's3', 'v2': 's3', 's3v4': 's3v4', 'v4': 's3v4'}
# The most bytes a PutObject body is read into memory for, and sent with its headers (see the
# module docstring): at most workers x 64 KiB in memory.
SMALL_BODY = 65536
WHOLE_BODY_OPERATIONS = ('PutObject', 'UploadPart')

# Creating a boto3 Session loads the service models (~90 ms); one shared session makes each
# further client cheap (~5 ms). Session.client() is not thread-safe, hence the lock.
_session = None
_session_lock = threading.Lock()


def _shared_session():
    global _session
    if _session is None:
        _session = boto3.session.Session()
    return _session


# The throttle (s3_sync.throttle.Throttle, or None) of the provider whose request this green
# thread is sending: set by ``sending_for`` before each client call, read by the client hook.
_sending = eventlet.corolocal.local()


def sending_for(throttle):
    """Make ``throttle`` the one this green thread's next client requests take from."""
    _sending.throttle = throttle


def take_throttle(request, **kwargs):
    """``before-send``: a request token and its body's bytes from the sender's throttle."""
    throttle = getattr(_sending, 'throttle', None)
    if throttle:
        throttle.request(int(request.headers.get('Content-Length') or 0))


def signature_version(mapping):
    """``'s3v4'`` or ``'s3'`` (SigV2) for this mapping; ValueError names a bad setting."""
    if layout.is_google(mapping.aws_endpoint):
        return 's3'
    wanted = mapping.signature_version
    try:
        return SIGNATURE_VERSIONS[str(wanted).lower()]
    except KeyError:
        raise ValueError('signature_version %r is not one of "s3" (v2) or "s3v4"' % (wanted,))


def send_small_body_whole(request, **kwargs):
    """``before-send``: a small in-memory body goes with its headers, with no go-ahead asked.

    ``Expect`` is never signed (neither SigV4 nor SigV2 covers it), so dropping it here, after
    signing and checksums, changes nothing else; a body botocore wrapped (aws-chunked
    checksum trailers) is not a ``BytesIO`` and is left alone."""
    body = request.body
    if not isinstance(body, io.BytesIO) or 'Expect' not in request.headers:
        return
    if len(body.getbuffer()) - body.tell() > SMALL_BODY:
        return
    del request.headers['Expect']
    request.body = body.read()


def fix_v2_auth_path(request, **kwargs):
    """Sign the path that is sent: botocore signs ``/bucket/`` for a path-style bucket-only URL
    but sends ``/bucket`` (boto/boto3#4433), so SigV2 bucket requests fail on real servers."""
    auth_path = getattr(request, 'auth_path', None)
    if auth_path and auth_path.endswith('/'):
        if not urlsplit(request.url).path.endswith('/'):
            request.auth_path = auth_path[:-1]


def add_google_user_agent(request, **kwargs):
    """Prefix the User-Agent as the original did for GCS (partner attribution)."""
    current = request.headers.get('User-Agent', '')
    if isinstance(current, bytes):
        current = current.decode('ascii', 'replace')
    if not current.startswith(GOOGLE_UA_PREFIX):
        request.headers['User-Agent'] = ('%s %s' % (GOOGLE_UA_PREFIX, current)).strip()


def add_multi_delete_md5(request, **kwargs):
    """Older S3 clones insist on Content-MD5 for DeleteObjects; botocore now only sends a CRC32.

    The body is the small XML key list, already bytes at this point."""
    body = request.body
    if isinstance(body, bytes) and 'Content-MD5' not in request.headers:
        request.headers['Content-MD5'] = base64.b64encode(hashlib.md5(body).digest()).decode()


def add_legacy_copy_condition(request, **kwargs):
    """Repeat a copy's If-Match condition under the name radosgw 16 reads."""
    wanted = request.headers.get('x-amz-copy-source-if-match')
    if wanted is not None and 'x-amz-copy-if-match' not in request.headers:
        request.headers['x-amz-copy-if-match'] = wanted


def _client_config(mapping, sig_version):
    endpoint = mapping.aws_endpoint
    aws = layout.is_aws(endpoint)
    timeout = mapping.remote_timeout
    s3_options = {'payload_signing_enabled': False}
    if not aws or layout.is_google(endpoint):
        s3_options['addressing_style'] = 'path'
    options = dict(
        signature_version=sig_version,
        region_name=mapping.aws_region,
        connect_timeout=timeout,
        read_timeout=timeout,
        max_pool_connections=mapping.max_conns,
        proxies=mapping.proxies or None,
        retries={'total_max_attempts': 1},
        s3=s3_options,
    )
    # AWS over plain HTTP would put the CRC in a header, which means reading the stream twice.
    if not aws or not (endpoint or 'https://').lower().startswith('https://'):
        options['request_checksum_calculation'] = 'when_required'
        options['response_checksum_validation'] = 'when_required'
    return Config(**options)


def client_key(mapping):
    """The settings a client is made of: mappings with equal keys share one client (each
    request still takes from its own mapping's throttle: see the module docstring)."""
    return ('s3', mapping.aws_endpoint or None, mapping.aws_identity, mapping.aws_secret,
            mapping.aws_session_token or None, mapping.aws_region, signature_version(mapping),
            mapping.remote_timeout, mapping.max_conns, tuple(sorted(mapping.proxies.items())))


def make_client(mapping):
    """A boto3 S3 client for this mapping (see the module docstring for the settings)."""
    sig_version = signature_version(mapping)
    config = _client_config(mapping, sig_version)
    with _session_lock:
        client = _shared_session().client(
            's3',
            endpoint_url=mapping.aws_endpoint or None,
            aws_access_key_id=mapping.aws_identity,
            aws_secret_access_key=mapping.aws_secret,
            aws_session_token=mapping.aws_session_token or None,
            region_name=config.region_name,
            config=config)
    client.meta.events.register('before-send.s3', take_throttle)
    for op in WHOLE_BODY_OPERATIONS:
        client.meta.events.register('before-send.s3.' + op, send_small_body_whole)
    if sig_version == 's3':
        client.meta.events.register('before-sign.s3', fix_v2_auth_path)
    if not layout.is_aws(mapping.aws_endpoint):
        client.meta.events.register('before-sign.s3.DeleteObjects', add_multi_delete_md5)
        if not layout.is_google(mapping.aws_endpoint):
            for op in ('CopyObject', 'UploadPartCopy'):
                client.meta.events.register('before-sign.s3.' + op, add_legacy_copy_condition)
    if layout.is_google(mapping.aws_endpoint):
        client.meta.events.register('before-sign.s3', add_google_user_agent)
        # GCS rejects the encoding-type listing parameter botocore adds by default.
        client.meta.events.unregister('before-parameter-build.s3.ListObjects',
                                      set_list_objects_encoding_type_url)
    return client


def warm_up(mappings):
    """Load what every client needs (the S3 service model, endpoint rules) into the shared
    session once, in a daemon about to fork its processes: each child then inherits it
    (copy-on-write) and makes its first client in milliseconds, not ~0.2 s of CPU inside its
    first cycle, ``processes`` times over. Sends no request; without an S3 mapping, nothing."""
    for mapping in mappings:
        if mapping.protocol == 's3':
            make_client(mapping)
            return

"""The one metadata codec between Swift headers and S3 object metadata.

S3 user metadata travels as ``x-amz-meta-*`` headers, which must be ASCII. The original
swift-s3-sync stored non-ASCII (or non-printable) values as RFC 2047 encoded words
(``=?UTF-8?B?w6k=?=``) and we keep that format so objects it wrote decode the same way and
objects we write read back the same way in the original. Keys are lower-cased (S3 does that
anyway). Large-object markers (``x-object-manifest``, ``x-static-large-object``) ride along as
metadata under their Swift names with URL-quoted values, also a compatibility format.

Comparison (``metadata_matches``) works on decoded values; the original compared S3 values to
URL-quoted Swift values, which never matched for values with spaces or non-ASCII characters and
caused a pointless metadata copy on every pass.
"""
import base64
import binascii
import email.charset
import re
from urllib.parse import quote, unquote

from swift.common.utils import config_true_value

META_PREFIX = 'x-object-meta-'
SWIFT_TIME_FMT = '%Y-%m-%dT%H:%M:%S.%f'      # listings' last_modified
AMZ_META_PREFIX = 'x-amz-meta-'
DLO_HEADER = 'x-object-manifest'
SLO_HEADER = 'x-static-large-object'
LARGE_OBJECT_HEADERS = (DLO_HEADER, SLO_HEADER)
DEFAULT_CONTENT_TYPE = 'application/octet-stream'
REQUEST_ID_HEADERS = ('x-amz-id-2', 'x-amz-request-id')

_UTF8 = email.charset.Charset('utf-8')
_ENCODED_WORD = re.compile(r'=\?([^?\s]+)\?([QqBb])\?([^?\s]*)\?=')
_BAD_Q_ESCAPE = re.compile(r'=(?![0-9A-Fa-f]{2})')


def _is_plain(value):
    """Printable ASCII that does not itself look like an encoded word is sent unchanged."""
    return (all(' ' <= c <= '~' for c in value)
            and not _ENCODED_WORD.search(value))


def encode_value(value):
    """A metadata value as S3 can carry it: as is, or one RFC 2047 UTF-8 encoded word.

    Q or B is chosen as the email package's header encoder chooses (the shorter, Q on a tie);
    the charset and encoding letters are upper-cased as the original wrote them. A value that
    merely looks like an encoded word is encoded too, so it reads back literally."""
    if _is_plain(value):
        return value
    word = _UTF8.header_encode(value)  # '=?utf-8?q?...?=' or '=?utf-8?b?...?='
    return '=?UTF-8?%s?%s' % (word[8].upper(), word[10:])


def _decode_word(charset, encoding, text):
    """One encoded word's text; raises ValueError/LookupError when it is malformed."""
    if encoding in 'Bb':
        raw = base64.b64decode(text, validate=True)
    else:
        if _BAD_Q_ESCAPE.search(text):
            raise ValueError('bad Q escape')
        raw = re.sub(r'=([0-9A-Fa-f]{2})', lambda m: chr(int(m.group(1), 16)),
                     text.replace('_', ' ')).encode('latin-1')
    return raw.decode(charset)


def decode_value(value):
    """The inverse of :func:`encode_value`; anything not (validly) encoded comes back as is.

    Several encoded words (as a folding encoder writes long values) are joined, dropping the
    whitespace between adjacent words as RFC 2047 says."""
    if '=?' not in value:
        return value
    out, pos, last_was_word = [], 0, False
    for match in _ENCODED_WORD.finditer(value):
        between = value[pos:match.start()]
        if not (last_was_word and not between.strip()):
            out.append(between)
        try:
            out.append(_decode_word(*match.groups()))
        except (ValueError, LookupError, binascii.Error):
            return value
        pos, last_was_word = match.end(), True
    out.append(value[pos:])
    return ''.join(out)


# HTTP token characters other than letters and digits (RFC 9110 tchar): what a header name may
# hold. '%' is one, so percent-encoded UTF-8 travels as a valid header name.
_TCHAR = "!#$%&'*+-.^_`|~"


def encode_key(name):
    """A metadata key as an S3 header-name suffix.

    S3 header names must be ASCII tokens, and S3 lower-cases them. A key with anything else
    (non-ASCII letters, spaces) is sent as lower-case percent-encoded UTF-8; the original sent
    such keys raw, which botocore refuses, so nothing written before depends on this form."""
    if all(c.isascii() and (c.isalnum() or c in _TCHAR) for c in name) and '%' not in name:
        return name.lower()
    return quote(name.lower(), safe=_TCHAR.replace('%', '')).lower()


def decode_key(name):
    """Undo :func:`encode_key`; keys that were not encoded come back unchanged."""
    if '%' not in name:
        return name
    try:
        decoded = unquote(name, errors='strict')
    except UnicodeDecodeError:
        return name
    return decoded


def wire_to_str(value):
    """Undo http.client's latin-1 reading of raw UTF-8 header bytes (Swift sends metadata so)."""
    try:
        return value.encode('latin-1').decode('utf-8')
    except UnicodeError:
        return value


def _lower_items(headers):
    return ((k.lower(), v) for k, v in headers.items())


def swift_to_s3(headers):
    """``(metadata, content_type)`` for a PUT/copy from Swift-style object headers.

    Content-Encoding, Content-Disposition, Cache-Control and X-Delete-At are not sent, as in
    the original."""
    metadata = {}
    content_type = DEFAULT_CONTENT_TYPE
    for key, value in _lower_items(headers):
        if key.startswith(META_PREFIX) and len(key) > len(META_PREFIX):
            metadata[encode_key(key[len(META_PREFIX):])] = encode_value(value)
        elif key in LARGE_OBJECT_HEADERS:
            metadata[key] = quote(value)
        elif key == 'content-type' and value:
            content_type = value
    return metadata, content_type


# Swift headers S3 stores as object fields of its own (the original dropped them).
S3_FIELDS = {'content-encoding': 'ContentEncoding', 'content-disposition': 'ContentDisposition'}


def s3_fields(headers):
    """boto3 keyword arguments (Metadata, ContentType, ContentEncoding, ContentDisposition)
    for writing an object with these Swift-style headers: PUT, copy, multipart create."""
    meta, content_type = swift_to_s3(headers)
    fields = {'Metadata': meta, 'ContentType': content_type}
    for key, value in _lower_items(headers):
        if key in S3_FIELDS and value:
            fields[S3_FIELDS[key]] = value
    return fields


def s3_to_swift(response_or_headers):
    """Swift-style lower-case headers from S3 response headers (or a boto3 HEAD/GET response).

    Headers not named below pass through unchanged (content-range, date, x-amz-storage-class
    ...); the caller drops what it does not want."""
    headers = response_or_headers
    if 'ResponseMetadata' in headers:
        headers = headers['ResponseMetadata'].get('HTTPHeaders', {})
    out = {}
    for key, value in _lower_items(headers):
        if key.startswith(AMZ_META_PREFIX):
            name = key[len(AMZ_META_PREFIX):]
            if name in LARGE_OBJECT_HEADERS:
                out[name] = unquote(value)
            else:
                out[META_PREFIX + decode_key(name)] = decode_value(wire_to_str(value))
        elif key == 'etag':
            out['etag'] = value.strip('"')
        elif key in REQUEST_ID_HEADERS:
            out['remote-' + key] = value
        else:
            out[key] = value
    return out


def is_slo(headers):
    """Whether Swift-style ``headers`` describe an SLO manifest (Swift's own truth rule)."""
    return config_true_value(headers.get(SLO_HEADER, ''))


def content_md5(etag):
    """Base64 of the binary md5 behind a Swift etag (Content-MD5), or None when it is not
    a plain md5."""
    etag = (etag or '').strip('"')
    try:
        raw = binascii.unhexlify(etag)
    except (binascii.Error, ValueError):
        return None
    return base64.b64encode(raw).decode('ascii') if len(raw) == 16 else None


def sync_headers(swift_headers):
    """The headers that propagate to the remote and decide "metadata in sync".

    User metadata (keys lower-cased, values decoded), content-type, the DLO manifest header and
    the SLO flag (normalised to ``'true'``, absent when false)."""
    out = {}
    for key, value in _lower_items(swift_headers):
        if key.startswith(META_PREFIX) and len(key) > len(META_PREFIX):
            out[key] = decode_value(value)
        elif key in ('content-type', DLO_HEADER) or key in S3_FIELDS:
            out[key] = value
        elif key == SLO_HEADER and config_true_value(value):
            out[key] = 'true'
    return out


def metadata_matches(local_headers, remote_headers, ignore=()):
    """True when the remote already carries the local object's propagated headers.

    ``ignore`` lists (lower-case) keys to leave out on both sides, e.g. the GCS
    ``x-object-meta-swift-slo-etag`` marker."""
    local = sync_headers(local_headers)
    remote = sync_headers(remote_headers)
    for key in ignore:
        local.pop(key, None)
        remote.pop(key, None)
    return local == remote

"""Where a Swift object lives in an S3 bucket: the one key-layout module.

The layout is a wire format shared with the original swift-s3-sync/1space, so buckets it filled
stay readable and writable by us (and the shunt, proxymc, sync and verify all agree):

* default: ``<hash>/<account>/<container>/<object>``, where ``<hash>`` is the md5 of
  ``"<account>/<container>"`` modulo 16**6 in lower-case hex *without zero padding* (1 to 6
  characters); the hash spreads containers over S3 key partitions;
* ``custom_prefix: "p"`` (slashes at both ends stripped): ``p/<object>``;
* ``custom_prefix: ""``: the object name itself.

SLO manifests (the JSON the shunt needs to restore an SLO) live beside the objects under a
``.manifests/`` segment, named by the sha256 of the object name so any name fits in a key.
"""
import hashlib
from urllib.parse import urlsplit

PREFIX_SPACE = 16 ** 6
MANIFEST_DIR = '.manifests'
MANIFEST_SUFFIX = '.swift_slo_manifest'
AWS_LOCATION = 'AWS S3'
GOOGLE_LOCATION = 'Google Cloud Storage'
GOOGLE_HOST = 'storage.googleapis.com'


def hash_prefix(account, container):
    """The un-padded hex hash prefix for one (account, container)."""
    digest = hashlib.md5(('%s/%s' % (account, container)).encode('utf-8')).hexdigest()
    return format(int(digest, 16) % PREFIX_SPACE, 'x')


def _custom_prefix(mapping):
    """The stripped custom prefix, or None when the mapping uses the hashed layout."""
    custom = mapping.custom_prefix
    if custom is None:
        return None
    return custom.strip('/')


def key_prefix(mapping, account, container):
    """What every key of this container starts with: ``"<hash>/<a>/<c>/"``, ``"p/"`` or ``""``."""
    custom = _custom_prefix(mapping)
    if custom is None:
        return '%s/%s/%s/' % (hash_prefix(account, container), account, container)
    return custom + '/' if custom else ''


def object_key(mapping, account, container, name):
    """The S3 key of one Swift object."""
    return key_prefix(mapping, account, container) + name


def manifest_name(name):
    """``<sha256hex(utf8 name)>.swift_slo_manifest``: the file name of an SLO's manifest."""
    return hashlib.sha256(name.encode('utf-8')).hexdigest() + MANIFEST_SUFFIX


def manifest_key(mapping, account, container, name):
    """The S3 key where the SLO manifest of ``name`` is stored."""
    custom = _custom_prefix(mapping)
    if custom is None:
        return '%s/%s/%s/%s/%s' % (hash_prefix(account, container), MANIFEST_DIR,
                                   account, container, manifest_name(name))
    head = custom + '/' if custom else ''
    return '%s%s/%s' % (head, MANIFEST_DIR, manifest_name(name))


def is_manifest_name(name):
    """True for a listed name that is one of our manifests sharing a custom-prefix namespace."""
    if not (name.startswith(MANIFEST_DIR + '/') and name.endswith(MANIFEST_SUFFIX)):
        return False
    digest = name[len(MANIFEST_DIR) + 1:-len(MANIFEST_SUFFIX)]
    return len(digest) == 64 and all(c in '0123456789abcdef' for c in digest)


def _host(endpoint):
    return (urlsplit(endpoint).hostname or endpoint).lower().rstrip('.')


def is_aws(endpoint):
    """No endpoint, or one whose host ends in ``amazonaws.com``, means AWS S3."""
    if not endpoint:
        return True
    return _host(endpoint).endswith('amazonaws.com')


def is_google(endpoint):
    """The Google Cloud Storage XML API (``https://storage.googleapis.com``)."""
    return bool(endpoint) and _host(endpoint) == GOOGLE_HOST


def location_name(endpoint):
    """The first field of a content location: the endpoint, ``AWS S3`` or ``Google ...``."""
    if is_aws(endpoint):
        return AWS_LOCATION
    if is_google(endpoint):
        return GOOGLE_LOCATION
    return endpoint


def content_location(mapping, account=None, container=None):
    """``"<location>;<bucket>[;<key prefix/>]"``, the annotation on remote listing entries.

    ``account``/``container`` default to the mapping's; pass the real container for ``"/*"``
    mappings, since the hashed prefix depends on it."""
    account = mapping.account if account is None else account
    container = mapping.container if container is None else container
    parts = [location_name(mapping.aws_endpoint), mapping.aws_bucket]
    prefix = key_prefix(mapping, account, container)
    if prefix:
        parts.append(prefix)
    return ';'.join(parts)

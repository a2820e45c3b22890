"""S3 multipart uploads through proxymc: they land in the cloud bucket only.

Swift's s3api builds a multipart upload from Swift requests: an upload marker and the parts are
objects of the segments container ``<bucket>+segments``, and CompleteMultipartUpload is an SLO
manifest PUT (``?multipart-manifest=put``) of the parts. proxymc serves that segments container
from the cloud copy alone (the bucket's mapping, the segments container's own key prefix; on-prem
is never asked nor written), and completes the manifest PUT itself: the parts are copied server
side into one multipart object at the final key (``S3Provider.compose_object``; its ETag is
S3's ``<md5>-N``, the one s3api reports to the client), then the parts are deleted. The result
is an ordinary object of the cloud bucket, readable by the sync tools like any other.

s3api enables multipart uploads only when a filter named ``slo`` is in its pipeline. Swift's slo
cannot be there (it would assemble proxymc's SLO answers from on-prem segments), so
``egg:swift-s3-sync#proxymc-slo`` provides the name and does nothing else::

    pipeline = ... s3api proxymc-s3 tempauth slo copy proxy-logging proxy-server

    [filter:slo]
    use = egg:swift-s3-sync#proxymc-slo
"""
import json
import math

from swift.common.swob import (HTTPBadRequest, HTTPCreated, HTTPNotImplemented,
                               wsgi_to_str)
from swift.common.utils import Timestamp

SUFFIX = '+segments'            # s3api's MULTIUPLOAD_SUFFIX
MIN_PART = 5 * 1024 * 1024      # S3's (and s3api's default) smallest part but the last
SYSMETA = 'HTTP_X_OBJECT_SYSMETA_S3API_'


def noop_filter_factory(global_conf, **local_conf):
    return lambda app: app


def segments_base(container):
    """The bucket whose segments container ``container`` is, or None."""
    if container.endswith(SUFFIX) and len(container) > len(SUFFIX):
        return container[:-len(SUFFIX)]
    return None


def keep_marker_content_type(env):
    """The upload marker carries the upload's Content-Type in sysmeta, which the cloud copy
    cannot hold: store it as the marker's own Content-Type, which s3api falls back to."""
    flag = env.get(SYSMETA + 'HAS_CONTENT_TYPE')
    if flag == 'yes' and env.get(SYSMETA + 'CONTENT_TYPE'):
        env['CONTENT_TYPE'] = env[SYSMETA + 'CONTENT_TYPE']
    elif flag == 'no':
        env.pop('CONTENT_TYPE', None)


def _refuse(req, message):
    # s3api maps these texts to InvalidPart / EntityTooSmall; the rest is InvalidRequest
    return HTTPBadRequest(request=req, body=message.encode('utf-8'), content_type='text/plain')


class ManifestPut:
    """``__call__(req, provider, segments_provider, target)``: the manifest PUT that
    completes an S3 multipart upload (see the module docstring)."""

    def __init__(self, logger=None):
        self.logger = logger

    def __call__(self, req, provider, segments, target):
        compose = getattr(provider, 'compose_object', None)
        if compose is None:
            return HTTPNotImplemented(request=req, content_type='text/plain',
                                      body=b'this cloud store cannot compose objects\n')
        try:
            manifest = json.loads(req.body)
        except ValueError:
            manifest = None
        if not isinstance(manifest, list) or not manifest or \
                not all(isinstance(item, dict) for item in manifest):
            return _refuse(req, 'Invalid manifest: a list of parts is needed')
        keys, names = [], []
        for index, item in enumerate(manifest):
            path = str(item.get('path', ''))
            container, _, name = path.lstrip('/').partition('/')
            if container != target[1] + SUFFIX or not name:
                return _refuse(req, '%s, not a part of this upload' % path)
            remote = segments.head_object(name)
            if remote is None:
                return _refuse(req, '%s, 404 Not Found' % path)
            etag = str(item.get('etag') or '').strip('"')
            if etag and etag != remote.etag:
                return _refuse(req, '%s, Etag Mismatch' % path)
            if index < len(manifest) - 1 and remote.size < MIN_PART:
                return _refuse(req, 's3api requires that each segment be at least %d bytes'
                               % MIN_PART)
            keys.append(segments.key(name))
            names.append(name)
        headers = {wsgi_to_str(k).lower(): wsgi_to_str(v) for k, v in req.headers.items()}
        etag = compose(target[2], headers, keys)
        segments.delete_objects(names)
        if self.logger:
            self.logger.info('proxymc: multipart upload of %s/%s/%s completed in the cloud '
                             '(%d parts)', *target, len(keys))
        now = Timestamp.now()
        return HTTPCreated(request=req, last_modified=math.ceil(float(now)),
                           headers={'Etag': etag, 'X-Timestamp': now.normal})

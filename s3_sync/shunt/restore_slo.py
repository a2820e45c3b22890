"""Restore of an SLO: its segments back into their original containers, then its manifest.

The remote holds the SLO's content as one object (an S3 multipart upload) plus the Swift
manifest stored beside it. As the content streams to the client it is cut at the manifest's
segment boundaries; each segment is PUT (with its own ETag, so Swift checks it) into the
container and name the manifest names, creating a missing segment container first. Only when
every segment is stored is the manifest PUT with ``?multipart-manifest=put``, so Swift's SLO
middleware validates it as for any client upload. Ranged, nested or inline-data segments cannot
be rebuilt this way; such SLOs are served but not restored.
"""
import json

from swift.common.swob import str_to_wsgi, wsgi_quote
from swift.common.wsgi import make_pre_authed_env, make_pre_authed_request
from swift.proxy.controllers.base import get_container_info

from s3_sync.shunt.headers import slo_etag
from s3_sync.shunt.restore import SWIFT_SOURCE, PutStream, object_path, report, with_expiry


def restorable_manifest(manifest, length):
    """The manifest when it can be rebuilt segment by segment, else None (ranged or nested
    segments, inline data, or sizes that do not add up to the object)."""
    if not isinstance(manifest, list) or not manifest:
        return None
    total = 0
    for segment in manifest:
        if not isinstance(segment, dict) or segment.get('range') or segment.get('sub_slo') \
                or 'data' in segment or not segment.get('name') or not segment.get('hash'):
            return None
        name = segment['name'].lstrip('/')
        if '/' not in name or int(segment.get('bytes') or 0) <= 0:
            return None
        total += int(segment['bytes'])
    return manifest if total == length else None


class SloRestore:
    """Restore of an SLO: each segment to its original container, then the manifest."""

    def __init__(self, app, env, target, headers, manifest, logger, expire_days=0):
        self.app, self.env, self.logger = app, env, logger
        self.target = target
        self.headers = with_expiry(dict(headers), expire_days)
        self.manifest = manifest
        self.index = 0
        self.left = 0
        self.stream = None
        self.failed = False

    def _segment(self, index):
        return self.manifest[index]['name'].lstrip('/').split('/', 1)

    def start(self):
        account = self.target[0]
        for container in sorted({self._segment(i)[0] for i in range(len(self.manifest))}):
            if not self._ensure_container(account, container):
                self.failed = True
                return
        self._open(0)

    def _ensure_container(self, account, container):
        path = '/v1/%s/%s' % (str_to_wsgi(account), str_to_wsgi(container))
        info_env = make_pre_authed_env(self.env, 'HEAD', path, swift_source=SWIFT_SOURCE)
        if get_container_info(info_env, self.app, swift_source=SWIFT_SOURCE)['status'] // 100 \
                == 2:
            return True
        resp = make_pre_authed_request(self.env, 'PUT', wsgi_quote(path),
                                       swift_source=SWIFT_SOURCE).get_response(self.app)
        if resp.status_int // 100 == 2:
            return True
        self._fail('creating segment container %s: %s' % (container, resp.status))
        return False

    def _open(self, index):
        self.index = index
        segment = self.manifest[index]
        container, name = self._segment(index)
        self.left = int(segment['bytes'])
        headers = {'etag': segment['hash'], 'content-type': segment.get(
            'content_type') or 'application/octet-stream'}
        self.stream = PutStream(self.app, self.env,
                                object_path(self.target[0], container, name), headers,
                                self.left, self.logger)

    def feed(self, chunk):
        while chunk and not self.failed:
            if self.stream is None:
                self._fail('body longer than its manifest')
                return
            part, chunk = chunk[:self.left], chunk[self.left:]
            self.stream.feed(part)
            self.left -= len(part)
            if self.left == 0:
                self._close_segment()

    def _close_segment(self):
        status = self.stream.finish()
        self.stream = None
        if status // 100 != 2:
            self._fail('segment %d PUT: %s' % (self.index, status))
        elif self.index + 1 < len(self.manifest):
            self._open(self.index + 1)

    def finish(self):
        if self.failed:
            return None
        if self.stream is not None:   # the body ended before the segments did
            self.abort()
            self._fail('body shorter than its manifest')
            return None
        return self._put_manifest()

    def _put_manifest(self):
        body = json.dumps([{'path': s['name'], 'etag': s['hash'], 'size_bytes': int(s['bytes'])}
                           for s in self.manifest]).encode('utf-8')
        headers = {str_to_wsgi(k): str_to_wsgi(v) for k, v in self.headers.items()
                   if k not in ('etag', 'content-length', 'x-static-large-object')}
        headers['ETag'] = slo_etag(self.manifest)
        headers['If-None-Match'] = '*'
        path = wsgi_quote(object_path(*self.target)) + '?multipart-manifest=put'
        resp = make_pre_authed_request(self.env, 'PUT', path, body=body, headers=headers,
                                       swift_source=SWIFT_SOURCE).get_response(self.app)
        report(self.logger, self.target, resp.status_int)
        return resp.status_int

    def abort(self):
        if self.stream is not None:
            self.stream.abort()
            self.stream = None

    def _fail(self, why):
        self.failed = True
        self.abort()
        if self.logger:
            self.logger.warning('cloud-shunt: restoring SLO %s/%s/%s failed: %s',
                                *self.target, why)

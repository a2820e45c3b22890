"""Object PUT, POST and DELETE: they reach the cloud copy only, never on-prem data.

The rule a client sees, the same for the three: **an object that exists on-prem belongs to the
on-prem cluster**. proxymc first asks the on-prem cluster (a HEAD with the client's own token):

* the object is there: ``409 Conflict``, nothing is written or deleted anywhere (writing only the
  cloud copy would be undone or hidden: the sync daemon puts the on-prem version back, and a
  DELETE of the cloud copy would leave the on-prem one showing through proxymc);
* it is not (404): the write goes to the cloud copy, as Swift would answer it: PUT 201 (or 422
  when the body does not match the client's ETag), POST 202 with Swift's POST semantics
  (``shunt.writes.post_to_remote``) or 404, DELETE 204 or 404;
* the on-prem cluster refuses the token (401/403) or does not answer: that answer (or a 503),
  and nothing is written. Except a 403 to a user whom the container's write ACL lets write
  (``auth.WRITE_ACL``) but who may not read there: Swift tells them nothing about the object
  either, so the write goes to the cloud copy as for a 404 (an on-prem object of that name is
  untouched and, in a sync mapping, wins again at its next sync).

PUT and POST get the checks Swift's proxy makes (names, sizes, metadata limits, expiry
headers), and one more: object metadata must be UTF-8 (400), which the cloud copy's metadata
encoding needs (Swift itself stores any bytes). An ETag that is no MD5 matches no body: 422 at
once. SLO manifests cannot be written (there is no ``slo`` middleware in front of the cloud copy: 400),
except the one s3api sends to complete an S3 multipart upload (``multipart``);
COPY and ``X-Copy-From`` are Swift's ``copy`` middleware's, a GET and a PUT through proxymc.
"""
import math
import mimetypes
import re

from swift.common.constraints import (MAX_FILE_SIZE, check_delete_headers, check_metadata,
                                      check_object_creation, check_utf8)
from swift.common.swob import (HTTPBadRequest, HTTPConflict, HTTPCreated, HTTPForbidden,
                               HTTPLengthRequired,
                               HTTPNoContent, HTTPNotFound, HTTPNotImplemented,
                               HTTPRequestEntityTooLarge, HTTPServiceUnavailable,
                               HTTPUnprocessableEntity, Request, Response, str_to_wsgi, wsgi_to_str)

from swift.common.utils import Timestamp

from s3_sync import metadata
from s3_sync.providers.base import RemoteError
from s3_sync.proxymc.auth import WRITE_ACL
from s3_sync.proxymc.multipart import ManifestPut
from s3_sync.shunt.objects import bad_gateway
from s3_sync.shunt.writes import post_to_remote

BAD_DIGEST_CODES = ('BadDigest', 'InvalidDigest')
MD5_HEX = re.compile('^[0-9a-fA-F]{32}$')
WHY_CONFLICT = ('this object exists in the on-prem Swift cluster; proxymc writes only objects '
                'that live in the cloud alone: write it on-prem\n')


def _metadata_not_text(req):
    """400 for object metadata that is not UTF-8: Swift stores such bytes as they come, the
    cloud copy's metadata is text (``s3_sync.metadata``)."""
    for key, value in req.headers.items():
        if key.lower().startswith('x-object-meta-') and not (
                check_utf8(wsgi_to_str(key)) and check_utf8(wsgi_to_str(value))):
            return HTTPBadRequest(request=req, content_type='text/plain',
                                  body=b'Metadata must be valid UTF-8\n')
    return None


class ObjectWrites:
    """``__call__(env, start_response, mapping, provider, target)`` for PUT, POST, DELETE."""

    def __init__(self, onprem, logger=None):
        self.onprem = onprem
        self.logger = logger
        self.complete = ManifestPut(logger)

    def __call__(self, env, start_response, mapping, provider, target, segments=None,
                 in_segments=False):
        """``segments``: the provider of the bucket's segments container, for the manifest
        PUT that completes an S3 multipart upload; ``in_segments``: ``target`` is in a
        segments container, which only the cloud holds (see ``multipart``)."""
        req = Request(env)
        method = req.method
        completing = method == 'PUT' and segments is not None and \
            req.params.get('multipart-manifest') == 'put'
        refusal = None
        if method == 'PUT' and not completing:
            refusal = self._check_put(req, target[2])
        elif method == 'POST':
            refusal = self._check_post(req)
        if refusal is not None:
            return refusal(env, start_response)
        onprem = 404 if in_segments else self._onprem_status(req)
        if onprem // 100 == 2:
            # s3api turns a 409 into a 503 its clients retry: S3 clients get AccessDenied
            refuse = HTTPForbidden if 's3api.auth_details' in env else HTTPConflict
            return refuse(request=req, body=WHY_CONFLICT.encode('ascii'),
                          content_type='text/plain')(env, start_response)
        if onprem != 404:
            return self._onprem_refusal(req, onprem)(env, start_response)
        try:
            if completing:
                resp = self.complete(req, provider, segments, target)
            elif method == 'PUT':
                resp = self._put(req, provider, target)
            elif method == 'POST':
                resp = post_to_remote(req, provider, target, self.logger) or \
                    HTTPNotFound(request=req)
            else:
                resp = self._delete(req, provider, target)
        except RemoteError as err:
            if method == 'PUT' and err.code in BAD_DIGEST_CODES:
                resp = HTTPUnprocessableEntity(request=req, content_type='text/plain',
                                               body=b'the body does not match its ETag\n')
            elif 400 <= err.status < 500 and err.status not in (401, 403, 404):
                resp = HTTPBadRequest(request=req, content_type='text/plain',
                                      body=b'the cloud store refused this request\n')
                if self.logger:
                    self.logger.warning('proxymc: %s %s/%s/%s: %s', method, *target, err)
            else:
                resp = bad_gateway(req, err, self.logger, target)
        return resp(env, start_response)

    def _onprem_status(self, req):
        env = {'REQUEST_METHOD': 'HEAD', 'PATH_INFO': req.environ['PATH_INFO'],
               'QUERY_STRING': ''}
        for key in ('HTTP_X_AUTH_TOKEN', 'HTTP_X_STORAGE_TOKEN', 'HTTP_X_SERVICE_TOKEN'):
            if req.environ.get(key):
                env[key] = req.environ[key]
        status = Request(env).get_response(self.onprem).status_int
        if status == 403 and req.environ.get(WRITE_ACL):
            return 404      # a writer who may not read (see the module docstring)
        return status

    @staticmethod
    def _onprem_refusal(req, status):
        if status in (401, 403):
            return Response(request=req, status=status, content_type='text/plain',
                            body=b'the on-prem Swift cluster refused this user; nothing '
                                 b'written\n')
        return HTTPServiceUnavailable(request=req, content_type='text/plain',
                                      body=b'the on-prem Swift cluster did not answer; '
                                           b'nothing written\n')

    @staticmethod
    def _check_put(req, name):
        if req.params.get('multipart-manifest') == 'put' or \
                'x-static-large-object' in req.headers:
            return HTTPBadRequest(request=req, content_type='text/plain',
                                  body=b'SLO manifests cannot be written through proxymc\n')
        if 'x-copy-from' in req.headers:
            return HTTPNotImplemented(request=req, content_type='text/plain',
                                      body=b'copies need the copy middleware in the '
                                           b'pipeline\n')
        if req.content_length is None:
            return HTTPLengthRequired(request=req, content_type='text/plain',
                                      body=b'proxymc needs a Content-Length\n')
        if req.content_length > MAX_FILE_SIZE:
            return HTTPRequestEntityTooLarge(request=req)
        etag = req.headers.get('Etag', '').strip('"')
        if etag and not MD5_HEX.match(etag):
            # no body has it: Swift answers the same once the body is in
            return HTTPUnprocessableEntity(request=req, content_type='text/plain',
                                           body=b'the body does not match its ETag\n')
        req.headers['X-Timestamp'] = Timestamp.now().internal   # as Swift's proxy sets it
        if not req.headers.get('Content-Type'):
            req.headers['Content-Type'] = (mimetypes.guess_type(name)[0] or
                                           metadata.DEFAULT_CONTENT_TYPE)
        return check_object_creation(req, str_to_wsgi(name)) or _metadata_not_text(req)

    @staticmethod
    def _check_post(req):
        """Swift's checks of an object POST (its proxy's: metadata limits, expiry headers)."""
        req.headers['X-Timestamp'] = Timestamp.now().internal
        check_delete_headers(req)       # raises Swift's 400
        return check_metadata(req, 'object') or _metadata_not_text(req)

    def _put(self, req, provider, target):
        headers = {wsgi_to_str(k).lower(): wsgi_to_str(v) for k, v in req.headers.items()}
        etag = provider.put_object(target[2], headers, req.environ['wsgi.input'],
                                   req.content_length)
        if self.logger:
            self.logger.info('proxymc: PUT %s/%s/%s to the cloud copy', *target)
        now = Timestamp.now()
        # s3api reads the write time from X-Timestamp, as Swift's proxy sends it
        # unquoted, as Swift's proxy answers a PUT
        return HTTPCreated(request=req, last_modified=math.ceil(float(now)),
                           headers={'X-Timestamp': now.normal, 'Etag': etag})

    def _delete(self, req, provider, target):
        if provider.head_object(target[2]) is None:
            return HTTPNotFound(request=req)
        provider.delete_objects([target[2]])
        if self.logger:
            self.logger.info('proxymc: deleted the cloud copy of %s/%s/%s', *target)
        return HTTPNoContent(request=req)

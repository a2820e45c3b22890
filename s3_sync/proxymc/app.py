"""Dispatch: which part of proxymc answers a request, and the checks every request passes.

In order: the path (a Swift API path, names valid UTF-8 without NUL), the auth middleware's
verdict (``auth``), a mapping for the container (else 403), then the method:

=================  =========================================================================
container GET      the cloud and on-prem listings merged (``shunt.listing``, ``containers``)
container HEAD     the on-prem cluster's, else the cloud copy's counts (``containers``)
object GET/HEAD    the cloud copy, else on-prem (``reads``)
object PUT/POST/   the cloud copy only (``writes``); COPY is Swift's ``copy`` middleware's
DELETE             (a GET and a PUT through proxymc)
``<c>+segments``   s3api's multipart parts: the cloud alone (``multipart``); read-only to
                   the Swift API
anything else      405 with an ``Allow`` header; account requests 403
=================  =========================================================================

A request proxymc cannot serve gets the status Swift would give and a one-line body; a remote
failure is a 502 naming nothing internal; nothing is ever answered with a traceback.
"""
from swift.common.constraints import check_utf8, valid_api_version
from swift.common.swob import (HTTPBadRequest, HTTPException, HTTPForbidden,
                               HTTPMethodNotAllowed, HTTPPreconditionFailed, Request,
                               Response, str_to_wsgi, wsgi_to_str)
from swift.common.middleware.s3api.s3response import InvalidAccessKeyId
from swift.common.utils import RESERVED, split_path
from swift.proxy.controllers.base import get_cache_key, headers_to_container_info

from s3_sync.proxymc.auth import Authorizer
from s3_sync.proxymc.containers import OnPremListing, container_head
from s3_sync.proxymc.multipart import SUFFIX, keep_marker_content_type, segments_base
from s3_sync.proxymc.reads import ObjectReads
from s3_sync.proxymc.s3 import DETAILS, unknown_access_key
from s3_sync.proxymc.writes import ObjectWrites
from s3_sync.shunt.listing import ListingSplice
from s3_sync.shunt.profiles import Profiles

ONPREM_LOCATION = 'swift'
CONTAINER_METHODS = ('GET', 'HEAD')
OBJECT_METHODS = ('GET', 'HEAD', 'PUT', 'POST', 'DELETE')


def serve_all(mapping):
    return True


def _text(exc_class, req, message, **kwargs):
    return exc_class(request=req, body=message.encode('utf-8') + b'\n',
                     content_type='text/plain', **kwargs)


def _empty_listing(env, start_response):
    """The on-prem half of a listing held by the cloud alone."""
    start_response('200 OK', [('Content-Type', 'application/json; charset=utf-8'),
                              ('Content-Length', '2')])
    return [b'[]']


class ProxyMC:
    # Swift's info lookups (get_container_info, run by middlewares) read these of the app
    # they are given; proxymc is no proxy server: never skip a cached entry.
    account_existence_skip_cache = 0.0
    container_existence_skip_cache = 0.0

    def __init__(self, profiles, onprem, logger):
        self.profiles = profiles
        self.onprem = onprem
        self.logger = logger
        self.auth = Authorizer(onprem)
        self.reads = ObjectReads(onprem, logger)
        self.writes = ObjectWrites(onprem, logger)
        self.cloud_listing = ListingSplice(_empty_listing, logger)

    @classmethod
    def from_conf(cls, conf, logger, onprem_factory):
        profiles = Profiles(conf['conf_file'], logger, check_interval=conf['reload_interval'],
                            read_timeout=conf['remote_timeout'], select=serve_all,
                            name='proxymc')
        return cls(profiles, onprem_factory(), logger)

    def __call__(self, env, start_response):
        if DETAILS in env:
            self._s3_identity(env)      # may raise s3api's error, for s3api to answer
        req = Request(env)
        try:
            return self._handle(req, env, start_response)
        except HTTPException as err:
            return err(env, start_response)

    def _handle(self, req, env, start_response):
        account, container, obj = self._names(req)
        mapping, in_segments = None, False
        if container is not None:
            self.profiles.reload_if_changed()
            if segments_base(container):
                # an S3 multipart upload's parts: the bucket's mapping, the cloud only
                mapping = self.profiles.lookup(account, segments_base(container))
                in_segments = mapping is not None
            if mapping is None:
                mapping = self.profiles.lookup(account, container)
        # the ACLs of a segments container are its bucket's; its container requests are
        # an upload's steps, writes like the parts
        denied = self.auth.denied(req, account, segments_base(container) if in_segments
                                  else container, mapping is not None,
                                  object_write=obj is not None or in_segments)
        if denied is not None:
            return denied(env, start_response)
        if container is None:
            raise _text(HTTPForbidden, req, 'proxymc serves mapped containers only, not '
                        'account requests')
        if mapping is None:
            raise _text(HTTPForbidden, req, 'container %s/%s is not mapped'
                        % (account, container))
        if DETAILS in env:
            # s3api asks Swift's info lookup whether the bucket (and its segments container)
            # exists: a mapped container does, in this request's own info cache
            infocache = env.setdefault('swift.infocache', {})
            for name in {container, segments_base(container) or container + SUFFIX}:
                infocache.setdefault(get_cache_key(str_to_wsgi(account), str_to_wsgi(name)),
                                     headers_to_container_info({}, 200))
        method = req.method
        if in_segments:
            return self._segments(req, env, start_response, mapping, (account, container, obj))
        allowed = CONTAINER_METHODS if obj is None else OBJECT_METHODS
        if method not in allowed:
            raise _text(HTTPMethodNotAllowed, req, '%s is not supported on this %s' % (
                method, 'container' if obj is None else 'object'),
                headers={'Allow': ', '.join(allowed)})
        provider = self.profiles.provider(mapping, container)
        if obj is None and method == 'HEAD':
            return container_head(self.onprem, env, start_response, provider,
                                  (account, container), self.logger)
        if obj is None:
            if DETAILS in env:
                # s3api reads the JSON listing a proxy server's backend gives, whatever the
                # Accept header: someone above renders it, as with listing_formats
                env['swift.format_listing'] = True
            listing = ListingSplice(OnPremListing(self.onprem, provider), self.logger,
                                    local_location=ONPREM_LOCATION)
            return listing(env, start_response, provider, container)
        target = (account, container, obj)
        if method in ('GET', 'HEAD'):
            return self.reads(env, start_response, mapping, provider, target)
        segments = self.profiles.provider(mapping, container + SUFFIX) \
            if DETAILS in env else None
        return self.writes(env, start_response, mapping, provider, target, segments)

    def _segments(self, req, env, start_response, mapping, target):
        """The segments container of an S3 multipart upload (see ``multipart``): held by the
        cloud alone, created by nothing (its objects' keys are enough)."""
        account, container, obj = target
        if DETAILS not in env and req.method not in ('GET', 'HEAD'):
            # s3api's objects, in the shapes it reads back: no one else writes them
            raise _text(HTTPForbidden, req, 'the segments container of S3 multipart uploads '
                        'is written through the S3 API only')
        if obj is None:
            if req.method in ('PUT', 'HEAD', 'POST'):
                # s3api's info lookup caches this answer, in a memcache the on-prem proxies
                # may share: for one second only, so they never take it for theirs
                status = 201 if req.method == 'PUT' else 204
                return Response(request=req, status=status, headers={
                    'X-Backend-Recheck-Container-Existence': '1'})(env, start_response)
            if req.method != 'GET':
                raise _text(HTTPMethodNotAllowed, req, '%s is not supported on this container'
                            % req.method, headers={'Allow': 'GET, HEAD, PUT'})
            env['swift.format_listing'] = True
            return self.cloud_listing(env, start_response,
                                      self.profiles.provider(mapping, container), container)
        if req.method not in OBJECT_METHODS:
            raise _text(HTTPMethodNotAllowed, req, '%s is not supported on this object'
                        % req.method, headers={'Allow': ', '.join(OBJECT_METHODS)})
        provider = self.profiles.provider(mapping, container)
        if req.method in ('GET', 'HEAD'):
            return self.reads(env, start_response, mapping, provider, target)
        if req.method == 'PUT' and obj.count('/') == 1:
            keep_marker_content_type(env)       # the upload marker: <key>/<upload id>
        return self.writes(env, start_response, mapping, provider, target, in_segments=True)

    @staticmethod
    def _s3_identity(env):
        """An S3 request whose access key the auth middleware did not know: refused as S3
        does (the user's on-prem token comes from the ``proxymc-s3`` filter, see ``s3``)."""
        if unknown_access_key(env):
            raise InvalidAccessKeyId()      # s3api answers it (403 InvalidAccessKeyId)

    @staticmethod
    def _names(req):
        """``(account, container|None, object|None)`` as ``str``; 400/412 as Swift answers a
        path it cannot serve."""
        try:
            version, account, container, obj = split_path(req.path_info, 2, 4, True)
        except ValueError:
            raise _text(HTTPBadRequest, req, 'not a Swift API path')
        if not valid_api_version(version):
            raise _text(HTTPBadRequest, req, 'not a Swift API version: %s'
                        % wsgi_to_str(version))
        names = []
        for name in (account, container, obj):
            if name is None:
                names.append(None)
                continue
            text = wsgi_to_str(name)
            if not check_utf8(text) or RESERVED in text:
                raise _text(HTTPPreconditionFailed, req, 'invalid UTF-8 or contains NULL')
            names.append(text)
        return tuple(names)

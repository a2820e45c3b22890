"""``proxymc-guard`` (``egg:swift-s3-sync#proxymc-guard``): early in proxymc's pipeline, refuses
the bad requests that Swift's own middlewares further down would answer with a 500.

Swift 2.38's ``copy`` middleware fails with a 500 on an ``X-Copy-From``, ``X-Copy-From-Account``,
``Destination`` or ``Destination-Account`` header that is not UTF-8 once percent-decoded, and
``s3api`` (an ``InternalError``) on such an ``X-Amz-Copy-Source``: a client's mistake, which
proxymc answers ``400`` (an S3 ``InvalidArgument`` error document for the S3 header). Place it
before ``s3api`` and ``copy``::

    [pipeline:main]
    pipeline = catch_errors gatekeeper healthcheck proxy-logging proxymc-guard cache
        listing_formats s3api proxymc-s3 tempauth slo copy proxy-logging proxy-server

    [filter:proxymc-guard]
    use = egg:swift-s3-sync#proxymc-guard
"""
from urllib.parse import unquote_to_bytes
from xml.sax.saxutils import escape

from swift.common.swob import HTTPBadRequest, Request, wsgi_to_bytes

# the headers each middleware reads, by method
SWIFT_COPY_HEADERS = {'PUT': ('X-Copy-From', 'X-Copy-From-Account'),
                      'COPY': ('Destination', 'Destination-Account')}
S3_COPY_SOURCE = 'X-Amz-Copy-Source'


def decodes(value):
    """Whether a header value is UTF-8 text once percent-decoded (an S3 copy source's
    ``?versionId=`` included: s3api decodes it too)."""
    try:
        unquote_to_bytes(wsgi_to_bytes(value)).decode('utf-8')
    except UnicodeDecodeError:
        return False
    return True


def s3_invalid_argument(req, name, message):
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidArgument</Code>'
            '<Message>%s</Message><ArgumentName>%s</ArgumentName></Error>'
            % (escape(message), escape(name)))
    return HTTPBadRequest(request=req, body=body.encode('utf-8'), content_type='application/xml')


class ProxyMCGuard:
    def __init__(self, app):
        self.app = app

    def __call__(self, env, start_response):
        req = Request(env)
        for name in SWIFT_COPY_HEADERS.get(req.method, ()):
            value = req.headers.get(name)
            if value is not None and not decodes(value):
                return HTTPBadRequest(
                    request=req, content_type='text/plain',
                    body=('%s: not UTF-8 once percent-decoded\n' % name).encode('ascii'))(
                    env, start_response)
        value = req.headers.get(S3_COPY_SOURCE) if req.method == 'PUT' else None
        if value is not None and not decodes(value):
            return s3_invalid_argument(req, S3_COPY_SOURCE.lower(),
                                       'Copy Source must be UTF-8 once URL-decoded')(
                env, start_response)
        return self.app(env, start_response)


def filter_factory(global_conf, **local_conf):
    return ProxyMCGuard

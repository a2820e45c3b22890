"""A source body read on from where it broke.

A source proxy under load sometimes cuts a GET body partway. Rather than leave the object to
be copied whole again on the next pass, the copy goes on from the byte the body stopped at,
with a ranged GET conditional on the same object (``If-Match`` its ETag); its bytes feed the
same local PUT, so the local object is still written once, whole, and its MD5 checked by the
object server (or the copier). Only objects with an ETag of their content are read on: an SLO
or DLO manifest read as stored has none to hold the source to, so a break there fails the copy.

How often and how long to wait is the provider's retry policy (``s3_sync.retry``); tries count
the breaks at one byte, since a body that keeps moving on is no request failing again. An
object that changed meanwhile (412), or a body that breaks too often, fails the copy as before.
"""
from s3_sync.log import one_line
from s3_sync.migrator.large import CopyFailed
from s3_sync.providers.base import RemoteResponse
from s3_sync.retry import is_retryable


class BodyCutShort(ConnectionError):
    """The source body ended before its Content-Length (the proxy closed the connection)."""


def resumable(provider, name, resp, size, etag, logger=None):
    """``resp`` with a body that reads on after a break; ``resp`` itself where the source
    cannot be held to the same object (no ranged reads, no ETag)."""
    if not (provider.features.ranged_raw_reads and etag and size):
        return resp
    body = ResumingBody(provider, name, resp, size, etag, logger)
    return RemoteResponse(resp.status, resp.headers, body, close=body.close)


class ResumingBody:
    """The body of ``resp`` (a source GET of ``name``, ``size`` bytes with ``etag``), read on
    with ranged GETs after each retryable break."""

    def __init__(self, provider, name, resp, size, etag, logger=None):
        self.provider, self.name, self.size, self.etag = provider, name, size, etag
        self.logger = logger
        self.received = 0       # bytes handed on, from all the GETs together
        self._resp = resp

    def __iter__(self):
        tries = 0
        while True:
            start = self.received
            try:
                for chunk in self._resp.body:
                    self.received += len(chunk)
                    yield chunk
                if self.received >= self.size:
                    return
                raise BodyCutShort('source GET %s ended after %d of %d bytes' % (
                    self.name, self.received, self.size))
            except Exception as exc:
                tries = 1 if self.received > start else tries + 1
                if not is_retryable(exc) or tries >= self.provider.retry.attempts:
                    raise
                if self.logger:
                    self.logger.info('source GET %s broke after %d of %d bytes (%s): reading on',
                                     self.name, self.received, self.size, one_line(exc))
            self.provider.retry.pause(tries)
            self._read_on()

    def _read_on(self):
        self._resp.close()
        resp = self.provider.get_raw(self.name, {
            'range': 'bytes=%d-' % self.received, 'if-match': '"%s"' % self.etag})
        wanted = 'bytes %d-%d/%d' % (self.received, self.size - 1, self.size)
        got = resp.headers.get('content-range')
        if resp.status == 206 and got == wanted:
            self._resp = resp
            return
        resp.close()
        raise CopyFailed('source GET %s from byte %d: %s' % (
            self.name, self.received, '412 (it changed meanwhile)' if resp.status == 412 else
            '%s %s' % (resp.status, got or 'without a Content-Range')))

    def close(self):
        self._resp.close()

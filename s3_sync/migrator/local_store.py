"""The migrator's requests to the local cluster, through InternalClient.

Only what the migrator writes lives here (the sync daemon's reads are ``s3_sync.local``): object
PUTs at the source's timestamp, raw SLO manifests, containers, and the marked-object delete.
Headers go in as real ``str`` and are turned into WSGI strings here (non-ASCII metadata keys and
values are UTF-8 on the wire); headers come back as lower-case ``str``.

Every status the migrator has a rule for is returned, never raised: 201 (written), 404 (the
container is missing), 409 (a newer local version exists, which wins), 422 (the body did not
match its ETag). Anything else is a :class:`LocalError` naming the request.
"""
import json

import eventlet
from swift.common.internal_client import UnexpectedResponse
from swift.common.swob import Request, str_to_wsgi

from s3_sync import local
from s3_sync.local import LocalError, LocalSwift, _lower, close_body
from s3_sync.migrator.headers import CONTAINER_STATE, existing_timestamp, is_marked

POLICY = 'X-Storage-Policy'
# What a PUT may answer that the migrator handles itself.
PUT_STATUSES = (201, 404, 409, 422)
DELETED, KEPT, GONE = 'deleted', 'kept', 'gone'
# A container PUT/POST as the account's owner: Swift keeps ACL headers only from owners.
OWNER = {'swift_owner': True}


def _wsgi(headers):
    return {str_to_wsgi(str(k)): str_to_wsgi(str(v)) for k, v in headers.items()}


def _drain(resp):
    for _chunk in resp.app_iter:
        pass
    close_body(resp.app_iter)


class LocalStore:
    """Writes into the local cluster for the migrator (one InternalClient, shared)."""

    def __init__(self, client):
        self.client = client
        self.objects = LocalSwift(client)

    def _request(self, method, what, path, headers=None, statuses=(2,), body=None,
                 params=None, environ=None):
        """One request through the InternalClient's pipeline. ``environ`` carries what a
        proxy middleware would set: ``swift_owner`` (so ACL headers are kept) and
        ``swift.content_type_overridden`` (a manifest's ``swift_bytes``), which
        ``make_request`` cannot pass, hence our own Request."""
        headers = _wsgi(headers or {})
        headers['User-Agent'] = self.client.user_agent
        env = {'REQUEST_METHOD': method}
        env.update(environ or {})
        req = Request.blank(path, environ=env, headers=headers)
        if body is not None:
            req.body_file = body
        if params:
            req.params = params
        # Its own green thread, as InternalClient does, so the pipeline's corolocals
        # (logging's transaction id) stay its own.
        resp = eventlet.spawn(req.get_response, self.client.app).wait()
        if resp.status_int in statuses or resp.status_int // 100 in statuses:
            return resp
        _drain(resp)
        raise LocalError('local %s %s: %s' % (method, what, resp.status))

    # -- the account -----------------------------------------------------------
    def account_headers(self, account):
        resp = self._request('HEAD', '/%s' % account, self.client.make_path(account),
                             statuses=(2, 404), environ=OWNER)
        _drain(resp)
        return None if resp.status_int == 404 else _lower(resp.headers)

    def post_account(self, account, headers):
        resp = self._request('POST', '/%s' % account, self.client.make_path(account),
                             headers, environ=OWNER)
        _drain(resp)

    # -- containers ---------------------------------------------------------
    def container_headers(self, account, container):
        """Lower-case headers of the local container, or None when it does not exist."""
        resp = self._request('HEAD', '/%s/%s' % (account, container),
                             self.client.make_path(account, container), statuses=(2, 404))
        _drain(resp)
        return None if resp.status_int == 404 else _lower(resp.headers)

    def create_container(self, account, container, headers, policy=None):
        """PUT the container with the migrator's state ``migrating`` (and ``headers``: the
        source's metadata and ACLs). Creating an existing one only updates its metadata."""
        headers = dict(headers)
        headers[CONTAINER_STATE] = headers.get(CONTAINER_STATE, 'migrating')
        if policy:
            headers[POLICY] = policy
        resp = self._request('PUT', '/%s/%s' % (account, container),
                             self.client.make_path(account, container), headers,
                             environ=OWNER)
        _drain(resp)

    def post_container(self, account, container, headers):
        resp = self._request('POST', '/%s/%s' % (account, container),
                             self.client.make_path(account, container), headers,
                             environ=OWNER)
        _drain(resp)

    def containers(self, account):
        """The account's containers (listing dicts), paged lazily; none when it is missing."""
        try:
            yield from self.client.iter_containers(account)
        except UnexpectedResponse as exc:
            raise LocalError('local listing /%s: %s' % (account, exc.resp.status)) from None

    def delete_container(self, account, container):
        """True when deleted (or gone), False when it still holds objects (409)."""
        resp = self._request('DELETE', '/%s/%s' % (account, container),
                             self.client.make_path(account, container), statuses=(2, 404, 409))
        _drain(resp)
        return resp.status_int != 409

    def listing(self, account, container, marker='', prefix='', end_marker=''):
        """The local listing after ``marker`` and before ``end_marker`` (listing dicts, name
        order), paged lazily; empty when the container does not exist. Reserved
        (null-namespace) names are left out: they are Swift's own."""
        try:
            for entry in self.client.iter_objects(account, container, marker=marker,
                                                  end_marker=end_marker, prefix=prefix):
                if not entry['name'].startswith('\x00'):
                    yield entry
        except UnexpectedResponse as exc:
            raise LocalError('local listing /%s/%s: %s' % (
                account, container, exc.resp.status)) from None

    # -- objects --------------------------------------------------------------
    def put(self, account, container, name, headers, body, size, params=None, environ=None):
        """PUT ``size`` bytes read from the file-like ``body``; the status (PUT_STATUSES)."""
        headers = dict(headers, **{'Content-Length': str(size)})
        resp = self._request('PUT', '/%s/%s/%s' % (account, container, name),
                             self.client.make_path(account, container, name), headers,
                             PUT_STATUSES, body=body, params=params, environ=environ)
        _drain(resp)
        return resp.status_int

    def put_manifest(self, account, container, name, headers, segments, params=None):
        """PUT an SLO manifest in Swift's stored form (``segments``: ``name`` as
        ``/container/object``, ``hash``, ``bytes``, and optional ``range``), with the sysmeta
        the SLO middleware would set, so the pipeline needs no SLO middleware. The status."""
        from s3_sync.migrator.large import slo_put_headers
        body = json.dumps(segments).encode('utf-8')
        headers = dict(headers)
        headers.update(slo_put_headers(segments, body, headers.get('content-type')))
        headers.pop('content-type', None)
        return self.put(account, container, name, headers, _Bytes(body), len(body), params,
                        environ={'swift.content_type_overridden': True})

    def head(self, account, container, name):
        """Lower-case headers of the object as stored (a manifest, not its content), or None
        when it is not there."""
        resp = self._request('HEAD', '/%s/%s/%s' % (account, container, name),
                             self.client.make_path(account, container, name),
                             statuses=(2, 404), params={'multipart-manifest': 'get'})
        _drain(resp)
        return None if resp.status_int == 404 else _lower(resp.headers)

    def get_manifest(self, account, container, name):
        """The stored SLO manifest (a list) of a local object, or None."""
        resp = self._request('GET', '/%s/%s/%s' % (account, container, name),
                             self.client.make_path(account, container, name),
                             statuses=(2, 404), params={'multipart-manifest': 'get'})
        try:
            if resp.status_int == 404:
                return None
            if not _lower(resp.headers).get('x-static-large-object'):
                return None
            return json.loads(b''.join(resp.app_iter))
        except ValueError:
            return None
        finally:
            close_body(resp.app_iter)

    def delete_marked(self, account, container, name):
        """Delete the object if it still carries the migrator's mark: DELETED, KEPT (a client
        wrote it: it has no mark, or a client wrote again meanwhile) or GONE.

        The delete is the archiver's fenced delete (``LocalSwift.delete_if_unchanged``), timed
        just after the marked version, so a client PUT, POST or DELETE racing it wins."""
        headers = self.head(account, container, name)
        if headers is None:
            return GONE
        if not is_marked(headers):
            return KEPT
        found = self.objects.delete_if_unchanged(account, container, name,
                                                 existing_timestamp(headers))
        return {local.DELETED: DELETED, local.KEPT: KEPT}.get(found, GONE)

    def delete(self, account, container, name):
        """Delete one object we made (a segment of ours); gone already is fine."""
        resp = self._request('DELETE', '/%s/%s/%s' % (account, container, name),
                             self.client.make_path(account, container, name),
                             statuses=(2, 404, 409))
        _drain(resp)


class _Bytes:
    """A small in-memory body as a file-like without ``seek`` (InternalClient rewinds
    bodies that have one, and ours are streams)."""

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def read(self, size=-1):
        if size is None or size < 0:
            size = len(self.data) - self.pos
        chunk = self.data[self.pos:self.pos + size]
        self.pos += len(chunk)
        return chunk

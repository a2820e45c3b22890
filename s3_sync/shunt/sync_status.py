"""Per-object sync status through the Swift API, on request only.

A HEAD of an object of a mapped container (any mapping, not only the shunted ones) that asks —
``?sync-status`` in the query or an ``X-Cloud-Sync-Status: check`` request header — gets its
usual answer plus:

- ``X-Cloud-Sync-Status``: ``synced`` (the remote copy has the local ETag — for an SLO, its
  total size — and the propagated metadata), ``pending`` (not on the remote yet, or not the
  same), ``failed`` (pending, and a node's daemon reports its last attempt failed),
  ``archived`` (only on the remote: served from there), ``not-found``, ``not-mapped``, or
  ``unknown`` (the remote did not answer);
- ``X-Cloud-Sync-Status-Detail``: one line saying why (what differs, the daemon's last error
  and attempts);
- ``X-Cloud-Sync-Remote-Etag`` when the remote has a copy.

Cost, only when asked: one remote HEAD (an archived object: the shunt's own remote HEAD); for
an object not in sync, one listing and one GET per node of the node reports the daemons publish
(``.s3_sync/node-status``, :mod:`s3_sync.status.cluster`), to tell failed from pending. The
local HEAD runs first, through Swift's auth: a client that may not read the object learns
nothing more.
"""
import json
import urllib.parse

from swift.common.swob import Request, wsgi_to_str
from swift.common.utils import split_path
from swift.common.wsgi import WSGIContext

from s3_sync import metadata
from s3_sync.providers.base import RemoteError
from s3_sync.status import ACCOUNT, STATUS_CONTAINER

ASK_HEADER = 'HTTP_X_CLOUD_SYNC_STATUS'
ASK_QUERY = 'sync-status'
STATUS = 'X-Cloud-Sync-Status'
DETAIL = 'X-Cloud-Sync-Status-Detail'
REMOTE_ETAG = 'X-Cloud-Sync-Remote-Etag'
REPORTS_PATH = '/v1/%s/%s' % (ACCOUNT, STATUS_CONTAINER)


def asked(env):
    if env.get('REQUEST_METHOD') != 'HEAD':
        return False
    if env.get(ASK_HEADER, '').lower() == 'check':
        return True
    return ASK_QUERY in urllib.parse.parse_qs(env.get('QUERY_STRING', ''),
                                              keep_blank_values=True)


def object_target(env):
    try:
        _version, account, container, obj = split_path(env.get('PATH_INFO', ''), 4, 4, True)
    except ValueError:
        return None
    return wsgi_to_str(account), wsgi_to_str(container), wsgi_to_str(obj)


def compare(local, remote):
    """Why the remote copy is not the local object's, or None when it is."""
    if remote is None:
        return 'not on the remote yet'
    size = int(local.get('content-length', -1))
    if remote.size != size:
        return 'remote size %d, local %d' % (remote.size, size)
    slo = local.get('x-static-large-object', '').lower() in ('true', '1', 'yes')
    etag = local.get('etag', '').strip('"')
    if not slo and remote.etag != etag:
        return 'remote ETag %s, local %s' % (remote.etag, etag)
    if not metadata.metadata_matches(local, remote.headers or {}):
        return 'remote metadata differ'
    return None


class SyncStatus:
    def __init__(self, app, profiles, logger):
        self.app = app
        self.profiles = profiles
        self.logger = logger

    def __call__(self, env, start_response, fallback):
        """``fallback(env, start_response, mapping, provider, target)`` serves a local 404 as
        the shunt does (archived objects)."""
        target = object_target(env)
        self.profiles.reload_if_changed()
        mapping = target and self.profiles.lookup(target[0], target[1], active_only=False)
        if mapping is None:
            return self._tagged(env, start_response, self.app, 'not-mapped')
        provider = self.profiles.provider(mapping, target[1])
        ctx = WSGIContext(self.app)
        body = ctx._app_call(dict(env))
        status = ctx._get_status_int()
        headers = ctx._response_headers
        if status == 404 and mapping.shunted:
            list(body)
            return self._tagged(env, start_response, lambda e, s: fallback(
                e, s, mapping, provider, target), None)
        extra = []
        if status // 100 == 2:
            extra = self._judge(provider, target, {k.lower(): v for k, v in headers})
        elif status == 404:
            extra = [(STATUS, 'not-found')]
        start_response(ctx._response_status, headers + extra, ctx._response_exc_info)
        return body

    def _tagged(self, env, start_response, app, state):
        """``app``'s answer with the status header: ``state``, or for a fallback answer
        ``archived`` when it is 2xx and ``not-found`` otherwise."""
        def tagging(status, headers, exc_info=None):
            found = state or ('archived' if status.startswith('2') else 'not-found')
            return start_response(status, list(headers) + [(STATUS, found)], exc_info)
        return app(env, tagging)

    def _judge(self, provider, target, local):
        name = target[2]
        try:
            remote = provider.head_object(name)
        except RemoteError as exc:
            return [(STATUS, 'unknown'), (DETAIL, 'remote HEAD failed: %s' % exc.message)]
        out = [(REMOTE_ETAG, remote.etag)] if remote is not None else []
        why = compare(local, remote)
        if why is None:
            return out + [(STATUS, 'synced')]
        failure = self._failure(target)
        if failure:
            return out + [(STATUS, 'failed'), (DETAIL, '%s; %s' % (why, failure))]
        return out + [(STATUS, 'pending'), (DETAIL, why)]

    def _failure(self, target):
        """The daemons' last error for this object, from the node reports; None if none."""
        account, container, name = target
        for report in self._reports():
            for c in report.get('containers', []):
                if c.get('account') != account or c.get('container') != container:
                    continue
                for row in c.get('failed_rows', []):
                    if row.get('name') == name:
                        return 'last error on %s: %s (%d attempts)' % (
                            report.get('node'), row.get('error'), row.get('attempts', 0))
        return None

    def _get(self, path):
        req = Request.blank(path, environ={'REQUEST_METHOD': 'GET',
                                           'swift.source': 'cloud-shunt'})
        resp = req.get_response(self.app)
        return resp.status_int, resp.body

    def _reports(self):
        try:
            status, body = self._get(REPORTS_PATH + '?format=json')
            if status != 200:
                return []
            names = [o['name'] for o in json.loads(body)]
        except (ValueError, KeyError, TypeError):
            return []
        reports = []
        for name in names:
            status, body = self._get('%s/%s' % (REPORTS_PATH, urllib.parse.quote(name)))
            if status == 200:
                try:
                    reports.append(json.loads(body))
                except ValueError:
                    continue
        return reports

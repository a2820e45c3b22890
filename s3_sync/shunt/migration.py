"""The cloud-shunt for containers being migrated (``migrations[]``, behaviour 6.5): clients use
the new cluster from day one while ``swift-s3-migrator`` copies the data in.

* Object GET/HEAD that Swift answers 404: served from the source (``objects``); a full GET also
  restores the object (``restore_object``, on by default for migrations) at the source's
  timestamp and with the migrator's mark, exactly as the migrator would have copied it, so a
  later delete at the source removes it and a client write since wins.
* Container GET: the local listing spliced with the source's (``listing``).
* Container GET/HEAD/PUT-object on a container that exists only at the source: the local
  container is created first from the source's settings (metadata, ACLs) with the migrator's
  state ``migrating``, then Swift answers.
* Container POST: Swift's, and the container's migrator state becomes ``modified``, so the
  migrator no longer overwrites the settings a client chose.
* Object POST of an object not yet migrated (local 404): the source object gets the metadata
  (conditional on its ETag), 202.
* Object DELETE: Swift's; for a Swift source the DELETE also goes to the source (so the object
  does not come back with the next pass); an S3 source is not written to (the local tombstone,
  newer than the source's copy, keeps the migrator from copying it again, and hides it from
  reads).

As for archive mappings, the source is consulted only after Swift answered (authorization first).
"""
import json

from swift.common.constraints import valid_api_version
from swift.proxy.controllers.base import get_container_info
from swift.common.swob import (HTTPAccepted, HTTPNoContent, HTTPNotFound, Request, str_to_wsgi,
                               wsgi_to_str)
from swift.common.utils import Timestamp, close_if_possible, split_path
from swift.common.wsgi import WSGIContext, make_pre_authed_request

from s3_sync.config.model import ACCOUNT_LEVEL
from s3_sync.lru import LRU
from s3_sync.migrator.container_pass import container_settings
from s3_sync.migrator.headers import CONTAINER_STATE, MIGRATOR_TAG, MODIFIED, header_time
from s3_sync.providers.base import RemoteError
from s3_sync.shunt.headers import local_id_headers, read_locally
from s3_sync.shunt.objects import ObjectFallback, bad_gateway

SWIFT_SOURCE = 'CSM'
MAX_SOURCES = 1000
_TAG_ENV = 'HTTP_' + MIGRATOR_TAG.upper().replace('-', '_')


class MarkRestores:
    """WSGI wrapper for the restore PUTs of migrated objects: they carry the migrator's mark,
    like the migrator's own copies (the shunt's restore writer sets only the usual headers)."""

    def __init__(self, app):
        self.app = app

    def __call__(self, env, start_response):
        if env.get('REQUEST_METHOD') == 'PUT' and env.get('HTTP_X_TIMESTAMP'):
            env[_TAG_ENV] = env['HTTP_X_TIMESTAMP']
        return self.app(env, start_response)


class MigrationObjects(ObjectFallback):
    """Read-through whose restore writes at the source's timestamp."""

    def _restoring_body(self, req, mapping, provider, remote, manifest, target, timestamp):
        when = header_time(remote.headers)
        if when:
            timestamp = Timestamp(when).internal
        return super()._restoring_body(req, mapping, provider, remote, manifest, target,
                                       timestamp)


class MigrationShunt:
    """Requests for migrated containers; ``target(env)`` says whether a request is one."""

    def __init__(self, app, profiles, listing, logger=None):
        self.app = app
        self.profiles = profiles
        self.listing = listing
        self.logger = logger
        self.objects = MigrationObjects(MarkRestores(app), logger)
        self._sources = LRU(MAX_SOURCES)

    def target(self, env):
        """``(migration, account, container, object|None)`` (str names), or None. The
        caller has checked the bypass header and reloaded the config."""
        migrations = self.profiles.migrations
        if not migrations:
            return None
        try:
            version, account, container, obj = split_path(env.get('PATH_INFO', ''), 1, 4, True)
        except ValueError:
            return None
        if not valid_api_version(version):
            return None
        account = wsgi_to_str(account)
        if not container:
            # the account listing of a "/*" migration shows the source's containers too
            migration = migrations.get((account, '/*'))
            if migration is None or env.get('REQUEST_METHOD') != 'GET':
                return None
            return migration, account, None, None
        container = wsgi_to_str(container)
        migration = migrations.get((account, container)) or migrations.get((account, '/*'))
        if migration is None:
            return None
        if obj is not None and any(q in env.get('QUERY_STRING', '')
                                   for q in ('version-id=', 'versions')):
            return None
        return migration, account, container, (wsgi_to_str(obj) if obj is not None else None)

    def provider(self, migration, container):
        bucket = container if migration.all_buckets else migration.aws_bucket
        if bucket is None:
            bucket = container = ACCOUNT_LEVEL
        mapping = self._sources.get_or_create((migration, container),
                                              lambda: migration.source(bucket))
        return self.profiles.provider(mapping, container)

    def __call__(self, env, start_response, migration, account, container, obj):
        method = env['REQUEST_METHOD']
        provider = self.provider(migration, container)
        try:
            if container is None:
                return self._account(env, start_response, provider)
            if obj is None:
                return self._container(env, start_response, migration, provider, account,
                                       container)
            if method in ('GET', 'HEAD'):
                return self._read(env, start_response, migration, provider,
                                  (account, container, obj))
            if method == 'PUT':
                self._ensure_container(env, migration, provider, account, container)
                return self.app(env, start_response)
            if method in ('POST', 'DELETE'):
                return self._write(env, start_response, migration, provider,
                                   (account, container, obj))
        except RemoteError as err:
            req = Request(env)
            return bad_gateway(req, err, self.logger, (account, container, obj or ''))(
                env, start_response)
        return self.app(env, start_response)

    # -- the account (``"/*"``) -------------------------------------------------------
    def _account(self, env, start_response, provider):
        """The local account listing spliced with the source's containers (behaviour 6.6):
        JSON below ``listing_formats`` (which renders the client's format); a local answer
        other than a JSON 200 is returned as it came."""
        req = Request(env)
        if not env.get('swift.format_listing') or 'prefix' in req.params and \
                'delimiter' in req.params:
            return self.app(env, start_response)
        status, headers, body = req.call_application(self.app)
        ctype = dict((k.lower(), v) for k, v in headers).get('content-type', '')
        if not status.startswith('200') or not ctype.startswith('application/json'):
            start_response(status, headers)
            return body
        local = json.loads(b''.join(body))
        close_if_possible(body)
        limit = min(int(req.params.get('limit') or 10000), 10000)
        marker = wsgi_to_str(req.params.get('marker', ''))
        end_marker = wsgi_to_str(req.params.get('end_marker', ''))
        prefix = wsgi_to_str(req.params.get('prefix', ''))
        source = [c for c in provider.list_containers(marker=marker, limit=limit,
                                                      prefix=prefix)
                  if not end_marker or c['name'] < end_marker]
        merged = {c['name']: c for c in source}
        merged.update({c['name']: c for c in local})
        names = sorted(merged, reverse=bool(req.params.get('reverse')))[:limit]
        out = json.dumps([merged[n] for n in names]).encode('utf-8')
        kept = [(k, v) for k, v in headers if k.lower() not in ('content-length',)]
        start_response(status, kept + [('Content-Length', str(len(out)))])
        return [out]

    # -- containers ---------------------------------------------------------------
    def _container(self, env, start_response, migration, provider, account, container):
        method = env['REQUEST_METHOD']
        if method in ('GET', 'HEAD'):
            self._ensure_container(env, migration, provider, account, container)
            if method == 'GET':
                return self.listing(env, start_response, provider, container)
        elif method == 'POST':
            env['HTTP_' + CONTAINER_STATE.upper().replace('-', '_')] = MODIFIED
        return self.app(env, start_response)

    def _ensure_container(self, env, migration, provider, account, container):
        """Create the local container from the source's when only the source has it."""
        info = get_container_info(env, self.app, swift_source=SWIFT_SOURCE)
        if info.get('status') not in (404, 410):
            return
        source = provider.container_headers()
        if source is None:
            return
        headers = container_settings(source)
        headers[CONTAINER_STATE] = 'migrating'
        if migration.storage_policy:
            headers['X-Storage-Policy'] = migration.storage_policy
        headers = {str_to_wsgi(k): str_to_wsgi(v) for k, v in headers.items()}
        req = make_pre_authed_request(
            env, 'PUT', '/v1/%s/%s' % (str_to_wsgi(account), str_to_wsgi(container)),
            headers=headers, swift_source=SWIFT_SOURCE)
        req.environ['swift_owner'] = True
        resp = req.get_response(self.app)
        close_if_possible(resp.app_iter)
        if self.logger and resp.status_int // 100 == 2:
            self.logger.info('cloud-shunt: created /%s/%s from the migration source',
                             account, container)

    # -- objects ------------------------------------------------------------------
    def _read(self, env, start_response, migration, provider, target):
        body, local = read_locally(self.app, env, start_response)
        if local is None:
            return body
        mapping = self._sources.get((migration, target[1]))
        if mapping.restore_object and env['REQUEST_METHOD'] == 'GET':
            # the restore needs the container here
            self._ensure_container(env, migration, provider, *target[:2])
        resp = self.objects(Request(env), mapping, provider, target, local)
        return resp(env, start_response)

    def _write(self, env, start_response, migration, provider, target):
        ctx = WSGIContext(self.app)
        body = ctx._app_call(dict(env))
        status = ctx._get_status_int()
        method = env['REQUEST_METHOD']
        name = target[2]
        swift_source = provider.features.container_metadata     # a Swift source
        if method == 'DELETE' and swift_source and status // 100 == 2:
            provider.delete_objects([name])
        if status != 404 or (method == 'DELETE' and not swift_source):
            start_response(ctx._response_status, ctx._response_headers,
                           ctx._response_exc_info)
            return body
        close_if_possible(body)
        req = Request(env)
        ids = dict(local_id_headers(ctx._response_headers))
        remote = provider.head_object(name)
        if remote is None:
            return HTTPNotFound(request=req, headers=ids)(env, start_response)
        if method == 'DELETE':
            provider.delete_objects([name])
            return HTTPNoContent(request=req, headers=ids)(env, start_response)
        if not provider.update_metadata(name, post_metadata(req, remote), remote.etag):
            return HTTPNotFound(request=req, headers=ids)(env, start_response)
        return HTTPAccepted(request=req, headers=ids)(env, start_response)


def post_metadata(req, remote):
    """The source object's headers after this POST, with Swift's semantics: user metadata and
    Content-Encoding/-Disposition replaced, Content-Type kept unless given."""
    meta = {}
    for key, value in req.headers.items():
        key = key.lower()
        if value and (key.startswith('x-object-meta-') or key in (
                'content-type', 'content-encoding', 'content-disposition')):
            meta[key] = wsgi_to_str(value)
    if 'content-type' not in meta and remote.headers.get('content-type'):
        meta['content-type'] = remote.headers['content-type']
    return meta

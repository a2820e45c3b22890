"""Dispatch: which requests the shunt looks at, and the one rule that keeps it safe.

Shunted: object GET/HEAD (answered from the remote when Swift says 404), container GET
(listings spliced), and, for archive mappings, object DELETE and POST (which reach the archived
copy, see ``writes``). Everything else, every container without an active mapping, and any
request carrying ``X-Cloud-Sync-Shunt-Bypass`` goes straight on; for those the cost is a method
check, a path split and a dict lookup.

A HEAD that asks for it (``?sync-status`` or ``X-Cloud-Sync-Status: check``) also gets the
object's sync status (``sync_status``), for any mapping.

Safety: the shunt sits after the auth middleware, and the remote is used only after the
local request came back 404 (objects), 2xx (deletes) or 200 (listings); an object this proxy
lately served from the remote, or lately listed on the remote side alone, has its remote read
started alongside the local one (``early``), for an authenticated client, but only a local 404
lets its answer out. Swift decides
authorization before it looks for the object, so a client that may not read or write the
container gets its 401/403 unchanged and nothing from the remote.
"""
from swift.common.constraints import valid_api_version
from swift.common.swob import Request, wsgi_to_str
from swift.common.utils import config_true_value, get_logger, split_path

from s3_sync.shunt.early import EarlyRead, RecentlyRemote
from s3_sync.shunt.headers import read_locally
from s3_sync.shunt.listing import ListingSplice
from s3_sync.config import DEFAULT_PATH
from s3_sync.shunt.objects import ObjectFallback, first_read, restores
from s3_sync.shunt.profiles import DEFAULT_CHECK_INTERVAL, DEFAULT_READ_TIMEOUT, Profiles
from s3_sync.shunt.sync_status import SyncStatus, asked
from s3_sync.shunt.writes import ArchiveWrites

BYPASS_ENV = 'HTTP_X_CLOUD_SYNC_SHUNT_BYPASS'
# Requests for one specific version of an object: a local 404 there says nothing about the
# archived (current) copy.
PASSED_QUERIES = ('version-id=', 'versions')
READS = ('GET', 'HEAD')
WRITES = ('DELETE', 'POST')     # archive mappings only


def authenticated(env):
    """Whether the auth middleware knew the client's credential (tempauth sets REMOTE_USER,
    Keystone's authtoken the identity status): an early remote read (``early``) is started
    for no anonymous or bogus client, though Swift still decides what it may read."""
    return bool(env.get('REMOTE_USER')) or env.get('HTTP_X_IDENTITY_STATUS') == 'Confirmed'


class CloudShunt:
    def __init__(self, app, conf, logger=None):
        self.app = app
        self.logger = logger or get_logger(conf, log_route='cloud-shunt')
        self.profiles = Profiles(
            conf.get('conf_file') or DEFAULT_PATH, self.logger,
            check_interval=float(conf.get('reload_interval', DEFAULT_CHECK_INTERVAL)),
            read_timeout=float(conf.get('remote_timeout', DEFAULT_READ_TIMEOUT)))
        if config_true_value(conf.get('handle_proxyfs', 'false')):
            self.logger.warning('cloud-shunt: handle_proxyfs is not applied by this version '
                                '(ProxyFS accounts are not supported)')
        self.objects = ObjectFallback(app, self.logger)
        self.recently_remote = RecentlyRemote()
        # names a spliced listing lately showed on the remote side alone: a client that lists
        # then reads gets its first reads early too (kept apart, so a big listing never
        # pushes out the objects actually read)
        self.listed_remote = RecentlyRemote()
        self.listing = ListingSplice(app, self.logger)
        self.writes = ArchiveWrites(app, self.logger)
        self.sync_status = SyncStatus(app, self.profiles, self.logger)
        self._migrations = None

    def __call__(self, env, start_response):
        if asked(env) and not env.get(BYPASS_ENV):
            return self.sync_status(env, start_response, self._object)
        if not env.get(BYPASS_ENV):
            self.profiles.reload_if_changed()
            if self.profiles.migrations:
                migrated = self.migrations.target(env)
                if migrated is not None:
                    return self.migrations(env, start_response, *migrated)
        target = self._target(env)
        if target is None:
            return self.app(env, start_response)
        mapping, account, container, obj = target
        provider = self.profiles.provider(mapping, container)
        if obj is None:
            return self.listing(env, start_response, provider, container,
                                self._listed(env, mapping, account, container))
        if env['REQUEST_METHOD'] in WRITES:
            return self.writes(env, start_response, mapping, provider, (account, container, obj))
        return self._object(env, start_response, mapping, provider, (account, container, obj))

    def _target(self, env):
        """``(mapping, account, container, object|None)`` (``str`` names) for a request the
        shunt handles, else None."""
        method = env.get('REQUEST_METHOD')
        if method not in READS + WRITES or env.get(BYPASS_ENV):
            return None
        self.profiles.reload_if_changed()
        if not self.profiles.mappings:
            return None
        try:
            version, account, container, obj = split_path(env.get('PATH_INFO', ''), 1, 4, True)
        except ValueError:
            return None
        if not container or not valid_api_version(version):
            return None
        if obj is None and method != 'GET':
            return None     # container HEAD: the counts are local, as in the original
        if any(q in env.get('QUERY_STRING', '') for q in PASSED_QUERIES) and obj is not None:
            return None
        account, container = wsgi_to_str(account), wsgi_to_str(container)
        mapping = self.profiles.lookup(account, container)
        if mapping is None or (method in WRITES and not mapping.archive):
            return None
        return mapping, account, container, (wsgi_to_str(obj) if obj is not None else None)

    def _listed(self, env, mapping, account, container):
        """What remembers the remote-only names of a listing, or None: not for anonymous
        clients (they read nothing early) nor restoring mappings (their next read is local)."""
        if not authenticated(env) or mapping.restore_object:
            return None

        def remember(names):
            for name in names:
                self.listed_remote.remember((account, container, name))
        return remember

    def _object(self, env, start_response, mapping, provider, target):
        req = Request(env)
        early = None
        if authenticated(env) and (target in self.recently_remote or
                                   target in self.listed_remote):
            early = EarlyRead(first_read(req, provider, target[2]))
        try:
            body, local = read_locally(self.app, env, start_response)
        except BaseException:
            if early is not None:
                early.discard()
            raise
        if local is None:
            if early is not None:
                early.discard()
                self._forget(target)
            return body
        resp = self.objects(req, mapping, provider, target, local, early)
        if resp.status_int // 100 == 2 and not restores(req, mapping):
            self.recently_remote.remember(target)
        elif early is not None:
            self._forget(target)
        return resp(env, start_response)

    def _forget(self, target):
        self.recently_remote.forget(target)
        self.listed_remote.forget(target)

    @property
    def migrations(self):
        """The shunt for ``migrations[]``, built (and its modules imported) only once the
        config has a migration: a proxy without one never loads the migrator."""
        if self._migrations is None:
            from s3_sync.shunt.migration import MigrationShunt
            self._migrations = MigrationShunt(self.app, self.profiles, self.listing,
                                              self.logger)
        return self._migrations

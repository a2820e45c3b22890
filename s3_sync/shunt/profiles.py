"""Which containers the shunt serves, from the one ``sync.json``, kept fresh while the proxy runs.

The shunt is in every request's path, so the common case (a container with no mapping) must cost
one dict lookup. The config is therefore turned into ``{(account, container): mapping}`` once per
change of the file, not per request, and the file is looked at (one ``stat``) at most every
``check_interval`` seconds.

A mapping is *active* (shunted) when it archives (``retain_local: false``: the local copy goes
away, so reads must reach the remote) or when it asks for one namespace
(``merge_namespaces: true``). Other mappings are the sync daemon's business only.

A bad or missing file never takes the shunt down: the last good config stays in force (or none,
at start-up) and one log line says why. The same bad file is not reported again every interval,
only when it changes.

Providers are made lazily, one per (mapping, real container), and reused: an S3 provider holds a
connection pool, and re-creating it per request would cost a TLS handshake each time.
"""
import dataclasses
import os
import time

from s3_sync.config import ALL_CONTAINERS, DEFAULT_PATH, ConfigError, load_config
from s3_sync.lru import LRU
from s3_sync.retry import CLIENT_POLICY
from s3_sync.providers import create_provider

DEFAULT_CHECK_INTERVAL = 5.0
# A client waits on every remote request the shunt makes: connect and read give up sooner than
# the daemon's remote_timeout (a mapping's smaller value still wins).
DEFAULT_READ_TIMEOUT = 10.0
MAX_PROVIDERS = 1000        # "/*" mappings can name many containers: bound the cache


def is_shunted(mapping):
    return mapping.shunted


def index_mappings(config, select=is_shunted):
    """``{(account, container): mapping}`` for the ``select``-ed mappings (the shunt's: the
    active ones); the first one wins when two name the same container (the daemon syncs both,
    but a read can come from only one)."""
    index = {}
    for mapping in config.containers:
        if select(mapping):
            index.setdefault((mapping.account, mapping.container), mapping)
    return index


def index_migrations(config):
    """``{(account, container): migration}`` (``"/*"`` migrations under ``(account, "/*")``):
    containers being migrated, which the shunt serves as ``shunt.migration`` says."""
    index = {}
    for migration in config.migrations:
        index.setdefault((migration.account, migration.container), migration)
    return index


def _file_signature(path):
    """What changes when the file is rewritten (in place or by rename), or None if missing."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class Profiles:
    """The active mappings of one config file, reloaded when the file changes.

    ``select`` picks the mappings served (the shunt's active ones by default; proxymc serves
    them all); ``name`` starts the log lines."""

    def __init__(self, conf_file=DEFAULT_PATH, logger=None,
                 check_interval=DEFAULT_CHECK_INTERVAL, clock=time.time,
                 provider_factory=create_provider, read_timeout=DEFAULT_READ_TIMEOUT,
                 select=is_shunted, name='cloud-shunt'):
        self.conf_file = conf_file
        self.select = select
        self.name = name
        self.read_timeout = read_timeout
        self.logger = logger
        self.check_interval = check_interval
        self.clock = clock
        self.provider_factory = provider_factory
        self.mappings = {}
        self.migrations = {}
        self._signature = object()   # differs from any real signature: load on first check
        self._next_check = 0.0
        self._providers = LRU(MAX_PROVIDERS)
        self.reload_if_changed(force=True)

    # -- config -------------------------------------------------------------
    def reload_if_changed(self, force=False):
        now = self.clock()
        if not force and now < self._next_check:
            return
        self._next_check = now + self.check_interval
        signature = _file_signature(self.conf_file)
        if signature == self._signature:
            return
        self._signature = signature
        try:
            config = load_config(self.conf_file, for_daemon=False)
        except ConfigError as err:
            # ConfigError is one line naming the file and key, never a value (no secret).
            self._log('error', '%s: keeping %d previous mapping(s): %s',
                      self.name, len(self.mappings), err)
            return
        for warning in config.warnings:
            self._log('warning', '%s: %s: %s', self.name, self.conf_file, warning)
        self.mappings = index_mappings(config, self.select)
        self.migrations = index_migrations(config)
        # Old providers are dropped, not closed: a request still streaming from one must be
        # able to finish.
        self._providers = LRU(MAX_PROVIDERS)
        self._log('info', '%s: loaded %s: %d active mapping(s), %d migration(s)',
                  self.name, self.conf_file, len(self.mappings), len(self.migrations))

    def _log(self, level, fmt, *args):
        if self.logger:
            getattr(self.logger, level)(fmt, *args)

    def lookup(self, account, container):
        """The mapping serving ``account/container`` (``str`` names), or None."""
        mappings = self.mappings
        if not mappings:
            return None
        mapping = mappings.get((account, container))
        if mapping is None:
            mapping = mappings.get((account, ALL_CONTAINERS))
        return mapping

    # -- providers ------------------------------------------------------------
    def provider(self, mapping, container):
        """The (cached) provider of ``mapping`` for the real container ``container``."""
        # Evicted providers are dropped, not closed (see reload_if_changed).
        return self._providers.get_or_create(
            (mapping, container), lambda: self._new_provider(mapping, container))

    def _new_provider(self, mapping, container):
        quick = dataclasses.replace(
            mapping, remote_timeout=min(mapping.remote_timeout, self.read_timeout))
        return self.provider_factory(quick, container=container, logger=self.logger,
                                     retry_policy=CLIENT_POLICY)

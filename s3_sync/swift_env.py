"""Making this process talk to the right Swift cluster.

Swift reads ``swift.conf`` (hash prefix/suffix, storage policies) from module-level state that
defaults to ``/etc/swift``. ``set_swift_dir`` switches the hash path config but not the policies,
and InternalClient calls neither, so a daemon pointed at another ``swift_dir`` would compute wrong
partitions and reject policy names. :func:`setup_swift` is therefore the first thing every process
of ours does (daemon, shunt tests, devenv servers); in production it is a harmless no-op.
"""
import os
import time

from swift.common import storage_policy, utils

USER_AGENT = 'swift-s3-sync'

# The pipeline used when the operator has no internal-client.conf: no auth, no SLO/DLO
# middleware, so manifests are read raw, which is what the sync path needs. No proxy-logging
# either: an access-log line (and a syslog datagram) per object read cost ~0.5 ms of the daemon's
# ~4 ms per 4 KiB object, and the daemon logs what it did with each row itself.
_DEFAULT_PIPELINE = """\
[DEFAULT]
swift_dir = %(swift_dir)s
[pipeline:main]
pipeline = catch_errors cache symlink proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:cache]
use = egg:swift#memcache
[filter:symlink]
use = egg:swift#symlink
"""


def setup_swift(swift_dir='/etc/swift'):
    """Point hash paths and storage policies at ``swift_dir``'s swift.conf."""
    utils.set_swift_dir(swift_dir)
    storage_policy.reload_storage_policies()


def internal_client_conf(conf):
    """The InternalClient config path: the configured one, the cluster's, or a built-in one."""
    if os.path.exists(conf.internal_client_path):
        return conf.internal_client_path
    from swift.common.wsgi import ConfigString
    return ConfigString(_DEFAULT_PIPELINE % {'swift_dir': conf.swift_dir})


def make_internal_client(conf, request_tries=1):
    """An InternalClient for the local cluster.

    One try per request: retries are the crawler's business (the row goes to the pending list
    with the project's backoff), so a sick cluster is not hammered twice over."""
    from swift.common.internal_client import InternalClient
    # log_name names the client's own log lines (internal_client_logname, as the original).
    client = InternalClient(internal_client_conf(conf), USER_AGENT, request_tries,
                            use_replication_network=False,
                            global_conf={'log_name': conf.internal_client_logname})
    client.app = RecentInfo(client.app)
    return client


class RecentInfo:
    """WSGI wrapper: object reads reuse the account/container info of the last few seconds.

    The proxy looks up the container's info (a memcache round trip, or a HEAD when it is not
    cached) for every object GET or HEAD, and every request starts with an empty
    ``swift.infocache``; the daemon reads thousands of objects of a few containers, and that
    lookup cost ~0.3-0.5 ms of the ~5 ms of daemon CPU per 4 KiB object (bench, 2 cores).
    Only object GET/HEAD requests get the kept
    info; only successful lookups are kept, for ``ttl`` seconds (memcache keeps the same info for
    60 s across the cluster anyway); any other request (listings, writes, deletes) empties the
    cache, so nothing this process changes is ever served stale to it. Reads name the storage
    policy explicitly, so the container's policy is not taken from this info."""

    KINDS = ('account/', 'container/')

    def __init__(self, app, ttl=5.0, clock=time.monotonic):
        self.app = app
        self.ttl = ttl
        self.clock = clock
        self._info = {}
        self._expires = 0.0

    def __call__(self, env, start_response):
        if not self._is_object_read(env):
            self._info = {}
            return self.app(env, start_response)
        now = self.clock()
        if now >= self._expires:
            self._info, self._expires = {}, now + self.ttl
        infocache = env.setdefault('swift.infocache', {})
        for key, info in list(self._info.items()):   # a copy: safe even under real threads
            infocache.setdefault(key, info)
        try:
            return self.app(env, start_response)
        finally:
            self._keep(infocache)

    def _keep(self, infocache):
        for key, info in infocache.items():
            if key.startswith(self.KINDS) and isinstance(info, dict) and \
                    200 <= int(info.get('status') or 0) < 300:
                self._info[key] = info

    @staticmethod
    def _is_object_read(env):
        if env.get('REQUEST_METHOD') not in ('GET', 'HEAD'):
            return False
        parts = env.get('PATH_INFO', '').split('/', 4)
        return len(parts) == 5 and all(parts[1:])

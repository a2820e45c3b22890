"""Making this process talk to the right Swift cluster.

Swift reads ``swift.conf`` (hash prefix/suffix, storage policies) from module-level state that
defaults to ``/etc/swift``. ``set_swift_dir`` switches the hash path config but not the policies,
and InternalClient calls neither, so a daemon pointed at another ``swift_dir`` would compute wrong
partitions and reject policy names. :func:`setup_swift` is therefore the first thing every process
of ours does (daemon, shunt tests, devenv servers); in production it is a harmless no-op.
"""
import os

from swift.common import storage_policy, utils

USER_AGENT = 'swift-s3-sync'

# The pipeline used when the operator has no internal-client.conf: no auth, no SLO/DLO
# middleware, so manifests are read raw, which is what the sync path needs.
_DEFAULT_PIPELINE = """\
[DEFAULT]
swift_dir = %(swift_dir)s
[pipeline:main]
pipeline = catch_errors proxy-logging cache symlink proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:proxy-logging]
use = egg:swift#proxy_logging
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
    swift_dir = conf.get('swift_dir', '/etc/swift')
    path = conf.get('internal_client_path') or os.path.join(swift_dir, 'internal-client.conf')
    if os.path.exists(path):
        return path
    from swift.common.wsgi import ConfigString
    return ConfigString(_DEFAULT_PIPELINE % {'swift_dir': swift_dir})


def make_internal_client(conf, request_tries=1):
    """An InternalClient for the local cluster.

    One try per request: retries are the crawler's business (the row goes to the pending list
    with the project's backoff), so a sick cluster is not hammered twice over."""
    from swift.common.internal_client import InternalClient
    return InternalClient(internal_client_conf(conf), USER_AGENT, request_tries,
                          use_replication_network=False)

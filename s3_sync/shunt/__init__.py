"""The ``cloud-shunt`` proxy filter (``egg:swift-s3-sync#cloud-shunt``): one namespace for data
that lives partly in Swift and partly in a remote store.

The sync daemon in archive mode uploads an object, checks it, then deletes the local copy; clients
keep using the Swift API. This filter makes that work, for the containers whose mapping archives
(``retain_local: false``) or asks for it (``merge_namespaces: true``):

* an object GET/HEAD that Swift answers 404 is answered from the remote (Range, conditionals,
  SLOs with their Swift ETag), see ``objects``;
* with ``restore_object`` a full GET also writes the object back into Swift as it streams
  (``restore_expire_days`` makes that copy temporary), see ``restore``;
* a container GET splices the local and remote listings, see ``listing``.

Everything else passes through. Pipeline placement: after auth (the shunt relies on Swift having
authorized the request) and before ``slo``/``dlo``/versioning::

    [pipeline:main]
    pipeline = catch_errors ... tempauth cloud-shunt copy slo dlo ... proxy-server

    [filter:cloud-shunt]
    use = egg:swift-s3-sync#cloud-shunt
    # the one config of swift-s3-sync; re-read when it changes
    conf_file = /etc/swift-s3-sync/sync.json
    # seconds between checks of the file's mtime (default 5)
    reload_interval = 5
    # seconds a remote request may take to connect or to send data before the client gets a
    # 502 (default 10; a mapping's smaller remote_timeout wins)
    remote_timeout = 10

Clients (or operators) can skip the shunt with any non-empty ``X-Cloud-Sync-Shunt-Bypass``.
"""
from swift.common.registry import register_swift_info

from s3_sync import __version__
from s3_sync.shunt.middleware import CloudShunt

__all__ = ['CloudShunt', 'filter_factory']


def filter_factory(global_conf, **local_conf):
    conf = dict(global_conf, **local_conf)
    register_swift_info('cloud_shunt', version=__version__)

    def factory(app):
        return CloudShunt(app, conf)
    return factory

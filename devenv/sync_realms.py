"""The container-sync realm both dev clusters share, so Swift's own container-sync can run.

Swift 2.38 container-sync works only with the realm scheme: with a legacy
``X-Container-Sync-To: http://...`` the receiving proxy authorizes the PUT by sync key
but answers 401 to the HEAD that container-sync sends first, so no row ever syncs. The
realm scheme needs, in every swift_dir, a ``container-sync-realms.conf`` naming the
realm key and each cluster's proxy URL, and the ``container_sync`` middleware (which
checks the ``X-Container-Sync-Auth`` signature) in the receiving proxy before auth.

The file is read by the container servers (to validate ``X-Container-Sync-To`` on a
container PUT/POST), the proxies' ``container_sync`` filter and the container-sync
daemon, each at start-up; afterwards they look at its mtime only every 300 s. So it is
written with the other configs, before any server starts, and when it changes the
servers that read it are restarted (see ``readers``).

A container syncs to the remote cluster with
``X-Container-Sync-To: //realm1/remote/AUTH_remote/<container>`` plus the same
``X-Container-Sync-Key`` on both containers (``sync_to`` builds the value).
"""

import os

FILE_NAME = 'container-sync-realms.conf'
REALM = 'realm1'
# A fixed key: the dev environment is loopback-only and its secrets are all fixed
# (tempauth keys, moto credentials); a fixed key keeps the file stable across `up`s.
REALM_KEY = 's3sync-devenv-realm-key'
LOCAL_CLUSTER = 'local'     # proxy B (no shunt): what a remote cluster syncs back to
REMOTE_CLUSTER = 'remote'   # the remote cluster's proxy


def path(cluster):
    return os.path.join(cluster.swift_dir, FILE_NAME)


def cluster_urls(local, remote):
    """{cluster name: '.../v1/'} of the realm: the URL container-sync PUTs to."""
    noshunt = local.proxies[1]
    return {
        LOCAL_CLUSTER: 'http://127.0.0.1:%d/v1/' % noshunt.port,
        REMOTE_CLUSTER: 'http://127.0.0.1:%d/v1/' % remote.proxies[0].port,
    }


def realms_conf(local, remote, urls=None):
    """The text of container-sync-realms.conf (the same in both swift_dirs).

    ``urls`` overrides cluster URLs (the bench writes its own copy into a private
    swift_dir)."""
    clusters = cluster_urls(local, remote)
    clusters.update(urls or {})
    lines = ['# container-sync realms of the dev environment '
             '(devenv.sync_realms)', '', '[%s]' % REALM, 'key = %s' % REALM_KEY]
    lines += ['cluster_%s = %s' % item for item in sorted(clusters.items())]
    return '\n'.join(lines) + '\n'


def current(cluster):
    """The //realm/cluster a cluster's proxies call themselves (shown in /info)."""
    return '//%s/%s' % (REALM, REMOTE_CLUSTER if cluster.prefix else LOCAL_CLUSTER)


def readers(cluster):
    """Config paths of the servers that read the realms file at start-up."""
    return ([node.confs['container'] for node in cluster.nodes]
            + [proxy.conf for proxy in cluster.proxies])


def sync_to(account, container, cluster=REMOTE_CLUSTER):
    """The X-Container-Sync-To value that syncs to ``account/container`` on ``cluster``."""
    return '//%s/%s/%s/%s' % (REALM, cluster, account, container)


def info(local, remote):
    """What env.json says about the realm (tests and the bench read it)."""
    return {'realm': REALM, 'key': REALM_KEY, 'clusters': cluster_urls(local, remote),
            'realms_conf': {'local': path(local), 'remote': path(remote)},
            'local_cluster': LOCAL_CLUSTER, 'remote_cluster': REMOTE_CLUSTER}

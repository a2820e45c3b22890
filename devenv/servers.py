"""The list of servers of an environment and how each is started.

Swift servers run through ``devenv.launch`` (see there why);
memcached runs as itself (tempauth keeps tokens in it: mandatory); moto runs
in server mode as the everyday S3 target.
"""

import os
import shutil
import sys

from devenv import probes
from devenv.errors import DevenvError
from devenv.processes import Server

ENTRY_POINTS = {
    'account': 'swift.account.server:main',
    'container': 'swift.container.server:main',
    'object': 'swift.obj.server:main',
    'proxy': 'swift.proxy.server:main',
    'proxymc': 's3_sync.cli.proxymc:main',
}
LAUNCH = [sys.executable, '-m', 'devenv.launch']


def memcached_binary():
    path = shutil.which('memcached') or '/usr/bin/memcached'
    if not os.access(path, os.X_OK):
        raise DevenvError('memcached not found: apt-get install memcached')
    return path


def memcached_server(cluster, user):
    port = cluster.memcache_port
    argv = [memcached_binary(), '-l', '127.0.0.1', '-p', str(port),
            '-U', '0', '-t', '1', '-m', '64']
    if user == 'root':
        argv += ['-u', 'root']  # memcached refuses to run as root otherwise
    var = ('S3SYNC_REMOTE_MEMCACHE_PORT' if cluster.prefix
           else 'S3SYNC_MEMCACHE_PORT')
    return Server(cluster.prefix + 'memcached', argv, [('127.0.0.1', port)],
                  probes.memcached(port), var, cluster=cluster.name)


def swift_servers(cluster):
    servers = []
    var = ('S3SYNC_REMOTE_PORT_BASE' if cluster.prefix
           else 'S3SYNC_PORT_BASE')
    for node in cluster.nodes:
        for kind, conf in sorted(node.confs.items()):
            port = node.ports[kind]
            servers.append(Server(
                '%s%s-server-%d' % (cluster.prefix, kind, node.index),
                LAUNCH + ['swift', cluster.swift_dir, ENTRY_POINTS[kind],
                          conf],
                [(node.ip, port)], probes.healthcheck(node.ip, port), var,
                conf, cluster.name))
    for proxy in cluster.proxies:
        var = {'proxy-shunt': 'S3SYNC_PROXY_PORT',
               'proxy-noshunt': 'S3SYNC_NOSHUNT_PORT'}.get(
                   proxy.name, 'S3SYNC_REMOTE_PROXY_PORT')
        servers.append(Server(
            proxy.name,
            LAUNCH + ['swift', cluster.swift_dir, ENTRY_POINTS['proxy'],
                      proxy.conf],
            [('127.0.0.1', proxy.port)],
            probes.healthcheck('127.0.0.1', proxy.port), var, proxy.conf,
            cluster.name))
    proxymc = cluster.extra.get('proxymc')
    if proxymc:
        servers.append(Server(
            proxymc.name,
            LAUNCH + ['swift', cluster.swift_dir, ENTRY_POINTS['proxymc'],
                      proxymc.conf],
            [('127.0.0.1', proxymc.port)],
            probes.healthcheck('127.0.0.1', proxymc.port),
            'S3SYNC_PROXYMC_PORT', proxymc.conf, cluster.name))
    return servers


def moto_server(base, port):
    # TAG (the run dir) puts this base dir in moto's command line
    argv = LAUNCH + ['moto', os.path.join(base, 'run'),
                     '-H', '127.0.0.1', '-p', str(port)]
    return Server('moto', argv, [('127.0.0.1', port)], probes.moto(port),
                  'S3SYNC_MOTO_PORT', cluster='s3')


def all_servers(base, settings, clusters, user):
    servers = []
    for cluster in clusters:
        servers.append(memcached_server(cluster, user))
        servers.extend(swift_servers(cluster))
    servers.append(moto_server(base, settings['moto_port']))
    return servers

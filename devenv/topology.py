"""The shape of the dev environment: clusters, nodes, proxies, users, paths.

Pure data computed from the base dir and the settings, so that every other
module (rings, configs, processes, env.json) agrees on one picture:

* the "local" cluster: 3 nodes on 127.0.0.1-3 (SAIO convention: node N
  serves object/container/account on PORT_BASE + 10N + 0/1/2), two proxies
  (A with the cloud-shunt filter, B without it and serving the s3api target),
  and proxymc (the cloud side's endpoint, reading on-prem through proxy A);
* the "remote" cluster, a cheap Swift-to-Swift target: 1 node on 127.0.0.4,
  1-replica rings, its own swift_dir and hash prefix/suffix, its own proxy
  and memcached.
"""

import os
from dataclasses import dataclass, field

SERVER_KINDS = ('object', 'container', 'account')  # port offsets 0, 1, 2


@dataclass
class Node:
    index: int
    ip: str
    devices: str
    device: str
    ports: dict          # kind -> port
    confs: dict          # kind -> conf path


@dataclass
class Proxy:
    name: str            # also the process name
    port: int
    conf: str
    shunt: bool = False
    s3api: bool = True


@dataclass
class Cluster:
    name: str
    swift_dir: str
    hash_prefix: str
    hash_suffix: str
    memcache_port: int
    nodes: list
    proxies: list
    users: dict          # 'account:user' -> (key, [groups])
    policies: list       # (index, name, is_default)
    replicas: dict       # ring name -> replica count
    prefix: str = ''     # process-name prefix
    extra: dict = field(default_factory=dict)

    @property
    def memcache_servers(self):
        return '127.0.0.1:%d' % self.memcache_port

    @property
    def internal_client_conf(self):
        return os.path.join(self.swift_dir, 'internal-client.conf')


def _node(root, swift_dir, index, ip, port_base, device):
    devices = os.path.join(root, 'srv', str(index), 'node')
    ports = {kind: port_base + 10 * index + offset
             for offset, kind in enumerate(SERVER_KINDS)}
    confs = {kind: os.path.join(swift_dir, '%s-server' % kind,
                                '%d.conf' % index) for kind in SERVER_KINDS}
    return Node(index, ip, devices, device, ports, confs)


LOCAL_USERS = {
    'admin:admin': ('admin', ['.admin', '.reseller_admin']),
    'test:tester': ('testing', ['.admin']),
    'test:tester2': ('testing2', []),
    'test:tester3': ('testing3', []),
    'test2:tester2': ('testing2', ['.admin']),
}
REMOTE_USERS = {
    'admin:admin': ('admin', ['.admin', '.reseller_admin']),
    'remote:tester': ('testing', ['.admin']),
}


def local_cluster(base, settings):
    swift_dir = os.path.join(base, 'etc')
    nodes = [_node(base, swift_dir, n, '127.0.0.%d' % n,
                   settings['port_base'], 'sdb%d' % n) for n in (1, 2, 3)]
    proxies = [
        Proxy('proxy-shunt', settings['proxy_port'],
              os.path.join(swift_dir, 'proxy-server.conf'), shunt=True),
        Proxy('proxy-noshunt', settings['noshunt_port'],
              os.path.join(swift_dir, 'proxy-server-noshunt.conf')),
    ]
    return Cluster(
        name='local', swift_dir=swift_dir,
        hash_prefix='s3sync-devenv-prefix', hash_suffix='s3sync-devenv-suffix',
        memcache_port=settings['memcache_port'], nodes=nodes, proxies=proxies,
        users=LOCAL_USERS,
        policies=[(0, 'gold', True), (1, 'silver', False)],
        replicas={'account': 3, 'container': 3,
                  'object': settings['obj_replicas'],
                  'object-1': settings['obj_replicas']},
        extra={'sync_conf': os.path.join(swift_dir, 'sync.json'),
               'proxymc': Proxy('proxymc', settings['proxymc_port'],
                                os.path.join(swift_dir, 'proxymc.conf'))})


def remote_cluster(base, settings):
    root = os.path.join(base, 'remote')
    swift_dir = os.path.join(root, 'etc')
    nodes = [_node(root, swift_dir, 1, '127.0.0.4',
                   settings['remote_port_base'], 'sdr1')]
    proxies = [Proxy('remote-proxy', settings['remote_proxy_port'],
                     os.path.join(swift_dir, 'proxy-server.conf'),
                     s3api=False)]
    return Cluster(
        name='remote', swift_dir=swift_dir,
        # a different prefix/suffix: nothing may assume both clusters hash
        # names the same way
        hash_prefix='s3sync-remote-prefix', hash_suffix='s3sync-remote-suffix',
        memcache_port=settings['remote_memcache_port'], nodes=nodes,
        proxies=proxies, users=REMOTE_USERS,
        policies=[(0, 'gold', True)],
        replicas={'account': 1, 'container': 1, 'object': 1},
        prefix='remote-')


def clusters(base, settings):
    return [local_cluster(base, settings), remote_cluster(base, settings)]

"""What ``BASE/env.json`` says: every endpoint, credential and path.

Tests and other tools read this instead of hard-coding ports, so that an
environment with moved ports works unchanged. Per node it carries what a
sync daemon config needs (devices, swift_bind_ip, the container server's
bind_port, swift_dir, internal_client_conf_path), and under ``container_sync``
the realm both clusters share for Swift's own container-sync.
"""

import os

from devenv import sync_realms

REGION = 'us-east-1'
MOTO_IDENTITY = ('s3sync-moto', 's3sync-moto-secret')  # moto checks nothing
S3API_USER = 'test2:tester2'


def _url(port):
    return 'http://127.0.0.1:%d' % port


def _users(cluster):
    users = {}
    for name, (key, groups) in sorted(cluster.users.items()):
        users[name] = {'key': key, 'account': 'AUTH_' + name.split(':')[0],
                       'admin': '.admin' in groups,
                       'reseller_admin': '.reseller_admin' in groups}
    return users


def _nodes(cluster):
    nodes = []
    for node in cluster.nodes:
        nodes.append({
            'index': node.index,
            'swift_bind_ip': node.ip,
            'bind_ip': node.ip,
            'bind_port': node.ports['container'],
            'account_bind_port': node.ports['account'],
            'object_bind_port': node.ports['object'],
            'devices': node.devices,
            'device': node.device,
            'container_server_conf': node.confs['container'],
            'swift_dir': cluster.swift_dir,
            'internal_client_conf_path': cluster.internal_client_conf,
        })
    return nodes


def _cluster_info(cluster):
    return {
        'swift_dir': cluster.swift_dir,
        'internal_client_conf': cluster.internal_client_conf,
        'internal_client_conf_path': cluster.internal_client_conf,
        'memcache_servers': cluster.memcache_servers,
        'hash_path_prefix': cluster.hash_prefix,
        'hash_path_suffix': cluster.hash_suffix,
        'users': _users(cluster),
        'storage_policies': [{'index': i, 'name': n, 'default': d}
                             for i, n, d in cluster.policies],
        'nodes': _nodes(cluster),
    }


def build_info(base, settings, local, remote):
    shunt, noshunt = local.proxies
    info = _cluster_info(local)
    info.update({
        'base': base,
        'settings': settings,
        'log_dir': os.path.join(base, 'log'),
        'sync_conf': local.extra['sync_conf'],
        'auth_url': _url(shunt.port) + '/auth/v1.0',
        'admin_user': 'admin:admin', 'admin_key': 'admin',
        'proxies': {
            'shunt': {'url': _url(shunt.port),
                      'auth_url': _url(shunt.port) + '/auth/v1.0',
                      'conf': shunt.conf},
            'noshunt': {'url': _url(noshunt.port),
                        'auth_url': _url(noshunt.port) + '/auth/v1.0',
                        'conf': noshunt.conf},
        },
        's3_targets': [
            {'name': 'moto', 'aws_endpoint': _url(settings['moto_port']),
             'aws_identity': MOTO_IDENTITY[0],
             'aws_secret': MOTO_IDENTITY[1], 'region': REGION},
            {'name': 's3api', 'aws_endpoint': _url(noshunt.port),
             'aws_identity': S3API_USER,
             'aws_secret': local.users[S3API_USER][0], 'region': REGION,
             # s3api buckets are containers in this account
             'swift_account': 'AUTH_' + S3API_USER.split(':')[0]},
        ],
    })
    proxymc = local.extra.get('proxymc')
    if proxymc:
        # the Swift API (auth_url) and the S3 API (endpoint: s3api + tempauth, keys
        # 'account:user' / the user's key) of one server
        info['proxymc'] = {'url': _url(proxymc.port),
                           'auth_url': _url(proxymc.port) + '/auth/v1.0',
                           's3_endpoint': _url(proxymc.port), 'region': REGION,
                           'conf': proxymc.conf}
    remote_url = _url(remote.proxies[0].port)
    info['remote_cluster'] = dict(_cluster_info(remote), url=remote_url,
                                  auth_url=remote_url + '/auth/v1.0',
                                  conf=remote.proxies[0].conf)
    info['swift_target'] = {
        'name': 'swift', 'protocol': 'swift',
        'aws_endpoint': remote_url + '/auth/v1.0',
        'aws_identity': 'remote:tester', 'aws_secret': 'testing',
        'account': 'AUTH_remote',
        'storage_url': remote_url + '/v1/AUTH_remote',
        'admin_identity': 'admin:admin', 'admin_secret': 'admin',
    }
    # Swift's own container-sync between the clusters (realm scheme)
    info['container_sync'] = sync_realms.info(local, remote)
    return info

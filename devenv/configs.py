"""Swift config files of the dev environment, rendered from code.

One function per file kind; each returns the file text. ``all_configs``
maps every path of a cluster to its text, so that the caller can write only
what changed and restart only the servers whose config changed.
"""

import os

from devenv import sync_realms

# container_sync checks X-Container-Sync-Auth and lets a valid request past
# tempauth, so it must come before auth (Swift's sample places it here too)
PROXY_PIPELINE = (
    'catch_errors gatekeeper healthcheck proxy-logging cache listing_formats '
    'container_sync bulk tempurl s3api tempauth cloud-shunt copy '
    'container-quotas '
    'account-quotas slo dlo versioned_writes symlink proxy-logging '
    'proxy-server').split()

# pipeline name -> the egg:swift# entry point, where the names differ
EGG_NAMES = {'proxy-logging': 'proxy_logging', 'cache': 'memcache',
             'container-quotas': 'container_quotas',
             'account-quotas': 'account_quotas'}

# memcache connections pooled by each (single-worker) proxy: see _filter_section
MEMCACHE_CONNECTIONS = 16

SHUNT_FACTORY = 's3_sync.shunt:filter_factory'
PROXYMC_FACTORY = 's3_sync.proxymc:app_factory'
PROXYMC_S3_FACTORY = 's3_sync.proxymc.s3:filter_factory'
# s3api allows multipart uploads only with a filter named slo; proxymc completes them itself
PROXYMC_SLO_FACTORY = 's3_sync.proxymc.multipart:noop_filter_factory'
PROXYMC_GUARD_FACTORY = 's3_sync.proxymc.guard:filter_factory'
# Swift's own middlewares in front of proxymc: auth (tempauth shares the cluster's memcache, so
# a token is good on both sides), listings, copies, the S3 API; proxymc-guard before them.
PROXYMC_PIPELINE = ('catch_errors gatekeeper healthcheck proxy-logging proxymc-guard cache '
                    'listing_formats s3api proxymc-s3 tempauth slo copy proxy-logging '
                    'proxy-server').split()


def render_ini(sections):
    """[(section, {key: value})] -> ini text, keys in the given order."""
    lines = []
    for name, options in sections:
        if lines:
            lines.append('')
        lines.append('[%s]' % name)
        lines.extend('%s = %s' % (k, v) for k, v in options.items())
    return '\n'.join(lines) + '\n'


def swift_conf(cluster):
    sections = [('swift-hash', {
        'swift_hash_path_prefix': cluster.hash_prefix,
        'swift_hash_path_suffix': cluster.hash_suffix})]
    for index, name, is_default in cluster.policies:
        options = {'name': name, 'policy_type': 'replication'}
        if is_default:
            options['default'] = 'yes'
        sections.append(('storage-policy:%d' % index, options))
    return render_ini(sections)


def _common(cluster, user, log_name):
    # workers = 0: one process per server, so the pid file is the server
    return {'workers': '0', 'user': user, 'swift_dir': cluster.swift_dir,
            'log_name': log_name}


def backend_conf(cluster, node, kind, user, base):
    default = _common(cluster, user, '%s%s-server-%d' % (
        cluster.prefix, kind, node.index))
    default.update({
        'devices': node.devices, 'mount_check': 'false',
        'disable_fallocate': 'true', 'bind_ip': node.ip,
        'bind_port': str(node.ports[kind]),
        'recon_cache_path': os.path.join(base, 'cache')})
    sections = [
        ('DEFAULT', default),
        ('pipeline:main', {'pipeline': 'healthcheck %s-server' % kind}),
        ('app:%s-server' % kind, {'use': 'egg:swift#%s' % kind}),
        ('filter:healthcheck', {'use': 'egg:swift#healthcheck'}),
    ]
    # only the background daemons read these (none run by default; a test
    # may run one with --once)
    for daemon in ('replicator', 'auditor', 'updater'):
        sections.append(('%s-%s' % (kind, daemon), {}))
    if kind == 'container':
        sections.append(('container-sync', {
            'internal_client_conf_path': cluster.internal_client_conf}))
        sections.append(('container-sharder', {}))
    return render_ini(sections)


def _tempauth(cluster):
    options = {'use': 'egg:swift#tempauth'}
    for name, (key, groups) in sorted(cluster.users.items()):
        account, user = name.split(':')
        options['user_%s_%s' % (account, user)] = ' '.join([key] + groups)
    return options


def _filter_section(name, cluster, sync_conf):
    if name == 'cloud-shunt':
        return {'paste.filter_factory': SHUNT_FACTORY, 'conf_file': sync_conf}
    options = {'use': 'egg:swift#%s' % EGG_NAMES.get(name, name)}
    if name == 'cache':
        options['memcache_servers'] = cluster.memcache_servers
        # Swift pools 2 connections per worker by default; these proxies are ONE worker
        # (workers = 0) serving ~30 clients at once, and on a loaded machine requests queued
        # past the 1 s pool_timeout, which error-limits memcached for 60 s: every token check
        # then fails (401s until it expires). Size the pool for one worker's concurrency.
        options['memcache_max_connections'] = str(MEMCACHE_CONNECTIONS)
    elif name == 's3api':
        options['location'] = 'us-east-1'
    elif name == 'tempauth':
        options = _tempauth(cluster)
    elif name == 'container_sync':
        # only names this cluster in /info; the realms file is in swift_dir
        options['current'] = sync_realms.current(cluster)
    elif name == 'versioned_writes':
        # allow_object_versioning needs symlink in the pipeline
        options.update(allow_versioned_writes='true',
                       allow_object_versioning='true')
    return options


def proxy_pipeline(proxy):
    names = list(PROXY_PIPELINE)
    if not proxy.shunt:
        names.remove('cloud-shunt')
    if not proxy.s3api:
        names.remove('s3api')
    return names


def proxy_conf(cluster, proxy, user):
    default = _common(cluster, user, proxy.name)
    default.update(bind_ip='127.0.0.1', bind_port=str(proxy.port))
    pipeline = proxy_pipeline(proxy)
    sections = [
        ('DEFAULT', default),
        ('pipeline:main', {'pipeline': ' '.join(pipeline)}),
        ('app:proxy-server', {'use': 'egg:swift#proxy',
                              'allow_account_management': 'true',
                              'account_autocreate': 'true'}),
    ]
    for name in sorted(set(pipeline) - {'proxy-server'}):
        sections.append(('filter:%s' % name, _filter_section(
            name, cluster, cluster.extra.get('sync_conf'))))
    return render_ini(sections)


def proxymc_conf(cluster, proxymc, shunt_port, user):
    default = _common(cluster, user, proxymc.name)
    default.update(bind_ip='127.0.0.1', bind_port=str(proxymc.port))
    swift_url = 'http://127.0.0.1:%d' % shunt_port
    sections = [
        ('DEFAULT', default),
        ('pipeline:main', {'pipeline': ' '.join(PROXYMC_PIPELINE)}),
        ('app:proxy-server', {'paste.app_factory': PROXYMC_FACTORY,
                              'conf_file': cluster.extra['sync_conf'],
                              'swift_url': swift_url,
                              'reload_interval': '1'}),
    ]
    ours = {'slo': {'paste.filter_factory': PROXYMC_SLO_FACTORY},
            'proxymc-guard': {'paste.filter_factory': PROXYMC_GUARD_FACTORY},
            'proxymc-s3': {'paste.filter_factory': PROXYMC_S3_FACTORY,
                           'swift_url': swift_url}}
    for name in sorted(set(PROXYMC_PIPELINE) - {'proxy-server'}):
        options = ours.get(name) or _filter_section(name, cluster, None)
        sections.append(('filter:%s' % name, options))
    return render_ini(sections)


def internal_client_conf(cluster, user):
    pipeline = 'catch_errors proxy-logging cache symlink proxy-server'
    sections = [
        ('DEFAULT', {'swift_dir': cluster.swift_dir, 'user': user}),
        ('pipeline:main', {'pipeline': pipeline}),
        ('app:proxy-server', {'use': 'egg:swift#proxy',
                              'account_autocreate': 'true',
                              'allow_account_management': 'true'}),
    ]
    for name in pipeline.split()[:-1]:
        sections.append(('filter:%s' % name,
                         _filter_section(name, cluster, None)))
    return render_ini(sections)


def all_configs(cluster, user, base):
    """{path: text} for every config file of ``cluster``."""
    files = {os.path.join(cluster.swift_dir, 'swift.conf'):
             swift_conf(cluster),
             cluster.internal_client_conf: internal_client_conf(cluster, user)}
    for node in cluster.nodes:
        for kind, path in node.confs.items():
            files[path] = backend_conf(cluster, node, kind, user, base)
    for proxy in cluster.proxies:
        files[proxy.conf] = proxy_conf(cluster, proxy, user)
    proxymc = cluster.extra.get('proxymc')
    if proxymc:
        shunt = [p for p in cluster.proxies if p.shunt][0]
        files[proxymc.conf] = proxymc_conf(cluster, proxymc, shunt.port, user)
    return files

"""``proxymc`` (``egg:swift-s3-sync#proxymc``): the shared namespace served from the cloud side.

A paste app in a Swift proxy-like pipeline, behind Swift's own middlewares: auth (tempauth, or
authtoken + keystoneauth) decides who the client is, ``listing_formats`` renders listings,
``copy`` turns COPY into a GET and a PUT, ``s3api`` (before the auth filter) adds the S3 API.
For every ``containers[]`` mapping of the one ``sync.json`` (``"/*"`` included) it serves:

* object GET/HEAD from the cloud copy (the mapping's bucket, its key layout, metadata decoded,
  SLOs whole), else from the on-prem Swift cluster with the user's own token (``reads``);
* container GET: the two listings merged, each entry's ``content_location`` saying where it
  lives; container HEAD: the on-prem cluster's, or the cloud copy's counts for a container
  only the cloud holds (``containers``);
* object PUT, POST, DELETE on the cloud copy only, never on on-prem data (``writes``); S3
  multipart uploads too (``multipart``).

Anything not mapped is refused (403); see ``app`` for the rest. Config::

    [pipeline:main]
    pipeline = catch_errors gatekeeper healthcheck proxy-logging proxymc-guard cache
        listing_formats s3api proxymc-s3 tempauth slo copy proxy-logging proxy-server

    [filter:proxymc-guard]
    use = egg:swift-s3-sync#proxymc-guard

    [filter:proxymc-s3]
    use = egg:swift-s3-sync#proxymc-s3
    swift_url = https://swift.example.com
    # where S3 users get their own on-prem token (TempAuth v1; default /auth/v1.0)
    swift_auth_path = /auth/v1.0

    [filter:slo]
    use = egg:swift-s3-sync#proxymc-slo

    [app:proxy-server]
    use = egg:swift-s3-sync#proxymc
    # the one config of swift-s3-sync; re-read when it changes, the last good one kept
    conf_file = /etc/swift-s3-sync/sync.json
    # the on-prem Swift cluster's proxy (a cloud-shunt there is bypassed)
    swift_url = https://swift.example.com
    # seconds between checks of conf_file's mtime (default 5)
    reload_interval = 5
    # seconds a cloud or on-prem request may take to connect or send data (default 10)
    remote_timeout = 10

Run it with ``proxymc /etc/swift-s3-sync/proxymc.conf`` (Swift's WSGI server).
"""
from swift.common.registry import register_swift_info
from swift.common.utils import get_logger

from s3_sync import __version__
from s3_sync.config import DEFAULT_PATH
from s3_sync.shunt.profiles import DEFAULT_CHECK_INTERVAL, DEFAULT_READ_TIMEOUT

__all__ = ['app_factory']


def app_config(conf):
    """The app's options with their defaults; ValueError names a bad one."""
    out = {'conf_file': conf.get('conf_file') or DEFAULT_PATH}
    for key, default in (('reload_interval', DEFAULT_CHECK_INTERVAL),
                         ('remote_timeout', DEFAULT_READ_TIMEOUT)):
        try:
            out[key] = float(conf.get(key, default))
        except ValueError:
            raise ValueError('proxymc: %s: not a number: %r' % (key, conf.get(key)))
        if out[key] <= 0:
            raise ValueError('proxymc: %s: must be positive' % key)
    out['swift_url'] = conf.get('swift_url')
    if not out['swift_url']:
        raise ValueError('proxymc: swift_url: missing (the on-prem Swift proxy URL)')
    return out


def app_factory(global_conf, **local_conf):
    from s3_sync.proxymc.app import ProxyMC
    from s3_sync.proxymc.onprem import OnPrem

    conf = dict(global_conf, **local_conf)
    options = app_config(conf)
    logger = get_logger(conf, log_route='proxymc')
    register_swift_info('proxymc', version=__version__)
    return ProxyMC.from_conf(options, logger, lambda: OnPrem(
        options['swift_url'], options['remote_timeout'], logger))

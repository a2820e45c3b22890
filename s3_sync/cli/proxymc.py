"""``proxymc CONF [-v] [-o]``: run proxymc with Swift's WSGI server (``run_wsgi``), as
``swift-proxy-server`` runs a proxy: the paste config's ``[app:proxy-server]`` is
``egg:swift-s3-sync#proxymc`` (see ``s3_sync.proxymc``; an example is ``etc/proxymc.conf-sample``).

``[DEFAULT] swift_dir`` (default ``/etc/swift``) is where a ``swift.conf`` is read when there is
one; proxymc needs no ring, so a cloud host without Swift installed works too.
"""
import sys


def main():
    # Green the standard library before the app's imports reach urllib3/botocore: their SSL
    # contexts, made from an ungreened ssl module, recurse once eventlet patches it later.
    from swift.common.utils import monkey_patch
    monkey_patch()
    from swift.common.utils import parse_options, readconf
    from swift.common.wsgi import run_wsgi

    from s3_sync.swift_env import setup_swift

    conf_file, options = parse_options()
    try:
        app_conf = readconf(conf_file, 'app:proxy-server')     # [DEFAULT] included
    except ValueError as err:
        sys.exit('proxymc: %s' % err)
    setup_swift(app_conf.get('swift_dir', '/etc/swift'))
    sys.exit(run_wsgi(conf_file, 'proxy-server', **options))


if __name__ == '__main__':
    main()

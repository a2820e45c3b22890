"""Command line: ``python -m devenv up|down|status [--base DIR]``.

Ports move with environment variables (S3SYNC_PROXY_PORT, ...; see
``settings.KNOBS``) or all at once with ``--port-offset``.
"""

import argparse
import logging
import sys
import time

from devenv.environment import Environment
from devenv.radosgw import requested as requested_radosgw
from devenv.errors import DevenvError
from devenv.settings import KNOBS, OFFSET_VAR, default_base


def parse_args(argv):
    knobs = ', '.join(var for var, _default in KNOBS.values())
    parser = argparse.ArgumentParser(
        prog='python -m devenv',
        description='Local Swift clusters + S3 servers on loopback.',
        epilog='Environment variables: S3SYNC_DEVENV_BASE, %s, %s, '
        'S3SYNC_RADOSGW=1 (= --radosgw).' % (OFFSET_VAR, knobs))
    parser.add_argument('command', choices=['up', 'down', 'status'])
    parser.add_argument('--base', default=None,
                        help='base dir (default: %s)' % default_base())
    parser.add_argument('--wipe', action='store_true',
                        help='down: also remove the base dir')
    parser.add_argument('--port-offset', type=int, default=None,
                        help='add N to every default port (new base only)')
    parser.add_argument('--radosgw', action='store_true',
                        help='up: also start Ceph radosgw as a third S3 target '
                        '(installs radosgw, ceph-mon, ceph-osd with apt-get when '
                        'missing; also S3SYNC_RADOSGW=1)')
    parser.add_argument('--obj-replicas', type=int, default=None,
                        help='object ring replicas, 1-3 (new base only)')
    return parser.parse_args(argv)


def describe(info):
    """Endpoints and credentials, one per line."""
    proxies = info['proxies']
    lines = ['base: %s' % info['base'],
             'swift proxy A (cloud-shunt): %s' % proxies['shunt']['auth_url'],
             'swift proxy B (no shunt): %s' % proxies['noshunt']['auth_url']]
    if info.get('proxymc'):
        lines.append('proxymc: %s (Swift API), %s (S3 API: access key account:user, '
                     'secret its key)' % (info['proxymc']['auth_url'],
                                          info['proxymc']['s3_endpoint']))
    for user, data in sorted(info['users'].items()):
        lines.append('  user %s key %s (%s)' % (
            user, data['key'], data['account']))
    for target in info['s3_targets']:
        lines.append('s3 %s: %s identity %s secret %s region %s' % (
            target['name'], target['aws_endpoint'], target['aws_identity'],
            target['aws_secret'], target['region']))
    swift = info['swift_target']
    lines.append('swift target: %s identity %s secret %s (admin %s/%s)' % (
        swift['aws_endpoint'], swift['aws_identity'], swift['aws_secret'],
        swift['admin_identity'], swift['admin_secret']))
    rgw = info.get('radosgw')
    if rgw:
        lines.append('s3 radosgw: %s identity %s secret %s region %s (%s)' % (
            rgw['aws_endpoint'], rgw['aws_identity'], rgw['aws_secret'],
            rgw['region'], rgw['version'] or 'radosgw'))
    lines.append('swift_dir: %s' % info['swift_dir'])
    lines.append('internal client conf: %s' % info['internal_client_conf'])
    lines.append('env.json: %s/env.json' % info['base'])
    return '\n'.join(lines)


def cmd_status(env):
    states = env.status()
    print(describe(env.info))
    for name, state in states:
        print('  %-26s %s' % (name, state))
    down = [name for name, state in states if state != 'up']
    if down:
        print('DOWN: %s' % ' '.join(down))
        return 1
    return 0


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(format='%(message)s', level=logging.INFO)
    overrides = {'port_offset': args.port_offset,
                 'obj_replicas': args.obj_replicas}
    env = Environment(args.base, radosgw=args.radosgw or requested_radosgw(),
                      **{k: v for k, v in overrides.items() if v is not None})
    started = time.time()
    try:
        if args.command == 'up':
            info = env.up()
            print(describe(info))
            print('up in %.1f s' % (time.time() - started))
        elif args.command == 'down':
            env.down(wipe=args.wipe)
            print('down%s: %s' % (' (wiped)' if args.wipe else '', env.base))
        else:
            return cmd_status(env)
    except DevenvError as err:
        print('error: %s' % err, file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())

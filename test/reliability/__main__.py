"""``python -m test.reliability [--quick] [--only NAMES] [--base DIR] [--port-offset N]``.

Brings up the dev environment (its own by default: /tmp/s3sync-reliability, ports +12000, 3
object replicas; ``S3SYNC_DEVENV_BASE`` / ``S3SYNC_DEVENV_PORT_OFFSET`` choose another), runs
the scenarios, prints the figures, and stops the environment it started (``--keep-env`` leaves
it up). Exit status 0 only when every run is clean and nothing was lost."""
import argparse
import os
import random
import signal
import sys
import time

from test.reliability.figures import Tally
from test.reliability.scenarios import PLANS, SCENARIOS, run_scenario

DEFAULT_BASE = '/tmp/s3sync-reliability'
DEFAULT_PORT_OFFSET = 12000      # below the ephemeral port range (32768+)
OBJ_REPLICAS = 3


def parse_args(argv):
    parser = argparse.ArgumentParser(prog='./tools/reliability', description=__doc__.split(
        '\n')[0])
    parser.add_argument('--quick', action='store_true', help='smaller runs (a few minutes)')
    parser.add_argument('--only', default=','.join(SCENARIOS),
                        help='comma-separated subset of: %s' % ', '.join(SCENARIOS))
    parser.add_argument('--base', default=os.environ.get('S3SYNC_DEVENV_BASE') or DEFAULT_BASE)
    parser.add_argument('--port-offset', type=int, default=None,
                        help='for a new base (default $S3SYNC_DEVENV_PORT_OFFSET or %d)'
                        % DEFAULT_PORT_OFFSET)
    parser.add_argument('--seed', type=int, default=None, help='random seed (default: time)')
    parser.add_argument('--keep-env', action='store_true', help='leave the environment up')
    args = parser.parse_args(argv)
    unknown = set(args.only.split(',')) - set(SCENARIOS)
    if unknown:
        parser.error('--only: unknown scenario(s): %s' % ', '.join(sorted(unknown)))
    return args


def log(message):
    print('[%s] %s' % (time.strftime('%H:%M:%S'), message), flush=True)


def environment(args):
    """The Environment for ``args.base``: a new base gets the port offset and 3 replicas."""
    from devenv import Environment
    os.environ['S3SYNC_DEVENV_BASE'] = args.base
    if os.path.exists(os.path.join(args.base, 'settings.json')):
        return Environment(args.base)
    offset = args.port_offset
    if offset is None:
        offset = int(os.environ.get('S3SYNC_DEVENV_PORT_OFFSET') or DEFAULT_PORT_OFFSET)
    os.environ['S3SYNC_DEVENV_PORT_OFFSET'] = str(offset)
    return Environment(args.base, port_offset=offset, obj_replicas=OBJ_REPLICAS)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # SIGTERM unwinds like ^C, so the daemons a run started are killed on the way out
    signal.signal(signal.SIGTERM, lambda *_args: sys.exit(143))
    from test.integration.env import bypass_http_proxies
    bypass_http_proxies()
    env = environment(args)
    started_here = not env.any_running()
    log('environment %s (%s)' % (env.base, 'starting' if started_here else 'already up'))
    info = env.up()
    from s3_sync.swift_env import setup_swift
    setup_swift(info['swift_dir'])
    seed = args.seed if args.seed is not None else int(time.time())
    rng = random.Random(seed)
    plan = PLANS['quick' if args.quick else 'full']
    log('%s run, seed %d, object replicas %d, scenarios: %s' % (
        'quick' if args.quick else 'full', seed, info['settings']['obj_replicas'], args.only))
    tally = Tally()
    began = time.time()
    try:
        for name in args.only.split(','):
            run_scenario(name, info, tally, plan[name], rng.randrange(1 << 30), log=log)
    finally:
        if started_here and not args.keep_env:
            env.down()
            log('environment stopped')
    print(tally.kill_report())
    print(tally.notes_report())
    print(tally.figures())
    print('elapsed: %.0fs' % (time.time() - began))
    return 0 if not tally.problems and not tally.losses else 1


if __name__ == '__main__':
    sys.exit(main())

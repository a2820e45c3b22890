"""``python -m bench [--quick] [--rounds N] [--only NAMES] [--base DIR] [--port-offset N]``.

Brings up its own environment (default /tmp/s3sync-bench, ports +20000: never the tests'), runs
the measurements, prints a Markdown report and writes it with the raw figures to
``BASE-results/results.md`` / ``BASE-results/results.json`` (``--write FILE`` also copies the Markdown there),
then stops the environment and wipes its base unless ``--keep-env``.
"""
import argparse
import json
import os
import sys
import tempfile
import time

from bench import environment, report

MEASUREMENTS = ('small', 'medium', 'large', 'lag', 'idle', 'shunt', 'proxymc',
                'container_sync', 'profile')
FULL = dict(rounds=3, small=2000, medium=200, large=2, large_mib=256, lag_seconds=60,
            idle_rows=100000, shunt_gets=300, csync_objects=2000, proxymc_listing=10000)
QUICK = dict(rounds=1, small=500, medium=50, large=2, large_mib=64, lag_seconds=15,
             idle_rows=20000, shunt_gets=100, csync_objects=300, proxymc_listing=2000)


def parse_args(argv):
    parser = argparse.ArgumentParser(prog='./tools/bench', description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true', help='smaller workloads, 1 round')
    parser.add_argument('--rounds', type=int, help='runs per contender (median of them)')
    parser.add_argument('--only', default=','.join(MEASUREMENTS),
                        help='comma-separated subset of: %s' % ', '.join(MEASUREMENTS))
    parser.add_argument('--base', default=environment.DEFAULT_BASE)
    parser.add_argument('--port-offset', type=int, default=environment.DEFAULT_PORT_OFFSET)
    parser.add_argument('--workers', type=int, default=10,
                        help='rows in flight per daemon (the copy loop and rclone match 3x)')
    parser.add_argument('--keep-env', action='store_true', help='leave the environment up')
    parser.add_argument('--write', metavar='FILE', help='also write the Markdown report here')
    args = parser.parse_args(argv)
    unknown = set(args.only.split(',')) - set(MEASUREMENTS)
    if unknown:
        parser.error('--only: unknown measurement(s): %s' % ', '.join(sorted(unknown)))
    if args.rounds is not None and args.rounds < 1:
        parser.error('--rounds: must be at least 1')
    return args


def log(message):
    print('[%s] %s' % (time.strftime('%H:%M:%S'), message), file=sys.stderr, flush=True)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    plan = dict(QUICK if args.quick else FULL)
    if args.rounds:
        plan['rounds'] = args.rounds
    only = args.only.split(',')
    benv = environment.BenchEnv(args.base, args.port_offset)
    started = time.time()
    results = {'machine': environment.machine(), 'plan': plan, 'mode':
               'quick' if args.quick else 'full', 'workers': args.workers}
    log('environment up at %s (port offset %d)' % (args.base, args.port_offset))
    try:
        benv.up()
    except Exception as exc:
        print('bench: environment did not come up: %s' % str(exc).splitlines()[0],
              file=sys.stderr)
        return 1
    try:
        with tempfile.TemporaryDirectory(prefix='s3sync-bench-') as scratch:
            from bench.runner import run_all
            run_all(benv, results, only, plan, args.workers, scratch, log)
    finally:
        results['elapsed_s'] = time.time() - started
        text = report.markdown(results)
        out_dir = args.base.rstrip('/') + '-results'   # survives down --wipe
        os.makedirs(out_dir, exist_ok=True)
        with open(os.path.join(out_dir, 'results.json'), 'w') as f:
            json.dump(results, f, indent=1, default=str)
        with open(os.path.join(out_dir, 'results.md'), 'w') as f:
            f.write(text)
        log('results in %s' % out_dir)
        if args.write:
            with open(args.write, 'w') as f:
                f.write(text)
        print(text)
        if not args.keep_env:
            log('stopping the environment (down --wipe)')
            benv.down(wipe=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())

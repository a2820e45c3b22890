"""``python -m bench [--quick] [--rounds N] [--only NAMES] [--set K=N,...] [--write FILE]``.

Brings up its own environment (default /tmp/s3sync-bench, ports +20000: never the tests'), runs
the measurements, prints a Markdown report and writes it, the raw figures and the PNG plots to
``BASE-results/`` (``results.md``, ``results.json``, ``bench-*.png``; ``--write FILE`` also
writes the Markdown to FILE and the plots beside it), then stops the environment and wipes its
base unless ``--keep-env``.
"""
import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time

from bench import environment, phases, report

MEASUREMENTS = ('small', 'medium', 'large', 'processes', 'lag', 'shunt', 'proxymc',
                'container_sync', 'migrator', 'growth', 'profile', 'idle')
DEFAULT = MEASUREMENTS[:-1]     # growth's 'rows' part is the idle poll, at a larger size
QUICK_DEFAULT = tuple(m for m in DEFAULT if m not in ('profile', 'proxymc'))
FULL = dict(rounds=3, small=2000, medium=200, large=2, large_mib=256, big_mib=1000,
            proc_containers=12, proc_objects=200, proc_rows=50000, lag_seconds=60,
            shunt_gets=300, listing_entries=10000, csync_objects=2000, csync_slos=20,
            csync_slo_mib=32, growth_objects=10000,
            growth_containers=1000, growth_rounds=3, growth_drain=100000, growth_rows=1000000,
            idle_rows=100000,
            proxymc_listing=10000, migrate_small=10000, migrate_large=20, migrate_large_mib=64)
# --quick: every section, at sizes that keep it under 3 minutes on this 2-core machine (its
# report's "Where the time went": process start-ups and the environment's servers are the
# largest part, populating under a tenth; growth's one-container run reuses small's container).
QUICK = dict(quick=True, rounds=1, small=200, medium=20, large=2, large_mib=16, big_mib=20,
             proc_containers=4, proc_objects=20, proc_rows=10000, lag_seconds=6,
             shunt_gets=20, listing_entries=1000, csync_objects=100, csync_slos=3,
             csync_slo_mib=4, growth_objects=200,
             growth_containers=20, growth_rounds=1, growth_drain=400, growth_rows=10000,
             idle_rows=10000,
             proxymc_listing=1000, migrate_small=150, migrate_large=3, migrate_large_mib=8)


def parse_args(argv):
    parser = argparse.ArgumentParser(prog='./tools/bench', description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true', help='smaller workloads, 1 round')
    parser.add_argument('--rounds', type=int, help='runs per contender (median of them)')
    parser.add_argument('--only', help='comma-separated subset of: %s (default: all but '
                        'idle; --quick: all but idle, proxymc and profile)'
                        % ', '.join(MEASUREMENTS))
    parser.add_argument('--base', default=environment.DEFAULT_BASE)
    parser.add_argument('--port-offset', type=int, default=environment.DEFAULT_PORT_OFFSET)
    parser.add_argument('--workers', type=int, default=10,
                        help='rows in flight per daemon (the copy loop and rclone match 3x)')
    parser.add_argument('--set', metavar='KEY=N,...', default='',
                        help='change workload sizes of the plan (e.g. small=1000,growth_rows='
                        '300000); the report names them')
    parser.add_argument('--keep-env', action='store_true', help='leave the environment up')
    parser.add_argument('--write', metavar='FILE', help='also write the Markdown report here')
    args = parser.parse_args(argv)
    if args.only is None:
        args.only = ','.join(QUICK_DEFAULT if args.quick else DEFAULT)
    unknown = set(args.only.split(',')) - set(MEASUREMENTS)
    if unknown:
        parser.error('--only: unknown measurement(s): %s' % ', '.join(sorted(unknown)))
    if args.rounds is not None and args.rounds < 1:
        parser.error('--rounds: must be at least 1')
    try:
        args.set = dict((k.strip(), int(v)) for k, v in
                        (item.split('=', 1) for item in args.set.split(',') if item))
    except ValueError:
        parser.error('--set: KEY=N pairs separated by commas')
    unknown = set(args.set) - set(FULL)
    if unknown:
        parser.error('--set: unknown size(s): %s (known: %s)' % (
            ', '.join(sorted(unknown)), ', '.join(sorted(FULL))))
    return args


def argv_text(argv):
    argv = sys.argv[1:] if argv is None else argv
    return ' '.join(a for a in argv if not a.startswith('--write') and
                    (argv.index(a) == 0 or argv[argv.index(a) - 1] != '--write'))


def log(message):
    print('[%s] %s' % (time.strftime('%H:%M:%S'), message), file=sys.stderr, flush=True)


def interrupt(signum, frame):
    raise KeyboardInterrupt('signal %d' % signum)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # SIGTERM, and SIGINT even when a non-interactive shell started us with it ignored, end the
    # run the way Ctrl-C does: the environment is stopped and what was measured is written
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, interrupt)
    plan = dict(QUICK if args.quick else FULL)
    if args.rounds:
        plan['rounds'] = args.rounds
    plan.update(args.set)
    only = args.only.split(',')
    benv = environment.BenchEnv(args.base, args.port_offset)
    started = phases.process_start()
    results = {'machine': environment.machine(), 'plan': plan, 'argv': argv_text(argv),
               'mode': 'quick' if args.quick else 'full', 'workers': args.workers,
               'base': args.base, 'port_offset': args.port_offset, 'write': args.write}
    phases.reset()
    log('environment up at %s (port offset %d)' % (args.base, args.port_offset))
    try:
        with phases.phase('environment up', log):
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
        results['load_end'] = os.getloadavg()
        if not args.keep_env:
            log('stopping the environment (down --wipe)')
            try:
                with phases.phase('environment down', log):
                    benv.down(wipe=True)
            except Exception as exc:      # the figures are written all the same
                log('environment down failed: %s' % str(exc).splitlines()[0])
        out_dir = args.base.rstrip('/') + '-results'   # survives down --wipe
        os.makedirs(out_dir, exist_ok=True)
        with phases.phase('plots', log):
            from bench import plots
            results['plots'] = plots.draw(results, out_dir)
        results['elapsed_s'] = time.time() - started
        results['phases'] = phases.recorded()
        text = report.markdown(results)
        with open(os.path.join(out_dir, 'results.json'), 'w') as f:
            json.dump(results, f, indent=1, default=str)
        with open(os.path.join(out_dir, 'results.md'), 'w') as f:
            f.write(text)
        log('results in %s' % out_dir)
        if args.write:
            with open(args.write, 'w') as f:
                f.write(text)
            for name in results['plots']:      # the report links them by file name
                shutil.copy(os.path.join(out_dir, name),
                            os.path.join(os.path.dirname(os.path.abspath(args.write)), name))
        print(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())

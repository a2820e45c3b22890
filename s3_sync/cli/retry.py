"""``swift-s3-sync retry-failed``: re-drive failed rows now.

    swift-s3-sync retry-failed --config PATH [--container NAME ...] [--allow-deletes]

Failed rows are retried by the daemon on their own with a bounded backoff (at most 5 minutes
apart); this makes them due at once: the running daemon takes them at its next pass (within
``poll_interval``), a ``--once`` run at its next run. ``--allow-deletes`` also releases the
deletes the delete rail held (``max_deletes_per_pass``, ``max_delete_bytes_per_pass``).
Prints how many failed rows of this node the request covers (see
:mod:`s3_sync.crawler.failures`). Exit status: 0; 1 for a corrupt or unreadable status file;
2 for a config error or an unknown container.
"""
import argparse
import sys

PROG = 'swift-s3-sync retry-failed'


def parse_args(argv):
    parser = argparse.ArgumentParser(prog=PROG, description='Retry failed rows now.')
    parser.add_argument('--config', required=True, help='path to the JSON config (sync.json)')
    parser.add_argument('--container', action='append', metavar='NAME',
                        help='only this container (repeatable)')
    parser.add_argument('--allow-deletes', action='store_true',
                        help='release the deletes held by the delete rail')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from s3_sync.cli.exits import exit_status
    from s3_sync.config import ConfigError
    from s3_sync.status import StatusError
    return exit_status(PROG, lambda: print(run(args)) or 0,
                       ((ConfigError, 2), (StatusError, 1), (OSError, 1)))


def run(args):
    from s3_sync.cli.status import check_containers, load, quiet_logger
    from s3_sync.crawler.failures import is_failed, is_held, write_request
    from s3_sync.status.report import local_jobs, read_status_file
    conf, node = load(args)
    containers = set(args.container) if args.container else None
    jobs = local_jobs(conf, node, quiet_logger(), containers)
    check_containers(conf, args.container, {j.container for j in jobs})
    failed = held = 0
    seen = set()
    for job in jobs:
        if (job.account, job.container) in seen:
            continue
        seen.add((job.account, job.container))
        for entry in read_status_file(conf.status_dir, job.account, job.container).values():
            for row in ((entry or {}).get('pending') or {}).values() \
                    if isinstance(entry, dict) else ():
                if is_held(row):
                    held += 1
                elif is_failed(row):
                    failed += 1
    write_request(conf.status_dir, containers, args.allow_deletes)
    parts = ['%d failed row(s)' % failed]
    if held:
        parts.append('%d held delete(s)%s' % (
            held, '' if args.allow_deletes else ' (kept: --allow-deletes releases them)'))
    return '%s in %d container(s) on this node: retried at the daemon\'s next pass' % (
        ', '.join(parts), len(seen))


if __name__ == '__main__':
    sys.exit(main())

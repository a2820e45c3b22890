"""``swift-s3-sync resync``: re-check existing objects against the remote and repair.

    swift-s3-sync resync --config PATH [--since DATE] [--container NAME ...] [--all-rows]

For every mapped container with a DB replica on this node, every row (of this replica's share,
as the daemon splits rows; ``--all-rows``: every row of the replica, e.g. when the other nodes
are gone) written since ``DATE`` (ISO 8601: ``2026-12-01`` or ``2026-12-01T10:00:00Z``; default:
all) is compared with the remote in batched listings, as the daemon's verification does, and
what is missing or different (ETag, size, older than the row) is propagated again: uploaded,
its metadata updated, or its delete sent. Run it on every container node to cover everything
(each node then repairs its share). What AWS batch replication and MinIO's resync give, the
Swift way: no new state, the same code path as the daemon.

Progress goes to stderr (a live line on a terminal, a line per 10 % otherwise); a summary
line to stdout: rows checked, needing repair, repaired, deferred (``copy_after``), failed.
Exit status: 0; 1 when some row could not be repaired (each is named in one line on stderr);
2 for a config error, a bad date or an unknown container.
"""
import argparse
import datetime
import sys
import time

PROG = 'swift-s3-sync resync'
BATCH = 1000


def parse_args(argv):
    parser = argparse.ArgumentParser(prog=PROG, description='Re-check objects and repair.')
    parser.add_argument('--config', required=True, help='path to the JSON config (sync.json)')
    parser.add_argument('--since', metavar='DATE', help='only rows written since DATE')
    parser.add_argument('--container', action='append', metavar='NAME',
                        help='only this container (repeatable)')
    parser.add_argument('--all-rows', action='store_true',
                        help="every row of this node's replicas, not only its share")
    return parser.parse_args(argv)


def parse_date(text):
    """Epoch seconds of an ISO 8601 date or date-time (UTC unless it says otherwise)."""
    from s3_sync.config import ConfigError
    try:
        when = datetime.datetime.fromisoformat(text.replace('Z', '+00:00'))
    except ValueError:
        raise ConfigError('--since', 'not an ISO 8601 date: %r (e.g. 2026-12-01 or '
                                     '2026-12-01T10:00:00Z)' % text) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.timestamp()


def bar(done, total, width=30):
    """``[#########.....]  45%`` for a terminal's progress line."""
    frac = min(1.0, done / total) if total else 1.0
    filled = int(frac * width)
    return '[%s%s] %3d%%' % ('#' * filled, '.' * (width - filled), int(frac * 100))


class Progress:
    def __init__(self, total, out=sys.stderr):
        self.total = max(total, 1)
        self.out = out
        self.tty = out.isatty()
        self.done = 0
        self.shown = -1

    def step(self, n, repaired):
        self.done += n
        pct = 100 * self.done // self.total
        if self.tty:
            self.out.write('\rresync %s %d/%d rows, %d repaired' % (
                bar(self.done, self.total), self.done, self.total, repaired))
            self.out.flush()
        elif pct // 10 != self.shown:
            self.shown = pct // 10
            print('resync: %d/%d rows checked (%d%%), %d repaired' % (
                self.done, self.total, pct, repaired), file=self.out)

    def end(self):
        if self.tty:
            self.out.write('\n')


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from swift.common.utils import monkey_patch
    monkey_patch()
    from s3_sync.cli.exits import exit_status
    from s3_sync.config import ConfigError
    from s3_sync.status import StatusError
    return exit_status(PROG, lambda: report(*run(args)), ((ConfigError, 2), (StatusError, 1)),
                       unexpected=1)


def report(summary, failures):
    for line in failures:
        print('%s: %s' % (PROG, line), file=sys.stderr)
    print(summary)
    return 1 if failures else 0


def rows_of(broker, since, job, all_rows):
    """(rows read, the rows of them to re-check), batch by batch in ROWID order."""
    from s3_sync.crawler.ownership import owns
    from s3_sync.rows import meta_timestamp
    after = 0
    while True:
        rows = broker.get_items_since(after, BATCH)
        if not rows:
            return
        after = rows[-1]['ROWID']
        yield len(rows), [r for r in rows if (all_rows or owns(r['name'], job.index, job.count)) and
               (since is None or meta_timestamp(r) >= since)]


def run(args):
    import logging
    import eventlet
    from swift.container.backend import ContainerBroker
    from s3_sync.cli.status import check_containers, load
    from s3_sync.cli.sync import build_internal_client
    from s3_sync.log import FAILURES, one_line
    from s3_sync.status.report import local_jobs
    from s3_sync.sync.factory import SyncFactory
    from s3_sync.throttle import Throttles
    from s3_sync.sync.outcome import DestinationUnavailable, Retry

    since = parse_date(args.since) if args.since else None
    conf, node = load(args)
    logger = logging.getLogger('swift-s3-sync-resync')
    logger.addHandler(logging.NullHandler())
    logger.propagate = False
    containers = set(args.container) if args.container else None
    jobs = [j for j in local_jobs(conf, node, logger, containers) if j.db_path]
    check_containers(conf, args.container, {j.container for j in jobs})
    factory = SyncFactory(conf, build_internal_client(conf), logger)
    # a resync is remote traffic like the daemon's: the config's throttles hold for it too
    factory.throttles = Throttles(conf, shared_dir=conf.status_dir)
    brokers = [(job, ContainerBroker(job.db_path, account=job.db_account,
                                     container=job.db_container, logger=logger))
               for job in jobs]
    total = sum(max(b.get_max_row(), 0) for _j, b in brokers)
    progress = Progress(total)
    counts = dict(checked=0, needed=0, repaired=0, deferred=0, failed=0)
    failures = []
    pool = eventlet.GreenPool(conf.workers)
    start = time.monotonic()

    def repair(sync, job, row):
        try:
            outcome = sync.handle_row(row)
        except FAILURES as exc:
            return job, row, one_line(exc, first_line=True)
        return job, row, outcome

    for job, broker in brokers:
        sync = factory.for_container(job.mapping, job.account, job.container)
        try:
            sync.ready()
        except DestinationUnavailable as exc:
            failures.append('%s/%s: destination unusable: %s' % (job.account, job.container,
                                                                   exc))
            continue
        for scanned, rows in rows_of(broker, since, job, args.all_rows):
            need = sync.verify_rows(rows) if rows else []
            counts['checked'] += len(rows)
            counts['needed'] += len(need)
            for _job, row, outcome in pool.imap(lambda r: repair(sync, job, r), need):
                if outcome is None:
                    counts['repaired'] += 1
                elif isinstance(outcome, Retry) and outcome.error is None:
                    counts['deferred'] += 1
                else:
                    counts['failed'] += 1
                    error = outcome.error if isinstance(outcome, Retry) else outcome
                    failures.append('%s/%s/%s: %s' % (job.account, job.container,
                                                      row['name'], error))
            progress.step(scanned, counts['repaired'])
    progress.end()
    factory.close()
    summary = ('resync: %(checked)d rows checked, %(needed)d missing or different, '
               '%(repaired)d repaired, %(deferred)d deferred (copy_after), %(failed)d failed'
               % counts) + ' in %d DB(s), %.1fs' % (len(brokers), time.monotonic() - start)
    return summary, failures


if __name__ == '__main__':
    sys.exit(main())

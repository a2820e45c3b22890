"""``swift-s3-migrator``: pulls data from S3 or another Swift into this cluster, live.

    swift-s3-migrator --config /etc/swift-s3-sync/sync.json [--once] [--log-level L] [--console]
    swift-s3-migrator --config /etc/swift-s3-sync/sync.json --status

Run one per container node (as the sync daemon): each node migrates the containers of which it
holds a primary replica, and within them the objects its replica owns, so the nodes share the
work without talking to each other. The node is identified by ``swift_bind_ip`` /
``swift_bind_port`` and, when given, ``devices``. ``migrations[]`` say what to migrate,
``migrator_settings`` how (status file, page size, workers, segment size, logging, statsd
prefix).

``--status`` prints, per migrated container of this node's status file, the objects and bytes
copied, scanned and deleted, the errors, what the source holds and what remains of the current
scan (a Swift container's count; for S3, what the last full scan listed), the scan's age and
the marker, and exits. With ``statsd_host``, the counters ``copied_objects``, ``bytes``,
``scanned``, ``deleted_objects`` and ``errors`` go out as pages finish, and the gauges
``remaining_objects`` (where known), ``pass_errors`` and ``pass_age`` after every page.

Exit status as ``swift-s3-sync``: 0 a clean stop (SIGTERM/SIGINT: the page in flight finishes
and the status file is saved; the end of ``--once``; nothing to migrate), 2 a wrong config (one
line naming the file and the key, e.g. an unknown ``storage_policy``), 1 anything else.
"""
import argparse
import dataclasses
import json
import sys

from s3_sync.cli.sync import LOG_LEVELS, StopRequest, run_until_stopped

PROG = 'swift-s3-migrator'


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog=PROG, description='Migrate S3 buckets or Swift containers into this cluster.')
    parser.add_argument('--config', required=True, help='path to the JSON config (sync.json)')
    parser.add_argument('--once', action='store_true', help='run one cycle and exit')
    parser.add_argument('--status', action='store_true', help='print progress and exit')
    parser.add_argument('--log-level', choices=LOG_LEVELS, help='overrides log_level')
    parser.add_argument('--console', action='store_true', help='log to stderr')
    return parser.parse_args(argv)


def main(argv=None):
    stop = StopRequest()
    stop.install()
    from swift.common.utils import monkey_patch
    monkey_patch()
    return run(argv, stop)


def run(argv=None, stop=None):
    return run_until_stopped(_run, parse_args(sys.argv[1:] if argv is None else argv), stop)


def load(path):
    """The config and its ``migrator_settings``; ConfigError when the migrator cannot run."""
    from s3_sync.config import ConfigError, load_config
    conf = load_config(path, for_daemon=False)
    if conf.migrator_settings is None:
        raise ConfigError('migrator_settings', 'missing required key (the migrator needs '
                          'status_file and items_chunk)', path)
    return conf, conf.migrator_settings


def _run(args, stop):
    from s3_sync.config import ConfigError
    from s3_sync.log import one_line, setup_logging
    logger = None

    def refuse(exc):
        print('%s: %s' % (PROG, exc), file=sys.stderr)
        if logger is not None and not args.console:
            logger.error('%s', exc)
        return 2

    try:
        conf, settings = load(args.config)
        if args.status:
            return print_status(settings['status_file'])
        log_conf = dataclasses.replace(conf, log_file=settings['log_file'],
                                       log_level=settings['log_level'],
                                       syslog=settings['syslog'])
        logger = setup_logging(log_conf, console=args.console, level=args.log_level,
                               name=PROG, config_path=args.config)
    except ConfigError as exc:
        return refuse(exc)
    stop.logger = logger
    for warning in conf.warnings:
        logger.warning('%s: %s', args.config, warning)
    if not conf.migrations:
        logger.info('no migrations in %s; nothing to do', args.config)
        return 0
    try:
        migrator = build(conf, settings, logger)
        stop.crawler = migrator
        if stop.signum is None:
            migrator.run_once() if args.once else migrator.run_forever()
    except ConfigError as exc:
        exc.path = args.config
        return refuse(exc)
    except Exception as exc:
        logger.error('stopped by an unexpected error: %s: %s', type(exc).__name__,
                     one_line(exc, first_line=True))
        logger.debug('the unexpected error', exc_info=True)
        return 1
    logger.info('stopped')
    return 0


def build(conf, settings, logger):
    """The Migrator, each start-up step's failure a ConfigError naming its key."""
    from s3_sync.config import ConfigError
    from s3_sync.log import one_line
    from s3_sync.migrator.local_store import LocalStore
    from s3_sync.migrator.pages import PageBoard
    from s3_sync.migrator.placement import Placement
    from s3_sync.migrator.runner import Migrator
    from s3_sync.migrator.status import StatusFile
    from s3_sync.swift_env import make_internal_client, setup_swift
    from swift.common.storage_policy import POLICIES
    from swift.common.utils import validate_hash_conf

    def step(key, fn, *args, **kw):
        try:
            return fn(*args, **kw)
        except (Exception, SystemExit) as exc:
            raise ConfigError(key, one_line(exc, first_line=True)) from exc

    def setup():
        setup_swift(conf.swift_dir)
        validate_hash_conf()

    step('swift_dir', setup)
    for migration in conf.migrations:
        if migration.storage_policy and \
                POLICIES.get_by_name(migration.storage_policy) is None:
            raise ConfigError('%s.storage_policy' % migration.where, 'no storage policy "%s" '
                              'in %s/swift.conf' % (migration.storage_policy, conf.swift_dir))
    placement = step('migrator_settings.ring_name', Placement, conf.devices, conf.swift_dir,
                     conf.swift_bind_ip, conf.swift_bind_port,
                     ring_name=settings['ring_name'])
    if not placement.has_devices():
        logger.warning('no device of the %s ring is this node\'s (swift_bind_ip %s): nothing '
                       'is migrated here', settings['ring_name'], conf.swift_bind_ip)
    client = step('internal_client_path', make_internal_client, conf, request_tries=2)
    status = step('migrator_settings.status_file', StatusFile, settings['status_file'],
                  logger)
    stats_conf = dataclasses.replace(conf, statsd_prefix=settings['statsd_prefix'])
    return Migrator(conf, settings, LocalStore(client), placement, status, logger,
                    stats_conf=stats_conf, pages=PageBoard(client, logger))


def print_status(path):
    """One block per migrated container of the status file (exit 0; 2 when unreadable)."""
    import time
    from s3_sync.migrator.status import FROM_CONTAINER, progress
    try:
        with open(path) as f:
            text = f.read()
        entries = json.loads(text) if text.strip() else []
    except FileNotFoundError:
        entries = []
    except (OSError, ValueError) as exc:
        print('%s: %s: unreadable status file: %s' % (PROG, path, exc), file=sys.stderr)
        return 2
    if not entries:
        print('no migration progress recorded in %s' % path)
    for entry in entries:
        status = entry.get('status', {})
        print('%s/%s <- %s %s' % (entry.get('account'), entry.get('container'),
                                  entry.get('protocol', 's3'), entry.get('aws_bucket')))
        print('  copied %d objects, %d bytes; scanned %d; deleted %d; skipped %d; errors %d'
              % tuple(status.get(k, 0) for k in (
                  'moved_count', 'bytes_count', 'scanned_count', 'deleted_count',
                  'skipped_count', 'errors_count')))
        print('  previous full scan: copied %d objects, %d bytes; scanned %d' % tuple(
            status.get(k, 0) for k in ('last_moved_count', 'last_bytes_count',
                                       'last_scanned_count')))
        figures = progress(status, time.time())
        if status.get('source_count') is not None:
            print('  the source holds %d objects (%s); this scan has listed %d so far, %d '
                  'remaining' % (status['source_count'],
                                 'its container\'s count' if status.get('source_count_from')
                                 == FROM_CONTAINER else 'listed by the last full scan',
                                 status.get('scanned_count', 0),
                                 figures['remaining_objects']))
        if status.get('pass_started'):
            print('  this scan began %.0f s ago; %d errors in it' % (
                figures['pass_age'], figures['pass_errors']))
        print('  marker %r; last page at %s' % (status.get('marker', ''),
                                                 status.get('finished')))
    return 0


if __name__ == '__main__':
    sys.exit(main())

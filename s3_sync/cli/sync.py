"""``swift-s3-sync``: the sync daemon of one container node.

    swift-s3-sync --config /etc/swift-s3-sync/sync.json [--once] [--log-level L] [--console]

Run one per container node (systemd or cron with ``--once``). The node is identified by the
config's ``devices``, ``swift_bind_ip`` and ``swift_bind_port``, so several nodes on one host each
run their own daemon over their own DB replicas. Exit status: 0 on a clean stop, 2 on an invalid
config (one line on stderr says which file and key), 1 when the daemon could not start.

SIGTERM (and SIGINT) is a clean stop: the rows in flight finish, no new chunk is started, the
status files are saved, and the process exits 0. Nothing is interrupted half-way, so a remote
object is never left half-written by a stop (a kill -9 is covered by the checkpoints instead).
"""
import argparse
import signal
import sys

LOG_LEVELS = ('debug', 'info', 'warning', 'error')


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog='swift-s3-sync',
        description='Propagate Swift container changes to S3 or another Swift.')
    parser.add_argument('--config', required=True, help='path to the JSON config (sync.json)')
    parser.add_argument('--once', action='store_true', help='run one pass and exit')
    parser.add_argument('--log-level', choices=LOG_LEVELS, help='overrides log_level')
    parser.add_argument('--console', action='store_true', help='log to stderr')
    return parser.parse_args(argv)


def main(argv=None):
    """The program: green the process the way every Swift daemon does, then run."""
    # Green sockets for boto3/urllib3 before anything imports them: rows are handled by
    # eventlet green threads, and one blocking socket would stall them all. Swift's patch
    # (sockets, select, threads, and its logging lock) leaves os and time alone.
    from swift.common.utils import monkey_patch
    monkey_patch()
    return run(argv)


def run(argv=None):
    """Everything but the monkey-patching, so tests can call it in their own process."""
    from s3_sync.config import ConfigError, load_config
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        conf = load_config(args.config, for_daemon=True)
    except ConfigError as exc:
        print('swift-s3-sync: %s' % exc, file=sys.stderr)
        return 2

    from s3_sync.log import setup_logging
    try:
        logger = setup_logging(conf, console=args.console, level=args.log_level,
                               config_path=args.config)
    except ConfigError as exc:
        print('swift-s3-sync: %s' % exc, file=sys.stderr)
        return 2
    for warning in conf.warnings:
        logger.warning('%s: %s', args.config, warning)
    if not conf.containers:
        logger.info('no containers mapped in %s; nothing to do', args.config)
        return 0
    try:
        crawler = build_crawler(conf, logger)
    except Exception as exc:   # a bad ring, unreadable devices dir...: say it in one line
        logger.error('cannot start: %s', exc)
        return 1

    def stop(signum, _frame):
        # Only a flag: the crawl notices it between chunks, so no green thread is unwound
        # mid-request and every status file is saved.
        logger.info('%s: stopping after the rows in flight', signal.Signals(signum).name)
        crawler.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        if args.once:
            crawler.run_once()
        else:
            crawler.run_forever()
    finally:
        crawler.close()
    logger.info('stopped')
    return 0


def build_crawler(conf, logger):
    from s3_sync.crawler.crawler import Crawler
    from s3_sync.swift_env import make_internal_client, setup_swift
    from s3_sync.sync.factory import SyncFactory

    setup_swift(conf.swift_dir)
    internal_client = make_internal_client(conf)
    factory = SyncFactory(conf, internal_client, logger)
    return Crawler(conf, factory, logger, internal_client=internal_client)


if __name__ == '__main__':
    sys.exit(main())

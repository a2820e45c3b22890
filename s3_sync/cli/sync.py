"""``swift-s3-sync``: the sync daemon of one container node.

    swift-s3-sync --config /etc/swift-s3-sync/sync.json [--once] [--log-level L] [--console]

Run one per container node (systemd or cron with ``--once``). The node is identified by the
config's ``devices``, ``swift_bind_ip`` and ``swift_bind_port``, so several nodes on one host each
run their own daemon over their own DB replicas.

Exit status:

- 0: a clean stop (SIGTERM, SIGINT, the end of ``--once``, or no container mapped).
- 2: the config is wrong, and starting again will not help until someone fixes it (the README's
  systemd unit has ``RestartPreventExitStatus=2``). One line on stderr names the file and the
  key. That is: the file cannot be read or parsed, or a key is refused (see
  ``s3_sync.config``); or what a key names is not usable on this node: ``devices`` is no
  directory, ``status_dir`` is no writable directory and cannot be created, ``swift_dir`` has
  no readable ``swift.conf`` with a hash path prefix or suffix, or its rings do not load,
  ``internal_client_path`` names a file that is missing or is no InternalClient config,
  ``log_file`` cannot be opened, ``syslog`` cannot be reached.
- 1: anything else stopped the daemon (an unexpected error, e.g. a bug): one line in the log;
  a restart may help, so systemd restarts it (``--log-level debug`` adds the traceback).

A config that loads but cannot sync anything on this node (no device of the container ring is
this node's, or none of them is under ``devices``) is a warning, not a refusal: a node whose
devices were drained from the ring runs idle legitimately.

SIGTERM (and SIGINT) is a clean stop: the rows in flight finish, no new chunk is started, the
status files are saved, and the process exits 0. Nothing is interrupted half-way, so a remote
object is never left half-written by a stop (a kill -9 is covered by the checkpoints instead).
A signal that arrives while the daemon is still starting stops it before its first pass.
"""
import argparse
import os
import signal
import sys

LOG_LEVELS = ('debug', 'info', 'warning', 'error')
PROG = 'swift-s3-sync'


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog=PROG, description='Propagate Swift container changes to S3 or another Swift.')
    parser.add_argument('--config', required=True, help='path to the JSON config (sync.json)')
    parser.add_argument('--once', action='store_true', help='run one pass and exit')
    parser.add_argument('--dry-run', action='store_true',
                        help='one pass that logs what it would upload, delete and archive, '
                             'and changes nothing')
    parser.add_argument('--log-level', choices=LOG_LEVELS, help='overrides log_level')
    parser.add_argument('--console', action='store_true', help='log to stderr')
    return parser.parse_args(argv)


class StopRequest:
    """SIGTERM/SIGINT handler: only a flag (and the crawler's own flag once there is one). The
    crawl notices it between chunks, so no green thread is unwound mid-request and every status
    file is saved."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self):
        self.signum = None
        self.crawler = None
        self.logger = None
        self._previous = {}

    def __call__(self, signum, _frame):
        self.signum = signum
        if self.logger is not None:
            self.logger.info('%s: stopping after the rows in flight',
                             signal.Signals(signum).name)
        if self.crawler is not None:
            self.crawler.stop()

    def install(self):
        for signum in self.SIGNALS:
            self._previous.setdefault(signum, signal.signal(signum, self))

    def restore(self):
        """Give back the handlers we replaced (tests run the daemon in their own process)."""
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}


# Operator commands: ``swift-s3-sync <command> --config PATH ...`` (each module's doc).
COMMANDS = {'status': 's3_sync.cli.status', 'retry-failed': 's3_sync.cli.retry',
            'resync': 's3_sync.cli.resync'}


def main(argv=None):
    """The program: green the process the way every Swift daemon does, then run."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in COMMANDS:
        import importlib
        return importlib.import_module(COMMANDS[argv[0]]).main(argv[1:])
    # First of all, so a stop sent while Swift is imported is a clean stop too.
    stop = StopRequest()
    stop.install()
    # Green sockets for boto3/urllib3 before anything imports them: rows are handled by
    # eventlet green threads, and one blocking socket would stall them all. Swift's patch
    # (sockets, select, threads, and its logging lock) leaves os and time alone.
    from swift.common.utils import monkey_patch
    monkey_patch()
    return run(argv, stop)


def run(argv=None, stop=None):
    """Everything but the monkey-patching, so tests can call it in their own process."""
    return run_until_stopped(_run, parse_args(sys.argv[1:] if argv is None else argv), stop)


def run_until_stopped(body, args, stop=None):
    """``body(args, stop)`` with a StopRequest installed for it (``stop``, or one of its own
    that is restored afterwards, as tests calling it in their own process need)."""
    own_stop = stop is None
    if own_stop:
        stop = StopRequest()
        stop.install()
    try:
        return body(args, stop)
    finally:
        if own_stop:
            stop.restore()


def _run(args, stop):
    from s3_sync.config import ConfigError, load_config
    from s3_sync.log import setup_logging
    logger = None

    def refuse(exc):
        # stderr is what systemd's journal keeps; the log file gets the line too.
        print('%s: %s' % (PROG, exc), file=sys.stderr)
        if logger is not None and not args.console:
            logger.error('%s', exc)
        return 2

    try:
        conf = load_config(args.config, for_daemon=True)
        logger = setup_logging(conf, console=args.console, level=args.log_level,
                               config_path=args.config)
    except ConfigError as exc:
        return refuse(exc)
    stop.logger = logger
    for warning in conf.warnings:
        logger.warning('%s: %s', args.config, warning)
    if not conf.containers:
        logger.info('no containers mapped in %s; nothing to do', args.config)
        return 0
    if conf.processes > 1 and conf.process is None:
        try:
            check_node_paths(conf)
        except ConfigError as exc:
            exc.path = args.config
            return refuse(exc)
        from s3_sync.crawler.workers import Supervisor
        from s3_sync.providers.s3_client import warm_up
        try:
            warm_up(conf.containers)
        except Exception as exc:    # each child makes its own client and reports a problem
            logger.debug('S3 client warm-up skipped: %s', exc)
        supervisor = Supervisor(conf.processes,
                                lambda index: _crawl(args, conf, logger, stop, refuse, index),
                                logger)
        stop.crawler = supervisor
        return supervisor.run() if stop.signum is None else 0
    return _crawl(args, conf, logger, stop, refuse, conf.process or 0)


def _crawl(args, conf, logger, stop, refuse, process):
    """Crawl this process's share of the node's containers (all of them with one process)."""
    from s3_sync.config import ConfigError
    from s3_sync.log import one_line
    stop.crawler = None
    crawler = None
    try:
        check_node_paths(conf)
        crawler = build_crawler(conf, logger, process)
        for warning in node_warnings(conf, crawler.node):
            logger.warning('%s: %s', args.config, warning)
        stop.crawler = crawler
        if args.dry_run:
            from s3_sync.dryrun import make_dry
            make_dry(crawler, logger)
            logger.info('dry run: one pass, nothing is written')
            if stop.signum is None:
                crawler.run_once()
            logger.info('stopped')
            return 0
        reporter = build_reporter(conf, crawler, logger)
        if stop.signum is None:
            # before any row: what a kill -9 left open on the remotes
            crawler.factory.abort_left_uploads()
            if args.once:
                crawler.run_once()
            else:
                import eventlet
                thread = eventlet.spawn(reporter.run)
                crawler.run_forever()
                thread.wait()
            reporter.publish()
    except ConfigError as exc:
        exc.path = args.config
        return refuse(exc)
    except Exception as exc:
        logger.error('stopped by an unexpected error: %s: %s', type(exc).__name__,
                     one_line(exc, first_line=True))
        logger.debug('the unexpected error', exc_info=True)
        return 1
    finally:
        if crawler is not None:
            crawler.close()
    logger.info('stopped')
    return 0


def check_node_paths(conf):
    """The paths the config names must be usable here: a ConfigError (exit 2) names the key.
    Without this, a wrong ``devices`` or ``status_dir`` made the daemon run and sync nothing,
    and a wrong ``swift_dir`` crashed it later with an error naming no key."""
    from s3_sync.config import ConfigError

    def directory(key, path, access, what):
        if not os.path.exists(path):
            raise ConfigError(key, 'no such directory: %s' % path)
        if not os.path.isdir(path):
            raise ConfigError(key, 'not a directory: %s' % path)
        if not os.access(path, access):
            raise ConfigError(key, 'cannot %s %s (permissions)' % (what, path))

    directory('devices', conf.devices, os.R_OK | os.X_OK, 'list')
    if not os.path.exists(conf.status_dir):
        # The daemon creates it as it writes status files; creating it now tells at once
        # whether it can.
        try:
            os.makedirs(conf.status_dir, exist_ok=True)
        except OSError as exc:
            raise ConfigError('status_dir', 'cannot create %s: %s' % (
                conf.status_dir, exc.strerror or exc))
    directory('status_dir', conf.status_dir, os.W_OK | os.X_OK, 'write in')
    directory('swift_dir', conf.swift_dir, os.R_OK | os.X_OK, 'read')
    swift_conf = os.path.join(conf.swift_dir, 'swift.conf')
    try:
        with open(swift_conf, 'rb'):
            pass
    except OSError as exc:
        raise ConfigError('swift_dir', 'cannot read %s: %s' % (swift_conf, exc.strerror or exc))
    if conf.internal_client_path != default_internal_client_path(conf) and \
            not os.path.isfile(conf.internal_client_path):
        # Only the default path may be missing (a built-in pipeline is used then): a path the
        # operator wrote down is meant to be used.
        raise ConfigError('internal_client_path', '%s: %s' % (
            'not a file' if os.path.exists(conf.internal_client_path) else 'no such file',
            conf.internal_client_path))


def default_internal_client_path(conf):
    from s3_sync.config.schema import DERIVED_DEFAULTS
    return DERIVED_DEFAULTS['internal_client_path']({'swift_dir': conf.swift_dir})


def _step(key, fn, *args):
    """``fn(*args)``, its failure a ConfigError naming ``key`` (the key whose file it read)."""
    from s3_sync.config import ConfigError
    from s3_sync.log import one_line
    try:
        return fn(*args)
    # Swift's set_swift_dir calls sys.exit() on a swift.conf without a hash path prefix
    # or suffix.
    except (Exception, SystemExit) as exc:
        raise ConfigError(key, one_line(exc, first_line=True)) from exc


def build_node(conf):
    """Swift set up from ``swift_dir`` and this node's view of the container ring."""
    from s3_sync.crawler.node import LocalNode
    from s3_sync.swift_env import setup_swift
    from swift.common.utils import validate_hash_conf

    def setup():
        setup_swift(conf.swift_dir)
        # Otherwise a swift.conf without a hash path prefix or suffix fails every crawl.
        validate_hash_conf()

    _step('swift_dir', setup)
    return _step('swift_dir', LocalNode, conf.devices, conf.swift_dir, conf.swift_bind_ip,
                 conf.swift_bind_port)


def build_internal_client(conf):
    from s3_sync.swift_env import make_internal_client
    ic_key = 'internal_client_path' if os.path.exists(conf.internal_client_path) \
        else 'swift_dir'
    return _step(ic_key, make_internal_client, conf)


def build_crawler(conf, logger, process=0):
    """The crawler, with each start-up step's failure a ConfigError naming the key whose file
    it read (a bad swift.conf or ring, an InternalClient config that does not load)."""
    from s3_sync.crawler.crawler import Crawler
    from s3_sync.sync.factory import SyncFactory
    node = build_node(conf)
    internal_client = build_internal_client(conf)
    factory = SyncFactory(conf, internal_client, logger)
    return Crawler(conf, factory, logger, node=node, internal_client=internal_client,
                   process=process)


def build_reporter(conf, crawler, logger):
    """The operations reporter (s3_sync/status/reporter.py), told of every full pass."""
    from s3_sync.status.reporter import Reporter
    from s3_sync.crawler.failures import Redrive
    from s3_sync.throttle import DeleteRails, Throttles
    rails = DeleteRails(conf.status_dir, logger, process=crawler.process)
    throttles = Throttles(conf, shared_dir=conf.status_dir)
    crawler.factory.delete_rail = rails
    crawler.factory.throttles = throttles
    reporter = Reporter(conf, crawler, crawler.internal_client, logger)
    reporter.extras.append(lambda: {'deletes_held': rails.held(),
                                    'throttles': throttles.describe()})
    crawler.observers.extend([reporter.cycle_done, rails.new_pass])
    crawler.progress_hooks.append(Redrive(conf.status_dir, logger, rails=rails))
    return reporter


def node_warnings(conf, node):
    """Why this node will sync nothing, if it will not: the ring has no device at this node's
    address, or none of those devices is under ``devices``."""
    ours = [dev for dev in node.ring.devs if dev and node.is_local(dev)]
    where = 'swift_bind_ip %s%s' % (conf.swift_bind_ip, '' if conf.swift_bind_port is None
                                    else ', swift_bind_port %s' % conf.swift_bind_port)
    if not ours:
        return ['no device of the container ring is this node\'s (%s): nothing is synced '
                'here' % where]
    if not any(os.path.isdir(os.path.join(conf.devices, dev['device'])) for dev in ours):
        return ['none of this node\'s container ring devices (%s) is under devices %s: '
                'nothing is synced here' % (', '.join(sorted({d['device'] for d in ours})),
                                            conf.devices)]
    return []


if __name__ == '__main__':
    sys.exit(main())

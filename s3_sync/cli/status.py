"""``swift-s3-sync status``: is it synced yet?

    swift-s3-sync status --config PATH [--json] [--cluster] [--container NAME ...]

Without ``--cluster``: this node, computed now from its container DB replicas and the daemon's
status files (read only; the daemon may run meanwhile), plus the daemon's last pass from its
recon file. Per mapping and container: rows behind (owned rows not yet on the remote, failed
ones included), the lag (age of the oldest of them), bytes pending, rows deferred by
``copy_after`` and when the next comes due, failed rows with their last error, attempts and
next retry. See :mod:`s3_sync.status.report` for the exact definitions.

``--cluster``: every container node's daemon at once, from the reports the daemons publish in
the cluster every ``stats_interval`` (:mod:`s3_sync.status.cluster`); nodes of the container ring
that never reported, or not lately, are flagged. Figures are summed over the nodes (the lag is
the worst node's).

``--json`` prints the report as JSON instead of a table. Exit status: 0; 1 when the figures
cannot be had (a corrupt or unreadable status file, the cluster unreachable); 2 for a config
error or an unknown container. Always one line on stderr, never a traceback.
"""
import argparse
import json
import logging
import sys

PROG = 'swift-s3-sync status'


def parse_args(argv):
    parser = argparse.ArgumentParser(prog=PROG, description='How far behind the sync is.')
    parser.add_argument('--config', required=True, help='path to the JSON config (sync.json)')
    parser.add_argument('--json', action='store_true', help='machine-readable output')
    parser.add_argument('--cluster', action='store_true',
                        help="every node's daemon, from the reports they publish")
    parser.add_argument('--container', action='append', metavar='NAME',
                        help='only this container (repeatable)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from s3_sync.cli.exits import exit_status
    from s3_sync.config import ConfigError
    from s3_sync.status import StatusError
    # Anything else is a bug or an environment problem: still one line.
    return exit_status(PROG, lambda: show(args, build(args)),
                       ((ConfigError, 2), (StatusError, 1)), unexpected=1)


def show(args, report):
    if args.json:
        print(json.dumps(report, indent=1, sort_keys=True))
    else:
        from s3_sync.status import render
        print(render.cluster_text(report) if args.cluster else render.node_text(report))
    return 0


def quiet_logger():
    logger = logging.getLogger('swift-s3-sync-status')
    logger.addHandler(logging.NullHandler())
    logger.propagate = False
    return logger


def load(args):
    """The config, Swift set up from its ``swift_dir``, and this node."""
    import os
    from s3_sync.cli.sync import build_node
    from s3_sync.config import load_config
    from s3_sync.status import StatusError
    conf = load_config(args.config, for_daemon=True)
    # Missing is fine: the daemon has not run here yet, and every row is behind.
    if os.path.exists(conf.status_dir) and not os.path.isdir(conf.status_dir):
        raise StatusError('status_dir %s is not a directory' % conf.status_dir)
    if os.path.isdir(conf.status_dir) and not os.access(conf.status_dir, os.R_OK | os.X_OK):
        raise StatusError('status_dir %s cannot be read (permissions)' % conf.status_dir)
    return conf, build_node(conf)


def check_containers(conf, names, known):
    """An unknown container is an error: no mapping names it, or it has nothing here."""
    from s3_sync.config import ConfigError
    for name in names or ():
        named = any(m.container == name for m in conf.containers)
        if not named and name not in known:
            raise ConfigError('--container', '%s: no mapping of the config names it%s' % (
                name, ' (and no "/*" mapping has synced it on this node)' if any(
                    m.per_account for m in conf.containers) else ''))


def build(args):
    from s3_sync.status import cluster, recon
    from s3_sync.status.report import node_report
    conf, node = load(args)
    logger = quiet_logger()
    if args.cluster:
        from s3_sync.cli.sync import build_internal_client
        merged = cluster.merge(cluster.collect(build_internal_client(conf)),
                               cluster.ring_nodes(node.ring))
        check_containers(conf, args.container, {c['container'] for c in merged['containers']})
        if args.container:
            from s3_sync.status.report import totals
            merged['containers'] = [c for c in merged['containers']
                                    if c['container'] in args.container]
            merged['totals'] = totals(merged['containers'])
        return merged
    containers = set(args.container) if args.container else None
    report = node_report(conf, node, logger, containers=containers)
    check_containers(conf, args.container, {c['container'] for c in report['containers']})
    from s3_sync.throttle import read_held
    saved = recon.load(conf)
    report['last_pass'] = saved.get('last_pass')
    # A pass the daemon said was running, as of its last report.
    report['pass_started'] = saved.get('report', {}).get('pass_started')
    report['deletes_held'] = read_held(conf.status_dir)
    if 'throttles' in saved.get('report', {}):
        report['throttles'] = saved['report']['throttles']
    return report


if __name__ == '__main__':
    sys.exit(main())

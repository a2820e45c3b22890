"""``swift-s3-verify --audit``: compare a container with its remote copy.

    swift-s3-verify --audit --config PATH --container NAME [--account ACCOUNT] [--metadata]
                    [--json]

For each mapping of the container in the config, the local listing (through the cluster's
InternalClient) and the remote listing (the mapping's provider) are walked side by side in name
order, so memory stays flat whatever the size. Reported:

- **missing**: local objects with no remote copy (rows the daemon has not reached yet, or lost
  remote objects; excluded names are not counted);
- **extra**: remote objects with no local one (for archive mappings these are the archived
  objects, counted as ``archived``, not as a difference);
- **differing**: both there but not the same: ETag or size (SLOs, whose remote copy is one
  multipart object, by their total size), or, with ``--metadata``, the propagated headers
  (one local and one remote HEAD per object).

A progress line on stderr when it is a terminal; ``--json`` prints the whole report (lists in
full) for machines, otherwise a summary and the first names of each list. Exit status: 0 when
no difference, 1 when some, 2 for bad input (config, unknown container), 3 when a listing
fails — always one line, never a traceback.
"""
import argparse
import json
import re
import sys

PROG = 'swift-s3-verify --audit'
SHOWN = 20


class AuditError(Exception):
    """A listing or HEAD failed: one line."""


def parse_args(argv):
    parser = argparse.ArgumentParser(prog=PROG, description='Compare a container with its '
                                     'remote copy.')
    parser.add_argument('--audit', action='store_true', required=True)
    parser.add_argument('--config', required=True, help='path to the JSON config (sync.json)')
    parser.add_argument('--container', required=True)
    parser.add_argument('--account', help='when several mapped accounts have the container')
    parser.add_argument('--metadata', action='store_true',
                        help='compare the propagated headers too (a HEAD on each side)')
    parser.add_argument('--json', action='store_true', help='machine-readable report')
    return parser.parse_args(argv)


def mappings_for(conf, account, container):
    from s3_sync.config import ConfigError
    found = [m for m in conf.containers
             if (m.container == container or m.per_account) and
             (account is None or m.account == account)]
    if not found:
        raise ConfigError('--container', '%s: no mapping of the config names it' % container)
    return found


def is_slo(entry):
    return 'slo_etag' in entry or ';swift_bytes=' in entry.get('content_type', '')


def difference(local, remote):
    """Why ``remote`` (RemoteObject) is not the copy of ``local`` (a listing entry), or None."""
    if remote.size != local['bytes']:
        return 'size %d here, %d there' % (local['bytes'], remote.size)
    if not is_slo(local) and remote.etag != local['hash']:
        return 'ETag %s here, %s there' % (local['hash'], remote.etag)
    return None


class Walk:
    """One side-by-side walk of a local container and its remote copy."""

    def __init__(self, mapping, account, container, internal_client, provider, metadata,
                 progress):
        self.mapping = mapping
        self.account = account
        self.container = container
        self.ic = internal_client
        self.provider = provider
        self.metadata = metadata
        self.progress = progress
        pattern = mapping.exclude_pattern
        self.exclude = re.compile(pattern) if pattern else None
        self.report = {'account': account, 'container': container,
                       'aws_bucket': mapping.aws_bucket, 'archive': mapping.archive,
                       'compared': 0, 'local': 0, 'remote': 0, 'archived': 0,
                       'missing': [], 'extra': [], 'differing': []}

    def _local(self):
        try:
            for entry in self.ic.iter_objects(self.account, self.container):
                if self.exclude and self.exclude.match(entry['name']):
                    continue
                yield entry
        except Exception as exc:
            raise AuditError('local listing of %s/%s failed: %s' % (
                self.account, self.container, str(exc).splitlines()[0] if str(exc) else exc))

    def _remote(self):
        from s3_sync.providers.base import RemoteError
        try:
            yield from self.provider.iter_objects()
        except RemoteError as exc:
            raise AuditError('remote listing of %s failed: %s' % (self.mapping.aws_bucket,
                                                                   exc.message))

    def run(self):
        report = self.report
        local, remote = self._local(), self._remote()
        lo, re_ = next(local, None), next(remote, None)
        while lo is not None or re_ is not None:
            if re_ is None or (lo is not None and lo['name'] < re_.name):
                report['local'] += 1
                report['missing'].append(lo['name'])
                lo = next(local, None)
            elif lo is None or re_.name < lo['name']:
                report['remote'] += 1
                if self.mapping.archive:
                    report['archived'] += 1
                else:
                    report['extra'].append(re_.name)
                re_ = next(remote, None)
            else:
                report['local'] += 1
                report['remote'] += 1
                why = difference(lo, re_) or (self._metadata_difference(lo['name'])
                                              if self.metadata else None)
                if why:
                    report['differing'].append({'name': lo['name'], 'why': why})
                lo, re_ = next(local, None), next(remote, None)
            report['compared'] += 1
            self.progress(report)
        return report

    def _metadata_difference(self, name):
        from s3_sync import metadata
        from s3_sync.providers.base import RemoteError
        try:
            local = self.ic.get_object_metadata(self.account, self.container, name,
                                                acceptable_statuses=(2, 404))
            remote = self.provider.head_object(name)
        except RemoteError as exc:
            raise AuditError('remote HEAD of %s failed: %s' % (name, exc.message))
        except Exception as exc:
            raise AuditError('local HEAD of %s/%s/%s failed: %s' % (
                self.account, self.container, name, exc))
        if not local or remote is None:
            return None         # gone meanwhile: the next audit sees what replaced it
        local = {k.lower(): v for k, v in local.items()}
        if not metadata.metadata_matches(local, remote.headers or {}):
            return 'metadata differ'
        return None


def differences(report):
    return len(report['missing']) + len(report['extra']) + len(report['differing'])


def text(report):
    lines = ['%s/%s -> %s: %d compared (%d local, %d remote%s): %d missing, %d extra, '
             '%d differing' % (report['account'], report['container'], report['aws_bucket'],
                               report['compared'], report['local'], report['remote'],
                               ', %d archived' % report['archived'] if report['archive']
                               else '', len(report['missing']), len(report['extra']),
                               len(report['differing']))]
    for key in ('missing', 'extra'):
        for name in report[key][:SHOWN]:
            lines.append('  %s: %s' % (key, name))
        if len(report[key]) > SHOWN:
            lines.append('  ... %d more %s (--json lists all)' % (len(report[key]) - SHOWN, key))
    for item in report['differing'][:SHOWN]:
        lines.append('  differing: %s (%s)' % (item['name'], item['why']))
    if len(report['differing']) > SHOWN:
        lines.append('  ... %d more differing (--json lists all)' % (
            len(report['differing']) - SHOWN))
    return '\n'.join(lines)


def progress_line(out, total):
    """A progress bar over the local objects (``total`` from the container's HEAD) on a
    terminal; nothing otherwise."""
    if not out.isatty():
        return lambda report: None
    from s3_sync.cli.resync import bar

    def show(report):
        if report['compared'] % 100 == 0:
            out.write('\raudit %s/%s %s %d compared, %d missing, %d extra, %d differing' % (
                report['account'], report['container'], bar(report['local'], total),
                report['compared'], len(report['missing']), len(report['extra']),
                len(report['differing'])))
            out.flush()
    return show


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from s3_sync.cli.exits import exit_status
    from s3_sync.config import ConfigError
    return exit_status(PROG, lambda: audit(args), ((ConfigError, 2), (AuditError, 3)),
                       unexpected=3)


def audit(args):
    """Audit each mapping of the container and print the reports; the exit status."""
    from s3_sync.cli.sync import build_internal_client
    from s3_sync.config import load_config
    from s3_sync.swift_env import setup_swift
    conf = load_config(args.config, for_daemon=False)
    mappings = mappings_for(conf, args.account, args.container)
    setup_swift(conf.swift_dir)
    ic = build_internal_client(conf)
    reports = [audit_one(conf, mapping, args, ic) for mapping in mappings]
    if sys.stderr.isatty():
        sys.stderr.write('\n')
    if args.json:
        print(json.dumps(reports if len(reports) > 1 else reports[0], indent=1, sort_keys=True))
    else:
        print('\n'.join(text(r) for r in reports))
    return 1 if any(differences(r) for r in reports) else 0


def audit_one(conf, mapping, args, ic):
    from s3_sync.providers import create_provider
    account = mapping.account
    info = ic.get_container_metadata(account, args.container, acceptable_statuses=(2, 404))
    if not ic.container_exists(account, args.container):
        from s3_sync.config import ConfigError
        raise ConfigError('--container', '%s/%s: no such container' % (account,
                                                                       args.container))
    total = int(info.get('x-container-object-count') or 0)
    provider = create_provider(mapping, args.container if mapping.per_account else None)
    try:
        return Walk(mapping, account, args.container, ic, provider, args.metadata,
                    progress_line(sys.stderr, total)).run()
    finally:
        provider.close()

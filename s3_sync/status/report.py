"""The node report: how far behind each mapped container of this node is.

Computed from what the node holds, read only: its primary container DB replicas (the same ones
the daemon crawls, :mod:`s3_sync.crawler.node`) and the daemon's status files. For each DB of a
mapped container, with ``last_row`` its checkpoint and ``pending`` its retry list:

- ``rows_behind``: rows past the checkpoint that this replica owns (it propagates them), plus the
  pending rows that are due (failed ones waiting for their retry included);
- ``unscanned_rows``: every row past the checkpoint (the other replicas' share too);
- ``lag``: age, in seconds, of the oldest row not yet on the remote: the oldest owned row past
  the checkpoint or failed pending row (rows deferred by ``copy_after`` are not late: they are
  counted apart, with when the next one comes due);
- ``bytes_pending``: the sizes those rows give (deletes count 0);
- ``failed``: pending rows whose last attempt failed: their error, attempts and next retry.

A container's figures add up its DBs (a sharded root has one per shard). Rows of other replicas
are verified after ``verification_slack``, which is not counted here. Past ``SCAN_LIMIT`` rows
behind one checkpoint, the rest of the DB's share is estimated (its rows and bytes divided by
the number of replicas) and ``estimated`` is set.
"""
import json
import os
import socket
import time

from swift.common.utils import decode_timestamps
from swift.container.backend import SHARDING, ContainerBroker

from s3_sync.crawler.jobs import mapping_jobs, shard_jobs
from s3_sync.crawler.ownership import owns
from s3_sync.crawler.progress import status_path
from s3_sync.crawler.stamps import db_stamp, file_stamp
from s3_sync.status import StatusError

SCAN_CHUNK = 10000
# Rows past a checkpoint read one by one (ownership is a hash of each name); beyond this a
# DB's share is estimated from a count (a big backlog must not make every report a full scan).
SCAN_LIMIT = 200000
MAX_FAILED_LISTED = 50       # failed rows listed per container (all are counted)


def node_id(node):
    """How this node is named in cluster reports: the address of its first local ring device,
    else the host name."""
    ours = sorted({'%s:%s' % (d['ip'], d['port']) for d in node.ring.devs
                   if d and node.is_local(d)})
    return ours[0] if ours else socket.gethostname()


def read_status_file(status_dir, account, container):
    """The status file's JSON (``{}`` when there is none); StatusError when corrupt."""
    return read_json_object(status_path(status_dir, account, container), 'status file ')


def read_json_object(path, what=''):
    """The JSON object in ``path`` (``{}`` when there is none); StatusError, naming the file
    (``what`` says which kind), when it cannot be read or is not a JSON object."""
    try:
        with open(path, 'rb') as f:
            raw = f.read()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise StatusError('cannot read %s%s: %s' % (what, path, exc.strerror or exc))
    try:
        data = json.loads(raw.decode('utf-8'))
    except ValueError as exc:
        raise StatusError('%s%s is corrupt: %s' % (what, path, exc))
    if not isinstance(data, dict):
        raise StatusError('%s%s is corrupt: not a JSON object' % (what, path))
    return data


def status_containers(status_dir, account):
    """Containers of ``account`` that have a status file (the ``"/*"`` mappings' containers)."""
    account_dir = os.path.join(status_dir, account)
    try:
        names = os.listdir(account_dir)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise StatusError('cannot list %s: %s' % (account_dir, exc.strerror or exc))
    return sorted(n for n in names if not n.startswith('.') and '.corrupted.' not in n and
                  os.path.isfile(os.path.join(account_dir, n)))


def local_jobs(conf, node, logger, containers=None):
    """The DB jobs of this node's mapped containers (local roots and their local shards).

    ``containers`` limits them to those names. ``"/*"`` mappings cover the containers that have
    a status file (the daemon's listing of the account is not repeated here)."""
    jobs = []
    for index, mapping in enumerate(conf.containers):
        if containers is not None and not mapping.per_account and \
                mapping.container not in containers:
            continue

        def listed(account):
            names = status_containers(conf.status_dir, account)
            return [n for n in names if containers is None or n in containers]
        roots = mapping_jobs(index, mapping, node, listed, logger)
        jobs.extend(roots)
        for job in roots:
            if job.db_path and os.path.exists(job.db_path):
                broker = ContainerBroker(job.db_path, account=job.account,
                                         container=job.container, logger=logger)
                shards = [(sr.account, sr.container) for sr in broker.get_shard_ranges()]
                jobs.extend(shard_jobs(job, shards, node))
    return jobs


def _db_rows(broker, after, count):
    """(ROWID, name, created_at, size, deleted) of rows past ``after``, read only (the daemon,
    not this report, merges the DB's ``.pending`` file)."""
    with broker.get() as conn:
        return conn.execute(
            'SELECT ROWID, name, created_at, size, deleted FROM object WHERE ROWID > ? '
            'ORDER BY ROWID LIMIT ?', (after, count)).fetchall()


def _count_after(broker, after):
    """(rows, bytes of live rows) past ROWID ``after``."""
    with broker.get() as conn:
        return conn.execute('SELECT COUNT(*), TOTAL(CASE deleted WHEN 0 THEN size ELSE 0 END) '
                            'FROM object WHERE ROWID > ?', (after,)).fetchone()


def _row_by_id(broker, rowid):
    with broker.get() as conn:
        return conn.execute('SELECT ROWID, name, created_at, size, deleted FROM object '
                            'WHERE ROWID = ?', (rowid,)).fetchone()


def _db_id(broker):
    with broker.get() as conn:
        return conn.execute('SELECT id FROM container_stat').fetchone()[0]


def _meta_ts(created_at):
    return float(decode_timestamps(created_at)[2])


def db_figures(job, broker, entry, now, known=None):
    """The figures of one DB given its status-file entry (None: never crawled).

    ``known``: ``(db id, newest row)`` of a DB the daemon's last crawl left with nothing past
    its checkpoint and that has not changed since (``broker`` None): its figures come from
    the entry alone, or None when a failed row's age and size need the DB."""
    entry = entry if isinstance(entry, dict) else {}
    last_row = entry.get('last_row', 0) if isinstance(entry.get('last_row'), int) else 0
    pending = entry.get('pending') or {}
    if known is not None and any(isinstance(item, dict) and item.get('error') is not None
                                 for item in pending.values()):
        return None
    db_id, newest_row = known or (_db_id(broker), max(broker.get_max_row(), 0))
    fig = {'db_id': db_id, 'newest_row': newest_row,
           'checkpoint': last_row, 'verified_row': entry.get('last_verified_row', last_row),
           'rows_behind': 0, 'unscanned_rows': 0, 'bytes_pending': 0, 'oldest': None,
           'deferred': 0, 'next_due': None, 'failed': 0, 'failed_rows': [],
           'estimated': False}

    def late(created_at, size, deleted):
        ts = _meta_ts(created_at)
        fig['oldest'] = ts if fig['oldest'] is None else min(fig['oldest'], ts)
        fig['bytes_pending'] += 0 if deleted else size

    after = last_row
    while known is None:
        rows = _db_rows(broker, after, SCAN_CHUNK)
        for rowid, name, created_at, size, deleted in rows:
            fig['unscanned_rows'] += 1
            if owns(name, job.index, job.count):
                fig['rows_behind'] += 1
                late(created_at, size, deleted)
        if len(rows) < SCAN_CHUNK:
            break
        after = rows[-1][0]
        if fig['unscanned_rows'] >= SCAN_LIMIT:
            count, size = _count_after(broker, after)
            fig['unscanned_rows'] += count
            fig['rows_behind'] += count // job.count
            fig['bytes_pending'] += int(size) // job.count
            fig['estimated'] = True
            break
    for rowid, item in sorted(pending.items(), key=lambda kv: int(kv[0])):
        if not isinstance(item, dict):
            continue
        due = item.get('due', 0)
        if item.get('error') is None:
            fig['deferred'] += 1
            fig['next_due'] = due if fig['next_due'] is None else min(fig['next_due'], due)
            continue
        fig['failed'] += 1
        fig['rows_behind'] += 1
        row = _row_by_id(broker, int(rowid))
        if row is not None:
            late(row[2], row[3], row[4])
        if len(fig['failed_rows']) < MAX_FAILED_LISTED:
            fig['failed_rows'].append({'row': int(rowid), 'name': item.get('name'),
                                       'error': item.get('error'),
                                       'attempts': item.get('attempts', 0),
                                       'next_retry': due})
    return fig


def _brokers(job, logger):
    broker = ContainerBroker(job.db_path, account=job.db_account, container=job.db_container,
                             logger=logger)
    if not os.path.exists(job.db_path) or broker.is_deleted():
        return []
    return broker.get_brokers() if broker.get_db_state() == SHARDING else [broker]


CONTAINER_SUMS = ('rows_behind', 'unscanned_rows', 'bytes_pending', 'deferred', 'failed')


def container_report(mapping_index, mapping, account, container):
    return {'mapping': mapping_index, 'account': account, 'container': container,
            'aws_bucket': mapping.aws_bucket, 'protocol': mapping.protocol,
            'archive': mapping.archive, 'copy_after': mapping.copy_after, 'dbs': 0,
            'rows_behind': 0, 'unscanned_rows': 0, 'bytes_pending': 0, 'lag': 0.0,
            'oldest_unsynced': None, 'deferred': 0, 'next_due': None, 'failed': 0,
            'failed_rows': [], 'newest_row': 0, 'checkpoint': 0, 'estimated': False}


def add_db(report, fig, now):
    report['dbs'] += 1
    for key in CONTAINER_SUMS:
        report[key] += fig[key]
    report['newest_row'] = max(report['newest_row'], fig['newest_row'])
    report['checkpoint'] = max(report['checkpoint'], fig['checkpoint'])
    report['estimated'] = report['estimated'] or fig['estimated']
    if fig['oldest'] is not None and (report['oldest_unsynced'] is None or
                                      fig['oldest'] < report['oldest_unsynced']):
        report['oldest_unsynced'] = fig['oldest']
        report['lag'] = round(max(0.0, now - fig['oldest']), 3)
    if fig['next_due'] is not None and (report['next_due'] is None or
                                        fig['next_due'] < report['next_due']):
        report['next_due'] = fig['next_due']
    room = MAX_FAILED_LISTED - len(report['failed_rows'])
    report['failed_rows'].extend(fig['failed_rows'][:max(0, room)])


def node_report(conf, node, logger, jobs=None, containers=None, clock=time.time,
                figures=None, crawled=None):
    """Every mapped container of this node with its figures (see the module doc).

    ``figures``: a dict the caller keeps from one report to the next. A DB whose files and
    status file have the same exact stamp as at the last report (``crawler.stamps``: SQLite's
    change counter, the pending file, the status file) is not opened again: its figures
    cannot have changed (the lag is recomputed from the oldest row). Over many idle
    containers that is most of a report's cost.

    ``crawled(job)``: the daemon's ``Crawler.quiet_db``. A DB whose stamps are still those of
    a crawl that left nothing past its checkpoint is not opened either (over many containers
    each crawled once since the last report, the rest of that cost): its figures are the
    status file's, with the id and newest row the crawl read."""
    now = clock()
    if jobs is None:
        jobs = local_jobs(conf, node, logger, containers)
    reports = {}
    status_files = {}
    kept = {}
    for job in jobs:
        if not job.db_path:
            continue
        key = (job.mapping_index, job.account, job.container)
        if key not in reports:
            reports[key] = container_report(job.mapping_index, job.mapping, job.account,
                                            job.container)
        stamp = _stamp(conf, job) if figures is not None else None
        cached = figures.get(job.db_path) if stamp is not None else None
        if cached is not None and cached[0] == stamp:
            figs = cached[1]
        else:
            if (job.account, job.container) not in status_files:
                status_files[job.account, job.container] = read_status_file(
                    conf.status_dir, job.account, job.container)
            data = status_files[job.account, job.container]
            figs = _crawled_figures(job, stamp, crawled, data, now)
            if figs is None:
                figs = [db_figures(job, broker, data.get(_db_id(broker)), now)
                        for broker in _brokers(job, logger)]
        if stamp is not None:
            kept[job.db_path] = (stamp, figs)
        for fig in figs:
            add_db(reports[key], fig, now)
    if figures is not None:
        figures.clear()
        figures.update(kept)
    listed = sorted(reports.values(), key=lambda r: (r['mapping'], r['account'], r['container']))
    return {'node': node_id(node), 'host': socket.gethostname(), 'time': now,
            'containers': listed, 'totals': totals(listed)}


def _crawled_figures(job, stamp, crawled, data, now):
    """[figures] of a DB the crawler left quiet with these very stamps, or None."""
    quiet = crawled(job) if crawled is not None and stamp is not None else None
    if quiet is None or quiet[0] != stamp:
        return None
    fig = db_figures(job, None, data.get(quiet[1]), now, known=quiet[1:])
    return None if fig is None else [fig]


def _stamp(conf, job):
    """The DB's and its status file's stamps, taken before either is read (a change after
    this shows at the next report); None when the DB's cannot be told."""
    db = db_stamp(job.db_path)
    if db is None:
        return None
    return db, file_stamp(status_path(conf.status_dir, job.account, job.container))


def totals(containers):
    out = {key: sum(c[key] for c in containers) for key in CONTAINER_SUMS}
    out['lag'] = max((c['lag'] for c in containers), default=0.0)
    out['containers'] = len(containers)
    return out

"""Measurement 8: the cost of one poll over a big container with nothing new.

The rows are written straight into node 1's replica of the container DB (``merge_items`` in
batches), not PUT through the cluster: 100,000 real PUTs would take ten minutes here. Only
node 1's daemon runs. A first ``--once`` run sees every row (the mapping's ``exclude_pattern``
matches them all, so that pass costs no object reads and no remote requests); the second
``--once`` run, with the same status dir, is the measured idle poll. Its seconds and rows read
come from the daemon's own "cycle done" log line; remote requests from moto's access log.
"""
import re
import shutil
import time

from swift.common.ring import Ring
from swift.common.utils import Timestamp, hash_path, storage_directory
from swift.container.backend import DATADIR, ContainerBroker

from devenv.daemons import NodeDaemons, s3_mapping
from s3_sync.swift_env import setup_swift

BATCH = 10000
CYCLE = re.compile(r'cycle done in ([0-9.]+)s: (\d+) DBs, (\d+) rows scanned')


def node1_db(info, account, container):
    setup_swift(info['swift_dir'])
    part, nodes = Ring(info['swift_dir'], ring_name='container').get_nodes(account, container)
    node = info['nodes'][0]
    device = [n for n in nodes if n['ip'] == node['swift_bind_ip']][0]['device']
    digest = hash_path(account, container)
    return '%s/%s/%s/%s.db' % (node['devices'], device,
                               storage_directory(DATADIR, part, digest), digest)


def fill(db_path, account, container, rows):
    broker = ContainerBroker(db_path, account=account, container=container)
    for start in range(0, rows, BATCH):
        now = Timestamp.now().internal
        broker.merge_items([{
            'name': 'idle-%07d' % i, 'created_at': now, 'size': 4096,
            'content_type': 'application/octet-stream',
            'etag': 'd41d8cd98f00b204e9800998ecf8427e', 'deleted': 0,
            'storage_policy_index': 0, 'ctype_timestamp': None, 'meta_timestamp': None}
            for i in range(start, min(rows, start + BATCH))])


def cycle_lines(output):
    """(seconds, rows scanned) of every "cycle done" line (one per process of the daemon)."""
    return [(float(s), int(n)) for s, _dbs, n in CYCLE.findall(output)]


def cycle_line(output):
    found = CYCLE.findall(output)
    return (float(found[-1][0]), int(found[-1][2])) if found else (None, None)


def measure(benv, counter, plan, workers, scratch, log):
    rows = plan['idle_rows']
    container = benv.new_container('idle')
    bucket = benv.new_bucket('idle')
    db = node1_db(benv.info, benv.account, container)
    started = time.time()
    fill(db, benv.account, container, rows)
    log('idle: %d rows written into %s in %.1f s' % (rows, db, time.time() - started))
    target = benv.moto
    mapping = s3_mapping(target, bucket, benv.account, container, exclude_pattern='idle-')
    daemons = NodeDaemons(benv.info, [mapping], log_level='info', workers=workers,
                          items_chunk=1000)
    (rc, out), = daemons.run_once(nodes=[0], timeout=600)
    prime_s, prime_scanned = cycle_line(out)
    counter.reset()
    started = time.time()
    (rc2, out2), = daemons.run_once(nodes=[0], timeout=600)
    process_s = time.time() - started
    cycle_s, scanned = cycle_line(out2)
    shutil.rmtree(daemons.dir, ignore_errors=True)
    return {'rows': rows, 'prime_cycle_s': prime_s, 'prime_scanned': prime_scanned,
            'cycle_s': cycle_s, 'scanned': scanned, 'process_s': process_s,
            'remote_requests': counter.by_method(), 'exit': [rc, rc2],
            'note': 'Rows are younger than verification_slack, so the poll\'s verification pass '
                    'has nothing due either; with old rows it would have been done once, in the '
                    'pass that first saw them.'}

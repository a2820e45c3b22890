"""The cluster view: every node's report, without the daemons talking to each other.

Each daemon publishes its node report (every ``stats_interval``) as one object in a hidden
account of the cluster itself, ``.s3_sync/node-status/<node id>``, through its InternalClient
(the way Swift's own daemons keep state in ``.expiring_objects`` and ``.shards_*``). So
``swift-s3-sync status --cluster`` on any node reads them all with one listing and one GET per
node, and the container ring says which nodes should have reported: a node that never did, or
whose report is older than ``STALE_INTERVALS`` of its stats intervals (at least
``MIN_STALE_SECONDS``), is flagged.

``ACCOUNT`` is where every daemon of ours keeps what the nodes share (the migrator's listing
pages too: ``s3_sync.migrator.pages``); ``store`` writes one JSON document there.
"""
import io
import json
import time

from swift.common.internal_client import UnexpectedResponse

from s3_sync.status import ACCOUNT, STATUS_CONTAINER, StatusError
from s3_sync.status.report import CONTAINER_SUMS, MAX_FAILED_LISTED, totals

STALE_INTERVALS = 3
MIN_STALE_SECONDS = 30


def publish(internal_client, report):
    """Store this node's report in the cluster."""
    store(internal_client, STATUS_CONTAINER, report['node'], report)


def store(internal_client, container, name, doc, headers=None):
    """PUT ``doc`` as JSON at ``ACCOUNT/container/name`` (creating the container on first
    use)."""
    body = json.dumps(doc, sort_keys=True).encode('utf-8')
    headers = dict(headers or {}, **{'Content-Type': 'application/json'})
    try:
        internal_client.upload_object(io.BytesIO(body), ACCOUNT, container, name, headers)
    except Exception:
        internal_client.create_container(ACCOUNT, container)
        internal_client.upload_object(io.BytesIO(body), ACCOUNT, container, name, headers)


def collect(internal_client):
    """Every node's last published report."""
    reports = []
    try:
        names = [o['name'] for o in internal_client.iter_objects(
            ACCOUNT, STATUS_CONTAINER)]
    except UnexpectedResponse as exc:
        if exc.resp.status_int != 404:
            raise StatusError('cannot list the node reports in %s/%s: %s' % (
                ACCOUNT, STATUS_CONTAINER, exc.resp.status))
        names = []      # no daemon published yet: every node shows NO REPORT
    except Exception as exc:
        raise StatusError('cannot list the node reports in %s/%s: %s' % (
            ACCOUNT, STATUS_CONTAINER, str(exc).splitlines()[0] if str(exc) else exc))
    for name in names:
        try:
            _status, _headers, body = internal_client.get_object(
                ACCOUNT, STATUS_CONTAINER, name)
            reports.append(json.loads(b''.join(body).decode('utf-8')))
        except Exception:
            continue    # a report being replaced or gone: the node shows as missing
    return reports


def ring_nodes(ring):
    """``<ip>:<port>`` of every container server in the ring (the node ids daemons use)."""
    return sorted({'%s:%s' % (d['ip'], d['port']) for d in ring.devs if d})


def merge(reports, expected, clock=time.time):
    """The cluster report: one row per mapping and container over all nodes, and the nodes."""
    now = clock()
    nodes = []
    merged = {}
    seen = set()
    for report in sorted(reports, key=lambda r: r.get('node', '')):
        node = report.get('node')
        seen.add(node)
        age = max(0.0, now - report.get('time', 0))
        last = report.get('last_pass') or {}
        # Each node by its own interval (a --once node under cron reports once per run).
        stale_after = max(MIN_STALE_SECONDS,
                          STALE_INTERVALS * report.get('stats_interval', MIN_STALE_SECONDS))
        nodes.append({'node': node, 'host': report.get('host'), 'age': round(age, 1),
                      'stale': age > stale_after,
                      'last_pass': last, 'totals': report.get('totals', {}),
                      'pass_started': report.get('pass_started'),
                      'deletes_held': report.get('deletes_held', [])})
        for c in report.get('containers', []):
            key = (c['mapping'], c['account'], c['container'])
            into = merged.get(key)
            if into is None:
                into = merged[key] = dict(c, nodes=[], failed_rows=[])
                for k in CONTAINER_SUMS:
                    into[k] = 0
                into['lag'] = 0.0
                into['next_due'] = None
            into['nodes'].append(node)
            for k in CONTAINER_SUMS:
                into[k] += c.get(k, 0)
            into['lag'] = max(into['lag'], c.get('lag', 0.0))
            if c.get('next_due') is not None:
                into['next_due'] = c['next_due'] if into['next_due'] is None else min(
                    into['next_due'], c['next_due'])
            room = MAX_FAILED_LISTED - len(into['failed_rows'])
            into['failed_rows'].extend(
                dict(f, node=node) for f in c.get('failed_rows', [])[:max(0, room)])
    for node in expected:
        if node not in seen:
            nodes.append({'node': node, 'host': None, 'age': None, 'stale': True,
                          'last_pass': {}, 'totals': {}, 'missing': True, 'deletes_held': []})
    containers = sorted(merged.values(),
                        key=lambda r: (r['mapping'], r['account'], r['container']))
    return {'time': now, 'nodes': nodes, 'containers': containers, 'totals': totals(containers)}

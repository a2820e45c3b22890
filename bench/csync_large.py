"""Ours vs Swift's container-sync for SLOs, to the second Swift cluster (issue 11).

The source: ``count`` SLOs of ``mib`` MiB in 1 MiB segments, the manifests in one container,
their segments in ``<container>_segments`` (a fresh pair for each container-sync run, see
``measure``). Both contenders talk to the remote proxy directly (nothing in their path that
could cap them) and run as daemons, timed from their processes' start:

* ours: the three node daemons with a ``protocol: swift`` mapping of the manifests' container
  (segments go to ``<aws_bucket>_segments``, created by the daemon);
* container-sync: as a real operator configures it for SLOs, BOTH source containers carry an
  ``X-Container-Sync-To`` (the segments container to a remote container of the same name,
  since a manifest names its segments by path; the manifests to a fresh remote container).

A remote object is *complete* once its manifest AND every segment it names are stored: read
from the remote proxy's access log (``bench.accesslog``: the end of the last of those PUTs).
"Lag" is that time from the contender's start (a backlog: every object is there before it
starts). Two views of "a remote manifest without its segments":

* in the access log, exactly: a manifest PUT that ended before one of its segments' PUTs (the
  seconds it was exposed so);
* by polling the remote during the run (the bench's own requests, left out of the log
  figures): every
  ``POLL`` s the two remote containers are listed; a listed manifest with a segment missing
  from the listing is confirmed by a HEAD of that segment (a listing may lag a write), and
  counts as one moment.

After every run the remote is verified: exactly the expected manifests, each an SLO of the
source's size and ETag, every segment listed with its ETag, and one SLO read whole (md5).
"""
import concurrent.futures
import hashlib
import json
import os
import shutil
import threading
import time

from bench import accesslog, container_sync as csync, cost, phases
from bench.environment import PeakWatcher, stop_procs
from bench.stats import fmt, fmt_spread, spread
from devenv import sync_realms

SEGMENT = 2 ** 20
POLL = 1.0
POPULATE_THREADS = 8


def make_slos(benv, count, mib, prefix):
    """``count`` SLOs of ``mib`` 1 MiB segments in a fresh container pair; a dict
    describing them (container names, {manifest: [segment names]}, sizes, ETags)."""
    container = benv.new_container(prefix)
    segments = container + '_segments'
    benv.swift_conn().put_container(segments)
    conn_local = threading.local()
    filler = os.urandom(SEGMENT)

    def conn():
        if not hasattr(conn_local, 'conn'):
            conn_local.conn = benv.swift_conn()
        return conn_local.conn

    def put_segment(item):
        n, i = item
        name = 'slo-%03d/%06d' % (n, i)
        body = b'%04d%06d' % (n, i) + filler[10:]
        return name, conn().put_object(segments, name, body)

    items = [(n, i) for n in range(count) for i in range(mib)]
    with concurrent.futures.ThreadPoolExecutor(POPULATE_THREADS) as pool:
        seg_etags = dict(pool.map(put_segment, items))
    slos, etags = {}, {}
    for n in range(count):
        names = ['slo-%03d/%06d' % (n, i) for i in range(mib)]
        manifest = [{'path': '/%s/%s' % (segments, s), 'etag': seg_etags[s],
                     'size_bytes': SEGMENT} for s in names]
        name = 'slo-%03d' % n
        put_manifest(conn(), container, name, manifest)
        slos[name] = names
        etags[name] = conn().head_object(container, name)['etag'].strip('"')
    return {'container': container, 'segments': segments, 'slos': slos,
            'segment_etags': seg_etags, 'etags': etags, 'size': mib * SEGMENT}


def put_manifest(conn, container, name, manifest, tries=5):
    """The SLO's manifest PUT, again while Swift's check answers 400: on a busy cluster a
    segment just written may not be found yet (its PUT answered before every replica had it)."""
    for attempt in range(tries):
        try:
            return conn.put_object(container, name, json.dumps(manifest),
                                   query_string='multipart-manifest=put')
        except Exception as exc:
            if getattr(exc, 'http_status', None) != 400 or attempt == tries - 1:
                raise
            time.sleep(2 ** attempt)


def required_paths(source, manifest_container, segment_container):
    """{SLO name: (its manifest's remote path, [its segments' remote paths])}."""
    return {name: (name_path(manifest_container, name),
                   [name_path(segment_container, seg) for seg in segs])
            for name, segs in source['slos'].items()}


def name_path(container, name):
    return '/%s/%s' % (container, name)


class RemotePoller:
    """Lists the remote manifest and segment containers every ``POLL`` s from a thread and
    counts the moments a listed manifest lacks one of its segments (HEAD-confirmed)."""

    def __init__(self, conn, source, manifest_container, segment_container):
        self.conn = conn
        self.slos = source['slos']
        self.manifests, self.segments = manifest_container, segment_container
        self.polls = 0
        self.moments = 0            # polls that found at least one such manifest
        self.incomplete = set()     # manifests ever found so
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _listing(self, container):
        try:
            return {o['name'] for o in self.conn.get_container(container,
                                                               full_listing=True)[1]}
        except Exception:
            return set()

    def _missing(self, segment):
        try:
            self.conn.head_object(self.segments, segment)
            return False
        except Exception as exc:
            if getattr(exc, 'http_status', None) == 404:
                return True
            self.errors += 1
            return False

    def poll(self):
        present = self._listing(self.manifests) & set(self.slos)
        segments = self._listing(self.segments) if present else set()
        found = set()
        for name in present:
            gone = [s for s in self.slos[name] if s not in segments]
            if any(self._missing(s) for s in gone):
                found.add(name)
        self.polls += 1
        if found:
            self.moments += 1
            self.incomplete |= found

    def _run(self):
        while not self._stop.wait(POLL):
            self.poll()

    def stop(self):
        self._stop.set()
        self._thread.join()
        self.poll()                 # the end state counts too
        return {'polls': self.polls, 'moments': self.moments,
                'manifests_seen_incomplete': len(self.incomplete), 'head_errors': self.errors}


def wait_complete(access, required, procs, timeout):
    """Block until every path of ``required`` has a successful PUT in the access log; the end
    of the last, or None (timeout, or every process exited)."""
    paths = [p for manifest, segments in required.values() for p in [manifest] + segments]
    deadline = time.time() + timeout
    while time.time() < deadline:
        seen = access.first_puts()
        if all(p in seen for p in paths):
            return max(seen[p] for p in paths)
        if all(p.poll() is not None for p in procs):
            return None
        time.sleep(0.2)
    return None


def measure_run(benv, access, procs, source, manifest_container, segment_container,
                poller_conn, start, timeout):
    """Figures of one contender already started at ``start`` (``procs``)."""
    paths = required_paths(source, manifest_container, segment_container)
    poller = RemotePoller(poller_conn, source, manifest_container, segment_container)
    meter = cost.CpuMeter(benv, procs)
    watcher = PeakWatcher(procs)
    before = t0 = None
    try:
        deadline = time.time() + timeout
        while time.time() < deadline and before is None:
            if access.count_ok_puts():
                before, t0 = meter.snapshot(), time.time()
            elif all(p.poll() is not None for p in procs):
                break
            else:
                time.sleep(0.01)
        done = None if before is None else wait_complete(
            access, paths, procs, max(1, deadline - time.time()))
        after, t1 = meter.snapshot(), time.time()
        watcher.stop()
    finally:
        meter.stop()
        polled = poller.stop()
        stop_procs(procs)
    result = lag_figures(access, source, paths, start)
    result['polled'] = polled
    result['rss_mib'] = watcher.peaks
    result['requests'] = access.by_method()
    total = sum(result['requests'].values())
    result['requests_per_slo'] = total / len(source['slos'])
    result['requests_per_mib'] = total / (len(source['slos']) * source['size'] / SEGMENT)
    if done is None:
        result['seconds'] = None
        return result
    mib = len(source['slos']) * source['size'] / 2 ** 20
    window = cost.window_figures(before, after, t0, t1, len(source['slos']))
    result.update(seconds=done - start, mib_per_s=mib / (done - start),
                  window_mib_per_s=mib / max(1e-6, done - result['first_put']),
                  cpu_s_per_gib=sum(v for k, v in window['cpu'].items() if k != 'harness') /
                  (mib / 1024.0), cpu=window['cpu'])
    return result


def lag_figures(access, source, paths, start):
    """Per SLO: complete (manifest and segments stored) from ``start``, and how long its
    manifest was stored before its last segment (exposure), both from the access log."""
    seen = access.first_puts()
    complete, exposed = [], []
    for manifest, segments in paths.values():
        if manifest not in seen or not all(p in seen for p in segments):
            continue
        last_segment = max(seen[p] for p in segments)
        complete.append(max(seen[manifest], last_segment) - start)
        exposed.append(max(0.0, last_segment - seen[manifest]))
    return {'complete': len(complete), 'lag_s': spread(complete),
            'first_put': min(seen.values()) if seen else None,
            'first_put_s': min(seen.values()) - start if seen else None,
            'manifests_before_segments': sum(1 for e in exposed if e > 0),
            'exposed_s': spread(exposed) if exposed else (None, None, None)}


def verify(conn, source, manifest_container, segment_container, read_one=True):
    """The remote holds exactly the source's SLOs, whole; a dict with ``ok`` and why not."""
    why = []
    try:
        listed = {o['name'] for o in conn.get_container(manifest_container,
                                                        full_listing=True)[1]}
        segments = {o['name']: o['hash'] for o in conn.get_container(
            segment_container, full_listing=True)[1]}
    except Exception as exc:
        return {'ok': False, 'why': 'listing: %s' % exc}
    if listed != set(source['slos']):
        why.append('%d manifests listed, %d expected' % (len(listed), len(source['slos'])))
    wrong = [s for s, e in source['segment_etags'].items() if segments.get(s) != e]
    if wrong:
        why.append('%d segments missing or different' % len(wrong))
    for name in sorted(listed & set(source['slos'])):
        headers = conn.head_object(manifest_container, name)
        if (int(headers['content-length']) != source['size'] or
                'x-static-large-object' not in headers or
                headers['etag'].strip('"') != source['etags'][name]):
            why.append('%s: %s bytes, etag %s' % (name, headers['content-length'],
                                                  headers['etag']))
    if read_one and not why:
        why += read_back(conn, source, manifest_container, sorted(source['slos'])[0])
    return {'ok': not why, 'why': '; '.join(why)} if why else {'ok': True}


def run_ours(benv, access, source, workers, timeout):
    dest = csync.remote_container(benv, 'ours-slo')
    daemons = csync.swift_daemons(benv, source['container'], dest, workers)
    segments = dest + '_segments'
    conn = csync.remote_conn(benv)
    access.reset()
    start = time.time()
    procs = [daemons.start(i) for i in range(len(daemons.configs))]
    result = measure_run(benv, access, procs, source, dest, segments, conn, start, timeout)
    logs = '\n'.join(daemons.log(i) for i in range(len(procs)))
    result['errors_in_log'] = sum(1 for line in logs.splitlines()
                                  if ' ERROR ' in line or 'Traceback' in line)
    finish(result, conn, source, dest, segments)
    drop(conn, (dest, segments))
    shutil.rmtree(daemons.dir, ignore_errors=True)
    return result


def run_container_sync(benv, access, source, interval, timeout, scratch):
    """Both source containers synced (the segments to a remote container of the same name)."""
    conn = csync.remote_conn(benv)
    dest = csync.remote_container(benv, 'csync-slo')
    segments = source['segments']
    conn.put_container(segments, headers={'X-Container-Sync-Key': csync.SYNC_KEY})
    account = benv.info['swift_target']['account']
    local = benv.swift_conn()
    for container, to in ((segments, segments), (source['container'], dest)):
        local.post_container(container, headers={
            'X-Container-Sync-To': sync_realms.sync_to(account, to),
            'X-Container-Sync-Key': csync.SYNC_KEY})
    swift_dir = csync.sync_swift_dir(benv, scratch)
    confs = csync.sync_confs(benv, swift_dir, scratch, interval)
    logpath = os.path.join(scratch, 'container-sync-slo-%d.log' % interval)
    try:
        with open(logpath, 'ab') as log:
            access.reset()
            start = time.time()
            procs = csync.start_daemons(benv, confs, log)
            result = measure_run(benv, access, procs, source, dest, segments, conn, start,
                                 timeout)
    finally:
        for container in (source['container'], segments):
            local.post_container(container, headers={'X-Container-Sync-To': ''})
    with open(logpath, 'rb') as f:
        text = f.read().decode('utf-8', 'replace')
    result['errors_in_log'] = sum(1 for line in text.splitlines()
                                  if 'ERROR' in line or 'Unauth' in line)
    result['interval'] = interval
    finish(result, conn, source, dest, segments)
    drop(conn, (dest, segments))
    return result


def finish(result, conn, source, manifests, segments):
    result['verified'] = verify(conn, source, manifests, segments)
    result['ok'] = result.get('seconds') is not None and result['verified']['ok']


def measure(benv, plan, workers, scratch, log, intervals):
    """Ours once, then container-sync at each interval, each container-sync run on a fresh
    source pair: its remote segments container has the local one's name, and the deletes
    that emptied it after the previous run are newer than the source's objects, which
    container-sync PUTs with their own timestamps (the remote would keep the tombstones)."""
    count, mib = plan['csync_slos'], plan['csync_slo_mib']
    access = accesslog.AccessLog.of_remote(benv.info)
    result = {'count': count, 'mib': mib, 'runs': {}}
    for interval in intervals:
        log('container_sync: populating %d SLOs of %d MiB' % (count, mib))
        with phases.phase('populate'):
            source = make_slos(benv, count, mib, 'cslo')
        if 'ours' not in result['runs']:
            with phases.phase('SLOs, ours'):
                result['runs']['ours'] = run_ours(benv, access, source, workers, 600)
            log('  SLOs, ours %s' % brief(result['runs']['ours']))
        name = csync.contender(interval)
        with phases.phase('SLOs, ' + name):
            result['runs'][name] = run_container_sync(
                benv, access, source, interval, 2 * interval + 180 + count * mib // 4,
                scratch)
        log('  SLOs, %s %s' % (name, brief(result['runs'][name])))
        with phases.phase('clean up'):
            drop(benv.swift_conn(), (source['container'], source['segments']))
    return result


def drop(conn, containers):
    """Empty and delete containers (640 MiB a run would otherwise pile up); best effort."""
    def delete(item):
        try:
            conn_for(item[0]).delete_object(*item)
        except Exception:
            pass
    local = threading.local()

    def conn_for(_container):
        if not hasattr(local, 'conn'):
            local.conn = conn.__class__(conn.authurl, conn.user, conn.key, retries=2)
        return local.conn
    for container in containers:
        try:
            names = [o['name'] for o in conn.get_container(container, full_listing=True)[1]]
        except Exception:
            continue
        with concurrent.futures.ThreadPoolExecutor(POPULATE_THREADS) as pool:
            list(pool.map(delete, [(container, n) for n in names]))
        try:
            conn.delete_container(container)
        except Exception:
            pass


def read_back(conn, source, manifest_container, name):
    """GET one remote SLO whole: each 1 MiB of it has its segment's md5 (a list of faults)."""
    _h, body = conn.get_object(manifest_container, name, resp_chunk_size=SEGMENT)
    buf, index, faults = b'', 0, []
    for chunk in body:
        buf += chunk
        while len(buf) >= SEGMENT:
            piece, buf = buf[:SEGMENT], buf[SEGMENT:]
            segment = source['slos'][name][index] if index < len(source['slos'][name]) else None
            if segment is None or hashlib.md5(piece).hexdigest() != \
                    source['segment_etags'][segment]:
                faults.append('%s read back: MiB %d differs from its segment' % (name, index))
            index += 1
    if buf or index != len(source['slos'][name]):
        faults.append('%s read back: %d MiB and %d bytes' % (name, index, len(buf)))
    return faults[:1]


def brief(r):
    return ('%s MiB/s start to all complete (%s s, first PUT at %s s), %s MiB/s first PUT to '
            'all complete, lag %s s, %s manifests before segments (exposed %s s), polled '
            'moments %s of %s polls, requests/SLO %s %s, ok %s %s' % (
                fmt(r.get('mib_per_s'), '%.2f'), fmt(r.get('seconds'), '%.1f'),
                fmt(r.get('first_put_s'), '%.1f'), fmt(r.get('window_mib_per_s'), '%.2f'),
                fmt_spread(r.get('lag_s'), '%.1f'), r.get('manifests_before_segments'),
                fmt_spread(r.get('exposed_s'), '%.1f'), (r.get('polled') or {}).get('moments'),
                (r.get('polled') or {}).get('polls'), fmt(r.get('requests_per_slo'), '%.1f'),
                r.get('requests'), r.get('ok'), (r.get('verified') or {}).get('why', '')))


def table(data):
    lines = ['### SLOs: %s SLOs of %s MiB in 1 MiB segments' % (data.get('count'),
                                                               data.get('mib')), '',
             '"Complete" = the manifest AND all its segments stored (from the remote '
             'proxy\'s access log; both contenders talk to it directly). Lag = complete '
             'minus the contender\'s start (a backlog): median (min–max) over the SLOs. '
             '"Manifest before segments" = SLOs whose manifest was stored before its last '
             'segment; "moments" = polls of the remote (every %.0f s) '
             'that found a listed manifest with a segment missing (HEAD-confirmed).' % POLL, '',
             '| contender | MiB/s (start to all complete) | MiB/s (first PUT to all complete) '
             '| seconds | first PUT, s | lag to complete, s | CPU s/GiB, all processes | requests per SLO '
             '(per MiB) | by method | manifest before segments (exposed s) | polled moments '
             '/ polls | verified |', '|---|---|---|---|---|---|---|---|---|---|---|---|']
    for who, r in (data.get('runs') or {}).items():
        if 'error' in r:
            lines.append('| %s | failed: %s ||||||||||' % (who, r['error']))
            continue
        polled = r.get('polled') or {}
        lines.append('| %s | %s | %s | %s | %s | %s | %s | %s (%s) | %s | %d of %d (%s) | %s / '
                     '%s | %s |' % (
                         who, fmt(r.get('mib_per_s'), '%.1f'),
                         fmt(r.get('window_mib_per_s'), '%.1f'), fmt(r.get('seconds'), '%.1f'),
                         fmt(r.get('first_put_s'), '%.1f'),
                         fmt_spread(r.get('lag_s'), '%.1f'), fmt(r.get('cpu_s_per_gib'),
                                                                  '%.1f'),
                         fmt(r.get('requests_per_slo'), '%.1f'),
                         fmt(r.get('requests_per_mib'), '%.2f'), r.get('requests'),
                         r.get('manifests_before_segments') or 0, r.get('complete') or 0,
                         fmt_spread(r.get('exposed_s'), '%.1f'), polled.get('moments'),
                         polled.get('polls'), 'yes' if r.get('ok') else 'FAILED: %s' % (
                             (r.get('verified') or {}).get('why') or 'not all complete')))
    runs = data.get('runs') or {}
    ours = runs.get('ours') or {}
    for who, r in runs.items():
        if who == 'ours' or not ours.get('ok') or not r.get('ok'):
            continue
        lines.append('')
        lines.append('- ours / %s: **%.2fx** start to all complete, %.2fx first PUT to all '
                     'complete' % (who, ours['mib_per_s'] / r['mib_per_s'],
                                   ours['window_mib_per_s'] / r['window_mib_per_s']))
    return lines + ['']

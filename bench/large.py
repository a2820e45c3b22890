"""Large objects: SLO throughput against an in-process copy of the same SLOs, and the daemon's
memory while it syncs a big SLO and a big DLO.

Throughput, N rounds, each contender to a fresh bucket:

* ``ours``: the three node daemons (run_forever), window from the first multipart upload
  started at the S3 server to the last one completed;
* ``ours-8``: the same daemons with 8 parts of an SLO in flight instead of 4 (the provider's
  ``PART_CONCURRENCY``, changed for this run only): does more in flight help?
* ``copy`` / ``copy-8``: ``bench.copyloop`` in ``slo`` mode (3 processes, raw manifest and
  segments read in-process, one part per segment, 4 or 8 parts in flight): the ceiling, and
  what more parts in flight would give it.

Every run is verified: the bucket holds exactly the SLOs' keys (plus our manifest copies), each
of the SLO's size. The memory measurement syncs one SLO and one DLO over the same segments
(1,000 MiB in the full run) and samples each daemon's RSS over time (the plot) and its peak.
"""
import json
import os
import time

from s3_sync import layout

from bench import copyloop, cost, ours, phases, verify
from bench.environment import PeakWatcher, layout_mapping, stop_procs
from bench.stats import spread

SEGMENT = 8 * 2 ** 20


def make_slos(benv, container, count, size, segment=SEGMENT):
    conn = benv.swift_conn()
    segs = benv.new_container('segs')
    names = []
    for n in range(count):
        manifest = []
        for i in range(size // segment):
            seg = 'slo%d/%06d' % (n, i)
            body = os.urandom(16) + bytes([n + 1]) * (segment - 16)
            etag = conn.put_object(segs, seg, body)
            manifest.append({'path': '/%s/%s' % (segs, seg), 'etag': etag,
                             'size_bytes': segment})
        name = 'slo-%d' % n
        conn.put_object(container, name, json.dumps(manifest),
                        query_string='multipart-manifest=put')
        names.append(name)
    return names, segs


def completed_uploads(counter):
    return [d for _a, d, m, p, s in counter.snapshot()
            if m == 'POST' and 'uploadId=' in p and s and 200 <= s < 300]


def started_uploads(counter):
    return [d for _a, d, m, p, s in counter.snapshot()
            if m == 'POST' and p.endswith('?uploads') and s and 200 <= s < 300]


def check_sizes(benv, bucket, container, names, size, with_manifests):
    mapping = layout_mapping(bucket)
    expected = {layout.object_key(mapping, benv.account, container, n): None for n in names}
    if with_manifests:
        expected.update({layout.manifest_key(mapping, benv.account, container, n): None
                         for n in names})
    result = verify.check(benv, bucket, expected)
    s3 = benv.s3_client()
    for name in names:
        key = layout.object_key(mapping, benv.account, container, name)
        try:
            got = s3.head_object(Bucket=bucket, Key=key)['ContentLength']
        except Exception:
            got = None
        if got != size:
            result.update(ok=False, why='%s: %s bytes, expected %d' % (name, got, size))
    return result


def run_ours(benv, counter, container, names, size, workers, timeout, manifests=True,
             parts=None):
    """Our daemons until every SLO's upload completed; figures over the upload window."""
    bucket = benv.new_bucket('large')
    daemons = ours.daemons_for(benv, counter, container, bucket, workers)
    counter.reset()
    start = time.time()
    procs = ours.start_daemons(daemons, parts=parts)
    watcher = PeakWatcher(procs)
    meter = cost.CpuMeter(benv, procs)
    before = t0 = done = None
    try:
        while time.time() < start + timeout and any(p.poll() is None for p in procs):
            if before is None and started_uploads(counter):
                before, t0 = meter.snapshot(), time.time()
            if len(completed_uploads(counter)) >= len(names):
                done = time.time()
                after = meter.snapshot()
                break
            time.sleep(0.02)
        watcher.stop()
    finally:
        meter.stop()
        stop_procs(procs)
    result = {'rss_mib': watcher.peaks, 'rss_series': watcher.series,
              'requests': counter.by_method(), 'seconds': done and done - start}
    if done is not None and before is not None:
        result.update(cost.window_figures(before, after, t0, done, len(names)))
        result['mb_per_s'] = len(names) * size / (done - t0) / 1e6
    result['verified'] = check_sizes(benv, bucket, container, names, size, manifests)
    result['ok'] = done is not None and result['verified']['ok']
    return result


def run_copy(benv, counter, container, names, size, workers, timeout, scratch, parts):
    daemons = ours.daemons_for(benv, counter, container, 'unused', workers)
    result = copyloop.run(
        benv, counter, container, names, size, 3, workers, timeout,
        os.path.join(scratch, 'slocopy.json'), mode='slo', configs=daemons.configs,
        parts=parts, expected={})
    result.pop('rss_series', None)
    if result.get('window_s'):
        result['mb_per_s'] = len(names) * size / result['window_s'] / 1e6
    bucket = [b for b in [result.get('bucket')] if b]
    result['verified'] = check_sizes(benv, result['bucket'], container, names, size, False) \
        if bucket else {'ok': False, 'why': 'no bucket'}
    result['ok'] = bool(result.get('window_s')) and result['verified']['ok']
    return result


def throughput(benv, counter, plan, workers, scratch, log):
    count, size = plan['large'], plan['large_mib'] * 2 ** 20
    container = benv.new_container('large')
    log('large: %d SLOs of %d MiB' % (count, plan['large_mib']))
    with phases.phase('populate'):
        names, _segs = make_slos(benv, container, count, size)
    # the 8-parts-in-flight pair is an experiment no target reads: --quick leaves it out
    runs = {'ours': [], 'copy': []} if plan.get('quick') else \
        {'ours': [], 'ours-8': [], 'copy': [], 'copy-8': []}
    for rnd in range(plan['rounds']):
        for name in runs:
            parts = 8 if name.endswith('-8') else None
            with phases.phase(name):
                if name.startswith('ours'):
                    r = run_ours(benv, counter, container, names, size, workers, 300,
                                 parts=parts)
                else:
                    r = run_copy(benv, counter, container, names, size, workers, 300, scratch,
                                 parts or 4)
            log('  round %d %-7s %s MB/s, %s ms CPU/object, ok %s %s' % (
                rnd + 1, name, r.get('mb_per_s'), r.get('cpu_ms_per_obj'), r['ok'],
                r['verified'].get('why', '')))
            runs[name].append(r)
            benv.reset_moto()
    series = {}
    label = '%d x %d MiB SLO' % (count, plan['large_mib'])
    for r in runs['ours'] + runs.get('ours-8', []):
        points = r.pop('rss_series', None)
        if points and label not in series:
            series[label] = points
    summary = {n: {'mb_per_s': spread([r.get('mb_per_s') for r in rs if r['ok']]),
                   'cpu_s_per_gib': spread([r['cpu_ms_per_obj'] / 1000 * 2 ** 30 / size
                                            for r in rs if r['ok'] and r.get('cpu_ms_per_obj')]),
                   'peak_rss_mib': spread([max([x for x in r['rss_mib'] if x] or [0])
                                           for r in rs if r.get('rss_mib')]),
                   'ok_runs': sum(1 for r in rs if r['ok']), 'runs': len(rs),
                   'failures': [r['verified'].get('why') for r in rs if not r['ok']]}
               for n, rs in runs.items()}
    ratios = {}
    if 'ours-8' in runs:
        ratios['ours-8 / copy-8'] = spread([a['mb_per_s'] / b['mb_per_s'] for a, b in
                                            zip(runs['ours-8'], runs['copy-8'])
                                            if a['ok'] and b['ok']])
    for other in [name for name in ('copy', 'copy-8') if name in runs]:
        ratios[other] = spread([a['mb_per_s'] / b['mb_per_s'] for a, b in
                                zip(runs['ours'], runs[other]) if a['ok'] and b['ok']])
    return {'label': '%d SLOs of %d MiB, %d MiB segments' % (count, plan['large_mib'],
                                                            SEGMENT // 2 ** 20),
            'runs': runs, 'summary': summary, 'ratios': ratios, 'ratio': ratios['copy'],
            'rss_series': series}


def big_rss(benv, counter, plan, workers, log, result):
    """One SLO and one DLO of ``big_mib`` each (same segments): peak RSS while syncing."""
    mib, seg_mib = plan['big_mib'], 10
    conn = benv.swift_conn()
    segs = benv.new_container('bigsegs')
    log('large: %d MiB SLO and DLO (%d segments of %d MiB)' % (mib, mib // seg_mib, seg_mib))
    manifest = []
    with phases.phase('populate'):
        for i in range(mib // seg_mib):
            name = 'seg/%05d' % i
            conn.put_object(segs, name, os.urandom(seg_mib * 2 ** 20))
            manifest.append({'path': '/%s/%s' % (segs, name)})
    out = {}
    for kind in ('SLO', 'DLO'):
        container = benv.new_container('big' + kind.lower())
        if kind == 'SLO':
            conn.put_object(container, 'big', json.dumps(manifest),
                            query_string='multipart-manifest=put')
        else:
            conn.put_object(container, 'big', b'', headers={'X-Object-Manifest': segs + '/seg/'})
        with phases.phase('big ' + kind):
            r = run_ours(benv, counter, container, ['big'], mib * 2 ** 20, workers, 600,
                         manifests=kind == 'SLO')
        out[kind] = {'peak_rss_mib': max([x for x in r['rss_mib'] if x] or [0]) or None,
                     'ok': r['ok'], 'why': r['verified'].get('why'),
                     'mb_per_s': r.get('mb_per_s')}
        result['rss_series']['%d MiB %s' % (mib, kind)] = r.get('rss_series')
        log('  %d MiB %s: peak RSS %s MiB, %s MB/s, ok %s' % (
            mib, kind, out[kind]['peak_rss_mib'], r.get('mb_per_s'), r['ok']))
        benv.reset_moto()
    result['big'] = out
    result['big_mib'] = mib
    peaks = [v['peak_rss_mib'] for v in out.values() if v['ok'] and v['peak_rss_mib']]
    result['big_rss_mib'] = max(peaks) if len(peaks) == len(out) else None
    return result


def measure(benv, counter, plan, workers, scratch, log):
    result = throughput(benv, counter, plan, workers, scratch, log)
    return big_rss(benv, counter, plan, workers, log, result)

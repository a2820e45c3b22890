"""How cost grows with work: flat per-object cost is the goal.

* ``one``: ``growth_objects`` objects of 4 KiB in one container (a backlog the three daemons
  drain); sampled every second, so the rate and the CPU per object of the first and the last
  tenth of the objects are compared (start vs end of the drain), with the daemons' RSS over
  time;
* ``many``: as many objects spread over ``growth_containers`` containers of another account,
  under one ``"/*"`` mapping (per-container overhead);
* ``drain``: a backlog of ``growth_drain`` objects of 4 KiB in one container (100,000 in the
  full run), drained once: the first and the last tenth compared as for ``one``, the daemons'
  RSS sampled every second, and its CPU per object against the ``one`` runs' (a backlog ten
  times larger must not cost more per object);
* ``rows``: a container of ``growth_rows`` rows merged straight into node 1's replica (no
  objects: the mapping's ``exclude_pattern`` matches them): node 1's daemon ``--once`` primes
  (time and peak RSS), then a second ``--once`` is the idle poll (time, rows read, requests).

CPU is that of every process of the environment (``bench.cost``), over the window from the
first object PUT to the last.
"""
import concurrent.futures
import re
import shutil
import subprocess
import time

import swiftclient

from bench import cost, direct_fill, ours
from bench.phases import phase as timed
from bench.environment import (PeakWatcher, expected_keys, rss_mib, stop_procs,
                               POPULATE_THREADS)
from bench.idle import fill, node1_db
from bench.stats import fmt, median, spread
from bench.verify import check
from devenv.daemons import NodeDaemons, s3_mapping

OTHER_USER = 'test2:tester2'
CYCLE = re.compile(r'cycle done in ([0-9.]+)s: (\d+) DBs, (\d+) rows scanned')


def drain(benv, counter, mappings, count, workers, timeout, log):
    """Run the three daemons until ``count`` objects arrived; samples of (t, puts, cpu)."""
    bucket = mappings[0]['aws_bucket']
    daemons = NodeDaemons(benv.info, mappings, log_level='info', poll_interval=5,
                          workers=workers)
    counter.reset()
    start = time.time()
    procs = ours.start_daemons(daemons)
    watcher = PeakWatcher(procs, interval=1.0)
    meter = cost.CpuMeter(benv, procs)
    samples, rss, done, logged, interrupted = [], [], None, 0, None
    groups = []     # the first and the latest snapshot by group: where the CPU went
    # also a sample every hundredth of the objects: a fast drain's first tenth may last
    # under a second, and its rate needs two samples inside it
    step = max(1, count // 100)
    try:
        while time.time() < start + timeout and any(p.poll() is None for p in procs):
            n = counter.count_ok_puts()
            if n >= 1 and (not samples or time.time() - samples[-1][0] >= 1.0 or n >= count
                           or n >= samples[-1][1] + step):
                snap = meter.snapshot()
                groups[1:] = [snap]
                samples.append((time.time(), n, sum(v for k, v in snap.items()
                                                    if k != 'harness')))
                rss.append((n, sum(rss_mib(p.pid) or 0 for p in procs)))
                logged = progress(samples, rss, count, logged, log)
            if n >= count:
                done = time.time()
                break
            time.sleep(0.05)
    except KeyboardInterrupt:
        # a long drain stopped by hand: its figures so far are reported, marked as such, and
        # the parts after it are left out
        interrupted = samples[-1][1] if samples else 0
        log('  interrupted after %d of %d objects' % (interrupted, count))
    finally:
        watcher.stop()
        meter.stop()
        stop_procs(procs)
    shutil.rmtree(daemons.dir, ignore_errors=True)
    result = {'count': count, 'seconds': done and done - start, 'samples': samples,
              'rss_series': watcher.series, 'rss_mib': watcher.peaks,
              'rss_by_tenth': rss_at_tenths(rss, count), 'requests': counter.by_method()}
    if interrupted is not None:
        result['interrupted_at'] = interrupted
    if (done or interrupted) and len(samples) >= 2:
        (t0, n0, c0), (t1, n1, c1) = samples[0], samples[-1]
        result.update(objs_per_s=(n1 - n0) / (t1 - t0),
                      cpu_ms_per_obj=(c1 - c0) * 1000 / max(1, n1 - n0))
        result.update(phases(samples, count if done else samples[-1][1]))
        result['cpu_ms_per_obj_by_group'] = {
            k: round((groups[-1][k] - groups[0][k]) * 1000 / max(1, n1 - n0), 3)
            for k in groups[0] if k != 'harness'}
    log('  %d objects: %s s, %s obj/s, %s ms CPU/obj; first tenth %s obj/s, %s ms CPU/obj; '
        'last tenth %s obj/s, %s ms CPU/obj; RSS MiB by tenth %s' % (
            count, fmt(result['seconds'], '%.0f'), fmt(result.get('objs_per_s'), '%.1f'),
            fmt(result.get('cpu_ms_per_obj'), '%.2f'),
            fmt(result.get('start_objs_per_s'), '%.1f'),
            fmt(result.get('start_cpu_ms_per_obj'), '%.2f'),
            fmt(result.get('end_objs_per_s'), '%.1f'),
            fmt(result.get('end_cpu_ms_per_obj'), '%.2f'),
            [None if v is None else round(v) for v in result['rss_by_tenth']]))
    log('  CPU ms/object by group: %s' % result.get('cpu_ms_per_obj_by_group'))
    return result, bucket


def progress(samples, rss, count, logged, log):
    """A log line for each tenth of a long drain the moment it is reached (the rate and CPU
    per object over that tenth, the daemons' RSS): an interrupted run still shows how it went.
    Returns the tenths logged so far."""
    tenth = min(10, int(samples[-1][1] * 10 // count)) if count >= 10000 else 0
    if tenth <= logged:
        return logged
    lo = count * (tenth - 1) / 10.0
    (t0, n0, c0) = next(s for s in samples if s[1] >= lo)
    (t1, n1, c1) = samples[-1]
    if n1 > n0 and t1 > t0:
        log('  %d0 %%: %d objects in %.0f s; this tenth %.1f obj/s, %.2f ms CPU/obj; '
            'daemons RSS %.0f MiB' % (tenth, n1, t1 - samples[0][0], (n1 - n0) / (t1 - t0),
                                      (c1 - c0) * 1000 / (n1 - n0), rss[-1][1]))
    return tenth


def phases(samples, count, part=0.1):
    """Rate and CPU per object over the first and the last ``part`` of the objects."""
    def between(lo, hi):
        inside = [s for s in samples if lo <= s[1] <= hi]
        if len(inside) < 2:
            return None, None
        (t0, n0, c0), (t1, n1, c1) = inside[0], inside[-1]
        if n1 <= n0 or t1 <= t0:
            return None, None
        return (n1 - n0) / (t1 - t0), (c1 - c0) * 1000 / (n1 - n0)
    first = between(0, count * part)
    last = between(count * (1 - part), count)
    return {'start_objs_per_s': first[0], 'start_cpu_ms_per_obj': first[1],
            'end_objs_per_s': last[0], 'end_cpu_ms_per_obj': last[1]}


def rss_at_tenths(points, count):
    """The daemons' RSS (MiB, summed) when the drain first reached each tenth of ``count``
    objects (10 %, 20 %, ... 100 %); None for a tenth it never reached. ``points`` are
    (objects arrived, MiB) in time order."""
    out = []
    for k in range(1, 11):
        reached = [mib for n, mib in points if n >= count * k / 10.0 and mib]
        out.append(reached[0] if reached else None)
    return out


def populate_many(benv, conn_factory, account, containers, per):
    """The containers PUT through the proxy (the account lists them), their objects written
    straight to disk (``bench.direct_fill``); {(container, object): ETag}."""
    import threading
    local = threading.local()

    def create(name):
        if not hasattr(local, 'conn'):
            local.conn = conn_factory()
        local.conn.put_container(name)
    with concurrent.futures.ThreadPoolExecutor(POPULATE_THREADS) as pool:
        list(pool.map(create, containers))
    cluster = direct_fill.Cluster(benv.info)
    return {(name, obj): etag for name in containers
            for obj, etag in direct_fill.populate(cluster, account, name,
                                                  direct_fill.bodies(per, 4096)).items()}


def backlog_container(benv, count, prefix):
    """A new container of ``count`` 4 KiB objects written straight to disk; its name."""
    container = benv.new_container(prefix)
    started = time.time()
    with timed('populate'):
        benv.etags[container] = direct_fill.populate(
            direct_fill.Cluster(benv.info), benv.account, container,
            direct_fill.bodies(count, 4096))
    return container, time.time() - started


def one_container(benv, counter, plan, workers, log):
    """The drains of ``growth_objects`` objects in one container, one per round."""
    count = plan['growth_objects']
    log('growth: %d objects in one container' % count)
    container, took = backlog_container(benv, count, 'grow')
    log('growth: populated in %.0f s' % took)
    target = benv.moto
    runs = []
    for _ in range(plan['growth_rounds']):
        bucket = benv.new_bucket('grow')
        result, _ = drain(benv, counter, [s3_mapping(target, bucket, benv.account, container)],
                          count, workers, 1800, log)
        result['verified'] = verify(result, benv, bucket, lambda: expected_keys(
            benv, bucket, container))
        runs.append(result)
        benv.reset_moto()
        if 'interrupted_at' in result:
            break
    return runs


def many_containers(benv, counter, plan, workers, log):
    """The drains of as many objects over ``growth_containers`` containers, one per round."""
    n = plan['growth_containers']
    per = plan['growth_objects'] // n
    user = benv.info['users'][OTHER_USER]
    proxy = benv.info['proxies']['noshunt']

    def conn():
        return swiftclient.Connection(proxy['auth_url'], OTHER_USER, user['key'], retries=2)
    existing = conn().get_account(full_listing=True)[1]
    if existing:
        return {'error': 'account %s already has %d containers (a reused environment): the '
                         '"/*" run needs it empty' % (user['account'], len(existing))}
    names = ['grow-%04d' % i for i in range(n)]
    log('growth: %d containers of %d objects under "/*"' % (n, per))
    started = time.time()
    with timed('populate'):
        etags = populate_many(benv, conn, user['account'], names, per)
    log('growth: populated in %.0f s' % (time.time() - started))
    from s3_sync import layout
    from bench.environment import layout_mapping
    target = benv.moto
    runs = []
    for _ in range(plan['growth_rounds']):
        bucket = benv.new_bucket('growmany')
        result, _ = drain(benv, counter, [s3_mapping(target, bucket, user['account'], '/*')],
                          n * per, workers, 1800, log)
        mapping = layout_mapping(bucket)
        result['verified'] = verify(result, benv, bucket, lambda: {
            layout.object_key(mapping, user['account'], c, o): e for (c, o), e in etags.items()})
        runs.append(result)
        benv.reset_moto()
        if 'interrupted_at' in result:
            break
    return runs


def backlog(benv, counter, plan, workers, log):
    """One drain of a ``growth_drain``-object backlog in one container (one round: populating
    it is most of the part's time)."""
    count = plan['growth_drain']
    container, took = backlog_container(benv, count, 'drain')
    log('growth: %d-object backlog populated in %.0f s' % (count, took))
    bucket = benv.new_bucket('drain')
    result, _ = drain(benv, counter, [s3_mapping(benv.moto, bucket, benv.account, container)],
                      count, workers, max(1800, count // 10), log)
    result['verified'] = verify(result, benv, bucket,
                                lambda: expected_keys(benv, bucket, container))
    return result


def verify(result, benv, bucket, expected):
    """The bucket's keys and ETags against ``expected()``; an interrupted drain is not
    verified (and so counts in no figure)."""
    if 'interrupted_at' in result:
        return {'ok': False, 'why': 'interrupted after %d objects' % result['interrupted_at']}
    return check(benv, bucket, expected())


def big_container(benv, counter, plan, workers, log):
    rows = plan['growth_rows']
    container = benv.new_container('rows')
    bucket = benv.new_bucket('rows')
    db = node1_db(benv.info, benv.account, container)
    started = time.time()
    fill(db, benv.account, container, rows)
    log('growth: %d rows merged in %.0f s' % (rows, time.time() - started))
    target = benv.moto
    mapping = s3_mapping(target, bucket, benv.account, container, exclude_pattern='idle-')
    daemons = NodeDaemons(benv.info, [mapping], log_level='info', workers=workers,
                          items_chunk=1000)
    out = {'rows': rows}
    for phase in ('prime', 'idle'):
        counter.reset()
        proc = subprocess.Popen(daemons.command(0), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, env=daemons._env())
        # VmHWM of the daemon itself (ru_maxrss would count the bench process it forked from)
        watcher = PeakWatcher([proc], interval=0.1)
        before = time.time()
        output = proc.stdout.read().decode('utf-8', 'replace')
        # the watcher's poll() reaps the child: its last CPU sample is the daemon's CPU (up to
        # 0.1 s stale)
        proc.wait()
        watcher.stop()
        found = CYCLE.findall(output)
        out[phase] = {'process_s': time.time() - before, 'peak_rss_mib': watcher.peaks[0],
                      'cpu_s': watcher.cpu[0], 'exit': proc.returncode,
                      'cycle_s': float(found[-1][0]) if found else None,
                      'scanned': int(found[-1][2]) if found else None,
                      'requests': counter.by_method()}
        log('  %s: %s' % (phase, out[phase]))
    shutil.rmtree(daemons.dir, ignore_errors=True)
    return out


def _ok(run):
    return bool((run.get('verified') or {}).get('ok')) and bool(run.get('cpu_ms_per_obj'))


def measure(benv, counter, plan, workers, scratch, log):
    """Rounds alternate nothing here (each part needs its own population): the ratios pair
    round i of one part with round i of the other."""
    out = {}
    for name, fn in PARTS:
        if not all(plan.get(size) for size in SIZES[name]):
            continue            # --set growth_containers=0 (or any of its sizes) leaves it out
        try:
            with timed(name):
                found = fn(benv, counter, plan, workers, log)
        except Exception as exc:
            found = {'error': '%s: %s' % (type(exc).__name__, exc)}
        if isinstance(found, list):
            out[name + '_runs'] = found
            found = found[0] if found else {'error': 'no run'}
        out[name] = found
        benv.reset_moto()
        if any('interrupted_at' in run for run in out.get(name + '_runs') or [found]):
            out['interrupted'] = True       # the runner runs no section after this one
            break
    ones, manys = out.get('one_runs') or [], out.get('many_runs') or []
    ratios = [m['cpu_ms_per_obj'] / o['cpu_ms_per_obj']
              for o, m in zip(ones, manys) if _ok(o) and _ok(m)]
    if ratios:
        out['containers_vs_one'] = spread(ratios)
    drains = [end_vs_start(o) for o in ones if _ok(o)]
    if any(drains):
        out['end_vs_start'] = spread(drains)
    out.update(backlog_ratios(out))
    return out


def end_vs_start(run):
    """CPU per object of the last tenth of a drain over that of the first; None if either
    is missing."""
    end, start = run.get('end_cpu_ms_per_obj'), run.get('start_cpu_ms_per_obj')
    return end / start if end and start else None


def backlog_ratios(out):
    """The big backlog drain against the ``one`` runs of the same invocation: its CPU per
    object over theirs (median of the rounds), and its last tenth over its first."""
    big = out.get('drain') or {}
    if not _ok(big):
        return {}
    found = {'drain_end_vs_start': end_vs_start(big)}
    ones = [o['cpu_ms_per_obj'] for o in out.get('one_runs') or [] if _ok(o)]
    if ones:
        found['drain_vs_one'] = big['cpu_ms_per_obj'] / median(ones)
    return {k: v for k, v in found.items() if v is not None}


# the big drain last: the longest part, and one a run cut short can leave out
PARTS = (('one', one_container), ('many', many_containers), ('rows', big_container),
         ('drain', backlog))
SIZES = {'one': ('growth_objects',), 'many': ('growth_objects', 'growth_containers'),
         'drain': ('growth_drain',), 'rows': ('growth_rows',)}

"""More than one core per node: node 1's daemon alone, with ``processes`` 1 and then 2.

Two workloads, each over containers whose names split evenly between the two processes
(``s3_sync.crawler.workers.share_of``: with a dozen random names the split is often 8/4, and
a 2/1 split caps the ratio at 1.5x whatever the product does):

* **scan** (the target, CPU-bound on the daemon): ``proc_containers`` containers of
  ``proc_rows`` rows each, merged straight into node 1's replicas (as ``bench.idle`` does),
  that the mapping's ``exclude_pattern`` leaves out: the daemon's ``--once`` priming pass reads,
  owns and settles every row with no object read and one remote request per container (the
  bucket check, a one-key listing), so only the daemon works. Rate = rows / the slowest process's cycle (from the "cycle done" log lines, start-up
  left out); the daemon's CPU (its children included) over its whole run is shown beside it,
  with the share of its context switches that were involuntary (preempted while runnable:
  near 100 % means it wanted more CPU than it got, i.e. CPU-bound, even when a loaded machine
  gives it little). The rate splits exactly into two factors, from each process's CPU
  seconds in its cycle (the end of its "cycle done" line): rows per CPU second (what the
  split costs the daemon: equal at 1 and 2 processes when it costs nothing) times the cores
  the daemon got during its cycles (what the machine gave). On a loaded machine the second
  caps the ratio whatever the daemon does: with the kernel's autogroup scheduling
  (``/proc/sys/kernel/sched_autogroup_enabled``) every session shares the cores equally, and
  a session's second process only splits that session's share. The daemon is started in a
  session of its own (as a service is), apart from the bench and its servers.
* **sync** (reported): ``proc_containers`` containers of ``proc_objects`` 4 KiB objects to
  one bucket, node 1's daemon in run_forever with ``verification_slack: 0`` so it propagates
  every row itself (its third in the primary pass, the rest in the verification pass). Each
  object also costs the object servers, and the S3 server CPU, on the same
  two cores: on this machine that workload is bound by them, not by the daemon. Window and cost
  as for the throughput runs (``bench.cost``); every run verified.

Rounds interleave the two settings.
"""
import os
import re
import resource
import shutil
import subprocess
import threading
import time
import uuid

from bench import cost, phases
from bench.environment import PeakWatcher, expected_keys, stop_procs
from bench.idle import cycle_lines, fill, node1_db
from bench.ours import finish
from bench.stats import spread
from devenv.daemons import NodeDaemons, s3_mapping
from s3_sync.crawler.workers import share_of

CYCLE_CPU = re.compile(r'cycle done in ([0-9.]+)s: .*, ([0-9.]+)s cpu')


def balanced_names(account, prefix, count, processes=2):
    """``count`` container names, as many (give or take one) in each process's share."""
    names, per_share = [], [0] * processes
    while len(names) < count:
        name = '%s-%s' % (prefix, uuid.uuid4().hex[:10])
        share = share_of(account, name, processes)
        if per_share[share] < -(-count // processes):
            per_share[share] += 1
            names.append(name)
    return names


def sync_run(benv, counter, containers, per, processes, workers, timeout):
    bucket = benv.new_bucket('procs')
    target = benv.moto
    mappings = [s3_mapping(target, bucket, benv.account, c) for c in containers]
    daemons = NodeDaemons(benv.info, mappings, log_level='info', poll_interval=5,
                          workers=workers, verification_slack=0, processes=processes)
    count = len(containers) * per
    counter.reset()
    start = time.time()
    procs = [daemons.start(0)]
    watcher = PeakWatcher(procs)
    try:
        window = cost.measure_window(benv, counter, count, procs, timeout)
        watcher.stop()
    finally:
        stop_procs(procs)
    expected = {}
    for c in containers:
        expected.update(expected_keys(benv, bucket, c))
    result = finish(benv, counter, start, window, count, 4096, bucket, expected, watcher)
    result.pop('rss_series', None)
    result['log_errors'] = sum(1 for line in daemons.log(0).splitlines() if ' ERROR ' in line)
    shutil.rmtree(daemons.dir, ignore_errors=True)
    return result


def context_switches(pid):
    """(voluntary, involuntary) context switches of a live process, or None."""
    try:
        with open('/proc/%d/status' % pid) as f:
            found = dict(line.split(':', 1) for line in f if 'ctxt_switches' in line)
        return (int(found['voluntary_ctxt_switches']),
                int(found['nonvoluntary_ctxt_switches']))
    except (OSError, KeyError, ValueError):
        return None


class SwitchWatcher:
    """The last context-switch counts seen of a process and its descendants (a daemon's
    forked children), sampled from a thread: a process whose switches are mostly involuntary
    was preempted while runnable, i.e. it wanted more CPU than it got (CPU-bound)."""

    def __init__(self, proc, interval=0.2):
        self.proc, self.seen = proc, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)
        self._thread.start()

    def _run(self, interval):
        while not self._stop.wait(interval):
            if self.proc.poll() is not None:
                return
            for pid in {self.proc.pid} | cost.children_of([self.proc.pid]):
                counts = context_switches(pid)
                if counts:
                    self.seen[pid] = counts

    def stop(self):
        """The share of involuntary switches, or None when none was seen."""
        self._stop.set()
        self._thread.join()
        vol = sum(v for v, _n in self.seen.values())
        invol = sum(n for _v, n in self.seen.values())
        return invol / (vol + invol) if vol + invol else None


def scan_run(benv, counter, containers, rows, processes, workers):
    bucket = benv.new_bucket('scan')
    target = benv.moto
    mappings = [s3_mapping(target, bucket, benv.account, c, exclude_pattern='idle-')
                for c in containers]
    daemons = NodeDaemons(benv.info, mappings, log_level='info', workers=workers,
                          items_chunk=1000, processes=processes)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    started = time.time()
    proc = subprocess.Popen(daemons.command(0), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=daemons._env(),
                            start_new_session=True)
    switches = SwitchWatcher(proc)
    output = proc.communicate(timeout=900)[0].decode('utf-8', 'replace')
    code = proc.returncode
    wall = time.time() - started
    involuntary = switches.stop()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    shutil.rmtree(daemons.dir, ignore_errors=True)
    cycles = cycle_lines(output)
    scanned = sum(n for _s, n in cycles)
    slowest = max((s for s, _n in cycles), default=None)
    ok = code == 0 and len(cycles) == processes and scanned == rows * len(containers)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    cycle_cpu = sum(float(c) for _s, c in CYCLE_CPU.findall(output))
    return {'ok': ok, 'exit': code, 'cycles': cycles, 'scanned': scanned,
            'cycle_s': slowest, 'process_s': wall, 'daemon_cpu_s': cpu,
            'rows_per_s': scanned / slowest if ok and slowest else None,
            'cycle_cpu_s': cycle_cpu,
            'rows_per_cpu_s': scanned / cycle_cpu if ok and cycle_cpu else None,
            'cycle_cores': cycle_cpu / slowest if ok and slowest else None,
            'load_1min': load,
            'daemon_cores': cpu / wall if wall else None, 'involuntary_switches': involuntary}


def interleaved(rounds, run, log, what, reset=None):
    runs = {1: [], 2: []}
    for rnd in range(rounds):
        for p in (1, 2):
            with phases.phase('%s, %d process(es)' % (what, p)):
                r = run(p)
            runs[p].append(r)
            log('  %s, round %d, %d process(es): %s' % (what, rnd + 1, p, {
                k: v for k, v in r.items() if k in (
                    'window_objs_per_s', 'cpu_ms_per_obj', 'ok', 'rows_per_s', 'cycle_s',
                    'daemon_cpu_s', 'process_s', 'cycles', 'cycle_cpu_s', 'load_1min')}))
            if reset is not None:
                reset()
    return runs


def measure_sync(benv, counter, plan, workers, log):
    n, per = plan['proc_containers'], plan['proc_objects']
    log('processes (sync): populating %d containers x %d x 4 KiB' % (n, per))
    containers = balanced_names(benv.account, 'proc', n)
    for c in containers:
        benv.swift_conn().put_container(c)
        benv.populate(c, per, 4096)

    def run(p):
        return sync_run(benv, counter, containers, per, p, workers, 600)
    runs = interleaved(plan['rounds'], run, log, 'sync', reset=benv.reset_moto)
    ratios = [b['window_objs_per_s'] / a['window_objs_per_s']
              for a, b in zip(runs[1], runs[2]) if a['ok'] and b['ok']]
    return {'containers': n, 'objects': n * per, 'runs': {str(k): v for k, v in runs.items()},
            'summary': {str(p): {
                'objs_per_s': spread([r.get('window_objs_per_s') for r in rs if r['ok']]),
                'cpu_ms_per_obj': spread([r.get('cpu_ms_per_obj') for r in rs if r['ok']]),
                'contender_cores': spread([r['cpu']['contender'] / r['window_s']
                                           for r in rs if r['ok']]),
                'ok_runs': sum(1 for r in rs if r['ok']), 'runs': len(rs)}
                for p, rs in runs.items()},
            'ratio': spread(ratios)}


def measure_scan(benv, counter, plan, workers, log):
    n, rows = plan['proc_containers'], plan['proc_rows']
    containers = balanced_names(benv.account, 'scan', n)
    started = time.time()
    with phases.phase('merge rows'):
        for c in containers:
            benv.swift_conn().put_container(c)
            fill(node1_db(benv.info, benv.account, c), benv.account, c, rows)
    log('processes (scan): %d containers x %d rows merged in %.0f s' % (
        n, rows, time.time() - started))
    runs = interleaved(plan['rounds'], lambda p: scan_run(
        benv, counter, containers, rows, p, workers), log, 'scan')

    def ratios(key):
        return [b[key] / a[key] for a, b in zip(runs[1], runs[2])
                if a['ok'] and b['ok'] and a[key] and b[key]]
    return {'containers': n, 'rows': n * rows, 'runs': {str(k): v for k, v in runs.items()},
            'ratio': spread(ratios('rows_per_s')),
            # ratio = efficiency x cpu_ratio, round by round (see the module's docstring)
            'efficiency': spread(ratios('rows_per_cpu_s')),
            'cpu_ratio': spread(ratios('cycle_cores')),
            'summary': {str(p): {
                'rows_per_s': spread([r['rows_per_s'] for r in rs if r['ok']]),
                'rows_per_cpu_s': spread([r['rows_per_cpu_s'] for r in rs if r['ok']]),
                'cycle_cores': spread([r['cycle_cores'] for r in rs if r['ok']]),
                'load_1min': spread([r['load_1min'] for r in rs]),
                'cycle_s': spread([r['cycle_s'] for r in rs if r['ok']]),
                'daemon_cpu_s': spread([r['daemon_cpu_s'] for r in rs if r['ok']]),
                'daemon_cores': spread([r['daemon_cores'] for r in rs if r['ok']]),
                'involuntary_switches': spread([r.get('involuntary_switches')
                                                for r in rs if r['ok']]),
                'ok_runs': sum(1 for r in rs if r['ok']), 'runs': len(rs)}
                for p, rs in runs.items()}}


def measure(benv, counter, plan, workers, scratch, log):
    out = {}
    for name, fn in (('scan', measure_scan), ('sync', measure_sync)):
        if not plan['proc_rows' if name == 'scan' else 'proc_objects']:
            continue            # --set proc_objects=0 (or proc_rows=0) leaves it out
        try:
            out[name] = fn(benv, counter, plan, workers, log)
        except Exception as exc:
            out[name] = {'error': '%s: %s' % (type(exc).__name__, exc)}
        benv.reset_moto()
    out['ratio'] = (out.get('scan') or {}).get('ratio')
    return out

"""The cost figure that cannot be gamed: CPU seconds of EVERY process of the environment per
synced object, over a measured window that leaves process start-up out.

A contender can look fast by moving work to a server it does not own (the copy loop and rclone
read through a proxy, our daemons read in-process; rclone HEADs every object it wrote). So the
CPU of the Swift servers (both clusters), memcached, the S3 server and the contender's own
processes (and their children) is read from ``/proc/<pid>/stat`` before and after the window
and summed. The window opens at the first object PUT the S3 server answered and closes at the
N-th; what it covers is ``N - k0`` objects, ``k0`` being the PUTs answered when it opened.

The bench process itself (it reads the servers' access logs while it waits for the N-th PUT)
is reported apart as "harness": it is in no contender's path, and it is not the product's.
"""
import os
import threading
import time

TICK = os.sysconf('SC_CLK_TCK')


def proc_stat(pid):
    """(ppid, user+system CPU seconds) of a live process; None once it is gone."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK


def children_of(pids):
    """Every live descendant of ``pids`` (a daemon's forked workers, say)."""
    parent = {}
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            stat = proc_stat(int(entry))
            if stat:
                parent[int(entry)] = stat[0]
    found, todo = set(), set(pids)
    while todo:
        kids = {p for p, pp in parent.items() if pp in todo and p not in found}
        found |= kids
        todo = kids
    return found


def group_of(name):
    if 'memcached' in name:
        return 'memcached'
    if name == 'moto' or name.startswith('radosgw'):
        return 's3'
    return 'swift'


def env_pids(benv):
    """{pid: group} of every server the environment runs (both Swift clusters, S3 server)."""
    procs = benv.environment.procs
    out = {}
    for name in procs.names():
        pid = procs.running_pid(name)
        if pid:
            out[pid] = group_of(name)
    return out


class CpuMeter:
    """CPU seconds by group (swift, memcached, s3, contender, harness) of one run.

    ``contender`` is a list of Popen objects; their descendants count as theirs. A thread keeps
    the last value seen of every contender process, so one that exits just before the window
    closes is still counted (up to ``interval`` stale: in the peers' favour, never ours)."""

    def __init__(self, benv, contender, interval=0.25, rescan=2.0):
        self.env = env_pids(benv)
        self.roots = [p.pid for p in contender]
        self.kids = set()
        self.rescan = rescan      # seconds between scans of /proc for new children
        self._scanned = 0.0
        self.seen = {}            # contender pid -> last CPU seconds
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)
        self._thread.start()

    def _sample_contender(self, scan=False):
        # Scanning all of /proc is costly (it would load the bench process, which hosts the
        # request counter), so children are looked for every ``rescan`` seconds only.
        if scan or time.time() - self._scanned >= self.rescan:
            self.kids = children_of(self.roots)
            self._scanned = time.time()
        for pid in set(self.roots) | self.kids:
            stat = proc_stat(pid)
            if stat:
                with self._lock:
                    self.seen[pid] = stat[1]

    def _run(self, interval):
        while not self._stop.wait(interval):
            self._sample_contender()

    def snapshot(self):
        """{group: CPU seconds so far}."""
        self._sample_contender(scan=True)
        out = {'swift': 0.0, 'memcached': 0.0, 's3': 0.0, 'contender': 0.0, 'harness': 0.0}
        for pid, group in self.env.items():
            stat = proc_stat(pid)
            if stat:
                out[group] += stat[1]
        with self._lock:
            out['contender'] = sum(self.seen.values())
        out['harness'] = proc_stat(os.getpid())[1]
        return out

    def stop(self):
        self._stop.set()
        self._thread.join()


def delta(before, after):
    return {k: after[k] - before[k] for k in before}


def measure_window(benv, counter, n, procs, timeout):
    """Wait for ``n`` object PUTs at ``counter`` (a request counter, or the remote proxy's
    ``bench.accesslog.AccessLog``) while ``procs`` work; the window figures.

    Returns a dict: ``done`` (time of the n-th PUT's answer, or None), ``window_objects``,
    ``window_s``, ``window_objs_per_s``, ``cpu`` ({group: seconds} over the window),
    ``cpu_ms_per_obj`` (all environment processes + contender, harness excluded)."""
    from bench import phases
    meter = CpuMeter(benv, procs)
    try:
        deadline = time.time() + timeout
        opened = None
        with phases.phase('start-up (to the first PUT)'):
            while time.time() < deadline:
                if counter.count_ok_puts() >= 1:
                    before, t0 = meter.snapshot(), time.time()
                    opened = counter.count_ok_puts()
                    break
                if all(p.poll() is not None for p in procs):
                    break
                time.sleep(0.01)
        if opened is None:
            return {'done': None}
        with phases.phase('window'):
            done = counter.wait_for_puts(n, max(1, deadline - time.time()), procs, poll=0.01)
            after, t1 = meter.snapshot(), time.time()
    finally:
        meter.stop()
    if done is None or n - opened <= 0:
        return {'done': done}
    out = window_figures(before, after, t0, t1, n - opened)
    out['done'] = done
    return out


def window_figures(before, after, t0, t1, objects):
    """Rate and CPU per object of a window from two snapshots."""
    used = delta(before, after)
    env_cpu = sum(v for k, v in used.items() if k != 'harness')
    return {'window_objects': objects, 'window_s': t1 - t0,
            'window_objs_per_s': objects / (t1 - t0), 'cpu': used,
            'cpu_ms_per_obj': env_cpu * 1000.0 / objects,
            'harness_ms_per_obj': used['harness'] * 1000.0 / objects,
            'cpu_cores': env_cpu / (t1 - t0)}

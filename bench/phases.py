"""Where a run's time goes: the wall and CPU seconds of each phase (the environment's start
and stop, each section, and the steps inside them: populating, each contender's run, stopping
processes, verifying), for the report's phase table and the log.

CPU is that of the bench's own process tree (this process, every server of the environment,
every daemon, copy loop or peer it started, live or reaped), so other people's work on a
shared machine is left out: under load a phase's wall time stretches, its CPU seconds do not
(much), and ``cpu / wall`` says how many cores it kept busy.

Phases nest: ``with phase('populate'):`` inside the section ``small`` is recorded as
``small / populate``. The table adds up the steps of each section by name.
"""
import contextlib
import os
import resource
import threading
import time

_TICK = os.sysconf('SC_CLK_TCK')
_main_open = []     # names of the main thread's phases open now, outermost first
_local = threading.local()
_done = []          # one dict per finished phase, in the order they ended
_t0 = [time.time()]


def reset():
    """Forget every phase (a new run starts now)."""
    del _main_open[:], _done[:]
    _t0[0] = time.time()


def _open():
    """The phases open in this thread: a worker thread's (a populate pool's) nest inside
    what the main thread had open when the worker first timed one."""
    if threading.current_thread() is threading.main_thread():
        return _main_open
    if not hasattr(_local, 'open'):
        _local.open = list(_main_open)
    return _local.open


def process_start():
    """When this process started (epoch seconds): the whole command's clock includes the
    interpreter's start and the bench's imports."""
    try:
        with open('/proc/self/stat') as f:
            ticks = int(f.read().rsplit(')', 1)[1].split()[19])
        with open('/proc/uptime') as f:
            uptime = float(f.read().split()[0])
        return time.time() - (uptime - ticks / _TICK)
    except (OSError, ValueError, IndexError):
        return time.time()


def _stat(pid):
    """(ppid, CPU seconds of the process and of its reaped children) of ``pid``, or None."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), sum(int(x) for x in fields[11:15]) / _TICK


def _children(pid):
    """Live children of ``pid`` (``/proc/PID/task/*/children``); None where the kernel does not
    list them."""
    found = set()
    try:
        tasks = os.listdir('/proc/%d/task' % pid)
    except OSError:
        return found
    for task in tasks:
        try:
            with open('/proc/%d/task/%s/children' % (pid, task)) as f:
                found.update(int(p) for p in f.read().split())
        except FileNotFoundError:
            return None
        except OSError:
            continue
    return found


def descendants(pid):
    """Every live descendant of ``pid``."""
    found, todo = set(), [pid]
    while todo:
        kids = _children(todo.pop())
        if kids is None:        # no children files: one scan of /proc instead
            from bench.cost import children_of
            return children_of([pid])
        kids -= found
        found |= kids
        todo.extend(kids)
    return found


def tree_cpu():
    """CPU seconds used so far by this process and all its descendants: ourselves and what we
    reaped (``getrusage``), plus each live descendant with what it reaped in turn."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = own.ru_utime + own.ru_stime + reaped.ru_utime + reaped.ru_stime
    for pid in descendants(os.getpid()):
        stat = _stat(pid)
        if stat:
            total += stat[1]
    return total


@contextlib.contextmanager
def phase(name, log=None):
    """Time the block as the phase ``name`` (inside the phases open now); ``log``, if given,
    gets one line with its figures when it ends."""
    wall0, cpu0 = time.time(), tree_cpu()
    stack = _open()
    stack.append(name)
    try:
        yield
    finally:
        stack.pop()
        wall, cpu = time.time() - wall0, tree_cpu() - cpu0
        _done.append({'path': tuple(stack) + (name,), 'start_s': wall0 - _t0[0],
                      'wall_s': wall, 'cpu_s': cpu})
        if log is not None:
            log('%s: %.1f s, %.1f CPU s' % (name, wall, cpu))


def recorded():
    """Every finished phase: ``path`` (names, outermost first), ``start_s`` (since
    ``reset``), ``wall_s``, ``cpu_s``."""
    return [dict(d, path=list(d['path'])) for d in _done]


def table(records, total_s=None):
    """Markdown lines: each top-level phase in order of start, and under it every step timed
    inside it, added up by name (how many, wall, CPU). Steps nest (a contender's run holds
    its stop and its verification), so a section's steps may add up to more than it."""
    if not records:
        return []
    lines = ['| phase | runs | wall s | CPU s (bench process tree) | cores busy |',
             '|---|---|---|---|---|']

    def row(label, count, wall, cpu):
        cores = '%.2f' % (cpu / wall) if wall > 0 else 'n/a'
        lines.append('| %s | %s | %.1f | %.1f | %s |' % (label, count, wall, cpu, cores))

    tops = sorted((r for r in records if len(r['path']) == 1), key=lambda r: r['start_s'])
    for top in tops:
        row('**%s**' % top['path'][0], 1, top['wall_s'], top['cpu_s'])
        steps = {}
        for r in records:
            if len(r['path']) >= 2 and r['path'][0] == top['path'][0]:
                agg = steps.setdefault(r['path'][-1], [0, 0.0, 0.0])
                agg[0] += 1
                agg[1] += r['wall_s']
                agg[2] += r['cpu_s']
        for name, (count, wall, cpu) in sorted(steps.items(), key=lambda kv: -kv[1][1]):
            row('&nbsp;&nbsp;%s' % name, count, wall, cpu)
    if total_s is not None:
        lines.append('| (outside every phase: interpreter start, imports) | | %.1f | | |' % (
            max(0.0, total_s - sum(t['wall_s'] for t in tops))))
        lines.append('| **whole command** | | %.1f | | |' % total_s)
    return lines

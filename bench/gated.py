"""Worker processes whose start-up stays out of the measured window.

Each worker (``python -m MODULE JOB.json INDEX``) gets ready (imports, login, bodies), says
``ready`` on stdout, waits for ``go`` on stdin, does its share, says ``done``, and exits when its
stdin closes. :func:`window` opens the window at ``go`` and closes it at the last ``done``, with
the CPU of every process of the environment read at both ends while the workers are alive.
"""
import subprocess
import sys
import time


def serve(work):
    """The worker's side: ``work()`` between ``go`` and ``done``."""
    print('ready', flush=True)
    sys.stdin.readline()
    work()
    print('done', flush=True)
    sys.stdin.read()


def launch(module, path, processes):
    """``processes`` workers of ``module`` on the job file ``path`` (stderr to ``path.log``)."""
    with open(path + '.log', 'ab') as log:
        return [subprocess.Popen([sys.executable, '-m', module, path, str(i)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log)
                for i in range(processes)]


def window(benv, procs, objects, on_open=None, watcher=None):
    """Window figures (``bench.cost.window_figures`` plus ``done``, its end) of ``objects``
    done by ``procs``, or ``{'done': None}`` when one failed; the workers are stopped after.
    ``on_open()`` runs right before ``go`` (a log offset, say)."""
    from bench import cost
    from bench.environment import stop_procs
    meter = cost.CpuMeter(benv, procs)
    figures = {'done': None}
    from bench import phases
    try:
        with phases.phase('start-up (to ready)'):
            ready = all(p.stdout.readline().strip() == b'ready' for p in procs)
        if ready:
            if on_open is not None:
                on_open()
            with phases.phase('window'):
                before, t0 = meter.snapshot(), time.time()
                for p in procs:
                    p.stdin.write(b'go\n')
                    p.stdin.flush()
                finished = [p.stdout.readline().strip() == b'done' for p in procs]
                after, t1 = meter.snapshot(), time.time()
            if all(finished):
                figures = cost.window_figures(before, after, t0, t1, objects)
                figures['done'] = t1
        if watcher is not None:
            watcher.stop()
    finally:
        meter.stop()
        for p in procs:
            try:
                p.stdin.close()
            except OSError:
                pass
        stop_procs(procs)
    return figures

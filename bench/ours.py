"""Our side: the three node daemons (run_forever) syncing one container to a fresh bucket.

Timed from the daemons' start (process start included) to the answer of the N-th successful
PUT in moto's access log (``bench.accesslog``); the window from the first PUT to the N-th
(start-up left out) gives the steady rate and the CPU of every process of the environment
per object (``bench.cost``).
Request economy counts every request moto logged from the start to one second after the
last object arrived. Peak RSS is each daemon's VmHWM. Every run ends with a check of the bucket
(``bench.verify``): a run whose bucket is wrong is a failed run.
"""
import shutil
import subprocess
import sys
import time

from bench import cost, verify
from bench.environment import PeakWatcher, expected_keys, stop_procs
from devenv.daemons import NodeDaemons, s3_mapping

SETTLE = 1.0


def daemons_for(benv, counter, container, bucket, workers, **overrides):
    target = benv.moto
    mapping = s3_mapping(target, bucket, benv.account, container)
    conf = dict(log_level='info', poll_interval=5, workers=workers)
    conf.update(overrides)
    return NodeDaemons(benv.info, [mapping], **conf)


# Runs the daemon with another number of SLO parts in flight (a bench experiment, not a key).
PARTS = ('import sys; from s3_sync.providers import s3_multipart as m; '
         'm.MultipartUploads.__init__.__defaults__ = (int(sys.argv.pop(1)),); '
         'from s3_sync.cli.sync import main; sys.exit(main())')


def start_daemons(daemons, profile_to=None, parts=None):
    """Start the three daemons; with ``profile_to``, node 1's runs under cProfile; with
    ``parts``, every daemon uploads that many parts of a large object at once."""
    procs = []
    for index in range(len(daemons.configs)):
        if (index == 0 and profile_to) or parts:
            cmd = daemons.command(index, once=False)
            if parts:
                cmd = [sys.executable, '-c', PARTS, str(parts)] + cmd[3:]
            else:
                cmd = [sys.executable, '-m', 'cProfile', '-o', profile_to] + cmd[1:]
            log = open(daemons.dir + '/node0.log', 'ab')
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                    env=daemons._env())
            daemons.procs[index] = proc
        else:
            proc = daemons.start(index)
        procs.append(proc)
    return procs


def run(benv, counter, container, count, size, workers, timeout, profile_to=None,
        **overrides):
    """One measured run; a dict of figures (``None`` time when not all objects arrived)."""
    bucket = benv.new_bucket('ours')
    daemons = daemons_for(benv, counter, container, bucket, workers, **overrides)
    counter.reset()
    start = time.time()
    procs = start_daemons(daemons, profile_to)
    watcher = PeakWatcher(procs)
    try:
        window = cost.measure_window(benv, counter, count, procs, timeout)
        if window['done'] is not None:
            time.sleep(SETTLE)
        watcher.stop()
    finally:
        stop_procs(procs)
    result = finish(benv, counter, start, window, count, size, bucket,
                    expected_keys(benv, bucket, container), watcher)
    logs = '\n'.join(daemons.log(i) for i in range(len(procs)))
    result['errors_in_log'] = sum(1 for line in logs.splitlines()
                                  if ' ERROR ' in line or 'Traceback' in line)
    shutil.rmtree(daemons.dir, ignore_errors=True)
    return result


def finish(benv, counter, start, window, count, size, bucket, expected, watcher):
    """The figures of one run, its window's cost, its RSS and its verification."""
    result = figures(counter, start, window['done'], count, size)
    result.update({k: v for k, v in window.items() if k != 'done'})
    result['rss_mib'] = watcher.peaks
    result['rss_series'] = watcher.series
    result['requests'] = counter.by_method()
    result['verified'] = verify.check(benv, bucket, expected)
    result['ok'] = result['seconds'] is not None and result['verified']['ok']
    return result


def figures(counter, start, done, count, size):
    """Throughput figures of one run from the PUT times in moto's access log."""
    puts = counter.ok_puts()[:count]
    if done is None or not puts:
        return {'seconds': None, 'arrived': len(puts)}
    wall = done - start
    window = puts[-1][1] - puts[0][0]
    return {'seconds': wall, 'objs_per_s': count / wall, 'mb_per_s': count * size / wall / 1e6,
            'window_s': window, 'steady_objs_per_s': count / window if window > 0 else None,
            'arrived': len(puts)}

"""Our side: the three node daemons (run_forever) syncing one container to a fresh bucket.

Timed from the daemons' start (process start included) to the answer of the N-th successful
PUT at the request counter; the first-to-last-PUT window is reported too (steady rate, without
the process start-up). Request economy counts every request the counter saw from the start to
one second after the last object arrived. Peak RSS is each daemon's VmHWM.
"""
import shutil
import subprocess
import sys
import time

from bench.environment import PeakWatcher, stop_procs
from devenv.daemons import NodeDaemons, s3_mapping

SETTLE = 1.0


def daemons_for(benv, counter, container, bucket, workers, **overrides):
    target = dict(benv.moto, aws_endpoint=counter.url)
    mapping = s3_mapping(target, bucket, benv.account, container)
    conf = dict(log_level='info', poll_interval=5, workers=workers)
    conf.update(overrides)
    return NodeDaemons(benv.info, [mapping], **conf)


def start_daemons(daemons, profile_to=None):
    """Start the three daemons; with ``profile_to``, node 1's runs under cProfile."""
    procs = []
    for index in range(len(daemons.configs)):
        if index == 0 and profile_to:
            cmd = daemons.command(index, once=False)
            cmd = [sys.executable, '-m', 'cProfile', '-o', profile_to] + cmd[1:]
            log = open(daemons.dir + '/node0.log', 'ab')
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                    env=daemons._env())
            daemons.procs[index] = proc
        else:
            proc = daemons.start(index)
        procs.append(proc)
    return procs


def run(benv, counter, container, count, size, workers, timeout, profile_to=None):
    """One measured run; a dict of figures (``None`` time when not all objects arrived)."""
    bucket = benv.new_bucket('ours')
    daemons = daemons_for(benv, counter, container, bucket, workers)
    counter.reset()
    start = time.time()
    procs = start_daemons(daemons, profile_to)
    watcher = PeakWatcher(procs)
    try:
        done = counter.wait_for_puts(count, timeout, procs)
        if done is not None:
            time.sleep(SETTLE)
        peaks = watcher.stop()
    finally:
        stop_procs(procs)
    result = figures(counter, start, done, count, size)
    result['rss_mib'] = peaks
    result['cpu_s'] = watcher.cpu
    result['requests'] = counter.by_method()
    logs = '\n'.join(daemons.log(i) for i in range(len(procs)))
    result['errors_in_log'] = sum(1 for line in logs.splitlines()
                                  if ' ERROR ' in line or 'Traceback' in line)
    shutil.rmtree(daemons.dir, ignore_errors=True)
    return result


def figures(counter, start, done, count, size):
    """Throughput figures of one run from the counter's PUT times."""
    puts = counter.ok_puts()[:count]
    if done is None or not puts:
        return {'seconds': None, 'arrived': len(puts)}
    wall = done - start
    window = puts[-1][1] - puts[0][0]
    return {'seconds': wall, 'objs_per_s': count / wall, 'mb_per_s': count * size / wall / 1e6,
            'window_s': window, 'steady_objs_per_s': count / window if window > 0 else None,
            'arrived': len(puts)}

"""Measurement 4: sync lag under a steady client write rate, daemons in run_forever mode.

A client thread PUTs 4 KiB objects through proxy B at a fixed schedule (``RATE`` per second for
``lag_seconds``). The lag of an object is the time the S3 server answered the daemon's PUT of
its key (moto's access log, no polling) minus the time the client's Swift PUT
returned. Objects that never arrive within the grace period count as missing, not as lag.
"""
import threading
import shutil
import time

from s3_sync import layout

from bench import ours, phases
from bench.environment import PeakWatcher, layout_mapping, stop_procs
from bench.stats import percentile

RATE = 20
GRACE = 30
WARMUP_TIMEOUT = 60


def client_loop(benv, container, rate, seconds, sent):
    conn = benv.swift_conn()
    body = b'x' * 4096
    start = time.time()
    i = 0
    while True:
        due = start + i / float(rate)
        if due >= start + seconds:
            return
        delay = due - time.time()
        if delay > 0:
            time.sleep(delay)
        name = 'lag-%06d' % i
        conn.put_object(container, name, body)
        sent[name] = time.time()
        i += 1


def wait_first_cycle(daemons, procs, timeout):
    """Until every daemon logged a finished full cycle (the steady state we measure)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if all('cycle done' in daemons.log(i) for i in range(len(procs))):
            return True
        time.sleep(0.1)
    return False


def measure(benv, counter, plan, workers, scratch, log):
    seconds = plan['lag_seconds']
    container = benv.new_container('lag')
    bucket = benv.new_bucket('lag')
    daemons = ours.daemons_for(benv, counter, container, bucket, workers)
    prefix = layout.key_prefix(layout_mapping(bucket), benv.account, container)
    counter.reset()
    procs = ours.start_daemons(daemons)
    watcher = PeakWatcher(procs)
    sent = {}
    try:
        with phases.phase('start-up (to a first cycle)'):
            ready = wait_first_cycle(daemons, procs, WARMUP_TIMEOUT)
        if not ready:
            return {'error': 'daemons did not finish a first cycle in %ds' % WARMUP_TIMEOUT}
        log('lag: daemons ready; %d PUT/s for %d s' % (RATE, seconds))
        client = threading.Thread(target=client_loop,
                                  args=(benv, container, RATE, seconds, sent))
        with phases.phase('client PUTs'):
            t0 = time.time()
            client.start()
            client.join()
        achieved = len(sent) / (time.time() - t0)
        with phases.phase('last arrivals'):
            counter.wait_for_puts(len(sent), GRACE, procs)
        peaks = watcher.stop()
    finally:
        stop_procs(procs)
    shutil.rmtree(daemons.dir, ignore_errors=True)
    arrived = {}
    for _a, answered, path in counter.ok_puts():
        name = path.split(prefix, 1)[-1]
        arrived.setdefault(name, answered)
    lags = [arrived[n] - t for n, t in sent.items() if n in arrived]
    return {'rate': RATE, 'seconds': seconds, 'sent': len(sent), 'arrived': len(lags),
            'achieved_rate': achieved, 'p50': percentile(lags, 50), 'lags': lags,
            'p90': percentile(lags, 90), 'min': min(lags) if lags else None,
            'p99': percentile(lags, 99), 'max': max(lags) if lags else None,
            'rss_mib': peaks, 'requests': counter.by_method()}

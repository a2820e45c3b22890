"""Measurement 7: what the cloud-shunt costs local reads, and (once built) what it serves.

Local GET latency: one 4 KiB object read alternately through proxy A (shunt in the pipeline)
and proxy B (none), one keep-alive connection each, sequentially, so both see the same noise.
The archived-GET and listing measurements need a shunt that serves archived objects; while
``CloudShunt.__call__`` is a pass-through (a one-statement body) they report n/a.
"""
import inspect
import time

from bench.stats import median, percentile


def shunt_is_pass_through():
    try:
        from s3_sync.shunt import CloudShunt
    except ImportError:
        return True
    body = [line for line in inspect.getsource(CloudShunt.__call__).splitlines()[1:]
            if line.strip() and not line.strip().startswith(('#', '"""'))]
    return len(body) <= 1


def timed_get(conn, container, name):
    start = time.perf_counter()
    conn.get_object(container, name)
    return (time.perf_counter() - start) * 1000


def measure(benv, counter, plan, workers, scratch, log):
    container = benv.new_container('shunt')
    benv.populate(container, 1, 4096, prefix='local')
    name = 'local-000000'
    a, b = benv.swift_conn(shunt=True), benv.swift_conn(shunt=False)
    for conn in (a, b):          # auth and connection set-up outside the timing
        for _ in range(10):
            timed_get(conn, container, name)
    times_a, times_b = [], []
    for _ in range(plan['shunt_gets']):
        times_a.append(timed_get(a, container, name))
        times_b.append(timed_get(b, container, name))
    ma, mb = median(times_a), median(times_b)
    na = 'cloud-shunt passes every request through in this version (s3_sync/shunt)'
    passthrough = shunt_is_pass_through()
    return {
        'local_get': {'a_median_ms': ma, 'b_median_ms': mb,
                      'a_p99_ms': percentile(times_a, 99), 'b_p99_ms': percentile(times_b, 99),
                      'overhead_pct': (ma / mb - 1) * 100 if ma and mb else None,
                      'gets_each': plan['shunt_gets']},
        'archived_get': {'na': na} if passthrough else {'na': 'not measured by this bench yet'},
        'listing': {'na': na} if passthrough else {'na': 'not measured by this bench yet'},
    }

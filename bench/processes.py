"""More than one core per node: node 1's daemon alone, with ``processes`` 1 and then 2.

A node with many containers: ``containers`` containers of 4 KiB objects, one mapping each, to
one bucket. Only node 1's daemon runs, with ``verification_slack: 0``, so it propagates every
row itself (its own third in the primary pass, the rest in the verification pass of the same
cycle): one node's whole load, on one process or split over two. Window and cost as for the
throughput runs (``bench.cost``); every run verified; rounds interleave the two settings.
"""
import shutil
import time

from bench import cost
from bench.environment import PeakWatcher, expected_keys, stop_procs
from bench.ours import finish
from bench.stats import spread
from devenv.daemons import NodeDaemons, s3_mapping


def run(benv, counter, containers, per, processes, workers, timeout):
    bucket = benv.new_bucket('procs')
    target = dict(benv.moto, aws_endpoint=counter.url)
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


def measure(benv, counter, plan, workers, scratch, log):
    n, per = plan['proc_containers'], plan['proc_objects']
    log('processes: populating %d containers x %d x 4 KiB' % (n, per))
    containers = [benv.new_container('proc') for _ in range(n)]
    for c in containers:
        benv.populate(c, per, 4096)
    runs = {1: [], 2: []}
    for rnd in range(plan['rounds']):
        for p in (1, 2):
            r = run(benv, counter, containers, per, p, workers, 600)
            runs[p].append(r)
            log('  round %d, %d process(es): %s obj/s, %s ms CPU/obj, ok %s %s' % (
                rnd + 1, p, r.get('window_objs_per_s'), r.get('cpu_ms_per_obj'), r['ok'],
                r['verified'].get('why', '')))
            benv.reset_moto()
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

"""Sync throughput and cost: one workload, every contender, N interleaved rounds.

Each round runs every contender one after the other on the same container, each to a fresh
bucket (moto is reset between runs), so machine noise falls on all of them alike. Contenders:

* ``ours``: the three node daemons (``bench.ours``);
* ``copy``: the ceiling, a copy loop that reads the way the daemons do (in-process
  InternalClient, 3 processes x ``workers`` green threads; ``bench.copyloop``);
* ``local-get`` / ``s3-put``: the two raw sides alone, same split (upper bounds of any copy);
* ``rclone`` / ``rclone-no-head``: the peer with its defaults and with ``--s3-no-head``.

Every run is verified (``bench.verify``); only verified runs enter the figures, which are
given as min / median / max over the rounds. Ratios ours/X are taken within each round (same
noise) and then given as min / median / max too.
"""
import os

from bench import copyloop, ours, phases, rclone
from bench.stats import spread

CONTENDERS = ('ours', 'copy', 'local-get', 's3-put', 'rclone', 'rclone-no-head')
COPY_MODES = {'copy': 'inproc', 'copy-proxy': 'proxy', 'local-get': 'get', 's3-put': 'put'}


def run_one(name, benv, counter, container, names, size, workers, timeout, scratch):
    count = len(names)
    if name == 'ours':
        return ours.run(benv, counter, container, count, size, workers, timeout)
    if name in COPY_MODES:
        daemons = ours.daemons_for(benv, counter, container, 'unused', workers)
        return copyloop.run(benv, counter, container, names, size, 3, workers, timeout,
                            os.path.join(scratch, 'copyloop.json'), mode=COPY_MODES[name],
                            configs=daemons.configs)   # daemons (and configs) live till here
    return rclone.run(benv, counter, container, count, size, 3 * workers, timeout, scratch,
                      no_head=name == 'rclone-no-head')


def run_workload(benv, counter, label, count, size, rounds, workers, scratch, log,
                 contenders=CONTENDERS, timeout=600):
    log('%s: populating %d x %d bytes' % (label, count, size))
    container, names = benv.populated(count, size, 'tp')
    runs = {name: [] for name in contenders}
    for rnd in range(rounds):
        for name in contenders:
            with phases.phase(name):
                result = run_one(name, benv, counter, container, names, size, workers,
                                 timeout, scratch)
            result.pop('rss_series', None)
            runs[name].append(result)
            log('  round %d %-15s %s' % (rnd + 1, name, brief(result)))
            benv.reset_moto()
    return {'label': label, 'count': count, 'size': size, 'rounds': rounds,
            'runs': runs, 'summary': summarize(runs, count, size)}


def brief(result):
    if not result.get('ok'):
        return 'FAILED: %s' % (result.get('verified', {}).get('why') or
                               'incomplete (%s arrived)' % result.get('arrived'))
    return '%.1f obj/s in the window (%.1f start to end), %.2f ms CPU/obj (all processes), ' \
           'reqs %s' % (result.get('window_objs_per_s') or 0, result.get('objs_per_s') or 0,
                        result.get('cpu_ms_per_obj') or 0, result.get('requests'))


def summarize(runs, count, size):
    out = {}
    for name, results in runs.items():
        ok = [r for r in results if r.get('ok')]
        reqs = [sum((r.get('requests') or {}).values()) / count for r in ok]
        methods = {}
        for r in ok:
            for method, n in (r.get('requests') or {}).items():
                methods.setdefault(method, []).append(n / count)
        out[name] = {
            'objs_per_s': spread([r.get('window_objs_per_s') for r in ok]),
            'start_to_end_objs_per_s': spread([r.get('objs_per_s') for r in ok]),
            'mb_per_s': spread([r['window_objs_per_s'] * size / 1e6 for r in ok
                                if r.get('window_objs_per_s')]),
            'cpu_ms_per_obj': spread([r.get('cpu_ms_per_obj') for r in ok]),
            'contender_cpu_ms_per_obj': spread([
                r['cpu']['contender'] * 1000 / r['window_objects'] for r in ok if r.get('cpu')]),
            'harness_ms_per_obj': spread([r.get('harness_ms_per_obj') for r in ok]),
            'requests_per_obj': spread(reqs),
            'requests_per_obj_by_method': {m: spread(v)[1] for m, v in sorted(methods.items())},
            'peak_rss_mib': spread([max([x for x in r.get('rss_mib') or [] if x] or [0]) or None
                                    for r in ok]),
            'ok_runs': len(ok), 'runs': len(results),
            'failures': [r.get('verified', {}).get('why') or 'incomplete' for r in results
                         if not r.get('ok')],
        }
    if 'ours' in runs:
        for name in runs:
            if name == 'ours':
                continue
            out['ours'].setdefault('ratio', {})[name] = {
                'objs_per_s': per_round_ratio(runs, name, 'window_objs_per_s'),
                'cpu_ms_per_obj': per_round_ratio(runs, name, 'cpu_ms_per_obj')}
    return out


def per_round_ratio(runs, other, key):
    """(min, median, max) of ours/other over the rounds where both runs were verified."""
    values = []
    for mine, theirs in zip(runs['ours'], runs[other]):
        if mine.get('ok') and theirs.get('ok') and mine.get(key) and theirs.get(key):
            values.append(mine[key] / theirs[key])
    return spread(values)

"""Measurements 1, 2, 3 (rclone), 5 and 6: one workload, every contender, N interleaved rounds.

Each round runs ours, the ceiling copy loop and rclone one after the other on the same
container, each to a fresh bucket (moto is reset between rounds), so machine noise falls on all
of them alike; the table reports medians over rounds and the ratio of the medians.
"""
import os

from bench import copyloop, ours, rclone
from bench.stats import median

CONTENDERS = ('ours', 'ceiling', 'rclone')


def run_workload(benv, counter, label, count, size, rounds, workers, scratch, log,
                 contenders=CONTENDERS, timeout=600):
    log('%s: populating %d x %d bytes' % (label, count, size))
    container = benv.new_container('tp')
    names = benv.populate(container, count, size)
    runs = {name: [] for name in contenders}
    for rnd in range(rounds):
        for name in contenders:
            if name == 'ours':
                result = ours.run(benv, counter, container, count, size, workers, timeout)
            elif name == 'ceiling':
                result = copyloop.run(benv, counter, container, names, size, 3, workers,
                                      timeout, os.path.join(scratch, 'copyloop.json'))
            else:
                result = rclone.run(benv, counter, container, count, size, 3 * workers,
                                    timeout, scratch)
            runs[name].append(result)
            log('  round %d %-8s %s' % (rnd + 1, name, brief(result)))
            benv.reset_moto()
    return {'label': label, 'count': count, 'size': size, 'rounds': rounds,
            'runs': runs, 'summary': summarize(runs, count)}


def brief(result):
    if result.get('seconds') is None:
        return 'incomplete (%s arrived) %s' % (result.get('arrived'), result.get('note', ''))
    return '%.2fs %.1f obj/s %.1f MB/s steady %.1f obj/s reqs %s rss %s' % (
        result['seconds'], result['objs_per_s'], result['mb_per_s'],
        result.get('steady_objs_per_s') or 0, result.get('requests'),
        ['%.0f' % r for r in result.get('rss_mib') or [] if r])


def summarize(runs, count):
    out = {}
    for name, results in runs.items():
        reqs = [sum(r.get('requests', {}).values()) / count for r in results
                if r.get('seconds') is not None]
        methods = {}
        for r in results:
            for method, n in (r.get('requests') or {}).items():
                methods.setdefault(method, []).append(n / count)
        rss = [max([x for x in r.get('rss_mib') or [] if x] or [0]) or None for r in results]
        out[name] = {
            'objs_per_s': median([r.get('objs_per_s') for r in results]),
            'mb_per_s': median([r.get('mb_per_s') for r in results]),
            'steady_objs_per_s': median([r.get('steady_objs_per_s') for r in results]),
            'requests_per_obj': median(reqs),
            'requests_per_obj_by_method': {m: median(v) for m, v in sorted(methods.items())},
            'peak_rss_mib': median(rss),
            'cpu_ms_per_obj': median([sum(c for c in r.get('cpu_s') or [] if c) * 1000 / count
                                      if r.get('cpu_s') else None for r in results]),
            'complete_runs': sum(1 for r in results if r.get('seconds') is not None),
        }
    return out

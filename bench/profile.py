"""Where a daemon's time goes: node 1's daemon under cProfile while the three sync the small
workload (quick size). The top functions by own time and by cumulative time go in the report.

cProfile under eventlet attributes waiting in the hub to ``hub.switch``/``epoll.poll``; own-time
figures of the other functions are what the daemon burns in CPU.
"""
import io
import os
import pstats

from bench import ours

OBJECTS = 1000


def measure(benv, counter, plan, workers, scratch, log):
    container = benv.new_container('prof')
    benv.populate(container, OBJECTS, 4096)
    out = os.path.join(scratch, 'node1.prof')
    result = ours.run(benv, counter, container, OBJECTS, 4096, workers, 300, profile_to=out)
    if not os.path.exists(out):
        return {'error': 'cProfile wrote no output'}
    buf = io.StringIO()
    stats = pstats.Stats(out, stream=buf)
    stats.sort_stats('tottime').print_stats(22)
    stats.sort_stats('cumulative').print_stats(30)
    text = '\n'.join(line for line in buf.getvalue().splitlines()
                     if line.strip() and not line.startswith(('   Ordered', '   List')))
    saved = os.path.join(benv.environment.base + '-results', 'node1.prof')
    os.makedirs(os.path.dirname(saved), exist_ok=True)
    os.replace(out, saved)
    return {'workload': '%d x 4 KiB, %.1f obj/s with node 1 profiled; raw: %s' % (
        OBJECTS, result.get('objs_per_s') or 0, saved), 'top': text}

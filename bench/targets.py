"""The targets of issues 14 and 12 (proxymc), judged from a run's results (never typed by hand).

Each target reads one (min, median, max) figure out of the results and a limit. "met" is
judged on the median; "every round" is added when the worst round meets it too. A figure the
run did not produce is "not measured", never a pass.

Under a target, its bounds (``bench.bounds``, measured in the same alternation): what no
implementation of that kind can beat here, judged against the target's own limit, so the table
says whether the target is within reach on this machine at all.
"""
import collections

from bench import container_sync
from bench.stats import fmt_spread

# A bound's row: the limit of the target it bounds, and which implementations it bounds.
Bound = collections.namedtuple('Bound', 'limit of')


def _get(results, *path):
    node = results
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def small_cpu_vs_best_peer(results):
    s = _get(results, 'small', 'summary') or {}
    peers = [s[p]['cpu_ms_per_obj'][1] for p in ('rclone', 'rclone-no-head')
             if p in s and s[p]['cpu_ms_per_obj'][1] is not None]
    ours = _get(s, 'ours', 'cpu_ms_per_obj')
    if not peers or not ours or ours[1] is None:
        return None
    best = min(peers)
    return tuple(v / best for v in ours)


def small_rate_vs_best_peer(results):
    s = _get(results, 'small', 'summary') or {}
    peers = [(s[p]['objs_per_s'][1], p) for p in ('rclone', 'rclone-no-head')
             if p in s and s[p]['objs_per_s'][1] is not None]
    if not peers:
        return None
    return _get(s, 'ours', 'ratio', max(peers)[1], 'objs_per_s')


def csync_ratio(interval, part=None, rate='objs_per_s'):
    def get(results):
        data = _get(results, 'container_sync', *([part] if part else [])) or {}
        runs = data.get('runs') or {}
        ours = (runs.get('ours') or {})
        theirs = runs.get(container_sync.contender(interval)) or {}
        if ours.get('ok') and theirs.get('ok'):
            return ours[rate] / theirs[rate]
        return None
    return get


def csync_ceiling_over(who, inverse=False):
    """The remote side alone over ``who`` (``who`` over it with ``inverse``), first to last
    PUT of the small-object backlog."""
    def get(results):
        runs = _get(results, 'container_sync', 'runs') or {}
        ceiling, other = runs.get(container_sync.CEILING) or {}, runs.get(who) or {}
        if not (ceiling.get('ok') and other.get('ok')):
            return None
        ratio = ceiling['window_objs_per_s'] / other['window_objs_per_s']
        return 1 / ratio if inverse else ratio
    return get


def ours_exposed_manifests(results):
    """SLOs whose remote manifest existed without all its segments, ours (counter and poll)."""
    ours = _get(results, 'container_sync', 'slo', 'runs', 'ours') or {}
    if not ours.get('ok'):
        return None
    return (ours.get('manifests_before_segments') or 0) + (ours.get('polled') or {}).get(
        'moments', 0)


def shunt_bounds(size, first_reads=()):
    """The rows under an archived-GET target: its bounds, and the GET against them."""
    get = ('shunt', 'archived_get', size)
    rows = [
        ('  bound: local miss alone (the same GET of a name that exists nowhere, proxy B) / '
         'direct S3 GET', path(*get, 'floor', 'miss_vs_direct'),
         Bound(1.2, 'any shunt that asks Swift first'), 'at most', '%.2fx'),
        ('  bound: the same GET through the bare relay / direct S3 GET (the shunt relays the '
         'body too)', path(*get, 'floor', 'relay_vs_direct'), Bound(1.2, 'any shunt'),
         'at most', '%.2fx'),
        ('  bound: sequential floor, local miss + direct S3 GET / direct S3 GET',
         path(*get, 'floor', 'floor_vs_direct'), Bound(1.2, 'a shunt that reads the remote '
                                                      'after the local 404'),
         'at most', '%.2fx'),
        ('  bound: sequential floor with the hop, local miss + GET through the bare relay / '
         'direct S3 GET', path(*get, 'floor', 'relayed_floor_vs_direct'),
         Bound(1.2, 'a shunt that reads the remote after the local 404'), 'at most', '%.2fx'),
        ('  archived GET / its sequential floor', path(*get, 'floor', 'vs_floor'), None,
         'at most', '%.2fx'),
        ('  archived GET / its sequential floor with the hop', path(*get, 'floor',
                                                                  'vs_relayed_floor'),
         None, 'at most', '%.2fx')]
    for key, label in first_reads:
        first = ('shunt', 'archived_get', key)
        rows += [('  %s / direct S3 GET' % label, path(*first, 'ratio'), None, 'at most',
                  '%.2fx'),
                 ('  %s / its sequential floor' % label, path(*first, 'floor', 'vs_floor'),
                  None, 'at most', '%.2fx')]
    return rows


def ratio_to(workload, other):
    return lambda results: _get(results, workload, 'summary', 'ours', 'ratio', other,
                                'objs_per_s')


def path(*keys):
    return lambda results: _get(results, *keys)


# (what, figure, limit, "at least" or "at most", format)
TARGETS = [
    ('small objects: CPU of all processes per object, ours / best rclone configuration',
     small_cpu_vs_best_peer, 1.0, 'at most', '%.2fx'),
    ('small objects: throughput, ours / best rclone configuration',
     small_rate_vs_best_peer, 1.5, 'at least', '%.2fx'),
    ('small objects: throughput, ours / in-process copy loop', ratio_to('small', 'copy'), None,
     'at least', '%.2fx'),
    ('1 MiB objects: throughput, ours / in-process copy loop', ratio_to('medium', 'copy'), 0.9,
     'at least', '%.2fx'),
    ('SLO: throughput, ours / in-process copy of the same SLO',
     path('large', 'ratio'), 0.8, 'at least', '%.2fx'),
    ('shunt: local GET overhead with sync and archive mappings configured',
     path('shunt', 'local_get', 'overhead_pct'), 5.0, 'at most', '%+.1f %%'),
    ('shunt: archived 4 KiB GET / direct S3 GET (median latency)',
     path('shunt', 'archived_get', 'small', 'ratio'), 1.2, 'at most', '%.2fx'),
] + shunt_bounds('small', (('small_first', 'first read of each object (no early remote read)'),
                          ('small_listed', 'first read of each object after a spliced listing '
                           'showed it'))) + [
    ('shunt: archived 16 MiB GET / direct S3 GET (median latency)',
     path('shunt', 'archived_get', 'large', 'ratio'), 1.2, 'at most', '%.2fx'),
] + shunt_bounds('large') + [
    ('shunt: spliced listing of 10,000 (half archived) / plain local listing',
     path('shunt', 'listing', 'ratio'), 2.0, 'at most', '%.2fx'),
    ('  bound: plain local listing + the S3 server\'s own listing of the archived half / plain '
     'local listing', path('shunt', 'listing', 'floor_vs_local'), Bound(2.0, 'any splice'),
     'at most', '%.2fx'),
    ('  spliced / (plain local + the S3 server\'s own listing of the archived half)',
     path('shunt', 'listing', 'vs_both_plain'), None, 'at most', '%.2fx'),
    ('proxymc: 4 KiB cloud GET / direct S3 GET (median latency)',
     path('proxymc', 'get_4k', 'ratio'), 1.2, 'at most', '%.2fx'),
    ('  bound: bare relay / direct S3 GET (same client, same S3 server)',
     path('proxymc', 'get_4k', 'relay', 'relay_vs_direct'), Bound(1.2, 'any relay process'),
     'at most', '%.2fx'),
    ('  proxymc / bare relay', path('proxymc', 'get_4k', 'relay', 'vs_relay'), None,
     'at most', '%.2fx'),
    ('  bound: the least app behind proxymc\'s Swift middlewares / direct S3 GET',
     path('proxymc', 'get_4k', 'pipeline', 'pipeline_vs_direct'),
     Bound(1.2, 'any app behind that pipeline'), 'at most', '%.2fx'),
    ('  proxymc / that least app', path('proxymc', 'get_4k', 'pipeline', 'vs_pipeline'), None,
     'at most', '%.2fx'),
    ('proxymc: 16 MiB cloud GET, throughput / direct S3 GET',
     path('proxymc', 'get_16m', 'throughput_ratio'), 0.9, 'at least', '%.2fx'),
    ('  bound: bare relay throughput / direct S3 GET',
     path('proxymc', 'get_16m', 'relay', 'relay_throughput_vs_direct'),
     Bound(0.9, 'any relay process'), 'at least', '%.2fx'),
    ('  proxymc throughput / bare relay', path('proxymc', 'get_16m', 'relay',
                                              'throughput_vs_relay'), None, 'at least', '%.2fx'),
    ('  bound: the least app behind proxymc\'s Swift middlewares, throughput / direct S3 GET',
     path('proxymc', 'get_16m', 'pipeline', 'pipeline_throughput_vs_direct'),
     Bound(0.9, 'any app behind that pipeline'), 'at least', '%.2fx'),
    ('  proxymc throughput / that least app', path('proxymc', 'get_16m', 'pipeline',
                                                   'throughput_vs_pipeline'), None, 'at least',
     '%.2fx'),
    ('proxymc: merged listing of 10,000 (half cloud) / both plain listings',
     path('proxymc', 'listing', 'ratio'), None, 'at most', '%.2fx'),
    ('2 daemon processes / 1 process on one node (CPU-bound workload: a scan of excluded rows)',
     path('processes', 'ratio'), 1.6, 'at least', '%.2fx'),
    ('  of which rows per CPU second, 2 processes / 1 (the split\'s own cost; reported)',
     path('processes', 'scan', 'efficiency'), None, 'at least', '%.2fx'),
    ('  of which cores the machine gave the daemon, 2 processes / 1 (reported)',
     path('processes', 'scan', 'cpu_ratio'), None, 'at least', '%.2fx'),
    ('2 daemon processes / 1 process on one node, syncing 4 KiB objects',
     path('processes', 'sync', 'ratio'), None, 'at least', '%.2fx'),
    ('per-object CPU, objects over many containers under "/*" / all in one container',
     path('growth', 'containers_vs_one'), 1.2, 'at most', '%.2fx'),
    ('per-object CPU, last tenth of a backlog drain / first tenth (the one-container run)',
     path('growth', 'end_vs_start'), 1.2, 'at most', '%.2fx'),
    ('per-object CPU, a big backlog drain (100,000 objects in the full run) / the '
     'one-container run', path('growth', 'drain_vs_one'), 1.2, 'at most', '%.2fx'),
    ('per-object CPU, last tenth of the big backlog drain / its first tenth',
     path('growth', 'drain_end_vs_start'), 1.2, 'at most', '%.2fx'),
    ('Swift to Swift backlog, ours / container-sync daemon, real interval (300 s)',
     csync_ratio(300), 3.0, 'at least', '%.2fx'),
    ('Swift to Swift backlog, ours / container-sync daemon, short interval (10 s)',
     csync_ratio(10), None, 'at least', '%.2fx'),
    ('Swift to Swift backlog, first to last PUT: the remote side alone / container-sync '
     'daemon, short interval (10 s): the most any contender can be',
     csync_ceiling_over(container_sync.contender(container_sync.SHORT_INTERVAL)), None, 'at least', '%.2fx'),
    ('Swift to Swift backlog, first to last PUT: ours / the remote side alone',
     csync_ceiling_over('ours', inverse=True), None, 'at least', '%.2fx'),
    ('Swift to Swift SLOs (MiB/s), ours / container-sync daemon, real interval (300 s)',
     csync_ratio(300, 'slo', 'mib_per_s'), 3.0, 'at least', '%.2fx'),
    ('Swift to Swift SLOs (MiB/s), ours / container-sync daemon, short interval (10 s)',
     csync_ratio(10, 'slo', 'mib_per_s'), None, 'at least', '%.2fx'),
    ('Swift to Swift SLOs: remote manifests seen without their segments, ours',
     ours_exposed_manifests, 0, 'at most', '%d'),
    ('lag p99 under a steady 20 PUT/s (s)', path('lag', 'p99'), 1.0, 'at most', '%.3f'),
    ('remote requests per object, small objects',
     path('small', 'summary', 'ours', 'requests_per_obj'), 1.05, 'at most', '%.3f'),
    ('daemon peak RSS syncing a big SLO and DLO (1,000 MiB in the full run; MiB)',
     path('large', 'big_rss_mib'), 200, 'at most', '%.0f'),
] + [target for source, label in (('moto', 'moto'), ('swift', 'the second Swift'))
     for target in (
    ('migrator from %s, 4 KiB objects: objects/s, migrator / copy loop' % label,
     path('migrator', 'targets', source, 'small_ratio'), 0.9, 'at least', '%.2fx'),
    ('migrator from %s, large objects: MB/s, migrator / copy loop' % label,
     path('migrator', 'targets', source, 'large_ratio'), 0.9, 'at least', '%.2fx'),
    ('migrator from %s: peak RSS, large objects / 4 KiB objects (flat in object size)' % label,
     path('migrator', 'targets', source, 'rss_large_over_small'), 1.2, 'at most', '%.2fx'),
    ('migrator from %s: source object requests per object, after the listing' % label,
     path('migrator', 'targets', source, 'requests_per_obj'), 1.1, 'at most', '%.3f'))]


def judge(figure, limit, sense):
    if figure is None or figure[1] is None:
        return 'not measured'
    if limit is None:
        return '(reported)'
    if isinstance(limit, Bound):
        return reach(figure, limit, sense)
    ok = (lambda v: v >= limit) if sense == 'at least' else (lambda v: v <= limit)
    if not ok(figure[1]):
        return '**no**'
    worst = figure[0] if sense == 'at least' else figure[2]
    return 'yes, every round' if ok(worst) else 'yes (median; not every round)'


def reach(figure, bound, sense):
    """A bound against the limit of its target: beyond it, no such implementation meets the
    target on this machine (judged on the median, as targets are)."""
    ok = figure[1] >= bound.limit if sense == 'at least' else figure[1] <= bound.limit
    if ok:
        return 'within the limit: reachable by %s' % bound.of
    return '**beyond the limit: out of reach here for %s**' % bound.of


def limit_text(limit, sense, spec):
    if limit is None:
        return 'n/a'
    if isinstance(limit, Bound):
        return 'bound (target %s %s)' % (sense, spec % limit.limit)
    return '%s %s' % (sense, spec % limit)


def table(results):
    lines = ['| target | limit | measured: median (min–max) | met? |', '|---|---|---|---|']
    for what, get, limit, sense, spec in TARGETS:
        figure = get(results)
        if isinstance(figure, list):        # results read back from results.json
            figure = tuple(figure)
        if figure is not None and not isinstance(figure, tuple):
            figure = (figure, figure, figure)
        lines.append('| %s | %s | %s | %s |' % (
            what, limit_text(limit, sense, spec),
            fmt_spread(figure, spec, missing='not measured'), judge(figure, limit, sense)))
    return lines

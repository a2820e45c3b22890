"""The Markdown report: one table per measurement, figures and ratios, machine and method."""
from bench import targets
from bench.stats import fmt, fmt_spread, ratio

TARGETS = {'small': 1.0, 'medium': 0.8, 'large': 0.8}


def markdown(results):
    m = results['machine']
    lines = ['# Benchmark results', '',
             '%s; %s mode; %d cores, %.0f GiB RAM, %s; Python %s; load average at start %s; '
             'total %.0f s.' % (m['date'], results['mode'], m['nproc'], m['ram_gib'], m['cpu'],
                                m['python'], ' '.join('%.2f' % x for x in m['loadavg']),
                                results.get('elapsed_s', 0)),
             '', '%d round(s) per contender, contenders interleaved within one invocation; '
             'figures are median (min–max) over the rounds; compare ratios, not absolute times '
             '(the machine is shared). Load average at the end: %s.' % (
                 results['plan']['rounds'], ' '.join('%.2f' % x for x in
                                                     results.get('load_end') or ())), '',
             '## Targets (issue 14), judged by this run', ''] + targets.table(results) + ['']
    if results.get('plots'):
        lines += ['Plots: %s.' % ', '.join('![%s](%s)' % (p, p) for p in results['plots']), '']
    for name in ('small', 'medium'):
        if name in results:
            lines += throughput_table(name, results[name])
    for name, render in (('large', large_table), ('processes', processes_table),
                         ('lag', lag_table), ('shunt', shunt_table),
                         ('container_sync', csync_table), ('growth', growth_table),
                         ('idle', idle_table), ('profile', profile_table)):
        if name in results:
            data = results[name]
            if 'error' in data:
                lines += ['## %s' % name, '', 'failed: %s' % data['error'], '']
            else:
                lines += render(data)
    return '\n'.join(lines) + '\n'


def throughput_table(name, data):
    if 'error' in data:
        return ['## %s' % name, '', 'failed: %s' % data['error'], '']
    s = data['summary']
    ours = s.get('ours', {})
    lines = ['## Sync throughput and cost: %s (3 node daemons, workers=%s each)' % (
        data['label'], data.get('workers', 10)), '',
        'Every figure: median (min–max) over the verified runs. Window = first to last object '
        'PUT (start-up left out); CPU = user+system seconds of every process of the environment '
        '(both Swift clusters, memcached, the S3 server) plus the contender\'s own, over the '
        'window, per object.', '',
        '| contender | objects/s (window) | MB/s | objects/s (start to all remote) | '
        'CPU ms/object, all processes | of which the contender\'s own | requests/object | '
        'by method | peak RSS MiB | verified runs |',
        '|---|---|---|---|---|---|---|---|---|---|']
    for who, fig in s.items():
        lines.append('| %s | %s | %s | %s | %s | %s | %s | %s | %s | %d/%d%s |' % (
            who, fmt_spread(fig['objs_per_s'], '%.1f'), fmt_spread(fig['mb_per_s'], '%.2f'),
            fmt_spread(fig['start_to_end_objs_per_s'], '%.1f'),
            fmt_spread(fig['cpu_ms_per_obj'], '%.2f'),
            fmt_spread(fig['contender_cpu_ms_per_obj'], '%.2f'),
            fmt_spread(fig['requests_per_obj'], '%.3f'),
            ', '.join('%s %.3f' % (k, v) for k, v in fig['requests_per_obj_by_method'].items()
                      if v is not None),
            fmt_spread(fig['peak_rss_mib'], '%.0f'), fig['ok_runs'], fig['runs'],
            ('; FAILED: ' + '; '.join(fig['failures'])) if fig['failures'] else ''))
    lines.append('')
    for other, r in sorted(ours.get('ratio', {}).items()):
        lines.append('- ours / %s, per round: throughput **%s**, CPU per object %s' % (
            other, fmt_spread(r['objs_per_s'], '%.2fx'), fmt_spread(r['cpu_ms_per_obj'],
                                                                    '%.2fx')))
    lines.append('')
    harness = ours.get('harness_ms_per_obj')
    if harness:
        lines.append('The request counter in front of the S3 server runs in the bench process '
                     '(%s ms CPU per object for ours; not counted above, every contender goes '
                     'through it).' % fmt_spread(harness, '%.2f'))
        lines.append('')
    return lines


def large_table(data):
    lines = ['## Large objects (%s)' % data.get('label', 'SLO'), '',
             '| contender | MB/s (upload window) | CPU s per GiB, all processes | peak RSS MiB '
             '| verified runs |', '|---|---|---|---|---|']
    for who, fig in data.get('summary', {}).items():
        lines.append('| %s | %s | %s | %s | %d/%d%s |' % (
            who, fmt_spread(fig['mb_per_s'], '%.1f'), fmt_spread(fig['cpu_s_per_gib'], '%.2f'),
            fmt_spread(fig['peak_rss_mib'], '%.0f'), fig['ok_runs'], fig['runs'],
            ('; FAILED: ' + '; '.join(str(f) for f in fig['failures'])) if fig['failures']
            else ''))
    lines.append('')
    for other, r in sorted(data.get('ratios', {}).items()):
        lines.append('- ours / %s, per round: **%s**' % (other, fmt_spread(r, '%.2fx')))
    lines += ['', '`copy`: 3 processes, raw manifest and segments read in-process the way the '
              'daemon reads, one part per segment, 4 parts in flight (`copy-8`: 8).', '']
    for kind, fig in sorted((data.get('big') or {}).items()):
        lines.append('- %s of %s MiB: daemon peak RSS **%s MiB**, %s MB/s%s' % (
            kind, data.get('big_mib', ''), fmt(fig.get('peak_rss_mib'), '%.0f'),
            fmt(fig.get('mb_per_s'), '%.1f'), '' if fig.get('ok') else ' (FAILED: %s)' %
            fig.get('why')))
    return lines + ['']


def processes_table(data):
    lines = ['## One node, 1 vs 2 daemon processes (`processes`), %d containers, %d objects of '
             '4 KiB' % (data['containers'], data['objects']), '',
             'Only node 1\'s daemon runs (verification_slack 0: it propagates every row).', '',
             '| processes | objects/s (window) | CPU ms/object, all processes | cores used by '
             'the daemon | verified runs |', '|---|---|---|---|---|']
    for p, fig in sorted(data['summary'].items()):
        lines.append('| %s | %s | %s | %s | %d/%d |' % (
            p, fmt_spread(fig['objs_per_s'], '%.1f'), fmt_spread(fig['cpu_ms_per_obj'], '%.2f'),
            fmt_spread(fig['contender_cores'], '%.2f'), fig['ok_runs'], fig['runs']))
    lines += ['', '- 2 processes / 1 process, per round: **%s**' % fmt_spread(data['ratio'],
                                                                            '%.2fx'), '']
    return lines


def growth_table(data):
    lines = ['## Growth: how cost grows with work', '',
             '| run | objects/s (window) | CPU ms/object, all processes | peak RSS MiB | '
             'verified |', '|---|---|---|---|---|']
    for key, label in (('one', 'objects in one container'),
                       ('many', 'same count over many containers, `"/*"` mapping')):
        r = data.get(key) or {}
        if 'error' in r:
            lines.append('| %s | failed: %s | | | |' % (label, r['error']))
            continue
        lines.append('| %s | %s | %s | %s | %s |' % (
            label, fmt(r.get('objs_per_s'), '%.1f'), fmt(r.get('cpu_ms_per_obj'), '%.2f'),
            fmt(max([x for x in r.get('rss_mib') or [] if x] or [0]) or None, '%.0f'),
            'yes' if (r.get('verified') or {}).get('ok') else 'FAILED: %s' % (
                (r.get('verified') or {}).get('why'))))
    one = data.get('one') or {}
    lines += ['', '- backlog drain (one container): first fifth %s obj/s, %s ms CPU/object; '
              'last fifth %s obj/s, %s ms CPU/object' % (
                  fmt(one.get('start_objs_per_s'), '%.1f'),
                  fmt(one.get('start_cpu_ms_per_obj'), '%.2f'),
                  fmt(one.get('end_objs_per_s'), '%.1f'),
                  fmt(one.get('end_cpu_ms_per_obj'), '%.2f'))]
    rows = data.get('rows') or {}
    if 'error' in rows:
        lines.append('- big container: failed: %s' % rows['error'])
    elif rows:
        for phase, label in (('prime', 'priming pass'), ('idle', 'idle poll')):
            r = rows.get(phase) or {}
            lines.append('- %d-row container, %s (node 1, `--once`): cycle %s s, whole process '
                         '%s s, %s CPU s, peak RSS %s MiB, %s rows read, remote requests %s' % (
                             rows['rows'], label, fmt(r.get('cycle_s'), '%.2f'),
                             fmt(r.get('process_s'), '%.1f'), fmt(r.get('cpu_s'), '%.1f'),
                             fmt(r.get('peak_rss_mib'), '%.0f'), r.get('scanned'),
                             r.get('requests')))
    return lines + ['']


def lag_table(data):
    return ['## Lag under a steady %s PUT/s for %s s (daemons in run_forever; one run)' % (
        data['rate'], data['seconds']), '',
        '| objects PUT | arrived | min s | p50 s | p90 s | p99 s | max s | achieved client '
        'PUT/s |', '|---|---|---|---|---|---|---|---|',
        '| %d | %d | %s | %s | %s | %s | %s | %s |' % (
            data['sent'], data['arrived'], fmt(data.get('min'), '%.3f'),
            fmt(data['p50'], '%.3f'), fmt(data.get('p90'), '%.3f'), fmt(data['p99'], '%.3f'),
            fmt(data['max'], '%.3f'), fmt(data.get('achieved_rate'), '%.1f')), '',
        'Lag = time the S3 server answered the daemon\'s PUT (at the request counter) minus the '
        'time the client\'s Swift PUT returned.', '']


def idle_table(data):
    return ['## Idle cost: one poll over a container of %d rows with nothing new' % data['rows'],
            '', '| what | value |', '|---|---|',
            '| poll (one full cycle, in the daemon\'s own log) | %s s |' % fmt(
                data.get('cycle_s'), '%.3f'),
            '| whole `--once` process (start-up included) | %s s |' % fmt(
                data.get('process_s'), '%.2f'),
            '| rows read (scanned) in the poll | %s |' % data.get('scanned'),
            '| remote requests in the poll | %s |' % data.get('remote_requests'),
            '| priming pass (first sight of all rows, excluded objects) | %s s, %s rows |' % (
                fmt(data.get('prime_cycle_s'), '%.2f'), data.get('prime_scanned')), '',
            data.get('note', ''), '']


def shunt_table(data):
    lines = ['## Shunt, with a sync and an archive mapping configured', '',
             'Each figure alternates its two sides request by request, in %s rounds; ratio = '
             'median A / median B per round, given as median (min–max) over the rounds.'
             % data.get('rounds'), '',
             '| what | A | B | A ms (median, p99) | B ms (median, p99) | A / B |',
             '|---|---|---|---|---|---|']

    def row(label, a, b, fig):
        if not fig:
            return
        lines.append('| %s | %s | %s | %s, %s | %s, %s | %s |' % (
            label, a, b, fmt(fig['a_median_ms'], '%.2f'), fmt(fig['a_p99_ms'], '%.2f'),
            fmt(fig['b_median_ms'], '%.2f'), fmt(fig['b_p99_ms'], '%.2f'),
            fmt_spread(fig['ratio'], '%.3fx')))
    row('local 4 KiB GET, sync-mapped container', 'proxy A (shunt)', 'proxy B (none)',
        data.get('local_get'))
    row('local 4 KiB GET, archive-mapped container', 'proxy A (shunt)', 'proxy B (none)',
        data.get('local_get_archive_mapped'))
    arch = data.get('archived_get') or {}
    row('archived 4 KiB GET', 'proxy A', 'S3 server direct', arch.get('small'))
    row('archived 16 MiB GET', 'proxy A', 'S3 server direct', arch.get('large'))
    lst = data.get('listing')
    if lst:
        row('listing of %d entries paged by 1,000 (%s)' % (
            lst['entries'], 'half archived' if lst.get('ok') else 'FAILED: counts %s' %
            lst.get('counts')), 'spliced, proxy A', 'plain local, proxy B', lst)
    return lines + ['']


def csync_table(data):
    lines = ['## Swift to Swift: ours vs Swift container-sync, both as daemons (%s objects of '
             '4 KiB, a backlog, to the second cluster)' % data.get('count'), '',
             '| contender | objects/s (start to all remote) | seconds | objects/s (first to '
             'last PUT) | CPU ms/object, all processes | requests | remote objects |',
             '|---|---|---|---|---|---|---|']
    for who, r in (data.get('runs') or {}).items():
        lines.append('| %s | %s | %s | %s | %s | %s | %s%s |' % (
            who, fmt(r.get('objs_per_s') or r.get('partial_objs_per_s'), '%.1f'),
            fmt(r.get('seconds'), '%.1f'), fmt(r.get('window_objs_per_s'), '%.1f'),
            fmt(r.get('cpu_ms_per_obj'), '%.2f'), r.get('requests'), r.get('remote_keys'),
            '' if r.get('ok') else ' (FAILED: not all arrived)'))
    runs = data.get('runs') or {}
    ours = (runs.get('ours') or {}).get('objs_per_s')
    for who, r in runs.items():
        if who != 'ours' and ours and r.get('objs_per_s'):
            lines.append('')
            lines.append('- ours / %s: **%.2fx** (one run each, start to all remote)' % (
                who, ours / r['objs_per_s']))
    if data.get('note'):
        lines += ['', data['note']]
    return lines + ['']


def profile_table(data):
    return ['## Profile of node 1\'s daemon (cProfile, %s)' % data.get('workload'), '',
            '```', data.get('top', ''), '```', '']

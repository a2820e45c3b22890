"""The Markdown report: one table per measurement, figures and ratios, machine and method."""
from bench.stats import fmt, ratio

TARGETS = {'small': 1.0, 'medium': 0.8, 'large': 0.8}


def markdown(results):
    m = results['machine']
    lines = ['# Benchmark results', '',
             '%s; %s mode; %d cores, %.0f GiB RAM, %s; Python %s; load average at start %s; '
             'total %.0f s.' % (m['date'], results['mode'], m['nproc'], m['ram_gib'], m['cpu'],
                                m['python'], ' '.join('%.2f' % x for x in m['loadavg']),
                                results.get('elapsed_s', 0)),
             '', 'Medians of %d run(s) per contender, contenders interleaved within one '
             'invocation; compare ratios, not absolute times (the machine is shared).'
             % results['plan']['rounds'], '']
    for name in ('small', 'medium'):
        if name in results:
            lines += throughput_table(name, results[name])
    for name, render in (('large', large_table), ('lag', lag_table), ('idle', idle_table),
                         ('shunt', shunt_table), ('proxymc', proxymc_table),
                         ('container_sync', csync_table),
                         ('profile', profile_table)):
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
    lines = ['## Sync throughput: %s (3 node daemons, workers=10 each)' % data['label'], '',
             '| contender | objects/s (start to all remote) | MB/s | objects/s (first to last '
             'PUT) | remote requests/object | by method | peak RSS MiB (max process) | '
             'client CPU ms/object (all processes) | complete runs |',
             '|---|---|---|---|---|---|---|---|---|']
    for who, fig in s.items():
        lines.append('| %s | %s | %s | %s | %s | %s | %s | %s | %d/%d |' % (
            who, fmt(fig['objs_per_s'], '%.1f'), fmt(fig['mb_per_s'], '%.2f'),
            fmt(fig['steady_objs_per_s'], '%.1f'), fmt(fig['requests_per_obj'], '%.3f'),
            ', '.join('%s %.3f' % (k, v) for k, v in fig['requests_per_obj_by_method'].items()
                      if v is not None),
            fmt(fig['peak_rss_mib'], '%.0f'), fmt(fig.get('cpu_ms_per_obj'), '%.2f'),
            fig['complete_runs'], data['rounds']))
    lines.append('')
    for other in ('ceiling', 'rclone'):
        if other in s:
            lines.append('- ours / %s: **%s** (start to all remote), %s (first to last PUT)' % (
                other, fmt(ratio(ours.get('objs_per_s'), s[other]['objs_per_s']), '%.2fx'),
                fmt(ratio(ours.get('steady_objs_per_s'), s[other]['steady_objs_per_s']),
                    '%.2fx')))
    lines.append('')
    return lines


def large_table(data):
    lines = ['## Large objects (%s)' % data.get('label', 'SLO'), '']
    if data.get('na'):
        return lines + ['n/a: %s' % data['na'], '']
    for key in ('ours', 'ceiling'):
        if key in data:
            lines.append('- %s: %s MB/s' % (key, fmt(data[key].get('mb_per_s'), '%.1f')))
    if 'ours' in data and 'ceiling' in data:
        lines.append('- ours / ceiling: **%s**' % fmt(ratio(
            data['ours'].get('mb_per_s'), data['ceiling'].get('mb_per_s')), '%.2fx'))
    return lines + ['']


def lag_table(data):
    return ['## Lag under a steady %s PUT/s for %s s (daemons in run_forever)' % (
        data['rate'], data['seconds']), '',
        '| objects PUT | arrived | p50 s | p99 s | max s | achieved client PUT/s |',
        '|---|---|---|---|---|---|',
        '| %d | %d | %s | %s | %s | %s |' % (
            data['sent'], data['arrived'], fmt(data['p50'], '%.3f'), fmt(data['p99'], '%.3f'),
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
    lines = ['## Shunt', '', '| what | proxy A (shunt) | proxy B (no shunt) | overhead |',
             '|---|---|---|---|']
    get = data['local_get']
    lines.append('| local 4 KiB GET, median ms | %s | %s | %s |' % (
        fmt(get['a_median_ms'], '%.2f'), fmt(get['b_median_ms'], '%.2f'),
        fmt(get.get('overhead_pct'), '%+.1f%%')))
    lines.append('| local 4 KiB GET, p99 ms | %s | %s | |' % (
        fmt(get['a_p99_ms'], '%.2f'), fmt(get['b_p99_ms'], '%.2f')))
    for key, label in (('archived_get', 'archived GET vs direct S3 GET'),
                       ('listing', 'listing 10,000 entries, half archived')):
        item = data.get(key) or {}
        lines.append('| %s | %s | | |' % (label, item.get('na') and 'n/a: ' + item['na']
                                          or item.get('text', 'n/a')))
    return lines + ['']


def proxymc_table(data):
    lines = ['## proxymc (cloud side) vs the S3 server directly', '',
             '| what | proxymc | direct | ratio | goal |', '|---|---|---|---|---|']
    for key, label in (('get_4k', '4 KiB GET, median ms'), ('get_16m', '16 MiB GET, median ms')):
        get = data[key]
        lines.append('| %s | %s | %s | %s | <= 1.2x |' % (
            label, fmt(get['proxymc_ms'], '%.1f'), fmt(get['direct_ms'], '%.1f'),
            fmt(get['ratio'], '%.2fx')))
    get = data['get_16m']
    lines.append('| 16 MiB GET, MiB/s | %s | %s | %s | >= 0.9x |' % (
        fmt(get['proxymc_mib_s'], '%.0f'), fmt(get['direct_mib_s'], '%.0f'),
        fmt(get['throughput_ratio'], '%.2fx')))
    listing = data['listing']
    lines.append('| listing of %s entries (half cloud, half on-prem), s | %s | %s (both plain '
                 'listings) | %s | |' % (listing['entries'], fmt(listing['merged_s'], '%.2f'),
                                        fmt(listing['plain_s'], '%.2f'),
                                        fmt(listing['ratio'], '%.2fx')))
    return lines + ['']


def csync_table(data):
    lines = ['## Swift to Swift: ours vs Swift container-sync (%s objects of 4 KiB, to the '
             'second cluster)' % data.get('count'), '']
    if data.get('na'):
        lines.append('n/a: %s' % data['na'])
    for key in ('ours', 'container_sync'):
        if key in data:
            fig = data[key]
            lines.append('- %s: %s objects/s (start to all remote), %s s, requests %s' % (
                key, fmt(fig.get('objs_per_s'), '%.1f'), fmt(fig.get('seconds'), '%.1f'),
                fig.get('requests')))
    if 'ours' in data and 'container_sync' in data:
        lines.append('- ours / container-sync: **%s**' % fmt(ratio(
            data['ours'].get('objs_per_s'), data['container_sync'].get('objs_per_s')),
            '%.2fx'))
    if data.get('note'):
        lines.append('')
        lines.append(data['note'])
    return lines + ['']


def profile_table(data):
    return ['## Profile of node 1\'s daemon (cProfile, %s)' % data.get('workload'), '',
            '```', data.get('top', ''), '```', '']

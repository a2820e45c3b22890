"""The readable form of node and cluster reports (``--json`` gives the dicts as they are)."""
import time


def when(ts, now):
    """``17:29:58 UTC (4s ago)`` / ``(in 60s)``."""
    if ts is None:
        return '-'
    delta = ts - now
    rel = 'in %s' % duration(delta) if delta > 0 else '%s ago' % duration(-delta)
    return '%s (%s)' % (time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(ts)), rel)


def duration(seconds):
    if seconds is None:
        return '-'
    seconds = float(seconds)
    if seconds < 60:
        return '%.1fs' % seconds
    if seconds < 3600:
        return '%dm%02ds' % divmod(int(seconds), 60)
    hours, rest = divmod(int(seconds), 3600)
    if hours < 48:
        return '%dh%02dm' % (hours, rest // 60)
    return '%dd%02dh' % divmod(hours, 24)


def size(n):
    n = float(n)
    for unit in ('B', 'KiB', 'MiB', 'GiB', 'TiB'):
        if n < 1024 or unit == 'TiB':
            return ('%d %s' % (n, unit)) if unit == 'B' else '%.1f %s' % (n, unit)
        n /= 1024


COLUMNS = ('MAP', 'CONTAINER', 'BUCKET', 'BEHIND', 'LAG', 'PENDING', 'DEFERRED', 'NEXT DUE',
           'FAILED')


def _table(rows):
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    return ['  '.join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows]


def container_lines(containers, now):
    rows = [COLUMNS]
    for c in containers:
        rows.append((c['mapping'], '%s/%s' % (c['account'], c['container']), c['aws_bucket'],
                     ('~%d' if c.get('estimated') else '%d') % c['rows_behind'],
                     duration(c['lag']) if c['rows_behind'] else '0',
                     size(c['bytes_pending']), c['deferred'],
                     when(c['next_due'], now) if c['deferred'] else '-', c['failed']))
    lines = _table(rows) if containers else ['(no mapped container has a DB replica here)']
    failed = [(c, f) for c in containers for f in c['failed_rows']]
    if failed:
        lines += ['', 'failed rows (last error, attempts, next retry):']
        for c, f in failed:
            where = ' on %s' % f['node'] if f.get('node') else ''
            lines.append('  %s/%s %r (row %d%s): %s; %d attempts; next retry %s' % (
                c['account'], c['container'], f['name'], f['row'], where, f['error'],
                f['attempts'], when(f['next_retry'], now)))
    held = [c for c in containers if c.get('deletes_held')]
    for c in held:
        lines.append('DELETES HELD for %s/%s: %s' % (c['account'], c['container'],
                                                      c['deletes_held']))
    return lines


def pass_line(last_pass, now, running=None):
    lines = []
    if running:
        lines.append('pass running since %s' % when(running, now))
    if not last_pass:
        lines.append('last pass: none recorded yet')
    else:
        lines.append('last pass: ended %s, took %s: %d DBs, %d rows scanned, %d handled, '
                     '%d errors' % (when(last_pass['end'], now),
                                    duration(last_pass['duration']), last_pass.get('dbs', 0),
                                    last_pass.get('scanned', 0), last_pass.get('handled', 0),
                                    last_pass.get('errors', 0)))
    return '\n'.join(lines)


def totals_line(t):
    return ('total: %d containers, %d rows behind, lag %s, %s pending, %d deferred, '
            '%d failed' % (t['containers'], t['rows_behind'], duration(t['lag']),
                           size(t['bytes_pending']), t['deferred'], t['failed']))


def node_text(report, clock=time.time):
    now = clock()
    lines = ['node %s (%s), %s' % (report['node'], report['host'], when(report['time'], now)),
             pass_line(report.get('last_pass'), now, report.get('pass_started'))]
    for name, value in sorted((report.get('throttles') or {}).items()):
        lines.append('throttle %s: %s' % (name, value))
    for held in report.get('deletes_held', []):
        lines.append('DELETES HELD: %s' % held)
    lines += [''] + container_lines(report['containers'], now)
    lines += ['', totals_line(report['totals'])]
    return '\n'.join(lines)


def cluster_text(report, clock=time.time):
    now = clock()
    lines = ['cluster, %d nodes, %s' % (len(report['nodes']), when(report['time'], now)), '']
    rows = [('NODE', 'HOST', 'REPORTED', 'LAST PASS', 'TOOK', 'BEHIND', 'LAG', 'FAILED', '')]
    for n in report['nodes']:
        t = n.get('totals') or {}
        last = n.get('last_pass') or {}
        flag = 'NO REPORT' if n.get('missing') else ('STALE' if n['stale'] else '')
        if n.get('deletes_held'):
            flag = (flag + ' DELETES HELD').strip()
        rows.append((n['node'], n['host'] or '-',
                     '-' if n['age'] is None else '%s ago' % duration(n['age']),
                     when(last.get('end'), now) if last else (
                         'running since %s' % when(n['pass_started'], now)
                         if n.get('pass_started') else '-'),
                     duration(last.get('duration')) if last else '-',
                     t.get('rows_behind', '-'), duration(t['lag']) if t else '-',
                     t.get('failed', '-'), flag))
    lines += _table(rows) + [''] + container_lines(report['containers'], now)
    lines += ['', totals_line(report['totals'])]
    return '\n'.join(lines)

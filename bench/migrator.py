"""Measurement: ``swift-s3-migrator`` pulling small and large objects from moto and from the
second Swift cluster, against a plain copy loop on the same data in the same run.

For each source (moto, the second Swift) and workload (``migrate_small`` x 4 KiB, then
``migrate_large`` x ``migrate_large_mib`` MiB), the source is filled once; then in every round
each contender copies it into a fresh local container:

* ``migrator``: the three node migrators (``--once``, as an operator runs them on the container
  nodes; ``workers`` green threads each);
* ``copy``: the upper bound. Three processes (one per node config), each with ``workers`` green
  threads, monkey-patched like the migrator, take every third name (known up front: no source
  or local listing, no ownership rule, no status file) and do only what a copy needs: the
  migrator's source provider's ``get_raw`` (the same client, pool and retry rule), and one
  streamed local PUT through the node's InternalClient (``LocalStore.put``) with the headers the
  migrator writes (``local_headers``: source time as X-Timestamp, metadata, the source ETag).

Both are timed over the window from the first local object PUT to the end of the last one
(``bench.migrator_copy`` times ``LocalStore.put`` in both), so process start-up is left out on
both sides; the migrator's later listing pages fall inside its window. Start to the last exit
is reported too. Peak RSS is each process's VmHWM; "flat" compares
the migrator's peak on the large objects to its peak on the small ones. Source requests are
counted at the source server itself, from its access log (moto's request log, the second
cluster's proxy access log): object requests per object (the figure the goal is about: listings
left out) and listing/other requests apart. Every run ends with a check of the local container
(proxy B): exactly the expected names, each with its MD5.
"""
import concurrent.futures
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
import uuid

from bench import accesslog, phases
from bench.environment import PeakWatcher, stop_procs
from bench.stats import spread

SMALL = 4096
SOURCES = ('moto', 'swift')
FILL_THREADS = 8
# How long a filled source may take to list all it holds (``Source.settle``).
SETTLE_TRIES = 6
SETTLE_WAIT = 5.0


# -- the sources --------------------------------------------------------------------------
class Source:
    """One source store: its migration entry, how to fill it, where its access log is."""

    def __init__(self, benv, kind):
        self.benv = benv
        self.kind = kind
        info = benv.info
        if kind == 'moto':
            moto = benv.moto
            self.entry = {'protocol': 's3', 'aws_endpoint': moto['aws_endpoint'],
                          'aws_identity': moto['aws_identity'], 'aws_secret': moto['aws_secret']}
            self.log_path = os.path.join(info['log_dir'], accesslog.MOTO_LOG_NAME)
        else:
            target = info['swift_target']
            self.entry = {'protocol': 'swift', 'aws_endpoint': target['aws_endpoint'],
                          'aws_identity': target['aws_identity'],
                          'aws_secret': target['aws_secret']}
            self.log_path = os.path.join(info['log_dir'], accesslog.LOG_NAME)
        self._local = threading.local()

    def _client(self):
        if not hasattr(self._local, 'client'):
            if self.kind == 'moto':
                self._local.client = self.benv.s3_client()
            else:
                target = self.benv.info['swift_target']
                self._local.client = accesslog.ObserverConnection(
                    target['aws_endpoint'], target['aws_identity'], target['aws_secret'],
                    retries=2)
        return self._local.client

    def new_bucket(self):
        name = 'mig-%s' % uuid.uuid4().hex[:10]
        if self.kind == 'moto':
            self._client().create_bucket(Bucket=name)
        else:
            self._client().put_container(name)
        return name

    def put(self, bucket, name, body):
        if self.kind == 'moto':
            self._client().put_object(Bucket=bucket, Key=name, Body=body)
        else:
            self._client().put_object(bucket, name, body)

    def fill(self, bucket, count, size):
        """``count`` objects of ``size`` bytes, distinct bodies; {name: MD5 hex}."""
        filler = os.urandom(size)
        names = ['obj-%06d' % i for i in range(count)]
        etags = {}

        def put(i):
            body = b'%016d' % i + filler[16:]
            self.put(bucket, names[i], body)
            etags[names[i]] = hashlib.md5(body).hexdigest()
        threads = FILL_THREADS if size <= 2 ** 20 else 2
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            list(pool.map(put, range(count)))
        self.settle(bucket, names, lambda name: put(names.index(name)))
        return etags

    def listed(self, bucket):
        """Every name the source's bucket listing holds now."""
        if self.kind == 'moto':
            pages = self._client().get_paginator('list_objects').paginate(Bucket=bucket)
            return {o['Key'] for page in pages for o in page.get('Contents', [])}
        return {o['name'] for o in self._client().get_container(bucket, full_listing=True)[1]}

    def settle(self, bucket, names, put_again, tries=SETTLE_TRIES, wait=SETTLE_WAIT,
               sleep=time.sleep):
        """Return once the source lists every one of ``names``. A Swift source's container
        update that timed out waits in ``async_pending`` for an object-updater the devenv does
        not run: the name is then stored but never listed, so the migrator (which copies what
        the source lists) could never migrate it while the copy loop (names known up front)
        does. Such names are PUT again (``put_again(name)``: the same body), which sends the
        update anew. RuntimeError when the listing is still short after ``tries`` rounds."""
        for attempt in range(tries):
            missing = sorted(set(names) - self.listed(bucket))
            if not missing:
                return
            if attempt == tries - 1:
                break
            if attempt:
                for name in missing:
                    put_again(name)
            sleep(wait)
        raise RuntimeError('the %s source lists %d of the %d objects it holds (first missing: '
                           '%s)' % (self.kind, len(names) - len(missing), len(names), missing[0]))

    def log_offset(self):
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def requests_since(self, offset, bucket):
        """{'object': n, 'listing': n, 'other': n} of the requests the source server logged
        after ``offset`` (bytes into its log) that name ``bucket``, {method: n}, and the seconds
        the server spent answering the listings (its own start-to-end times, summed)."""
        with open(self.log_path, 'rb') as f:
            f.seek(offset)
            text = f.read().decode('utf-8', 'replace')
        counts = {'object': 0, 'listing': 0, 'other': 0}
        methods = {}
        listing_seconds = 0.0
        for request in self._requests(text):
            kind = classify(self.kind, request.path, bucket)
            if kind is None:
                continue
            counts[kind] += 1
            if kind == 'object':
                methods[request.method] = methods.get(request.method, 0) + 1
            elif kind == 'listing':
                listing_seconds += request.end - request.start
        return counts, methods, listing_seconds


    def _requests(self, text):
        """The client requests (``bench.accesslog.Request``) in ``text`` (both servers' lines
        are read by ``bench.accesslog``): a Swift proxy's own subrequests (container info, SLO
        segment HEADs) are not the migrator's, nor the bench's fill (observer) requests, whose
        lines may be written just after the log offset was taken (a line follows the answer)."""
        found = (accesslog.parse_line(line) for line in text.splitlines())
        return [r for r in found if r is not None and r.agent != accesslog.OBSERVER_AGENT]


def classify(kind, path, bucket):
    """'object', 'listing' (bucket or account level) or 'other' (auth); None when the
    request is about another bucket."""
    path = path.split('?', 1)[0]
    if path.startswith('/auth'):
        return 'other'
    parts = path.lstrip('/').split('/', 3 if kind == 'swift' else 1)
    if kind == 'swift':
        parts = parts[2:]           # v1, AUTH_x
    if not parts or not parts[0]:
        return 'listing'
    if parts[0] != bucket:
        return None
    return 'object' if len(parts) > 1 and parts[1] else 'listing'


# -- the contenders ----------------------------------------------------------------------
def migrators_for(benv, source, bucket, container, workers):
    from devenv.daemons import NodeMigrators
    entry = dict(source.entry, account=benv.account, aws_bucket=bucket, container=container)
    return NodeMigrators(benv.info, [entry], items_chunk=1000, workers=workers)


def run_migrator(benv, source, bucket, expected, size, workers, timeout):
    container = 'migdst-%s' % uuid.uuid4().hex[:10]
    migrators = migrators_for(benv, source, bucket, container, workers)
    commands = [['migrator', '{times}', '--'] + migrators.command(i)[3:]
                for i in range(len(migrators.configs))]
    return launch(benv, source, bucket, container, migrators, commands, expected, size,
                  timeout)


def run_copy(benv, source, bucket, expected, size, workers, timeout):
    container = 'copydst-%s' % uuid.uuid4().hex[:10]
    migrators = migrators_for(benv, source, bucket, container, workers)
    job = {'configs': migrators.configs, 'names': sorted(expected), 'threads': workers,
           'account': benv.account, 'container': container, 'bucket': bucket}
    path = os.path.join(migrators.dir, 'copy-job.json')
    with open(path, 'w') as f:
        json.dump(job, f)
    commands = [['copy', '{times}', path, str(i)] for i in range(len(migrators.configs))]
    return launch(benv, source, bucket, container, migrators, commands, expected, size,
                  timeout)


def launch(benv, source, bucket, container, migrators, commands, expected, size, timeout):
    """Run one process per node (``bench.migrator_copy`` + ``commands``) to their end; the
    run's figures, its source requests and its verification."""
    count = len(expected)
    logs = [os.path.join(migrators.dir, 'proc%d.log' % i) for i in range(len(commands))]
    times = [os.path.join(migrators.dir, 'times%d.json' % i) for i in range(len(commands))]
    offset = source.log_offset()
    start = time.time()
    procs = []
    for command, log, out in zip(commands, logs, times):
        with open(log, 'ab') as f:
            procs.append(subprocess.Popen(
                [sys.executable, '-m', 'bench.migrator_copy'] +
                [a.replace('{times}', out) for a in command],
                stdout=subprocess.DEVNULL, stderr=f, env=migrators._env()))
    watcher = PeakWatcher(procs)
    try:
        with phases.phase('processes, start to exit'):
            for proc in procs:
                proc.wait(max(0.1, start + timeout - time.time()))
        done = time.time()
    except subprocess.TimeoutExpired:
        done = None
    finally:
        watcher.stop()
        stop_procs(procs)
    with phases.phase('last source log lines'):
        accesslog.wait_quiet(source.log_path)
    counts, methods, listing_seconds = source.requests_since(offset, bucket)
    text = '\n'.join(open(log, errors='replace').read() for log in logs)
    result = {'seconds': None if done is None else done - start,
              'rss_mib': max([x for x in watcher.peaks if x] or [0]) or None,
              'source_requests': counts, 'object_requests_by_method': methods,
              'source_listing_s': listing_seconds,
              'object_requests_per_obj': counts['object'] / count,
              'all_requests_per_obj': sum(counts.values()) / count,
              'exit_codes': [p.returncode for p in procs],
              'errors_in_log': sum(1 for line in text.splitlines()
                                   if ' ERROR ' in line or 'Traceback' in line)}
    window = put_window(times)
    if done is not None and window:
        result.update(window_s=window['last'] - window['first'], local_puts=window['count'])
        result['objs_per_s'] = count / result['window_s']
        result['mb_per_s'] = count * size / result['window_s'] / 1e6
        result['start_to_end_objs_per_s'] = count / result['seconds']
    result['container'] = container
    with phases.phase('verify'):
        result['verified'] = verify_local(benv, container, expected)
    result['ok'] = done is not None and bool(window) and result['verified']['ok'] and \
        all(p.returncode == 0 for p in procs)
    if not result['ok']:
        result['log_tail'] = text[-1500:]
    return result


def put_window(paths):
    """The first PUT's start and the last PUT's end over the processes' TIMES files."""
    found = []
    for path in paths:
        try:
            with open(path) as f:
                found.append(json.load(f))
        except (OSError, ValueError):
            return None
    found = [f for f in found if f['count']]
    if not found:
        return None
    return {'first': min(f['first'] for f in found), 'last': max(f['last'] for f in found),
            'count': sum(f['count'] for f in found)}


def verify_local(benv, container, expected):
    """The local container holds exactly ``expected`` ({name: MD5}), each once."""
    import swiftclient
    try:
        listing = benv.swift_conn().get_container(container, full_listing=True)[1]
    except swiftclient.ClientException as exc:
        return {'ok': False, 'why': 'local container: %s' % exc.http_status}
    found = {o['name']: o['hash'] for o in listing}
    missing = [n for n in expected if n not in found]
    wrong = [n for n, md5 in expected.items() if n in found and found[n] != md5]
    extra = [n for n in found if n not in expected]
    out = {'ok': not (missing or wrong or extra), 'expected': len(expected),
           'found': len(found)}
    if not out['ok']:
        out['why'] = '%d of %d: %d missing, %d with a wrong ETag, %d extra' % (
            len(found), len(expected), len(missing), len(wrong), len(extra))
    return out


def drop_local(benv, container, names):
    """Delete a large run's local copies (the disk is shared); small ones stay (cheap)."""
    conn = benv.swift_conn()
    for name in names:
        try:
            conn.delete_object(container, name)
        except Exception:
            pass
    try:
        conn.delete_container(container)
    except Exception:
        pass


# -- the measurement -----------------------------------------------------------------------
def measure(benv, counter, plan, workers, scratch, log):
    out = {'workers': workers, 'sources': {}}
    workloads = (('small', plan['migrate_small'], SMALL),
                 ('large', plan['migrate_large'], plan['migrate_large_mib'] * 2 ** 20))
    for kind in SOURCES:
        source = Source(benv, kind)
        out['sources'][kind] = per_source = {}
        for label, count, size in workloads:
            if plan.get('quick') and label == 'large' and kind != SOURCES[0]:
                out['note'] = ('--quick migrates large objects from %s only (at its sizes a '
                               'window lasts about a second: noise).' % SOURCES[0])
                continue
            bucket = source.new_bucket()
            log('migrator: filling %s with %d x %d KiB' % (kind, count, size // 1024))
            with phases.phase('populate'):
                expected = source.fill(bucket, count, size)
            names = sorted(expected)
            runs = {'migrator': [], 'copy': []}
            for rnd in range(plan['rounds']):
                for who in runs:
                    timeout = 120 + count * size / 2e6 + count / 5.0
                    run = run_migrator if who == 'migrator' else run_copy
                    with phases.phase(who):
                        r = run(benv, source, bucket, expected, size, workers, timeout)
                    log('  %s %s round %d %-8s %s obj/s, %s MB/s, RSS %s MiB, %s source '
                        'object requests/obj, listings %s s at the source in a %s s window, '
                        'ok %s %s' % (
                            kind, label, rnd + 1, who, _f(r.get('objs_per_s')),
                            _f(r.get('mb_per_s')), _f(r['rss_mib'], '%.0f'),
                            _f(r['object_requests_per_obj'], '%.3f'),
                            _f(r['source_listing_s']), _f(r.get('window_s')), r['ok'],
                            r['verified'].get('why', '')))
                    if size > 2 ** 20:
                        with phases.phase('clean up'):
                            drop_local(benv, r['container'], names)
                    runs[who].append(r)
            per_source[label] = summarize(runs, count, size)
    out['targets'] = target_figures(out['sources'])
    return out


def _f(value, spec='%.1f'):
    return 'n/a' if value is None else spec % value


def summarize(runs, count, size):
    def figure(rs, key):
        return spread([r.get(key) for r in rs if r['ok']])
    summary = {}
    for who, rs in runs.items():
        summary[who] = {
            'objs_per_s': figure(rs, 'objs_per_s'), 'mb_per_s': figure(rs, 'mb_per_s'),
            'start_to_end_objs_per_s': figure(rs, 'start_to_end_objs_per_s'),
            'rss_mib': spread([r['rss_mib'] for r in rs]),
            'object_requests_per_obj': figure(rs, 'object_requests_per_obj'),
            'all_requests_per_obj': figure(rs, 'all_requests_per_obj'),
            'source_listing_s': figure(rs, 'source_listing_s'),
            'window_s': figure(rs, 'window_s'),
            'ok_runs': sum(1 for r in rs if r['ok']), 'runs': len(rs),
            'failures': [r['verified'].get('why') or 'exit %s, %d errors logged' % (
                r['exit_codes'], r['errors_in_log']) for r in rs if not r['ok']]}
    summary['ratio'] = spread([a['objs_per_s'] / b['objs_per_s']
                               for a, b in zip(runs['migrator'], runs['copy'])
                               if a['ok'] and b['ok']])
    for rs in runs.values():
        for r in rs:
            r.pop('container', None)
    return {'count': count, 'size': size, 'summary': summary, 'runs': runs}


def target_figures(sources):
    """The figures ``bench.targets`` judges: per source, the ratios, RSS large / small and the
    worst object requests per object of either workload."""
    out = {}
    for kind, data in sources.items():
        small, large = data.get('small'), data.get('large')
        fig = {}
        for label, part in (('small', small), ('large', large)):
            if part:
                fig['%s_ratio' % label] = part['summary']['ratio']
        if small and large:
            a, b = large['summary']['migrator']['rss_mib'], small['summary']['migrator']['rss_mib']
            if a[2] and b[0]:
                fig['rss_large_over_small'] = (a[0] / b[2], a[1] / b[1], a[2] / b[0])
            per_obj = [r['object_requests_per_obj'] for part in (small, large)
                       for r in part['runs']['migrator'] if r['ok']]
            fig['requests_per_obj'] = spread(per_obj)
        out[kind] = fig
    return out


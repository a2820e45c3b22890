"""Ours vs Swift's own container-sync, to the second Swift cluster, both run as daemons.

Both talk to the remote cluster's proxy directly (nothing in their path that could cap
them), to containers created beforehand, from the same source container of 4 KiB objects (a
backlog). The request figures (each object PUT's end, requests by method) come from the remote
proxy's access log (``bench.accesslog``).

* ours: the three node daemons with a ``protocol: swift`` mapping (run_forever);
* the remote side alone (``bench.swift_put``): the same 4 KiB bodies PUT straight to the
  remote proxy, nothing read: what bounds every contender's rate (first to last PUT);
* container-sync: ``swift-container-sync`` as a daemon (no ``--once``) on each node's
  container-server conf, all three at once, with the realm scheme the devenv sets up
  (``X-Container-Sync-To: //realm1/remote/AUTH_remote/<container>``, the same
  ``X-Container-Sync-Key`` on both containers), its ``container_time`` left at Swift's 60 s
  and its ``interval`` at Swift's default 300 s ("real") and at 10 s ("short"). Its
  ``swift_dir`` is a private copy (symlinks to the rings and swift.conf) whose
  container-sync-realms.conf names the realm and points the ``remote`` cluster at the remote
  proxy itself.

Nothing is modelled: each contender is timed from its processes' start to the last object
arriving, so container-sync's random first sleep (up to ``interval``), its 60 s per container
per pass and its wait for the next pass are all in the figure, as on a real cluster.
The real-interval run takes up to ~6 minutes, so ``--quick`` leaves it out (and says so).
"""
import os
import shutil
import subprocess
import sys
import time
import uuid

from bench import accesslog, cost, ours, phases, swift_put
from bench.environment import PeakWatcher, stop_procs
from bench.ours import figures
from bench.stats import spread
from devenv import sync_realms
from devenv.launch import child_env

SYNC_KEY = 'bench-sync-key'
REAL_INTERVAL = 300     # Swift's default [container-sync] interval (container_time 60 kept)
SHORT_INTERVAL = 10
CEILING = 'remote side alone (ceiling)'


def contender(interval):
    """The name of container-sync's run with ``interval`` in the results."""
    return 'container-sync, interval %d s' % interval
LAUNCH = ('import sys; from devenv.launch import prepare_swift; '
          'prepare_swift(sys.argv[1]); sys.argv = ["swift-container-sync", sys.argv[2], '
          '"-v"]; from swift.container.sync import main; main()')


def remote_conn(benv):
    """The bench's own connection to the remote (left out of the access-log figures)."""
    return accesslog.observer_conn(benv.info['swift_target'])


def remote_container(benv, prefix):
    name = '%s-%s' % (prefix, uuid.uuid4().hex[:10])
    remote_conn(benv).put_container(name, headers={'X-Container-Sync-Key': SYNC_KEY})
    return name


def swift_daemons(benv, container, dest, workers):
    """Our three node daemons (not started) syncing ``container`` to the remote container
    ``dest``, straight to the remote proxy."""
    target = benv.info['swift_target']
    mapping = {'account': benv.account, 'container': container, 'aws_bucket': dest,
               'aws_endpoint': target['aws_endpoint'], 'protocol': 'swift',
               'aws_identity': target['aws_identity'], 'aws_secret': target['aws_secret']}
    from devenv.daemons import NodeDaemons
    return NodeDaemons(benv.info, [mapping], log_level='info', poll_interval=5,
                       workers=workers)


def run_ours(benv, access, container, count, workers, timeout):
    dest = remote_container(benv, 'ours')
    daemons = swift_daemons(benv, container, dest, workers)
    access.reset()
    start = time.time()
    procs = ours.start_daemons(daemons)
    watcher = PeakWatcher(procs)
    try:
        window = cost.measure_window(benv, access, count, procs, timeout)
        watcher.stop()
    finally:
        stop_procs(procs)
    result = figures(access, start, window['done'], count, 4096)
    result.update({k: v for k, v in window.items() if k != 'done'})
    result.update(rss_mib=watcher.peaks, requests=access.by_method())
    result.update(arrival_figures(access, start, count))
    check_remote(benv, result, container, dest)
    shutil.rmtree(daemons.dir, ignore_errors=True)
    return result


def arrival_figures(access, start, count):
    """Lag of each object (its PUT's end at the remote proxy, from the start: a backlog) and
    remote requests per object."""
    puts = access.ok_puts()[:count]
    total = sum(access.by_method().values())
    return {'lag_s': spread([d - start for _a, d, _p in puts]),
            'requests_per_obj': total / count if count else None}


def check_remote(benv, result, container, dest):
    """The remote container holds exactly the source's objects with their ETags."""
    listing = remote_conn(benv).get_container(dest, full_listing=True)[1]
    found = {o['name']: o['hash'] for o in listing}
    expected = benv.etags.get(container, {})
    wrong = [n for n, e in expected.items() if found.get(n) != e]
    extra = [n for n in found if n not in expected]
    result['remote_keys'] = len(found)
    result['verified'] = {'ok': not wrong and not extra}
    if wrong or extra:
        result['verified']['why'] = '%d missing or different, %d extra' % (len(wrong),
                                                                          len(extra))
    result['ok'] = result.get('seconds') is not None and result['verified']['ok']


def sync_swift_dir(benv, scratch):
    """A swift_dir like the cluster's whose realm sends the ``remote`` cluster's requests
    to the remote proxy itself."""
    real = benv.info['swift_dir']
    private = os.path.join(scratch, 'csync-etc')
    os.makedirs(private, exist_ok=True)
    for name in os.listdir(real):
        link = os.path.join(private, name)
        if (name.endswith('.ring.gz') or name == 'swift.conf') and not os.path.lexists(link):
            os.symlink(os.path.join(real, name), link)
    local, remote = benv.environment.clusters
    text = sync_realms.realms_conf(local, remote, urls={
        sync_realms.REMOTE_CLUSTER: benv.info['remote_cluster']['url'] + '/v1/'})
    with open(os.path.join(private, sync_realms.FILE_NAME), 'w') as f:
        f.write(text)
    return private


def sync_confs(benv, swift_dir, scratch, interval):
    """Each node's container-server conf with a private swift_dir and ``interval``."""
    confs = []
    for node in benv.info['nodes']:
        with open(node['container_server_conf']) as f:
            text = f.read()
        moved = text.replace('swift_dir = %s\n' % node['swift_dir'],
                             'swift_dir = %s\n' % swift_dir)
        if moved == text:
            raise RuntimeError('%s: no swift_dir line to move' % node['container_server_conf'])
        moved = moved.replace('[container-sync]\n',
                              '[container-sync]\ninterval = %d\n' % interval)
        path = os.path.join(scratch, 'container-sync-%d-%d.conf' % (node['index'], interval))
        with open(path, 'w') as f:
            f.write(moved)
        confs.append(path)
    return confs


def start_daemons(benv, confs, log):
    return [subprocess.Popen([sys.executable, '-c', LAUNCH, benv.info['swift_dir'], conf],
                             stdout=log, stderr=subprocess.STDOUT, env=child_env())
            for conf in confs]


def run_daemons(benv, access, confs, count, timeout, log):
    """container-sync daemons until every object arrived (or ``timeout``)."""
    access.reset()
    start = time.time()
    procs = start_daemons(benv, confs, log)
    watcher = PeakWatcher(procs)
    try:
        window = cost.measure_window(benv, access, count, procs, timeout)
        end = time.time()
        watcher.stop()
    finally:
        stop_procs(procs)
    result = figures(access, start, window['done'], count, 4096)
    result.update({k: v for k, v in window.items() if k != 'done'})
    if window['done'] is None:       # partial: the rate of what arrived
        result['partial_objs_per_s'] = access.count_ok_puts() / (end - start)
    result.update(rss_mib=watcher.peaks, requests=access.by_method())
    result.update(arrival_figures(access, start, count))
    return result


def run_container_sync(benv, access, container, count, interval, timeout, scratch):
    dest = remote_container(benv, 'csync')
    benv.swift_conn().post_container(container, headers={
        'X-Container-Sync-To': sync_realms.sync_to(benv.info['swift_target']['account'], dest),
        'X-Container-Sync-Key': SYNC_KEY})
    swift_dir = sync_swift_dir(benv, scratch)
    confs = sync_confs(benv, swift_dir, scratch, interval)
    logpath = os.path.join(scratch, 'container-sync-%d.log' % interval)
    with open(logpath, 'ab') as log:
        try:
            result = run_daemons(benv, access, confs, count, timeout, log)
        finally:
            benv.swift_conn().post_container(container, headers={'X-Container-Sync-To': ''})
    with open(logpath, 'rb') as f:
        text = f.read().decode('utf-8', 'replace')
    result['errors_in_log'] = sum(1 for line in text.splitlines()
                                  if 'ERROR' in line or 'Unauth' in line)
    check_remote(benv, result, container, dest)
    result['interval'] = interval
    return result


def measure(benv, counter, plan, workers, scratch, log):
    """The small-object backlog (``csync_objects``), then the SLOs (``csync_slos``); a size
    of 0 leaves that part out. ``counter`` (moto's access log) is not used: both contenders
    write to the remote Swift proxy directly and are read from its access log."""
    count = plan['csync_objects']
    intervals = [SHORT_INTERVAL] + ([] if plan.get('quick') else [REAL_INTERVAL])
    result = {'count': count, 'runs': {}}
    access = accesslog.AccessLog.of_remote(benv.info)
    for interval in intervals if count else ():
        # a fresh source container each time: container-sync keeps its progress in the
        # source DB's sync points, so a second contender on the same DB would start late
        container = benv.new_container('csync')
        log('container_sync: populating %d x 4 KiB' % count)
        benv.populate(container, count, 4096)
        if 'ours' not in result['runs']:
            with phases.phase('ours'):
                result['runs']['ours'] = run_ours(benv, access, container, count, workers,
                                                  300)
            log('  ours %s' % brief(result['runs']['ours']))
        name = contender(interval)
        with phases.phase(name):
            result['runs'][name] = run_container_sync(
                benv, access, container, count, interval, 2 * interval + 120 + count // 5,
                scratch)
        log('  %s %s' % (name, brief(result['runs'][name])))
    if count:
        rounds = []
        for number in range(plan.get('rounds') or 1):
            log('container_sync: the remote side alone, %d x 4 KiB PUTs (round %d)'
                % (count, number + 1))
            with phases.phase(CEILING):
                rounds.append(swift_put.run(
                    benv, access, ['obj%06d' % i for i in range(count)], 4096, 3, workers,
                    os.path.join(scratch, 'swift-put.json')))
            log('  %s %s' % (CEILING, brief(rounds[-1])))
        result['runs'][CEILING] = median_round(rounds)
    if plan.get('csync_slos'):
        from bench import csync_large
        try:
            result['slo'] = csync_large.measure(benv, plan, workers, scratch, log, intervals)
        except Exception as exc:
            result['slo'] = {'error': '%s: %s' % (type(exc).__name__, exc)}
            log('container_sync SLOs failed: %s' % result['slo']['error'])
    if plan.get('quick'):
        result['note'] = ('--quick leaves out the runs with the real interval (%d s): each '
                          'takes up to %d s.' % (REAL_INTERVAL, REAL_INTERVAL + 60))
    return result


def median_round(rounds):
    """The round of median rate among ``rounds`` (cheap, so the ceiling runs every round,
    unlike the contenders), with ``rounds`` holding each figure of every round; a failed round
    fails the row."""
    ok = [r for r in rounds if r.get('ok')]
    by_rate = sorted(ok, key=lambda r: r['window_objs_per_s'])
    chosen = dict(by_rate[(len(ok) - 1) // 2] if ok else rounds[0])
    chosen['rounds'] = {key: [r.get(key) for r in ok] for key in ROUND_FIGURES}
    chosen['rounds'].update(runs=len(rounds), ok_runs=len(ok))
    if len(ok) < len(rounds):
        chosen['ok'] = False
        chosen['verified'] = {'ok': False, 'why': '; '.join(
            (r.get('verified') or {}).get('why') or 'did not finish'
            for r in rounds if not r.get('ok'))}
    return chosen


ROUND_FIGURES = ('objs_per_s', 'seconds', 'window_objs_per_s', 'cpu_ms_per_obj',
                 'requests_per_obj')


def brief(r):
    return '%s obj/s start to all remote, %s ms CPU/obj, requests %s, ok %s' % (
        r.get('objs_per_s'), r.get('cpu_ms_per_obj'), r.get('requests'), r.get('ok'))

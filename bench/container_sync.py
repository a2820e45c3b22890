"""Measurement 3 (Swift case): ours vs Swift's own container-sync, to the second Swift cluster.

Both write through a second request counter in front of the remote cluster's proxy, to
containers created beforehand, from the same source container of 4 KiB objects.

* ours: the three node daemons with a ``protocol: swift`` mapping (run_forever);
* container-sync: ``swift.container.sync`` with ``--once`` on each node's container-server
  conf, all three at once, with the realm scheme the devenv sets up
  (``X-Container-Sync-To: //realm1/remote/AUTH_remote/<container>``, the same
  ``X-Container-Sync-Key`` on both containers). Its conf is a copy of the node's with
  ``container_time`` raised from 60 s to the bench timeout, so the pass is not cut short, and
  ``swift_dir`` moved to a private copy (symlinks to the rings and swift.conf) whose
  container-sync-realms.conf points the ``remote`` cluster at the counter: the signature
  covers the path only, so the remote proxy accepts what the counter forwards.

Container-sync works on one container for at most ``container_time`` (60 s) out of every
``interval`` (300 s): its sustained rate is at most its rate while running x 60/300. That
bound ignores a further cost, measured by a second ``--once`` pass: in every later pass each
node first HEADs, one at a time, every row the other nodes synced, before any new row.
"""
import os
import shutil
import subprocess
import sys
import time
import uuid

import swiftclient

from bench import ours
from bench.counter import TimedCounter
from bench.environment import PeakWatcher, stop_procs
from bench.ours import figures
from devenv import sync_realms
from devenv.launch import child_env

SYNC_KEY = 'bench-sync-key'
CONTAINER_TIME = 60     # Swift's defaults for [container-sync], which the devenv keeps
INTERVAL = 300
LAUNCH = ('import sys; from devenv.launch import prepare_swift; '
          'prepare_swift(sys.argv[1]); sys.argv = ["swift-container-sync", sys.argv[2], '
          '"--once", "-v"]; from swift.container.sync import main; main()')


def remote_conn(benv):
    target = benv.info['swift_target']
    return swiftclient.Connection(target['aws_endpoint'], target['aws_identity'],
                                  target['aws_secret'], retries=2)


def remote_container(benv, prefix):
    name = '%s-%s' % (prefix, uuid.uuid4().hex[:10])
    remote_conn(benv).put_container(name, headers={'X-Container-Sync-Key': SYNC_KEY})
    return name


def run_ours(benv, counter, container, count, workers, timeout):
    dest = remote_container(benv, 'ours')
    target = benv.info['swift_target']
    mapping = {'account': benv.account, 'container': container, 'aws_bucket': dest,
               'aws_endpoint': counter.url + '/auth/v1.0', 'protocol': 'swift',
               'aws_identity': target['aws_identity'], 'aws_secret': target['aws_secret']}
    from devenv.daemons import NodeDaemons
    daemons = NodeDaemons(benv.info, [mapping], log_level='info', poll_interval=5,
                          workers=workers)
    counter.reset()
    start = time.time()
    procs = ours.start_daemons(daemons)
    watcher = PeakWatcher(procs)
    try:
        done = counter.wait_for_puts(count, timeout, procs)
        peaks = watcher.stop()
    finally:
        stop_procs(procs)
    result = figures(counter, start, done, count, 4096)
    result.update(rss_mib=peaks, requests=counter.by_method())
    shutil.rmtree(daemons.dir, ignore_errors=True)
    return result


def counted_swift_dir(benv, counter, scratch):
    """A swift_dir like the cluster's whose realm sends the ``remote`` cluster's requests
    through ``counter``."""
    real = benv.info['swift_dir']
    private = os.path.join(scratch, 'csync-etc')
    os.makedirs(private, exist_ok=True)
    for name in os.listdir(real):
        link = os.path.join(private, name)
        if (name.endswith('.ring.gz') or name == 'swift.conf') and not os.path.lexists(link):
            os.symlink(os.path.join(real, name), link)
    local, remote = benv.environment.clusters
    text = sync_realms.realms_conf(local, remote, urls={
        sync_realms.REMOTE_CLUSTER: counter.url + '/v1/'})
    with open(os.path.join(private, sync_realms.FILE_NAME), 'w') as f:
        f.write(text)
    return private


def sync_confs(benv, swift_dir, scratch, timeout):
    """Each node's container-server conf with a private swift_dir and a long container_time."""
    confs = []
    for node in benv.info['nodes']:
        with open(node['container_server_conf']) as f:
            text = f.read()
        moved = text.replace('swift_dir = %s\n' % node['swift_dir'],
                             'swift_dir = %s\n' % swift_dir)
        if moved == text:
            raise RuntimeError('%s: no swift_dir line to move' % node['container_server_conf'])
        moved = moved.replace('[container-sync]\n',
                              '[container-sync]\ncontainer_time = %d\n' % timeout)
        path = os.path.join(scratch, 'container-sync-%d.conf' % node['index'])
        with open(path, 'w') as f:
            f.write(moved)
        confs.append(path)
    return confs


def start_passes(benv, confs, log):
    return [subprocess.Popen([sys.executable, '-c', LAUNCH, benv.info['swift_dir'], conf],
                             stdout=log, stderr=subprocess.STDOUT, env=child_env())
            for conf in confs]


def first_pass(benv, counter, confs, count, timeout, log):
    """All three nodes sync their rows: the rate while container-sync runs."""
    counter.reset()
    start = time.time()
    procs = start_passes(benv, confs, log)
    watcher = PeakWatcher(procs)
    try:
        done = counter.wait_for_puts(count, timeout, procs)
        end = time.time()
        peaks = watcher.stop()
    finally:
        stop_procs(procs)
    result = figures(counter, start, done, count, 4096)
    if done is None:       # partial: the rate of what arrived
        result['partial_objs_per_s'] = counter.count_ok_puts() / (end - start)
    result.update(rss_mib=peaks, requests=counter.by_method())
    return result


def second_pass(benv, counter, confs, timeout, log):
    """A pass with nothing new: what each later pass spends re-checking synced rows."""
    counter.reset()
    start = time.time()
    procs = start_passes(benv, confs, log)
    try:
        deadline = start + timeout
        while time.time() < deadline and any(p.poll() is None for p in procs):
            time.sleep(0.1)
        finished = all(p.poll() is not None for p in procs)
    finally:
        stop_procs(procs)
    heads = [e for e in counter.snapshot() if e[2] == 'HEAD']
    window = heads[-1][1] - heads[0][0] if len(heads) > 1 else None
    return {'seconds': time.time() - start if finished else None,
            'requests': counter.by_method(), 'head_window_s': window,
            'heads_per_s': len(heads) / window if window else None}


def sustained(result):
    """The sustained rates and ratios, from the measured passes (None where not measured)."""
    cs, ours_fig, recheck = (result['container_sync'], result['ours'],
                             result.get('container_sync_recheck', {}))
    running = cs.get('steady_objs_per_s') or cs.get('objs_per_s')
    out = {'container_time': CONTAINER_TIME, 'interval': INTERVAL,
           'running_objs_per_s': running}
    out['bound_objs_per_s'] = running and running * CONTAINER_TIME / INTERVAL
    heads = recheck.get('heads_per_s')
    if running and heads:
        # per interval each node syncs its third of the new rows (all nodes together at
        # `running`) and HEADs every new row once, serially (all nodes at `heads` together,
        # each node all rows): rows r*I need r*I/running + 3*r*I/heads <= container_time
        out['with_recheck_objs_per_s'] = CONTAINER_TIME / (
            INTERVAL * (1.0 / running + 3.0 / heads))
    ours_rate = ours_fig.get('steady_objs_per_s') or ours_fig.get('objs_per_s')
    for key in ('bound_objs_per_s', 'with_recheck_objs_per_s'):
        if ours_rate and out.get(key):
            out['ours_over_' + key.replace('_objs_per_s', '')] = ours_rate / out[key]
    return out


def note(s):
    def f(value, spec='%.1f'):
        return 'n/a' if value is None else spec % value
    lines = ['**Sustained** (container-sync works on a container at most %d s out of every %d '
             's): %s objects/s at most (%s objects/s while running, first to last PUT, x %d/%d)'
             '; ours (first to last PUT) / that: **%s**.' % (
                 s['container_time'], s['interval'], f(s['bound_objs_per_s']),
                 f(s['running_objs_per_s']), s['container_time'], s['interval'],
                 f(s.get('ours_over_bound'), '%.1fx'))]
    if s.get('with_recheck_objs_per_s'):
        lines.append('Counting the re-check that every later pass does first (each node HEADs, '
                     'one at a time, every row synced since its last pass): %s objects/s; '
                     'ours / that: **%s**.' % (f(s['with_recheck_objs_per_s'], '%.2f'),
                                               f(s.get('ours_over_with_recheck'), '%.1fx')))
    return ' '.join(lines)


def run_container_sync(benv, counter, container, count, timeout, scratch, result):
    dest = remote_container(benv, 'csync')
    benv.swift_conn().post_container(container, headers={
        'X-Container-Sync-To': sync_realms.sync_to(benv.info['swift_target']['account'], dest),
        'X-Container-Sync-Key': SYNC_KEY})
    swift_dir = counted_swift_dir(benv, counter, scratch)
    confs = sync_confs(benv, swift_dir, scratch, timeout)
    with open(os.path.join(scratch, 'container-sync.log'), 'ab') as log:
        try:
            result['container_sync'] = first_pass(benv, counter, confs, count, timeout, log)
            result['container_sync_recheck'] = second_pass(benv, counter, confs, timeout, log)
        finally:
            benv.swift_conn().post_container(container, headers={'X-Container-Sync-To': ''})
    with open(os.path.join(scratch, 'container-sync.log'), 'rb') as f:
        text = f.read().decode('utf-8', 'replace')
    result['container_sync']['errors_in_log'] = sum(
        1 for line in text.splitlines() if 'ERROR' in line or 'Unauth' in line)


def measure(benv, counter, plan, workers, scratch, log):
    count = plan['csync_objects']
    timeout = 120 if count <= 500 else 300
    remote = benv.info['remote_cluster']['url']
    counter2 = TimedCounter(remote).start()
    try:
        container = benv.new_container('csync')
        log('container_sync: populating %d x 4 KiB' % count)
        benv.populate(container, count, 4096)
        result = {'count': count}
        result['ours'] = run_ours(benv, counter2, container, count, workers, timeout)
        log('  ours %s' % result['ours'])
        run_container_sync(benv, counter2, container, count, timeout, scratch, result)
        log('  container-sync %s' % result['container_sync'])
        log('  container-sync re-check pass %s' % result['container_sync_recheck'])
        cs = result['container_sync']
        if cs.get('seconds') is None:
            cs['objs_per_s'] = cs.get('partial_objs_per_s')
            result['note'] = ('container-sync did not finish within %d s (%s arrived); its '
                              'rate is what arrived by then.' % (timeout, cs.get('arrived')))
        else:
            result['sustained'] = sustained(result)
            result['note'] = note(result['sustained'])
        return result
    finally:
        counter2.stop()

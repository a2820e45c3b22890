"""Measurement 3 (Swift case): ours vs Swift's own container-sync, to the second Swift cluster.

Both write through a second request counter in front of the remote cluster's proxy, to
containers created beforehand, from the same source container of 4 KiB objects.

* ours: the three node daemons with a ``protocol: swift`` mapping (run_forever);
* container-sync: ``swift.container.sync`` with ``--once`` on each node's container-server
  conf, all three at once, the legacy key scheme (``X-Container-Sync-To`` to an allowed host,
  127.0.0.1, and the same ``X-Container-Sync-Key`` on both containers): the devenv has no
  ``container-sync-realms.conf`` and no ``container_sync`` middleware, which only the realm
  scheme needs. Its conf is a copy of the node's with ``container_time`` raised from 60 s to the
  bench timeout, so one pass is not cut short. Timed from process start to the N-th remote PUT
  (or, if the pass ends or times out first, what arrived by then).
"""
import os
import subprocess
import sys
import shutil
import time
import uuid

import swiftclient

from bench import ours
from bench.counter import TimedCounter
from bench.environment import PeakWatcher, stop_procs
from bench.ours import figures

SYNC_KEY = 'bench-sync-key'
LAUNCH = ('import sys; from s3_sync.devenv.launch import prepare_swift; '
          'prepare_swift(sys.argv[1]); sys.argv = ["swift-container-sync", sys.argv[2], '
          '"--once", "-v"]; from swift.container.sync import main; main()')


NEEDS = ('container-sync sent only HEADs (%s), no PUT: with the legacy key scheme the '
         'receiving proxy authorizes writes by sync key but not the HEAD that container-sync '
         'sends first, so every row fails with 401. It needs the realm scheme: a '
         'container-sync-realms.conf in both swift_dirs (same realm key, cluster name -> the '
         'remote proxy URL), the container_sync middleware in the remote proxy pipeline '
         'before auth, and X-Container-Sync-To: //realm/cluster/AUTH_remote/<container>.')


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
    from s3_sync.devenv.daemons import NodeDaemons
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


def sync_confs(benv, scratch, timeout):
    confs = []
    for node in benv.info['nodes']:
        with open(node['container_server_conf']) as f:
            text = f.read()
        text = text.replace('[container-sync]\n',
                            '[container-sync]\ncontainer_time = %d\n' % timeout)
        path = os.path.join(scratch, 'container-sync-%d.conf' % node['index'])
        with open(path, 'w') as f:
            f.write(text)
        confs.append(path)
    return confs


def run_container_sync(benv, counter, container, count, timeout, scratch):
    dest = remote_container(benv, 'csync')
    sync_to = '%s/v1/%s/%s' % (counter.url, benv.info['swift_target']['account'], dest)
    benv.swift_conn().post_container(container, headers={
        'X-Container-Sync-To': sync_to, 'X-Container-Sync-Key': SYNC_KEY})
    counter.reset()
    log = open(os.path.join(scratch, 'container-sync.log'), 'ab')
    start = time.time()
    procs = [subprocess.Popen([sys.executable, '-c', LAUNCH, benv.info['swift_dir'], conf],
                              stdout=log, stderr=subprocess.STDOUT)
             for conf in sync_confs(benv, scratch, timeout)]
    watcher = PeakWatcher(procs)
    try:
        done = counter.wait_for_puts(count, timeout, procs)
        end = time.time()
        peaks = watcher.stop()
    finally:
        stop_procs(procs)
        benv.swift_conn().post_container(container, headers={'X-Container-Sync-To': ''})
    result = figures(counter, start, done, count, 4096)
    if done is None:       # partial: the rate of what arrived
        arrived = counter.count_ok_puts()
        result['partial_objs_per_s'] = arrived / (end - start)
    result.update(rss_mib=peaks, requests=counter.by_method())
    return result


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
        result['container_sync'] = run_container_sync(benv, counter2, container, count,
                                                      timeout, scratch)
        log('  container-sync %s' % result['container_sync'])
        cs = result['container_sync']
        if not cs.get('arrived') and not cs['requests'].get('PUT'):
            result['na'] = NEEDS % cs['requests']
            cs['objs_per_s'] = None
        elif cs.get('seconds') is None:
            part = result['container_sync'].get('partial_objs_per_s')
            result['container_sync']['objs_per_s'] = part
            result['note'] = ('container-sync did not finish within %d s; its rate is what '
                              'arrived by then.' % timeout)
        return result
    finally:
        counter2.stop()

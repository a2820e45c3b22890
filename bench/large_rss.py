"""Peak memory of the sync daemon while it propagates a 1 GiB SLO and a 1 GiB DLO.

A one-off measurement, not a test: the daemon streams large objects part by part, so its peak
RSS must not grow with the object size. Needs a running dev environment
(``python -m devenv up``; ``S3SYNC_DEVENV_BASE`` picks which one).

    python bench/large_rss.py [--target s3api|moto] [--segments 100] [--segment-mib 10]

It uploads the segments once (``--segments`` x ``--segment-mib``), makes an SLO over them in
one container and a DLO over the same segments in another, then runs the three node daemons
``--once`` per mapping and reads each daemon's peak RSS (``ru_maxrss`` from ``wait4``). The
baseline is the same daemons syncing one small plain object. Everything it made is removed.
"""
import argparse
import json
import os
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

from devenv.daemons import NodeDaemons, remote_key, s3_mapping  # noqa: E402
from devenv.settings import default_base  # noqa: E402
from test.integration.env import (bypass_http_proxies, empty_and_delete_bucket,  # noqa: E402
                                  empty_and_delete_container, s3_client_for)

MiB = 1024 * 1024


def run_daemons(daemons):
    """Run every node's daemon --once; [(peak RSS MiB, seconds, log tail)] per node."""
    procs = []
    for index in range(len(daemons.configs)):
        log = open(os.path.join(daemons.dir, 'bench-node%d.log' % index), 'wb')
        procs.append((subprocess.Popen(daemons.command(index), stdout=log,
                                       stderr=subprocess.STDOUT, env=daemons._env()),
                      log, time.time()))
    out = []
    for proc, log, started in procs:
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        log.close()
        with open(log.name, 'rb') as f:
            tail = f.read().decode('utf-8', 'replace')[-2000:]
        if proc.returncode != 0 or 'Traceback' in tail:
            raise SystemExit('daemon failed:\n%s' % tail)
        out.append((usage.ru_maxrss / 1024.0, time.time() - started, tail))
    return out


def report(label, results):
    peaks = ', '.join('%.0f' % rss for rss, _s, _t in results)
    worst = max(rss for rss, _s, _t in results)
    secs = max(s for _r, s, _t in results)
    print('%-28s peak RSS per node daemon (MiB): %s  -> max %.0f MiB, %.1f s' % (
        label, peaks, worst, secs))
    return worst


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--target', default='s3api', choices=('s3api', 'moto'))
    parser.add_argument('--segments', type=int, default=100)
    parser.add_argument('--segment-mib', type=int, default=10)
    args = parser.parse_args()

    bypass_http_proxies()
    import swiftclient
    with open(os.path.join(default_base(), 'env.json')) as f:
        env = json.load(f)
    target = [t for t in env['s3_targets'] if t['name'] == args.target][0]
    s3 = s3_client_for(target)
    conn = swiftclient.Connection(env['proxies']['noshunt']['auth_url'], 'test:tester',
                                  env['users']['test:tester']['key'], retries=2)
    account = env['users']['test:tester']['account']
    tag = uuid.uuid4().hex[:8]
    bucket, segs, slo_c, dlo_c, plain_c = ('bench-%s-%s' % (n, tag)
                                           for n in ('b', 'segs', 'slo', 'dlo', 'plain'))
    s3.create_bucket(Bucket=bucket)
    try:
        for c in (segs, slo_c, dlo_c, plain_c):
            conn.put_container(c)
        size = args.segment_mib * MiB
        print('uploading %d segments of %d MiB...' % (args.segments, args.segment_mib))
        manifest = []
        for i in range(args.segments):
            name = 'seg/%05d' % i
            conn.put_object(segs, name, os.urandom(size))
            manifest.append({'path': '/%s/%s' % (segs, name)})
        conn.put_object(slo_c, 'big-slo', json.dumps(manifest),
                        query_string='multipart-manifest=put')
        conn.put_object(dlo_c, 'big-dlo', b'', headers={'X-Object-Manifest': segs + '/seg/'})
        conn.put_object(plain_c, 'small', b'x' * 1024)
        total = args.segments * size

        results = {}
        for label, container, name in (('baseline (1 KiB object)', plain_c, 'small'),
                                       ('%d MiB SLO' % (total // MiB), slo_c, 'big-slo'),
                                       ('%d MiB DLO' % (total // MiB), dlo_c, 'big-dlo')):
            mapping = s3_mapping(target, bucket, account, container)
            results[label] = report(label, run_daemons(NodeDaemons(env, [mapping])))
            head = s3.head_object(Bucket=bucket, Key=remote_key(mapping, name))
            expected = 1024 if name == 'small' else total
            if head['ContentLength'] != expected:
                raise SystemExit('%s: remote has %d bytes, expected %d' % (
                    name, head['ContentLength'], expected))
        print('remote objects verified (sizes); target %s' % args.target)
    finally:
        empty_and_delete_bucket(s3, bucket)
        for c in (slo_c, dlo_c, plain_c, segs):
            empty_and_delete_container(conn, c)


if __name__ == '__main__':
    main()

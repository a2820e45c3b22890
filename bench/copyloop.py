"""The ceiling: a plain copy loop, GET from Swift through proxy B, PUT to S3.

Run as ``python -m bench.copyloop JOB.json WORKER_INDEX`` by :func:`run`: as many processes as
there are node daemons, each with as many threads as a daemon has ``workers``, each taking every
Nth name, so it has the daemons' concurrency. It uses the same boto3 client settings as our S3
provider (``make_client``) and the same key layout, and knows the names up front (no listing).
"""
import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from s3_sync import layout
from s3_sync.metadata import content_md5

from bench.environment import PeakWatcher, stop_procs
from bench.ours import figures


def worker(job, index):
    import swiftclient
    from s3_sync.providers.s3_client import make_client

    names = job['names'][index::job['processes']]
    from s3_sync.config import mapping_from_dict
    mapping = mapping_from_dict(dict(job['mapping'], max_conns=job['threads']))
    s3 = make_client(mapping)
    local = threading.local()

    def copy(name):
        if not hasattr(local, 'conn'):
            local.conn = swiftclient.Connection(job['auth_url'], job['user'], job['key'],
                                                retries=2)
        headers, body = local.conn.get_object(job['container'], name)
        params = {'ContentType': headers.get('content-type', 'application/octet-stream')}
        md5 = content_md5(headers.get('etag'))
        if md5:
            params['ContentMD5'] = md5
        key = layout.object_key(mapping, mapping.account, mapping.container, name)
        s3.put_object(Bucket=mapping.aws_bucket, Key=key, Body=body, **params)

    with ThreadPoolExecutor(job['threads']) as pool:
        list(pool.map(copy, names))


def run(benv, counter, container, names, size, processes, threads, timeout, path):
    bucket = benv.new_bucket('ceiling')
    target = benv.moto
    job = {'names': names, 'processes': processes, 'threads': threads, 'container': container,
           'auth_url': benv.info['proxies']['noshunt']['auth_url'], 'user': 'test:tester',
           'key': benv.info['users']['test:tester']['key'],
           'mapping': {'aws_endpoint': counter.url, 'aws_identity': target['aws_identity'],
                       'aws_secret': target['aws_secret'], 'aws_bucket': bucket,
                       'account': benv.account, 'container': container}}
    with open(path, 'w') as f:
        json.dump(job, f)
    counter.reset()
    start = time.time()
    with open(path + '.log', 'ab') as log:
        procs = [subprocess.Popen([sys.executable, '-m', 'bench.copyloop', path, str(i)],
                                  stdout=log, stderr=subprocess.STDOUT)
                 for i in range(processes)]
    watcher = PeakWatcher(procs)
    try:
        done = counter.wait_for_puts(len(names), timeout, procs)
        peaks = watcher.stop()
    finally:
        stop_procs(procs)
    result = figures(counter, start, done, len(names), size)
    result['rss_mib'] = peaks
    result['cpu_s'] = watcher.cpu
    result['requests'] = counter.by_method()
    return result


if __name__ == '__main__':
    with open(sys.argv[1]) as f:
        worker(json.load(f), int(sys.argv[2]))

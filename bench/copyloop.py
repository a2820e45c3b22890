"""Ceilings: plain copy loops, and the two raw sides alone, each split over 3 processes.

Run as ``python -m bench.copyloop JOB.json WORKER_INDEX`` by :func:`run`: as many processes as
there are node daemons, each with as many green threads as a daemon has ``workers``, each taking
every Nth name (names known up front, and their rows' timestamps from one listing before the
window: no status files, no ownership rule). Modes:

* ``inproc``: GET in-process the way the daemon reads (through ``s3_sync.local`` with the
  rows' timestamps, so straight from the object servers for a plain object, else the node's
  InternalClient pipeline from its config with the daemon's container-info reuse; eventlet
  monkey-patched like the daemon), PUT with the same boto3 client settings as our S3 provider;
* ``proxy``: GET through proxy B with python-swiftclient (the old "ceiling": the proxy's work is
  done in another process, which the all-process CPU figure now counts);
* ``get``: the local side alone: the ``inproc`` read, body read and dropped;
* ``put``: the remote side alone: every process first reads its bodies into memory (outside
  the window), then PUTs them;
* ``slo``: each name is an SLO: its raw manifest is read in-process, then one multipart upload
  with one part per segment, ``parts`` parts in flight, each segment read whole in-process
  (the large-object ceiling; no stale checks, no manifest copy, no retries).

Each process reports ``ready`` on stdout, waits for ``go`` on stdin, and reports ``done`` when
its share is copied; it exits when its stdin closes. So the window (go to the last done) leaves
process start-up out, and the CPU of every process of the environment is read at both ends
while the copy loop processes are still alive.
"""
import json
import sys
import time

MODES = ('inproc', 'proxy', 'get', 'put', 'slo')


def worker(job, index):
    if job['mode'] != 'proxy':
        from swift.common.utils import monkey_patch
        monkey_patch()

    from s3_sync import layout
    from s3_sync.config import mapping_from_dict
    from s3_sync.metadata import content_md5
    from s3_sync.providers.s3_client import make_client

    names = job['names'][index::job['processes']]
    mapping = mapping_from_dict(dict(job['mapping'], max_conns=job['threads']))
    s3 = make_client(mapping)
    read = reader(job, index)
    bodies = {}
    if job['mode'] == 'put':
        bodies = dict(zip(names, pmap(job, read, names)))

    def copy(name):
        headers, body = bodies.pop(name) if bodies else read(name)
        if job['mode'] == 'get':
            return
        params = {'ContentType': headers.get('content-type', 'application/octet-stream')}
        md5 = content_md5(headers.get('etag'))
        if md5:
            params['ContentMD5'] = md5
        key = layout.object_key(mapping, mapping.account, mapping.container, name)
        s3.put_object(Bucket=mapping.aws_bucket, Key=key, Body=body, **params)

    if job['mode'] == 'slo':
        copy = slo_copier(job, index, s3, mapping)
    from bench.gated import serve
    serve(lambda: list(pmap(job, copy, names)))


def slo_copier(job, index, s3, mapping):
    import json
    from eventlet import GreenPool
    from s3_sync import layout
    from s3_sync.local import LocalSwift
    local = LocalSwift(internal_client(job, index))
    account = job['account']

    def copy(name):
        raw, _headers = local.raw_manifest(account, job['container'], name)
        segments = json.loads(raw)
        key = layout.object_key(mapping, account, job['container'], name)
        upload = s3.create_multipart_upload(Bucket=mapping.aws_bucket, Key=key)['UploadId']

        def part(numbered):
            number, seg = numbered
            container, obj = seg['name'].lstrip('/').split('/', 1)
            _status, _h, body = local.client.get_object(account, container, obj)
            data = b''.join(body)
            return s3.upload_part(Bucket=mapping.aws_bucket, Key=key, UploadId=upload,
                                  PartNumber=number, Body=data)['ETag']
        etags = list(GreenPool(job['parts']).imap(part, enumerate(segments, 1)))
        s3.complete_multipart_upload(
            Bucket=mapping.aws_bucket, Key=key, UploadId=upload,
            MultipartUpload={'Parts': [{'PartNumber': n, 'ETag': e}
                                       for n, e in enumerate(etags, 1)]})
    return copy


def internal_client(job, index):
    from s3_sync.config import load_config
    from s3_sync.swift_env import make_internal_client, setup_swift
    conf = load_config(job['configs'][index % len(job['configs'])], for_daemon=True)
    setup_swift(conf.swift_dir)
    return make_internal_client(conf)


def pmap(job, fn, items):
    """``fn`` over ``items``, ``threads`` at once: green threads where the process is
    monkey-patched (as the daemon), OS threads for the proxy mode's blocking client."""
    if job['mode'] == 'proxy':
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(job['threads']) as pool:
            return list(pool.map(fn, items))
    from eventlet import GreenPool
    return list(GreenPool(job['threads']).imap(fn, items))


def reader(job, index):
    """name -> (lower-case headers, whole body), read the way the mode says."""
    if job['mode'] == 'proxy':
        import threading
        import swiftclient
        local = threading.local()

        def read(name):
            if not hasattr(local, 'conn'):
                local.conn = swiftclient.Connection(job['auth_url'], job['user'], job['key'],
                                                    retries=2)
            return local.conn.get_object(job['container'], name)
        return read

    from s3_sync.local import LocalSwift
    local = LocalSwift(internal_client(job, index))
    stamps = row_timestamps(local, job)

    def read(name):
        obj = local.open(job['account'], job['container'], name, 0, stamps.get(name))
        try:
            return obj.headers, obj.reader.read()
        finally:
            obj.close()
    return read


def row_timestamps(local, job):
    """name -> the (data, metadata) timestamps its container row holds, as the daemon has
    them when it reads (so the read takes the same fast path), from one listing made before
    the window opens."""
    from swift.common.utils import Timestamp
    listing = local.client.iter_objects(job['account'], job['container'])
    return {o['name']: (Timestamp.from_isoformat(o['last_modified']),) * 2 for o in listing}


def run(benv, counter, container, names, size, processes, threads, timeout, path,
        mode='inproc', configs=(), parts=4, expected=None):
    """One run of a copy loop in ``mode``; figures as ``bench.ours.finish`` gives them."""
    from bench import gated
    from bench.environment import PeakWatcher, expected_keys
    from bench.ours import finish
    bucket = benv.new_bucket('ceiling')
    target = benv.moto
    job = {'mode': mode, 'names': names, 'parts': parts, 'processes': processes, 'threads': threads,
           'container': container, 'account': benv.account, 'configs': list(configs),
           'auth_url': benv.info['proxies']['noshunt']['auth_url'], 'user': 'test:tester',
           'key': benv.info['users']['test:tester']['key'],
           'mapping': {'aws_endpoint': target['aws_endpoint'],
                       'aws_identity': target['aws_identity'],
                       'aws_secret': target['aws_secret'], 'aws_bucket': bucket,
                       'account': benv.account, 'container': container}}
    with open(path, 'w') as f:
        json.dump(job, f)
    counter.reset()
    start = time.time()
    procs = gated.launch('bench.copyloop', path, processes)
    watcher = PeakWatcher(procs)
    window = gated.window(benv, procs, len(names), on_open=counter.reset, watcher=watcher)
    if mode == 'get':
        result = {'seconds': None if window['done'] is None else window['done'] - start}
        result.update({k: v for k, v in window.items() if k != 'done'})
        result['rss_mib'] = watcher.peaks
        result['ok'] = window['done'] is not None
        result['verified'] = {'ok': result['ok'], 'why': 'nothing is written: not checked'}
        return result
    if expected is None:
        expected = expected_keys(benv, bucket, container, names)
    elif callable(expected):
        expected = expected(bucket)
    result = finish(benv, counter, start, window, len(names), size, bucket, expected, watcher)
    result['bucket'] = bucket
    return result


if __name__ == '__main__':
    with open(sys.argv[1]) as f:
        worker(json.load(f), int(sys.argv[2]))

"""Measurement 1 (large objects): SLOs, ours vs a plain copy (GET the SLO, multipart upload).

Guarded: large-object propagation is being built. When the daemons log that a large object is
"not propagated by this version" (or nothing arrives), the figure is n/a. The ceiling streams
the assembled SLO from proxy B into boto3's ``upload_fileobj`` (8 MiB parts, 4 at once).
"""
import time
from concurrent.futures import ThreadPoolExecutor

from boto3.s3.transfer import TransferConfig

from s3_sync import layout

from bench import ours
from bench.environment import PeakWatcher, layout_mapping, stop_procs

SEGMENT = 8 * 2 ** 20
NOT_BUILT = 'not propagated by this version'


def make_slos(benv, container, count, size):
    import json
    conn = benv.swift_conn()
    segs = benv.new_container('segs')
    names = []
    for n in range(count):
        manifest = []
        for i in range(size // SEGMENT):
            seg = 'slo%d/%06d' % (n, i)
            etag = conn.put_object(segs, seg, bytes([n + 1]) * SEGMENT)
            manifest.append({'path': '/%s/%s' % (segs, seg), 'etag': etag,
                             'size_bytes': SEGMENT})
        name = 'slo-%d' % n
        conn.put_object(container, name, json.dumps(manifest),
                        query_string='multipart-manifest=put')
        names.append(name)
    return names


def completed_uploads(counter):
    return sum(1 for _a, _d, m, p, s in counter.snapshot()
               if m == 'POST' and 'uploadId=' in p and s and 200 <= s < 300)


def run_ours(benv, counter, container, count, size, workers, timeout):
    bucket = benv.new_bucket('large')
    daemons = ours.daemons_for(benv, counter, container, bucket, workers)
    counter.reset()
    start = time.time()
    procs = ours.start_daemons(daemons)
    watcher = PeakWatcher(procs)
    done = None
    try:
        while time.time() < start + timeout:
            started_mpu = any(m == 'POST' and p.endswith('?uploads')
                              for _a, _d, m, p, _s in counter.snapshot())
            arrived = completed_uploads(counter) if started_mpu else counter.count_ok_puts()
            if arrived >= count:
                done = time.time()
                break
            logs = ''.join(daemons.log(i) for i in range(3))
            if NOT_BUILT in logs:
                break
            time.sleep(0.1)
        peaks = watcher.stop()
    finally:
        stop_procs(procs)
    if done is None:
        logs = ''.join(daemons.log(i) for i in range(3))
        why = ('the daemons log "%s"' % NOT_BUILT if NOT_BUILT in logs
               else 'not all SLOs arrived within %d s' % timeout)
        return {'na': why, 'rss_mib': peaks, 'requests': counter.by_method()}
    return {'seconds': done - start, 'mb_per_s': count * size / (done - start) / 1e6,
            'rss_mib': peaks, 'requests': counter.by_method()}


def run_ceiling(benv, counter, container, names, size):
    bucket = benv.new_bucket('large-ceil')
    s3 = benv.s3_client(counter.url)
    config = TransferConfig(multipart_chunksize=SEGMENT, max_concurrency=4,
                            multipart_threshold=SEGMENT)

    def copy(name):
        conn = benv.swift_conn()
        _headers, body = conn.get_object(container, name, resp_chunk_size=2 ** 20)
        key = layout.object_key(layout_mapping(bucket), benv.account, container, name)
        s3.upload_fileobj(IterReader(body), bucket, key, Config=config)

    start = time.time()
    with ThreadPoolExecutor(len(names)) as pool:     # all SLOs at once, as the daemons may
        list(pool.map(copy, names))
    elapsed = time.time() - start
    return {'seconds': elapsed, 'mb_per_s': len(names) * size / elapsed / 1e6}


class IterReader:
    def __init__(self, chunks):
        self.chunks, self.buf = iter(chunks), b''

    def read(self, size=-1):
        while size < 0 or len(self.buf) < size:
            chunk = next(self.chunks, None)
            if chunk is None:
                break
            self.buf += chunk
        size = len(self.buf) if size < 0 else size
        data, self.buf = self.buf[:size], self.buf[size:]
        return data


def measure(benv, counter, plan, workers, scratch, log):
    count, size = plan['large'], plan['large_mib'] * 2 ** 20
    container = benv.new_container('large')
    log('large: %d SLOs of %d MiB' % (count, plan['large_mib']))
    names = make_slos(benv, container, count, size)
    result = {'label': '%d SLOs of %d MiB' % (count, plan['large_mib'])}
    result['ours'] = run_ours(benv, counter, container, count, size, workers, 300)
    if result['ours'].get('na'):
        result['na'] = result['ours']['na']
        return result
    benv.reset_moto()
    result['ceiling'] = run_ceiling(benv, counter, container, names, size)
    return result

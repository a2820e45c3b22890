"""Measurement: what proxymc costs against reading the cloud bucket directly.

GET of a 4 KiB and a 16 MiB object held by the cloud copy, through proxymc (Swift API, one
keep-alive connection) and straight from the S3 server (boto3), interleaved so both see the same
noise; and a full merged listing of N entries (half in the cloud, half on-prem) against the two
plain listings it is made of (the on-prem one through proxy B, the bucket's through boto3).
Goal (issue 12): latency <= 1.2x direct, throughput >= 0.9x direct.
"""
import concurrent.futures
import json
import os
import time
import uuid

import swiftclient

from bench.stats import median
from s3_sync import layout
from s3_sync.config import mapping_from_dict

BIG = 16 * 1024 * 1024


def _mapping(benv, bucket, container):
    moto = benv.moto
    return {'account': benv.account, 'container': container, 'aws_bucket': bucket,
            'aws_endpoint': moto['aws_endpoint'], 'aws_identity': moto['aws_identity'],
            'aws_secret': moto['aws_secret'], 'retain_local': False, 'max_conns': 32}


def _write_conf(path, mappings):
    tmp = '%s.%s.tmp' % (path, uuid.uuid4().hex[:6])
    with open(tmp, 'w') as f:
        json.dump({'containers': mappings}, f)
    os.rename(tmp, path)


def _timed(func):
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def measure(benv, counter, plan, workers, scratch, log):
    info = benv.info
    s3 = benv.s3_client()
    bucket = benv.new_bucket('pmc')
    container = benv.new_container('pmc')
    mapping = _mapping(benv, bucket, container)
    checked = mapping_from_dict(mapping)

    def key(name):
        return layout.object_key(checked, benv.account, container, name)

    small, big = os.urandom(4096), os.urandom(BIG)
    s3.put_object(Bucket=bucket, Key=key('small'), Body=small)
    s3.put_object(Bucket=bucket, Key=key('big'), Body=big)
    try:
        with open(info['sync_conf']) as f:
            previous = f.read()
    except FileNotFoundError:
        previous = json.dumps({'containers': []})
    _write_conf(info['sync_conf'], [mapping])
    try:
        pmc = swiftclient.Connection(info['proxymc']['auth_url'], 'test:tester',
                                     info['users']['test:tester']['key'], retries=0)
        deadline = time.time() + 30
        while True:         # proxymc re-reads the config within its reload_interval
            try:
                pmc.get_object(container, 'small')
                break
            except swiftclient.ClientException:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        out = {'get_4k': _gets(pmc, s3, bucket, container, key, 'small', plan['shunt_gets']),
               'get_16m': _gets(pmc, s3, bucket, container, key, 'big', 5, BIG)}
        out['listing'] = _listing(benv, pmc, s3, bucket, container, key,
                                  plan.get('proxymc_listing', 10000), log)
        return out
    finally:
        with open(info['sync_conf'], 'w') as f:
            f.write(previous)


def _gets(pmc, s3, bucket, container, key, name, count, size=None):
    expected = size or 4096

    def through_proxymc():
        body = pmc.get_object(container, name)[1]
        if len(body) != expected:       # a short read must never look fast
            raise AssertionError('proxymc gave %d of %d bytes' % (len(body), expected))

    def straight():
        body = s3.get_object(Bucket=bucket, Key=key(name))['Body'].read()
        if len(body) != expected:
            raise AssertionError('the S3 server gave %d of %d bytes' % (len(body), expected))
    through, direct = [], []
    for _ in range(3):      # connections and auth outside the timing
        through_proxymc()
        straight()
    for _ in range(count):
        through.append(_timed(through_proxymc))
        direct.append(_timed(straight))
    a, b = median(through), median(direct)
    out = {'proxymc_ms': a * 1000, 'direct_ms': b * 1000, 'ratio': a / b, 'count': count}
    if size:
        out.update(proxymc_mib_s=size / a / 2 ** 20, direct_mib_s=size / b / 2 ** 20,
                   throughput_ratio=b / a)
    return out


def _listing(benv, pmc, s3, bucket, container, key, total, log):
    half = total // 2
    log('proxymc listing: %d cloud + %d on-prem entries' % (half, total - half))
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: s3.put_object(Bucket=bucket, Key=key('cloud-%06d' % i),
                                              Body=b'x'), range(half)))
    benv.populate(container, total - half, 1, prefix='local')
    local = benv.swift_conn()
    prefix = key('')

    def plain():
        local.get_container(container, full_listing=True)
        for _page in s3.get_paginator('list_objects').paginate(Bucket=bucket, Prefix=prefix):
            pass

    def merged():
        listing = pmc.get_container(container, full_listing=True)[1]
        assert len(listing) == total + 2, len(listing)      # + small and big
    times_plain, times_merged = [], []
    for _ in range(3):
        times_plain.append(_timed(plain))
        times_merged.append(_timed(merged))
    a, b = median(times_merged), median(times_plain)
    return {'entries': total, 'merged_s': a, 'plain_s': b, 'ratio': a / b}

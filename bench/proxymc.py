"""Measurement: what proxymc costs against reading the cloud bucket directly.

GET of a 4 KiB and a 16 MiB object held by the cloud copy, through proxymc (Swift API, one
keep-alive connection) and straight from the S3 server (boto3, keep-alive too), alternated
request by request so both see the same noise, in ``rounds`` blocks: a ratio per block, given as
min / median / max; and a full merged listing of N entries (half in the cloud, half on-prem)
against the two plain listings it is made of (the on-prem one through proxy B, the bucket's
through boto3), alternated the same way.
Goal (issue 12): latency <= 1.2x direct, throughput >= 0.9x direct.
"""
import concurrent.futures
import json
import os
import time
import uuid

import swiftclient

from bench.shunt import alternate, compare, merge_rows
from bench.stats import median, spread
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
        rounds = max(3, plan['rounds'])
        out = {'rounds': rounds,
               'get_4k': _gets(pmc, s3, bucket, container, key, 'small', plan['shunt_gets'],
                               rounds),
               'get_16m': _gets(pmc, s3, bucket, container, key, 'big',
                                max(3, plan['shunt_gets'] // 20), rounds, BIG)}
        log('proxymc: GET / direct 4 KiB %s, 16 MiB %s' % (out['get_4k']['ratio'],
                                                           out['get_16m']['ratio']))
        out['listing'] = _listing(benv, pmc, s3, bucket, container, key,
                                  plan.get('proxymc_listing', 10000), rounds, log)
        return out
    finally:
        with open(info['sync_conf'], 'w') as f:
            f.write(previous)


def _gets(pmc, s3, bucket, container, key, name, count, rounds, size=None):
    """Each round alternates the two sides ``count`` times: median ms and the ratio per
    round, as the shunt's figures (``bench.shunt.compare``)."""
    expected = size or 4096

    def through_proxymc():
        body = pmc.get_object(container, name)[1]
        if len(body) != expected:       # a short read must never look fast
            raise AssertionError('proxymc gave %d of %d bytes' % (len(body), expected))

    def straight():
        body = s3.get_object(Bucket=bucket, Key=key(name))['Body'].read()
        if len(body) != expected:
            raise AssertionError('the S3 server gave %d of %d bytes' % (len(body), expected))
    blocks = alternate(through_proxymc, straight, count, rounds)
    out = compare(blocks)
    out.update(proxymc_ms=out['a_median_ms'], direct_ms=out['b_median_ms'], count=count)
    if size:
        # throughput ratio per round: direct median time / proxymc median time
        out['throughput_ratio'] = spread([median(b) / median(a) for a, b in blocks])
        out.update(proxymc_mib_s=size / (out['a_median_ms'] / 1000) / 2 ** 20,
                   direct_mib_s=size / (out['b_median_ms'] / 1000) / 2 ** 20)
    return out


def _listing(benv, pmc, s3, bucket, container, key, total, rounds, log):
    half = total // 2
    log('proxymc listing: %d cloud + %d on-prem entries' % (half, total - half))
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: s3.put_object(Bucket=bucket, Key=key('cloud-%06d' % i),
                                              Body=b'x'), range(half)))
    # rows merged straight into the container DBs, as the shunt's listing does (PUTting
    # thousands of objects takes minutes here; a listing reads rows only)
    merge_rows(benv.info, benv.account, container,
               ['local-%06d' % i for i in range(total - half)])
    local = benv.swift_conn()
    prefix = key('')

    def plain():
        local.get_container(container, full_listing=True)
        for _page in s3.get_paginator('list_objects').paginate(Bucket=bucket, Prefix=prefix):
            pass

    def merged():
        listing = pmc.get_container(container, full_listing=True)[1]
        assert len(listing) == total + 2, len(listing)      # + small and big
    out = compare(alternate(merged, plain, 1, rounds))
    out.update(entries=total, merged_s=out['a_median_ms'] / 1000,
               plain_s=out['b_median_ms'] / 1000)
    return out

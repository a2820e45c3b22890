"""Measurement: what proxymc costs against reading the cloud bucket directly.

GET of a 4 KiB and a 16 MiB object held by the cloud copy, through proxymc (Swift API, one
keep-alive connection), through the bare relay (``bench.relay``: the simplest relay process,
the same boto3 client as the direct side pointed at it), through the pipeline floor
(``bench.pipeline_floor``: the least app behind proxymc's Swift middlewares, the same Swift
client and token as proxymc's) and straight from the S3 server (boto3, keep-alive too),
alternated request by request so all see the same noise, in ``rounds`` blocks: a ratio per
block, given as min / median / max; the relay is what bounds any relay process here, the floor
any app behind the pipeline proxymc must run in (``bench.bounds``). And a full merged listing
of N entries (half in the cloud, half on-prem) against the two plain listings it is made of
(the on-prem one through proxy B, the bucket's through boto3), alternated the same way. Every
body is checked (size and bytes) untimed.
Goal (issue 12): latency <= 1.2x direct, throughput >= 0.9x direct.
"""
import concurrent.futures
import json
import os
import time
import uuid

import swiftclient

from bench import bounds, pipeline_floor, relay
from bench.alternation import alternate, compare, per_round
from bench.shunt import merge_rows
from s3_sync import layout
from s3_sync.providers import s3_get
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
        routes = {'/v1/%s/%s/%s' % (benv.account, container, name): _signed_request(
            checked, key(name)) for name in ('small', 'big')}
        with relay.running(benv.moto['aws_endpoint']) as relay_url, \
                pipeline_floor.running(info, benv.moto['aws_endpoint'], routes,
                                       scratch) as floor_url:
            via_relay = benv.s3_client(endpoint=relay_url)
            floor = swiftclient.Connection(
                preauthurl=floor_url + '/v1/' + benv.account,
                preauthtoken=pmc.get_auth()[1], retries=0)
            sides = (pmc, floor, s3, via_relay)
            out = {'rounds': rounds,
                   'get_4k': _gets(sides, bucket, container, 'small', key, small,
                                   plan['shunt_gets'], rounds),
                   'get_16m': _gets(sides, bucket, container, 'big', key, big,
                                    max(3, plan['shunt_gets'] // 20), rounds)}
        log('proxymc: GET / direct 4 KiB %s, 16 MiB %s; bare relay / direct %s, %s; '
            'pipeline floor / direct %s, %s' % (
                out['get_4k']['ratio'], out['get_16m']['ratio'],
                out['get_4k']['relay']['relay_vs_direct'],
                out['get_16m']['relay']['relay_vs_direct'],
                out['get_4k']['pipeline']['pipeline_vs_direct'],
                out['get_16m']['pipeline']['pipeline_vs_direct']))
        out['listing'] = _listing(benv, pmc, s3, bucket, container, key,
                                  plan.get('proxymc_listing', 10000), rounds, log)
        return out
    finally:
        with open(info['sync_conf'], 'w') as f:
            f.write(previous)


def _signed_request(checked, object_key):
    """``[path, headers]`` of the GET proxymc sends for ``object_key``, signed once (the
    pipeline floor signs nothing; the S3 server then does the same work for both)."""
    return list(s3_get.SignedGet(checked)._signed('GET', object_key, {}))


def _gets(sides, bucket, container, name, key, body, count, rounds):
    """Each round alternates the four sides ``count`` times: median ms and the ratios per
    round, as the shunt's figures (``bench.alternation.compare``); ``relay``: the bare relay's
    figures (``bench.bounds.relay_ceiling``), ``pipeline``: the pipeline floor's
    (``bench.bounds.pipeline_floor``)."""
    pmc, floor, s3, via_relay = sides
    object_key = key(name)

    def check(who):
        def same(got):     # a short or wrong read must never look fast
            if got != body:
                raise AssertionError('%s gave %d bytes, not the %d stored' % (
                    who, len(got), len(body)))
        return same
    blocks = alternate([
        (lambda: pmc.get_object(container, name)[1], check('proxymc')),
        (lambda: via_relay.get_object(Bucket=bucket, Key=object_key)['Body'].read(),
         check('the bare relay')),
        (lambda: s3.get_object(Bucket=bucket, Key=object_key)['Body'].read(),
         check('the S3 server')),
        (lambda: floor.get_object(container, name)[1], check('the pipeline floor'))],
        count, rounds)
    out = compare(blocks, 0, 2)
    big = len(body) > 4096
    size = len(body) if big else None
    out.update(proxymc_ms=out['a_median_ms'], direct_ms=out['b_median_ms'], count=count,
               relay=bounds.relay_ceiling(blocks, 0, 1, 2, size=size),
               pipeline=bounds.pipeline_floor(blocks, 0, 3, 2, size=size))
    if big:
        # throughput ratio per round: direct median time / proxymc median time
        out['throughput_ratio'] = per_round(blocks, lambda *m: m[2] / m[0])
        out.update(proxymc_mib_s=len(body) / (out['a_median_ms'] / 1000) / 2 ** 20,
                   direct_mib_s=len(body) / (out['b_median_ms'] / 1000) / 2 ** 20)
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
    out = compare(alternate([merged, plain], 1, rounds))
    out.update(entries=total, merged_s=out['a_median_ms'] / 1000,
               plain_s=out['b_median_ms'] / 1000)
    return out

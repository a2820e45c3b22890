"""The cloud-shunt under real mappings: what it costs local reads, and what it serves.

The environment's ``sync.json`` (the shunt's config, re-read within seconds) gets a sync
mapping (``retain_local: true``) and an archive mapping (``retain_local: false``,
``merge_namespaces: true``) on two fresh containers; the bench waits until proxy A serves a
probe from the archive, so the shunt is known to have them. Then, in ``rounds`` blocks, each
figure alternates A and B (or A and the S3 server) one request at a time, so both see the same
noise; a block gives one ratio, the table min / median / max over the blocks:

* local 4 KiB GET on the sync-mapped and on the archive-mapped container, proxy A (shunt) vs
  proxy B (none);
* archived GET (4 KiB and 16 MiB, absent locally) through proxy A vs a direct GET of the same
  key from the S3 server (boto3, body read in full), the same object again and again; and, for
  4 KiB, the first read of each object (distinct objects on both sides), where the shunt cannot
  start its remote read early; and the first read of each after a spliced listing showed the
  names (a client that lists then reads: the shunt reads them early). A third side in the same alternation, the local miss alone (a
  GET of a name that exists nowhere, same container, through proxy B), gives the sequential
  floor of an archived GET: miss + direct GET; a fourth, the same GET through the bare relay
  (``bench.relay``), what relaying the body through one more process costs (``bench.bounds``);
* a spliced listing of ``listing_entries`` (half local rows, half archived keys), paged by
  1,000, through proxy A vs the plain local listing of as many local rows through proxy B; and,
  in the same alternation, vs that plus the S3 server's own listing of the archived half
  (boto3, pages of 1,000).

Every answer is checked outside its timing: archived bodies their full size, misses a 404;
listings count their entries (a wrong count marks the listing figure failed).

Rows for the listings are merged straight into every replica of the container DBs (PUTting
10,000 objects would take minutes here); the archived half is PUT into the bucket.
"""
import concurrent.futures
import json
import os
import time
import uuid

from swift.common.ring import Ring
from swift.common.utils import Timestamp, hash_path, storage_directory
from swift.container.backend import DATADIR, ContainerBroker

from s3_sync import layout
from s3_sync.config import mapping_from_dict
from s3_sync.swift_env import setup_swift

from bench import bounds, phases, relay
from bench.alternation import WARM_UP, alternate, compare

PAGE = 1000
PROBE_TIMEOUT = 30


def write_sync_conf(path, mappings):
    tmp = '%s.%s.tmp' % (path, uuid.uuid4().hex[:6])
    with open(tmp, 'w') as f:
        json.dump({'containers': mappings}, f, indent=1)
    os.rename(tmp, path)


def replica_dbs(info, account, container):
    """Every node's replica DB path of ``account/container``."""
    setup_swift(info['swift_dir'])
    part, nodes = Ring(info['swift_dir'], ring_name='container').get_nodes(account, container)
    digest = hash_path(account, container)
    paths = []
    for node in info['nodes']:
        for dev in nodes:
            if dev['ip'] == node['swift_bind_ip'] and dev['port'] == node['bind_port']:
                paths.append('%s/%s/%s/%s.db' % (node['devices'], dev['device'],
                                                  storage_directory(DATADIR, part, digest),
                                                  digest))
    return paths


def merge_rows(info, account, container, names):
    now = Timestamp.now().internal
    rows = [{'name': n, 'created_at': now, 'size': 4096, 'deleted': 0,
             'content_type': 'application/octet-stream',
             'etag': 'd41d8cd98f00b204e9800998ecf8427e', 'storage_policy_index': 0,
             'ctype_timestamp': None, 'meta_timestamp': None} for n in names]
    for path in replica_dbs(info, account, container):
        broker = ContainerBroker(path, account=account, container=container)
        for i in range(0, len(rows), 10000):
            broker.merge_items(rows[i:i + 10000])


class Shunted:
    """Containers mapped for the shunt, and helpers to time requests."""

    def __init__(self, benv):
        self.benv = benv
        self.s3 = benv.s3_client()
        self.bucket = benv.new_bucket('shunt')
        self.sync_c = benv.new_container('shunt-sync')
        self.arch_c = benv.new_container('shunt-arch')
        self.list_c = benv.new_container('shunt-list')
        self.plain_c = benv.new_container('shunt-plain')
        moto = benv.moto
        archive = dict(retain_local=False, merge_namespaces=True, propagate_delete=False)
        self.mappings = {
            self.sync_c: self._mapping(moto, self.sync_c),
            self.arch_c: self._mapping(moto, self.arch_c, **archive),
            self.list_c: self._mapping(moto, self.list_c, **archive)}
        write_sync_conf(benv.info['sync_conf'], list(self.mappings.values()))
        self.a, self.b = benv.swift_conn(shunt=True), benv.swift_conn(shunt=False)
        self.via_relay = None       # boto3 through the bare relay, while it runs (measure)

    def _mapping(self, target, container, **extra):
        m = {'account': self.benv.account, 'container': container, 'aws_bucket': self.bucket,
             'aws_endpoint': target['aws_endpoint'], 'aws_identity': target['aws_identity'],
             'aws_secret': target['aws_secret'], 'protocol': 's3'}
        m.update(extra)
        return m

    def key(self, container, name):
        return layout.object_key(mapping_from_dict(self.mappings[container]),
                                 self.benv.account, container, name)

    def put_remote(self, container, name, body):
        self.s3.put_object(Bucket=self.bucket, Key=self.key(container, name), Body=body,
                           ContentType='application/octet-stream')

    def wait_served(self):
        self.put_remote(self.arch_c, 'probe', b'probe')
        deadline = time.time() + PROBE_TIMEOUT
        while True:
            try:
                self.a.get_object(self.arch_c, 'probe')
                return
            except Exception as exc:
                if getattr(exc, 'http_status', None) != 404 or time.time() > deadline:
                    raise
                time.sleep(0.2)

    def close(self):
        write_sync_conf(self.benv.info['sync_conf'], [])


def local_get(sh, container, gets, rounds):
    sh.benv.populate(container, 1, 4096, prefix='local')
    name = 'local-000000'
    return compare(alternate([lambda: sh.a.get_object(container, name),
                              lambda: sh.b.get_object(container, name)],
                             gets, rounds), overhead=True)


def missing(conn, container):
    """A GET of a name that exists nowhere, through ``conn``: Swift's miss alone."""
    name = 'nowhere-%s' % uuid.uuid4().hex

    def call():
        try:
            conn.get_object(container, name)
        except Exception as exc:
            return getattr(exc, 'http_status', exc)
        return 200
    return call, _expect(404, 'the local miss')


def _expect(wanted, what):
    def check(got):
        if got != wanted:
            raise AssertionError('%s gave %r, not %r' % (what, got, wanted))
    return check


def _with_floor(blocks):
    """The archived GET (side 0) against the direct GET (side 2), and its bounds: the local
    miss (side 1), the GET through the bare relay (side 3)."""
    out = compare(blocks, 0, 2)
    out['floor'] = bounds.shunt_floor(blocks, archived=0, miss=1, direct=2, relay=3)
    return out


def archived_get(sh, size, gets, rounds):
    name = 'archived-%d' % size
    sh.put_remote(sh.arch_c, name, os.urandom(size))
    key = sh.key(sh.arch_c, name)
    whole = _expect(size, 'a GET of %d bytes' % size)
    return _with_floor(alternate([
        (lambda: _read_swift(sh.a, sh.arch_c, name), whole),
        missing(sh.b, sh.arch_c),
        (lambda: _read_s3(sh.s3, sh.bucket, key), whole),
        (lambda: _read_s3(sh.via_relay, sh.bucket, key), whole)], gets, rounds))


def archived_first_get(sh, size, gets, rounds, listed=False):
    """As ``archived_get``, but every request reads an object nobody read before (through the
    proxy, directly and through the relay alike): the shunt's early remote read
    (``s3_sync.shunt.early``) does not apply, the local miss and the remote read come one after
    the other. ``listed``: the proxy's names were shown first by a spliced listing through
    proxy A (untimed), as for a client that lists then reads: then their reads start early."""
    prefix = '%s-%d-' % ('listed' if listed else 'first', size)
    names = ['%s%d' % (prefix, i) for i in range(3 * (gets * rounds + WARM_UP))]
    body = os.urandom(size)
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda n: sh.put_remote(sh.arch_c, n, body), names))
    if listed:
        shown = full_listing(sh.a, sh.arch_c, prefix=prefix)
        if shown != len(names):
            raise AssertionError('the spliced listing showed %d of %d names' % (
                shown, len(names)))
    through, direct, relayed = iter(names[0::3]), iter(names[1::3]), iter(names[2::3])
    whole = _expect(size, 'a GET of %d bytes' % size)
    return _with_floor(alternate([
        (lambda: _read_swift(sh.a, sh.arch_c, next(through)), whole),
        missing(sh.b, sh.arch_c),
        (lambda: _read_s3(sh.s3, sh.bucket, sh.key(sh.arch_c, next(direct))), whole),
        (lambda: _read_s3(sh.via_relay, sh.bucket, sh.key(sh.arch_c, next(relayed))), whole)],
        gets, rounds))


def _read_swift(conn, container, name):
    _headers, body = conn.get_object(container, name, resp_chunk_size=2 ** 20)
    return sum(len(chunk) for chunk in body)


def _read_s3(client, bucket, key):
    return len(client.get_object(Bucket=bucket, Key=key)['Body'].read())


def full_listing(conn, container, prefix=None):
    marker, total = '', 0
    while True:
        _h, page = conn.get_container(container, marker=marker, limit=PAGE, prefix=prefix)
        total += len(page)
        if len(page) < PAGE:
            return total
        marker = page[-1]['name']


def listing(sh, entries, rounds, log):
    half = entries // 2
    local_names = ['l-%06d' % i for i in range(0, entries, 2)]
    remote_names = ['l-%06d' % i for i in range(1, entries, 2)]
    merge_rows(sh.benv.info, sh.benv.account, sh.list_c, local_names)
    merge_rows(sh.benv.info, sh.benv.account, sh.plain_c, ['p-%06d' % i for i in range(entries)])
    started = time.time()
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda n: sh.put_remote(sh.list_c, n, b'x'), remote_names))
    log('shunt: %d local rows and %d archived keys in %.1f s' % (
        half, len(remote_names), time.time() - started))
    counts = {}
    prefix = sh.key(sh.list_c, '')

    def spliced():
        counts['spliced'] = full_listing(sh.a, sh.list_c)
        return counts['spliced']

    def plain():
        counts['plain'] = full_listing(sh.b, sh.plain_c)
        return counts['plain']

    def remote():
        counts['remote'] = sum(len(page.get('Contents', [])) for page in
                               sh.s3.get_paginator('list_objects').paginate(
                                   Bucket=sh.bucket, Prefix=prefix,
                                   PaginationConfig={'PageSize': PAGE}))
        return counts['remote']
    # The S3 server's own listing of the archived half (boto3, pages of 1,000), a third side of
    # the same alternation: the part of the spliced listing no proxy can make faster.
    # (a wrong count is reported as such, in ``ok``: the GET figures above stay)
    blocks = alternate([spliced, plain, remote], 1, rounds)
    out = compare(blocks)
    out.update(bounds.listing_floor(blocks))
    out.update(entries=entries, counts=counts,
               ok=counts.get('spliced') == entries and counts.get('plain') == entries and
               counts.get('remote') == len(remote_names))
    return out


def measure(benv, counter, plan, workers, scratch, log):
    sh = Shunted(benv)
    try:
        with phases.phase('mappings served'):
            sh.wait_served()
        rounds, gets = max(3, plan['rounds']), plan['shunt_gets']
        out = {'rounds': rounds}
        with phases.phase('local GET'):
            out['local_get'] = local_get(sh, sh.sync_c, gets, rounds)
            out['local_get_archive_mapped'] = local_get(sh, sh.arch_c, gets, rounds)
        log('shunt: local GET overhead %s' % (out['local_get']['overhead_pct'],))
        with phases.phase('archived GET'), \
                relay.running(benv.moto['aws_endpoint']) as relay_url:
            sh.via_relay = benv.s3_client(endpoint=relay_url)
            out['archived_get'] = {
                'small': archived_get(sh, 4096, gets, rounds),
                'large': archived_get(sh, 16 * 2 ** 20, max(3, gets // 20), rounds),
                'small_first': archived_first_get(sh, 4096, gets, rounds),
                'small_listed': archived_first_get(sh, 4096, gets, rounds, listed=True)}
        log('shunt: archived GET / direct %s, %s' % (out['archived_get']['small']['ratio'],
                                                     out['archived_get']['large']['ratio']))
        with phases.phase('listing'):
            out['listing'] = listing(sh, plan['listing_entries'], rounds, log)
        log('shunt: spliced / plain listing %s' % (out['listing']['ratio'],))
        return out
    finally:
        sh.close()

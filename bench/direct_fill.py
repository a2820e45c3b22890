"""Populating a backlog straight onto the local cluster's disks, for the growth section.

Through the proxy, a PUT costs the proxy, three object servers and three container updates: on
this loaded 2-core machine that is under 10 objects/s, so 10,000 objects take half an hour and
the 100,000-object backlog an afternoon. What the daemons read is the same either way: each
object's ``.data`` file (with Swift's pickled metadata in its xattrs) on every node the object
ring names, and one row per object in every replica of the container DB. So both are written
here in-process, with Swift's own helpers (``write_metadata``, ``merge_items``), in a fraction
of the time. Nothing in the measured window changes: the daemons and servers are the same.
"""
import hashlib
import os
import tempfile
import time

from swift.common.ring import Ring
from swift.common.storage_policy import POLICIES
from swift.common.utils import Timestamp, hash_path, storage_directory
from swift.container.backend import DATADIR as CONTAINER_DATADIR, ContainerBroker
from swift.obj.diskfile import get_data_dir, write_metadata

from s3_sync.swift_env import setup_swift

BATCH = 10000       # rows per merge_items call


class Cluster:
    """The local cluster's rings and each node's devices dir, keyed by the node's IP."""

    def __init__(self, info):
        setup_swift(info['swift_dir'])
        self.objects = Ring(info['swift_dir'], ring_name='object')
        self.containers = Ring(info['swift_dir'], ring_name='container')
        self.devices = {n['swift_bind_ip']: n['devices'] for n in info['nodes']}

    def container_dbs(self, account, container):
        part, nodes = self.containers.get_nodes(account, container)
        digest = hash_path(account, container)
        return [os.path.join(self.devices[n['ip']], n['device'],
                             storage_directory(CONTAINER_DATADIR, part, digest),
                             digest + '.db') for n in nodes]

    def object_dirs(self, policy, account, container, obj):
        part, nodes = self.objects.get_nodes(account, container, obj)
        digest = hash_path(account, container, obj)
        return [os.path.join(self.devices[n['ip']], n['device'],
                             storage_directory(get_data_dir(policy), part, digest))
                for n in nodes]


def write_object(directory, body, metadata):
    """One replica: a temp file in the hash dir renamed to ``<timestamp>.data`` (what a reader
    sees is whole or absent)."""
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory)
    try:
        os.write(fd, body)
        write_metadata(fd, metadata)
    finally:
        os.close(fd)
    os.rename(tmp, os.path.join(directory, metadata['X-Timestamp'] + '.data'))


def populate(cluster, account, container, objects, content_type='application/octet-stream'):
    """Write ``objects`` ((name, body) pairs) into an existing ``container`` of ``cluster``
    (a ``Cluster``); {name: ETag}."""
    dbs = cluster.container_dbs(account, container)
    brokers = [ContainerBroker(db, account=account, container=container) for db in dbs
               if os.path.exists(db)]
    if not brokers:
        raise RuntimeError('no replica of container %s/%s on this cluster' % (account, container))
    policy = POLICIES.get_by_index(brokers[0].storage_policy_index)
    start = time.time()
    etags, rows = {}, []
    for i, (name, body) in enumerate(objects):
        # distinct, increasing timestamps: rows sort as if PUT one after the other
        stamp = Timestamp(start + i * 1e-5).internal
        etag = hashlib.md5(body).hexdigest()
        metadata = {'name': '/%s/%s/%s' % (account, container, name), 'X-Timestamp': stamp,
                    'Content-Type': content_type, 'ETag': etag,
                    'Content-Length': str(len(body))}
        for directory in cluster.object_dirs(policy, account, container, name):
            write_object(directory, body, metadata)
        etags[name] = etag
        rows.append({'name': name, 'created_at': stamp, 'size': len(body),
                     'content_type': content_type, 'etag': etag, 'deleted': 0,
                     'storage_policy_index': int(policy), 'ctype_timestamp': None,
                     'meta_timestamp': None})
    for lo in range(0, len(rows), BATCH):
        for broker in brokers:
            broker.merge_items(rows[lo:lo + BATCH])
    return etags


def bodies(count, size, prefix='obj'):
    """``count`` (name, body) pairs: distinct bodies of ``size`` bytes (at least 8), named
    ``<prefix>-000042``; made as they are written, not held."""
    filler = os.urandom(size)
    return (('%s-%06d' % (prefix, i), b'%08d' % i + filler[8:]) for i in range(count))

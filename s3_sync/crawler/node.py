"""Which container DB replicas live on this node.

A sync daemon runs beside each container server and crawls only the DBs of primary replicas
held by *that* server: the ring's primary nodes for the container whose address is one of ours
and whose device directory exists under our ``devices``. Several daemons can share one host (the
all-in-one cluster: one devices dir and bind ip per container server), so the device directory
and, when given, the port decide between them. Handoff copies are never crawled: they are
transient and their rows reach a primary through replication.
"""
import collections
import os

from swift.common.ring import Ring
from swift.common.ring.utils import is_local_device
from swift.common.utils import hash_path, storage_directory, whataremyips
from swift.container.backend import DATADIR

# db_path: the replica's DB file; index/count: its position among the container's primaries,
# which is what the ownership split uses.
Replica = collections.namedtuple('Replica', 'db_path index count')


class LocalNode:
    """The container ring as seen from one container server (devices dir + bind address)."""

    def __init__(self, devices, swift_dir, bind_ip='0.0.0.0', bind_port=None, ring=None):
        self.devices = devices
        self.ring = ring if ring is not None else Ring(swift_dir, ring_name='container')
        self.my_ips = whataremyips(bind_ip or '0.0.0.0')
        self.my_port = int(bind_port) if bind_port else None

    def is_local(self, dev):
        """Swift's ``is_local_device`` on the service address or the replication address."""
        if is_local_device(self.my_ips, self.my_port, dev['ip'], dev['port']):
            return True
        rep_ip = dev.get('replication_ip')
        return bool(rep_ip) and is_local_device(
            self.my_ips, self.my_port, rep_ip, dev.get('replication_port', dev['port']))

    def replicas(self, account, container):
        """Every local primary replica of ``account/container`` (str names), ring order."""
        part, nodes = self.ring.get_nodes(account, container)
        name_hash = hash_path(account, container)
        found = []
        for index, dev in enumerate(nodes):
            if not self.is_local(dev):
                continue
            dev_dir = os.path.join(self.devices, dev['device'])
            if not os.path.isdir(dev_dir):
                continue
            db_path = os.path.join(dev_dir, storage_directory(DATADIR, part, name_hash),
                                   name_hash + '.db')
            found.append(Replica(db_path, index, len(nodes)))
        return found

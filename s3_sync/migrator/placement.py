"""Which node migrates what: the container ring spreads the work over the container nodes.

A node migrates the containers it holds a primary replica of (as the sync daemon crawls the DBs
it holds), and within a container copies (and deletes) only the objects its replica owns by the
sync daemon's rule (``crawler.ownership``: a hash of the object name picks one replica). Every
object has exactly one owner among the container's primaries, so no two nodes copy the same
object, and the split does not depend on anything the nodes would have to agree on.

The ring lookup uses the *local* account and container (the original used the source bucket,
which put a relocated container's work on nodes that do not hold it).
"""
import os

from s3_sync.crawler import ownership
from s3_sync.crawler.node import LocalNode


class Placement:
    """The container ring from this node's point of view (``devices``: when given, a ring
    device counts as ours only if its directory is there, as for the sync daemon)."""

    def __init__(self, devices, swift_dir, bind_ip='0.0.0.0', bind_port=None, ring=None,
                 ring_name='container'):
        if ring is None:
            from swift.common.ring import Ring
            ring = Ring(swift_dir, ring_name=ring_name)
        self.node = LocalNode(devices, swift_dir, bind_ip, bind_port, ring=ring)
        self.devices = devices

    def _ours(self, dev):
        if not self.node.is_local(dev):
            return False
        return not self.devices or os.path.isdir(os.path.join(self.devices, dev['device']))

    def share(self, account, container):
        """This node's share of ``account/container``: a :class:`Share`, or None when the
        node holds no primary replica of it."""
        _part, nodes = self.node.ring.get_nodes(account, container)
        indexes = [i for i, dev in enumerate(nodes) if self._ours(dev)]
        return Share(indexes, len(nodes)) if indexes else None

    def has_devices(self):
        """Whether any ring device is this node's (else nothing is ever migrated here)."""
        return any(dev and self._ours(dev) for dev in self.node.ring.devs)


class Share:
    """The replicas (``indexes`` of ``count`` primaries) of one container this node holds."""

    def __init__(self, indexes, count):
        self.indexes = tuple(indexes)
        self.count = count

    def owns(self, name):
        return any(ownership.owns(name, index, self.count) for index in self.indexes)

    @property
    def first(self):
        """Whether this node holds the container's first primary: it does the container-level
        work (creating the container, copying its metadata) so only one node does it."""
        return 0 in self.indexes

    def __repr__(self):
        return 'Share(%r, %d)' % (self.indexes, self.count)

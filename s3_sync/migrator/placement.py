"""Which node migrates what: the container ring spreads the work over the container nodes.

A node migrates the containers it holds a primary replica of (as the sync daemon crawls the DBs
it holds), and within a container copies (and deletes) only the objects its replica owns by the
sync daemon's rule (``crawler.ownership``: a hash of the object name picks one replica). Every
object has exactly one owner among the container's primaries, so no two nodes copy the same
object, and the split does not depend on anything the nodes would have to agree on.

The ring lookup uses the *local* account and container (the original used the source bucket,
which put a relocated container's work on nodes that do not hold it).

A node that is down would leave its share undone, so each node leaves a sign of life in the
local container's sysmeta (one value per replica index it holds, written as each page begins),
and a replica silent for ``takeover_after`` seconds is taken over by the node holding the next
live replica in ring order (``Share.taking_over``). The nodes never talk to each other: they
read the same container headers.
"""
import os

from s3_sync.crawler import ownership
from s3_sync.crawler.node import LocalNode
from s3_sync.migrator.headers import CONTAINER_STATE

# Per replica index: when its node last started a page of this container (epoch seconds).
ALIVE_PREFIX = CONTAINER_STATE + '-Alive-'


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
    """The replicas (``indexes`` of ``count`` primaries) of one container this node holds, and
    those it has ``taken`` over from nodes that show no sign of life."""

    def __init__(self, indexes, count, taken=()):
        self.indexes = tuple(indexes)
        self.count = count
        self.taken = tuple(taken)

    def owns(self, name):
        return any(ownership.owns(name, index, self.count)
                   for index in self.indexes + self.taken)

    @property
    def first(self):
        """Whether this node holds (or has taken over) the container's first primary: it does
        the container-level work (removing a container gone from the source) so only one
        node does it."""
        return 0 in self.indexes + self.taken

    def heartbeat(self, now):
        """The container headers that say this node's replicas are being migrated."""
        return {ALIVE_PREFIX + str(index): '%.5f' % now for index in self.indexes}

    def taking_over(self, container_headers, now, after):
        """This share plus the replicas whose node gave no sign of life for ``after``
        seconds, when this node holds the first live replica after it (in ring order).

        A replica never heard of is judged from the oldest sign of life of any replica (the
        moment heartbeats began: a container migrated by a version without them, or whose
        nodes all just started, is taken from nobody). Every node reads the same headers, so
        each silent replica has one taker; while all are alive nobody takes anything, and no
        object is copied by two nodes."""
        seen = {index: _number(container_headers.get((ALIVE_PREFIX + str(index)).lower()))
                for index in range(self.count)}
        known = [when for when in seen.values() if when is not None]
        if not known:
            return self

        def alive(index):
            return index in self.indexes or (seen[index] or min(known)) > now - after

        taken = []
        for silent in (i for i in range(self.count) if not alive(i)):
            taker = next(((silent + step) % self.count for step in range(1, self.count)
                          if alive((silent + step) % self.count)), None)
            if taker in self.indexes:
                taken.append(silent)
        return Share(self.indexes, self.count, taken)

    def __repr__(self):
        return 'Share(%r, %d%s)' % (self.indexes, self.count,
                                    ', taken=%r' % (self.taken,) if self.taken else '')


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None

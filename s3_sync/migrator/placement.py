"""Which node migrates what: the container ring spreads the work over the container nodes.

A node migrates the containers it holds a primary replica of (as the sync daemon crawls the DBs
it holds), and within a container copies only the objects of each source listing page that
``split_page`` gives its replica (the page's work balanced by size over the primaries: the node
of the first replica lists each page once and the others read that very page from the cluster,
``pages``, so all compute the same split from the same content), and deletes only the
local-only names its replica owns by the sync daemon's rule (``crawler.ownership``: a hash of
the name). Every object has exactly one owner among the container's primaries, so no two nodes
copy the same object; the nodes never talk to each other, they read what the cluster holds.
(A node whose page from the lister did not come in time lists the source itself: should the
source have changed between the two listings, an object may be copied by two nodes, at the same
timestamp: the second PUT changes nothing; or by none this pass: the next pass has it. A name
only one of them saw is never deleted for it: ``container_pass`` judges a local object gone only
when it is older than the listing that lacks it.)

The ring lookup uses the *local* account and container (the original used the source bucket,
which put a relocated container's work on nodes that do not hold it).

A node that is down would leave its share undone, so each node leaves a sign of life in the
local container's sysmeta (one value per replica index it holds, written as each page's
listings are read, ahead of the page: ``container_pass``),
and a replica silent for ``takeover_after`` seconds is taken over by the node holding the next
live replica in ring order (``Share.taking_over``). The nodes never talk to each other: they
read the same container headers.
"""
import os

from s3_sync.crawler import ownership
from s3_sync.crawler.node import LocalNode
from s3_sync.migrator.headers import CONTAINER_STATE

# What one object costs besides its bytes, in bytes (requests, a PUT's fsyncs, a listing row).
PER_OBJECT = 256 * 1024
# Per replica index: when its node last started a page of this container (epoch seconds).
ALIVE_PREFIX = CONTAINER_STATE + '-Alive-'
# When the first node began leaving them (a replica never heard of is silent since then).
ALIVE_SINCE = CONTAINER_STATE + '-Alive-Since'


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

    def owns(self, name, replica=None):
        """Whether this node acts on ``name``: ``replica`` is the index ``split_page`` gave a
        source entry; names only here (deletes) go by the sync daemon's name-hash rule."""
        if replica is not None:
            return replica in self.indexes + self.taken
        return any(ownership.owns(name, index, self.count)
                   for index in self.indexes + self.taken)

    @property
    def first(self):
        """Whether this node holds (or has taken over) the container's first primary: it does
        the container-level work (removing a container gone from the source) so only one
        node does it."""
        return 0 in self.indexes + self.taken

    @property
    def alone(self):
        """Whether this node holds (or has taken over) every replica: no other node reads
        what it lists."""
        return set(self.indexes + self.taken) >= set(range(self.count))

    def heartbeat(self, now, container_headers=None):
        """The container headers that say this node's replicas are being migrated (and, when
        ``container_headers`` lack it, since when signs of life are left here)."""
        out = {ALIVE_PREFIX + str(index): '%.5f' % now for index in self.indexes}
        if container_headers is not None and ALIVE_SINCE.lower() not in container_headers:
            out[ALIVE_SINCE] = '%.5f' % now
        return out

    def taking_over(self, container_headers, now, after):
        """This share plus the replicas whose node gave no sign of life for ``after``
        seconds, when this node holds the first live replica after it (in ring order).

        A replica never heard of is judged from ``ALIVE_SINCE`` (when the first node began
        leaving signs of life here); without it (a container migrated by a version without
        them) nobody is judged silent for lack of one. Every node reads the same headers, so
        each silent replica has one taker; while all are alive nobody takes anything, and no
        object is copied by two nodes."""
        since = _number(container_headers.get(ALIVE_SINCE.lower()))

        def alive(index):
            seen = _number(container_headers.get((ALIVE_PREFIX + str(index)).lower()))
            last = seen if seen is not None else since
            return index in self.indexes or last is None or last > now - after

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


def split_page(entries, count):
    """{name: replica index} for the source entries of one listing page, balanced by work:
    the largest first, each to the replica with the least so far (sizes from the listing, plus
    a fixed cost per object so that small objects split evenly by count). Every node splits the
    same page (the lister's, ``pages``), so they all compute the same split; a name-hash split
    would leave one node with far more than its share of a few large objects (20 names: 9, 6
    and 5)."""
    loads = [0] * count
    owners = {}
    for entry in sorted(entries, key=lambda e: (-_size(e), e['name'])):
        index = min(range(count), key=lambda i: (loads[i], i))
        owners[entry['name']] = index
        loads[index] += _size(entry) + PER_OBJECT
    return owners


def _size(entry):
    try:
        return int(entry.get('bytes') or 0)
    except (TypeError, ValueError):
        return 0


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None

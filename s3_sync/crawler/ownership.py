"""Which replica of a container DB propagates a row.

Every primary replica of a container DB sees the same object names, but not the same ROWIDs
(ROWIDs are assigned per replica when ``.pending`` is merged). So the split is made on the
object name: the last 6 hex digits of its SHA-1, modulo the number of primary replicas. This is
the original's rule (container-crawler 0.1.4+), so a mixed deployment splits rows the same way.
"""
import hashlib


def owner_index(name):
    """The number whose remainder picks the owning replica of ``name`` (a str)."""
    return int(hashlib.sha1(name.encode('utf-8')).hexdigest()[-6:], 16)


def owns(name, index, count):
    """True when the replica at position ``index`` of ``count`` primaries owns ``name``."""
    return owner_index(name) % count == index

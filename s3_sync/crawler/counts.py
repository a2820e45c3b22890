"""What one crawl cycle did, for the one summary line per cycle."""


class CycleCounts:
    # unchanged: DBs of ``dbs`` not opened, found as their last crawl left them
    FIELDS = ('dbs', 'scanned', 'handled', 'verified', 'pending', 'errors', 'unchanged')

    def __init__(self):
        for field in self.FIELDS:
            setattr(self, field, 0)

    def add(self, other):
        for field in self.FIELDS:
            setattr(self, field, getattr(self, field) + getattr(other, field))

    def summary(self, elapsed, cpu=None):
        """The cycle's line; ``cpu``: the CPU seconds this process spent in it (near
        ``elapsed``: the crawl was CPU-bound; well under it: it waited for the disk, the
        remote or a core the machine gave to others)."""
        line = ('cycle done in %.2fs: %d DBs, %d rows scanned, %d handled, %d verified, '
                '%d pending, %d errors, %d DBs unchanged' % (
                    elapsed, self.dbs, self.scanned, self.handled, self.verified,
                    self.pending, self.errors, self.unchanged))
        return line if cpu is None else '%s, %.2fs cpu' % (line, cpu)

    def __repr__(self):
        return 'CycleCounts(%s)' % ', '.join(
            '%s=%d' % (f, getattr(self, f)) for f in self.FIELDS)

"""What one crawl cycle did, for the one summary line per cycle."""


class CycleCounts:
    FIELDS = ('dbs', 'scanned', 'handled', 'verified', 'pending', 'errors')

    def __init__(self):
        for field in self.FIELDS:
            setattr(self, field, 0)

    def add(self, other):
        for field in self.FIELDS:
            setattr(self, field, getattr(self, field) + getattr(other, field))

    def summary(self, elapsed):
        return ('cycle done in %.2fs: %d DBs, %d rows scanned, %d handled, %d verified, '
                '%d pending, %d errors' % (elapsed, self.dbs, self.scanned, self.handled,
                                           self.verified, self.pending, self.errors))

    def __repr__(self):
        return 'CycleCounts(%s)' % ', '.join(
            '%s=%d' % (f, getattr(self, f)) for f in self.FIELDS)

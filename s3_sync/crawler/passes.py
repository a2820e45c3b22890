"""The three passes over one container DB: primary, pending retries, verification.

*Primary* hands every row this replica owns to the sync side, chunk by chunk, until the DB has
no more rows (a backlog drains in one cycle). The checkpoint (``last_row``) moves to the last
row *scanned*, owned or not, as soon as every owned row of the chunk has an outcome: done, or
recorded in the pending list. So one slow or failing row never holds back the rows behind it,
and the checkpoint never passes a row that has no outcome (a ``kill -9`` re-reads it).

*Pending* hands rows whose due time has come back to the sync side, re-read by ROWID: a row that
is gone was superseded by a newer row, which the primary pass sees on its own.

*Verification* looks at every row (all replicas, no ownership) once it is older than
``verification_slack`` and asks the sync side, in one batch per chunk, which rows the remote does
not reflect; only those are handled again.
"""
import time

import eventlet

from s3_sync.crawler.ownership import owns
from s3_sync.log import one_line
from s3_sync.rows import meta_timestamp
from s3_sync.retry import backoff_delay
from s3_sync.sync.outcome import Retry


class Failed:
    """A row whose handler raised; already logged."""
    __slots__ = ('error',)

    def __init__(self, error):
        self.error = error


class DbPasses:
    """The passes over one DB (one sub-DB of a sharding root) for one mapping, one cycle."""

    def __init__(self, job, broker, sync, progress, pool, counts, logger, chunk, slack,
                 clock=time.time, stopping=lambda: False):
        self.job = job
        self.broker = broker
        self.sync = sync
        self.progress = progress
        self.pool = pool
        self.counts = counts
        self.logger = logger
        self.chunk = chunk
        self.slack = slack          # seconds
        self.clock = clock
        self.stopping = stopping    # True once the daemon was asked to stop: no new chunk
        self.handled = set()        # ROWIDs handled this cycle: not verified again

    # -- handing rows to the sync side ------------------------------------
    def _call(self, row):
        try:
            return self.sync.handle_row(row)
        except (Exception, eventlet.Timeout) as exc:
            self.logger.error('%s/%s/%s (row %d): %s', self.job.account, self.job.container,
                              row['name'], row['ROWID'], one_line(exc, first_line=True))
            self.counts.errors += 1
            return Failed(one_line(exc, first_line=True))

    def hand(self, rows):
        """[(row, outcome)] for ``rows``, handled on the shared pool (blocks while it is full)."""
        threads = [(row, self.pool.spawn(self._call, row)) for row in rows]
        self.counts.handled += len(rows)
        results = [(row, gt.wait()) for row, gt in threads]
        self.handled.update(row['ROWID'] for row in rows)
        return results

    def settle(self, row, outcome, verify=False):
        """Apply one outcome to the pending list; False when it could not be recorded."""
        if outcome is None:
            self.progress.done(row['ROWID'])
            return True
        if isinstance(outcome, Retry):
            due, error = outcome.due, outcome.error
        else:
            attempts = self.progress.attempts(row['ROWID']) + 1
            due = self.clock() + backoff_delay(attempts, base=1, cap=300)
            error = outcome.error if isinstance(outcome, Failed) else repr(outcome)
        return self.progress.record(row, due, error, verify=verify)

    def settle_all(self, results, verify=False):
        """Settle in ROWID order; the ROWID of the first row that did not fit, or None."""
        for row, outcome in results:
            if not self.settle(row, outcome, verify):
                return row['ROWID']
        return None

    # -- passes -------------------------------------------------------------
    def primary(self):
        prog = self.progress
        while True:
            if prog.pending_full():
                self.logger.debug('%s/%s: %d rows pending; not scanning new rows',
                                  self.job.account, self.job.container, len(prog.pending))
                return
            rows = self.broker.get_items_since(prog.last_row, self.chunk)
            if not rows:
                return
            self.counts.scanned += len(rows)
            owned = [r for r in rows if owns(r['name'], self.job.index, self.job.count)]
            stuck = self.settle_all(self.hand(self._not_yet_propagated(owned)))
            prog.last_row = rows[-1]['ROWID'] if stuck is None else stuck - 1
            prog.save()
            if stuck is not None or len(rows) < self.chunk or self.stopping():
                return

    def _not_yet_propagated(self, rows):
        """Drop old rows the remote already reflects, checked in one batched listing.

        A row older than the verification slack may well have been propagated before this
        checkpoint existed (a lost or reset status file, a new daemon over old data); fresh rows
        are new changes and go straight on, without any remote request."""
        cutoff = self.clock() - self.slack
        old = [r for r in rows if meta_timestamp(r) <= cutoff]
        if not old:
            return rows
        need = {r['ROWID'] for r in self.sync.verify_rows(old)}
        self.counts.verified += len(old)
        self.handled.update(r['ROWID'] for r in old if r['ROWID'] not in need)
        return [r for r in rows if meta_timestamp(r) > cutoff or r['ROWID'] in need]

    def retry_pending(self):
        prog = self.progress
        due = prog.due_rows(self.clock())
        if not due or self.stopping():
            return
        rows = []
        for rowid, entry in due:
            found = self.broker.get_items_since(rowid - 1, 1)
            if not found or found[0]['ROWID'] != rowid or found[0]['name'] != entry.get('name'):
                self.logger.debug('%s/%s: pending row %d (%s) superseded; dropped',
                                  self.job.account, self.job.container, rowid, entry.get('name'))
                prog.done(rowid)
                continue
            rows.append(found[0])
        if rows:
            for row, outcome in self.hand(rows):
                verify = prog.pending.get(str(row['ROWID']), {}).get('verify', False)
                self.settle(row, outcome, verify)
        prog.save()

    def verify(self):
        prog = self.progress
        while not self.stopping():
            cutoff = self.clock() - self.slack
            rows = self.broker.get_items_since(prog.last_verified_row, self.chunk)
            kept = []
            for row in rows:
                if meta_timestamp(row) > cutoff:
                    break
                kept.append(row)
            if not kept:
                return
            candidates = [r for r in kept
                          if r['ROWID'] not in self.handled and not prog.is_pending(r['ROWID'])]
            need = self.sync.verify_rows(candidates) if candidates else []
            self.counts.verified += len(candidates)
            need = sorted(need, key=lambda r: r['ROWID'])
            stuck = self.settle_all(self.hand(need), verify=True)
            prog.last_verified_row = kept[-1]['ROWID'] if stuck is None else stuck - 1
            prog.save()
            if stuck is not None or len(kept) < self.chunk or self.stopping():
                return

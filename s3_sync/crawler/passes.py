"""The three passes over one container DB: primary, pending retries, verification.

*Primary* hands every row this replica owns to the sync side, chunk by chunk, until the DB has
no more rows (a backlog drains in one cycle). The checkpoint (``last_row``) follows the rows as
they get an outcome (done, or recorded in the pending list), in ROWID order: it moves to just
before the first owned row still without one, and over every scanned row, owned or not, once the
whole chunk has outcomes. So one slow or failing row never holds back the rows behind it (they
are handed all the same, on the shared pool), and the checkpoint never passes a row that has no
outcome (a ``kill -9`` re-reads it). It is saved every ``CHECKPOINT_SECONDS`` or
``CHECKPOINT_ROWS`` rows while a chunk is handled, not only at the chunk's end, so what a
``kill -9`` leaves past the saved checkpoint is about that much, the rows in flight, and the
rows finished behind a slow one: not a whole chunk. A chunk that hands no row (all another
replica's, or excluded by the mapping) is saved with the next save, at most
``CHECKPOINT_SECONDS`` later, or when the pass ends: re-reading it after a kill costs no
remote request.

After a (re)start, what the killed run may have propagated without saving the checkpoint past it
lies in the first chunk past the checkpoint, among the rows written before the start. Those rows
are checked with one batched listing before they are handed (see :class:`Resume`): the remote
copies they find are not sent again. Rows written after the start go straight on.

*Pending* hands rows whose due time has come back to the sync side, re-read by ROWID: a row that
is gone was superseded by a newer row, which the primary pass sees on its own.

*Verification* looks at every row (all replicas, no ownership) once ``verification_slack`` has
passed since it came due (its write, plus ``copy_after``) and asks the sync side, in one batch per chunk, which rows the remote does
not reflect; only those are handled again: at once by the row's owner and the replica after it,
by each further replica a slack later (a pending entry, checked again with a listing then), so
that a missing replica's share is taken over by one survivor. A row of another replica's share
that this crawl's primary pass reached first (this replica was behind, and under the same load
the owner may be as far behind) is left to its owner for a slack from then, the same way. And
each turn counts from the replica's own finding as well: a replica whose turn is not at once
never hands a row in the crawl that found it missing, so replicas whose crawls lag behind
together (a crawl can take longer than the slack) still take their turns a slack apart.

A DB that sharding made (a root's fresh DB, a shard) receives rows another DB of the container
held first, with their old timestamps: the crawl of that DB (another replica on another node,
under other ownership) propagates them. The primary pass leaves such rows (written before the
DB's ``handed_over`` moment) alone, or both DBs would upload them, and verification takes over
what the other DB's crawl did not finish (a root whose retiring DB went away with rows still
pending, ``copy_after`` deferrals among them). While the root's sharding lasts its replicas
take their turns on such a row too (the owner at the due time, the others a slack apart), so
this DB's come after theirs: the row's owner ``replicas - 1`` slacks after the root's first
takeover (a slack after the row came due or came here, whichever is later), each further
replica a slack per ring distance later, and none in the crawl that found the row missing. A
plain deferral of such a row (``copy_after`` not reached) waits as long past the root's own.

A shard also gets such rows later than its creation while the root's sharding is under way: a
root replica that does not know the shard ranges yet takes a client write, which the sharder
moves into the shard afterwards. Until the shard is active (its ``settled`` moment), a row
newer than the shard DB may be either that or a client write sent to the shard: the primary pass
does not upload it blind but records it as pending, to be checked with a listing a ``grace``
later (after its ``copy_after`` due time, in archive mode), and uploads it only if the remote
still lacks it. The root's crawl, which has it too, goes first.
"""
import collections
import time

import eventlet

from s3_sync.crawler.ownership import owner_index, owns
from s3_sync.log import one_line
from s3_sync.rows import meta_timestamp
from s3_sync.retry import backoff_delay
from s3_sync.sync.outcome import Retry


# While a chunk is handled, the checkpoint is saved when this long or this many rows have passed
# since the last save, whichever comes first. A save is one small atomic file write.
CHECKPOINT_SECONDS = 1.0
CHECKPOINT_ROWS = 100
# How much later than the root's crawl a shard checks a row both may hold (seconds, plus two
# poll intervals): the root propagates it within a cycle of its own.
HANDOVER_GRACE = 10.0


class Resume:
    """The rows of one DB that a killed earlier run of the daemon may have propagated.

    That run saved its checkpoint every so often, so its unsaved work lies past the saved
    checkpoint, within the chunk it was handling then: the first chunk past the checkpoint now
    (ROWIDs only grow), among the rows written before this run started. ``until`` is the last
    ROWID of that chunk, known once the primary pass has read it."""
    __slots__ = ('started', 'until', 'whole')

    def __init__(self, started, whole=False):
        self.started = started      # epoch seconds
        self.until = None
        # A new DB of a container already crawled under other DBs (sharding, a rebuilt replica):
        # every row it holds when first seen may be on the remote, not only one chunk.
        self.whole = whole

    def covers(self, row):
        return row['ROWID'] <= self.until and meta_timestamp(row) <= self.started

    def done(self, last_row):
        return self.until is not None and last_row >= self.until


class Failed:
    """A row whose handler raised; already logged."""
    __slots__ = ('error',)

    def __init__(self, error):
        self.error = error


class DbPasses:
    """The passes over one DB (one sub-DB of a sharding root) for one mapping, one cycle."""

    def __init__(self, job, broker, sync, progress, pool, counts, logger, chunk, slack,
                 clock=time.time, stopping=lambda: False, resume=None,
                 checkpoint_seconds=CHECKPOINT_SECONDS, checkpoint_rows=CHECKPOINT_ROWS,
                 timer=time.monotonic, handed_over=None, settled=None, grace=HANDOVER_GRACE,
                 note_first=None):
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
        self.resume = resume        # a Resume after a restart, until its rows are passed
        self.checkpoint_seconds = checkpoint_seconds
        self.checkpoint_rows = checkpoint_rows
        self.timer = timer          # monotonic seconds, for the checkpoint saves
        self.handled = set()        # ROWIDs handled this cycle: not verified again
        # epoch seconds: rows older than this came from the DB this one replaces (sharding)
        self.handed_over = handed_over
        # epoch seconds: before this, rows newer than handed_over may be the root's too
        self.settled = settled
        self.grace = grace
        # called with the DB id before a first crawl (no entry saved yet) hands a row
        # (s3_sync.crawler.first_crawls)
        self.note_first = note_first or (lambda db_id: None)
        # What the passes learnt for stamps.Quiet: every row scanned; when the first row past
        # the verification checkpoint comes due for it (None: not known, no verification ran)
        self.scanned_all = False
        self.verify_at = None
        # ROWID after which rows are ones this crawl's primary pass reached first (or not yet),
        # and when that pass ended: see reached_late. None on a DB's first crawl.
        self.reached_from = None
        self.reached_at = None

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
            if error is None and self.came_from_elsewhere(row):
                # the DB it came from defers it to the same moment: that crawl goes first
                due += self.takeover_delay(row) + self.slack
            elif error is None and self.maybe_from_elsewhere(row):
                due += self.grace
                verify = True
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
        # A chunk that handed no row (every row another replica's, or excluded) moves the
        # checkpoint without a save of its own, until CHECKPOINT_SECONDS passed: re-reading
        # such rows after a kill costs no remote request, and a scan of a big container is
        # not held to a status-file write (and its fsyncs) per chunk.
        unsaved, saved_at = False, self.timer()
        # Only a DB crawled before in this run has a checkpoint that tells how far behind
        # this replica is; a first crawl (a start, a lost status file) checks old rows itself.
        if prog.saved and self.resume is None:
            self.reached_from = prog.last_row
        try:
            while True:
                if prog.pending_full():
                    self.logger.debug('%s/%s: %d rows pending; not scanning new rows',
                                      self.job.account, self.job.container, len(prog.pending))
                    return
                rows = self.broker.get_items_since(prog.last_row, self.chunk)
                if self.resume is not None and self.resume.until is None:
                    self.resume.until = self.broker.get_max_row() if self.resume.whole else (
                        rows[-1]['ROWID'] if rows else prog.last_row)
                if not rows:
                    self.scanned_all = True
                    return
                self.counts.scanned += len(rows)
                owned = [r for r in rows if owns(r['name'], self.job.index, self.job.count)
                         and not self.came_from_elsewhere(r)]
                # Rows the mapping excludes are passed over like rows another replica owns:
                # no green thread, no checkpoint save per hundred of them.
                todo = self._not_yet_propagated(self.sync.drop_excluded(owned))
                if todo and not prog.saved:
                    # Even a kill before the first checkpoint must leave a trace: it is what
                    # makes the next start check these rows instead of sending them again.
                    self.note_first(prog.db_id)
                handed, stuck = self._check_later(todo)
                if stuck is not None:
                    rows = [r for r in rows if r['ROWID'] < stuck]
                if rows:
                    stuck = self._hand_chunk(rows, handed) or stuck
                prog.last_row = rows[-1]['ROWID'] if stuck is None else stuck - 1
                unsaved = True
                if todo or stuck is not None or \
                        self.timer() - saved_at >= self.checkpoint_seconds:
                    prog.save()
                    unsaved, saved_at = False, self.timer()
                if stuck is not None or len(rows) < self.chunk or self.stopping():
                    self.scanned_all = stuck is None and len(rows) < self.chunk
                    return
        finally:
            self.reached_at = self.clock()
            if unsaved:
                prog.save()

    def _check_later(self, todo):
        """(rows to hand now, ROWID of the first row that did not fit in the pending list or
        None): rows the root may hold as well wait a grace, then a listing decides."""
        now = []
        for row in todo:
            if not self.maybe_from_elsewhere(row):
                now.append(row)
            elif not self.settle(row, Retry(max(meta_timestamp(row), self.clock()), None)):
                return [r for r in now if r['ROWID'] < row['ROWID']], row['ROWID']
        return now, None

    def _hand_chunk(self, rows, todo):
        """Hand ``todo`` (the owned rows of the chunk ``rows`` to propagate) on the shared pool,
        moving the checkpoint over the rows as they get an outcome and saving it now and then.

        Rows are spawned in ROWID order and settled in that order as the head of the line
        finishes, between spawns (a spawn waits while the pool is full) and then while the last
        ones finish: a slow row holds back the checkpoint, never the rows behind it. Returns the
        ROWID of the first row that did not fit in the pending list, or None; after such a row
        nothing more is spawned (every row from it on is read again next time anyway)."""
        prog = self.progress
        finished = set()

        def call(row):
            try:
                return self._call(row)
            finally:
                finished.add(row['ROWID'])

        line = collections.deque()      # (row, green thread), spawned and not yet settled
        state = {'stuck': None, 'next': 0, 'saved_at': self.timer(), 'unsaved': 0}

        def settle_ready(wait):
            while line and state['stuck'] is None:
                row, thread = line[0]
                if not wait and row['ROWID'] not in finished:
                    return
                line.popleft()
                if not self.settle(row, thread.wait()):
                    state['stuck'] = row['ROWID']
                    return
                state['next'] += 1
                state['unsaved'] += 1
                # Every owned row before the next one in ROWID order has an outcome now.
                following = todo[state['next']]['ROWID'] - 1 if state['next'] < len(todo) \
                    else rows[-1]['ROWID']
                prog.last_row = max(prog.last_row, following)
                if state['unsaved'] >= self.checkpoint_rows or \
                        self.timer() - state['saved_at'] >= self.checkpoint_seconds:
                    prog.save()
                    state['saved_at'], state['unsaved'] = self.timer(), 0

        try:
            for row in todo:
                if state['stuck'] is not None:
                    break
                line.append((row, self.pool.spawn(call, row)))
                self.counts.handled += 1
                self.handled.add(row['ROWID'])
                settle_ready(wait=False)
            settle_ready(wait=True)
        finally:
            # Rows still in flight (after a row that did not fit, or an unexpected error here)
            # finish before the pass goes on; their outcomes are not recorded.
            for _row, thread in line:
                try:
                    thread.wait()
                except Exception:
                    pass
        return state['stuck']

    def _not_yet_propagated(self, rows):
        """Drop rows the remote already reflects, checked in one batched listing.

        A row older than the verification slack may well have been propagated before this
        checkpoint existed (a lost or reset status file, a new daemon over old data), and so may
        a row of the first chunk past the checkpoint after a restart (see :class:`Resume`);
        other rows are new changes and go straight on, without any remote request."""
        cutoff = self.clock() - self.slack
        resume = self.resume
        if resume is not None and resume.done(self.progress.last_row):
            resume = self.resume = None

        def maybe_propagated(row):
            return meta_timestamp(row) <= cutoff or (resume is not None and resume.covers(row))
        check = [r for r in rows if maybe_propagated(r)]
        if not check:
            return rows
        need = {r['ROWID'] for r in self.sync.verify_rows(check)}
        self.counts.verified += len(check)
        self.handled.update(r['ROWID'] for r in check if r['ROWID'] not in need)
        return [r for r in rows if not maybe_propagated(r) or r['ROWID'] in need]

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
        # Rows verification found missing may have been propagated by another replica since.
        check = [r for r in rows if prog.pending[str(r['ROWID'])].get('verify')]
        if check:
            need = {r['ROWID'] for r in self.sync.verify_rows(check)}
            self.counts.verified += len(check)
            for row in check:
                if row['ROWID'] not in need:
                    prog.done(row['ROWID'])
            rows = [r for r in rows if prog.is_pending(r['ROWID'])]
        if rows:
            for row, outcome in self.hand(rows):
                verify = prog.pending.get(str(row['ROWID']), {}).get('verify', False)
                self.settle(row, outcome, verify)
        prog.save()

    def came_from_elsewhere(self, row):
        """A row sharding moved here from the DB whose crawl propagates it."""
        return self.handed_over is not None and meta_timestamp(row) < self.handed_over

    def maybe_from_elsewhere(self, row):
        """A row newer than this shard DB, written before the shard was active: a root replica
        may have taken it (and its crawl propagates it) before the sharder moved it here."""
        return (self.settled is not None and not self.came_from_elsewhere(row) and
                meta_timestamp(row) < self.settled)

    def takeover_delay(self, row):
        """How much later than the slack this replica takes ``row`` over: its owner and the
        replica after it at once, each further one a slack later, so that the share of a
        missing (or slow) replica is taken over by one survivor, not uploaded by all. A row
        sharding moved here was tried by no replica of this DB but is, while the sharding
        lasts, by those of the DB it came from: their turns (its owner's, then one a slack
        for each other replica) come first, then this DB's, its owner first alone.

        Every replica looks at every row at the slack; a row the remote lacks that this
        replica is to take over later waits in the pending list (checked again with a listing
        when it comes due), not at the verification checkpoint, where it would hold back the
        rows behind it, the missing replica's share among them, until all replicas reached
        them at once."""
        distance = (self.job.index - owner_index(row['name'])) % self.job.count
        if self.came_from_elsewhere(row):
            return self.slack * (self.job.count - 1 + distance)
        return self.slack * max(0, distance - 1)

    def takeover_at(self, row, found):
        """When this replica hands ``row`` if the remote still lacks it (epoch seconds), its
        verification having found it missing at ``found``.

        The owner's turn comes a slack after the row came due (one sharding moved here: after
        it came due or came here, whichever is later; the owner of the DB it came from defers
        it to its due time), or at ``found`` if that is later; each further replica's turn its
        takeover delay after that. So a replica whose turn is not at once never hands a row in
        the crawl that found it missing: replicas whose crawls lag behind together (under load
        a crawl can take longer than the slack) keep their turns a slack apart, where the
        owner's lagging crawl would otherwise reach the row when the next replica's turn came."""
        since = self.due_at(row)
        if self.came_from_elsewhere(row):
            since = max(since, self.handed_over)
        first = since + self.slack
        if self.reached_late(row):
            first = max(first, self.reached_at + self.slack)
        return max(first, found) + self.takeover_delay(row)

    def reached_late(self, row):
        """A row of another replica's share that this replica's primary pass reached only in
        this crawl (or not yet), though it had a checkpoint from an earlier one.

        This replica is then behind by about the time since the row came due, and the
        owner's daemon, on a node as loaded, may be as far behind: taken over at the slack,
        the row would go up from both at the same moment (under load, a crawl can take longer
        than the slack). So such a row is left to its owner for a slack from now, then
        checked again with a listing: a missing owner's share waits that long once more."""
        if self.reached_from is None or self.reached_at is None or \
                row['ROWID'] <= self.reached_from or self.came_from_elsewhere(row):
            return False
        return (self.job.index - owner_index(row['name'])) % self.job.count != 0

    def due_at(self, row):
        """When the row's owner propagates it (epoch seconds): at once, or once ``copy_after``
        has passed. Verification gives the owner a slack from then, not from the write: the
        replica after the owner would otherwise take a deferred row over at the very moment
        the owner archives it (two uploads)."""
        return meta_timestamp(row) + self.job.mapping.copy_after

    def quiet_until(self):
        """``(verify_at, due)`` once the passes left nothing to do with the DB as it is:
        every row scanned; ``verify_at``: when the first row past the verification
        checkpoint comes due for it (inf: none; -inf: not known, the next full pass
        verifies), ``due``: the first pending row's due time (None: none). None while rows
        wait for the primary pass."""
        if not self.scanned_all:
            return None
        verify_at = float('-inf') if self.verify_at is None else self.verify_at
        return verify_at, self.progress.next_due()

    def verify(self):
        prog = self.progress
        while not self.stopping():
            cutoff = self.clock() - self.slack
            rows = self.broker.get_items_since(prog.last_verified_row, self.chunk)
            kept = []
            self.verify_at = float('inf') if len(rows) < self.chunk else None
            for row in rows:
                # The checkpoint waits at a row not due yet: the rows behind it wait with it.
                if self.due_at(row) > cutoff:
                    self.verify_at = self.due_at(row) + self.slack
                    break
                kept.append(row)
            if not kept:
                return
            candidates = [r for r in kept
                          if r['ROWID'] not in self.handled and not prog.is_pending(r['ROWID'])]
            need = self.sync.verify_rows(candidates) if candidates else []
            self.counts.verified += len(candidates)
            now = self.clock()
            later = [r for r in need if self.takeover_at(r, now) > now]
            waiting = {r['ROWID'] for r in later}
            results = self.hand([r for r in need if r['ROWID'] not in waiting]) + [
                (r, Retry(self.takeover_at(r, now), 'left to a nearer replica')) for r in later]
            results.sort(key=lambda pair: pair[0]['ROWID'])
            stuck = self.settle_all(results, verify=True)
            prog.last_verified_row = kept[-1]['ROWID'] if stuck is None else stuck - 1
            prog.save()
            if stuck is not None or self.stopping():
                self.verify_at = None
                return
            if len(kept) < self.chunk:
                return

"""The crawl loop: which DBs to crawl, when, and how many at once.

A *full cycle* enumerates the mapped containers, crawls every local replica DB (up to
``enumerator_workers`` at once, never one DB twice at once) with all three passes (see
:mod:`s3_sync.crawler.passes`), then the DBs of the shards of sharded roots. All rows of all DBs
share one ``GreenPool(workers)``, so ``workers`` bounds the remote requests in flight.

Between full cycles (``poll_interval``) the crawler waits on the :class:`Watcher`: a DB whose
``.pending`` file changed, or one with a pending row coming due, gets a *quick pass* (primary
plus due pending rows) at once. That is what brings the sync lag of a new object down to about
a second without re-reading every DB every second.

A DB whose last crawl left nothing to do is not opened again while it is unchanged and nothing
it waits for came due (:mod:`s3_sync.crawler.stamps`): an idle container costs a few
``stat`` calls per pass, not a sqlite connection, a merge and a status-file read; every
``REREAD_SECONDS`` each DB is read all the same.
"""
import collections
import functools
import time

import eventlet
from eventlet.greenpool import GreenPool
from eventlet.semaphore import Semaphore
from swift.common.utils import ShardRange, Timestamp
from swift.container.backend import SHARDING, ContainerBroker

from s3_sync.crawler.counts import CycleCounts
from s3_sync.crawler.first_crawls import FirstCrawls
from s3_sync.crawler.jobs import job_key, mapping_jobs, remote_shards, shard_jobs
from s3_sync.crawler.node import LocalNode
from s3_sync.crawler.passes import (
    CHECKPOINT_ROWS, CHECKPOINT_SECONDS, HANDOVER_GRACE, DbPasses, Resume)
from s3_sync.log import FAILURES, one_line
from s3_sync.crawler.progress import StatusFile, prune_status_files, status_path
from s3_sync.crawler.stamps import Quiet, db_stamp, file_stamp
from s3_sync.crawler.watcher import Watcher
from s3_sync.crawler.workers import mine
from s3_sync.sync.outcome import DestinationUnavailable

MIN_WAIT = 0.05   # never spin: a row due "now" over and over waits at least this long
MAX_WAIT = 1.0    # the longest idle wait between two looks for rows due
STOP_CHECK = 0.2  # a stop request is noticed within this long of an idle wait
# An unchanged DB is read again after this long all the same: a net under the stamps, whose
# every trigger is known (see s3_sync.crawler.stamps), for one that is not.
REREAD_SECONDS = 600.0


def handed_over_before(job, broker, info):
    """Epoch seconds before which the rows of ``broker`` were written to another DB of the
    container, whose crawl propagates them; None for a root DB sharding did not make.

    Sharding moves rows between DBs with their timestamps: a root's fresh DB (named for the
    sharding epoch) takes rows from the DB it replaces, a shard DB those the root (or a parent
    shard) held before the shard was created. A client write that
    lands in such a DB itself is newer than the DB."""
    epoch = broker.db_epoch
    if epoch:
        return float(Timestamp(epoch))
    if not job.root:
        return float(Timestamp(info['created_at']))
    return None


def settled_since(job, broker):
    """Epoch seconds from which rows of a shard DB can only be client writes sent to it; inf
    while the shard is not active yet, None for a root DB.

    Until the root's sharding completes (the shard's own range turns ACTIVE), a root replica
    that does not know the shard ranges yet still takes client writes; the sharder moves them
    into the shard later, newer than the shard DB, and the root's crawl propagates them too."""
    if job.root:
        return None
    own = broker.get_own_shard_range(no_default=True)
    if own is None or own.state < ShardRange.ACTIVE:
        return float('inf')
    return float(own.state_timestamp)


class Crawler:
    def __init__(self, conf, sync_factory, logger, node=None, internal_client=None,
                 watcher=None, process=0):
        self.conf = conf
        self.factory = sync_factory
        self.logger = logger
        self.internal_client = internal_client
        self.mappings = conf.containers
        # this process's share of the node's containers (s3_sync.crawler.workers)
        self.process, self.processes = process, conf.processes
        self.status_dir = conf.status_dir
        self.chunk = conf.items_chunk
        self.poll_interval = conf.poll_interval
        self.handover_grace = HANDOVER_GRACE + 2 * conf.poll_interval
        self.slack = conf.verification_slack * 60
        self.max_pending = conf.max_pending
        self.node = node if node is not None else LocalNode(
            conf.devices, conf.swift_dir, conf.swift_bind_ip, conf.swift_bind_port)
        self.row_pool = GreenPool(conf.workers)
        self.db_pool = GreenPool(conf.enumerator_workers)
        self.watch = conf.watch
        self.watcher = watcher
        self.clock = time.time
        self.timer = time.monotonic
        self.checkpoint_seconds = CHECKPOINT_SECONDS
        self.checkpoint_rows = CHECKPOINT_ROWS
        # Rows written before this moment may have been propagated by a killed earlier run
        # whose checkpoint did not reach them: see passes.Resume.
        self.started = time.time()
        self._resumes = {}    # (job key, db id) -> Resume still to finish, or None: crawled
        self._db_locks = collections.defaultdict(lambda: Semaphore(1))
        self._jobs = {}       # key -> job, every DB the last full cycle crawled
        self._listed = {}     # key -> job, the DBs the full cycle under way listed so far
        self._next_due = {}   # key -> earliest due time of the job's pending rows
        self._quiet = {}      # key -> stamps.Quiet of a DB whose last crawl left nothing to do
        self.reread = REREAD_SECONDS
        self._stopped = False
        # Called as observer(start_epoch, elapsed_seconds, counts) after every full cycle
        # (the operations reporter: s3_sync/status/reporter.py).
        self.observers = []
        self.cycle_started = None   # epoch start of the full cycle running now, else None
        # Called as hook(job, progress) when a DB's progress is loaded, before its passes
        # (re-driven failed rows: s3_sync/crawler/failures.py).
        self.progress_hooks = []
        # A dry run (s3_sync/dryrun.py) reads status files and never writes or prunes them.
        self.status_file = StatusFile
        self.prune = True
        self.first_crawls = FirstCrawls(self.status_dir, self.process, logger)

    # -- enumeration -------------------------------------------------------
    def _list_containers(self, account):
        if self.internal_client is None:
            self.logger.error('%s/*: no internal client to list the account; skipped', account)
            return []
        try:
            return [c['name'] for c in self.internal_client.iter_containers(account)]
        except Exception as exc:
            self.logger.error('%s/*: cannot list containers: %s', account,
                              one_line(exc, first_line=True))
            return []

    def _remote_shards(self, account, container):
        """Shards of a root with no local replica (a HEAD and a listing through the cluster)."""
        if self.internal_client is None:
            return []
        try:
            return remote_shards(self.internal_client, account, container)
        except Exception as exc:
            self.logger.error('%s/%s: cannot look for shards: %s', account, container,
                              one_line(exc, first_line=True))
            return []

    def root_jobs(self):
        """Jobs of the mapped containers: local root replicas, and the local shards of roots
        that have no local replica."""
        jobs = []
        for index, mapping in enumerate(self.mappings):
            jobs.extend(mapping_jobs(index, mapping, self.node, self._list_containers,
                                     self.logger, find_shards=self._remote_shards))
        return [j for j in jobs if mine(j, self.process, self.processes)]

    # -- one DB ----------------------------------------------------------------
    def crawl_db(self, job, counts, full=True):
        """Crawl one DB replica; the shard jobs it revealed. Errors stay in this DB."""
        if self._stopped:
            return []
        try:
            with self._db_locks[job.db_path]:
                unchanged = self._unchanged(job, counts, full)
                if unchanged is not None:
                    return unchanged
                return self._crawl_db(job, counts, full)
        except FAILURES as exc:
            counts.errors += 1
            self.logger.error('%s/%s: crawl of %s failed: %s', job.account, job.container,
                              job.db_path, one_line(exc, first_line=True))
            return []

    def _hooks_stamp(self):
        """What the progress hooks' inputs look like now (a new re-drive request changes it:
        every DB is read again to apply it)."""
        return tuple(hook.stamp() for hook in self.progress_hooks if hasattr(hook, 'stamp'))

    def _unchanged(self, job, counts, full):
        """The shard jobs of a DB that a pass would find unchanged with nothing to do, counted
        as crawled; None when it must be crawled."""
        key = job_key(job)
        quiet = self._quiet.pop(key, None)
        if quiet is None:
            return None
        now = self.clock()
        if quiet.hooks != self._hooks_stamp() or not quiet.holds(
                job.db_path, status_path(self.status_dir, job.account, job.container), now,
                full, now - self.reread):
            return None
        self._quiet[key] = quiet
        counts.dbs += 1
        counts.unchanged += 1
        counts.pending += quiet.pending
        return list(quiet.shards) if full else []

    def _keep_quiet(self, job, stamp, work, wake, shards):
        """Note the DB as quiet when its crawl left nothing to do until ``wake``."""
        if stamp is None or len(work) != 1 or self._stopped or \
                self._resumes.get((job_key(job), work[0].progress.db_id)) is not None:
            return
        until = work[0].quiet_until()
        if until is None:
            return
        verify_at, due = until
        status = file_stamp(work[0].progress.status_file.path)
        # On the connection still open: the node report then need not open an unchanged DB.
        self._quiet[job_key(job)] = Quiet(stamp, status, min(verify_at, wake), due,
                                          self.clock(), self._hooks_stamp(), shards,
                                          len(work[0].progress.pending),
                                          work[0].progress.db_id,
                                          max(work[0].broker.get_max_row(), 0))

    def _crawl_db(self, job, counts, full):
        broker = ContainerBroker(job.db_path, account=job.db_account,
                                 container=job.db_container, logger=self.logger)
        if broker.is_deleted():
            self.logger.debug('%s/%s: database %s does not exist or is deleted; skipped',
                              job.db_account, job.db_container, job.db_path)
            return []
        # Merged once, just now: every later read would lock the pending file to merge again.
        # Rows appended to it from here on wait for the next pass, which that change wakes.
        broker.skip_commits = True
        sync = self.factory.for_container(job.mapping, job.account, job.container)
        try:
            sync.ready()
        except DestinationUnavailable as exc:
            if exc.fresh:
                counts.errors += 1
                self.logger.error('%s/%s: destination unusable, rows wait: %s',
                                  job.account, job.container, one_line(exc, first_line=True))
            return []
        # After the merge of the pending file (is_deleted), before any row is read.
        stamp = db_stamp(job.db_path)
        status = self.status_file(self.status_dir, job.account, job.container, self.logger)
        # While sharding, the retiring DB may still hold rows not crawled yet.
        brokers = broker.get_brokers() if broker.get_db_state() == SHARDING else [broker]
        work = []
        for sub in brokers:
            info = sub.get_info()
            progress = status.load(info['id'], job.mapping, self.max_pending)
            if not progress.saved and self.first_crawls.noted(progress.db_id):
                progress.resumed = True     # a first crawl cut short: its rows are checked
            for hook in self.progress_hooks:
                hook(job, progress)
            work.append(DbPasses(job, sub, sync, progress, self.row_pool, counts, self.logger,
                                 self.chunk, self.slack, clock=self.clock,
                                 stopping=self.stopping, resume=self._resume(job, progress),
                                 checkpoint_seconds=self.checkpoint_seconds,
                                 checkpoint_rows=self.checkpoint_rows, timer=self.timer,
                                 handed_over=handed_over_before(job, sub, info),
                                 settled=settled_since(job, sub),
                                 grace=self.handover_grace,
                                 note_first=self.first_crawls.note))
        # When container-level work comes due with the DB unchanged; a quick pass does none.
        wake = float('-inf') if job.root else float('inf')
        if full and job.root:
            wake = self._container_info(job, sync, broker, info if brokers == [broker] else None)
        counts.dbs += 1
        for passes in work:
            passes.primary()
            self._resume_done(job, passes)
            passes.retry_pending()
            if full:
                passes.verify()
            counts.pending += len(passes.progress.pending)
            if passes.progress.saved:
                self.first_crawls.saved(passes.progress.db_id)
        dues = [p.progress.next_due() for p in work]
        dues = [d for d in dues if d is not None]
        self._next_due[job_key(job)] = min(dues) if dues else None
        self.logger.debug('%s/%s: %s: %s', job.account, job.container, job.db_path,
                          ', '.join('db %s row %d/%d, %d pending' % (
                              p.progress.db_id, p.progress.last_row,
                              p.progress.last_verified_row, len(p.progress.pending))
                              for p in work))
        found = []
        if full and job.root:
            shards = [(sr.account, sr.container) for sr in broker.get_shard_ranges()]
            found = shard_jobs(job, shards, self.node)
        self._keep_quiet(job, stamp, work, wake, tuple(found))
        return found

    def _resume(self, job, progress):
        """The Resume of a DB on its first crawl since the start, while its rows are not passed.

        Only a checkpoint found on disk can have unsaved work past it; a DB without one was
        never crawled for this bucket and policy (a lost status file is what the verification
        slack is for), unless other DBs of the container were: a replica rebuilt under a new id
        (the replicator's copy, a ring change) or a DB sharding made holds rows that may all be
        on the remote already."""
        key = (job_key(job), progress.db_id)
        if key not in self._resumes:
            if progress.resumed:
                self._resumes[key] = Resume(self.started)
            elif progress.inherited:
                self._resumes[key] = Resume(self.clock(), whole=True)
            else:
                self._resumes[key] = None
        return self._resumes[key]

    def _resume_done(self, job, passes):
        key = (job_key(job), passes.progress.db_id)
        resume = self._resumes.get(key)
        if resume is not None and resume.done(passes.progress.last_row):
            self._resumes[key] = None

    def _container_info(self, job, sync, broker, info=None):
        """When the sync side wants the container's info again if it does not change
        (epoch seconds; -inf after a failure: at the next pass). ``info``: the broker's, if
        read already."""
        # A failure here (e.g. metadata the remote refuses) must not stop the rows.
        try:
            wake = sync.handle_container_info(info or broker.get_info(),
                                              lambda: broker.metadata)
        except FAILURES as exc:
            self.logger.error('%s/%s: container metadata not propagated: %s',
                              job.account, job.container, one_line(exc, first_line=True))
            return float('-inf')
        return float('inf') if wake is None else wake

    # -- cycles ----------------------------------------------------------------
    def _crawl_all(self, jobs, counts, full):
        crawl = functools.partial(self.crawl_db, counts=counts, full=full)
        found = []
        for extra in self.db_pool.imap(crawl, jobs):
            found.extend(extra)
            if full:
                self._listed.update((job_key(j), j) for j in extra)
        return found

    def cycle(self):
        """One full cycle over every mapped DB; the cycle's counts."""
        start, cpu_start = time.monotonic(), time.process_time()
        started_at = self.cycle_started = time.time()
        counts = CycleCounts()
        jobs = self.root_jobs()
        self._listed = {job_key(j): j for j in jobs}
        shards = self._crawl_all(jobs, counts, full=True)
        shards = list({job_key(j): j for j in shards}.values())
        self._crawl_all(shards, counts, full=True)
        self._jobs = {job_key(j): j for j in jobs + shards}
        self._next_due = {k: v for k, v in self._next_due.items() if k in self._jobs}
        self._quiet = {k: v for k, v in self._quiet.items() if k in self._jobs}
        self._resumes = {k: v for k, v in self._resumes.items() if k[0] in self._jobs}
        # No crawl runs between cycles and quick passes, so unused locks can go.
        crawled = {j.db_path for j in self._jobs.values()}
        for path in [p for p in self._db_locks if p not in crawled]:
            del self._db_locks[path]
        self._guarded_prune()
        self._compact_first_crawls()
        elapsed = time.monotonic() - start
        self.cycle_started = None
        self.logger.info(counts.summary(elapsed, time.process_time() - cpu_start))
        for observer in self.observers:
            observer(started_at, elapsed, counts)
        return counts

    def jobs(self):
        """Every DB job the last full cycle crawled; until the first one ends, those it listed
        so far and the shards their crawls found (empty before it lists any). The node report
        takes them as they are: finding them again would open every DB."""
        return list((self._jobs or self._listed).values())

    def quiet_db(self, job):
        """``((db stamp, status-file stamp), db id, newest row)`` of a DB whose last crawl
        left nothing to do, as that crawl saw it; None when there is none. The node report
        (:mod:`s3_sync.status.report`) takes its figures from the status file alone while the
        stamps are the same: nothing past the checkpoint, so nothing in the DB to read."""
        quiet = self._quiet.get(job_key(job))
        if quiet is None or quiet.db_id is None:
            return None
        return (quiet.db, quiet.status), quiet.db_id, quiet.newest_row

    def _guarded_prune(self):
        # One pruner per node (status files are per container); a dry run never prunes.
        if self.process != 0 or not self.prune:
            return
        try:
            prune_status_files(self.status_dir, self.mappings, self.logger)
        except OSError as exc:    # pruning is housekeeping: never a reason to stop syncing
            self.logger.warning('could not prune status files: %s', exc)

    def _compact_first_crawls(self):
        try:
            self.first_crawls.compact()
        except OSError as exc:      # it only grows meanwhile: housekeeping, not a stop
            self.logger.warning('could not rewrite %s: %s', self.first_crawls.path, exc)

    def quick_pass(self, jobs):
        """Primary and due pending rows of ``jobs`` only (DBs that changed or have rows due)."""
        start = time.monotonic()
        counts = CycleCounts()
        self._crawl_all(jobs, counts, full=False)
        self.logger.debug('quick pass: %s', counts.summary(time.monotonic() - start))
        return counts

    def run_once(self):
        return self.cycle()

    # -- forever -----------------------------------------------------------------
    def stop(self):
        """Finish the rows in flight, start nothing new (safe from a signal handler)."""
        self._stopped = True

    def stopping(self):
        return self._stopped

    def _earliest_due(self):
        dues = [d for d in self._next_due.values() if d is not None]
        return min(dues) if dues else None

    def _is_due(self, key, now):
        due = self._next_due.get(key)
        return due is not None and due <= now

    def _wait(self, timeout):
        """Up to ``timeout`` seconds until a watched DB changes; in slices, so that a stop
        request (a flag a signal handler sets: it cannot wake the hub) ends it within
        ``STOP_CHECK``, and whoever stops the daemon does not wait out the rest."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if self.watcher is None:
                eventlet.sleep(max(0.0, min(left, STOP_CHECK)))
                changed = set()
            else:
                changed = self.watcher.wait(min(left, STOP_CHECK))
            if changed or self._stopped or left <= STOP_CHECK:
                return changed

    def run_forever(self):
        if self.watcher is None and self.watch:
            self.watcher = Watcher(self.logger)
        next_full = 0.0
        while not self._stopped:
            if time.monotonic() >= next_full:
                next_full = time.monotonic() + self.poll_interval
                self._guarded(self.cycle)
                if self.watcher is not None:
                    fresh = self.watcher.watch_only({j.db_path for j in self._jobs.values()})
                    # Rows written after such a DB was crawled but before its watch existed
                    # raised no event: look once more now that it is watched.
                    jobs = [j for j in self._jobs.values() if j.db_path in fresh]
                    if jobs:
                        self._guarded(self.quick_pass, jobs)
                continue
            timeout = min(MAX_WAIT, next_full - time.monotonic())
            due = self._earliest_due()
            if due is not None:
                timeout = min(timeout, max(MIN_WAIT, due - self.clock()))
            changed = self._wait(timeout)
            if self._stopped or time.monotonic() >= next_full:
                continue
            now = self.clock()
            jobs = [j for k, j in self._jobs.items()
                    if j.db_path in changed or self._is_due(k, now)]
            if jobs:
                self._guarded(self.quick_pass, jobs)

    def _guarded(self, fn, *args):
        try:
            fn(*args)
        except FAILURES as exc:  # keep the daemon alive; one line, the next cycle retries
            self.logger.error('crawl cycle failed: %s', one_line(exc, first_line=True))
            eventlet.sleep(MIN_WAIT)

    def close(self):
        self.first_crawls.close()
        if self.watcher is not None:
            self.watcher.close()

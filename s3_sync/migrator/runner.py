"""The migrator's cycle: every migration, every source container this node holds, page by page.

Per cycle and container, pages are handled from the saved marker to the end of the source
listing, a page's copies starting as the previous page's last ones finish; the status file is
saved as each page is done (in page order, so the saved marker is never past a page still
copying); the next cycle starts again from the beginning
(the listing wraps around), so later changes at the source (new, newer or deleted objects) are
picked up. ``"/*"`` migrations list the source account's containers each cycle.

One source provider (and its connection pool) per migration and source container, reused across
cycles (bounded). A failure of one container (its source unreachable, its listing refused) is one
log line and does not stop the others; its marker stays where it was.
"""
import dataclasses
import time

from s3_sync.log import one_line
from s3_sync.config.model import ACCOUNT_LEVEL
from s3_sync.lru import LRU
from s3_sync.migrator.container_pass import ContainerMigration
from s3_sync.migrator.copy import Copier
from s3_sync.migrator.removal import ContainerRemoval
from s3_sync.migrator.status import entry_for, progress
from s3_sync.providers import create_provider
from s3_sync.stats import StatsReporter

MAX_PROVIDERS = 256
ACCOUNT_ACL = 'x-account-access-control'
ACCOUNT_ACL_SYSMETA = 'x-account-sysmeta-core-access-control'


def account_changes(source, local):
    """The POST that makes the local account's metadata and ACL the source's: changed or new
    keys, and ``""`` (a removal) for keys the source no longer has."""
    wanted = {k: v for k, v in source.items() if k.startswith('x-account-meta-')}
    if source.get(ACCOUNT_ACL):
        wanted[ACCOUNT_ACL_SYSMETA] = source[ACCOUNT_ACL]
    have = {k: v for k, v in local.items()
            if k.startswith('x-account-meta-') or k == ACCOUNT_ACL_SYSMETA}
    changes = {k: v for k, v in wanted.items() if have.get(k) != v}
    # Quotas are the local operator's (a reseller admin's setting), never removed here.
    changes.update({k: '' for k in have if k not in wanted
                    and not k.startswith('x-account-meta-quota-')})
    return changes


class Migrator:
    def __init__(self, conf, settings, store, placement, status, logger, stats_conf=None,
                 provider_factory=create_provider, clock=time.time, policies=None,
                 pages=None):
        self.conf = conf
        self.settings = settings
        self.store = store
        self.placement = placement
        self.status = status
        self.logger = logger
        self.stats_conf = stats_conf
        self.provider_factory = provider_factory
        self.clock = clock
        self.policies = policies or {}
        self._providers = LRU(MAX_PROVIDERS)
        self.removal = ContainerRemoval(store, placement, logger)
        self.takeovers = {}
        self.pages = pages      # pages.PageBoard: one node lists a page, the others read it
        self.stopping = False

    def stop(self):
        self.stopping = True

    def provider(self, migration, bucket):
        return self._providers.get_or_create(
            (migration, bucket),
            lambda: self.provider_factory(migration.source(bucket), logger=self.logger))

    # -- a cycle --------------------------------------------------------------------
    def run_once(self):
        """One cycle over every migration; the status entries of containers no longer
        handled here are pruned (unless a ``"/*"`` listing failed: its entries are kept)."""
        handled, keep_all = [], False
        for migration in self.conf.migrations:
            if self.stopping:
                return
            try:
                buckets = self.buckets(migration)
            except Exception as exc:
                keep_all = True
                self.logger.error('%s: cannot list the source containers: %s', migration,
                                  one_line(exc))
                continue
            if migration.propagate_account_metadata:
                self.account_metadata(migration)
            for bucket in buckets:
                if self.stopping:
                    return
                container = migration.local_container(bucket)
                share = self.placement.share(migration.account, container)
                if share is None:
                    continue
                handled.extend(self.migrate_container(migration, bucket, share))
            if migration.all_buckets and not self.stopping:
                self.removal.run(migration, buckets,
                                 lambda bucket, m=migration: self.provider(m, bucket))
        if not keep_all and not self.stopping:
            self.status.prune(handled)

    def run_forever(self):
        interval = self.settings['poll_interval']
        while not self.stopping:
            started = self.clock()
            self.run_once()
            left = interval - (self.clock() - started)
            while left > 0 and not self.stopping:
                time.sleep(min(left, 1.0))
                left -= 1.0

    def buckets(self, migration):
        """The source containers of ``migration``: its own, or for ``"/*"`` every container
        of the source account."""
        if not migration.all_buckets:
            return [migration.aws_bucket]
        lister = self.provider(migration, ACCOUNT_LEVEL)
        names, marker = [], ''
        while True:
            page = lister.list_containers(marker=marker)
            if not page:
                return names
            names.extend(entry['name'] for entry in page)
            marker = page[-1]['name']

    def account_metadata(self, migration):
        """Swift sources: the source account's metadata and ACL (behaviour 7.2)."""
        source = self.provider(migration, ACCOUNT_LEVEL)
        if not source.features.container_metadata:
            return
        try:
            changes = account_changes(source.account_headers(),
                                      self.store.account_headers(migration.account) or {})
            if changes:
                self.store.post_account(migration.account, changes)
                self.logger.info('%s: account metadata copied: %s', migration,
                                 ', '.join(sorted(changes)))
        except Exception as exc:
            self.logger.error('%s: account metadata: %s', migration, one_line(exc))

    # -- one container ------------------------------------------------------------------
    def migrate_container(self, migration, bucket, share, nested=False):
        """Migrate one source container; the status entries it used. A Swift container with
        old-style versioning has its versions container migrated first (behaviour 7.2)."""
        provider = self.provider(migration, bucket)
        entry = entry_for(migration, bucket)
        handled = [entry]
        work = ContainerMigration(
            migration, bucket, provider, self.store,
            Copier(self.store, lambda b: self.provider(migration, b),
                   self.settings['segment_size'], self.logger, self.clock),
            share, self.settings['items_chunk'], self.settings['workers'], self.logger,
            stats=self._stats(migration, bucket), clock=self.clock,
            policy=migration.storage_policy, takeover_after=self.settings['takeover_after'],
            takeovers=self.takeovers, pages=self.pages)
        marker = self.status.get(entry).get('marker', '')
        try:
            versions = work.prepare()
            if versions and not nested and not migration.all_buckets:
                handled.extend(self._versions_first(migration, versions))
            self._pages(work, entry, marker)
        except Exception as exc:
            self.logger.error('%s: %s: %s', work, type(exc).__name__, one_line(exc))
            self.logger.debug('%s', work, exc_info=True)
        finally:
            work.close()
        return handled

    def _pages(self, work, entry, marker):
        """The pages from ``marker`` to the end of the listing (or a stop). Each page is
        started while the one before still finishes; that one is then waited for and saved,
        so pages are saved in order, each once all its actions are done."""
        running = None      # (marker, started, StartedPage) of the page started last
        try:
            while not self.stopping:
                started = self.clock()
                page = work.start_page(marker)
                previous, running = running, (marker, started, page)
                if previous is not None:
                    self._save(work, entry, *previous)
                if page.end:
                    break
                marker = page.marker
        finally:
            if running is not None:
                self._save(work, entry, *running)

    def _save(self, work, entry, marker, started, page):
        result = page.wait()
        self.status.record(entry, result.marker, result.counts, reset=not marker,
                           source_count=work.source_count, started=started)
        self._log_page(work, marker, result)
        self._gauges(work.stats, entry)

    def _versions_first(self, migration, versions):
        """The versions container of a versioned source container, as a migration of its own
        into the local container of the same name (``"/*"`` migrations list it anyway)."""
        derived = dataclasses.replace(migration, aws_bucket=versions, container=versions)
        share = self.placement.share(migration.account, versions)
        if share is None:
            return []
        return self.migrate_container(derived, versions, share, nested=True)

    def _log_page(self, work, marker, result):
        counts = result.counts
        self.logger.info('%s: page after %r: %d scanned, %d copied (%d bytes), %d deleted, '
                         '%d errors%s', work, marker, counts.get('scanned_count', 0),
                         counts.get('moved_count', 0), counts.get('bytes_count', 0),
                         counts.get('deleted_count', 0), counts.get('errors_count', 0),
                         '; end of the listing' if result.end else '')

    def _gauges(self, stats, entry):
        """The container's progress as statsd gauges, after every page."""
        if stats is None:
            return
        for metric, value in progress(self.status.get(entry), self.clock()).items():
            stats.gauge(metric, value)

    def _stats(self, migration, bucket):
        if self.stats_conf is None or not self.stats_conf.statsd_host:
            return None
        return StatsReporter(self.stats_conf, migration.source(bucket))

"""Builds and caches one ContainerSync per (mapping, container).

The cache is what keeps one provider, and so one remote connection pool, alive across crawl
cycles (the original built a new one for every container on every cycle). It is bounded: a
``"/*"`` mapping can name any number of containers, and the least recently crawled one is closed
when the cache is full. Every provider it builds notes its multipart uploads in the node's
journal (``s3_sync.sync.journal``), which ``abort_left_uploads`` empties at the start.

What does not depend on the container (the remote client, a Swift login, the bucket check) is
shared by the providers of equal settings (``s3_sync.providers.shared``): a ``"/*"`` mapping
over a thousand containers makes one client and checks its bucket once. The throttles are
hooked into each client once, when it is made; shared clients stay open until ``close``.
"""
import functools

from s3_sync.local import LocalSwift
from s3_sync.lru import LRU
from s3_sync.providers import create_provider
from s3_sync.providers.shared import Shared
from s3_sync.stats import StatsReporter
from s3_sync.sync.container import ContainerSync
from s3_sync.sync.journal import UploadJournal

MAX_CACHED = 1000


def _close(sync):
    sync.provider.close()


class SyncFactory:
    def __init__(self, conf, internal_client, logger, max_cached=MAX_CACHED):
        self.conf = conf
        self.local = LocalSwift(internal_client)
        self.logger = logger
        self.shared = Shared()
        self._syncs = LRU(max_cached, on_evict=_close)
        self.journal = UploadJournal(conf.status_dir, logger)
        self.delete_rail = None     # s3_sync.throttle.DeleteRails, given to every sync
        self.throttles = None       # s3_sync.throttle.Throttles: each provider gets its mapping's

    def for_container(self, mapping, account, container):
        return self._syncs.get_or_create(
            (mapping, account, container),
            functools.partial(self._build, mapping, account, container))

    def _build(self, mapping, account, container):
        provider = create_provider(mapping, container if mapping.per_account else None,
                                   logger=self.logger, shared=self.shared)
        provider.journal = self.journal
        if self.throttles is not None:
            provider.throttle = self.throttles.for_mapping(mapping)
        stats = StatsReporter(self.conf, mapping, container)
        sync = ContainerSync(mapping, account, container, provider, self.local, stats,
                             self.logger)
        sync.delete_rail = self.delete_rail
        return sync

    def abort_left_uploads(self):
        """Abort the multipart uploads a killed earlier run of this daemon left (see
        ``s3_sync.sync.journal``); the number aborted."""
        return self.journal.abort_left(
            self.conf.containers, lambda mapping: create_provider(mapping, logger=self.logger))

    def close(self):
        self._syncs.clear()
        self.shared.close()

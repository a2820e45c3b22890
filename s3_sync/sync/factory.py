"""Builds and caches one ContainerSync per (mapping, container).

The cache is what keeps one provider, and so one remote connection pool, alive across crawl
cycles (the original built a new one for every container on every cycle).
"""
import json

from s3_sync.local import LocalSwift
from s3_sync.providers import create_provider
from s3_sync.stats import StatsReporter
from s3_sync.sync.container import ContainerSync


def mapping_key(mapping):
    return json.dumps(mapping, sort_keys=True, default=str)


class SyncFactory:
    def __init__(self, conf, internal_client, logger):
        self.conf = conf
        self.local = LocalSwift(internal_client)
        self.logger = logger
        self._syncs = {}

    def for_container(self, mapping, account, container):
        key = (mapping_key(mapping), account, container)
        sync = self._syncs.get(key)
        if sync is None:
            per_account = mapping['container'] == '/*'
            provider = create_provider(mapping, container if per_account else None,
                                       logger=self.logger)
            stats = StatsReporter(self.conf, mapping, container)
            sync = ContainerSync(mapping, account, container, provider, self.local, stats,
                                 self.logger)
            self._syncs[key] = sync
        return sync

    def close(self):
        for sync in self._syncs.values():
            sync.provider.close()
        self._syncs.clear()

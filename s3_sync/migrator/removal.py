"""Local containers of a ``"/*"`` migration whose source container went away (behaviour 7.5).

A local container the migrator created carries its state in container sysmeta
(``X-Container-Sysmeta-Multi-Cloud-Internal-Migrator``):

* no state: a client made it; it is kept, whatever the source says;
* ``migrating``: the migrator made it and no client changed its settings: its objects still
  marked are deleted (fenced, as for one object), then the container; if objects remain (a
  client wrote some), the container is kept and becomes ``src_deleted``;
* ``modified``: a client changed its settings through the shunt: marked objects are deleted,
  the container is kept as ``src_deleted``;
* ``src_deleted``: done already. If the source container comes back, it becomes ``modified``
  (see ``container_pass``) and is migrated again.

Two rails: nothing happens when the source account lists no container at all, and a container
is judged gone only when a HEAD at the source says 404 (a listing that merely omits it, say
after a permission change, is not enough). One node decides per container: the holder of its
first primary replica.
"""
from s3_sync.log import one_line
from s3_sync.migrator.headers import CONTAINER_STATE, MIGRATING, MODIFIED, SRC_DELETED
from s3_sync.migrator.local_store import DELETED

STATE = CONTAINER_STATE.lower()


def local_containers(store, account):
    """The names of the account's local containers (none when the account is missing)."""
    return [c['name'] for c in store.containers(account)]


class ContainerRemoval:
    def __init__(self, store, placement, logger):
        self.store = store
        self.placement = placement
        self.logger = logger

    def run(self, migration, source_buckets, provider_for):
        """Handle the local containers of ``migration``'s account missing from
        ``source_buckets`` (the whole source listing)."""
        if not source_buckets:
            self.logger.warning('%s: the source account lists no container: no local '
                                'container is removed', migration)
            return
        listed = set(source_buckets)
        for container in local_containers(self.store, migration.account):
            if container in listed or container.endswith('_segments'):
                continue
            share = self.placement.share(migration.account, container)
            if share is None or not share.first:
                continue
            try:
                self.remove(migration, container, provider_for(container))
            except Exception as exc:
                self.logger.error('%s: removing /%s/%s: %s', migration, migration.account,
                                  container, one_line(exc))

    def remove(self, migration, container, provider):
        account = migration.account
        headers = self.store.container_headers(account, container)
        state = (headers or {}).get(STATE)
        if state not in (MIGRATING, MODIFIED):
            return
        if provider.container_headers() is not None:
            return      # the listing omitted it, but it is there
        deleted = 0
        for entry in list(self.store.listing(account, container)):
            if self.store.delete_marked(account, container, entry['name']) == DELETED:
                deleted += 1
        if state == MIGRATING and self.store.delete_container(account, container):
            self.logger.info('%s: /%s/%s removed: its source container is gone (%d objects '
                             'deleted)', migration, account, container, deleted)
            return
        self.store.post_container(account, container, {CONTAINER_STATE: SRC_DELETED})
        self.logger.info('%s: /%s/%s kept (client data or settings): its source container '
                         'is gone; %d migrated objects deleted', migration, account,
                         container, deleted)

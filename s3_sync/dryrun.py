"""``swift-s3-sync --dry-run``: one pass that logs what it would do and changes nothing.

Every row the pass would hand to the sync side is logged instead (``dry run: would upload``,
``would delete``, ``would archive``: upload, then delete the local copy once verified), with
what the row says (size, timestamps); nothing is written anywhere: no remote write (not even a
bucket creation: the destination is only checked), no local delete, no status file, no report.
Reads happen as in a real pass (the container DBs, the remote listings of verification), so the
rows named are those a real pass would look at. Since no checkpoint is saved, a dry run always
covers what the next real pass would: it runs one pass and exits, like ``--once``.
"""
from s3_sync.crawler.first_crawls import FirstCrawls
from s3_sync.crawler.progress import StatusFile
from s3_sync.providers.base import RemoteError
from s3_sync.rows import is_archiver_tombstone, row_timestamps
from s3_sync.sync.outcome import DestinationUnavailable, Retry


class ReadOnlyStatusFile(StatusFile):
    """A status file that is read, never written (nor moved aside when corrupt)."""

    def update_entry(self, db_id, fields, replace=False):
        pass

    def _move_aside(self, exc):
        self.logger.warning('status file %s is unreadable (%s); a real pass would move it '
                            'aside and start from row 0', self.path, exc)


class ReadOnlyFirstCrawls(FirstCrawls):
    """The first crawls a killed run left, read; nothing noted, nothing rewritten."""

    def note(self, db_id):
        pass

    def compact(self):
        pass


class DryRunSync:
    """Stands in for a ContainerSync: decides as it would, logs, touches nothing."""

    def __init__(self, sync, logger):
        self.sync = sync
        self.logger = logger
        self.mapping = sync.mapping
        self._checked = False

    def ready(self):
        if self._checked:
            return
        try:
            self.sync.provider.check(create=False)
        except RemoteError as exc:
            if self.mapping.create_bucket:
                self.logger.info('dry run: would create the bucket %s', self.mapping.aws_bucket)
            raise DestinationUnavailable(str(exc)) from None
        self._checked = True

    def handle_container_info(self, broker_info, read_metadata):
        if self.mapping.sync_container_metadata and \
                self.sync.provider.features.container_metadata:
            self.logger.info('dry run: would push the container metadata of %s',
                             self.sync.path)

    def verify_rows(self, rows):
        return self.sync.verify_rows(rows)

    def drop_excluded(self, rows):
        return self.sync.drop_excluded(rows)

    def handle_row(self, row):
        path = '%s/%s' % (self.sync.path, row['name'])
        if self.sync.excluded(row['name']):
            return None
        if row['deleted']:
            if self.mapping.archive and not is_archiver_tombstone(row):
                self.logger.info('dry run: would delete %s remotely (a client deleted the '
                                 'archived object)', path)
            elif not self.mapping.archive and self.mapping.propagate_delete:
                self.logger.info('dry run: would delete %s remotely', path)
            return None
        meta_ts = float(row_timestamps(row)[2])
        due = meta_ts + self.mapping.copy_after
        if self.mapping.copy_after and self.sync.clock() < due:
            self.logger.info('dry run: would wait for copy_after: %s due in %.0fs', path,
                             due - self.sync.clock())
            return Retry(due)
        self.logger.info('dry run: would upload %s (%d bytes)%s', path, row['size'],
                         '; would archive it (delete the local copy once the remote one is '
                         'verified)' if self.mapping.archive else '')
        return None


class DryRunFactory:
    def __init__(self, factory, logger):
        self.factory = factory
        self.logger = logger
        self._syncs = {}

    def for_container(self, mapping, account, container):
        key = (mapping, account, container)
        if key not in self._syncs:
            self._syncs[key] = DryRunSync(
                self.factory.for_container(mapping, account, container), self.logger)
        return self._syncs[key]

    def close(self):
        self.factory.close()


def make_dry(crawler, logger):
    """Turn a built crawler into a dry one."""
    crawler.factory = DryRunFactory(crawler.factory, logger)
    crawler.status_file = ReadOnlyStatusFile
    crawler.prune = False
    crawler.first_crawls = ReadOnlyFirstCrawls(crawler.status_dir, crawler.process, logger)
    return crawler

"""What one container row means for the remote, for one mapping and container.

The crawler hands us rows it owns (``handle_row``) and, later, every older row for a batched check
(``verify_rows``). Propagation is built for request economy: a new object costs one local GET and
one remote PUT, a metadata-only POST one conditional remote copy, a delete one remote
multi-delete; nothing is HEADed "just in case". Idempotence comes from the row itself (its
timestamps say what changed) and from conditional remote requests, not from a HEAD before every
write.

Outcomes follow :mod:`s3_sync.sync.outcome`: ``None`` when the row is done, ``Retry`` when it must
be looked at again later (``copy_after`` not reached, a stale local read, a remote failure).
"""
import functools
import re
import time


from s3_sync import metadata, selection
from s3_sync.local import CLIENT_DELETED, KEPT, LocalError
from s3_sync.providers.base import RemoteError, written_after
from s3_sync.retry import DEFAULT_POLICY
from s3_sync.rows import is_archiver_tombstone, row_timestamps
from s3_sync.sync.expiry import (
    ExpiryRule, expired_remotely, expiry_matches, propagated_headers)
from s3_sync.sync.large import LargeObjectSync, is_large
from s3_sync.sync.outcome import (
    STALE_RETRY_SECONDS, DestinationUnavailable, Propagated, Retry, stale_read)
from s3_sync.sync.verify import rows_needing_repair

# How long an unusable destination (missing bucket, bad credentials) waits to be checked again.
RECHECK_SECONDS = 30.0
# An unanswered remote write may still be applied for this many remote_timeouts (the client
# gave up after one connect plus one read timeout; the server may be slower still).
LATE_WRITE_GRACE = 3


class ContainerSync:
    """Propagates rows of one local container to one mapping's remote."""

    def __init__(self, mapping, account, container, provider, local, stats, logger,
                 clock=time.time):
        self.mapping = mapping
        self.account = account
        self.container = container
        self.provider = provider
        self.local = local
        self.stats = stats
        self.logger = logger
        self.clock = clock
        self.archive = mapping.archive
        self.copy_after = mapping.copy_after
        self.criteria = mapping.selection_criteria or {}
        pattern = mapping.exclude_pattern
        self._exclude = re.compile(pattern) if pattern else None
        self._remote_ok = False
        self._check_error = None
        self._next_check = 0.0
        self._pushed_metadata = None
        self._refused_metadata = None
        self._late_writes = {}      # name -> until when an unanswered write may still land
        self._expiry_rule = ExpiryRule(mapping, provider, self.path, logger, clock)
        # The delete rail (s3_sync/throttle.py DeleteRails), set by the factory; None: no rail.
        self.delete_rail = None

    @property
    def path(self):
        return '%s/%s' % (self.account, self.container)

    def excluded(self, name):
        return bool(self._exclude and self._exclude.match(name))

    def drop_excluded(self, rows):
        """``rows`` without those whose names the mapping excludes (counted as skipped): the
        crawler passes over those without handing them."""
        if self._exclude is None:
            return rows
        kept = [r for r in rows if not self._exclude.match(r['name'])]
        if len(kept) < len(rows):
            self.stats.increment('skipped', len(rows) - len(kept))
        return kept

    # -- crawler contract -------------------------------------------------
    def ready(self):
        """Make sure the destination is usable before any row of this container is tried.

        A missing bucket, bad credentials or an unreachable remote raise
        DestinationUnavailable: the crawler then leaves the rows alone and logs one line,
        instead of failing (and logging) every row; other mappings carry on. A failed check is
        repeated at most every RECHECK_SECONDS; once the remote answered, never again."""
        if self._remote_ok:
            return
        if self._check_error is not None and self.clock() < self._next_check:
            raise DestinationUnavailable(self._check_error, fresh=False)
        try:
            self.provider.check(create=self.mapping.create_bucket)
        except RemoteError as exc:
            self._check_error = str(exc)
            self._next_check = self.clock() + RECHECK_SECONDS
            raise DestinationUnavailable(self._check_error) from None
        self._remote_ok = True

    def handle_container_info(self, broker_info, read_metadata):
        """Container-level settings: metadata and ACLs for Swift targets that ask for them,
        the lifecycle rule of ``remote_delete_after`` for S3 targets. Returns when to be
        called again if the container does not change (epoch seconds), or None: only on a
        change (the crawler does not open an unchanged DB before then).

        ``read_metadata()`` gives the container's metadata: a query of the DB, made only for
        a mapping that pushes it."""
        if self.mapping.sync_container_metadata and self.provider.features.container_metadata:
            self._push_container_metadata(read_metadata())
        self._expiry_rule()
        return self._expiry_rule.next_at()

    def _push_container_metadata(self, broker_metadata):
        """Copy X-Container-Meta-* (and, with sync_container_acl, the ACLs) to the remote.

        Swift keeps a removed key as an empty value until it is reclaimed, so removals are
        pushed too (the original never removed remote keys). Pushed again only on change."""
        wanted = {}
        for key, (value, _ts) in broker_metadata.items():
            lower = key.lower()
            if lower.startswith('x-container-meta-') or (
                    self.mapping.sync_container_acl and
                    lower in ('x-container-read', 'x-container-write')):
                wanted[key] = value
        if wanted == (self._pushed_metadata or {}) or wanted == self._refused_metadata:
            return
        try:
            self.provider.set_container_metadata(wanted)
        except RemoteError as exc:
            if not exc.retryable:
                # Refused (too much metadata, a bad ACL): said once, tried again on change.
                self._refused_metadata = wanted
            raise
        self._pushed_metadata = wanted

    def handle_row(self, row):
        name = row['name']
        try:
            if self.excluded(name):
                self.stats.increment('skipped')
                return None
            if row['deleted']:
                return self._handle_delete(row)
            return self._handle_object(row)
        except (RemoteError, LocalError) as exc:
            # The crawler logs the row with the error, keeps it pending and backs off.
            self.stats.increment('errors')
            if isinstance(exc, RemoteError) and exc.headers is None and self.archive:
                self._may_still_land(name)
            raise

    def verify_rows(self, rows):
        """The rows whose remote state does not reflect them (batched remote listing)."""
        candidates = [r for r in rows if not self.excluded(r['name'])]
        return rows_needing_repair(candidates, self.provider, self.mapping)

    # -- rows ---------------------------------------------------------------
    def _handle_delete(self, row):
        if self.archive:
            return self._delete_archived(row)
        if not self.mapping.propagate_delete:
            return None
        held = self._delete_held(row)
        if held:
            return held
        self.provider.delete_objects([row['name']])
        self.stats.increment('deleted_objects')
        self.logger.debug('deleted %s/%s remotely', self.path, row['name'])
        return None

    def _delete_archived(self, row):
        """A DELETE deletes, as with every archive tier: a client's delete of an object of an
        archive mapping removes its remote copy too, unless that copy was written after the
        delete (a newer version, archived since). The archiver's own deletes keep it."""
        if is_archiver_tombstone(row):
            return None
        deleted_at = float(row_timestamps(row)[0])
        remote = self.provider.head_object(row['name'])
        if remote is None or written_after(remote.last_modified, deleted_at):
            return None
        held = self._delete_held(row, remote)
        if held:
            return held
        self.provider.delete_objects([row['name']])
        self.stats.increment('deleted_objects')
        self.logger.debug('deleted the archived copy of %s/%s', self.path, row['name'])
        return None

    def _delete_held(self, row, remote=None):
        """The Retry that holds this delete when the delete rail says so (a HEAD for the size
        only when a byte limit is set and none was made)."""
        rail = self.delete_rail
        if rail is None or not rail.limited(self.mapping):
            return None
        if remote is None and rail.needs_size(self.mapping):
            remote = self.provider.head_object(row['name'])
            if remote is None:
                return None     # nothing there to delete
        return rail.hold(self.mapping, self.account, self.container, row,
                         remote.size if remote is not None else 0)

    def _handle_object(self, row):
        data_ts, ctype_ts, meta_ts = row_timestamps(row)
        due = float(meta_ts) + self.copy_after
        if self.copy_after and self.clock() < due:
            return Retry(due)
        if meta_ts > data_ts or ctype_ts > data_ts:
            done = self._try_metadata_update(row, meta_ts)
            if done is not False:
                return done
        return self._upload(row, data_ts, meta_ts)

    def _try_metadata_update(self, row, meta_ts):
        """A POST changed only metadata: copy the remote object onto itself, if it is there.

        Returns False when the data must be uploaded instead."""
        headers = self.local.head(self.account, self.container, row['name'],
                                  row['storage_policy_index'])
        if headers is None:
            return None     # deleted or overwritten since; its own row will say so
        stale = stale_read(headers, meta_ts, self.clock())
        if stale:
            return stale
        if not selection.matches(headers, self.criteria):
            self.stats.increment('skipped')
            return None
        if is_large(headers):
            # The remote holds the content, not the manifest: large.py compares and copies.
            return self._propagate_large(row, headers, meta_ts)
        if self._expired_remotely(row, headers):
            return None
        etag = headers.get('etag', '').strip('"')
        wanted = propagated_headers(headers)
        if not self.provider.update_metadata(row['name'], wanted, etag):
            return False
        self.logger.debug('updated metadata of %s/%s', self.path, row['name'])
        return self._after_propagation(row, meta_ts, etag, int(headers['content-length']))

    def _upload(self, row, data_ts, meta_ts):
        obj = self.local.open(self.account, self.container, row['name'],
                              row['storage_policy_index'], (data_ts, meta_ts))
        if obj is None:
            return None     # gone since the row was written; a newer row describes it
        try:
            stale = stale_read(obj.headers, meta_ts, self.clock())
            if stale:
                return stale
            if not selection.matches(obj.headers, self.criteria):
                self.stats.increment('skipped')
                return None
            if self._expired_remotely(row, obj.headers):
                return None
            if is_large(obj.headers):
                return self._propagate_large(row, obj.headers, meta_ts, obj.reader)
            if self.archive:
                done = self._archive_without_upload(row, meta_ts, obj)
                if done is not False:
                    return done
            etag = self.provider.put_object(row['name'], obj.headers, obj.reader, obj.size)
        finally:
            obj.close()
        self.stats.increment('copied_objects')
        self.stats.increment('bytes', obj.size)
        self.logger.debug('uploaded %s/%s (%d bytes)', self.path, row['name'], obj.size)
        return self._after_propagation(row, meta_ts, etag, obj.size)

    def _propagate_large(self, row, headers, meta_ts, manifest=None):
        """SLO/DLO: the remote gets the concatenated segments (see ``s3_sync.sync.large``);
        ``manifest`` is the raw SLO manifest's reader when the object was already opened."""
        if not self.provider.features.large_objects:
            return self._skip_large(row)
        done = self._large.propagate(row, headers, meta_ts, manifest)
        if isinstance(done, Propagated):
            return self._after_propagation(row, meta_ts, done.etag, done.size, done.segments)
        return done

    def _skip_large(self, row):
        """Skip, with a warning, a large object this target cannot take yet (the row is done:
        uploading the raw manifest would look like success and hold nothing)."""
        self.stats.increment('skipped')
        self.logger.warning('%s/%s is a large object; %s targets do not take them yet',
                            self.path, row['name'], self.provider.name)
        return None

    @functools.cached_property
    def _large(self):
        return LargeObjectSync(self.provider, self.local, self.account, self.container,
                               self.stats, self.logger, self.clock)

    def _after_propagation(self, row, meta_ts, etag, size, segments=()):
        """Archive mode drops the local copy once the remote one is verified.

        ``segments`` are the (container, name) of a large object's local segments."""
        if not self.archive:
            return None
        return self._archive(row, meta_ts, etag, size, segments)

    def _archive_without_upload(self, row, meta_ts, obj):
        """Archive mode looks before it uploads: an object restored by the shunt (a new row,
        the same bytes) is archived again without sending its data twice. The HEAD doubles
        as the verification. False when the data has to be uploaded."""
        remote = self.provider.head_object(row['name'])
        if remote is None or remote.etag != obj.etag or remote.size != obj.size:
            return False
        if not (metadata.metadata_matches(obj.headers, remote.headers or {}) and
                expiry_matches(self.provider, obj.headers, remote.headers or {})):
            wanted = propagated_headers(obj.headers)
            if not self.provider.update_metadata(row['name'], wanted, obj.etag):
                return False
            remote = None       # changed since the HEAD: verify afresh
        self.logger.debug('%s/%s already on the remote; archiving without upload',
                          self.path, row['name'])
        return self._archive(row, meta_ts, obj.etag, obj.size, (), remote)

    def _expired_remotely(self, row, headers):
        """A remote copy that would already be expired (``propagate_expiration_offset`` below
        zero took its X-Delete-At into the past; Swift refuses such a write for ever) is not
        written, and an older one is deleted: the remote is what it would be had the copy
        been made in time. The local object is kept (archive mode too) until its own expiry."""
        if not expired_remotely(self.provider, headers, self.clock()):
            return False
        self.provider.delete_objects([row['name']])
        self.stats.increment('skipped')
        self.logger.info('%s/%s: its remote copy would expire at %s (X-Delete-At plus '
                         'propagate_expiration_offset), already past: not copied',
                         self.path, row['name'], self.provider.expires_at(headers))
        return True

    def _may_still_land(self, name):
        """A write to ``name`` got no answer (a timeout, a reset): the remote may still apply
        it later, over a newer version. Until that can no longer happen, no version of
        ``name`` is archived (its local copy is the only safe one)."""
        now = self.clock()
        for old in [n for n, until in self._late_writes.items() if until <= now]:
            del self._late_writes[old]
        self._late_writes[name] = now + LATE_WRITE_GRACE * self.mapping.remote_timeout

    def _archive(self, row, meta_ts, etag, size, segments, remote=None):
        late_until = self._late_writes.get(row['name'], 0)
        if late_until > self.clock():
            # Retried then: the HEAD done on the way sees whichever write landed last.
            return Retry(late_until, 'an earlier upload of this object may still land')
        if remote is None:
            remote = self.provider.head_object(row['name'])
        if remote is None or remote.etag != etag or remote.size != size:
            return Retry(self.clock() + STALE_RETRY_SECONDS,
                         'remote copy not verified (%r)' % (remote,))
        found = self.local.delete_if_unchanged(self.account, self.container, row['name'],
                                               meta_ts)
        if found == KEPT:
            self.logger.info('kept %s/%s: a client wrote it after the archived version',
                             self.path, row['name'])
            return None
        if found == CLIENT_DELETED:
            # A client deleted it while it was being archived: the copy just made must not
            # bring it back through the shunt.
            self.provider.delete_objects([row['name']])
            self.logger.info('%s/%s was deleted by a client while being archived; its remote '
                             'copy is deleted too', self.path, row['name'])
            return None
        self.logger.debug('archived %s/%s', self.path, row['name'])
        if segments and not self.mapping.retain_local_segments:
            self._drop_segments(row['name'], segments)
        return None

    def _drop_segments(self, name, segments):
        """Delete an archived large object's segments, after its manifest.

        Manifest first: once the conditional delete of the manifest has succeeded no newer
        manifest of this name exists, whereas deleting segments first could destroy those a
        client's re-uploaded manifest reuses. A segment that cannot be deleted is logged by
        name; nothing refers to it any more, so it is not retried by a later row."""
        failed = []
        for container, segment in dict.fromkeys(segments):
            try:
                DEFAULT_POLICY.call(self.local.delete_segment, self.account, container, segment)
            except LocalError as exc:
                failed.append('%s/%s (%s)' % (container, segment, exc))
        if failed:
            self.logger.error('%s/%s archived, but %d segment(s) could not be deleted: %s',
                              self.path, name, len(failed), ', '.join(failed[:10]))


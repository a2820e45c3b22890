"""One source container into one local container, a page of the source listing at a time.

A page (``items_chunk`` names from the saved marker) is merge-joined with the local listing
(``merge``). The node of the container's first replica lists the page from the source and
leaves it in the cluster; the other nodes read that page (``pages``: listed at most
``pages.FRESH`` before their pass began; one that does not come within a bounded wait is listed
here). This node acts only on the names it owns (``placement.split_page`` for the page's source
entries, ``placement.Share`` for local-only names): copies what is missing or older here,
checks converted large objects of equal time, and deletes local objects that went from the
source while they still carry the migrator's mark. The work runs on
``workers`` green threads shared by the pages of a pass: a page's actions start as the previous
page's last ones finish (``start_page``), so no worker waits for a page's slowest copy. A page's
marker is saved only once its actions and those of every page before it are done (the caller's:
``runner``), so a kill -9 costs at most re-listing two pages (what was copied is then skipped:
same time on both sides). The next page's listings are read while this page copies (``_read``:
a reader's read-ahead polls for the lister's page meanwhile), so no node waits for a listing
between pages; a local object is judged gone only by a listing asked for after its time (the
lister's ``listed_at`` for a page read from it).

The rail: a listing of the whole source that comes back empty deletes nothing, with one log
line. Wrong credentials and a missing bucket are errors, not empty listings; an emptied bucket
(or a wrong ``prefix``) is what this guards against. Deleting everything must be done by hand.
"""
import collections
import time

import eventlet
from eventlet.event import Event
from swift.common.utils import Timestamp

from s3_sync.log import one_line
from s3_sync.migrator import copy as copying
from s3_sync.migrator.headers import CONTAINER_STATE, MODIFIED, SRC_DELETED
from s3_sync.migrator.local_store import DELETED
from s3_sync.migrator.merge import COPY, GONE, LARGE, listing_timestamp, merge
from s3_sync.migrator.pages import PageReader, SourcePage, page_parts
from s3_sync.migrator.placement import split_page
from s3_sync.providers.swift_conn import listing_epoch

MAX_PAGE = 1000        # S3 lists at most 1000 keys per request
# Container headers a Swift source's container passes on (behaviour 7.2).
CONTAINER_KEYS = ('x-container-read', 'x-container-write')
VERSIONING = {'x-versions-location': 'stack', 'x-history-location': 'history'}
VERSIONS_SYSMETA = 'X-Container-Sysmeta-Versions-Location'
VERSIONS_MODE = 'X-Container-Sysmeta-Versions-Mode'

PageResult = collections.namedtuple('PageResult', 'marker end counts')
# What one page needs before its copies (``ContainerMigration._read``): the source's
# (``pages.SourcePage``, listed here or by the lister) and the local listing.
Listing = collections.namedtuple('Listing', 'page local')


def container_settings(source_headers):
    """The local container headers a source container's headers ask for: metadata, ACLs, and
    old-style versioning as the versioned_writes middleware stores it (sysmeta)."""
    out = {}
    for key, value in (source_headers or {}).items():
        key = key.lower()
        if key.startswith('x-container-meta-') or key in CONTAINER_KEYS:
            out[key] = value
        elif key in VERSIONING and value:
            out[VERSIONS_SYSMETA] = value
            out[VERSIONS_MODE] = VERSIONING[key]
    return out


class ContainerMigration:
    """Migrates ``bucket`` of ``migration`` into its local container, page by page."""

    def __init__(self, migration, bucket, provider, store, copier, share, items_chunk,
                 workers, logger, stats=None, clock=time.time, policy=None,
                 takeover_after=1800, takeovers=None, pages=None):
        self.migration = migration
        self.bucket = bucket
        self.account = migration.account
        self.container = migration.local_container(bucket)
        self.provider = provider
        self.store = store
        self.copier = copier
        self.share = share
        self.limit = min(items_chunk, MAX_PAGE)
        self.workers = workers
        self.logger = logger
        self.stats = stats
        self.clock = clock
        self.policy = policy
        self.takeover_after = takeover_after
        self.heartbeat_done = False     # prepare() left this node's sign of life already
        # (account, container) -> replicas taken over at the last pass (the caller's, kept
        # across passes so a takeover is logged when it begins and ends, not every pass)
        self.takeovers = {} if takeovers is None else takeovers
        self.source_count = None    # what the source's container says it holds, once prepared
        self._ahead = None          # (marker, green thread reading that page's Listing, Event
        # sent once the page is needed)
        self._pool = None           # the workers, shared by the pages of a pass
        self.pages = pages          # pages.PageBoard: listing pages shared by the nodes
        # this pass began now: a reader takes pages listed at most pages.FRESH before
        self._reader = None if pages is None else PageReader(pages, clock(), logger, self)

    def __str__(self):
        return '%s/%s <- %s' % (self.account, self.container, self.bucket)

    # -- the container itself -----------------------------------------------------
    def prepare(self):
        """Create the local container when missing (with the source's metadata and ACLs) and
        keep its metadata in step with the source's while no client changed it here. The
        source's versions container (old-style versioning), or None."""
        source = self.provider.container_headers()
        if source is None:
            raise copying.CopyFailed('source container %s does not exist' % self.bucket)
        wanted = container_settings(source)
        versions = wanted.get(VERSIONS_SYSMETA)
        count = source.get('x-container-object-count')
        # the container's count covers every object: no measure of a prefix's share
        self.source_count = int(count) if count and count.isdigit() and \
            not self.migration.prefix else None
        here = self.store.container_headers(self.account, self.container)
        if here is None:
            wanted.update(self.share.heartbeat(self.clock(), {}))
            self.store.create_container(self.account, self.container, wanted, self.policy)
            self.heartbeat_done = True
            return versions
        self._take_over(here)
        self.store.post_container(self.account, self.container,
                                  self.share.heartbeat(self.clock(), here))
        self.heartbeat_done = True
        state = here.get(CONTAINER_STATE.lower())
        if state == SRC_DELETED:
            # the source container is back: migrate again, keeping the local settings
            self.store.post_container(self.account, self.container, {CONTAINER_STATE: MODIFIED})
        elif state != MODIFIED:     # MODIFIED: a client changed it here; its settings win
            changed = {k: v for k, v in wanted.items() if here.get(k.lower()) != v}
            if changed:
                self.store.post_container(self.account, self.container, changed)
        return versions

    def _take_over(self, here):
        """The share of replicas whose node shows no sign of life, where this node is next
        in line (``placement.Share.taking_over``)."""
        share = self.share.taking_over(here, self.clock(), self.takeover_after)
        before = self.takeovers.get((self.account, self.container), ())
        if share.taken and share.taken != before:
            self.logger.warning('%s: no sign of life for %d s from the node(s) of replica(s) '
                                '%s: this node migrates their share too', self,
                                self.takeover_after, ', '.join(map(str, share.taken)))
        elif before and not share.taken:
            self.logger.info('%s: the node(s) of replica(s) %s are back: their share is '
                             'theirs again', self, ', '.join(map(str, before)))
        self.takeovers[(self.account, self.container)] = share.taken
        self.share = share

    # -- one page -------------------------------------------------------------------
    def page(self, marker):
        """Handle one page after ``marker`` to its end: a PageResult with the next marker
        (``''`` once the end of the listing is reached) and the page's counts."""
        return self.start_page(marker).wait()

    def start_page(self, marker):
        """Hand the actions of the page after ``marker`` to the pass's workers: a
        StartedPage (its ``marker`` and ``end`` are known from its listing; ``wait()`` gives
        its PageResult once all its actions are done). Returns once every action has a worker,
        so the previous page's last actions and this page's first run side by side.

        The next page's listings are read ahead while this page's copies run (``_read``), so
        a node never waits for a listing between pages."""
        counts = collections.Counter()
        listing = self._listing(marker)
        entries, end = listing.page.entries, listing.page.end
        if listing.page.empty:
            self._rail()
            return StartedPage('', True, counts, [], self._report)
        if not end:
            self._read_ahead(entries[-1]['name'])
        counts['scanned_count'] = len(entries)
        owners = split_page(entries, self.share.count)
        if self._pool is None:
            self._pool = eventlet.GreenPool(self.workers)
        threads = [self._pool.spawn(self._act, action, counts)
                   for action in merge(entries, listing.local, marker, end)
                   if self.share.owns(action.name, owners.get(action.name)) and
                   self._may_act(action, listing.page.listed_at)]
        next_marker = '' if end else entries[-1]['name']
        return StartedPage(next_marker, end, counts, threads, self._report)

    def close(self):
        """Stop a read-ahead no page will use (the pass stops or fails)."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            ahead[1].kill()

    def _listing(self, marker):
        """The Listing of the page after ``marker``: read ahead when the last page asked for
        this one, else read now."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            if ahead[0] == marker:
                ahead[2].send()
                listing, error = ahead[1].wait()
                if error is not None:
                    raise error
                return listing
            ahead[1].kill()
        needed = Event()
        needed.send()
        return self._read(marker, needed)

    def _read_ahead(self, marker):
        needed = Event()

        def read():
            # a failure is the page's, raised when the page asks for it (a green thread
            # that raised would also have its traceback printed by the hub)
            try:
                return self._read(marker, needed), None
            except Exception as exc:
                return None, exc
        self._ahead = (marker, eventlet.spawn(read), needed)

    def _read(self, marker, needed):
        """What one page needs before its copies: this node's sign of life in the container's
        sysmeta, the source page after ``marker`` (``_source_page``), and the local listing
        up to the page's last name (all of it after ``marker`` at the end). ``needed``: an
        Event sent once the page is asked for (a reader waits for the lister from then)."""
        if not self.heartbeat_done:
            self.store.post_container(self.account, self.container,
                                      self.share.heartbeat(self.clock()))
        self.heartbeat_done = False
        page = self._source_page(marker, needed)
        entries = page.entries
        if page.end:
            local = self.store.listing(self.account, self.container, marker,
                                       self.migration.prefix)
        else:
            # read now (a snapshot as close to the source's as possible), up to the page's
            # last name: merge looks no further before the end, and a container's later
            # passes would otherwise read a whole local listing page (10,000 rows) per page
            last = entries[-1]['name'] if entries else marker
            local = _up_to(self.store.listing(self.account, self.container, marker,
                                              self.migration.prefix, just_after(last)), last)
        return Listing(page, local)

    def _source_page(self, marker, needed):
        """The SourcePage after ``marker``: the lister lists it and leaves it for the other
        nodes; they read it (``pages``), or list it themselves when it does not come."""
        parts = page_parts(self.migration, self.bucket, marker)
        if self.pages is not None and not self.share.first:
            page = self._reader.read(parts, needed)
            if page is not None:
                return page
        page = self._list(marker)
        if self.pages is not None and self.share.first and not self.share.alone:
            self.pages.put(parts, page)
        return page

    def _list(self, marker):
        """The source's page after ``marker``, listed now."""
        listed_at = self.clock()
        entries = self.provider.list_objects(marker=marker, limit=self.limit,
                                             prefix=self.migration.prefix)
        entries = [e for e in entries if 'name' in e]
        end = len(entries) < self.limit and self._listing_ended(entries)
        empty = not entries and not self._source_has_objects(marker)
        return SourcePage(entries, end, empty, listed_at)

    @staticmethod
    def _may_act(action, listed_at):
        """A local object is judged gone only if it is older than the source listing that
        lacks it: one written since (a copy by another node of a name this node's listing,
        read ahead, could not show yet) is left to the next pass."""
        if action.kind != GONE:
            return True
        return listing_timestamp(action.local) < Timestamp(listed_at)

    def _listing_ended(self, entries):
        """A short page is the end only if nothing follows it: a store may return fewer
        names than asked before the end (S3 pages with hidden keys), and local objects after
        the page are judged missing at the source only at the real end."""
        if not entries:
            return True
        return not self.provider.list_objects(marker=entries[-1]['name'], limit=1,
                                              prefix=self.migration.prefix)

    def _source_has_objects(self, marker):
        """After an empty page: does the source list anything at all? (An empty page from a
        marker is the end of the listing; from the start, it may be a source gone empty.)"""
        if not marker:
            return False
        return bool(self.provider.list_objects(limit=1, prefix=self.migration.prefix))

    def _rail(self):
        for _entry in self.store.listing(self.account, self.container, '',
                                         self.migration.prefix):
            self.logger.warning('%s: the source lists no object%s: nothing is deleted here '
                                '(delete local objects by hand if that is meant)', self,
                                ' under prefix %r' % self.migration.prefix
                                if self.migration.prefix else '')
            return

    def _act(self, action, counts):
        try:
            if action.kind == COPY:
                self._copy(action, counts)
            elif action.kind == LARGE:
                if not self.copier.same_large_object(self.account, self.container,
                                                     action.source):
                    # Same time, other data: the source was rewritten within its clock's
                    # resolution (whole seconds on many S3 stores). The object server refuses
                    # a PUT at an equal time, so the copy goes just after it.
                    self._copy(action, counts, offset=1)
            elif action.kind == GONE:
                if self.store.delete_marked(self.account, self.container,
                                            action.name) == DELETED:
                    counts['deleted_count'] += 1
                    self.logger.info('%s: deleted %r (gone from the source)', self,
                                     action.name)
        except Exception as exc:
            counts['errors_count'] += 1
            self.logger.error('%s: %s %r: %s: %s', self, action.kind, action.name,
                              type(exc).__name__, one_line(exc))
            self.logger.debug('%s: %s %r', self, action.kind, action.name, exc_info=True)

    def _copy(self, action, counts, offset=0):
        older_than = self.migration.older_than
        if older_than is not None and \
                listing_epoch(action.source['last_modified']) > self.clock() - older_than:
            counts['skipped_count'] += 1
            return
        outcome = self.copier.copy(self.account, self.container, self.bucket, action.source,
                                   offset)
        if outcome.result == copying.COPIED:
            counts['moved_count'] += 1
            counts['bytes_count'] += outcome.bytes
            self.logger.debug('%s: copied %r (%d bytes)', self, action.name, outcome.bytes)
        else:
            counts['skipped_count'] += 1
            self.logger.debug('%s: %r not copied: %s', self, action.name, outcome.result)

    def _report(self, counts):
        if self.stats is None:
            return
        for metric, key in (('copied_objects', 'moved_count'), ('bytes', 'bytes_count'),
                            ('scanned', 'scanned_count'), ('deleted_objects', 'deleted_count'),
                            ('errors', 'errors_count')):
            if counts.get(key):
                self.stats.increment(metric, counts[key])


class StartedPage:
    """A page whose actions run on the pass's workers (``ContainerMigration.start_page``)."""

    def __init__(self, marker, end, counts, threads, report):
        self.marker = marker        # the next page's marker (``''`` at the end)
        self.end = end
        self.counts = counts
        self._threads = threads
        self._report = report

    def wait(self):
        """The PageResult, once every action of the page is done (counts reported once)."""
        threads, self._threads = self._threads, None
        if threads is not None:
            for thread in threads:
                thread.wait()
            self._report(self.counts)
        return PageResult(self.marker, self.end, self.counts)


def just_after(name):
    """The least end_marker that still lists ``name``: the names between ``name`` and it
    would carry a null byte, which only Swift's reserved names do."""
    return name + '\x01'


def _up_to(listing, last):
    """The entries of ``listing`` (name order) up to and including ``last``, as a list."""
    out = []
    for entry in listing:
        if entry['name'] > last:
            break
        out.append(entry)
    return out

"""Source listing pages shared by the nodes of one container: one node lists, the others read.

Every node migrating a container needs the same page of the source listing (``split_page``
splits a page by its content). Rather than each node asking the source for every page, the
container's *lister* (the node holding, or having taken over, its first replica:
``Share.first``, the one doing the container-level work already) lists each page as before and
leaves it in the cluster's hidden account (``.s3_sync/migrator-pages/<digest>``,
``s3_sync.status.ACCOUNT``); the other nodes (*readers*) read it there.

A page is named by a digest of its key parts (local account and container, source endpoint
and bucket, prefix, marker) and carries them, checked on read: a digest collision never feeds
a wrong page. Its body: the entries as the source listed them, whether they end the listing,
whether the whole source lists nothing (the rail), and ``listed_at``, the lister's clock when
it asked. The lister's next pass overwrites the same marker's page, so a container has at most
as many pages as its listing; ``X-Delete-At`` (a day on, rounded to the hour) lets the
expirer reclaim those of containers no longer migrated. A failed page PUT is a warning: the
readers then list for themselves.

A reader takes a page when it is fresh enough: listed at most ``FRESH`` seconds before the
start of its own pass of that container (``since``), so a pass sees the source as it was at most
``FRESH`` before the pass began; within that, pages of the lister's pass under way are used
wherever the reader's pass began (the nodes' passes drift apart over a long account). Not there,
or older, it looks again every ``AHEAD_POLL`` seconds while the page is read ahead, and every
``POLL`` seconds once it is needed, for at most ``WAIT`` seconds more; then it lists the source
itself. A wait that timed out stops this node waiting for any page for ``BACKOFF`` seconds (it
still looks once per page, without waiting): a dead, slow or far-behind lister costs a reader one
wait every ``BACKOFF``, never one per container or page (a reader that waited on every container
of a ``"/*"`` migration would fall further behind with each), and after ``takeover_after`` the
node taking replica 0 over lists.
"""
import collections
import hashlib
import json
import math
import time

import eventlet

from s3_sync.log import one_line
from s3_sync.status import cluster

CONTAINER = 'migrator-pages'
KEEP = 86400        # a page's least life (s): it is rewritten every pass anyway
# X-Delete-At is KEEP from now rounded up to this (s): a page rewritten within it keeps the
# same time, so the object server leaves the expirer's queue alone (a new time costs two
# queue updates per page PUT)
KEEP_ROUNDING = 3600
POLL = 0.2          # s between a reader's looks for a page it needs, not there (or stale) yet
# s between the looks of a read-ahead (its page not needed yet: each look costs the cluster a
# GET, and a 404 asks every primary)
AHEAD_POLL = 1.0
# s a reader waits for the lister once it needs a page (process start-up and one source
# listing under load fit in it)
WAIT = 10.0
# s before its pass began a page may have been listed and still be used by a reader
FRESH = 300.0
# s a reader does not wait for pages after a wait timed out (a dead lister costs one wait per
# BACKOFF; a lister far behind or ahead, relisting meanwhile as every node did without pages)
BACKOFF = 300.0

# One page of the source listing: ``entries`` (name order), ``end`` (nothing follows them),
# ``empty`` (the whole source lists nothing: the rail), ``listed_at`` (when it was asked for).
SourcePage = collections.namedtuple('SourcePage', 'entries end empty listed_at')


def page_parts(migration, bucket, marker):
    """What names the page after ``marker`` of ``bucket``'s listing for ``migration``."""
    return {'account': migration.account, 'container': migration.local_container(bucket),
            'source': migration.aws_endpoint or '', 'bucket': bucket,
            'prefix': migration.prefix or '', 'marker': marker}


def page_name(parts):
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode('utf-8')).hexdigest()


def delete_at(now):
    """The X-Delete-At of a page written at ``now``: at least ``KEEP`` later, on a whole
    ``KEEP_ROUNDING``."""
    return math.ceil((now + KEEP) / KEEP_ROUNDING) * KEEP_ROUNDING


class PageBoard:
    """The pages in the cluster, through the migrator's InternalClient."""

    def __init__(self, client, logger, clock=time.time):
        self.client = client
        self.logger = logger
        self.clock = clock
        self.no_wait_until = 0.0    # time.monotonic() before which readers do not wait

    def put(self, parts, page):
        """Leave ``page`` for the readers; False (one warning) when that failed."""
        doc = dict(page._asdict(), key=parts)
        try:
            cluster.store(self.client, CONTAINER, page_name(parts), doc,
                          {'X-Delete-At': str(delete_at(self.clock()))})
            return True
        except Exception as exc:
            self.logger.warning('listing page after %r of %s/%s not shared (the other nodes '
                                'list it themselves): %s', parts['marker'], parts['account'],
                                parts['container'], one_line(exc))
            return False

    def get(self, parts):
        """The SourcePage of ``parts``, or None: not there, another key's, or unreadable."""
        try:
            status, _headers, body = self.client.get_object(
                cluster.ACCOUNT, CONTAINER, page_name(parts), acceptable_statuses=(2, 404))
            data = b''.join(body)
            if status == 404:
                return None
            doc = json.loads(data)
            if doc.get('key') != parts:
                return None
            return SourcePage(doc['entries'], bool(doc['end']), bool(doc['empty']),
                              float(doc['listed_at']))
        except Exception as exc:
            self.logger.debug('listing page after %r: unreadable: %s', parts['marker'],
                              one_line(exc))
            return None


class PageReader:
    """A reader's looks for the lister's pages during one pass of a container (``board``
    keeps, for the whole process, until when no page is waited for)."""

    def __init__(self, board, since, logger, what):
        self.board = board
        self.since = since
        self.logger = logger
        self.what = what            # the container migration, for the log

    def read(self, parts, needed):
        """The lister's page of ``parts`` if fresh enough, or None (list it here): polls
        until ``needed`` (an Event) is ready and ``WAIT`` seconds after that, unless a wait
        timed out in the last ``BACKOFF`` seconds."""
        deadline = None
        while True:
            page = self.board.get(parts)
            if page is not None and page.listed_at >= self.since - FRESH:
                return page
            if time.monotonic() < self.board.no_wait_until:
                return None
            if not needed.ready():
                with eventlet.Timeout(AHEAD_POLL, False):
                    needed.wait()
                continue
            now = time.monotonic()
            if deadline is None:
                deadline = now + WAIT
            elif now >= deadline:
                self.board.no_wait_until = now + BACKOFF
                self.logger.info('%s: no listing page after %r from the lister within %g '
                                 's: pages not there are listed here, without waiting, for '
                                 '%g s', self.what, parts['marker'], WAIT, BACKOFF)
                return None
            eventlet.sleep(POLL)

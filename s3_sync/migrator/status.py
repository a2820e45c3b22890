"""The migrator's status file (behaviour 7.6): where each migrated container's listing is at, and
what was copied.

A JSON list, one element per migrated container: the migration entry as the config file spells
it (without ``aws_secret``; for ``"/*"`` migrations with ``"all_buckets": true`` and the real
``aws_bucket``/``container``), plus a ``status`` object::

    {"marker": "last/listed/name", "moved_count": 3, "scanned_count": 3, "bytes_count": 1234,
     "finished": 1553294500.1, "last_moved_count": 0, "last_scanned_count": 3,
     "last_bytes_count": 0, "last_finished": 1553294400.0}

the original's format, so a deployment switches in place, plus ours: ``errors_count``,
``deleted_count``, ``skipped_count``, ``pass_started`` (when the current full scan began) and
``source_count`` with ``source_count_from``: what the source holds, as a Swift source's
container says (``container``) or, for S3 (which keeps no count) and listings under a
``prefix``, as the last complete scan listed it (``last scan``; none before the first one
ends). Writes are atomic (``crawler.progress.atomic_write``: temp file in the same directory,
fsync, rename); a file that is not valid JSON is moved aside as ``<file>.corrupted.<n>`` and the
migration starts over from the beginning of each listing (nothing is lost: what is already
copied is skipped by the merge-join).
"""
import json
import os
import time

from s3_sync.crawler.progress import atomic_write

# Keys that do not identify a migration (behaviour 7.6, ``equal_migration``).
IGNORED_KEYS = ('status', 'aws_secret', 'all_buckets', 'custom_prefix')
ALL = '/*'
COUNTS = ('moved_count', 'scanned_count', 'bytes_count')
OURS = ('errors_count', 'deleted_count', 'skipped_count')
FROM_CONTAINER, FROM_LAST_SCAN = 'container', 'last scan'


def progress(status, now):
    """The figures a migration's progress is watched by (``--status`` and the statsd gauges):
    ``remaining_objects`` (where the source count is known, else absent), ``pass_errors`` (of
    the current full scan) and ``pass_age`` (seconds since it began: a change at the source
    behind the marker is picked up at the latest one whole scan after that)."""
    out = {'pass_errors': status.get('errors_count', 0),
           'pass_age': max(0.0, now - status.get('pass_started', now))}
    if status.get('source_count') is not None:
        out['remaining_objects'] = max(0, status['source_count'] -
                                       status.get('scanned_count', 0))
    return out


def equal_migration(left, right):
    """The original's matching rule: keys in IGNORED_KEYS do not count; a key on one side
    only makes them differ (except ``container``, which defaults to ``aws_bucket``); ``"/*"``
    in ``aws_bucket`` or ``container`` on either side matches anything."""
    for key in set(left) | set(right):
        if key in IGNORED_KEYS:
            continue
        if key not in left or key not in right:
            if key == 'container':
                continue
            return False
        if key in ('aws_bucket', 'container') and ALL in (left[key], right[key]):
            continue
        if left[key] != right[key]:
            return False
    return True


def entry_for(migration, bucket=None):
    """The status-file identity of ``migration`` (a config ``Migration``) for one source
    ``bucket`` (the real one of a ``"/*"`` migration)."""
    entry = {k: v for k, v in migration.wire().items() if k != 'aws_secret'}
    entry['custom_prefix'] = ''
    if migration.all_buckets:
        entry.update(aws_bucket=bucket, container=bucket, all_buckets=True)
    return entry


class StatusFile:
    """The status file of one migrator process; ``logger`` hears about a corrupt file."""

    def __init__(self, path, logger=None, clock=time.time):
        self.path = path
        self.logger = logger
        self.clock = clock
        self.entries = self._load()

    # -- reading ------------------------------------------------------------
    def _load(self):
        try:
            with open(self.path, 'rb') as f:
                raw = f.read()
        except FileNotFoundError:
            return []
        if not raw.strip():
            return []
        try:
            entries = json.loads(raw)
            if not isinstance(entries, list) or not all(
                    isinstance(e, dict) and isinstance(e.get('status', {}), dict)
                    for e in entries):
                raise ValueError('not a list of migration entries')
        except ValueError as exc:
            aside = self._move_aside()
            if self.logger:
                self.logger.error('status file %s is corrupt (%s): moved to %s; each '
                                  'listing starts over (copied objects are skipped)',
                                  self.path, str(exc).splitlines()[0][:100], aside)
            return []
        return entries

    def _move_aside(self):
        n = 0
        while os.path.exists('%s.corrupted.%d' % (self.path, n)):
            n += 1
        aside = '%s.corrupted.%d' % (self.path, n)
        os.rename(self.path, aside)
        return aside

    def find(self, entry):
        for existing in self.entries:
            if equal_migration(existing, entry):
                return existing
        return None

    def get(self, entry):
        """The ``status`` object of ``entry`` (empty for a new one)."""
        found = self.find(entry)
        return dict(found['status']) if found else {}

    # -- writing ------------------------------------------------------------
    def record(self, entry, marker, counts, reset, source_count=None, started=None):
        """Save one listing step: the new ``marker``, ``counts`` (moved/scanned/bytes and ours)
        of the step; ``reset`` when the listing wrapped around (a new full scan starts at
        ``started``, the step's start); ``source_count``: the objects the source's container
        says it holds, when it says (else the last complete scan's count stands in)."""
        found = self.find(entry)
        if found is None:
            found = dict(entry, status={})
            self.entries.append(found)
        else:
            found.update({k: v for k, v in entry.items() if k != 'status'})
        status = found.setdefault('status', {})
        if reset:
            self._roll_over(status)
            status['pass_started'] = started if started is not None else self.clock()
        for key in COUNTS + OURS:
            status[key] = status.get(key, 0) + counts.get(key, 0)
        status['marker'] = marker
        status['finished'] = self.clock()
        if source_count is not None:
            status.update(source_count=source_count, source_count_from=FROM_CONTAINER)
        elif not marker:
            # this scan just ended: it counted everything the source holds
            status.update(source_count=status['scanned_count'],
                          source_count_from=FROM_LAST_SCAN)
        elif status.get('last_finished'):
            status.update(source_count=status['last_scanned_count'],
                          source_count_from=FROM_LAST_SCAN)
        self.save()

    @staticmethod
    def _roll_over(status):
        """A new full scan: keep the last one's numbers when they are worth keeping (the
        original's rule), then count from zero."""
        if 'last_finished' not in status or status.get('last_moved_count', 0) != 0 or \
                status.get('scanned_count', 0) != status.get('last_scanned_count', 0):
            for key in COUNTS:
                status['last_' + key] = status.get(key, 0)
            status['last_finished'] = status.get('finished', 0)
        for key in COUNTS + OURS:
            status[key] = 0

    def prune(self, handled):
        """Drop entries of migrations or containers no longer handled by this process."""
        kept = [e for e in self.entries if any(equal_migration(e, h) for h in handled)]
        if len(kept) != len(self.entries):
            self.entries = kept
            self.save()

    def save(self):
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        atomic_write(self.path, json.dumps(self.entries, indent=1, sort_keys=True))

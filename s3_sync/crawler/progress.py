"""Per-container progress: the status files of the original, plus our pending-row list.

``<status_dir>/<account>/<container>`` holds JSON keyed by container DB id (shards of a root
share the root's file, one entry per shard DB)::

    {"<db_id>": {"last_row": N, "last_verified_row": M, "aws_bucket": "...",
                 "policy": {"copy_after": 0, "retain_local": true, "propagate_delete": true},
                 "metadata_hash": "...",          # written by the sync side
                 "pending": {"<rowid>": {"name", "due", "attempts", "error", "verify"}}}}

Reading follows the original: a different ``aws_bucket`` or ``policy`` restarts from row 0, a
missing ``last_verified_row`` falls back to ``last_row``, a legacy top-level ``{"last_row": N}``
is honoured. Unlike the original, a reset also clears ``last_verified_row``, ``pending`` and
``metadata_hash`` (so container metadata is sent to the new bucket), saving rows keeps
``metadata_hash``, and every write is atomic (temp file, fsync, rename, fsync of the dir) so a
``kill -9`` never leaves a torn file. A corrupt file is moved aside, never silently lost.

A DB's first crawl saves its entry once its first rows have an outcome; what a kill before
then leaves is a line in :mod:`s3_sync.crawler.first_crawls`, not an entry written ahead.

The fsyncs of a write take milliseconds to seconds on a busy disk; in a green-threaded
process a synced write runs in eventlet's thread pool (:func:`off_hub`), so the other green
threads (rows in flight, other containers) go on meanwhile. That opens a switch in the middle of a
write, so a file has one writer at a time per process (:func:`holding`): an entry update
reads, changes and writes the file while holding it (several shard crawls of one root share
the file), and writes of one path land in the order they were asked for.
"""
import contextlib
import json
import os
import tempfile
import time

import eventlet
from eventlet import patcher, tpool
from eventlet.semaphore import Semaphore

# Top-level keys of the pre-DB-id format; dropped when the file is rewritten.
# A temp file of an atomic write this old was left by a kill, not written now.
STALE_TEMP_SECONDS = 3600
LEGACY_KEYS = ('last_row', 'last_verified_row', 'aws_bucket', 'policy', 'metadata_hash')


def status_path(status_dir, account, container):
    return os.path.join(status_dir, account, container)


def prune_status_files(status_dir, mappings, logger):
    """Remove progress files no mapping can use any more (original behaviour, section 3.2).

    An account no mapping names loses its whole directory; in an account without a ``"/*"``
    mapping, files of containers no mapping names go. Files of a ``"/*"`` account stay: its
    container list is only known from a listing that may have failed this cycle. Root status
    files of sharded containers carry their shards' entries, so nothing here is shard-specific."""
    if not os.path.isdir(status_dir):
        return
    wanted = {}
    for mapping in mappings:
        wanted.setdefault(mapping.account, set()).add(mapping.container)
    for account in os.listdir(status_dir):
        account_dir = os.path.join(status_dir, account)
        if not os.path.isdir(account_dir) or '/*' in wanted.get(account, ()):
            continue
        for container in os.listdir(account_dir):
            path = os.path.join(account_dir, container)
            if container.startswith('.'):
                # the temp file of an atomic write: another process of this node may be
                # writing it now; only one a kill left behind long ago goes
                if _older_than(path, STALE_TEMP_SECONDS):
                    _unlink(path)
            elif container not in wanted.get(account, ()):
                _unlink(path)
                logger.info('removed progress of unmapped container %s/%s', account, container)
        if account not in wanted:
            try:
                os.rmdir(account_dir)
            except OSError:
                pass    # not empty (a write of another process): the next prune has it


def _older_than(path, seconds):
    try:
        return os.stat(path).st_mtime < time.time() - seconds
    except OSError:
        return False


def _unlink(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class _PathLock:
    """One writer of a path at a time; re-entrant for the green thread holding it."""

    def __init__(self):
        self.sem = Semaphore(1)
        self.owner = None
        self.users = 0          # green threads holding or waiting: the lock goes at 0
        self.asked = 0          # writes asked for (numbered in call order) ...
        self.landed = 0         # ... and the number of the last one on disk


_path_locks = {}


@contextlib.contextmanager
def holding(path):
    """Hold ``path`` against other writers of this process (a read-modify-write holds it
    from the read to the write; :func:`atomic_write` takes it again, which is allowed).
    Yields the path's lock."""
    key = os.path.abspath(path)
    lock = _path_locks.get(key)
    if lock is None:
        lock = _path_locks[key] = _PathLock()
    me = eventlet.getcurrent()
    if lock.owner is me:
        yield lock
        return
    lock.users += 1
    try:
        with lock.sem:
            lock.owner = me
            try:
                yield lock
            finally:
                lock.owner = None
    finally:
        lock.users -= 1
        if not lock.users:
            del _path_locks[key]


_pool_pid = None    # the process whose thread pool off_hub uses


def off_hub(fn, *args):
    """``fn(*args)`` in eventlet's thread pool when green threads share this OS thread (a
    monkey-patched daemon), so blocking I/O holds up only the calling green thread; directly
    otherwise, and in a child forked after the pool started (its threads stayed behind)."""
    global _pool_pid
    if not patcher.is_monkey_patched('thread'):
        return fn(*args)
    if _pool_pid is None:
        _pool_pid = os.getpid()
    if _pool_pid != os.getpid():
        return fn(*args)
    return tpool.execute(fn, *args)


def atomic_write(path, text, mode=None, durable=True):
    """Replace ``path`` with ``text`` so readers see the old or the new file, never a mix;
    ``mode``: the new file's permissions, when others must read it (a temp file is 0600).
    ``durable=False``: no fsync, so the new file outlives a kill of this process (the page
    cache keeps it) but not necessarily a power loss, which may leave the old file or none.

    A synced write runs off the hub (:func:`off_hub`); an unsynced one only fills the page
    cache, which costs less done in place than handed to a thread and back. Writes of one
    path are serialized; one whose text a later call's already replaced on disk is dropped
    (the later text is newer)."""
    with holding(path) as lock:
        lock.asked += 1
        number = lock.asked
        if lock.landed > number:
            return
        if durable:
            off_hub(_replace, path, text, mode, durable)
        else:
            _replace(path, text, mode, durable)
        lock.landed = max(lock.landed, number)


def _replace(path, text, mode, durable=True):
    dirname = os.path.dirname(path) or '.'
    fd, tmp = tempfile.mkstemp(dir=dirname, prefix='.%s.' % os.path.basename(path),
                               suffix='.tmp')
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            f.write(text)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.rename(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if not durable:
        return
    dir_fd = os.open(dirname, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def atomic_write_json(path, data):
    """``atomic_write`` of ``data`` as JSON, creating the directory if needed."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    atomic_write(path, json.dumps(data, ensure_ascii=False, sort_keys=True))


class StatusFile:
    """One container's status file."""

    def __init__(self, status_dir, account, container, logger):
        self.path = status_path(status_dir, account, container)
        self.logger = logger

    def read(self):
        """The whole file as a dict; ``{}`` when missing; moved aside when corrupt."""
        try:
            with open(self.path, 'rb') as f:
                raw = f.read()
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(raw.decode('utf-8'))
            if not isinstance(data, dict):
                raise ValueError('not a JSON object')
            return data
        except ValueError as exc:
            self._move_aside(exc)
            return {}

    def _move_aside(self, exc):
        n = 1
        while os.path.exists('%s.corrupted.%d' % (self.path, n)):
            n += 1
        aside = '%s.corrupted.%d' % (self.path, n)
        os.rename(self.path, aside)
        self.logger.warning('status file %s is unreadable (%s); moved to %s, starting from row 0',
                            self.path, exc, aside)

    def update_entry(self, db_id, fields, replace=False):
        """Set ``fields`` in the entry of ``db_id``; other entries and keys are kept."""
        with holding(self.path):    # no other entry's update between the read and the write
            data = self.read()
            for key in LEGACY_KEYS:
                data.pop(key, None)
            entry = data.get(db_id)
            if replace or not isinstance(entry, dict):
                entry = {}
            entry.update(fields)
            data[db_id] = entry
            atomic_write_json(self.path, data)

    def load(self, db_id, mapping, max_pending):
        """The :class:`Progress` of DB ``db_id`` crawled for ``mapping``."""
        data = self.read()
        aws_bucket = mapping.aws_bucket
        policy = mapping.policy
        entry = data.get(db_id)
        if entry is None and isinstance(data.get('last_row'), int):
            entry = data  # legacy single-DB format
        progress = Progress(self, db_id, aws_bucket, policy, max_pending)
        if entry is None:
            # Other DBs of this container were crawled for this bucket (a root that sharded, a
            # replica rebuilt under a new id): their rows may well be on the remote already.
            progress.inherited = any(
                isinstance(other, dict) and other.get('aws_bucket') == aws_bucket
                for key, other in data.items() if key not in LEGACY_KEYS)
            return progress
        problem = self._stale_reason(entry, aws_bucket, policy)
        if problem:
            self.logger.info('%s (db %s): %s; starting from row 0', self.path, db_id, problem)
            progress.save(replace=True)
            return progress
        progress.last_row = entry['last_row']
        progress.last_verified_row = entry.get('last_verified_row', entry['last_row'])
        progress.pending = dict(entry.get('pending') or {})
        progress.resumed = progress.saved = True
        return progress

    @staticmethod
    def _stale_reason(entry, aws_bucket, policy):
        if not isinstance(entry, dict) or not isinstance(entry.get('last_row'), int):
            return 'entry is malformed'
        if not isinstance(entry.get('last_verified_row', 0), int) or \
                not isinstance(entry.get('pending') or {}, dict):
            return 'entry is malformed'
        if 'aws_bucket' in entry and entry['aws_bucket'] != aws_bucket:
            return 'aws_bucket changed from %r to %r' % (entry['aws_bucket'], aws_bucket)
        old_policy = entry.get('policy')
        if old_policy is not None and any(old_policy.get(k) != v for k, v in policy.items()):
            return 'policy changed from %r to %r' % (old_policy, policy)
        return None


class Progress:
    """Checkpoints and pending rows of one container DB for one mapping."""

    def __init__(self, status_file, db_id, aws_bucket, policy, max_pending):
        self.status_file = status_file
        self.db_id = db_id
        self.aws_bucket = aws_bucket
        self.policy = policy
        self.max_pending = max_pending
        self.last_row = 0
        self.last_verified_row = 0
        self.pending = {}
        # Loaded from an entry for this bucket and policy: an earlier run may have propagated
        # rows past ``last_row`` (it saves the checkpoint every so often, not after every row).
        self.resumed = False
        self.inherited = False  # a new DB of a container other DBs were crawled for
        self.saved = False      # the entry is on disk (loaded, or written since)

    def save(self, replace=False):
        """Write the entry."""
        self.status_file.update_entry(self.db_id, {
            'last_row': self.last_row,
            'last_verified_row': self.last_verified_row,
            'aws_bucket': self.aws_bucket,
            'policy': self.policy,
            'pending': self.pending,
        }, replace=replace)
        self.saved = True

    def is_pending(self, rowid):
        return str(rowid) in self.pending

    def pending_full(self):
        return len(self.pending) >= self.max_pending

    def record(self, row, due, error, verify=False):
        """Put ``row`` in (or update it in) the pending list; False when the list is full."""
        key = str(row['ROWID'])
        entry = self.pending.get(key)
        if entry is None:
            if self.pending_full():
                return False
            entry = {'name': row['name'], 'attempts': 0, 'verify': verify}
            self.pending[key] = entry
        entry['attempts'] += 1
        entry['due'] = due
        entry['error'] = error
        return True

    def attempts(self, rowid):
        """How many times the row was handed to the sync side so far (0 if not pending)."""
        entry = self.pending.get(str(rowid))
        return entry['attempts'] if entry else 0

    def done(self, rowid):
        self.pending.pop(str(rowid), None)

    def due_rows(self, now):
        """(rowid, entry) of pending rows due at ``now``, in ROWID order."""
        return sorted((int(k), v) for k, v in self.pending.items() if v.get('due', 0) <= now)

    def next_due(self):
        return min((v.get('due', 0) for v in self.pending.values()), default=None)

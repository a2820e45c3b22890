"""Telling, without opening it, that a container DB did not change since its last crawl.

A full cycle looks at every mapped DB every ``poll_interval``. Under a ``"/*"`` mapping that is
every container of the account, most of them idle, and opening one (a sqlite connection, the
pending-file merge, the status file, a handful of queries) costs more CPU than the few rows
an idle container ever brings. So a crawl that left nothing to do records the DB's *stamp*
(:class:`Quiet`), and later passes skip the DB while the stamp is the same and none of the
moments the crawl noted (a pending row due, a row coming due for verification, container-level
work) has come.

The stamp is exact, not a guess from modification times (a clock tick is their granularity:
a write just after a crawl can leave them equal):

* every ``*.db`` file of the DB's directory (a sharding root has two): its inode and SQLite's
  *file change counter* (header bytes 24-27), which every transaction that modifies the file
  increments in the rollback-journal mode Swift uses; so a merge, a replicated row, a metadata
  or shard-range update, a file replaced by rsync all change it;
* every ``*.pending`` file: inode, size and modification time. Swift appends each object
  update to it, so its size only grows until a merge empties it (which changes the counter);
* the container's status file, taken after the crawl's last write (inode, size, mtime: every
  write of ours is a rename of a new file): an operator's edit or a lost file is seen.

The DB part is taken after the crawl merged the pending file and before it read any row, and
the stamp is kept only when no pending file holds anything then: a row appended between the
merge and the stamp would be neither read nor newer than the stamp.
"""
import os
import struct

SQLITE_MAGIC = b'SQLite format 3\x00'
_COUNTER = struct.Struct('>I')      # header bytes 24-27: the file change counter


def _db_file(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        header = os.pread(fd, 28, 0)
        st = os.fstat(fd)
    finally:
        os.close(fd)
    if len(header) < 28 or not header.startswith(SQLITE_MAGIC):
        return None
    return st.st_ino, _COUNTER.unpack_from(header, 24)[0]


def db_stamp(db_path):
    """The stamp of the DB files in ``db_path``'s directory, or None when it cannot be told
    (a file not a SQLite DB, a pending file with rows not merged yet, a file that went)."""
    dirname = os.path.dirname(db_path)
    try:
        names = sorted(n for n in os.listdir(dirname) if n.endswith(('.db', '.pending')))
        parts = []
        for name in names:
            path = os.path.join(dirname, name)
            if name.endswith('.db'):
                found = _db_file(path)
                if found is None:
                    return None
            else:
                st = os.stat(path)
                if st.st_size:
                    return None
                found = (st.st_ino, st.st_size, st.st_mtime_ns)
            parts.append((name,) + found)
    except OSError:
        return None
    return tuple(parts)


def file_stamp(path):
    """(inode, size, mtime) of ``path``; None when it does not exist."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


class Quiet:
    """What a crawl that left nothing to do knew about one DB, until it changes.

    ``db``, ``status``: the stamps; ``wake``: epoch seconds of the first moment a full pass
    would have work with the DB unchanged (a row due for verification, container-level work);
    ``due``: that of the first pending row (a quick pass's work too); ``at``: when the crawl
    ended; ``hooks``: what the crawler's progress hooks read then (a re-drive request);
    ``shards``: the shard jobs the crawl found; ``pending``: its pending rows (the count);
    ``db_id``, ``newest_row``: the DB's id and highest ROWID (what the node report would
    open the DB for, :mod:`s3_sync.status.report`)."""
    __slots__ = ('db', 'status', 'wake', 'due', 'at', 'hooks', 'shards', 'pending', 'db_id',
                 'newest_row')

    def __init__(self, db, status, wake, due, at, hooks=(), shards=(), pending=0, db_id=None,
                 newest_row=None):
        self.db = db
        self.status = status
        self.wake = wake
        self.due = due
        self.at = at
        self.hooks = hooks
        self.shards = shards
        self.pending = pending
        self.db_id = db_id
        self.newest_row = newest_row

    def holds(self, db_path, status_path, now, full, since):
        """True when a pass now would find nothing to do: no moment came, the status file
        and the DB are as the crawl left them. ``since``: epoch seconds before which a
        stamp is too old to trust (the periodic re-read)."""
        if self.at < since:
            return False
        if self.due is not None and self.due <= now:
            return False
        if full and self.wake <= now:
            return False
        return file_stamp(status_path) == self.status and db_stamp(db_path) == self.db

"""Wake the crawler within a moment of a client PUT instead of every ``poll_interval``.

Swift records an object PUT/POST/DELETE by appending to ``<hash>.db.pending`` next to the
container DB (and merges it into ``<hash>.db`` later), so an inotify watch on the DB's directory
sees every change as it happens. inotify is reached through ctypes on libc (no third-party
package) and waited on through eventlet's hub, so waiting never blocks other green threads.

Only ``*.db.pending`` writes and new ``*.db`` files count: the ``.lock`` file Swift opens on
every broker access, and in-place writes to ``.db`` (our own merges of ``.pending``) would
otherwise wake us in a loop. Rows that arrive by replication only (``.db`` written in place) are
picked up by the periodic full cycle.

Without inotify (no libc symbol, watch limit reached) ``wait`` just sleeps: plain polling.
"""
import ctypes
import ctypes.util
import errno
import os
import struct
import time

import eventlet
from eventlet import hubs, patcher

# The daemon monkey-patches os; the green os.read waits for data instead of raising EAGAIN on
# an empty non-blocking fd, which would hang draining the queue. Read the real way.
_read = patcher.original('os').read

IN_MODIFY = 0x00000002
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_IGNORED = 0x00008000
IN_Q_OVERFLOW = 0x00004000
IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = os.O_CLOEXEC
WATCH_MASK = IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE

_EVENT = struct.Struct('iIII')   # struct inotify_event: wd, mask, cookie, len (+ name[len])
DEBOUNCE = 0.03                  # a burst of writes (one PUT = several events) is one wake-up


class _Expired(Exception):
    """Private timeout for trampoline, so an outer eventlet.Timeout is never swallowed."""


def _load_libc():
    libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6', use_errno=True)
    libc.inotify_init1.argtypes = [ctypes.c_int]
    libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
    libc.inotify_rm_watch.argtypes = [ctypes.c_int, ctypes.c_int]
    return libc


def parse_events(buf):
    """[(wd, mask, name)] from the bytes read off an inotify fd."""
    events = []
    offset = 0
    while offset + _EVENT.size <= len(buf):
        wd, mask, _cookie, length = _EVENT.unpack_from(buf, offset)
        offset += _EVENT.size
        name = buf[offset:offset + length].rstrip(b'\0').decode('utf-8', 'surrogateescape')
        offset += length
        events.append((wd, mask, name))
    return events


def is_interesting(mask, name):
    if name.endswith('.db.pending'):
        return True
    return name.endswith('.db') and bool(mask & (IN_CREATE | IN_MOVED_TO))


class Watcher:
    """Watches the directories of container DBs; ``wait`` returns the DB paths that changed."""

    def __init__(self, logger, debounce=DEBOUNCE):
        self.logger = logger
        self.debounce = debounce
        self._fd = None
        self._wd_dir = {}     # watch descriptor -> directory
        self._dir_wd = {}     # directory -> watch descriptor
        self._dir_dbs = {}    # directory -> set of watched DB paths in it
        self._warned = False
        try:
            self._libc = _load_libc()
            fd = self._libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
            if fd < 0:
                raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
            self._fd = fd
        except (OSError, AttributeError) as exc:
            self._fall_back('inotify unavailable (%s)' % exc)

    @property
    def active(self):
        return self._fd is not None

    def _fall_back(self, why):
        if not self._warned:
            self._warned = True
            self.logger.warning('%s: new rows are found every poll_interval only', why)

    def watch(self, db_path):
        directory = os.path.dirname(db_path)
        self._dir_dbs.setdefault(directory, set()).add(db_path)
        if self._fd is None or directory in self._dir_wd:
            return
        wd = self._libc.inotify_add_watch(self._fd, os.fsencode(directory), WATCH_MASK)
        if wd < 0:
            err = ctypes.get_errno()
            if err in (errno.ENOENT, errno.ENOTDIR):
                return  # the DB does not exist yet; the next full cycle finds it
            self._fall_back('cannot watch %s (%s)' % (directory, os.strerror(err)))
            return
        self._wd_dir[wd] = directory
        self._dir_wd[directory] = wd

    def watch_only(self, db_paths):
        """Watch exactly ``db_paths`` (the DBs the last cycle crawled).

        Returns the paths that were not watched before: a change to them between their crawl
        and now raised no event, so the caller must look at them once more."""
        already = set(self._dir_wd)
        wanted = {os.path.dirname(p) for p in db_paths}
        for directory in list(self._dir_dbs):
            if directory not in wanted:
                self._unwatch(directory)
        for directory in wanted:
            self._dir_dbs.pop(directory, None)
        for path in db_paths:
            self.watch(path)
        return {p for p in db_paths if os.path.dirname(p) not in already}

    def _unwatch(self, directory):
        self._dir_dbs.pop(directory, None)
        wd = self._dir_wd.pop(directory, None)
        if wd is not None:
            self._wd_dir.pop(wd, None)
            if self._fd is not None:
                self._libc.inotify_rm_watch(self._fd, wd)

    def _drain(self):
        """DB paths with interesting events already queued on the fd."""
        changed = set()
        while True:
            try:
                buf = _read(self._fd, 65536)
            except BlockingIOError:
                return changed
            if not buf:
                return changed
            for wd, mask, name in parse_events(buf):
                if mask & IN_Q_OVERFLOW:  # events were lost: assume everything changed
                    for dbs in self._dir_dbs.values():
                        changed.update(dbs)
                    continue
                directory = self._wd_dir.get(wd)
                if directory is None:
                    continue
                if mask & IN_IGNORED:  # the directory went away
                    self._wd_dir.pop(wd, None)
                    self._dir_wd.pop(directory, None)
                    continue
                if is_interesting(mask, name):
                    changed.update(self._dir_dbs.get(directory, ()))

    def wait(self, timeout):
        """Block (green) up to ``timeout`` seconds; the set of watched DB paths that changed."""
        timeout = max(0.0, timeout)
        if self._fd is None:
            eventlet.sleep(timeout)
            return set()
        deadline = time.monotonic() + timeout
        changed = self._drain()
        while not changed:
            left = deadline - time.monotonic()
            if left <= 0:
                return changed
            try:
                hubs.trampoline(self._fd, read=True, timeout=left, timeout_exc=_Expired)
            except _Expired:
                return changed
            changed = self._drain()
        eventlet.sleep(self.debounce)
        changed |= self._drain()
        return changed

    def close(self):
        if self._fd is not None:
            hubs.notify_close(self._fd)
            os.close(self._fd)
            self._fd = None
        self._wd_dir.clear()
        self._dir_wd.clear()
        self._dir_dbs.clear()

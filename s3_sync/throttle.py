"""Rails on what the daemon sends to the remotes: the delete rail and the throttles.

**Throttles**: ``max_requests_per_second`` and ``max_bytes_per_second`` (bytes sent), global
and per mapping (0: none, the default), as token buckets shared by all green threads of the
daemon (:class:`TokenBucket`, :class:`Throttles`) and, through a small state file per bucket in
``status_dir`` (:class:`SharedTokenBucket`), by every process of the node: the daemon's
``processes`` and a ``resync`` running beside it take from one rate, so a limit holds per node.
The daemon gives each provider its mapping's :class:`Throttle` (``provider.throttle``, S3 and
Swift alike); the provider's transport takes
from it before every HTTP request it sends to the remote (retries, parts, segments, HEADs,
listings, deletes and Swift auth included): S3 through a botocore ``before-send`` hook, Swift
through its connections (``providers.swift_conn``).

**Delete rail** (like rclone's ``--max-delete``): per mapping, at most ``max_deletes_per_pass``
propagated deletes and ``max_delete_bytes_per_pass`` bytes of deleted remote objects in one full
pass (0: no limit, the default). The first delete past a limit trips the rail: from then on
every delete of that mapping is held (the row stays pending with the error
``delete held by the delete rail``, re-checked every ``HOLD_SECONDS``), one line is logged, the
node report and ``status`` flag it, and the trip is kept in ``<status_dir>/.delete-rails`` so a
restart does not let the deletes through. ``swift-s3-sync retry-failed --allow-deletes``
releases it: the deletes written up to the request go through (the limit does not count them);
later ones count afresh.
"""
import fcntl
import hashlib
import json
import math
import os
import struct
import time

from s3_sync.crawler.failures import HELD
from s3_sync.crawler.progress import atomic_write_json
from s3_sync.rows import row_timestamps
from s3_sync.sync.outcome import Retry

RAILS_FILE = '.delete-rails'
THROTTLE_FILE = '.throttle-'    # + a hash of the bucket's mapping and kind
HOLD_SECONDS = 300.0


def mapping_label(mapping):
    return '%s/%s -> %s' % (mapping.account, mapping.container, mapping.aws_bucket)


class DeleteRails:
    def __init__(self, status_dir, logger, clock=time.time, process=0):
        # One file per process of the node (each crawls its own containers).
        name = RAILS_FILE + ('.%d' % process if process else '')
        self.path = os.path.join(status_dir, name) if status_dir else None
        self.logger = logger
        self.clock = clock
        self.counts = {}        # mapping label -> [deletes, bytes] this pass
        self.released = {}      # mapping label -> deletes written up to then pass freely
        self.tripped = self._load()

    @staticmethod
    def limited(mapping):
        return bool(mapping.max_deletes_per_pass or mapping.max_delete_bytes_per_pass)

    @staticmethod
    def needs_size(mapping):
        return bool(mapping.max_delete_bytes_per_pass)

    def _load(self):
        if not self.path:
            return {}
        try:
            with open(self.path, 'rb') as f:
                data = json.loads(f.read().decode('utf-8'))
            return data if isinstance(data, dict) else {}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            # Unreadable: hold nothing back by mistake forever, but say so.
            self.logger.warning('ignoring %s: %s', self.path, exc)
            return {}

    def _save(self):
        if self.path:
            try:
                atomic_write_json(self.path, self.tripped)
            except OSError as exc:
                self.logger.warning('cannot save %s: %s', self.path, exc)

    def new_pass(self, *_args):
        """A full pass ended: the per-pass counts start again (a crawler observer)."""
        self.counts = {}

    def hold(self, mapping, account, container, row, size=0):
        """None when the delete of ``row`` may go to the remote (and it is counted), else the
        Retry that holds it."""
        if not self.limited(mapping):
            return None
        label = mapping_label(mapping)
        deleted_at = float(row_timestamps(row)[0])
        if deleted_at <= self.released.get(label, 0):
            return None
        if label not in self.tripped:
            count = self.counts.setdefault(label, [0, 0])
            over = []
            if mapping.max_deletes_per_pass and count[0] + 1 > mapping.max_deletes_per_pass:
                over.append('%d deletes' % mapping.max_deletes_per_pass)
            if mapping.max_delete_bytes_per_pass and \
                    count[1] + size > mapping.max_delete_bytes_per_pass:
                over.append('%d bytes' % mapping.max_delete_bytes_per_pass)
            if not over:
                count[0] += 1
                count[1] += size
                return None
            self.tripped[label] = {
                'since': self.clock(), 'account': account, 'container': container,
                'aws_bucket': mapping.aws_bucket,
                'reason': 'more than %s in one pass' % ' or '.join(over)}
            self._save()
            self.logger.error(
                'delete rail tripped for %s: more than %s in one pass; deletes of this mapping '
                'are held until `swift-s3-sync retry-failed --allow-deletes`', label,
                ' or '.join(over))
        return Retry(self.clock() + HOLD_SECONDS, '%s (%s)' % (
            HELD, self.tripped[label]['reason']))

    def release(self, mapping, until):
        """Let the deletes of ``mapping`` written up to ``until`` (epoch) through."""
        label = mapping_label(mapping)
        self.released[label] = max(self.released.get(label, 0), until)
        if label in self.tripped and self.tripped[label]['since'] <= until:
            del self.tripped[label]
            self._save()
            self.logger.info('delete rail of %s released', label)

    def held(self):
        """The tripped mappings, for the node report."""
        return [dict(v, mapping=k) for k, v in sorted(self.tripped.items())]


def read_held(status_dir):
    """The tripped rails as saved by the daemon's processes (for ``status``); [] when none."""
    held = []
    try:
        names = sorted(n for n in os.listdir(status_dir) if n.startswith(RAILS_FILE))
    except OSError:
        return []
    for name in names:
        try:
            with open(os.path.join(status_dir, name), 'rb') as f:
                data = json.loads(f.read().decode('utf-8'))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            held.extend(dict(v, mapping=k) for k, v in sorted(data.items()))
    return held


class TokenBucket:
    """``rate`` tokens a second, at most ``rate`` (one second's worth) saved up, shared by
    every green thread of the process. A taker that finds too few tokens takes them anyway
    (the bucket goes into debt) and sleeps until the debt is paid: takers are served in
    arrival order, a large take (a big object's bytes) just waits longer, and no lock is
    needed (nothing switches green threads between reading and updating the bucket)."""

    def __init__(self, rate, clock=time.monotonic, sleep=None):
        self.rate = float(rate)
        self.capacity = max(1.0, self.rate)
        self.tokens = 0.0       # no burst at start: the rate holds from the first request
        self.clock = clock
        self.last = clock()
        self.sleep = sleep
        self.waited = 0.0       # seconds spent waiting, all takers together

    def take(self, n=1.0):
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
        self.last = now
        self.tokens -= n
        if self.tokens < 0:
            wait = -self.tokens / self.rate
            self.waited += wait
            (self.sleep or _green_sleep)(wait)


class SharedTokenBucket(TokenBucket):
    """A :class:`TokenBucket` whose state (tokens, last refill) lives in the file ``path``,
    taken under ``flock``: every process that opens the same file takes from one rate.
    ``time.monotonic`` is one clock for the whole host, so the processes agree on it. The
    lock is held for a read and a write of 16 bytes, never across the sleep."""

    STATE = struct.Struct('<dd')

    def __init__(self, rate, path, clock=time.monotonic, sleep=None):
        super().__init__(rate, clock, sleep)
        # Opened here, in the process that takes: a descriptor inherited across a fork would
        # share its flock with the parent and lock nothing between them.
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        # No burst at start here either: what a stopped run saved up is dropped (a debt,
        # what other processes just sent, is kept).
        self._update(0.0, most=0.0)

    def take(self, n=1.0):
        tokens = self._update(n)
        if tokens < 0:
            wait = -tokens / self.rate
            self.waited += wait
            (self.sleep or _green_sleep)(wait)

    def _update(self, n, most=None):
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        try:
            now = self.clock()
            tokens, last = self._read(now)
            tokens = min(self.capacity if most is None else most,
                         tokens + (now - last) * self.rate) - n
            os.pwrite(self.fd, self.STATE.pack(tokens, now), 0)
            return tokens
        finally:
            fcntl.flock(self.fd, fcntl.LOCK_UN)

    def _read(self, now):
        data = os.pread(self.fd, self.STATE.size, 0)
        if len(data) == self.STATE.size:
            tokens, last = self.STATE.unpack(data)
            # A state from before a reboot (another monotonic clock) or a damaged file
            # starts afresh, as a new bucket does.
            if math.isfinite(tokens) and math.isfinite(last) and last <= now:
                return tokens, last
        return 0.0, now


def _green_sleep(seconds):
    import eventlet
    eventlet.sleep(seconds)


class Throttle:
    """What one mapping's remote requests take from: its own buckets and the global ones.

    ``request(nbytes)`` before each request (one request token, and ``nbytes`` byte tokens
    when it has a body of known length); ``chunks(body)`` counts a body of unknown length
    as it is sent."""

    def __init__(self, buckets=()):
        self.buckets = [b for b in buckets if b]

    def __bool__(self):
        return bool(self.buckets)

    def request(self, nbytes=0):
        for found in self.buckets:
            if 'requests' in found:
                found['requests'].take(1)
        self.sent(nbytes)

    def sent(self, nbytes):
        if nbytes:
            for found in self.buckets:
                if 'bytes' in found:
                    found['bytes'].take(nbytes)

    def chunks(self, body):
        for chunk in body:
            self.sent(len(chunk))
            yield chunk


class Throttles:
    """The global and per-mapping request and byte rates to the remotes (0: none) of one
    daemon: ``for_mapping`` gives the :class:`Throttle` every provider of a mapping shares.
    With ``shared_dir`` (the node's ``status_dir``) each bucket's state is a file there, shared
    with the node's other processes; without it the buckets are this process's alone."""

    def __init__(self, conf, shared_dir=None):
        self.shared_dir = shared_dir
        self.global_buckets = self._buckets(conf, 'global')
        self.mapping_buckets = {}
        self.throttles = {}

    def _buckets(self, section, label):
        buckets = {}
        for kind, rate in (('requests', section.max_requests_per_second),
                           ('bytes', section.max_bytes_per_second)):
            if rate:
                buckets[kind] = self._bucket(rate, label, kind)
        return buckets

    def _bucket(self, rate, label, kind):
        if not self.shared_dir:
            return TokenBucket(rate)
        name = hashlib.sha1(('%s %s' % (label, kind)).encode('utf-8')).hexdigest()[:16]
        try:
            return SharedTokenBucket(rate, os.path.join(self.shared_dir, THROTTLE_FILE + name))
        except OSError:
            # status_dir unusable here: the daemon reports that itself; the limit still
            # holds for this process
            return TokenBucket(rate)

    def for_mapping(self, mapping):
        label = mapping_label(mapping)
        if label not in self.throttles:
            self.mapping_buckets[label] = self._buckets(mapping, label)
            self.throttles[label] = Throttle((self.global_buckets,
                                              self.mapping_buckets[label]))
        return self.throttles[label]

    def describe(self):
        """For the node report: each limit with the time spent waiting on it."""
        out = {}
        for label, buckets in [('global', self.global_buckets)] + sorted(
                self.mapping_buckets.items()):
            for kind, bucket in buckets.items():
                out['%s %s/s' % (label, kind)] = '%g (waited %.1fs)' % (bucket.rate,
                                                                       bucket.waited)
        return out

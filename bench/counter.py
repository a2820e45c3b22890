"""A request counter that also remembers when each request reached and left the S3 server.

The devenv's :class:`RequestCounter` counts by method; the benchmark also needs per-request
times (first/last PUT of a run, the arrival of each key for the lag measurement), so this
subclass records ``(t_arrived, t_answered, method, path, status)`` for every request.
"""
import threading
import time
from urllib.parse import unquote

from devenv.request_counter import RequestCounter


def is_object_put(method, path, status):
    """A successful whole-object PUT: not a bucket creation, not a multipart part."""
    if method != 'PUT' or not status or not 200 <= status < 300:
        return False
    path, _, query = path.partition('?')
    return '/' in path.strip('/') and 'uploadId=' not in query


class WaitsForPuts:
    """``wait_for_puts`` over what ``count_ok_puts()`` and ``ok_puts()`` (``[(key, answered)]``
    in answer order) report: the counter in front of a server and the access log behind one."""

    def wait_for_puts(self, n, timeout, procs=(), poll=0.02):
        """Block until ``n`` successful (object) PUTs were answered; the time of the n-th, or
        None.

        Gives up early when every process in ``procs`` has exited (nothing more will come)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.count_ok_puts() >= n:
                return self.ok_puts()[n - 1][1] if n else time.time()
            if procs and all(p.poll() is not None for p in procs):
                time.sleep(0.2)
                if self.count_ok_puts() < n:
                    return None
            time.sleep(poll)
        return None


class TimedCounter(WaitsForPuts, RequestCounter):
    def __init__(self, target, **kwargs):
        self.events = []
        self.ok_put_count = 0
        self._events_lock = threading.Lock()
        super().__init__(target, **kwargs)

    def reset(self):
        super().reset()
        with self._events_lock:
            self.events = []
            self.ok_put_count = 0

    def _handler_class(self):
        base = super()._handler_class()
        counter = self

        class Timed(base):
            def send_response(self, code, message=None):
                self._status = code
                super().send_response(code, message)

            def _timed(self):
                arrived = time.time()
                self._status = None
                base._proxy(self)
                event = (arrived, time.time(), self.command, unquote(self.path), self._status)
                with counter._events_lock:
                    counter.events.append(event)
                    if is_object_put(*event[2:]):
                        counter.ok_put_count += 1

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _timed

        return Timed

    def snapshot(self):
        with self._events_lock:
            return list(self.events)

    def ok_puts(self):
        """[(t_arrived, t_answered, path)] of successful object PUTs, in answer order."""
        puts = [(a, d, p.split('?')[0]) for a, d, m, p, s in self.snapshot()
                if is_object_put(m, p, s)]
        return sorted(puts, key=lambda e: e[1])

    def count_ok_puts(self):
        return self.ok_put_count

    def by_method(self):
        counts = {}
        for _a, _d, method, _p, _s in self.snapshot():
            counts[method] = counts.get(method, 0) + 1
        return counts

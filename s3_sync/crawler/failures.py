"""Re-driving failed rows: ``swift-s3-sync retry-failed``.

A row whose handling failed stays in its DB's pending list (status file) with its last error,
its attempts and a due time from the bounded backoff (``s3_sync.retry``, at most 300 s), and
the rows after it go on. ``retry-failed`` makes those rows due now, without waiting for their
backoff: it writes a request file ``<status_dir>/.retry-failed`` (JSON: ``time``,
``containers`` or null for all, ``allow_deletes``), and the daemon, as it loads each DB's
progress, makes every failed row of a named container due at once — each row once per request
(``redriven`` in the row's pending entry holds the time of the request applied). The daemon
only reads the file, so the request works the same with a running daemon (at its next pass)
and with ``--once`` under cron (at the next run), and no write of the command can race the
daemon's own status-file writes.

``allow_deletes`` also releases deletes held by the delete rail (:mod:`s3_sync.throttle`'s
``DeleteRails``): the held rows are re-driven and let through.
"""
import json
import os
import time

from s3_sync.crawler.progress import atomic_write_json
from s3_sync.crawler.stamps import file_stamp

REQUEST_FILE = '.retry-failed'
HELD = 'delete held by the delete rail'


def request_path(status_dir):
    return os.path.join(status_dir, REQUEST_FILE)


def write_request(status_dir, containers=None, allow_deletes=False, clock=time.time):
    request = {'time': clock(), 'containers': sorted(containers) if containers else None,
               'allow_deletes': bool(allow_deletes)}
    atomic_write_json(request_path(status_dir), request)
    return request


def is_failed(entry):
    return isinstance(entry, dict) and entry.get('error') is not None


def is_held(entry):
    return is_failed(entry) and str(entry['error']).startswith(HELD)


class Redrive:
    """The daemon's side: applies the newest request to each DB's progress as it is loaded."""

    def __init__(self, status_dir, logger, clock=time.time, rails=None):
        self.path = request_path(status_dir)
        self.logger = logger
        self.clock = clock
        self.rails = rails
        self._seen = None       # (mtime, size) of the file last read
        self._request = None

    def stamp(self):
        """What the request file looks like now: the crawler reads every DB again when it
        changes, so a new request reaches DBs it would have skipped as unchanged."""
        return file_stamp(self.path)

    def current(self):
        try:
            st = os.stat(self.path)
        except OSError:
            self._seen = self._request = None
            return None
        if (st.st_mtime, st.st_size) != self._seen:
            self._seen = (st.st_mtime, st.st_size)
            try:
                with open(self.path, 'rb') as f:
                    request = json.loads(f.read().decode('utf-8'))
                float(request['time'])
            except (OSError, ValueError, TypeError, KeyError) as exc:
                self.logger.warning('ignoring %s: %s', self.path, exc)
                request = None
            self._request = request
            if request is not None:
                self.logger.info('retry-failed requested at %s%s%s', time.strftime(
                    '%Y-%m-%d %H:%M:%S UTC', time.gmtime(request['time'])),
                    ' for %s' % ', '.join(request['containers'])
                    if request.get('containers') else '',
                    ', deletes allowed' if request.get('allow_deletes') else '')
        return self._request

    def __call__(self, job, progress):
        """The crawler's progress hook: make the failed rows of ``job``'s container due."""
        request = self.current()
        if request is None:
            return
        containers = request.get('containers')
        if containers and job.container not in containers:
            return
        now = self.clock()
        if request.get('allow_deletes') and self.rails is not None:
            self.rails.release(job.mapping, request['time'])
        count = 0
        for entry in progress.pending.values():
            if not is_failed(entry) or entry.get('redriven', 0) >= request['time']:
                continue
            if is_held(entry) and not request.get('allow_deletes'):
                continue
            entry['due'] = min(entry.get('due', now), now)
            entry['redriven'] = request['time']
            count += 1
        if count:
            self.logger.info('%s/%s: %d failed row(s) re-driven', job.account, job.container,
                             count)

"""When to kill: at random moments, while a part of a multipart upload is being forwarded, while
a segment of a large object is being PUT to a Swift remote (between its segments and its
manifest), and right after the archiver's fenced local delete began (its POST reached an object
server).

Each kill is -9 (no clean stop), and is followed by a look for evidence of where it landed:
an incomplete multipart upload on the S3 server, segment PUTs cut short on a Swift remote, an
object left with the archiver's fence X-Delete-At (its fence POST done, its DELETE not)."""
import os
import re
import time
from urllib.parse import unquote

import swiftclient

from s3_sync.local import is_fence

# object-server access log line of a request from the sync daemon's InternalClient
LOG_LINE = re.compile(r'"(POST|DELETE|HEAD|GET) /[^/ ]+/\d+/([^/ ]+)/([^/ ]+)/([^" ]+)" '
                      r'(\d+) .*"swift-s3-sync"')
MOMENTS = ('random', 'multipart', 'segments', 'archive-delete')


class ObjectServerLogs:
    """New lines of the environment's object-server logs, parsed."""

    def __init__(self, info):
        log_dir = info['log_dir']
        self.paths = [os.path.join(log_dir, 'object-server-%d.log' % n['index'])
                      for n in info['nodes']]
        self.offsets = {p: _size(p) for p in self.paths}

    def new(self):
        """[(method, account, container, name, status)] logged since the last call."""
        found = []
        for path in self.paths:
            try:
                with open(path, 'rb') as f:
                    f.seek(self.offsets[path])
                    data = f.read()
            except OSError:
                continue
            cut = data.rfind(b'\n') + 1            # only whole lines
            self.offsets[path] += cut
            for line in data[:cut].decode('utf-8', 'replace').splitlines():
                m = LOG_LINE.search(line)
                if m:
                    method, account, container, name, status = m.groups()
                    found.append((method, unquote(account), unquote(container), unquote(name),
                                  int(status)))
        return found


def _size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


class Killer:
    """Kills the daemons of a run at the moments asked for, and records what it hit."""

    def __init__(self, run, rng):
        self.run = run
        self.rng = rng
        self.logs = ObjectServerLogs(run.info)
        self.fenced = {}            # (container, name) -> time its fence POST was logged
        self.parts_in_flight = set()
        self.segments_cut = []

    # -- waiting for a moment ----------------------------------------------------------
    def _scan_logs(self):
        archive = {lane.container for lane in self.run.lanes if lane.archive}
        for method, _account, container, name, status in self.logs.new():
            if container not in archive:
                continue
            if method == 'POST' and status == 202:
                self.fenced[(container, name)] = time.time()
            elif method == 'DELETE':
                self.fenced.pop((container, name), None)

    def wait_for(self, moment, timeout):
        """Block until ``moment`` comes (True) or ``timeout`` passes (False)."""
        deadline = time.time() + timeout
        if moment == 'random':
            time.sleep(self.rng.uniform(0.0, 1.0))
            return True
        while time.time() < deadline:
            if moment == 'multipart':
                if any(lane.proxy.in_flight['UploadPart'] > 0 for lane in self.run.lanes):
                    return True
            elif moment == 'segments':
                if self._segments_in_flight():
                    return True
            else:
                before = set(self.fenced)
                self._scan_logs()
                if set(self.fenced) - before:
                    return True
            time.sleep(0.01)
        return False

    def _segments_in_flight(self):
        """Paths of segment PUTs to a Swift remote being forwarded right now."""
        return [r['path'] for lane in self.run.lanes if lane.view.kind == 'swift'
                for r in lane.proxy.snapshot()
                if r['kind'] == 'PutObject' and r['done'] is None and
                r['path'].split('/')[3].endswith('_segments')]

    # -- killing ----------------------------------------------------------------------
    def kill(self, moment, timeout=60, not_before=None):
        """Wait until ``not_before`` (a time), then for ``moment`` (falling back to a random
        one after ``timeout``), kill, look for evidence, restart the killed daemons. Returns
        the note line."""
        if not_before:
            time.sleep(max(0.0, not_before - time.time()))
        self._scan_logs()
        self.fenced.clear()
        came = self.wait_for(moment, timeout)
        running = self.run.daemons.running()
        if moment == 'random' and running:
            victims = self.rng.choice([running, [self.rng.choice(running)]])
        else:
            victims = running      # which daemon uploads or deletes is not visible here
        t = time.time()
        self.run.daemons.kill(victims)
        # the multipart uploads whose parts were on their way when the daemons died
        self.parts_in_flight = {r['upload_id'] for lane in self.run.lanes
                                for r in lane.proxy.snapshot()
                                if r['kind'] == 'UploadPart' and r['done'] is None}
        self.segments_cut = self._segments_in_flight()
        elapsed = time.time() - self.run.started
        # in-flight uploads at the proxies and checkpoints are what a restart may redo
        self.run.allow_in_flight(victims)
        evidence = self._evidence(moment) if came else 'moment did not come within %ds' % timeout
        tally = self.run.tally
        with tally.lock:
            tally.kills[moment] += 1
            if came and evidence.startswith('HIT'):
                tally.kill_hits[moment] += 1
        note = '%s t=%.1fs %s: killed nodes %s; %s' % (
            self.run.name, elapsed, moment, [v + 1 for v in victims], evidence)
        tally.kill_notes.append(note)
        self.run.check_status_files('after kill at t=%.1fs' % (t - self.run.started))
        time.sleep(self.rng.uniform(0.2, 1.5))
        self.run.daemons.start(victims)
        return note

    def _evidence(self, moment):
        if moment == 'multipart':
            open_uploads = []
            for lane in self.run.lanes:
                open_uploads.extend(lane.view.incomplete_uploads())
            cut = [(k, u) for k, u in open_uploads if u in self.parts_in_flight]
            if cut:
                return 'HIT: %d multipart upload(s) cut short with parts in flight (%s)' % (
                    len(cut), ', '.join('/'.join(k.rsplit('/', 2)[-2:]) for k, _u in cut[:3]))
            return 'no multipart upload cut short (%d had parts in flight)' % len(
                self.parts_in_flight)
        if moment == 'segments':
            if self.segments_cut:
                return 'HIT: %d segment PUT(s) to a Swift remote cut short (%s)' % (
                    len(self.segments_cut), ', '.join(
                        '/'.join(p.rsplit('/', 2)[-2:]) for p in self.segments_cut[:3]))
            return 'no segment PUT in flight at the kill'
        if moment == 'archive-delete':
            time.sleep(0.3)         # requests in flight at the kill finish and get logged
            self._scan_logs()
            candidates = list(self.fenced)
            fenced = []
            conn = self.run.local
            for container, name in candidates:
                try:
                    headers = conn.head_object(container, name)
                except swiftclient.ClientException:
                    continue
                if is_fence(headers.get('x-delete-at')):
                    fenced.append(name)
            if fenced:
                return 'HIT: %d object(s) fenced but not yet deleted (%s)' % (
                    len(fenced), ', '.join(fenced[:3]))
            return ('archive deletes were running (%d fence POSTs without DELETE in the '
                    'logs), none caught between fence and delete' % len(candidates))
        return 'random'

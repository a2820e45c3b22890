"""Segments first on a Swift remote, watched during the run and checked at its end: the remote
never holds an SLO manifest whose segments are missing or other than it says.

A thread polls the Swift lanes' remote containers (straight from the second cluster, never
through a lane's FaultProxy) every ``POLL`` s: each listed SLO's raw manifest is read once per
manifest version (the listing's hash), and every segment it names is HEADed (ETag and size).
A segment that fails is confirmed before it counts (the manifest HEADed again, still the same
version, and the segment HEADed again): a listing may still show a manifest the daemon just
deleted, before it deleted its segments. Each confirmed case is a problem of the run, with the
time it was seen.
"""
import json
import threading
import time

import swiftclient

POLL = 1.0


class ManifestWatcher:
    def __init__(self, run, lanes):
        self.run = run
        self.lanes = [lane for lane in lanes if lane.view.kind == 'swift']
        self.manifests = {}         # (container, name, listing hash) -> [(path, etag, size)]
        self.polls = 0
        self.checked = 0            # SLO manifests found complete, over all polls
        self.found = []             # (t, lane, name, segment, what) confirmed
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self):
        if self.lanes:
            self._thread.start()
        return self

    def _loop(self):
        while not self._stop.wait(POLL):
            try:
                self.poll()
            except Exception as exc:        # the remote busy: the next poll looks again
                self.run.log('  manifest watch: %r' % exc)

    def poll(self):
        for lane in self.lanes:
            conn = lane.view.conn
            listing = conn.get_container(lane.view.container, full_listing=True)[1]
            for entry in listing:
                if 'slo_etag' in entry:
                    self._check(lane, conn, entry['name'], entry['hash'])
        self.polls += 1

    def _segments(self, conn, container, name, version):
        key = (container, name, version)
        if key not in self.manifests:
            _headers, body = conn.get_object(container, name,
                                             query_string='multipart-manifest=get')
            self.manifests[key] = [(e['name'].lstrip('/'), e['hash'], int(e['bytes']))
                                   for e in json.loads(body) if 'name' in e]
        return self.manifests[key]

    def _check(self, lane, conn, name, version):
        container = lane.view.container
        try:
            segments = self._segments(conn, container, name, version)
        except swiftclient.ClientException as err:
            if err.http_status == 404:
                return          # deleted since the listing
            raise
        for path, etag, size in segments:
            what = self._segment_fault(conn, path, etag, size)
            if what and self._still_manifest(conn, container, name, version) and \
                    self._segment_fault(conn, path, etag, size):
                t = time.time() - self.run.started
                self.found.append((t, lane.name, name, path, what))
                self.run.checker.problem(
                    '%s: remote manifest %s (t=%.1fs) names segment %s, which is %s' % (
                        lane, name, t, path, what))
                return
        self.checked += 1

    @staticmethod
    def _segment_fault(conn, path, etag, size):
        container, obj = path.split('/', 1)
        try:
            headers = conn.head_object(container, obj)
        except swiftclient.ClientException as err:
            if err.http_status == 404:
                return 'missing'
            raise
        if headers['etag'].strip('"') != etag or int(headers['content-length']) != size:
            return 'different (etag %s, %s bytes)' % (headers['etag'], headers[
                'content-length'])
        return None

    @staticmethod
    def _still_manifest(conn, container, name, version):
        """The same manifest version is still there (the ETag of a raw manifest GET is its
        md5, the listing's hash)."""
        try:
            headers = conn.head_object(container, name, query_string='multipart-manifest=get')
        except swiftclient.ClientException as err:
            if err.http_status == 404:
                return False
            raise
        return headers['etag'].strip('"') == version

    def stop(self):
        """Stop polling, then one last look (the end state counts too)."""
        if self._thread.is_alive():
            self._stop.set()
            self._thread.join()
            self.poll()
        return self

    def note(self):
        return ('manifest watch: %d polls of %s, %d SLO manifests found whole, %d found '
                'without a segment' % (self.polls, ', '.join(str(lane) for lane in self.lanes),
                                       self.checked, len(self.found)))

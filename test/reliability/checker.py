"""The invariants, written once and checked after every run.

1. Every object a client left in a container (sync or archive) is on the remote with the right
   bytes (md5 of a full GET), size, ETag, user metadata and content type.
2. No local object went unless its remote copy is right: the objects an archive container no
   longer holds (a HEAD each: listings may come from a lagging replica) are checked against
   the remote (a wrong or missing remote copy of a locally deleted object is a *loss*); a sync
   container must still hold every object. An archived object still local is reported.
3. Archived objects are readable through the cloud-shunt proxy, with the right bytes.
4. Every status file is valid JSON (also checked right after every kill).
5. No daemon log line contains 'Traceback'.
6. No multipart upload is left incomplete on an S3 remote (it would be billed forever).
7. No object was uploaded more than once beyond in-flight work: a second upload must be of a
   row a killed daemon had not checkpointed, an upload in flight when it was killed, or an
   upload whose answer never reached the daemon in time (a 'late' fault, a slow server).

Counted into the Tally: objects checked, shunt reads, uploads per object, losses.
"""
import concurrent.futures
import hashlib
import json
import os
import re
import threading
import time
import uuid

import swiftclient

from devenv.request_counter import UPLOAD_KINDS
from test.reliability.bugs import classify_leftover, known, traceback_bug
from test.reliability.lanes import local_conn

GET_THREADS = 6
# metadata the sync adds itself: large-object identity and markers (see s3_sync.metadata)
MARKER_PREFIX = 'swift-'
MARKERS = ('x-static-large-object', 'x-object-manifest')


RECORD = re.compile(r'^\[\d{4}-\d\d-\d\d [\d:,]+\] ')     # a log record's first line
# the header of a DEBUG log record from a library, not from the sync (s3-sync)
LIBRARY_DEBUG = re.compile(r'^\[[^\]]*\] (botocore|boto3|urllib3|s3transfer)[\w.]* \[DEBUG\]')


def is_marker(key):
    return key.startswith(MARKER_PREFIX) or key in MARKERS


def write_shunt_conf(path, mappings):
    tmp = '%s.%s.tmp' % (path, uuid.uuid4().hex[:6])
    with open(tmp, 'w') as f:
        json.dump({'containers': mappings}, f, indent=1)
    os.rename(tmp, path)


class Checker:
    def __init__(self, run):
        self.run = run
        self.tally = run.tally
        self.problems = []
        self.losses = 0
        self._local = threading.local()

    def problem(self, text, bug=None):
        """A broken invariant (``bug``: the known product bug that explains it)."""
        if not bug:
            self.problems.append(text)
        self.tally.problem(self.run.name, text, bug)

    # -- 4, 5 ---------------------------------------------------------------------------
    def status_files(self, when='at the end'):
        bad = []
        for path in self.run.daemons.status_files():
            if os.path.basename(path).startswith('.'):
                continue        # a temp file of an atomic write, cut short by a kill
            try:
                with open(path) as f:
                    json.load(f)
            except (OSError, ValueError) as exc:
                bad.append('%s (%s)' % (path, exc))
        for item in bad:
            self.problem('status file not valid JSON %s: %s' % (when, item))
        return not bad

    def daemon_logs(self):
        for index, text in self.run.daemons.logs().items():
            lines = text.splitlines()
            known = {}
            in_library_record = False
            for n, line in enumerate(lines):
                if RECORD.match(line):
                    # a library's DEBUG record may carry the traceback of an error it handled
                    in_library_record = bool(LIBRARY_DEBUG.match(line))
                if 'Traceback' not in line or in_library_record:
                    continue
                bug = traceback_bug(lines[n:n + 50], lines[n - 1] if n else '')
                if bug:
                    known[bug] = known.get(bug, 0) + 1
                    continue
                context = ' | '.join(lines[n:n + 12])[:1500]
                self.problem('node %d daemon log has a Traceback: %s' % (index + 1, context))
                break
            for bug, count in known.items():
                self.problem('node %d daemon log has %d Traceback(s) of %s' % (
                    index + 1, count, bug), bug)

    # -- 1, 2 ---------------------------------------------------------------------------
    def _conn(self, shunt):
        key = 'shunt' if shunt else 'local'
        conn = getattr(self._local, key, None)
        if conn is None:
            conn = local_conn(self.run.info, shunt=shunt)
            setattr(self._local, key, conn)
        return conn

    def _compare(self, lane, obj, got):
        """What is wrong with a remote copy (None when it is right)."""
        if got is None:
            return 'missing'
        md5, size, etag, meta, ctype = got
        wrong = []
        if (md5, size) != (obj.md5, obj.size):
            wrong.append('bytes: md5 %s size %s, expected %s %s' % (md5, size, obj.md5, obj.size))
        if etag != obj.remote_etag(lane.view.kind):
            wrong.append('etag %s, expected %s' % (etag, obj.remote_etag(lane.view.kind)))
        meta = {k.lower(): v for k, v in meta.items()}
        expected = {k.lower(): v for k, v in obj.meta.items()}
        extra = {k: v for k, v in meta.items() if k not in expected and not is_marker(k)}
        if any(meta.get(k) != v for k, v in expected.items()) or extra:
            wrong.append('metadata %s, expected %s' % (
                {k: v for k, v in meta.items() if not is_marker(k)}, expected))
        if ctype != obj.ctype:
            wrong.append('content-type %r, expected %r' % (ctype, obj.ctype))
        return '; '.join(wrong) or None

    def _local_state(self, lane, obj):
        """Is the local copy (proxy B: no shunt) still there with the right bytes?"""
        try:
            headers, body = self._conn(False).get_object(lane.container, obj.name)
        except swiftclient.ClientException as err:
            if err.http_status == 404:
                return False
            raise
        return hashlib.md5(body).hexdigest() == obj.md5

    def local_presence(self, lane, names):
        """{name: is it stored locally} from a HEAD each through proxy B (no shunt): the
        objects' truth, where a listing may come from a container replica that lags."""
        def head(name):
            try:
                self._conn(False).head_object(lane.container, name)
                return name, True
            except swiftclient.ClientException as err:
                if err.http_status == 404:
                    return name, False
                raise
        with concurrent.futures.ThreadPoolExecutor(GET_THREADS) as pool:
            return dict(pool.map(head, names))

    def lane_objects(self, lane):
        conn = self._conn(False)
        live = lane.workload.live()
        listed = lane.local_listing(conn)
        presence = self.local_presence(lane, sorted(set(live) | set(listed)))
        listing = {n for n, here in presence.items() if here}
        expected = {n: o for n, o in live.items() if not o.slo or lane.large_objects}
        unexpected_local = sorted(listing - set(live))
        if unexpected_local:
            self.problem('%s: local objects the client never left there: %s' % (
                lane, unexpected_local[:5]))
        gone = sorted(set(live) - listing)
        if gone and not lane.archive:
            self.problem('%s: %d objects went from the local sync container: %s' % (
                lane, len(gone), gone[:5]))
        if lane.archive:
            with self.tally.lock:
                self.tally.locally_deleted += len(gone)

        def check(obj):
            return obj, self._compare(lane, obj, lane.view.get(lane.shunt_mapping, obj.name))

        with concurrent.futures.ThreadPoolExecutor(GET_THREADS) as pool:
            results = list(pool.map(check, expected.values()))
        lost = []
        for obj, wrong in results:
            if not wrong:
                continue
            if obj.name not in listing and not self._local_state(lane, obj):
                lost.append(obj.name)
                self.problem('%s: LOST %s: deleted locally, remote copy %s' % (
                    lane, obj.name, wrong))
            else:
                self.problem('%s: %s is local but its remote copy is %s' % (
                    lane, obj.name, wrong))
        self.losses += len(lost)
        if lane.archive:
            self.leftovers(lane, listing, dict(results))
        # deleted by the client: gone from the remote too (sync lanes propagate deletes)
        remote = lane.view.listing(lane.shunt_mapping)
        if not lane.archive and lane.mapping.get('propagate_delete', True):
            stale = sorted(n for n, o in lane.workload.objects.items()
                           if o.deleted and n in remote)
            if stale:
                self.problem('%s: %d objects deleted by the client are still on the remote: '
                             '%s' % (lane, len(stale), stale[:5]))
        unknown = [n for n, o in lane.workload.objects.items() if o.unknown]
        if unknown:
            self.tally.note(self.run.name, '%s: %d client writes never succeeded, not checked: '
                            '%s' % (lane, len(unknown), unknown[:3]))
        with self.tally.lock:
            self.tally.objects_checked += len(results)
        return listing

    def leftovers(self, lane, listing, wrong):
        """Objects of an archive container still local though their remote copy is right."""
        for name in sorted(listing):
            obj = lane.workload.objects.get(name)
            if obj is None or wrong.get(obj) or name not in lane.workload.live():
                continue        # reported above
            try:
                headers = self._conn(False).head_object(lane.container, name)
            except swiftclient.ClientException:
                continue
            bug = classify_leftover(headers)
            self.problem('%s: %s still local, not archived (its remote copy is right; '
                         'x-delete-at %s)' % (lane, name, headers.get('x-delete-at')), bug)

    # -- 3 -------------------------------------------------------------------------------
    def shunt_reads(self, lanes, listings, timeout=60):
        archive = [lane for lane in lanes if lane.archive]
        if not archive:
            return
        path = self.run.info['sync_conf']
        write_shunt_conf(path, [lane.shunt_mapping for lane in archive])
        try:
            for lane in archive:
                archived = [o for n, o in lane.workload.live().items()
                            if n not in listings[lane.name]
                            and (lane.large_objects or not o.slo)]
                if not archived:
                    continue
                self._wait_for_shunt(lane, archived[0], timeout)

                def read(obj, lane=lane):
                    try:
                        _h, body = self._conn(True).get_object(lane.container, obj.name)
                    except swiftclient.ClientException as err:
                        return obj, 'status %s' % err.http_status
                    md5 = hashlib.md5(body).hexdigest()
                    return obj, None if md5 == obj.md5 else 'md5 %s, expected %s' % (
                        md5, obj.md5)

                with concurrent.futures.ThreadPoolExecutor(GET_THREADS) as pool:
                    results = list(pool.map(read, archived))
                for obj, wrong in results:
                    if wrong:
                        self.problem('%s: archived %s not readable through the shunt: %s' % (
                            lane, obj.name, wrong))
                with self.tally.lock:
                    self.tally.shunt_checked += len(results)
        finally:
            write_shunt_conf(path, [])

    def _wait_for_shunt(self, lane, obj, timeout):
        """The shunt reloads its config within seconds; wait for it to serve ``obj``."""
        deadline = time.time() + timeout
        while True:
            try:
                self._conn(True).head_object(lane.container, obj.name)
                return
            except swiftclient.ClientException as err:
                if err.http_status != 404 or time.time() > deadline:
                    return          # the reads below report it
                time.sleep(0.5)

    # -- 6 -------------------------------------------------------------------------------
    def incomplete_uploads(self, lanes):
        for lane in lanes:
            left = lane.view.incomplete_uploads()
            if left:
                self.problem('%s: %d multipart upload(s) left incomplete on the remote: %s' % (
                    lane, len(left), [k for k, _u in left[:3]]), known('B12'))

    # -- 7 -------------------------------------------------------------------------------
    def uploads(self, lanes):
        for lane in lanes:
            names = lane.path_names()
            allowed = set(self.run.allowed.get(lane.name, ()))
            timeout = lane.remote_timeout
            records = lane.proxy.snapshot()
            with_data = {r['upload_id'] for r in records if r['kind'] == 'UploadPart'}
            times = {}
            for rec in records:
                name = names.get(rec['path'])
                if name is None or rec['kind'] not in UPLOAD_KINDS or not rec['forwarded']:
                    continue
                # the answer never reached the daemon in time: the upload is repeated
                if rec['fault'] == 'late' or rec['done'] is None or \
                        rec['done'] - rec['t'] > 0.8 * timeout:
                    allowed.add(name)
                if rec['status'] and 200 <= rec['status'] < 300 and (
                        rec['kind'] == 'PutObject' or rec['upload_id'] in with_data):
                    times.setdefault(name, []).append((rec['t'], rec['done'] or rec['t']))
            beyond, explained = [], {}
            for name, obj in lane.workload.objects.items():
                if obj.unknown:
                    continue
                count = len(times.get(name, ()))
                if not obj.deleted:
                    with self.tally.lock:
                        self.tally.uploads[count] += 1
                        self.tally.run_uploads[self.run.name]['objects'] += 1
                        self.tally.run_uploads[self.run.name]['uploads'] += count
                if count <= 1:
                    continue
                if name in allowed:
                    with self.tally.lock:
                        self.tally.duplicates_allowed += 1
                        self.tally.run_uploads[self.run.name]['in flight'] += 1
                    continue
                with self.tally.lock:
                    self.tally.duplicates_unexplained += 1
                    self.tally.run_uploads[self.run.name]['beyond'] += 1
                uploads = sorted(times[name])
                bug = None
                if obj.written and int(uploads[0][1]) < obj.written and \
                        uploads[1][0] >= obj.written + self.run.slack:
                    # a verification's upload (past the slack) of a copy dated, in whole
                    # seconds, before the write it reflects
                    bug = known('B6')
                bug = bug or self.run.explained_by(uploads[1][0])
                what = '%s (%dx)' % (name, count)
                if bug:
                    explained.setdefault(bug, []).append(what)
                    with self.tally.lock:
                        self.tally.duplicates_known[bug] += 1
                else:
                    beyond.append(what)
            for bug, items in sorted(explained.items()):
                self.problem('%s: %d objects uploaded more than once beyond in-flight work: %s'
                             % (lane, len(items), ', '.join(items[:5])), bug)
            if beyond:
                self.problem('%s: %d objects uploaded more than once beyond in-flight work: %s'
                             % (lane, len(beyond), ', '.join(beyond[:5])))

    # -- all ------------------------------------------------------------------------------
    def check_all(self):
        lanes = self.run.lanes
        self.status_files()
        self.daemon_logs()
        listings = {lane.name: self.lane_objects(lane) for lane in lanes}
        self.shunt_reads(lanes, listings)
        self.incomplete_uploads(lanes)
        self.uploads(lanes)
        with self.tally.lock:
            self.tally.losses += self.losses
        return self.problems

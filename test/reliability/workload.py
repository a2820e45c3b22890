"""What a client writes into one container, and what it expects to find afterwards.

A workload is a list of operations (PUT of small objects, SLOs of a few big segments, POSTs of
new metadata, DELETEs) run by a few writer threads, paced over a given duration so that the
daemons work while faults and kills land. Every operation is retried until the cluster takes
it, so the expected state is exact; an operation that never succeeds marks its object as
unknown (left out of the checks, and reported)."""
import hashlib
import json
import random
import threading
import time

import swiftclient

from s3_sync.providers.s3_multipart import multipart_etag

MiB = 1024 * 1024
CONTENT_TYPES = ('application/octet-stream', 'text/plain', 'image/png',
                 'application/x-custom;charset=utf-8')


class Expected:
    """One object as the client left it."""
    __slots__ = ('name', 'md5', 'size', 'meta', 'ctype', 'segment_md5s', 'deleted', 'unknown',
                 'posted', 'written')

    def __init__(self, name, md5, size, meta, ctype, segment_md5s=None):
        self.name, self.md5, self.size, self.meta, self.ctype = name, md5, size, meta, ctype
        self.segment_md5s = segment_md5s
        self.deleted = self.unknown = self.posted = False
        self.written = None         # the Swift timestamp of the client's last PUT or POST

    @property
    def slo(self):
        return self.segment_md5s is not None

    def remote_etag(self, kind):
        """The ETag the remote must show: a 1:1 multipart ETag for SLOs on S3, Swift's SLO
        ETag (md5 of the segment md5s) on Swift."""
        if self.slo and kind == 's3':
            return multipart_etag(self.segment_md5s)
        if self.slo:
            return hashlib.md5(''.join(self.segment_md5s).encode('ascii')).hexdigest()
        return self.md5


def object_name(index):
    """Mostly plain names; some with non-ASCII characters (whose 'seq' metadata value is then
    non-ASCII too) and some with characters URLs and S3 treat specially."""
    if index % 41 == 7:
        return 'dir ü/obj %05d ☃.txt' % index
    if index % 67 == 11:
        return 'odd/a+b c%%20d&e=f %05d' % index
    return 'obj/%05d' % index


class Workload:
    """Operations on ``container`` (SLO segments in ``<container>-segs``)."""

    def __init__(self, container, small, slos=0, posts=0, deletes=0, segment_size=6 * MiB,
                 segments=3, seed=0, max_size=4096):
        self.container = container
        self.segments = container + '-segs'
        self.rng = random.Random(seed)
        self.segment_size = segment_size
        self.segment_count = segments
        self.max_size = max_size
        self.objects = {}                      # name -> Expected
        self.lock = threading.Lock()
        self.done = 0
        self.failed = []
        self.ops = self._plan(small, slos, posts, deletes)

    def _plan(self, small, slos, posts, deletes):
        names = [object_name(i) for i in range(small)]
        puts = [('put', n) for n in names]
        # SLOs spread evenly, so that some are being uploaded whenever the daemons run
        if slos:
            step = max(1, len(puts) // slos)
            for k in range(slos):
                puts.insert(min(len(puts), step * k + step // 2 + k), ('slo', 'big/slo-%02d' % k))
        first_half = names[:max(1, len(names) // 2)]
        chosen = self.rng.sample(first_half, min(len(first_half), posts + deletes))
        mutations = [('post', n) for n in chosen[:posts]] + \
                    [('delete', n) for n in chosen[posts:]]
        self.rng.shuffle(mutations)
        # mutations in the second half, well after their PUT
        ops = list(puts)
        for k, op in enumerate(mutations):
            at = len(puts) // 2 + (k * (len(puts) // 2)) // max(1, len(mutations))
            ops.insert(min(len(ops), at + k + 1), op)
        return ops

    def names(self):
        """Every object name the workload PUTs."""
        return [name for kind, name in self.ops if kind in ('put', 'slo')]

    @property
    def total(self):
        return len(self.ops)

    # -- operations --------------------------------------------------------------------
    def _put(self, conn, name):
        size = self.rng.choice([0, 1, 100, 1000, 4096, self.rng.randrange(self.max_size + 1)])
        body = self.rng.randbytes(size)
        md5 = hashlib.md5(body).hexdigest()
        ctype = self.rng.choice(CONTENT_TYPES)
        meta = {'seq': name[-5:].strip(), 'color': self.rng.choice(['red', 'green', 'blue'])}
        headers = {'X-Object-Meta-%s' % k: v for k, v in meta.items()}
        conn.put_object(self.container, name, body, content_type=ctype, etag=md5,
                        headers=headers)
        return Expected(name, md5, size, meta, ctype)

    def _slo(self, conn, name):
        manifest, md5s, whole = [], [], hashlib.md5()
        for k in range(self.segment_count):
            data = self.rng.randbytes(self.segment_size)
            md5 = hashlib.md5(data).hexdigest()
            seg = '%s/%02d' % (name, k)
            conn.put_object(self.segments, seg, data, etag=md5)
            manifest.append({'path': '/%s/%s' % (self.segments, seg), 'etag': md5,
                             'size_bytes': len(data)})
            md5s.append(md5)
            whole.update(data)
        meta = {'kind': 'slo'}
        conn.put_object(self.container, name, json.dumps(manifest),
                        query_string='multipart-manifest=put',
                        content_type='application/x-big', headers={'X-Object-Meta-Kind': 'slo'})
        return Expected(name, whole.hexdigest(), self.segment_size * self.segment_count, meta,
                        'application/x-big', md5s)

    def _post(self, conn, name):
        meta = {'seq': name[-5:].strip(), 'posted': 'yes-%d' % self.rng.randrange(1000)}
        ctype = self.rng.choice(CONTENT_TYPES)
        headers = {'X-Object-Meta-%s' % k: v for k, v in meta.items()}
        headers['Content-Type'] = ctype
        conn.post_object(self.container, name, headers)
        return meta, ctype

    def _delete(self, conn, name):
        try:
            conn.delete_object(self.container, name)
        except swiftclient.ClientException as err:
            if err.http_status != 404:
                raise

    def apply(self, conn, op):
        """Run one operation until the cluster takes it (60 s at most)."""
        kind, name = op
        deadline = time.time() + 60
        while kind in ('post', 'delete') and name not in self.objects:
            time.sleep(0.05)            # its PUT is still running in another thread
        written = None
        while True:
            try:
                if kind == 'put':
                    obj = self._put(conn, name)
                elif kind == 'slo':
                    obj = self._slo(conn, name)
                elif kind == 'post':
                    meta, ctype = self._post(conn, name)
                else:
                    self._delete(conn, name)
                if kind != 'delete':
                    written = self._timestamp(conn, name)
                break
            except (swiftclient.ClientException, OSError) as err:
                if time.time() > deadline:
                    with self.lock:
                        self.failed.append('%s %s: %s' % (kind, name, err))
                        if name in self.objects:
                            self.objects[name].unknown = True
                        elif kind in ('put', 'slo'):
                            self.objects[name] = Expected(name, None, None, {}, None)
                            self.objects[name].unknown = True
                    return
                time.sleep(1)
        with self.lock:
            if kind in ('put', 'slo'):
                self.objects[name] = obj
                obj.written = written
            elif kind == 'post':
                self.objects[name].written = written
                self.objects[name].meta, self.objects[name].ctype = meta, ctype
                self.objects[name].posted = True
            else:
                self.objects[name].deleted = True
            self.done += 1

    def _timestamp(self, conn, name):
        """The object's Swift timestamp (what its container row carries), or now."""
        try:
            return float(conn.head_object(self.container, name)['x-timestamp'])
        except (swiftclient.ClientException, OSError, KeyError, ValueError):
            return time.time()

    def live(self):
        """{name: Expected} of objects that must exist (written, not deleted, not unknown)."""
        return {n: o for n, o in self.objects.items() if not o.deleted and not o.unknown}


class Writer:
    """Runs the workloads of several containers in ``threads`` threads, paced so that the last
    operation starts about ``duration`` seconds after ``start()``."""

    def __init__(self, conn_factory, workloads, duration=0.0, threads=3):
        self.conn_factory = conn_factory
        self.workloads = workloads
        self.duration = duration
        self.threads = threads
        # interleave containers: each operation at its relative position in its workload
        order = []
        for w in workloads:
            order.extend((i / max(1, len(w.ops)), i, w, op) for i, op in enumerate(w.ops))
        order.sort(key=lambda item: (item[0], item[1]))
        self.queue = [(w, op) for _f, _i, w, op in order]
        self._next = 0
        self._lock = threading.Lock()
        self._threads = []
        self.started = None
        self.errors = []

    def start(self):
        self.started = time.time()
        for _ in range(self.threads):
            t = threading.Thread(target=self._work, daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def _take(self):
        with self._lock:
            if self._next >= len(self.queue):
                return None, None
            index = self._next
            self._next += 1
        if self.duration:
            due = self.started + self.duration * index / max(1, len(self.queue))
            delay = due - time.time()
            if delay > 0:
                time.sleep(delay)
        return self.queue[index]

    def _work(self):
        conn = self.conn_factory()
        while True:
            workload, op = self._take()
            if workload is None:
                return
            try:
                workload.apply(conn, op)
            except Exception as exc:   # a bug in the suite: report it, do not hang
                self.errors.append('%s %s: %r' % (op[0], op[1], exc))

    def progress(self):
        """Share of operations started (0-1)."""
        with self._lock:
            return self._next / max(1, len(self.queue))

    def busy(self):
        return any(t.is_alive() for t in self._threads)

    def join(self, timeout=None):
        deadline = None if timeout is None else time.time() + timeout
        for t in self._threads:
            t.join(None if deadline is None else max(0, deadline - time.time()))
        return not self.busy()

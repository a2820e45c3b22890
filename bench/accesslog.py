"""What a server of the environment answered, read from its access log: the remote Swift
proxy's and moto's.

Nothing sits between a contender and the server it writes to: a counting proxy in the path
would cap every contender near its own rate and narrow the gaps being measured. The request
figures (requests by method, each object PUT's end, the N-th PUT of a run) come from the
servers' own access lines instead:

* the second cluster's proxy (``<log_dir>/remote-proxy.log``): Swift's ``proxy-logging``;
* moto (``<log_dir>/moto.log``): ``devenv.launch`` writes its lines in the same field order.

Both follow Swift's default ``log_msg_template``::

    client_ip remote_addr end_time.datetime method path protocol status_int referer
    user_agent auth_token bytes_recvd bytes_sent client_etag transaction_id headers
    request_time source log_info start_time end_time policy_index access_user_id

A line is written when its request ENDS (the response fully sent), carrying the request's
start time and its end time (= start_time + request_time), so a PUT's completion is its
``end`` and lines may come slightly out of end order. Fields are URL-quoted once more than the
request line (``%3F`` is the query's ``?``, ``%2520`` a quoted space), so nothing contains a
space. Lines with a ``source`` are subrequests the proxy's own middlewares made (SLO's segment
HEADs, container-info lookups): a client never sent them, so they are left out.

The bench's own requests during a run (the polling watcher, bucket creation, verification)
carry the ``OBSERVER_AGENT`` User-Agent (``observer_conn``, ``observe_s3``) and are left out
too: they are not a contender's.
"""
import collections
import os
import threading
import time
from urllib.parse import unquote

import swiftclient

OBSERVER_AGENT = 's3sync-bench-observer'
LOG_NAME = 'remote-proxy.log'
MOTO_LOG_NAME = 'moto.log'
# path segments before an object's name: /v1/<account>/<container>/<object>, /<bucket>/<key>
SWIFT_DEPTH, S3_DEPTH = 3, 1

# offsets from the ``HTTP/x.y`` protocol field of the default template
STATUS, AGENT, RECEIVED, SOURCE, START, END = 1, 3, 5, 11, 13, 14

Request = collections.namedtuple('Request',
                                 'start end method path query status agent received')


def parse_line(line):
    """The client request a proxy-logging line records, or None (another line, a subrequest)."""
    fields = line.split()
    at = next((i for i, f in enumerate(fields) if f.startswith('HTTP/')), None)
    if at is None or at < 5 or len(fields) <= at + END:
        return None
    if fields[at + SOURCE] != '-':
        return None
    try:
        start, end = float(fields[at + START]), float(fields[at + END])
        status = int(fields[at + STATUS])
    except ValueError:
        return None
    path, _, query = unquote(fields[at - 1]).partition('?')
    received = fields[at + RECEIVED]
    return Request(start, end, fields[at - 2], unquote(path), query, status,
                   unquote(fields[at + AGENT]), int(received) if received.isdigit() else 0)


def is_object_put(request, depth=SWIFT_DEPTH):
    """A successful whole-object PUT (``depth`` segments before the object's name): not a
    container's or bucket's, not one part of a multipart upload."""
    parts = request.path.split('/', depth + 1)
    return (request.method == 'PUT' and 200 <= request.status < 300 and
            len(parts) == depth + 2 and parts[-1] != '' and 'uploadId=' not in request.query)


def object_key(path, depth=SWIFT_DEPTH):
    """The object's container (or bucket) and name: '/v1/AUTH_x/c/o' -> '/c/o',
    '/bucket/key' (depth 1) -> '/bucket/key'."""
    return '/' + path.split('/', depth)[depth]


class AccessLog:
    """A server's client requests from ``reset()`` on, read as its log grows: requests by
    method, successful object PUTs in end order, and a wait for the N-th of them."""

    def __init__(self, path, depth=SWIFT_DEPTH, ignore_agents=(OBSERVER_AGENT,)):
        self.path = path
        self.depth = depth
        self.ignore_agents = frozenset(ignore_agents)
        self._lock = threading.Lock()
        self.reset()

    @classmethod
    def of_remote(cls, info):
        """The second cluster's proxy log of a devenv (its ``env.json`` dict)."""
        return cls(os.path.join(info['log_dir'], LOG_NAME))

    @classmethod
    def of_moto(cls, info):
        """moto's log of a devenv (its ``env.json`` dict)."""
        return cls(os.path.join(info['log_dir'], MOTO_LOG_NAME), depth=S3_DEPTH)

    def reset(self):
        """Forget what was read; from now on only new lines count."""
        with self._lock:
            self._offset = os.path.getsize(self.path) if os.path.exists(self.path) else 0
            self._partial = b''
            self._requests = []
            self._ok_puts = 0

    def requests(self):
        """Every client request logged since ``reset``, in log order."""
        with self._lock:
            self._read()
            return list(self._requests)

    def _read(self):
        try:
            with open(self.path, 'rb') as f:
                f.seek(self._offset)
                data = f.read()
        except FileNotFoundError:
            return
        self._offset += len(data)
        *lines, self._partial = (self._partial + data).split(b'\n')
        for line in lines:
            request = parse_line(line.decode('utf-8', 'replace'))
            if request and request.agent not in self.ignore_agents:
                self._requests.append(request)
                self._ok_puts += is_object_put(request, self.depth)

    def snapshot(self):
        """[(start, end, method, path?query, status)]."""
        return [(r.start, r.end, r.method, r.path + ('?' + r.query if r.query else ''),
                 r.status) for r in self.requests()]

    def ok_puts(self):
        """[(start, end, path)] of successful object PUTs, in end order."""
        return sorted(((r.start, r.end, r.path) for r in self.requests()
                       if is_object_put(r, self.depth)),
                      key=lambda e: e[1])

    def count_ok_puts(self):
        with self._lock:
            self._read()
            return self._ok_puts

    def by_method(self):
        return dict(collections.Counter(r.method for r in self.requests()))

    def first_puts(self):
        """{'/container/object': end of its first successful PUT}."""
        out = {}
        for r in self.requests():
            if is_object_put(r, self.depth):
                key = object_key(r.path, self.depth)
                if key not in out or r.end < out[key]:
                    out[key] = r.end
        return out

    def wait_for_puts(self, n, timeout, procs=(), poll=0.02):
        """Block until ``n`` successful object PUTs were answered; the end of the n-th, or
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


def wait_quiet(path, quiet=0.1, most=0.5, poll=0.02):
    """Block until the log at ``path`` has not grown for ``quiet`` seconds (at most ``most``):
    a server writes a request's line just after answering it, so the lines of requests whose
    clients are gone follow within moments. The seconds waited."""
    start = time.time()
    last_size, last_change = None, start
    while True:
        try:
            size = os.path.getsize(path)
        except OSError:
            size = None
        now = time.time()
        if size != last_size:
            last_size, last_change = size, now
        if now - last_change >= quiet or now - start >= most:
            return now - start
        time.sleep(poll)


def observe_s3(client):
    """Mark a boto3 S3 client's requests as the bench's own (left out of moto's figures);
    the User-Agent is not signed, so it can be replaced when the request is sent."""
    def mark(request, **_kwargs):
        request.headers['User-Agent'] = OBSERVER_AGENT
    client.meta.events.register('before-send.s3', mark)
    return client


class ObserverConnection(swiftclient.Connection):
    """A swiftclient connection whose requests the access log leaves out (its User-Agent)."""

    def http_connection(self, url=None):
        parsed, conn = super().http_connection(url)
        conn.default_user_agent = OBSERVER_AGENT
        return parsed, conn


def observer_conn(target):
    """An authenticated observer connection to a Swift target (``swift_target`` of env.json):
    authenticated now, so not even its token request falls inside a measured run."""
    conn = ObserverConnection(target['aws_endpoint'], target['aws_identity'],
                              target['aws_secret'], retries=2)
    conn.get_auth()
    return conn

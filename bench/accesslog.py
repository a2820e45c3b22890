"""What the second Swift cluster's proxy answered, read from its access log.

The container-sync comparison (``container_sync``, ``csync_large``) lets both contenders talk to
the remote proxy directly: a counting proxy in their path would cap both near its own rate and
narrow the gap being measured. The figures a counter gave come from the remote proxy's
``proxy-logging`` lines instead (``<log_dir>/remote-proxy.log``), in Swift's default
``log_msg_template``::

    client_ip remote_addr end_time.datetime method path protocol status_int referer
    user_agent auth_token bytes_recvd bytes_sent client_etag transaction_id headers
    request_time source log_info start_time end_time policy_index access_user_id

A line is written when its request ENDS (the response fully sent), carrying the request's
start time and its end time (= start_time + request_time), so a PUT's completion is its
``end`` and lines may come slightly out of end order. Fields are URL-quoted once more than the
request line (``%3F`` is the query's ``?``, ``%2520`` a quoted space), so nothing contains a
space. Lines with a ``source`` are subrequests the proxy's own middlewares made (SLO's segment
HEADs, container-info lookups): a client never sent them, so they are left out, as a counter in
front of the proxy never saw them.

The bench's own reads of the remote during a run (the polling watcher, verification) carry the
``OBSERVER_AGENT`` User-Agent (``observer_conn``) and are left out too: they are not a
contender's requests.
"""
import collections
import os
import threading
from urllib.parse import unquote

import swiftclient

from bench.counter import WaitsForPuts

OBSERVER_AGENT = 's3sync-bench-observer'
LOG_NAME = 'remote-proxy.log'

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


def is_object_put(request):
    """A successful object PUT (``/v1/<account>/<container>/<object>``), not a container's."""
    return (request.method == 'PUT' and 200 <= request.status < 300 and
            len(request.path.split('/', 4)) == 5)


def object_key(path):
    """'/v1/AUTH_x/c/o' -> '/c/o'."""
    return '/' + path.split('/', 3)[3]


class AccessLog(WaitsForPuts):
    """The remote proxy's client requests from ``reset()`` on, read as the file grows.

    Answers what the bench's request counter answered (``snapshot``, ``ok_puts``,
    ``count_ok_puts``, ``by_method``, ``wait_for_puts``), so the window and throughput
    helpers take either."""

    def __init__(self, path, ignore_agents=(OBSERVER_AGENT,)):
        self.path = path
        self.ignore_agents = frozenset(ignore_agents)
        self._lock = threading.Lock()
        self.reset()

    @classmethod
    def of_remote(cls, info):
        """The second cluster's proxy log of a devenv (its ``env.json`` dict)."""
        return cls(os.path.join(info['log_dir'], LOG_NAME))

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
                self._ok_puts += is_object_put(request)

    # -- the request counter's questions --------------------------------------------------
    def snapshot(self):
        """[(start, end, method, path, status)] as the counter gave them."""
        return [(r.start, r.end, r.method, r.path + ('?' + r.query if r.query else ''),
                 r.status) for r in self.requests()]

    def ok_puts(self):
        """[(start, end, path)] of successful object PUTs, in end order."""
        return sorted(((r.start, r.end, r.path) for r in self.requests() if is_object_put(r)),
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
            if is_object_put(r):
                key = object_key(r.path)
                if key not in out or r.end < out[key]:
                    out[key] = r.end
        return out


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

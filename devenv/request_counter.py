"""A loopback HTTP proxy that counts requests by method and can inject failures.

Put it between the daemons and an S3 server to measure request economy at the endpoint (what a
cloud bill counts) and to make the remote throttle (503 SlowDown) on demand. Used by the
integration tests and the benchmark; it only ever listens on and forwards to 127.0.0.0/8.

    counter = RequestCounter('http://127.0.0.1:5055').start()
    ... point the mapping's aws_endpoint at counter.url ...
    counter.counts  ->  Counter({'PUT': 1000, 'GET': 3})
    counter.fail_next(5, status=503)
"""
import collections
import http.client
import http.server
import threading
import urllib.parse

HOP_BY_HOP = {'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te',
              'trailer', 'transfer-encoding', 'upgrade'}

SLOW_DOWN = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
             b'<Message>Please reduce your request rate.</Message></Error>')


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that goes away mid-request (a killed daemon) is normal here, not an error.
        import sys
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class RequestCounter:
    def __init__(self, target, host='127.0.0.1', port=0):
        parsed = urllib.parse.urlsplit(target)
        if not parsed.hostname.startswith('127.') and parsed.hostname != 'localhost':
            raise ValueError('request counter forwards to loopback only, not %s' % target)
        self.target = (parsed.hostname, parsed.port or 80)
        self.counts = collections.Counter()
        self.lock = threading.Lock()
        self._failures = []        # statuses to answer instead of forwarding, in order
        self._server = _Server((host, port), self._handler_class())
        self.url = 'http://%s:%d' % self._server.server_address[:2]

    def start(self):
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def reset(self):
        with self.lock:
            self.counts.clear()

    def fail_next(self, n, status=503):
        """Answer the next ``n`` requests with ``status`` (503 = S3 SlowDown) unforwarded."""
        with self.lock:
            self._failures.extend([status] * n)

    def total(self):
        with self.lock:
            return sum(self.counts.values())

    def _take_failure(self):
        with self.lock:
            return self._failures.pop(0) if self._failures else None

    def _handler_class(self):
        counter = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args):
                pass

            def _proxy(self):
                with counter.lock:
                    counter.counts[self.command] += 1
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length) if length else None
                status = counter._take_failure()
                if status:
                    return self._reply(status, [('Content-Type', 'application/xml')],
                                       SLOW_DOWN)
                conn = http.client.HTTPConnection(*counter.target, timeout=120)
                try:
                    headers = {k: v for k, v in self.headers.items()
                               if k.lower() not in HOP_BY_HOP}
                    conn.request(self.command, self.path, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    keep = [(k, v) for k, v in resp.getheaders()
                            if k.lower() not in HOP_BY_HOP]
                    if self.command != 'HEAD':    # a HEAD's length describes the object
                        keep = [(k, v) for k, v in keep if k.lower() != 'content-length']
                    self._reply(resp.status, keep, data)
                finally:
                    conn.close()

            def _reply(self, status, headers, data):
                self.send_response(status)
                for key, value in headers:
                    self.send_header(key, value)
                if self.command != 'HEAD':
                    self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                if self.command != 'HEAD':
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _proxy

        return Handler


# -- fault injection ------------------------------------------------------------------------
# Added for the reliability suite (test/reliability); RequestCounter above is unchanged.

import random
import socket
import struct
import time

FAULT_KINDS = ('reset', '500', '503', 'stall', 'late')
FAULT_DOC = {
    'reset': 'connection reset before the request is forwarded (TCP RST, no answer)',
    '500': '500 InternalError, not forwarded',
    '503': '503 SlowDown, not forwarded',
    'stall': 'forwarded after a pause shorter than the client timeout',
    'late': 'forwarded at once, answered only after the client timeout (the work is done, '
            'the client does not know)',
}
INTERNAL_ERROR = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code>'
                  b'<Message>We encountered an internal error. Please try again.</Message>'
                  b'</Error>')
UPLOAD_KINDS = ('PutObject', 'CompleteMultipartUpload')


def request_kind(method, path, headers=None):
    """The operation of an S3 (path-style) or Swift request, named as S3 names them.

    Swift requests (``/v1/...``, ``/auth/...``) get the S3 name of the same operation, so
    counting uploads or in-flight parts reads the same for both kinds of target."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    path, _, query = path.partition('?')
    params = urllib.parse.parse_qs(query, keep_blank_values=True)
    parts = [p for p in path.split('/') if p]
    if parts[:1] == ['auth'] or path.startswith('/auth'):
        return 'Auth'
    if parts[:1] == ['v1']:                     # Swift: /v1/account[/container[/object]]
        depth = len(parts) - 1
        if depth >= 3:
            if method == 'PUT':
                return 'CopyObject' if 'x-copy-from' in headers else 'PutObject'
            return {'GET': 'GetObject', 'HEAD': 'HeadObject', 'POST': 'PostObject',
                    'DELETE': 'DeleteObject', 'COPY': 'CopyObject'}.get(method, method)
        what = 'Container' if depth == 2 else 'Account'
        return {'GET': 'List', 'HEAD': 'Head', 'PUT': 'Create', 'POST': 'Post',
                'DELETE': 'Delete'}.get(method, method) + what
    if len(parts) <= 1:                         # S3 bucket (or service) level
        if method == 'POST' and 'delete' in params:
            return 'DeleteObjects'
        if method == 'GET' and 'uploads' in params:
            return 'ListMultipartUploads'
        return {'GET': 'ListObjects', 'HEAD': 'HeadBucket', 'PUT': 'CreateBucket',
                'DELETE': 'DeleteBucket'}.get(method, method + 'Bucket')
    if 'uploadId' in params:
        if method == 'PUT':
            return 'UploadPartCopy' if 'x-amz-copy-source' in headers else 'UploadPart'
        return {'POST': 'CompleteMultipartUpload', 'DELETE': 'AbortMultipartUpload',
                'GET': 'ListParts'}.get(method, method)
    if method == 'POST' and 'uploads' in params:
        return 'CreateMultipartUpload'
    if method == 'PUT':
        return 'CopyObject' if 'x-amz-copy-source' in headers else 'PutObject'
    return {'GET': 'GetObject', 'HEAD': 'HeadObject', 'DELETE': 'DeleteObject'}.get(
        method, method)


class FaultProxy(RequestCounter):
    """A RequestCounter that also records every request and, once armed, answers a random
    share of them with a fault (see FAULT_KINDS / FAULT_DOC).

        proxy = FaultProxy('http://127.0.0.1:5055', seed=1).start()
        proxy.arm(0.25, late_seconds=4)   # 25 % of requests, kinds drawn evenly
        proxy.injected                    # Counter({'reset': 12, '500': 9, ...})
        proxy.in_flight['UploadPart']     # parts being forwarded right now
        proxy.uploads()                   # Counter({'/bucket/key': 1, ...}) done at the server
        proxy.disarm()

    Every request is recorded as a dict: t (arrival), method, path (unquoted, no query), kind
    (``request_kind``), fault (None or a kind), forwarded (the server saw it), status (the
    server's answer, None when not forwarded) and done (answer time)."""

    def __init__(self, target, host='127.0.0.1', port=0, seed=None):
        super().__init__(target, host, port)
        self.random = random.Random(seed)
        self.rate = 0.0
        self.kinds = FAULT_KINDS
        self.stall_seconds = 1.0
        self.late_seconds = 5.0
        self.match = None
        self.injected = collections.Counter()
        self.in_flight = collections.Counter()
        self.records = []

    def arm(self, rate, kinds=FAULT_KINDS, stall_seconds=1.0, late_seconds=5.0, match=None):
        """Fault ``rate`` (0-1) of the requests from now on; ``late_seconds`` must exceed the
        client's timeout. ``match(kind)`` limits faults to some request kinds."""
        unknown = set(kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError('unknown fault kinds: %s' % ', '.join(sorted(unknown)))
        with self.lock:
            self.rate, self.kinds = rate, tuple(kinds)
            self.stall_seconds, self.late_seconds, self.match = (
                stall_seconds, late_seconds, match)

    def disarm(self):
        with self.lock:
            self.rate = 0.0

    def snapshot(self):
        with self.lock:
            return [dict(r) for r in self.records]

    def requests(self):
        with self.lock:
            return len(self.records)

    def faulted(self):
        with self.lock:
            return sum(self.injected.values())

    def uploads(self):
        """Counter of object paths by data uploads the server completed with a 2xx, whether
        the client got the answer or not: PUTs of objects, and CompleteMultipartUpload of
        uploads that sent data (UploadPart), not of those made of copied parts (a metadata
        change of a large object)."""
        records = self.snapshot()
        with_data = {r['upload_id'] for r in records if r['kind'] == 'UploadPart'}
        found = collections.Counter()
        for rec in records:
            if (rec['kind'] in UPLOAD_KINDS and rec['forwarded'] and rec['status']
                    and 200 <= rec['status'] < 300):
                if rec['kind'] == 'PutObject' or rec['upload_id'] in with_data:
                    found[rec['path']] += 1
        return found

    def _draw(self, kind):
        with self.lock:
            if not self.rate or (self.match and not self.match(kind)):
                return None
            if self.random.random() >= self.rate:
                return None
            fault = self.random.choice(self.kinds)
            self.injected[fault] += 1
            return fault

    def _handler_class(self):
        base = super()._handler_class()
        proxy = self

        class Handler(base):
            def _proxy(self):
                headers = dict(self.headers.items())
                kind = request_kind(self.command, self.path, headers)
                query = urllib.parse.parse_qs(self.path.partition('?')[2])
                record = {'t': time.time(), 'method': self.command,
                          'path': urllib.parse.unquote(self.path.partition('?')[0]),
                          'kind': kind, 'fault': None, 'forwarded': False, 'status': None,
                          'done': None, 'upload_id': query.get('uploadId', [None])[0]}
                with proxy.lock:
                    proxy.counts[self.command] += 1
                    proxy.records.append(record)
                    proxy.in_flight[kind] += 1
                try:
                    self._faulty(record)
                finally:
                    with proxy.lock:
                        proxy.in_flight[kind] -= 1
                        record['done'] = time.time()

            def _faulty(self, record):
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length) if length else None
                fault = record['fault'] = proxy._draw(record['kind'])
                if fault == 'reset':
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                               struct.pack('ii', 1, 0))
                    self.close_connection = True
                    return
                if fault in ('500', '503'):
                    self.close_connection = True
                    return self._reply(int(fault), [('Content-Type', 'application/xml'),
                                                    ('Connection', 'close')],
                                       INTERNAL_ERROR if fault == '500' else SLOW_DOWN)
                if fault == 'stall':
                    time.sleep(proxy.stall_seconds)
                status, headers, data = self._forward(body)
                record['forwarded'], record['status'] = True, status
                if fault == 'late':
                    self.close_connection = True
                    time.sleep(proxy.late_seconds)
                self._reply(status, headers, data)

            def _forward(self, body):
                conn = http.client.HTTPConnection(*proxy.target, timeout=120)
                try:
                    headers = {k: v for k, v in self.headers.items()
                               if k.lower() not in HOP_BY_HOP}
                    conn.request(self.command, self.path, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    keep = [(k, v) for k, v in resp.getheaders()
                            if k.lower() not in HOP_BY_HOP]
                    if self.command != 'HEAD':    # a HEAD's length describes the object
                        keep = [(k, v) for k, v in keep if k.lower() != 'content-length']
                    return resp.status, keep, data
                finally:
                    conn.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _proxy

        return Handler

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

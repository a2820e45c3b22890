"""An HTTP relay in front of a real S3 server that cuts one object's GET body partway, as a
source proxy under load does: it sends the full Content-Length, then only ``cut`` bytes, and
closes the connection. Every other request (and the object's ranged GETs) is relayed whole,
one connection per request. The Host header is passed on, so SigV4 signatures hold.
"""
import http.client
import http.server
import socketserver
import threading
from urllib.parse import unquote, urlsplit

DROPPED = ('connection', 'keep-alive', 'transfer-encoding', 'content-length')


class CuttingProxy(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

    def __init__(self, upstream, key, cut, times=1):
        self.upstream = urlsplit(upstream)
        self.key, self.cut, self.times = key, cut, times
        self.gets = []      # (path, request headers) of every GET of ``key``
        self.lock = threading.Lock()
        super().__init__(('127.0.0.1', 0), _Relay)

    @property
    def endpoint(self):
        return 'http://127.0.0.1:%d' % self.server_address[1]

    def start(self):
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def stop(self):
        self.shutdown()
        self.server_close()

    def cuts(self, method, path, headers):
        """Whether to cut this answer: the first ``times`` whole GETs of the key."""
        if method != 'GET' or not unquote(urlsplit(path).path).endswith('/' + self.key):
            return False
        with self.lock:
            self.gets.append((path, headers))
            if 'range' in headers or not self.times:
                return False
            self.times -= 1
            return True


class _Relay(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    def relay(self):
        server = self.server
        length = int(self.headers.get('content-length') or 0)
        body = self.rfile.read(length) if length else None
        headers = {k.lower(): v for k, v in self.headers.items()}
        conn = http.client.HTTPConnection(server.upstream.hostname, server.upstream.port,
                                          timeout=60)
        try:
            conn.request(self.command, self.path, body, headers)
            resp = conn.getresponse()
            data = resp.read()
            sent_length = resp.getheader('content-length')
        finally:
            conn.close()
        cut = server.cuts(self.command, self.path, headers)
        self.send_response_only(resp.status, resp.reason)
        for key, value in resp.getheaders():
            if key.lower() not in DROPPED:
                self.send_header(key, value)
        self.send_header('Content-Length', sent_length if self.command == 'HEAD' and
                         sent_length else str(len(data)))
        self.send_header('Connection', 'close')
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(data[:server.cut] if cut else data)
        self.close_connection = True

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = relay

"""The bare relay: the least any HTTP relay process between a client and the S3 server costs.

``python -m bench.relay UPSTREAM_PORT`` listens on 127.0.0.1 (a free port, printed on the first
line of stdout) and passes every request to the S3 server at 127.0.0.1:UPSTREAM_PORT unchanged
(Host included, so a client's signature holds), and the answer back: no auth, no parsing beyond
the framing, no boto3, no WSGI. The client's connection is kept alive (hop-by-hop headers go,
the status line says HTTP/1.1); the upstream one as long as the S3 server allows (moto closes
every connection: then one new upstream connection per request, as proxymc has). An answer
with a Content-Length goes from socket to socket through a pipe with ``os.splice`` (Linux: the
bytes never enter this process, the cheapest relay there is); others stream through one 1 MiB
buffer per connection (each read hands on whatever the socket holds). Nothing is held whole; a
request goes out in one send, its (small) body with it. One thread per client connection.

It lives in the bench alone: it is a ceiling for proxymc (``bench.bounds``), not a product.
"""
import contextlib
import fcntl
import os
import socket
import socketserver
import subprocess
import sys
from urllib.parse import urlsplit

BUFFER = 2 ** 20
HOP_BY_HOP = (b'connection', b'keep-alive', b'proxy-connection', b'te', b'trailer',
              b'upgrade')
NO_BODY = (b'204', b'304')


class Closed(Exception):
    """The peer went away between requests (or mid-way: the connection is dropped)."""


def read_head(rfile):
    """The request or status line and the header lines, as sent (bytes, CRLF kept);
    ``Closed`` at EOF before a line."""
    lines = []
    while True:
        line = rfile.readline(65537)
        if not line:
            raise Closed()
        if line in (b'\r\n', b'\n'):
            if lines:
                return lines
            continue        # stray CRLF between requests, as HTTP allows
        lines.append(line)


def headers_of(lines):
    """{lower-case name: value} of the header lines (the first line is not a header)."""
    out = {}
    for line in lines[1:]:
        name, _sep, value = line.partition(b':')
        out[name.strip().lower()] = value.strip()
    return out


def end_to_end(lines):
    """The header lines without the hop-by-hop ones (and those ``Connection`` names)."""
    named = {n.strip().lower() for n in headers_of(lines).get(b'connection', b'').split(b',')}
    drop = set(HOP_BY_HOP) | named
    return [line for line in lines[1:] if line.partition(b':')[0].strip().lower() not in drop]


def as_http11(status_line):
    version, _sep, rest = status_line.partition(b' ')
    return b'HTTP/1.1 ' + rest if version.upper().startswith(b'HTTP/1.') else status_line


def pipe_pair():
    """A pipe for ``os.splice``, as large as the system lets (fewer calls), or None where
    splice is missing (then bodies go through ``view``)."""
    if not hasattr(os, 'splice'):
        return None
    read_end, write_end = os.pipe()
    try:
        fcntl.fcntl(write_end, getattr(fcntl, 'F_SETPIPE_SZ', 1031), BUFFER)
    except OSError:
        pass
    return read_end, write_end


def splice_exactly(src, dst, length, pipe):
    """``length`` bytes from the buffered reader ``src`` to the socket ``dst``: what ``src``
    holds already, then straight from its socket through ``pipe`` (no copy in this process)."""
    held = src.read1(min(length, len(src.peek(1)))) if length else b''
    if length and not held:
        raise Closed()
    dst.sendall(held)
    length -= len(held)
    read_end, write_end = pipe
    source = src.raw.fileno() if hasattr(src, 'raw') else src.fileno()
    while length > 0:
        moved = os.splice(source, write_end, min(length, BUFFER))
        if not moved:
            raise Closed()
        length -= moved
        while moved:
            moved -= os.splice(read_end, dst.fileno(), moved)


def copy_exactly(src, dst, length, view):
    while length > 0:
        got = src.readinto1(view[:min(length, len(view))])
        if not got:
            raise Closed()
        dst.sendall(view[:got])
        length -= got


def copy_chunked(src, dst, view):
    """A chunked body passed on as it came, chunk-size lines, data and trailers alike."""
    while True:
        size_line = src.readline(65537)
        if not size_line:
            raise Closed()
        dst.sendall(size_line)
        size = int(size_line.split(b';')[0].strip() or b'0', 16)
        if size == 0:
            while True:         # trailers, up to the blank line
                line = src.readline(65537)
                if not line:
                    raise Closed()
                dst.sendall(line)
                if line in (b'\r\n', b'\n'):
                    return
        copy_exactly(src, dst, size + 2, view)      # the data and its CRLF


def copy_to_close(src, dst, view):
    while True:
        got = src.readinto1(view)
        if not got:
            return
        dst.sendall(view[:got])


class Upstream:
    """One connection to the S3 server, reopened after the server closed it."""

    def __init__(self, port):
        self.port = port
        self.sock = self.rfile = None

    def open(self):
        if self.sock is None:
            self.sock = socket.create_connection(('127.0.0.1', self.port))
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.rfile = self.sock.makefile('rb', buffering=BUFFER)
        return self.sock, self.rfile

    def close(self):
        if self.sock is not None:
            self.rfile.close()
            self.sock.close()
            self.sock = self.rfile = None


class Relay(socketserver.StreamRequestHandler):
    rbufsize = BUFFER
    disable_nagle_algorithm = True

    def handle(self):
        upstream = Upstream(self.server.upstream_port)
        view = memoryview(bytearray(BUFFER))
        self.pipe = pipe_pair()
        try:
            while self.relay_one(upstream, view):
                pass
        except (Closed, OSError, ValueError):
            pass
        finally:
            upstream.close()
            for end in self.pipe or ():
                os.close(end)

    @staticmethod
    def ask(upstream, sent):
        """Send the request (bodies here are small: the bench only GETs); a kept upstream
        connection the server has closed meanwhile is reopened once."""
        for attempt in (1, 2):
            reused = upstream.sock is not None
            sock, rfile = upstream.open()
            try:
                sock.sendall(sent)
                status = read_head(rfile)
                while status[0].split(b' ')[1:2] == [b'100']:   # 100 Continue: not ours
                    status = read_head(rfile)
                return status, rfile
            except (Closed, OSError):
                upstream.close()
                if not reused or attempt == 2:
                    raise

    def relay_one(self, upstream, view):
        """One request and its answer; False when the client's connection must end."""
        request = read_head(self.rfile)
        asked = headers_of(request)
        if b'chunked' in asked.get(b'transfer-encoding', b'').lower():
            self.wfile.write(b'HTTP/1.1 411 Length Required\r\nContent-Length: 0\r\n'
                             b'Connection: close\r\n\r\n')
            return False
        head_request = request[0].split(b' ', 1)[0].upper() == b'HEAD'
        length = int(asked.get(b'content-length') or 0)
        sent = b''.join([request[0]] + end_to_end(request) + [b'\r\n']) + \
            (self.rfile.read(length) if length else b'')
        status, rfile = self.ask(upstream, sent)
        answer = headers_of(status)
        upstream_closes = b'close' in answer.get(b'connection', b'').lower() or \
            status[0].upper().startswith(b'HTTP/1.0') and \
            b'keep-alive' not in answer.get(b'connection', b'').lower()
        code = status[0].split(b' ')[1:2]
        chunked = b'chunked' in answer.get(b'transfer-encoding', b'').lower()
        length = answer.get(b'content-length')
        bodiless = head_request or code and code[0] in NO_BODY
        to_close = not bodiless and not chunked and length is None      # ends at EOF
        lines = [as_http11(status[0])] + end_to_end(status)
        if to_close:
            lines.append(b'Connection: close\r\n')
        self.connection.sendall(b''.join(lines + [b'\r\n']))
        if bodiless:
            pass
        elif chunked:
            copy_chunked(rfile, self.connection, view)
        elif length is not None and self.pipe:
            splice_exactly(rfile, self.connection, int(length), self.pipe)
        elif length is not None:
            copy_exactly(rfile, self.connection, int(length), view)
        else:
            copy_to_close(rfile, self.connection, view)
        if upstream_closes or to_close:
            upstream.close()
        return not to_close


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@contextlib.contextmanager
def running(upstream_url):
    """The relay as a process of its own in front of ``upstream_url`` (http://127.0.0.1:N):
    yields its URL; stopped (by its pid) at the end."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.Popen([sys.executable, '-m', 'bench.relay',
                             str(urlsplit(upstream_url).port)], cwd=root,
                            stdout=subprocess.PIPE)
    try:
        port = int(proc.stdout.readline() or 0)
        if not port:
            raise RuntimeError('the bare relay did not start (exit %s)' % proc.poll())
        yield 'http://127.0.0.1:%d' % port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or not argv[0].isdigit():
        print('usage: python -m bench.relay UPSTREAM_PORT', file=sys.stderr)
        return 2
    server = Server(('127.0.0.1', 0), Relay)
    server.upstream_port = int(argv[0])
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == '__main__':
    sys.exit(main())

"""Readiness probes: is a server up *and* the right kind of server?

Plain http.client, never urllib's proxy handling: an ``http_proxy`` in the
environment must not turn a loopback probe into a request elsewhere.
"""

import http.client
import socket

TIMEOUT = 2.0


def http_request(ip, port, method, path, headers=None):
    """(status, headers, body) or None if nothing answered."""
    conn = http.client.HTTPConnection(ip, port, timeout=TIMEOUT)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def healthcheck(ip, port):
    """A Swift server (any kind) with the healthcheck filter."""
    def probe():
        result = http_request(ip, port, 'GET', '/healthcheck')
        return bool(result) and result[0] == 200 and result[2] == b'OK'
    return probe


def memcached(port):
    def probe():
        try:
            with socket.create_connection(('127.0.0.1', port),
                                          timeout=TIMEOUT) as sock:
                sock.sendall(b'version\r\n')
                return sock.recv(64).startswith(b'VERSION')
        except OSError:
            return False
    return probe


def moto(port):
    """moto answers ListBuckets on / without checking credentials."""
    def probe():
        result = http_request('127.0.0.1', port, 'GET', '/')
        return bool(result) and result[0] == 200 and b'ListAllMyBuckets' in (
            result[2])
    return probe


def swift_auth(port, user, key):
    """A tempauth token and storage URL, then an account HEAD with them.

    Proves the whole path: proxy, memcached (tokens live there), rings and
    account servers. Returns None when it works, else what failed.
    """
    result = http_request('127.0.0.1', port, 'GET', '/auth/v1.0',
                          {'X-Auth-User': user, 'X-Auth-Key': key})
    if not result or result[0] != 200:
        return 'auth as %s: %s' % (user, result[0] if result else 'no answer')
    token = result[1].get('X-Auth-Token')
    url = result[1].get('X-Storage-Url', '')
    path = '/' + url.split('/', 3)[-1]
    head = http_request('127.0.0.1', port, 'HEAD', path,
                        {'X-Auth-Token': token})
    if not head or not 200 <= head[0] < 300:
        return 'HEAD %s as %s: %s' % (path, user,
                                      head[0] if head else 'no answer')
    return None

"""The remote Swift side alone: 4 KiB PUTs straight to the second cluster's proxy, nothing read.

The ceiling of any Swift-to-Swift sync on this machine: no contender can PUT faster than the
remote cluster takes the PUTs, so ``ours / container-sync`` can never exceed ``this /
container-sync`` in the same run. Run as ``python -m bench.swift_put JOB.json INDEX`` by
:func:`run`: 3 processes (one per node daemon), each with as many lanes (green threads) as a
daemon has ``workers``; each lane opens ONE keep-alive connection and PUTs the process's next
name on it until none is left, then closes it (eventlet monkey-patched, as the daemon). Each
process logs in and builds its body, reports ``ready``, waits for ``go``, reports ``done``;
the window (go to the last done) leaves start-up out, and the CPU of every process of the
environment is read at both ends while these processes are alive.

Why lanes and not a connection per green thread of a ``GreenPool.imap``: imap spawns a new
green thread for every item, so such a cache opens (and keeps open) one connection per PUT. The
remote proxy serves at most ``max_clients`` (Swift's default 1,024) connections at once and
drops an idle one only after ``client_timeout`` (60 s): past ~1,000 PUTs every new connection
waited in its accept queue for an old one to time out, a ~52 s stall.
"""
import json
import os
import sys


def worker(job, index):
    from swift.common.utils import monkey_patch
    monkey_patch()
    import http.client
    import socket
    import urllib.parse
    import swiftclient
    from eventlet import GreenPool

    names = iter(job['names'][index::job['processes']])
    body = os.urandom(job['size'])
    url, token = swiftclient.get_auth(job['auth_url'], job['user'], job['key'])
    parsed = urllib.parse.urlsplit(url)

    def put(conn, name):
        # http.client sends headers and a bytes body in one write
        conn.request('PUT', '%s/%s/%s' % (parsed.path, job['container'],
                                           urllib.parse.quote(name)), body,
                     {'X-Auth-Token': token, 'Content-Length': str(len(body))})
        resp = conn.getresponse()
        resp.read()
        if resp.status // 100 != 2:
            raise RuntimeError('PUT %s: %d' % (name, resp.status))

    def lane(_number):
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
        conn.connect()
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)   # no Nagle wait
        try:
            for name in names:      # shared: a lane that is done takes the next name
                put(conn, name)
        finally:
            conn.close()
    from bench.gated import serve
    serve(lambda: list(GreenPool(job['threads']).imap(lane, range(job['threads']))))


def run(benv, access, names, size, processes, threads, path):
    """One run; window figures (rate, CPU of all processes per object), verified."""
    from bench import gated
    from bench.container_sync import remote_container, remote_conn
    target = benv.info['swift_target']
    container = remote_container(benv, 'ceiling')
    job = {'names': names, 'size': size, 'processes': processes, 'threads': threads,
           'container': container, 'auth_url': target['aws_endpoint'],
           'user': target['aws_identity'], 'key': target['aws_secret']}
    with open(path, 'w') as f:
        json.dump(job, f)
    procs = gated.launch('bench.swift_put', path, processes)
    result = gated.window(benv, procs, len(names), on_open=access.reset)
    if result['done'] is None:
        result = {'seconds': None}
    else:
        del result['done']
        result.update(seconds=result['window_s'], objs_per_s=result['window_objs_per_s'])
    result['requests'] = access.by_method()
    result['requests_per_obj'] = sum(result['requests'].values()) / len(names)
    listing = remote_conn(benv).get_container(container, full_listing=True)[1]
    result['remote_keys'] = len(listing)
    wrong = sum(1 for o in listing if o['bytes'] != size) + len(names) - len(listing)
    result['verified'] = {'ok': not wrong}
    if wrong:
        result['verified']['why'] = '%d objects missing or of the wrong size' % wrong
    result['ok'] = result['seconds'] is not None and not wrong
    return result


if __name__ == '__main__':
    with open(sys.argv[1]) as f:
        worker(json.load(f), int(sys.argv[2]))

"""The remote Swift side alone: 4 KiB PUTs straight to the second cluster's proxy, nothing read.

The ceiling of any Swift-to-Swift sync on this machine: no contender can PUT faster than the
remote cluster takes the PUTs, so ``ours / container-sync`` can never exceed ``this /
container-sync`` in the same run. Run as ``python -m bench.swift_put JOB.json INDEX`` by
:func:`run`: 3 processes (one per node daemon), each with as many green threads as a daemon has
``workers``, each PUTting every Nth name on its own keep-alive connection (eventlet
monkey-patched, as the daemon). Each process logs in and builds its body, reports ``ready``,
waits for ``go``, reports ``done``; the window (go to the last done) leaves start-up out, and the CPU of every
process of the environment is read at both ends while these processes are alive.
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
    from eventlet import GreenPool, getcurrent

    names = job['names'][index::job['processes']]
    body = os.urandom(job['size'])
    url, token = swiftclient.get_auth(job['auth_url'], job['user'], job['key'])
    parsed = urllib.parse.urlsplit(url)
    conns = {}

    def connection():
        # one keep-alive connection per green thread, as the daemon keeps its own; http.client
        # sends headers and a bytes body in one write, and NODELAY: no Nagle wait per PUT
        me = getcurrent()
        if me not in conns:
            conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
            conn.connect()
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conns[me] = conn
        return conns[me]

    def put(name):
        conn = connection()
        conn.request('PUT', '%s/%s/%s' % (parsed.path, job['container'],
                                           urllib.parse.quote(name)), body,
                     {'X-Auth-Token': token, 'Content-Length': str(len(body))})
        resp = conn.getresponse()
        resp.read()
        if resp.status // 100 != 2:
            raise RuntimeError('PUT %s: %d' % (name, resp.status))
    from bench.gated import serve
    serve(lambda: list(GreenPool(job['threads']).imap(put, names)))


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

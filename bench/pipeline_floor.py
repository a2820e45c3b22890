"""The pipeline floor: the least app behind proxymc's Swift middlewares, relaying a GET to S3.

proxymc must run behind Swift's own middlewares (issue 12: the auth filter, s3api, copy,
listing_formats, proxy-logging, ...), so what they cost is in every GET it serves; the bare
relay (``bench.relay``) has none of it. This is the other bound: the devenv's proxymc paste
config (``devenv.configs.proxymc_conf``: the one proxymc runs with) with

* the same Swift middlewares in the same order, minus proxymc's own filters (``proxymc-guard``,
  ``proxymc-s3`` and the no-op ``slo``: their cost is proxymc's, not the pipeline's), and
* ``FloorApp`` in place of proxymc: it asks the auth filter's ``swift.authorize`` (as any app
  behind it must), finds the object's S3 request in a dict (path and headers signed once by
  the bench, as proxymc signs them: no config, no key layout, no signing, no metadata, and the
  S3 server does the same work as for proxymc), sends that GET with ``http.client`` on a new
  connection (the S3 server here closes each one anyway, for proxymc too) and streams the
  answer back in ``CHUNK`` pieces with four of its headers; nothing else,

run by the same entry point and WSGI server (``s3_sync.cli.proxymc:main`` through
``devenv.launch``, one worker, logs to the environment's log dir), with the same tempauth users
and memcache, so a proxymc token is good here too. Any app behind that pipeline costs at least
this: ``floor / direct`` is what such an app can reach here, ``proxymc / floor`` what proxymc
adds to it.

It lives in the bench alone (its routes are the bench's objects), never in the product.
"""
import configparser
import contextlib
import http.client
import io
import json
import os
import socket
import subprocess
import time

from swift.common.swob import HTTPForbidden, HTTPNotFound, Request

from bench.environment import stop_procs
from devenv.launch import child_env
from devenv.probes import healthcheck
from devenv.servers import ENTRY_POINTS, LAUNCH

# proxymc's own filters: the floor goes without them
PROXYMC_FILTERS = ('proxymc-guard', 'proxymc-s3', 'slo')
CHUNK = 2 ** 20       # as proxymc's reads (1 MiB: 4 MiB was no faster here)
PASSED = ('content-length', 'content-type', 'etag', 'last-modified')
START_TIMEOUT = 60
STOP_TIMEOUT = 10


class Body:
    """The S3 answer's body in ``CHUNK`` reads; ``close`` drops the connection."""

    def __init__(self, resp, conn, chunk=CHUNK):
        self.resp, self.conn, self.chunk = resp, conn, chunk

    def __iter__(self):
        read, size = self.resp.read, self.chunk
        while True:
            chunk = read(size)
            if not chunk:
                return
            yield chunk

    def close(self):
        self.conn.close()


class FloorApp:
    def __init__(self, upstream, routes, chunk=CHUNK):
        self.host, _sep, port = upstream.rpartition(':')
        self.port = int(port)
        self.routes = routes
        self.chunk = chunk

    def __call__(self, env, start_response):
        target = self.routes.get(env['PATH_INFO'])
        authorize = env.get('swift.authorize')
        if target is None or authorize is None:
            return (HTTPNotFound if authorize else HTTPForbidden)()(env, start_response)
        refusal = authorize(Request(env))
        if refusal is not None:
            return refusal(env, start_response)
        conn = http.client.HTTPConnection(self.host, self.port)
        conn.request('GET', target[0], headers=target[1])
        resp = conn.getresponse()
        start_response('%d %s' % (resp.status, resp.reason),
                       [(k, v) for k, v in resp.getheaders() if k.lower() in PASSED])
        return Body(resp, conn, self.chunk)


def app_factory(global_conf, **local_conf):
    with open(local_conf['routes']) as f:
        return FloorApp(local_conf['upstream'], json.load(f),
                        int(local_conf.get('chunk', CHUNK)))


def floor_conf(proxymc_conf, port, upstream, routes, chunk=CHUNK):
    """The text of the floor's paste config, made from proxymc's (see the module docstring)."""
    parser = configparser.RawConfigParser()
    parser.optionxform = str
    parser.read(proxymc_conf)
    parser.set('DEFAULT', 'bind_port', str(port))
    parser.set('DEFAULT', 'log_name', 'pipeline-floor')
    pipeline = [name for name in parser.get('pipeline:main', 'pipeline').split()
                if name not in PROXYMC_FILTERS]
    parser.set('pipeline:main', 'pipeline', ' '.join(pipeline))
    for name in PROXYMC_FILTERS:
        parser.remove_section('filter:%s' % name)
    parser.remove_section('app:proxy-server')
    parser.add_section('app:proxy-server')
    for key, value in (('paste.app_factory', 'bench.pipeline_floor:app_factory'),
                       ('upstream', upstream), ('routes', routes), ('chunk', str(chunk))):
        parser.set('app:proxy-server', key, value)
    out = io.StringIO()
    parser.write(out)
    return out.getvalue()


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running(info, upstream_url, routes, scratch, chunk=CHUNK):
    """The floor as a server of its own, in front of the S3 server at ``upstream_url``
    (http://127.0.0.1:N); ``routes``: {Swift object path: [S3 path, signed headers]}. Yields its
    URL; stopped (by its pid) at the end."""
    os.makedirs(scratch, exist_ok=True)
    routes_file = os.path.join(scratch, 'pipeline-floor-routes.json')
    with open(routes_file, 'w') as f:
        json.dump(routes, f)
    conf = os.path.join(scratch, 'pipeline-floor.conf')
    port = _free_port()
    with open(conf, 'w') as f:
        f.write(floor_conf(info['proxymc']['conf'], port,
                           upstream_url.split('://', 1)[-1].rstrip('/'), routes_file, chunk))
    log_path = os.path.join(info.get('log_dir') or scratch, 'pipeline-floor.log')
    with open(log_path, 'ab') as log:
        proc = subprocess.Popen(
            LAUNCH + ['swift', info['swift_dir'], ENTRY_POINTS['proxymc'], conf],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=child_env(),
            close_fds=True)
    try:
        probe, deadline = healthcheck('127.0.0.1', port), time.time() + START_TIMEOUT
        while not probe():
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError('the pipeline floor did not start (exit %s; see %s)'
                                   % (proc.poll(), log_path))
            time.sleep(0.2)
        yield 'http://127.0.0.1:%d' % port
    finally:
        stop_procs([proc], STOP_TIMEOUT)

"""Ceph's radosgw as an optional third S3 target, on a one-monitor, one-memstore-OSD Ceph.

Started only on request (``python -m devenv up --radosgw``, ``S3SYNC_RADOSGW=1``, or
``Environment(radosgw=True)``), because it costs: Debian's packages (radosgw, ceph-mon,
ceph-osd: ~270 MB, installed here with apt-get when missing, as root), ~15 s to start and
~800 MB of RSS. What it buys is a real S3 implementation: signatures v2 and v4, Content-MD5,
multipart ETags, conditional PUTs, bucket lifecycle.

Layout, all under ``BASE/radosgw``::

    run/   pid files of radosgw-mon, radosgw-osd, radosgw and their admin sockets
    log/   their logs (stderr), and setup.log (apt-get, mkfs, radosgw-admin output)
    data/  ceph.conf, monmap, the monitor's store, the OSD's dir

Everything binds to 127.0.0.1: the monitor on ``radosgw_mon_port``, the OSD on a port from
``radosgw_osd_port`` .. +49, radosgw (beast) on ``radosgw_port``; all three move with the
port offset. ``auth none`` (no cephx), no mgr, pool size 1.

A memstore OSD keeps its objects in RAM, so a cluster does not survive its OSD: whenever the
monitor or the OSD is not running, ``up`` wipes ``data/`` and builds a new, empty cluster. A dead
radosgw alone is just started again.

Every wait is bounded and every failure is a ``DevenvError`` of one line plus a log tail, and
leaves none of the three processes running.
"""

import json
import logging
import os
import shutil
import socket
import struct
import subprocess
import time
import uuid

from devenv import probes
from devenv.errors import DevenvError
from devenv.processes import ProcessTable, Server, port_in_use

PACKAGES = ('radosgw', 'ceph-mon', 'ceph-osd')
BINARIES = ('radosgw', 'radosgw-admin', 'ceph-mon', 'ceph-osd', 'ceph', 'monmaptool')
INSTALL_HINT = ('apt-get update && apt-get install -y --no-install-recommends %s'
                % ' '.join(PACKAGES))
MON, OSD, RGW = 'radosgw-mon', 'radosgw-osd', 'radosgw'
NAMES = (MON, OSD, RGW)
UID = 's3sync'
IDENTITY = ('s3sync-rgw', 's3sync-rgw-secret')
REGION = 'us-east-1'
LOG = logging.getLogger('devenv')
OSD_PORTS = 50              # the OSD binds a few ports (v1/v2, front/back) from this range
INSTALL_TIMEOUTS = (300, 900)   # apt-get update, apt-get install (seconds)
START_TIMEOUT = 90          # a cold start takes ~4 s here; rgw creates its pools on first start
COMMAND_TIMEOUT = 60        # one mkfs / ceph / radosgw-admin call


def requested(environ=None):
    """Whether S3SYNC_RADOSGW asks for radosgw (1/true/yes)."""
    value = (os.environ if environ is None else environ).get('S3SYNC_RADOSGW', '')
    return value.strip().lower() in ('1', 'true', 'yes', 'on')


def binary(name):
    """Full path of a Ceph program, or None (/usr/sbin may be missing from PATH)."""
    found = shutil.which(name)
    if found:
        return found
    for folder in ('/usr/bin', '/usr/sbin'):
        path = os.path.join(folder, name)
        if os.access(path, os.X_OK):
            return path
    return None


def missing_binaries():
    return [name for name in BINARIES if not binary(name)]


class Radosgw:
    """The mini Ceph of one base dir: paths, ports, processes."""

    def __init__(self, base, settings):
        self.base = base
        self.root = os.path.join(base, 'radosgw')
        self.data = os.path.join(self.root, 'data')
        self.run_dir = os.path.join(self.root, 'run')
        self.conf = os.path.join(self.data, 'ceph.conf')
        self.setup_log = os.path.join(self.root, 'log', 'setup.log')
        self.port = settings['radosgw_port']
        self.mon_port = settings['radosgw_mon_port']
        self.osd_port = settings['radosgw_osd_port']
        self.procs = ProcessTable(self.root)

    # -- what it is ------------------------------------------------------------
    @property
    def endpoint(self):
        return 'http://127.0.0.1:%d' % self.port

    def asok(self, name):
        return os.path.join(self.run_dir, {MON: 'mon.a', OSD: 'osd.0',
                                           RGW: 'client.rgw.a'}[name] + '.asok')

    def servers(self):
        common = ['-f', '-c', self.conf]
        return [
            Server(MON, [binary('ceph-mon') or 'ceph-mon', '-i', 'a'] + common,
                   [('127.0.0.1', self.mon_port)], self.asok_probe(MON, 'mon_status'),
                   'S3SYNC_RADOSGW_MON_PORT', self.conf, 'radosgw'),
            Server(OSD, [binary('ceph-osd') or 'ceph-osd', '-i', '0'] + common,
                   [], self.asok_probe(OSD, 'status'),
                   'S3SYNC_RADOSGW_OSD_PORT', self.conf, 'radosgw'),
            Server(RGW, [binary('radosgw') or 'radosgw', '-n', 'client.rgw.a'] + common,
                   [('127.0.0.1', self.port)], self.http_probe,
                   'S3SYNC_RADOSGW_PORT', self.conf, 'radosgw'),
        ]

    def info(self):
        """The env.json entry: an S3 target like the others, plus radosgw's own facts."""
        return {'name': 'radosgw', 'aws_endpoint': self.endpoint,
                'aws_identity': IDENTITY[0], 'aws_secret': IDENTITY[1], 'region': REGION,
                'uid': UID, 'version': self.version(), 'conf': self.conf,
                'log_dir': self.procs.log_dir}

    def version(self):
        path = os.path.join(self.root, 'version')
        try:
            with open(path) as fp:
                return fp.read().strip()
        except OSError:
            return ''

    # -- probes ----------------------------------------------------------------
    def asok_probe(self, name, command):
        def probe():
            reply = admin_socket(self.asok(name), command)
            if not reply:
                return False
            if name == MON:
                return reply.get('state') in ('leader', 'peon')
            return reply.get('state') == 'active'
        return probe

    def http_probe(self):
        """Anonymous ListBuckets: radosgw answers with an empty list."""
        result = probes.http_request('127.0.0.1', self.port, 'GET', '/')
        return bool(result) and result[0] == 200 and b'ListAllMyBucketsResult' in result[2]

    # -- state -----------------------------------------------------------------
    def running(self):
        return [name for name in NAMES if self.procs.running_pid(name)]

    def status(self):
        states = []
        for server in self.servers():
            if not self.procs.running_pid(server.name):
                states.append((server.name, 'down'))
            elif not server.probe():
                states.append((server.name, 'not answering'))
            else:
                states.append((server.name, 'up'))
        return states

    def rss_bytes(self):
        """The resident memory of the three processes together."""
        total = 0
        for name in NAMES:
            pid = self.procs.running_pid(name)
            try:
                with open('/proc/%d/status' % pid) as fp:
                    for line in fp:
                        if line.startswith('VmRSS:'):
                            total += int(line.split()[1]) * 1024
            except (OSError, TypeError):
                pass
        return total

    # -- up ------------------------------------------------------------------
    def up(self, timeout=START_TIMEOUT):
        """Install when missing, start what is not running, wait until radosgw serves our user.

        Returns ``info()``; raises ``DevenvError`` (and leaves nothing running) when it fails.
        """
        spent = ensure_installed(self.setup_log)
        if spent:
            LOG.info('radosgw: installed %s in %.1f s', ' '.join(PACKAGES), spent)
        started = time.time()
        deadline = started + timeout
        running = self.running()
        started_now = [name for name in NAMES if name not in running]
        try:
            if MON in running and OSD in running:
                if RGW not in running:
                    self._check_port(RGW, self.port)
                    self._start(RGW, deadline)
            else:
                if running:
                    LOG.info('radosgw: %s not running: a new cluster (memstore data is '
                             'gone)', ' and '.join(n for n in (MON, OSD) if n not in running))
                started_now = list(NAMES)
                self.stop()
                self._check_port(MON, self.mon_port)
                self._check_port(RGW, self.port)
                self._bootstrap(deadline)
            self._wait(RGW, deadline)
            self._ensure_user(deadline)
            self._check_signed_request(deadline)
        except BaseException:
            self.stop()
            raise
        if started_now:
            LOG.info('radosgw: started %s in %.1f s', ' '.join(started_now),
                     time.time() - started)
        return self.info()

    def _check_port(self, name, port):
        if port_in_use('127.0.0.1', port):
            raise DevenvError(
                '%s: port 127.0.0.1:%d is in use by a process that is not this environment\'s; '
                'stop it or move the port (%s, or S3SYNC_DEVENV_PORT_OFFSET on a new base)'
                % (name, port, {MON: 'S3SYNC_RADOSGW_MON_PORT',
                                RGW: 'S3SYNC_RADOSGW_PORT'}[name]))

    def _bootstrap(self, deadline):
        """A new cluster: conf, monitor, OSD, radosgw."""
        shutil.rmtree(self.data, ignore_errors=True)
        for folder in (self.data, self.run_dir, self.procs.log_dir):
            os.makedirs(folder, exist_ok=True)
        with open(os.path.join(self.root, 'version'), 'w') as fp:
            fp.write(self._run(['radosgw', '--version'], deadline).strip() + '\n')
        fsid = str(uuid.uuid4())
        with open(self.conf, 'w') as fp:
            fp.write(ceph_conf(self, fsid))
        monmap = os.path.join(self.data, 'monmap')
        self._run(['monmaptool', '--create', '--clobber', '--fsid', fsid,
                   '--add', 'a', '127.0.0.1:%d' % self.mon_port, monmap], deadline)
        self._run(['ceph-mon', '-c', self.conf, '--mkfs', '-i', 'a', '--monmap', monmap],
                  deadline)
        self._start(MON, deadline)
        self._wait(MON, deadline)
        osd_uuid = str(uuid.uuid4())
        osd_id = self._run(['ceph', '-c', self.conf, '--connect-timeout', '20',
                            'osd', 'new', osd_uuid], deadline).strip()
        if osd_id != '0':
            raise DevenvError('radosgw: "ceph osd new" gave OSD id %r, not 0; see %s'
                              % (osd_id, self.setup_log))
        os.makedirs(os.path.join(self.data, 'osd.0'), exist_ok=True)
        self._run(['ceph-osd', '-c', self.conf, '-i', '0', '--mkfs', '--osd-uuid', osd_uuid],
                  deadline)
        self._start(OSD, deadline)
        self._wait(OSD, deadline)
        self._start(RGW, deadline)

    def _start(self, name, deadline):
        server = [s for s in self.servers() if s.name == name][0]
        env = dict(os.environ, NO_PROXY='127.0.0.1,localhost', no_proxy='127.0.0.1,localhost')
        self.procs.start(server, env)

    def _wait(self, name, deadline):
        server = [s for s in self.servers() if s.name == name][0]
        while not server.probe():
            if not self.procs.running_pid(name):
                raise self._failure(name, 'exited during startup')
            if time.time() > deadline:
                raise self._failure(name, 'is not ready in time')
            time.sleep(0.1)

    def _failure(self, name, what):
        # Ceph's stderr log has a blank line after each line
        tail = [line for line in self.procs.log_tail(name, lines=24).splitlines()
                if line.strip()][-12:]
        return DevenvError('%s %s; log %s ends with:\n%s' % (
            name, what, self.procs.log_path(name), '\n'.join(tail) or '(empty)'))

    def _ensure_user(self, deadline):
        admin = ['radosgw-admin', '-c', self.conf, '-n', 'client.admin']
        try:
            self._run(admin + ['user', 'info', '--uid', UID], deadline, quiet=True)
            return
        except DevenvError:
            pass
        self._run(admin + ['user', 'create', '--uid', UID, '--display-name', 's3sync devenv',
                           '--access-key', IDENTITY[0], '--secret-key', IDENTITY[1]],
                  deadline)

    def _check_signed_request(self, deadline):
        """A SigV4-signed ListBuckets with our keys: proves the user and the signing path."""
        while True:
            problem = signed_list_buckets(self.port, *IDENTITY)
            if problem is None:
                return
            if time.time() > deadline:
                raise self._failure(RGW, 'refuses its own user (%s)' % problem)
            time.sleep(0.2)

    def _run(self, argv, deadline, quiet=False):
        """Run a Ceph tool to completion (bounded); its stdout. Output is logged to setup.log."""
        argv = [binary(argv[0]) or argv[0]] + argv[1:]
        timeout = max(1.0, min(COMMAND_TIMEOUT, deadline - time.time()))
        os.makedirs(os.path.dirname(self.setup_log), exist_ok=True)
        with open(self.setup_log, 'ab') as log:
            log.write(('%s $ %s\n' % (time.strftime('%H:%M:%S'), ' '.join(argv))).encode())
            try:
                proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, timeout=timeout)
            except subprocess.TimeoutExpired as err:
                log.write(err.output or b'')
                raise DevenvError('radosgw setup: %s did not finish in %.0f s; log %s'
                                  % (os.path.basename(argv[0]), timeout, self.setup_log))
            log.write(proc.stdout)
        out = proc.stdout.decode('utf-8', 'replace')
        if proc.returncode != 0:
            if quiet:
                raise DevenvError(out)
            tail = '\n'.join(out.rstrip().splitlines()[-10:])
            raise DevenvError('radosgw setup: "%s" failed (exit %d); log %s ends with:\n%s'
                              % (_short(argv, self.conf), proc.returncode, self.setup_log,
                                 tail or '(empty)'))
        return out

    # -- down ------------------------------------------------------------------
    def stop(self):
        """radosgw first, then the OSD (its RAM store is thrown away: no slow save), then mon."""
        # radosgw takes ~5 s to honour SIGTERM (and hangs when its OSD is gone); its data goes
        # with the OSD anyway
        self.procs.stop([RGW], timeout=1)
        self.procs.stop([OSD], timeout=3)
        self.procs.stop([MON], timeout=5)


def ceph_conf(rgw, fsid):
    osd_max = rgw.osd_port + OSD_PORTS - 1
    return '''\
# Written by devenv/radosgw.py: a one-monitor, one-memstore-OSD Ceph for radosgw, loopback only.
[global]
fsid = {fsid}
mon host = 127.0.0.1:{mon_port}
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
ms bind port min = {osd_port}
ms bind port max = {osd_max}
auth cluster required = none
auth service required = none
auth client required = none
# without it the client has no usable auth mode with "auth none" (get_initial_auth_request -13)
ms mon client mode = crc secure
run dir = {run}
crash dir = {root}/crash
admin socket = {run}/$name.asok
log to file = false
log to stderr = true
err to stderr = true
mon cluster log to file = false
mon data avail warn = 1
mon data avail crit = 0
mon allow pool size one = true
mon allow pool delete = true
paxos propose interval = 0.1
mon max pg per osd = 1000
mon warn on pool no redundancy = false
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd crush chooseleaf type = 0
osd objectstore = memstore
memstore device bytes = 8589934592
mon data = {data}/$name
osd data = {data}/$name

[client]
admin socket =
rgw data = {data}/$name

[client.rgw.a]
admin socket = {run}/$name.asok
rgw frontends = beast endpoint=127.0.0.1:{port} tcp_nodelay=1
rgw thread pool size = 64
# a lifecycle "day" lasts 10 s, so that expiration can be watched in a test
rgw lc debug interval = 10
# give deleted data back to the memstore soon
rgw gc obj min wait = 30
rgw gc processor period = 30
rgw enable usage log = false
'''.format(fsid=fsid, mon_port=rgw.mon_port, osd_port=rgw.osd_port, osd_max=osd_max,
           run=rgw.run_dir, root=rgw.root, data=rgw.data, port=rgw.port)


def admin_socket(path, command, timeout=2.0):
    """Ask a Ceph daemon's admin socket; its JSON answer, or None."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(path)
            sock.sendall(json.dumps({'prefix': command}).encode() + b'\0')
            head = _recv_exact(sock, 4)
            body = _recv_exact(sock, struct.unpack('>I', head)[0])
        return json.loads(body)
    except (OSError, ValueError, struct.error):
        return None


def _recv_exact(sock, size):
    data = b''
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise OSError('admin socket closed early')
        data += chunk
    return data


def signed_list_buckets(port, identity, secret):
    """None if a SigV4-signed GET / with these keys succeeds, else what happened."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method='GET', url='http://127.0.0.1:%d/' % port)
    S3SigV4Auth(Credentials(identity, secret), 's3', REGION).add_auth(request)
    result = probes.http_request('127.0.0.1', port, 'GET', '/', dict(request.headers.items()))
    if not result:
        return 'no answer'
    if result[0] != 200:
        return 'HTTP %d %s' % (result[0], result[2][:200].decode('utf-8', 'replace'))
    return None


def ensure_installed(log_path):
    """apt-get the Ceph packages when a program is missing; seconds spent (0 if none)."""
    missing = missing_binaries()
    if not missing:
        return 0.0
    if os.geteuid() != 0:
        raise DevenvError('radosgw: %s not installed and this is not root; run: %s'
                          % (', '.join(missing), INSTALL_HINT))
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    started = time.time()
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    # No service may start from the packages' scripts: a policy-rc.d that says no, if the
    # machine has none (ours is removed again afterwards).
    policy = '/usr/sbin/policy-rc.d'
    own_policy = not os.path.exists(policy)
    if own_policy:
        with open(policy, 'w') as fp:
            fp.write('#!/bin/sh\n# devenv/radosgw.py: no autostart while installing\nexit 101\n')
        os.chmod(policy, 0o755)
    try:
        lock = ['-o', 'DPkg::Lock::Timeout=120']
        for argv, timeout in (
                (['apt-get'] + lock + ['update', '-q'], INSTALL_TIMEOUTS[0]),
                (['apt-get'] + lock + ['install', '-y', '-q', '--no-install-recommends']
                 + list(PACKAGES), INSTALL_TIMEOUTS[1])):
            with open(log_path, 'ab') as log:
                log.write(('%s $ %s\n' % (time.strftime('%H:%M:%S'), ' '.join(argv))).encode())
                log.flush()
                try:
                    rc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=log,
                                        stderr=subprocess.STDOUT, env=env,
                                        timeout=timeout).returncode
                except subprocess.TimeoutExpired:
                    raise DevenvError('radosgw: "%s" did not finish in %d s; log %s'
                                      % (' '.join(argv[:1] + argv[3:4]), timeout, log_path))
            if rc != 0:
                raise DevenvError('radosgw: "%s" failed (exit %d); log %s ends with:\n%s' % (
                    ' '.join(argv[:1] + argv[3:4]), rc, log_path, _tail(log_path)))
    finally:
        if own_policy:
            os.unlink(policy)
    still = missing_binaries()
    if still:
        raise DevenvError('radosgw: %s still missing after apt-get install; log %s'
                          % (', '.join(still), log_path))
    return time.time() - started


def _short(argv, conf):
    """A command for a one-line message: program name and arguments, without "-c CONF"."""
    args = list(argv[1:])
    if '-c' in args and args[args.index('-c') + 1:args.index('-c') + 2] == [conf]:
        del args[args.index('-c'):args.index('-c') + 2]
    return ' '.join([os.path.basename(argv[0])] + args[:4])


def _tail(path, lines=10):
    try:
        with open(path, 'rb') as fp:
            text = fp.read().decode('utf-8', 'replace')
    except OSError:
        return '(no log)'
    return '\n'.join(text.rstrip().splitlines()[-lines:])

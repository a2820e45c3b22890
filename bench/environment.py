"""The benchmark's own dev environment and the clients and objects every measurement shares.

The bench never uses the default devenv base or ports (tests and CI do): it defaults to
``/tmp/s3sync-bench`` with every port moved by ``DEFAULT_PORT_OFFSET``.
"""
import concurrent.futures
import os
import platform
import subprocess
import threading
import time
import urllib.request
import uuid

import swiftclient

from bench import phases
from bench.accesslog import OBSERVER_AGENT, observe_s3
from devenv import Environment
from s3_sync.providers.s3_client import make_client
from s3_sync.config import mapping_from_dict

DEFAULT_BASE = '/tmp/s3sync-bench'
DEFAULT_PORT_OFFSET = 20000   # far above the small offsets others use (memcached 11211+N)
LOOPBACK = '127.0.0.1,localhost'
POPULATE_THREADS = 8


def bypass_http_proxies():
    for var in ('NO_PROXY', 'no_proxy'):
        os.environ[var] = LOOPBACK


def machine():
    """nproc, RAM, CPU model, load: what RESULTS.md must name."""
    model = platform.processor() or '?'
    try:
        with open('/proc/cpuinfo') as f:
            model = next(line.split(':', 1)[1].strip() for line in f
                         if line.startswith('model name'))
    except (OSError, StopIteration):
        pass
    with open('/proc/meminfo') as f:
        mem_kib = int(f.readline().split()[1])
    return {'nproc': os.cpu_count(), 'ram_gib': round(mem_kib / 2 ** 20, 1),
            'cpu': model, 'loadavg': os.getloadavg(), 'python': platform.python_version(),
            'date': time.strftime('%Y-%m-%d %H:%M %Z')}


class BenchEnv:
    """The environment (up on entry), plus helpers to make containers, objects and buckets."""

    def __init__(self, base=DEFAULT_BASE, port_offset=DEFAULT_PORT_OFFSET, obj_replicas=1):
        bypass_http_proxies()
        self.environment = Environment(base, port_offset=port_offset,
                                       obj_replicas=obj_replicas)
        self.info = None
        self.etags = {}           # container -> {name: MD5 hex} of what populate wrote
        self._populated = {}      # (count, size) -> (container, names) of populated()

    def up(self):
        self.info = self.environment.up(timeout=120)
        return self

    def down(self, wipe=True):
        self.environment.down(wipe=wipe)

    # -- endpoints ---------------------------------------------------------
    @property
    def moto(self):
        return [t for t in self.info['s3_targets'] if t['name'] == 'moto'][0]

    @property
    def account(self):
        return self.info['users']['test:tester']['account']

    def swift_conn(self, shunt=False):
        proxy = self.info['proxies']['shunt' if shunt else 'noshunt']
        return swiftclient.Connection(proxy['auth_url'], 'test:tester',
                                      self.info['users']['test:tester']['key'], retries=2)

    def s3_client(self, endpoint=None):
        """The bench's own S3 client (its requests are left out of moto's figures)."""
        target = self.moto
        return observe_s3(make_client(mapping_from_dict({
            'account': 'x', 'container': 'x', 'aws_bucket': 'x',
            'aws_endpoint': endpoint or target['aws_endpoint'],
            'aws_identity': target['aws_identity'], 'aws_secret': target['aws_secret'],
            'max_conns': 32})))

    def reset_moto(self):
        """Drop every bucket (moto keeps objects in RAM: runs would pile up otherwise)."""
        req = urllib.request.Request(self.moto['aws_endpoint'] + '/moto-api/reset',
                                     method='POST', data=b'',
                                     headers={'User-Agent': OBSERVER_AGENT})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with phases.phase('reset moto'):
            opener.open(req, timeout=30).read()

    def new_bucket(self, prefix='bench'):
        name = '%s-%s' % (prefix, uuid.uuid4().hex[:10])
        self.s3_client().create_bucket(Bucket=name)
        return name

    # -- local objects -----------------------------------------------------
    def new_container(self, prefix='bench', headers=None):
        name = '%s-%s' % (prefix, uuid.uuid4().hex[:10])
        self.swift_conn().put_container(name, headers=headers or {})
        return name

    def populated(self, count, size, prefix='bench'):
        """A container of ``count`` objects of ``size`` bytes and their names, shared by the
        measurements that only read it (populating is a good part of a ``--quick`` run)."""
        key = (count, size)
        if key not in self._populated:
            container = self.new_container(prefix)
            self._populated[key] = (container, self.populate(container, count, size))
        return self._populated[key]

    def populate(self, container, count, size, prefix='obj'):
        """PUT ``count`` objects of ``size`` bytes (distinct bodies); their names."""
        names = ['%s-%06d' % (prefix, i) for i in range(count)]
        local = threading.local()
        filler = os.urandom(size)
        etags = self.etags.setdefault(container, {})

        def put(i):
            if not hasattr(local, 'conn'):
                local.conn = self.swift_conn()
            body = b'%08d' % i + filler[8:] if size >= 8 else filler
            etags[names[i]] = local.conn.put_object(container, names[i], body,
                                                    content_type='application/octet-stream')

        with phases.phase('populate'), \
                concurrent.futures.ThreadPoolExecutor(POPULATE_THREADS) as pool:
            list(pool.map(put, range(count)))
        return names


def rss_mib(pid):
    """VmRSS (resident set now) of a live process, MiB; None once it is gone."""
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def peak_rss_mib(pid):
    """VmHWM (peak resident set) of a live process, MiB; None once it is gone."""
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def cpu_seconds(pid):
    """user + system CPU seconds of a live process so far; None once it is gone."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


class PeakWatcher:
    """Keeps the last VmHWM and CPU time seen of each process (until it exits), from a thread."""

    def __init__(self, procs, interval=0.2):
        self.procs = procs
        self.peaks = [None] * len(procs)
        self.cpu = [None] * len(procs)
        self.series = []          # (seconds since start, [VmRSS MiB per process])
        self._t0 = time.time()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)
        self._thread.start()

    def _run(self, interval):
        while True:
            self.sample()
            if self._stop.wait(interval):
                return

    def sample(self):
        self.series.append((round(time.time() - self._t0, 2),
                            [rss_mib(p.pid) if p.poll() is None else None
                             for p in self.procs]))
        for i, proc in enumerate(self.procs):
            if proc.poll() is not None:
                continue
            value, cpu = peak_rss_mib(proc.pid), cpu_seconds(proc.pid)
            if value is not None:
                self.peaks[i] = value
            if cpu is not None:
                self.cpu[i] = cpu

    def stop(self):
        self.sample()
        self._stop.set()
        self._thread.join()
        return self.peaks


def stop_procs(procs, timeout=15):
    """SIGTERM each of our processes, SIGKILL what is left after ``timeout``."""
    with phases.phase('stop processes'):
        _stop_procs(procs, timeout)


def _stop_procs(procs, timeout):
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.time() + timeout
    for proc in procs:
        try:
            proc.wait(max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def layout_mapping(bucket):
    """A mapping that only the key layout reads (hashed prefix, no custom prefix)."""
    return mapping_from_dict({'account': 'x', 'container': 'x', 'aws_bucket': bucket,
                              'aws_identity': 'x', 'aws_secret': 'x'})


def expected_keys(benv, bucket, container, names=None):
    """{remote key: ETag} that a sync of ``container`` into ``bucket`` must leave (our layout;
    the peers are pointed at the same keys)."""
    from s3_sync import layout
    mapping = layout_mapping(bucket)
    etags = benv.etags.get(container, {})
    return {layout.object_key(mapping, benv.account, container, name): etags.get(name)
            for name in (names if names is not None else etags)}

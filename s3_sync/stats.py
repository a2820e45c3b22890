"""statsd counters and timers, one series per mapping and container (behaviour 1.6).

Metric names keep the original's layout so existing dashboards keep working:
``[statsd_prefix.]<endpoint>.<account>.<bucket[/custom_prefix]>.<container>.<metric>``, each
component URL-quoted with no safe characters and ``.`` as ``%2E`` (a dot would split a component
into two statsd path levels). Bucket and container come last so per-account series are cheap to
prune.

Without ``statsd_host`` nothing is created and every report is a no-op. Stats must never slow down
or break a sync, so sending is fire-and-forget UDP and send errors are ignored.
"""
import socket
import threading
import urllib.parse

COPIED_OBJECTS = 'copied_objects'
DELETED_OBJECTS = 'deleted_objects'
BYTES = 'bytes'
ERRORS = 'errors'
SKIPPED = 'skipped'

DEFAULT_ENDPOINT = 'S3'

_clients = {}
_clients_lock = threading.Lock()


class StatsdClient:
    """One UDP socket to one statsd server, shared by every reporter (UDP sendto is atomic,
    so sharing is safe across threads and green threads)."""

    def __init__(self, host, port):
        self.address = None
        self.sock = None
        try:
            family, _, _, _, address = socket.getaddrinfo(
                host, port, 0, socket.SOCK_DGRAM)[0]
            self.sock = socket.socket(family, socket.SOCK_DGRAM)
            self.address = address
        except OSError:
            pass    # unresolvable host: stats off rather than a daemon that cannot start

    def send(self, payload):
        if self.sock is None:
            return
        try:
            self.sock.sendto(payload.encode('utf-8'), self.address)
        except OSError:
            pass

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def get_client(host, port):
    """The shared client for ``host:port`` (created on first use)."""
    with _clients_lock:
        client = _clients.get((host, port))
        if client is None:
            client = _clients[(host, port)] = StatsdClient(host, port)
        return client


def close_clients():
    with _clients_lock:
        for client in _clients.values():
            client.close()
        _clients.clear()


def quote_component(value):
    return urllib.parse.quote(str(value), safe='').replace('.', '%2E')


def metric_prefix(conf, mapping, container):
    """Everything before ``.<metric>`` for one mapping and (real) container."""
    bucket = mapping['aws_bucket']
    if mapping.get('custom_prefix'):
        bucket = '%s/%s' % (bucket, mapping['custom_prefix'])
    parts = [quote_component(p) for p in (mapping.get('aws_endpoint') or DEFAULT_ENDPOINT,
                                          mapping['account'], bucket, container)]
    if conf.get('statsd_prefix'):
        parts.insert(0, conf['statsd_prefix'])
    return '.'.join(parts)


class StatsReporter:
    """Reports for one mapping and one container (the real one for ``"/*"`` mappings)."""

    def __init__(self, conf, mapping, container=None):
        self.prefix = metric_prefix(conf, mapping, container or mapping['container'])
        host = conf.get('statsd_host')
        self.client = get_client(host, conf.get('statsd_port', 8125)) if host else None

    def name(self, metric):
        return '%s.%s' % (self.prefix, metric)

    def increment(self, metric, n=1):
        if self.client:
            self.client.send('%s:%d|c' % (self.name(metric), n))

    def timing(self, metric, ms):
        if self.client:
            self.client.send('%s:%s|ms' % (self.name(metric), _number(ms)))


def _number(value):
    """statsd wants plain decimals: no exponent, no trailing zeros."""
    text = ('%.3f' % value).rstrip('0').rstrip('.')
    return text or '0'

"""Shared fixtures for the crawler tests: a real container ring of 3 nodes on 127.0.0.1-3 in a
temp swift_dir, real ContainerBrokers at the replica paths, and a recording fake sync side."""
import atexit
import collections
import logging
import os
import shutil
import tempfile

import eventlet
from swift.common import utils
from swift.common.ring import RingBuilder
from swift.common.storage_policy import reload_storage_policies
from swift.common.utils import Timestamp
from swift.container.backend import ContainerBroker

from s3_sync.crawler.node import LocalNode
from test.unit.fakes import make_mapping
from s3_sync.config import validate_config

_SWIFT_DIR = None

SWIFT_CONF = """[swift-hash]
swift_hash_path_prefix = crawler-test-prefix
swift_hash_path_suffix = crawler-test-suffix

[storage-policy:0]
name = gold
default = yes
"""


def swift_dir():
    """One swift_dir (swift.conf + container ring) for the whole test run."""
    global _SWIFT_DIR
    if _SWIFT_DIR is None:
        d = tempfile.mkdtemp(prefix='crawler-swift-')
        atexit.register(shutil.rmtree, d, True)
        with open(os.path.join(d, 'swift.conf'), 'w') as f:
            f.write(SWIFT_CONF)
        builder = RingBuilder(6, 3, 1)
        for n in (1, 2, 3):
            builder.add_dev({'id': n - 1, 'region': 1, 'zone': n, 'ip': '127.0.0.%d' % n,
                             'port': 6200 + 10 * n + 1, 'replication_ip': '127.0.0.%d' % n,
                             'replication_port': 6200 + 10 * n + 1, 'device': 'sdb%d' % n,
                             'weight': 100})
        builder.rebalance(seed=7)
        builder.get_ring().save(os.path.join(d, 'container.ring.gz'))
        _SWIFT_DIR = d
    utils.set_swift_dir(_SWIFT_DIR)
    reload_storage_policies()
    return _SWIFT_DIR


class NullLogger(logging.Logger):
    """Records every log line (level, message) so tests can look at them."""

    def __init__(self):
        super().__init__('crawler-test')
        self.lines = []

    def _log(self, level, msg, args, *a, **kw):
        self.lines.append((logging.getLevelName(level), msg % args if args else msg))

    def at(self, level):
        return [m for lvl, m in self.lines if lvl == level]


class Cluster:
    """Three container servers on one host: devices dir ``srv/N`` with device ``sdbN``."""

    def __init__(self):
        self.swift_dir = swift_dir()
        self.base = tempfile.mkdtemp(prefix='crawler-test-')
        self.devices = []
        for n in (1, 2, 3):
            dev = os.path.join(self.base, 'srv', str(n))
            os.makedirs(os.path.join(dev, 'sdb%d' % n))
            self.devices.append(dev)
        self.status_dir = os.path.join(self.base, 'status')

    def node(self, n, **kw):
        return LocalNode(self.devices[n - 1], self.swift_dir, bind_ip='127.0.0.%d' % n, **kw)

    def nodes(self):
        return [self.node(n) for n in (1, 2, 3)]

    def create(self, account, container):
        """A ContainerBroker on every node's replica; list in node order."""
        brokers = []
        for node in self.nodes():
            for rep in node.replicas(account, container):
                broker = ContainerBroker(rep.db_path, account=account, container=container)
                broker.initialize(Timestamp.now().internal, 0)
                brokers.append(broker)
        return brokers

    def conf(self, n, mappings, **kw):
        """A checked Config for node ``n``."""
        mappings = [m.wire() if hasattr(m, 'wire') else m for m in mappings]
        conf = {'containers': mappings, 'devices': self.devices[n - 1],
                'status_dir': self.status_dir, 'items_chunk': 10, 'poll_interval': 60,
                'workers': 4, 'enumerator_workers': 2, 'verification_slack': 0,
                'swift_bind_ip': '127.0.0.%d' % n, 'swift_dir': self.swift_dir,
                'watch': False}
        conf.update(kw)
        return validate_config(conf)

    def cleanup(self):
        shutil.rmtree(self.base, ignore_errors=True)


def put(broker, name, ts=None, deleted=False):
    ts = ts or Timestamp.now().internal
    if deleted:
        broker.delete_object(name, ts)
    else:
        broker.put_object(name, ts, 3, 'text/plain', 'etag-%s' % name)
    return ts


class FakeSync:
    """Records what the crawler hands over; ``outcomes[name]`` decides a row's outcome (a value,
    an exception to raise, or a callable of the row)."""

    def __init__(self):
        self.rows = []
        self.infos = []
        self.verify_calls = []
        self.outcomes = {}
        self.need = set()

    unavailable = None     # a DestinationUnavailable to raise from ready()

    def ready(self):
        if self.unavailable is not None:
            raise self.unavailable

    def handle_container_info(self, info, metadata):
        self.infos.append(info['id'])

    def handle_row(self, row):
        self.rows.append(row['name'])
        outcome = self.outcomes.get(row['name'])
        if isinstance(outcome, BaseException):
            raise outcome
        if callable(outcome):
            return outcome(row)
        return outcome

    def verify_rows(self, rows):
        self.verify_calls.append([r['name'] for r in rows])
        return [r for r in rows if r['name'] in self.need]

    excluded_prefix = None  # names starting with it are excluded, as by exclude_pattern

    def drop_excluded(self, rows):
        prefix = self.excluded_prefix
        return [r for r in rows if not (prefix and r['name'].startswith(prefix))]


class RemoteSync(FakeSync):
    """A FakeSync with a remote behind it, for kills and restarts.

    ``handle_row`` uploads the row's name to ``remote`` (a Counter of uploads per name) after a
    green-thread switch, so the rows of a chunk are in flight together as on the real pool; an
    ``outcomes`` callable runs first and may block (a slow row). ``verify_rows`` answers from
    the remote, as the batched listing does. Once ``dead`` is set, uploads stop landing: the
    process is gone. ``after_upload(sync)`` runs after each upload that landed."""

    def __init__(self, remote=None):
        super().__init__()
        self.remote = remote if remote is not None else collections.Counter()
        self.dead = False
        self.after_upload = None

    def handle_row(self, row):
        self.rows.append(row['name'])
        outcome = self.outcomes.get(row['name'])
        if callable(outcome):
            outcome(row)
        eventlet.sleep(0)           # the remote request in flight
        if self.dead:
            return None
        self.remote[row['name']] += 1
        if self.after_upload is not None:
            self.after_upload(self)
        return None

    def verify_rows(self, rows):
        self.verify_calls.append([r['name'] for r in rows])
        return [r for r in rows if r['name'] not in self.remote]


class FakeFactory:
    def __init__(self, sync=None):
        self.sync = sync or FakeSync()
        self.calls = []
        self.fail = set()

    def for_container(self, mapping, account, container):
        self.calls.append((account, container))
        if container in self.fail:
            raise RuntimeError('cannot build provider for %s' % container)
        return self.sync


def mapping(account='AUTH_test', container='cont', bucket='bucket', **kw):
    m = {'account': account, 'container': container, 'aws_bucket': bucket,
         'protocol': 's3'}
    m.update(kw)
    return make_mapping(**m)

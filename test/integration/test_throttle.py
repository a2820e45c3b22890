"""Throttles: a mapping's max_requests_per_second holds within 10 % over 30 s, on an S3 target
and on a Swift target, and max_bytes_per_second on a Swift target (functional checks of the
limiter, not speed targets); the limits show in `status`.

Requests are counted at the remote: by a recording proxy in front of the S3 server, and from the
second Swift cluster's proxy access log (a Swift target hands out its own storage URL, so a
proxy in front of its auth URL would see only the authentication).
"""
import concurrent.futures
import os
import threading

from bench import accesslog
from devenv.daemons import NodeDaemons
from devenv.request_counter import FaultProxy
from test.integration.env import IntegrationTest
from test.integration.ops_helpers import run_command
from test.integration.test_sync_daemon import SyncTestBase

RATE = 3.0
OBJECTS = 330
BYTES_RATE = 64 * 1024
BYTES_OBJECTS = 60
BYTES_SIZE = 32 * 1024


def put_objects(testcase, container, count, body=b'x'):
    conns = {}

    def put(i):
        conn = conns.setdefault(threading.get_ident(), testcase.swift_conn())
        conn.retries = 5    # the test's own writes may meet a 503 on this busy machine
        conn.put_object(container, 't-%04d' % i, body)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(put, range(count)))


def assert_rate_holds(testcase, times, rate, amounts=None, min_span=30):
    """``times`` (sorted) of what the remote received hold ``rate`` within 10 % (``amounts``:
    what each one weighed, default 1), on average and in every 10 s window."""
    amounts = amounts or [1] * len(times)
    span = times[-1] - times[0]
    testcase.assertGreaterEqual(span, min_span, (len(times), span))
    # Each sender waited for its own share before sending: the last one's is not in the span.
    measured = (sum(amounts) - amounts[-1]) / span
    testcase.assertAlmostEqual(measured, rate, delta=rate * 0.1)
    for start in range(0, int(span) - 10, 10):
        window = [a for t, a in zip(times, amounts)
                  if times[0] + start <= t < times[0] + start + 10]
        testcase.assertLessEqual(sum(window), rate * 10 * 1.1 + max(amounts),
                                 (start, len(window)))


class ThrottleTest(SyncTestBase):
    target_name = 'moto'

    def test_requests_per_second_hold_within_ten_percent_over_thirty_seconds(self):
        proxy = FaultProxy(self.target['aws_endpoint']).start()
        self.addCleanup(proxy.stop)
        container = self.new_container('throttle')
        put_objects(self, container, OBJECTS)
        mapping = dict(self.mapping(container), aws_endpoint=proxy.url,
                       max_requests_per_second=RATE)
        daemons = NodeDaemons(self.env, [mapping], cluster_status=False, workers=10,
                              stats_interval=1)
        [(rc, out)] = daemons.run_once(nodes=[0], timeout=600)
        self.assertEqual(rc, 0, out)
        assert_rate_holds(self, sorted(r['t'] for r in proxy.records), RATE)
        rc, out, err = run_command(daemons, 0, 'status')
        self.assertEqual(rc, 0, err)
        self.assertIn('requests/s: 3 (waited', out)


class AccessLog:
    """The second Swift cluster's proxy access log from now on: (start time, method, path,
    bytes received) of each client request (read with the bench's ``accesslog.parse_line``)."""

    def __init__(self, env):
        self.path = os.path.join(env['log_dir'], 'remote-proxy.log')
        self.offset = os.path.getsize(self.path)

    def requests(self):
        with open(self.path, 'rb') as f:
            f.seek(self.offset)
            lines = f.read().decode('utf-8', 'replace').splitlines()
        # proxy-logging lines of client requests (the proxy's own subrequests left out)
        found = (accesslog.parse_line(line) for line in lines)
        return sorted((r.start, r.method, r.path, r.received) for r in found if r)


class SwiftThrottleTest(IntegrationTest):
    def swift_mapping(self, prefix, **extra):
        conn = self.swift_conn()
        container = self.make_container(conn, prefix)
        remote = self.remote_swift_conn()
        remote_container = self.unique_name(prefix + '-remote')
        remote.put_container(remote_container)
        self.addCleanup(self.empty_remote, remote, remote_container)
        mapping = self.swift_target_mapping(container, remote_container, **extra)
        return container, mapping

    @staticmethod
    def empty_remote(remote, container):
        for entry in remote.get_container(container, full_listing=True)[1]:
            remote.delete_object(container, entry['name'])
        remote.delete_container(container)

    def sync_node_zero(self, mapping):
        daemons = NodeDaemons(self.env, [mapping], cluster_status=False, workers=10,
                              stats_interval=1)
        log = AccessLog(self.env)
        [(rc, out)] = daemons.run_once(nodes=[0], timeout=600)
        self.assertEqual(rc, 0, out)
        self.assertNotIn('not applied', out)
        return daemons, log.requests()

    def test_requests_per_second_hold_within_ten_percent_over_thirty_seconds(self):
        container, mapping = self.swift_mapping('throttle', max_requests_per_second=RATE)
        put_objects(self, container, OBJECTS)
        daemons, requests = self.sync_node_zero(mapping)
        storage = '/v1/%s/' % self.env['swift_target']['account']
        # Every request of the daemon counts: authentication, HEADs, PUTs, listings.
        ours = [r for r in requests
                if r[2].startswith('/auth/') or r[2].startswith(storage + mapping['aws_bucket'])]
        self.assertTrue(any(r[1] == 'PUT' for r in ours), requests[:10])
        assert_rate_holds(self, [r[0] for r in ours], RATE)
        rc, out, err = run_command(daemons, 0, 'status')
        self.assertEqual(rc, 0, err)
        self.assertIn('requests/s: 3 (waited', out)

    def test_bytes_per_second_hold_within_ten_percent(self):
        container, mapping = self.swift_mapping('bytes', max_bytes_per_second=BYTES_RATE)
        put_objects(self, container, BYTES_OBJECTS, b'b' * BYTES_SIZE)
        _daemons, requests = self.sync_node_zero(mapping)
        puts = [r for r in requests if r[1] == 'PUT' and r[3]]
        self.assertTrue(all(r[3] == BYTES_SIZE for r in puts), puts)
        assert_rate_holds(self, [r[0] for r in puts], BYTES_RATE, [r[3] for r in puts],
                          min_span=5)

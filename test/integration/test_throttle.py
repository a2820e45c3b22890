"""Throttles: a mapping's max_requests_per_second holds within 10 % over 30 s (a functional
check of the limiter, not a speed target), and shows in `status`."""
import concurrent.futures
import threading

from devenv.daemons import NodeDaemons
from devenv.request_counter import FaultProxy
from test.integration.ops_helpers import run_command
from test.integration.test_sync_daemon import SyncTestBase

RATE = 3.0
OBJECTS = 330


class ThrottleTest(SyncTestBase):
    target_name = 'moto'

    def test_requests_per_second_hold_within_ten_percent_over_thirty_seconds(self):
        proxy = FaultProxy(self.target['aws_endpoint']).start()
        self.addCleanup(proxy.stop)
        container = self.new_container('throttle')
        conns = {}

        def put(i):
            conn = conns.setdefault(threading.get_ident(), self.swift_conn())
            conn.retries = 5    # the test's own writes may meet a 503 on this busy machine
            conn.put_object(container, 't-%04d' % i, b'x')
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            list(pool.map(put, range(OBJECTS)))
        mapping = dict(self.mapping(container), aws_endpoint=proxy.url,
                       max_requests_per_second=RATE)
        daemons = NodeDaemons(self.env, [mapping], cluster_status=False, workers=10,
                              stats_interval=1)
        [(rc, out)] = daemons.run_once(nodes=[0], timeout=600)
        self.assertEqual(rc, 0, out)
        times = sorted(r['t'] for r in proxy.records)
        span = times[-1] - times[0]
        self.assertGreaterEqual(span, 30, (len(times), span))
        rate = (len(times) - 1) / span
        self.assertAlmostEqual(rate, RATE, delta=RATE * 0.1)
        # Every 10 s window holds too, not only the average.
        for start in range(0, int(span) - 10, 10):
            window = [t for t in times if times[0] + start <= t < times[0] + start + 10]
            self.assertLessEqual(len(window), RATE * 10 * 1.1 + 1, (start, len(window)))
        rc, out, err = run_command(daemons, 0, 'status')
        self.assertEqual(rc, 0, err)
        self.assertIn('requests/s: 3 (waited', out)

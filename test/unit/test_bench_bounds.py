"""The benchmark's bounds: sides timed in one alternation, the floors and ceilings computed per
round from them, judged against their target's limit, and the bare relay that is proxymc's
ceiling (served over loopback sockets, as the bench runs it)."""
import http.client
import http.server
import os
import subprocess
import sys
import threading
import unittest

from bench import alternation, bounds, relay, report, targets


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def blocks_of(*rounds):
    """Blocks from per-round medians: each side one timing per round."""
    return [[[value] for value in medians] for medians in rounds]


class TestAlternation(unittest.TestCase):
    def test_sides_take_turns_in_order_after_a_warm_up(self):
        calls = []
        blocks = alternation.alternate([lambda: calls.append('a'), lambda: calls.append('b'),
                                        lambda: calls.append('c')], 2, 3)
        self.assertEqual(calls, ['a', 'b', 'c'] * (alternation.WARM_UP + 2 * 3))
        self.assertEqual([[len(side) for side in block] for block in blocks], [[2, 2, 2]] * 3)

    def test_a_wrong_answer_stops_the_figure(self):
        def check(answer):
            if answer != b'whole':
                raise AssertionError('short read')
        with self.assertRaises(AssertionError):
            alternation.alternate([(lambda: b'who', check), lambda: None], 1, 1)

    def test_per_round_formula_reads_each_sides_median_of_that_round(self):
        blocks = [[[1.0, 2.0, 9.0], [1.0, 1.0, 1.0]], [[4.0, 4.0, 4.0], [2.0, 2.0, 2.0]]]
        self.assertEqual(alternation.per_round(blocks, lambda a, b: a / b), (2.0, 2.0, 2.0))
        self.assertEqual(alternation.compare(blocks, 1, 0)['ratio'], (0.5, 0.5, 0.5))


class TestBounds(unittest.TestCase):
    def test_shunt_floor_is_the_local_miss_plus_the_direct_get(self):
        # archived, miss, direct medians of three rounds
        blocks = blocks_of((12.0, 6.0, 4.0), (10.0, 6.0, 4.0), (14.0, 8.0, 6.0))
        floor = bounds.shunt_floor(blocks)
        self.assertEqual(floor['miss_vs_direct'], (4 / 3, 1.5, 1.5))
        self.assertEqual(floor['floor_vs_direct'], (7 / 3, 2.5, 2.5))
        self.assertEqual(floor['vs_floor'], (1.0, 1.0, 1.2))
        self.assertEqual(floor['miss_ms'], 6.0)
        self.assertNotIn('relayed_floor_vs_direct', floor)

    def test_shunt_floor_with_the_relay_hop_counts_the_relayed_get(self):
        # archived, miss, direct, relayed
        floor = bounds.shunt_floor(blocks_of((12.0, 6.0, 4.0, 6.0)), relay=3)
        self.assertEqual(floor['relay_vs_direct'], (1.5, 1.5, 1.5))
        self.assertEqual(floor['relayed_floor_vs_direct'], (3.0, 3.0, 3.0))
        self.assertEqual(floor['vs_relayed_floor'], (1.0, 1.0, 1.0))
        self.assertEqual(floor['relay_ms'], 6.0)

    def test_relay_ceiling_latency_and_inverse_throughput_ratios(self):
        blocks = blocks_of((30.0, 20.0, 10.0), (30.0, 15.0, 10.0))     # proxymc, relay, direct
        ceiling = bounds.relay_ceiling(blocks, size=2 ** 20)
        self.assertEqual(ceiling['vs_relay'], (1.5, 1.75, 2.0))
        self.assertEqual(ceiling['relay_vs_direct'], (1.5, 1.75, 2.0))
        for key in ('relay_throughput_vs_direct', 'throughput_vs_relay'):
            for got, wanted in zip(ceiling[key], (0.5, 7 / 12, 2 / 3)):
                self.assertAlmostEqual(got, wanted)
        self.assertAlmostEqual(ceiling['relay_mib_s'], 1000 / 17.5)
        self.assertNotIn('relay_mib_s', bounds.relay_ceiling(blocks))

    def test_pipeline_floor_is_judged_like_the_relay_under_its_own_keys(self):
        # proxymc, relay, direct, floor
        blocks = blocks_of((30.0, 20.0, 10.0, 24.0), (30.0, 15.0, 10.0, 20.0))
        floor = bounds.pipeline_floor(blocks, 0, 3, 2, size=2 ** 20)
        self.assertEqual(floor['vs_pipeline'], (1.25, 1.375, 1.5))
        self.assertEqual(floor['pipeline_vs_direct'], (2.0, 2.2, 2.4))
        self.assertEqual(floor['pipeline_ms'], 22.0)
        for got, wanted in zip(floor['throughput_vs_pipeline'], (2 / 3, 11 / 15, 0.8)):
            self.assertAlmostEqual(got, wanted)
        self.assertNotIn('relay_ms', floor)

    def test_listing_floor_is_both_plain_listings(self):
        blocks = blocks_of((9.0, 2.0, 4.0))     # spliced, local, remote
        floor = bounds.listing_floor(blocks)
        self.assertEqual(floor['floor_vs_local'], (3.0, 3.0, 3.0))
        self.assertEqual(floor['vs_both_plain'], (1.5, 1.5, 1.5))


class TestBoundRows(unittest.TestCase):
    def rows(self, run):
        """{label: row}, the first row of each label (the 4 KiB target's bounds come first)."""
        rows = {}
        for row in targets.table(run)[2:]:
            rows.setdefault(row.split(' | ')[0][2:], row)
        return rows

    def test_a_bound_beyond_the_limit_says_the_target_is_out_of_reach(self):
        floor = {'miss_vs_direct': (1.4, 1.5, 1.6), 'floor_vs_direct': (2.4, 2.5, 2.6),
                 'vs_floor': (0.9, 1.0, 1.1), 'miss_ms': 6.0}
        run = {'shunt': {'archived_get': {'small': {'ratio': (2.4, 2.5, 2.6), 'floor': floor}},
                         'listing': {'ratio': (3.0, 3.0, 3.0), 'floor_vs_local': (1.5, 1.8, 1.9),
                                     'vs_both_plain': (1.6, 1.7, 1.7)}}}
        rows = self.rows(run)
        miss = [r for k, r in rows.items() if k.startswith('  bound: local miss')][0]
        self.assertIn('out of reach here for any shunt that asks Swift first', miss)
        self.assertIn('bound (target at most 1.20x)', miss)
        listing = [r for k, r in rows.items() if k.startswith('  bound: plain local')][0]
        self.assertIn('1.80x (1.50x–1.90x) | within the limit: reachable by any splice', listing)
        vs_floor = [r for k, r in rows.items() if k == '  archived GET / its sequential floor']
        self.assertIn('(reported)', vs_floor[0])

    def test_proxymc_rows_judge_the_pipeline_floor_against_the_targets_limits(self):
        get = {'ratio': (1.3, 1.3, 1.3), 'pipeline': {
            'pipeline_vs_direct': (1.1, 1.15, 1.3), 'vs_pipeline': (1.1, 1.13, 1.2)}}
        big = {'throughput_ratio': (0.7, 0.7, 0.7), 'pipeline': {
            'pipeline_throughput_vs_direct': (0.7, 0.8, 0.85),
            'throughput_vs_pipeline': (0.9, 0.95, 1.0)}}
        rows = [r for r in targets.table({'proxymc': {'get_4k': get, 'get_16m': big}})
                if 'least app' in r]
        self.assertEqual(len(rows), 4)
        self.assertIn('1.15x (1.10x–1.30x) | within the limit: reachable by any app behind '
                      'that pipeline', rows[0])
        self.assertIn('0.80x (0.70x–0.85x) | **beyond the limit: out of reach here for any '
                      'app behind that pipeline**', rows[2])

    def test_report_names_the_floor_and_the_relay(self):
        floor = {'miss_vs_direct': (1.4, 1.5, 1.6), 'floor_vs_direct': (2.4, 2.5, 2.6),
                 'vs_floor': (0.9, 1.0, 1.1), 'miss_ms': 6.0}
        get = {'a_median_ms': 10.0, 'b_median_ms': 4.0, 'a_p99_ms': 12.0, 'b_p99_ms': 5.0,
               'ratio': (2.4, 2.5, 2.6), 'floor': floor}
        text = '\n'.join(report.shunt_table({'rounds': 3, 'archived_get': {'small': get}}))
        self.assertIn('sequential floor (miss + direct) / direct **2.50x (2.40x–2.60x)**', text)
        relay_fig = {'relay_ms': 5.0, 'relay_vs_direct': (1.1, 1.2, 1.3),
                     'vs_relay': (1.2, 1.3, 1.4)}
        big_relay = dict(relay_fig, relay_mib_s=150.0, relay_throughput_vs_direct=(0.8, 0.85, 0.9),
                         throughput_vs_relay=(0.7, 0.75, 0.8))
        small = {'proxymc_ms': 8.0, 'direct_ms': 5.0, 'ratio': (1.5, 1.6, 1.7), 'relay': relay_fig}
        big = dict(small, relay=big_relay, proxymc_mib_s=100.0, direct_mib_s=130.0,
                   throughput_ratio=(0.6, 0.65, 0.7))
        text = '\n'.join(report.proxymc_table({
            'rounds': 3, 'get_4k': small, 'get_16m': big,
            'listing': {'entries': 10, 'merged_s': 1.0, 'plain_s': 1.0, 'ratio': (1, 1, 1)}}))
        self.assertIn('relay / direct **1.20x (1.10x–1.30x)**, proxymc / relay **1.30x', text)
        self.assertIn('throughput 150 MiB/s, relay / direct **0.85x (0.80x–0.90x)**', text)
        self.assertNotIn('pipeline floor', text)
        pipeline = {'pipeline_ms': 6.0, 'pipeline_vs_direct': (1.25, 1.3, 1.35),
                    'vs_pipeline': (1.0, 1.1, 1.2), 'pipeline_mib_s': 110.0,
                    'pipeline_throughput_vs_direct': (0.6, 0.7, 0.8),
                    'throughput_vs_pipeline': (0.9, 0.95, 1.0)}
        text = '\n'.join(report.proxymc_table({
            'rounds': 3, 'get_4k': small, 'get_16m': dict(big, pipeline=pipeline),
            'listing': {'entries': 10, 'merged_s': 1.0, 'plain_s': 1.0, 'ratio': (1, 1, 1)}}))
        self.assertIn('16 MiB GET through the pipeline floor', text)
        self.assertIn('pipeline / direct **0.70x (0.60x–0.80x)**, proxymc / pipeline **0.95x',
                      text)


class Upstream(http.server.BaseHTTPRequestHandler):
    """An S3 server's manners: HTTP/1.1, ``Connection: close`` on every answer (as moto), or
    a chunked body, or HTTP/1.0 without a length."""
    protocol_version = 'HTTP/1.1'
    seen = []

    def do_GET(self):
        Upstream.seen.append((self.path, self.headers.get('Host'),
                              self.headers.get('Connection')))
        body = (self.path.encode() + b'|') * (1000000 if self.path == '/big' else 40000)
        if self.path == '/chunked':
            self.send_response(200)
            self.send_header('Transfer-Encoding', 'chunked')
            self.end_headers()
            for part in (body[:5], body[5:]):
                self.wfile.write(b'%x\r\n%s\r\n' % (len(part), part))
            self.wfile.write(b'0\r\n\r\n')
            self.close_connection = True
            return
        if self.path == '/unframed':
            self.protocol_version = 'HTTP/1.0'
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True
            return
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.send_header('Connection', 'close')
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    do_HEAD = do_GET

    def log_message(self, *args):
        pass


CHILD = 'S3SYNC_TEST_BARE_RELAY_CHILD'


class TestBareRelayInItsOwnProcess(unittest.TestCase):
    def test_relay_checks_pass_in_a_fresh_interpreter(self):
        # Real threads and sockets, as the bench runs the relay: in a process of its own,
        # untouched by what other test modules load (eventlet)
        proc = subprocess.run(
            [sys.executable, '-m', 'unittest', '-q', 'test.unit.test_bench_bounds.BareRelay'],
            cwd=ROOT, env=dict(os.environ, **{CHILD: '1'}), capture_output=True, text=True,
            timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
        self.assertIn('Ran 4 tests', proc.stderr)


@unittest.skipUnless(os.environ.get(CHILD), 'run by TestBareRelayInItsOwnProcess')
class BareRelay(unittest.TestCase):
    def setUp(self):
        Upstream.seen = []
        self.upstream = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Upstream)
        self.relay = relay.Server(('127.0.0.1', 0), relay.Relay)
        self.relay.upstream_port = self.upstream.server_address[1]
        for server in (self.upstream, self.relay):
            threading.Thread(target=server.serve_forever, daemon=True).start()
        self.conn = http.client.HTTPConnection('127.0.0.1', self.relay.server_address[1],
                                               timeout=10)

    def tearDown(self):
        self.conn.close()
        for server in (self.relay, self.upstream):
            server.shutdown()
            server.server_close()

    def get(self, path, method='GET'):
        self.conn.request(method, path, headers={'Host': 'signed.example:1234'})
        resp = self.conn.getresponse()
        return resp, resp.read()

    def test_keeps_the_client_connection_though_the_server_closes_each(self):
        resp, body = self.get('/a')
        sock = self.conn.sock
        self.assertEqual((resp.status, body), (200, b'/a|' * 40000))
        self.assertIsNone(resp.getheader('Connection'))
        resp, body = self.get('/b')
        self.assertEqual(body, b'/b|' * 40000)
        self.assertIs(self.conn.sock, sock)     # one client connection for both
        # the request went on as sent (Host: the client's signature holds), hop-by-hop gone
        self.assertEqual(Upstream.seen, [('/a', 'signed.example:1234', None),
                                         ('/b', 'signed.example:1234', None)])

    def test_a_body_larger_than_the_relays_buffer_arrives_whole(self):
        resp, body = self.get('/big')
        self.assertEqual(body, b'/big|' * 1000000)
        resp, body = self.get('/a')         # and the connection is still good after it
        self.assertEqual(body, b'/a|' * 40000)

    def test_chunked_and_unframed_bodies_arrive_whole(self):
        resp, body = self.get('/chunked')
        self.assertEqual(body, b'/chunked|' * 40000)
        resp, body = self.get('/unframed')
        self.assertEqual(body, b'/unframed|' * 40000)
        self.assertEqual(resp.getheader('Connection'), 'close')     # the end is the close

    def test_head_has_no_body(self):
        resp, body = self.get('/a', 'HEAD')
        self.assertEqual((resp.status, body), (200, b''))
        resp, body = self.get('/b')
        self.assertEqual(body, b'/b|' * 40000)


if __name__ == '__main__':
    unittest.main()

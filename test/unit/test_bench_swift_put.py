"""The benchmark's remote-side-alone ceiling (``bench.swift_put``) run as a worker process
against a small local HTTP server that counts the connections it accepts: each lane keeps one
keep-alive connection, however many objects it PUTs (a connection per PUT filled the remote
proxy's 1,024 client slots and stalled the run ~52 s at 2,000 objects). It runs every round;
the report gives median (min–max) of its rounds, and a failed round fails the row."""
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
import unittest

from bench import report
from bench.container_sync import CEILING, median_round
from devenv.launch import child_env


class Recorder(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(('127.0.0.1', 0), Handler)
        self.connections = 0
        self.puts = []
        self.lock = threading.Lock()

    def process_request(self, request, client_address):
        with self.lock:
            self.connections += 1
        super().process_request(request, client_address)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'       # keep-alive, as Swift's proxy

    def log_message(self, *args):
        pass

    def answer(self, status, headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header('Content-Length', '0')
        self.end_headers()

    def do_GET(self):
        port = self.server.server_address[1]
        self.answer(200, [('X-Storage-Url', 'http://127.0.0.1:%d/v1/AUTH_t' % port),
                          ('X-Auth-Token', 'tk')])

    def do_PUT(self):
        body = self.rfile.read(int(self.headers['Content-Length']))
        with self.server.lock:
            self.server.puts.append((self.path, len(body), self.headers['X-Auth-Token']))
        self.answer(201)


class TestRemotePutCeiling(unittest.TestCase):
    def setUp(self):
        self.server = Recorder()
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)
        self.scratch = tempfile.mkdtemp()
        self.addCleanup(lambda: __import__('shutil').rmtree(self.scratch, True))

    def run_worker(self, names, threads, size=16):
        port = self.server.server_address[1]
        path = os.path.join(self.scratch, 'job.json')
        with open(path, 'w') as f:
            json.dump({'names': names, 'size': size, 'processes': 1, 'threads': threads,
                       'container': 'c', 'auth_url': 'http://127.0.0.1:%d/auth/v1.0' % port,
                       'user': 'u:u', 'key': 'k'}, f)
        repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env = child_env()
        env.update(NO_PROXY='127.0.0.1', no_proxy='127.0.0.1')
        proc = subprocess.Popen([sys.executable, '-m', 'bench.swift_put', path, '0'], cwd=repo,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env)
        try:
            self.assertEqual(proc.stdout.readline().strip(), b'ready')
            proc.stdin.write(b'go\n')
            proc.stdin.flush()
            done = proc.stdout.readline().strip()
            proc.stdin.close()
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.assertEqual(done, b'done', proc.stderr.read().decode('utf-8', 'replace')[-2000:])

    def test_each_lane_puts_every_object_it_takes_on_one_connection(self):
        names = ['obj%03d' % i for i in range(60)]
        self.run_worker(names, threads=4)
        self.assertEqual(sorted(p for p, _size, _tk in self.server.puts),
                         ['/v1/AUTH_t/c/%s' % n for n in names])
        self.assertEqual({(size, tk) for _p, size, tk in self.server.puts}, {(16, 'tk')})
        # 4 lanes, plus the one connection of the log-in
        self.assertEqual(self.server.connections, 5)

    def test_more_lanes_than_objects_puts_each_object_once(self):
        self.run_worker(['a', 'b'], threads=5)
        self.assertEqual(sorted(p for p, _s, _t in self.server.puts),
                         ['/v1/AUTH_t/c/a', '/v1/AUTH_t/c/b'])



def a_round(rate, ok=True):
    return {'ok': ok, 'objs_per_s': rate, 'window_objs_per_s': rate, 'seconds': 2000 / rate,
            'cpu_ms_per_obj': 10.0, 'requests_per_obj': 1.0, 'requests': {'PUT': 2000},
            'remote_keys': 2000 if ok else 1990,
            'verified': {'ok': ok} if ok else {'ok': False, 'why': '10 objects missing'}}


class TestCeilingRounds(unittest.TestCase):
    def test_the_round_of_median_rate_stands_for_the_row_with_every_round_kept(self):
        row = median_round([a_round(200.0), a_round(150.0), a_round(250.0)])
        self.assertEqual(row['window_objs_per_s'], 200.0)
        self.assertTrue(row['ok'])
        self.assertEqual(row['rounds']['window_objs_per_s'], [200.0, 150.0, 250.0])
        self.assertEqual((row['rounds']['ok_runs'], row['rounds']['runs']), (3, 3))

    def test_a_failed_round_fails_the_row_and_says_why(self):
        row = median_round([a_round(200.0), a_round(150.0, ok=False)])
        self.assertFalse(row['ok'])
        self.assertEqual(row['verified']['why'], '10 objects missing')
        self.assertEqual(row['rounds']['window_objs_per_s'], [200.0])

    def test_report_gives_the_spread_of_the_rounds_and_ratios_against_each_end(self):
        runs = {'ours': a_round(120.0), CEILING: median_round(
            [a_round(200.0), a_round(150.0), a_round(240.0)])}
        text = '\n'.join(report.csync_table({'count': 2000, 'runs': runs}))
        self.assertIn('| %s (3/3 rounds verified) | 200.0 (150.0–240.0) |' % CEILING, text)
        self.assertIn('ours / the remote side alone: 0.60x first to last PUT (0.50x–0.80x '
                      'against its fastest and slowest round)', text)


if __name__ == '__main__':
    unittest.main()

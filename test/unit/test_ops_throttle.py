"""Token buckets, the throttles' hooks in both providers' transports and the delete rail."""
import io
import os
import shutil
import tempfile
import unittest

from botocore.awsrequest import AWSResponse
from swift.common.utils import Timestamp

from s3_sync.crawler.failures import HELD
from s3_sync.sync.outcome import Retry
from s3_sync.providers.s3 import S3Provider
from s3_sync.providers.s3_client import make_client
from s3_sync.providers.swift import SwiftProvider
from s3_sync.providers.swift_conn import ThrottledHTTPConnection
from s3_sync.throttle import (DeleteRails, SharedTokenBucket, Throttle, Throttles, TokenBucket,
                              read_held)
from test.unit.fakes import NullLogger, make_conf, make_mapping


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class TokenBucketTest(unittest.TestCase):
    def test_takers_are_held_to_the_rate_from_the_first_take(self):
        clock = Clock()
        bucket = TokenBucket(10, clock=clock, sleep=clock.sleep)
        for _ in range(100):
            bucket.take()
        self.assertAlmostEqual(clock.now - 100.0, 10.0, delta=0.01)
        self.assertAlmostEqual(bucket.waited, 10.0, delta=0.01)

    def test_an_idle_bucket_saves_one_second_at_most_and_a_big_take_waits_its_share(self):
        clock = Clock()
        bucket = TokenBucket(100, clock=clock, sleep=clock.sleep)
        clock.now += 60
        start = clock.now
        bucket.take(100)
        self.assertEqual(clock.now, start)
        bucket.take(500)
        self.assertAlmostEqual(clock.now - start, 5.0, delta=0.01)


class SharedTokenBucketTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.path = os.path.join(self.dir, '.throttle-x')
        self.addCleanup(shutil.rmtree, self.dir)

    def test_two_buckets_on_one_file_share_one_rate(self):
        clock = Clock()
        first, second = (SharedTokenBucket(10, self.path, clock=clock, sleep=clock.sleep)
                         for _ in range(2))
        for _ in range(50):
            first.take()
            second.take()
        # 100 requests at 10/s between them, not 50 at 10/s each
        self.assertAlmostEqual(clock.now - 100.0, 10.0, delta=0.01)

    def test_processes_of_a_node_take_from_one_rate(self):
        import time
        start = time.monotonic()
        children = []
        for _ in range(2):
            pid = os.fork()
            if pid == 0:    # a daemon process: its own bucket on the node's file
                try:
                    bucket = SharedTokenBucket(20, self.path, sleep=time.sleep)
                    for _ in range(20):
                        bucket.take()
                finally:
                    os._exit(0)
            children.append(pid)
        for pid in children:
            os.waitpid(pid, 0)
        # 40 requests at 20/s: 2 s for the node; buckets of their own would take 1 s
        self.assertGreaterEqual(time.monotonic() - start, 1.9)

    def test_a_new_bucket_drops_saved_up_tokens_and_keeps_a_debt(self):
        clock = Clock()
        SharedTokenBucket(10, self.path, clock=clock, sleep=clock.sleep)
        clock.now += 60     # idle: a minute of tokens would be one second's worth
        bucket = SharedTokenBucket(10, self.path, clock=clock, sleep=clock.sleep)
        bucket.take(10)
        self.assertAlmostEqual(clock.now - 160.0, 1.0, delta=0.01)
        # another process's big take puts the bucket 30 in debt (it sleeps on its own)...
        SharedTokenBucket(10, self.path, clock=clock, sleep=lambda _s: None).take(30)
        restarted = SharedTokenBucket(10, self.path, clock=clock, sleep=clock.sleep)
        before = clock.now
        restarted.take(10)  # ...which a process starting now still waits out
        self.assertAlmostEqual(clock.now - before, 4.0, delta=0.01)

    def test_a_damaged_or_future_state_starts_afresh(self):
        clock = Clock()
        for state in (b'garbage', SharedTokenBucket.STATE.pack(float('nan'), 1.0),
                      SharedTokenBucket.STATE.pack(-1e9, 1e12)):
            with open(self.path, 'wb') as f:
                f.write(state)
            bucket = SharedTokenBucket(10, self.path, clock=clock, sleep=clock.sleep)
            before = clock.now
            bucket.take(10)
            self.assertAlmostEqual(clock.now - before, 1.0, delta=0.01)


class CountingBucket:
    """Stands in for a TokenBucket: records what is taken."""

    def __init__(self):
        self.taken = []

    def take(self, n=1.0):
        self.taken.append(n)


class FakeRaw:
    def stream(self, *_args, **_kwargs):
        return iter([b''])


def answer_locally(request, **_kwargs):
    """A before-send handler that answers every request itself (nothing leaves the process)."""
    return AWSResponse(request.url, 200, {'Content-Length': '0', 'ETag': '"x"', 'Last-Modified': 'Tue, 01 Dec 2026 20:00:00 GMT'},
                       FakeRaw())


class FakeSession:
    def __init__(self):
        self.sent = []

    def request(self, method, url, headers=None, data=None, **_kwargs):
        if data is not None and not isinstance(data, bytes):
            data = b''.join(data)
        self.sent.append((method, data))
        return 'response'


class ThrottlesTest(unittest.TestCase):
    def test_requests_take_from_the_global_and_the_mapping_buckets(self):
        conf = make_conf(max_requests_per_second=50)
        mapping = make_mapping(max_bytes_per_second=1000, max_requests_per_second=5)
        throttles = Throttles(conf)
        throttle = throttles.for_mapping(mapping)
        self.assertIs(throttles.for_mapping(make_mapping(max_bytes_per_second=1000,
                                                         max_requests_per_second=5)), throttle)
        clock = Clock()
        for buckets in (throttles.global_buckets, throttles.mapping_buckets.values()):
            for bucket in (buckets.values() if isinstance(buckets, dict) else
                           [b for found in buckets for b in found.values()]):
                bucket.clock, bucket.sleep, bucket.last = clock, clock.sleep, clock.now
        for _ in range(10):
            throttle.request(100)
        # 10 requests at 5/s, 1000 bytes at 1000 B/s: the mapping's request rate decides.
        self.assertAlmostEqual(clock.now - 100.0, 2.0, delta=0.05)
        described = throttles.describe()
        self.assertIn('global requests/s', described)
        self.assertTrue(any('AUTH_test/cont -> bucket bytes/s' in k for k in described))

    def test_a_status_dir_makes_the_buckets_shared_by_the_nodes_processes(self):
        status_dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, status_dir)
        conf = make_conf(max_requests_per_second=50)
        mapping = make_mapping(max_bytes_per_second=1000)
        throttles = Throttles(conf, shared_dir=status_dir)
        throttles.for_mapping(mapping)
        buckets = list(throttles.global_buckets.values()) + [
            b for found in throttles.mapping_buckets.values() for b in found.values()]
        self.assertEqual(len(buckets), 2)
        self.assertTrue(all(isinstance(b, SharedTokenBucket) for b in buckets))
        self.assertEqual(len([n for n in os.listdir(status_dir)
                              if n.startswith('.throttle-')]), 2)
        # the same config in another process opens the same files
        again = Throttles(conf, shared_dir=status_dir)
        again.for_mapping(mapping)
        self.assertEqual(len(os.listdir(status_dir)), 2)

    def test_an_unusable_status_dir_keeps_the_limit_per_process(self):
        throttles = Throttles(make_conf(max_requests_per_second=5),
                              shared_dir='/nonexistent/status')
        bucket = throttles.global_buckets['requests']
        self.assertIs(type(bucket), TokenBucket)
        self.assertEqual(bucket.rate, 5)

    def test_no_limit_gives_an_empty_throttle(self):
        self.assertFalse(Throttles(make_conf()).for_mapping(make_mapping()))

    def test_a_shared_s3_client_throttles_each_request_by_its_own_mapping(self):
        first, second = CountingBucket(), CountingBucket()
        mappings = [make_mapping(aws_endpoint='http://127.0.0.1:1', aws_bucket=name)
                    for name in ('one', 'two')]
        client = make_client(mappings[0])
        client.meta.events.register('before-send.s3', answer_locally)
        providers = [S3Provider(mapping, client=client) for mapping in mappings]
        providers[0].throttle = Throttle([{'requests': first, 'bytes': first}])
        providers[1].throttle = Throttle([{'requests': second}])
        for _ in range(3):
            providers[0].put_object('a', {}, io.BytesIO(b'12345'), 5)
        providers[1].head_object('b')
        self.assertEqual(first.taken, [1, 5] * 3)
        self.assertEqual(second.taken, [1])

    def test_swift_connections_take_a_request_and_its_bytes_even_for_a_streamed_body(self):
        bucket = CountingBucket()
        throttle = Throttle([{'requests': bucket, 'bytes': bucket}])
        conn = ThrottledHTTPConnection('http://127.0.0.1:1/v1/AUTH_a', lambda: throttle)
        conn.request_session = FakeSession()
        conn.request('PUT', '/v1/AUTH_a/c/o', b'abc', {'Content-Length': '3'})
        conn.request('HEAD', '/v1/AUTH_a/c/o')
        conn.request('PUT', '/v1/AUTH_a/c/big', iter([b'12', b'3456']))
        self.assertEqual(conn.request_session.sent, [('PUT', b'abc'), ('HEAD', None),
                                                     ('PUT', b'123456')])
        self.assertEqual(bucket.taken, [1, 3, 1, 1, 2, 4])

    def test_swift_provider_connections_follow_the_providers_throttle(self):
        provider = SwiftProvider(make_mapping(protocol='swift',
                                              aws_endpoint='http://127.0.0.1:1/auth/v1.0'))
        provider.shared.learn('http://127.0.0.1:1/v1/AUTH_a', 'token')
        conn = provider._pool.get()
        _parsed, http_conn = conn.http_connection()
        self.assertIsNone(http_conn.throttle_of())
        provider.throttle = Throttle([{'requests': CountingBucket()}])
        self.assertIs(http_conn.throttle_of(), provider.throttle)


def delete_row(ts):
    return {'name': 'x', 'deleted': 1, 'created_at': Timestamp(ts).internal, 'ROWID': 1}


class DeleteRailsTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        self.clock = Clock()

    def rails(self):
        return DeleteRails(self.dir, NullLogger(), clock=self.clock)

    def test_the_delete_past_the_limit_trips_the_rail_until_released_even_across_restarts(self):
        mapping = make_mapping(max_deletes_per_pass=2)
        rails = self.rails()
        self.assertIsNone(rails.hold(mapping, 'AUTH_test', 'cont', delete_row(50)))
        self.assertIsNone(rails.hold(mapping, 'AUTH_test', 'cont', delete_row(51)))
        held = rails.hold(mapping, 'AUTH_test', 'cont', delete_row(52))
        self.assertIsInstance(held, Retry)
        self.assertTrue(held.error.startswith(HELD))
        rails.new_pass()
        self.assertIsInstance(rails.hold(mapping, 'AUTH_test', 'cont', delete_row(53)), Retry,
                              'a new pass does not release a tripped rail')
        restarted = self.rails()
        self.assertIsInstance(restarted.hold(mapping, 'AUTH_test', 'cont', delete_row(54)),
                              Retry)
        self.assertEqual(len(read_held(self.dir)), 1)
        restarted.release(mapping, 150)   # a request made after the trip (at 100)
        self.assertIsNone(restarted.hold(mapping, 'AUTH_test', 'cont', delete_row(55)))
        self.assertEqual(read_held(self.dir), [])
        # Deletes after the release count again.
        for ts in (160, 161):
            self.assertIsNone(restarted.hold(mapping, 'AUTH_test', 'cont', delete_row(ts)))
        self.assertIsInstance(restarted.hold(mapping, 'AUTH_test', 'cont', delete_row(162)),
                              Retry)

    def test_byte_limit_counts_the_remote_sizes(self):
        mapping = make_mapping(max_delete_bytes_per_pass=100)
        rails = self.rails()
        self.assertIsNone(rails.hold(mapping, 'a', 'c', delete_row(1), size=60))
        self.assertIsInstance(rails.hold(mapping, 'a', 'c', delete_row(2), size=60), Retry)

    def test_no_limit_never_holds(self):
        rails = self.rails()
        for ts in range(100):
            self.assertIsNone(rails.hold(make_mapping(), 'a', 'c', delete_row(ts)))
        self.assertFalse(os.path.exists(os.path.join(self.dir, '.delete-rails')))


if __name__ == '__main__':
    unittest.main()

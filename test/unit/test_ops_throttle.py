"""Token buckets, the throttles' botocore hook and the delete rail, with a fake clock."""
import os
import shutil
import tempfile
import unittest

from swift.common.utils import Timestamp

from s3_sync.crawler.failures import HELD
from s3_sync.sync.outcome import Retry
from s3_sync.throttle import DeleteRails, Throttles, TokenBucket, read_held
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


class FakeEvents:
    def __init__(self):
        self.handlers = []

    def register(self, name, handler):
        self.handlers.append((name, handler))


class FakeRequest:
    def __init__(self, length):
        self.headers = {'Content-Length': str(length)} if length else {}


class FakeProvider:
    def __init__(self):
        self.client = type('C', (), {})()
        self.client.meta = type('M', (), {})()
        self.client.meta.events = FakeEvents()


class ThrottlesTest(unittest.TestCase):
    def test_requests_take_from_the_global_and_the_mapping_buckets(self):
        conf = make_conf(max_requests_per_second=50)
        mapping = make_mapping(max_bytes_per_second=1000, max_requests_per_second=5)
        throttles = Throttles(conf)
        provider = FakeProvider()
        self.assertTrue(throttles.attach(provider, mapping))
        [(name, handler)] = provider.client.meta.events.handlers
        self.assertEqual(name, 'before-send.s3')
        clock = Clock()
        for buckets in (throttles.global_buckets, throttles.for_mapping(mapping)):
            for bucket in buckets.values():
                bucket.clock, bucket.sleep, bucket.last = clock, clock.sleep, clock.now
        for _ in range(10):
            self.assertIsNone(handler(FakeRequest(100)))
        # 10 requests at 5/s, 1000 bytes at 1000 B/s: the mapping's request rate decides.
        self.assertAlmostEqual(clock.now - 100.0, 2.0, delta=0.05)
        described = throttles.describe()
        self.assertIn('global requests/s', described)
        self.assertTrue(any('AUTH_test/cont -> bucket bytes/s' in k for k in described))

    def test_no_limit_no_hook(self):
        self.assertFalse(Throttles(make_conf()).attach(FakeProvider(), make_mapping()))


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

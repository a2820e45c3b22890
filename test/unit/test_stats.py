"""statsd reporting: metric naming (behaviour 1.6) and the UDP wire format, against a real socket."""
import socket
import unittest
from unittest import mock

from s3_sync import stats
from s3_sync.config import mapping_from_dict, validate_config


def mapping(**overrides):
    m = {'account': 'AUTH_test', 'container': 'c1', 'aws_bucket': 'bucket',
         'aws_endpoint': 'https://s3.example.com', 'aws_identity': 'id', 'aws_secret': 's'}
    m.update({k: v for k, v in overrides.items() if v is not None})
    if overrides.get('aws_endpoint', '') is None:
        del m['aws_endpoint']
    return mapping_from_dict(m)


def conf(**values):
    return validate_config(values, for_daemon=False)


class TestMetricNames(unittest.TestCase):
    def test_endpoint_account_bucket_container_order(self):
        reporter = stats.StatsReporter(conf(), mapping())
        self.assertEqual(reporter.name('copied_objects'),
                         'https%3A%2F%2Fs3%2Eexample%2Ecom.AUTH_test.bucket.c1.copied_objects')

    def test_missing_endpoint_is_s3(self):
        reporter = stats.StatsReporter(conf(), mapping(aws_endpoint=None))
        self.assertEqual(reporter.name('errors'), 'S3.AUTH_test.bucket.c1.errors')

    def test_statsd_prefix_leads(self):
        reporter = stats.StatsReporter(conf(statsd_prefix='sync'), mapping(aws_endpoint=None))
        self.assertEqual(reporter.name('bytes'), 'sync.S3.AUTH_test.bucket.c1.bytes')

    def test_custom_prefix_joins_bucket(self):
        reporter = stats.StatsReporter(conf(), mapping(aws_endpoint=None, custom_prefix='pre/x'))
        self.assertEqual(reporter.name('skipped'), 'S3.AUTH_test.bucket%2Fpre%2Fx.c1.skipped')

    def test_empty_custom_prefix_leaves_bucket_alone(self):
        reporter = stats.StatsReporter(conf(), mapping(aws_endpoint=None, custom_prefix=''))
        self.assertEqual(reporter.name('skipped'), 'S3.AUTH_test.bucket.c1.skipped')

    def test_dots_and_unicode_are_quoted(self):
        reporter = stats.StatsReporter(conf(), mapping(aws_endpoint=None, account='AUTH_ü',
                                                   container='v1.2 x'))
        self.assertEqual(reporter.name('bytes'), 'S3.AUTH_%C3%BC.bucket.v1%2E2%20x.bytes')

    def test_real_container_replaces_slash_star(self):
        reporter = stats.StatsReporter(conf(), mapping(aws_endpoint=None, container='/*'), 'real')
        self.assertEqual(reporter.name('bytes'), 'S3.AUTH_test.bucket.real.bytes')


class TestNoStatsd(unittest.TestCase):
    def test_no_host_means_no_client(self):
        reporter = stats.StatsReporter(conf(statsd_port=8125), mapping())
        self.assertIsNone(reporter.client)
        reporter.increment(stats.COPIED_OBJECTS)     # a no-op, not an error
        reporter.timing(stats.BYTES, 1.5)


class TestUdpReporting(unittest.TestCase):
    def setUp(self):
        self.server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.server.bind(('127.0.0.1', 0))
        self.server.settimeout(5)
        self.conf = conf(statsd_host='127.0.0.1', statsd_port=self.server.getsockname()[1],
                         statsd_prefix='pfx')

    def tearDown(self):
        self.server.close()

    def received(self):
        return self.server.recv(65536).decode('utf-8')

    def test_increment_sends_counter(self):
        reporter = stats.StatsReporter(self.conf, mapping(aws_endpoint=None))
        reporter.increment(stats.COPIED_OBJECTS)
        self.assertEqual(self.received(), 'pfx.S3.AUTH_test.bucket.c1.copied_objects:1|c')

    def test_increment_sends_count(self):
        reporter = stats.StatsReporter(self.conf, mapping(aws_endpoint=None))
        reporter.increment(stats.BYTES, 4096)
        self.assertEqual(self.received(), 'pfx.S3.AUTH_test.bucket.c1.bytes:4096|c')

    def test_timing_sends_milliseconds(self):
        reporter = stats.StatsReporter(self.conf, mapping(aws_endpoint=None))
        reporter.timing(stats.DELETED_OBJECTS, 12.5)
        reporter.timing(stats.DELETED_OBJECTS, 3)
        self.assertEqual(self.received(), 'pfx.S3.AUTH_test.bucket.c1.deleted_objects:12.5|ms')
        self.assertEqual(self.received(), 'pfx.S3.AUTH_test.bucket.c1.deleted_objects:3|ms')

    def test_gauge_sends_the_value_now(self):
        reporter = stats.StatsReporter(self.conf, mapping(aws_endpoint=None))
        reporter.gauge('remaining_objects', 42)
        self.assertEqual(self.received(), 'pfx.S3.AUTH_test.bucket.c1.remaining_objects:42|g')

    def test_send_errors_are_swallowed(self):
        reporter = stats.StatsReporter(self.conf, mapping())
        with mock.patch('socket.socket.sendto', side_effect=OSError(9, 'bad fd')):
            reporter.increment(stats.ERRORS)

    def test_unresolvable_host_does_not_stop_a_start(self):
        # getaddrinfo is mocked: a real lookup of an unknown name could leave loopback.
        with mock.patch('socket.getaddrinfo', side_effect=socket.gaierror(-2, 'unknown')):
            reporter = stats.StatsReporter(
                conf(statsd_host='statsd.example', statsd_port=8125), mapping())
            reporter.increment(stats.SKIPPED)


if __name__ == '__main__':
    unittest.main()

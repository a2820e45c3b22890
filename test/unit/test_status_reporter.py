"""The status reporter's schedule: every stats_interval, and never more than a tenth of the
daemon's time when a report over many DBs takes longer than the interval."""
import unittest
from unittest import mock

from s3_sync.status import reporter


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class FakeCrawler:
    node = {'ip': '127.0.0.1', 'port': 6201}
    process, processes = 0, 1

    def __init__(self, clock, until):
        self.clock, self.until = clock, until

    def stopping(self):
        return self.clock.now >= self.until

    def quiet_db(self, job):
        return None


def published_at(report_seconds, interval, until):
    """Start times of the reports of a run of ``until`` seconds, each taking
    ``report_seconds``."""
    clock = Clock()
    conf = mock.Mock(stats_interval=interval)
    with mock.patch.object(reporter.recon, 'load', return_value={}), \
            mock.patch.object(reporter, 'node_id', return_value='n1'), \
            mock.patch.object(reporter, 'Gauges'):
        rep = reporter.Reporter(conf, FakeCrawler(clock, clock.now + until), None,
                                mock.Mock(), clock=clock)
    starts = []

    def publish():
        starts.append(clock.now - 1000.0)
        clock.now += report_seconds

    def sleep(seconds):
        clock.now += max(seconds, 0.01)
    rep.publish = publish
    with mock.patch.object(reporter.eventlet, 'sleep', sleep):
        rep.run()
    return starts


class TestSchedule(unittest.TestCase):
    def test_a_quick_report_runs_every_stats_interval(self):
        starts = published_at(0.5, 30, 100)
        self.assertEqual([round(s) for s in starts], [0, 30, 60, 90])

    def test_a_report_longer_than_the_interval_takes_a_tenth_of_the_time_at_most(self):
        # 1,000 DBs on a loaded node: 40 s a report, stats_interval 30 s
        starts = published_at(40, 30, 1200)
        self.assertEqual([round(s) for s in starts], [0, 400, 800])
        busy = 40 * len(starts)
        self.assertLessEqual(busy / 1200.0, 1.0 / reporter.SHARE + 1e-9)


if __name__ == '__main__':
    unittest.main()

"""The daemon's side of operations: the figures written every ``stats_interval``.

After every full pass the pass itself (start, duration, counts) goes to the recon file and to
statsd. Every ``stats_interval`` seconds, in a green thread of its own (a backlog drains within
one long pass, and the figures must move while it does), the node report is computed
(:mod:`s3_sync.status.report`) and written to the recon file, the Prometheus text file, the
statsd gauges and, with ``cluster_status``, the cluster (:mod:`s3_sync.status.cluster`).
A failure there is one warning line; it never stops or slows the sync beyond the report itself.
With several processes per node, process 0 alone reports, over every DB of the node (its last
pass is its own share's).
"""
import time

import eventlet

from s3_sync.log import FAILURES, one_line
from s3_sync.status import StatusError, cluster, recon
from s3_sync.status.metrics import Gauges, prometheus_text, write_textfile
from s3_sync.status.report import node_id, node_report

PASS_FIELDS = ('dbs', 'scanned', 'handled', 'verified', 'pending', 'errors')
TICK = 0.2      # a stop is noticed within this long (as the crawler's idle wait)
# The report reads every DB of the node: thousands of containers on a busy node make it longer
# than stats_interval, and back to back it would take the daemon's time from the sync. So the
# next one waits at least (SHARE - 1) times as long as the last took: at most 1/SHARE.
SHARE = 10


class Reporter:
    def __init__(self, conf, crawler, internal_client, logger, clock=time.time):
        self.conf = conf
        self.crawler = crawler
        self.internal_client = internal_client
        self.logger = logger
        self.clock = clock
        self.node = node_id(crawler.node)
        self.gauges = Gauges(conf, self.node)
        self.extras = []        # callables adding keys to the report (throttles, rails)
        try:
            self.last_pass = recon.load(conf).get('last_pass')
        except StatusError:
            self.last_pass = None
        self._warned = set()
        self.figures = {}       # per DB, kept between reports (status.report.node_report)
        self.active = getattr(crawler, 'process', 0) == 0
        self.whole_node = getattr(crawler, 'processes', 1) > 1

    def cycle_done(self, start, elapsed, counts):
        if not self.active:
            return
        self.last_pass = dict({'start': round(start, 3), 'end': round(start + elapsed, 3),
                               'duration': round(elapsed, 3)},
                              **{f: getattr(counts, f) for f in PASS_FIELDS})
        self._guard('pass figures', self._pass_done)

    def _pass_done(self):
        recon.dump(self.conf, {'node': self.node, 'last_pass': self.last_pass}, self.logger)
        self.gauges.pass_done(self.last_pass)

    def publish(self):
        if self.active:
            self._guard('status report', self._publish)

    def _publish(self):
        report = node_report(self.conf, self.crawler.node, self.logger,
                             jobs=None if self.whole_node else (self.crawler.jobs() or None),
                             clock=self.clock, figures=self.figures,
                             crawled=self.crawler.quiet_db)
        report['last_pass'] = self.last_pass
        report['pass_started'] = self.crawler.cycle_started
        report['stats_interval'] = self.conf.stats_interval
        for extra in self.extras:
            report.update(extra())
        recon.dump(self.conf, {'node': self.node, 'report': report,
                               'report_time': report['time']}, self.logger)
        if self.conf.prometheus_textfile:
            write_textfile(self.conf.prometheus_textfile, prometheus_text(
                report, self.last_pass, report.get('deletes_held', ())))
        self.gauges.report(report, self.conf.containers)
        if self.conf.cluster_status and self.internal_client is not None:
            # `status --cluster` flags a node whose report did not arrive: that is where an
            # operator looks, so a failure here is an info line, not a warning.
            self._guard('cluster status report (status --cluster shows this node as stale)',
                        cluster.publish, self.internal_client, report, level='info')

    def _guard(self, what, fn, *args, level='warning'):
        try:
            fn(*args)
            self._warned.discard(what)
        except FAILURES as exc:
            # Once per kind until it works again: a report is no reason to flood the log.
            if what not in self._warned:
                self._warned.add(what)
                getattr(self.logger, level)('%s not written: %s', what,
                                            one_line(exc, first_line=True))

    def run(self):
        """Publish every ``stats_interval`` (or less often: ``SHARE``) until the daemon stops."""
        next_at = self.clock()
        while self.active and not self.crawler.stopping():
            started = self.clock()
            if started >= next_at:
                self.publish()
                ended = self.clock()
                next_at = max(started + self.conf.stats_interval,
                              ended + (ended - started) * (SHARE - 1))
            eventlet.sleep(min(TICK, max(0.0, next_at - self.clock())))

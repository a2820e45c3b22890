"""statsd counters, timers and gauges, one series per mapping and container (behaviour 1.6).

Metric names keep the original's layout so existing dashboards keep working:
``[statsd_prefix.]<endpoint>.<account>.<bucket[/custom_prefix]>.<container>.<metric>``, each
component URL-quoted with no safe characters and ``.`` as ``%2E`` (a dot would split a component
into two statsd path levels). Bucket and container come last so per-account series are cheap to
prune.

Without ``statsd_host`` nothing is created and every report is a no-op. Stats must never slow down
or break a sync: Swift's client sends fire-and-forget UDP and only logs send errors.
"""
import collections
import urllib.parse

from swift.common.utils import StatsdClient

COPIED_OBJECTS = 'copied_objects'
DELETED_OBJECTS = 'deleted_objects'
BYTES = 'bytes'
ERRORS = 'errors'
SKIPPED = 'skipped'

DEFAULT_ENDPOINT = 'S3'

# This process's running totals of every counter: (account, bucket, container, metric) -> n.
# The Prometheus text file exports them (s3_sync.status.metrics), statsd or not.
TOTALS = collections.Counter()


def quote_component(value):
    return urllib.parse.quote(str(value), safe='').replace('.', '%2E')


def metric_prefix(conf, mapping, container):
    """Everything before ``.<metric>`` for one mapping and (real) container."""
    bucket = mapping.aws_bucket
    if mapping.custom_prefix:
        bucket = '%s/%s' % (bucket, mapping.custom_prefix)
    parts = [quote_component(p) for p in (mapping.aws_endpoint or DEFAULT_ENDPOINT,
                                          mapping.account, bucket, container)]
    return '.'.join(parts)


class StatsReporter:
    """Reports for one mapping and one container (the real one for ``"/*"`` mappings), through
    Swift's own statsd client (``statsd_prefix`` is its base prefix)."""

    def __init__(self, conf, mapping, container=None):
        tail = metric_prefix(conf, mapping, mapping.real_container(container))
        self.labels = (mapping.account, mapping.aws_bucket, mapping.real_container(container))
        self.prefix = '.'.join(p for p in (conf.statsd_prefix, tail) if p)
        self.client = StatsdClient(conf.statsd_host, conf.statsd_port,
                                   base_prefix=conf.statsd_prefix or '',
                                   tail_prefix=tail) if conf.statsd_host else None

    def name(self, metric):
        return '%s.%s' % (self.prefix, metric)

    def increment(self, metric, n=1):
        TOTALS[self.labels + (metric,)] += n
        if self.client:
            self.client.update_stats(metric, n)

    def timing(self, metric, ms):
        if self.client:
            self.client.timing(metric, ms)

    def gauge(self, metric, value):
        """A statsd gauge (``|g``: the value now, not a delta). Swift's client has no gauge
        method; its ``_send`` builds the line with the prefix and sample rate as for the
        others."""
        if self.client:
            self.client._send(metric, value, 'g')

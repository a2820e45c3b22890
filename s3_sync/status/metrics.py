"""The node report as metrics: statsd gauges and a Prometheus text file.

statsd (when ``statsd_host`` is set): per mapping and container, under the same prefix as the
original's counters (``[statsd_prefix.]<endpoint>.<account>.<bucket>.<container>.``), gauges
``rows_behind``, ``lag`` (seconds), ``bytes_pending``, ``deferred``, ``failed``; per node
``[statsd_prefix.]node.<node id>.pass_duration`` (a timer, ms) and ``...node.<id>.last_pass``
(a gauge, epoch seconds). Counters keep the original's names (``copied_objects``,
``deleted_objects``, ``bytes``, ``errors``, ``skipped``: :mod:`s3_sync.stats`).

Prometheus (when ``prometheus_textfile`` is set): the file node_exporter's textfile collector
reads (write it as ``<dir>/s3_sync.prom``), replaced atomically. Gauges
``swift_s3_sync_{rows_behind,lag_seconds,bytes_pending,deferred_rows,failed_rows}`` and counters
``swift_s3_sync_{copied_objects,deleted_objects,bytes,errors,skipped}_total`` labelled by
``node, account, bucket, container``; ``swift_s3_sync_last_pass_timestamp_seconds``,
``swift_s3_sync_last_pass_duration_seconds``, ``swift_s3_sync_deletes_held`` per node.
"""
from swift.common.utils import StatsdClient

from s3_sync import stats
from s3_sync.crawler.progress import atomic_write

GAUGES = (('rows_behind', 'rows_behind', 'Rows this node owns not yet on the remote'),
          ('lag', 'lag_seconds', 'Age of the oldest row not yet on the remote'),
          ('bytes_pending', 'bytes_pending', 'Bytes of the rows not yet on the remote'),
          ('deferred', 'deferred_rows', 'Rows waiting for copy_after'),
          ('failed', 'failed_rows', 'Rows whose last attempt failed, waiting for a retry'))
COUNTERS = (stats.COPIED_OBJECTS, stats.DELETED_OBJECTS, stats.BYTES, stats.ERRORS,
            stats.SKIPPED)
PREFIX = 'swift_s3_sync_'


def _label(value):
    return str(value).replace('\\', '\\\\').replace('\n', '\\n').replace('"', '\\"')


def _labels(**kw):
    return '{%s}' % ','.join('%s="%s"' % (k, _label(v)) for k, v in sorted(kw.items()))


def prometheus_text(report, last_pass, deletes_held=(), totals=None):
    """The text exposition of one node report."""
    totals = stats.TOTALS if totals is None else totals
    node = report['node']
    lines = []
    for key, name, help_text in GAUGES:
        lines += ['# HELP %s%s %s' % (PREFIX, name, help_text),
                  '# TYPE %s%s gauge' % (PREFIX, name)]
        for c in report['containers']:
            lines.append('%s%s%s %s' % (PREFIX, name, _labels(
                node=node, account=c['account'], bucket=c['aws_bucket'],
                container=c['container']), c[key]))
    for metric in COUNTERS:
        lines += ['# HELP %s%s_total %s since the daemon started' % (PREFIX, metric, metric),
                  '# TYPE %s%s_total counter' % (PREFIX, metric)]
        for (account, bucket, container, name), value in sorted(totals.items()):
            if name == metric:
                lines.append('%s%s_total%s %d' % (PREFIX, metric, _labels(
                    node=node, account=account, bucket=bucket, container=container), value))
    if last_pass:
        lines += ['# TYPE %slast_pass_timestamp_seconds gauge' % PREFIX,
                  '%slast_pass_timestamp_seconds%s %.3f' % (PREFIX, _labels(node=node),
                                                            last_pass['end']),
                  '# TYPE %slast_pass_duration_seconds gauge' % PREFIX,
                  '%slast_pass_duration_seconds%s %.3f' % (PREFIX, _labels(node=node),
                                                           last_pass['duration'])]
    lines += ['# TYPE %sdeletes_held gauge' % PREFIX,
              '%sdeletes_held%s %d' % (PREFIX, _labels(node=node), len(deletes_held))]
    return '\n'.join(lines) + '\n'


def write_textfile(path, text):
    """Replace ``path`` atomically (node_exporter must never read half a file), readable by
    node_exporter's user."""
    atomic_write(path, text, mode=0o644)


class Gauges:
    """statsd gauges and the pass timer (a no-op without ``statsd_host``)."""

    def __init__(self, conf, node):
        self.conf = conf
        self.node = stats.quote_component(node)
        self.client = StatsdClient(conf.statsd_host, conf.statsd_port,
                                   base_prefix=conf.statsd_prefix or '') \
            if conf.statsd_host else None

    def gauge(self, metric, value):
        # Swift's client has no gauge method; its _send takes any statsd type ("g" here).
        self.client._send(metric, value, 'g')

    def report(self, report, mappings):
        if not self.client:
            return
        for c in report['containers']:
            mapping = mappings[c['mapping']]
            prefix = stats.metric_prefix(self.conf, mapping, c['container'])
            for key, _name, _help in GAUGES:
                self.gauge('%s.%s' % (prefix, key), c[key])

    def pass_done(self, last_pass):
        if not self.client:
            return
        self.client.timing('node.%s.pass_duration' % self.node, last_pass['duration'] * 1000)
        self.gauge('node.%s.last_pass' % self.node, int(last_pass['end']))

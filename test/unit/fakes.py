"""Fakes shared by the sync-side unit tests (not a test module itself)."""


class FakeStats:
    """Counts what the code under test reports, like StatsReporter.increment."""

    def __init__(self):
        self.counts = {}

    def increment(self, metric, n=1):
        self.counts[metric] = self.counts.get(metric, 0) + n


class NullLogger:
    """Accepts any logging call and drops it."""

    def __getattr__(self, name):
        return lambda *a, **k: None


def make_mapping(**keys):
    """A checked ``Mapping`` from ``containers[]`` keys; required keys tests do not care about
    get placeholder values."""
    from s3_sync.config import mapping_from_dict
    entry = {'account': 'AUTH_test', 'container': 'cont', 'aws_bucket': 'bucket',
             'aws_identity': 'id', 'aws_secret': 'secret'}
    entry.update({k: v for k, v in keys.items() if v is not None})
    return mapping_from_dict(entry)


def make_conf(**keys):
    """A checked ``Config`` for the daemon from global keys (status_dir etc. defaulted)."""
    from s3_sync.config import validate_config
    conf = {'devices': '/srv/node', 'status_dir': '/tmp/status', 'items_chunk': 1000}
    conf.update(keys)
    return validate_config(conf)

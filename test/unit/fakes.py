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

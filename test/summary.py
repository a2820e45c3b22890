"""nose2 plugin: a closing line CI can read, ``tests: N passed, N failed, N skipped``, and the
modules and tests that took the longest (the suite has a time budget; this says where it goes).

Counted from nose2's own report categories, so it always agrees with nose2's summary above it.
A module's time runs from the end of the test before its first to the end of its last, so its
class and layer set-up count too.
"""
import collections
import time

from nose2.events import Plugin

SLOWEST_SHOWN = 12
SLOWEST_TESTS_SHOWN = 25


class Summary(Plugin):
    configSection = 'summary'
    alwaysOn = True

    def __init__(self):
        self.run = 0
        self.module_seconds = collections.Counter()
        self.test_seconds = collections.Counter()
        self.last_end = None

    def startTest(self, event):
        self.run += 1      # counted as nose2's reporter counts "Ran N tests"
        if self.last_end is None:
            self.last_end = time.monotonic()

    def stopTest(self, event):
        now = time.monotonic()
        module = type(event.test).__module__
        took = now - (self.last_end or now)
        self.module_seconds[module] += took
        self.test_seconds['%s.%s' % (type(event.test).__name__,
                                     getattr(event.test, '_testMethodName', '?'))] += took
        self.last_end = now

    def afterSummaryReport(self, event):
        categories = event.reportCategories
        run = self.run
        failed = sum(len(categories.get(k, ())) for k in
                     ('failures', 'errors', 'unexpectedSuccesses'))
        skipped = len(categories.get('skipped', ()))
        slowest = self.module_seconds.most_common(SLOWEST_SHOWN)
        if slowest:
            event.stream.writeln('slowest modules: ' + ', '.join(
                '%s %.0fs' % (name.rsplit('.', 1)[-1], secs) for name, secs in slowest))
            event.stream.writeln('slowest tests: ' + ', '.join(
                '%s %.0fs' % (name, secs)
                for name, secs in self.test_seconds.most_common(SLOWEST_TESTS_SHOWN)))
        event.stream.writeln('tests: %d passed, %d failed, %d skipped'
                             % (run - failed - skipped, failed, skipped))

"""nose2 plugin: a closing line CI can read, ``tests: N passed, N failed, N skipped``.

Counted from nose2's own report categories, so it always agrees with nose2's summary above it.
"""
from nose2.events import Plugin


class Summary(Plugin):
    configSection = 'summary'
    alwaysOn = True

    def __init__(self):
        self.run = 0

    def startTest(self, event):
        self.run += 1      # counted as nose2's reporter counts "Ran N tests"

    def afterSummaryReport(self, event):
        categories = event.reportCategories
        run = self.run
        failed = sum(len(categories.get(k, ())) for k in
                     ('failures', 'errors', 'unexpectedSuccesses'))
        skipped = len(categories.get('skipped', ()))
        event.stream.writeln('tests: %d passed, %d failed, %d skipped'
                             % (run - failed - skipped, failed, skipped))

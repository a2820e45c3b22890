"""nose2 plugin: a closing line CI can read, ``tests: N passed, N failed, N skipped``."""
from nose2.events import Plugin


class Summary(Plugin):
    configSection = 'summary'
    alwaysOn = True

    def __init__(self):
        self.passed = self.failed = self.skipped = 0

    def testOutcome(self, event):
        if event.outcome == 'skipped':
            self.skipped += 1
        elif event.outcome == 'passed' or (event.outcome == 'failed' and event.expected):
            self.passed += 1
        else:
            self.failed += 1

    def afterSummaryReport(self, event):
        event.stream.writeln('tests: %d passed, %d failed, %d skipped'
                             % (self.passed, self.failed, self.skipped))

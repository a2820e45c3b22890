"""What the suite counts, and the figures it prints at the end of a run."""
import collections
import threading


class Tally:
    """Counts across every run of one suite invocation (thread-safe where it matters)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.runs = []                               # (name, seconds, problems)
        self.kills = collections.Counter()           # moment aimed at -> kills
        self.kill_hits = collections.Counter()       # moment -> kills with evidence it landed
        self.kill_notes = []                         # one line per kill
        self.faults = collections.Counter()          # remote fault kind -> injected
        self.remote_requests = 0                     # requests through armed fault proxies
        self.local_faults = collections.Counter()    # local fault kind -> times
        self.objects_checked = 0                     # (object, remote) pairs checked
        self.shunt_checked = 0                       # archived objects read through the shunt
        self.locally_deleted = 0                     # archived objects gone locally
        self.uploads = collections.Counter()         # uploads per object -> objects
        self.duplicates_allowed = 0                  # objects uploaded again by in-flight work
        self.duplicates_unexplained = 0              # of which known bugs explain:
        self.duplicates_known = collections.Counter()  # bug id -> objects
        # run -> Counter: objects, uploads, 'in flight' / 'beyond' (objects uploaded again)
        self.run_uploads = collections.defaultdict(collections.Counter)
        self.losses = 0
        self.problems = []                           # (run, text)
        self.known = {}                              # bug id -> [(run, text)]
        self.notes = []                              # (run, text): figures worth reading

    def problem(self, run, text, bug=None):
        """A broken invariant; ``bug``: the id of the known product bug that explains it."""
        with self.lock:
            if bug:
                self.known.setdefault(bug, []).append((run, text))
            else:
                self.problems.append((run, text))

    def note(self, run, text):
        with self.lock:
            self.notes.append((run, text))

    # -- report -----------------------------------------------------------------------------
    def upload_summary(self):
        objects = sum(self.uploads.values())
        total = sum(n * count for n, count in self.uploads.items())
        if not objects:
            return 'none counted'
        hist = ', '.join('%dx: %d' % (n, c) for n, c in sorted(self.uploads.items()))
        return '%.3f per object over %d objects (%s)' % (total / objects, objects, hist)

    def figures(self):
        lines = ['', '=== reliability figures ===']
        ok_runs = sum(1 for _n, _s, problems in self.runs if not problems)
        lines.append('runs: %d (%d clean)  %s' % (len(self.runs), ok_runs, ', '.join(
            '%s %.0fs%s' % (n, s, '' if not p else ' FAILED') for n, s, p in self.runs)))
        lines.append('kills (kill -9): %d  aimed at: %s; landed (evidence): %s' % (
            sum(self.kills.values()), _counter(self.kills), _counter(self.kill_hits) or 'none'))
        fault_total = sum(self.faults.values())
        share = 100.0 * fault_total / self.remote_requests if self.remote_requests else 0.0
        lines.append('remote faults injected: %d of %d requests (%.1f %%): %s' % (
            fault_total, self.remote_requests, share, _counter(self.faults) or 'none'))
        lines.append('local faults: %s' % (_counter(self.local_faults) or 'none'))
        lines.append('objects checked: %d on the remote, %d archived ones through the shunt '
                     '(%d deleted locally by the archiver)' % (
                         self.objects_checked, self.shunt_checked, self.locally_deleted))
        known = sum(self.duplicates_known.values())
        lines.append('uploads: %s; objects uploaded again as in-flight work (kills, answers '
                     'lost): %d, beyond it: %d (%s)' % (
                         self.upload_summary(), self.duplicates_allowed,
                         self.duplicates_unexplained,
                         'known bugs %s, unexplained %d' % (
                             _counter(self.duplicates_known),
                             self.duplicates_unexplained - known) if known else 'none known'))
        lines.append('uploads per run: %s' % ('; '.join(
            '%s %.3f per object, %d again in flight, %d beyond' % (
                run, c['uploads'] / max(1, c['objects']), c['in flight'], c['beyond'])
            for run, c in self.run_uploads.items()) or 'none counted'))
        lines.append('losses: %d' % self.losses)
        from test.reliability.bugs import BUGS as KNOWN_BUGS
        lines.append('known product bugs seen (expected failures): %s' % (
            ', '.join('%s x%d' % (b, len(v)) for b, v in sorted(self.known.items())) or 'none'))
        for bug, items in sorted(self.known.items()):
            lines.append('  %s: %s' % (bug, KNOWN_BUGS.get(bug, '?')))
            for run, text in items[:3]:
                lines.append('    e.g. [%s] %s' % (run, text[:300]))
        lines.append('problems: %d' % len(self.problems))
        for run, text in self.problems:
            lines.append('  [%s] %s' % (run, text[:2000]))
        return '\n'.join(lines)

    def kill_report(self):
        return '\n'.join(['kills:'] + ['  ' + k for k in self.kill_notes])

    def notes_report(self):
        return '\n'.join(['notes:'] + ['  [%s] %s' % item for item in self.notes])


def _counter(counter):
    return ', '.join('%s %d' % (k, v) for k, v in sorted(counter.items()) if v)

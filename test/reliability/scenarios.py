"""The runs of the suite. Each run makes its lanes (mapped containers and their remotes), starts
a client writer and the three node daemons, does its damage, waits until the remote reflects
what the client left, stops the daemons cleanly and checks every invariant (``checker``).

Sizes come from a plan (``PLANS``): ``full`` (>= 2,000 objects in the kill run, >= 10 kills,
every fault kind, every local fault), ``quick`` (the same, smaller) and ``short`` (the
integration test's: one run, kills and 20 % faults together on moto)."""
import collections
import os
import random
import tempfile
import time
import traceback
import uuid

from devenv.request_counter import FAULT_KINDS
from test.reliability import localfaults
from test.reliability.bugs import classify_leftover, known
from test.reliability.checker import Checker
from test.reliability.daemons import Daemons
from test.reliability.kills import Killer
from test.reliability.lanes import Lane, local_conn
from test.reliability.manifests import ManifestWatcher
from test.reliability.workload import Workload, Writer

PLANS = {
    'full': {
        'kill-9': dict(objects=2000, slos=4, kills={'multipart': 2, 'archive-delete': 2,
                                                    'segments': 2, 'random': 8},
                       swift_objects=300, swift_slos=8, write_seconds=100),
        'remote-faults': dict(objects=250, slos=2, rate=0.25, write_seconds=40),
        'object-server-down': dict(objects=300, slos=1, down_seconds=25, write_seconds=40),
        'container-replica-missing': dict(objects=300, slos=1, write_seconds=40),
        'sharding': dict(objects=400, slos=1, rows_per_shard=100, write_seconds=40),
    },
    'quick': {
        'kill-9': dict(objects=600, slos=2, kills={'multipart': 1, 'archive-delete': 1,
                                                   'segments': 1, 'random': 2},
                       swift_objects=100, swift_slos=4, write_seconds=40),
        'remote-faults': dict(objects=100, slos=1, rate=0.25, write_seconds=20),
        'object-server-down': dict(objects=120, slos=1, down_seconds=12, write_seconds=20),
        'container-replica-missing': dict(objects=120, slos=1, write_seconds=20),
        'sharding': dict(objects=150, slos=1, rows_per_shard=40, write_seconds=20),
    },
}
SHORT = dict(objects=300, slos=1, kills={'multipart': 1, 'archive-delete': 1, 'random': 1},
             rate=0.22, write_seconds=20)
SCENARIOS = ('kill-9', 'remote-faults', 'object-server-down', 'container-replica-missing',
             'sharding')
REMOTE_TIMEOUT = 5          # the mappings' remote_timeout; 'late' answers come after it
CONVERGE_SECONDS = 300
# While waiting to converge, the object updaters run this often (a cluster runs them always).
UPDATER_EVERY = 60


class Run:
    """One scenario run: lanes, a writer, the daemons, the allowances, the checks."""

    def __init__(self, name, info, tally, rng, log=print):
        self.name = name
        self.info = info
        self.tally = tally
        self.rng = rng
        self.log = log
        self.local = local_conn(info)            # proxy B: what the cluster really holds
        self.account = info['users']['test:tester']['account']
        self.lanes = []
        self.allowed = collections.defaultdict(set)
        self.daemons = None
        self.writer = None
        self.started = None
        self.checker = Checker(self)
        self.tag = uuid.uuid4().hex[:6]
        self.on_finish = []             # called before the checks (background helpers)
        self.explanations = []          # (since, until, bug): known bugs re-uploading then
        self.slack = 3600.0             # the daemons' verification_slack, in seconds

    # -- set-up ----------------------------------------------------------------------------
    def add_lane(self, label, target, archive, objects, slos=0, posts=0, deletes=0, **extra):
        container = 'rel-%s-%s-%s' % (self.name[:12], label, self.tag)
        small = max(0, objects - slos)
        workload = Workload(container, small, slos, posts, deletes,
                            seed=self.rng.randrange(1 << 30))
        lane = Lane(label, self.info, target, archive, workload, self.account, container,
                    remote_timeout=REMOTE_TIMEOUT, seed=self.rng.randrange(1 << 30),
                    **extra)
        lane.create(self.local)
        self.lanes.append(lane)
        return lane

    def start(self, write_seconds, threads=3, **overrides):
        self.slack = 60.0 * overrides.get('verification_slack', 60)    # seconds
        self.daemons = Daemons(self.info, [lane.mapping for lane in self.lanes], **overrides)
        self.writer = Writer(lambda: local_conn(self.info, shunt=True),
                             [lane.workload for lane in self.lanes], write_seconds, threads)
        self.started = time.time()
        self.writer.start()
        self.daemons.start()
        self.log('[%s] %d lanes (%s), %d client operations over ~%ds, daemons started' % (
            self.name, len(self.lanes), ', '.join(str(lane) for lane in self.lanes),
            sum(lane.workload.total for lane in self.lanes), write_seconds))

    def elapsed(self):
        return time.time() - self.started

    # -- during the run --------------------------------------------------------------------
    def allow_in_flight(self, victims):
        """After a kill: what the killed daemons may upload again."""
        for lane in self.lanes:
            names = lane.path_names()
            for rec in lane.proxy.snapshot():
                if rec['done'] is None and rec['path'] in names:
                    self.allowed[lane.name].add(names[rec['path']])
        containers = {(lane.account, lane.container): lane for lane in self.lanes}
        for victim in victims:
            for (account, container, name) in self.daemons.redo_names(victim, containers):
                self.allowed[containers[(account, container)].name].add(name)

    def explain(self, bug, since, until=None):
        """Second uploads from ``since`` (to ``until``) are the known product bug ``bug``."""
        self.explanations.append((since, until, bug))

    def explained_by(self, t):
        for since, until, bug in self.explanations:
            if since <= t and (until is None or t < until):
                return known(bug)
        return None

    def check_status_files(self, when):
        self.checker.status_files(when)

    def watch_daemons(self):
        """A daemon that exited by itself is a problem (and is started again)."""
        for index, status in self.daemons.exited().items():
            self.checker.problem('node %d daemon exited by itself with status %s' % (
                index + 1, status))
            self.daemons.nodes.procs.pop(index)
            self.daemons.start([index])

    def wait_writer(self, timeout=600):
        deadline = time.time() + timeout
        while self.writer.busy() and time.time() < deadline:
            self.watch_daemons()
            time.sleep(0.5)
        for error in self.writer.errors:
            self.checker.problem('writer: %s' % error)

    def wait_progress(self, share, timeout=300):
        deadline = time.time() + timeout
        while self.writer.progress() < share and time.time() < deadline:
            self.watch_daemons()
            time.sleep(0.2)

    def outstanding(self):
        """What the remote does not reflect yet: ({lane: [what]}, stuck) where ``stuck`` holds
        the (lane, name) of archived objects that stay local for a known product bug."""
        out, stuck = {}, set()
        for lane in self.lanes:
            remote = lane.view.listing(lane.shunt_mapping)
            kind = lane.view.kind
            live = {n: o for n, o in lane.workload.live().items()
                    if lane.large_objects or not o.slo}
            missing = [n for n, o in live.items() if remote.get(n) != o.remote_etag(kind)]
            what = ['%d not on the remote (e.g. %s)' % (len(missing), sorted(missing)[:3])
                    ] if missing else []
            if not lane.archive and lane.mapping.get('propagate_delete', True):
                stale = [n for n, o in lane.workload.objects.items()
                         if o.deleted and n in remote]
                if stale:
                    what.append('%d deletes not propagated' % len(stale))
            if not missing:
                posted = [o for o in live.values() if o.posted]
                wrong = [o.name for o in posted
                         if self.checker._compare(lane, o, lane.view.get(
                             lane.shunt_mapping, o.name))]
                if wrong:
                    what.append('%d POSTs not propagated' % len(wrong))
            if lane.archive:
                left = self._still_local(lane, lane.local_listing(self.local))
                known = self._known_leftovers(lane, left, live, remote)
                if known is not None:
                    stuck.update((lane.name, n) for n in known)
                elif left:
                    what.append('%d not archived yet (e.g. %s)' % (len(left), sorted(left)[:3]))
            if what:
                out[lane.name] = what
        return out, stuck

    def _still_local(self, lane, listed, limit=300):
        """The listed names that a HEAD finds (a listing may come from a lagging replica)."""
        if len(listed) > limit:
            return set(listed)
        found = set()
        for name in listed:
            try:
                self.local.head_object(lane.container, name)
                found.add(name)
            except Exception as exc:
                if getattr(exc, 'http_status', None) != 404:
                    found.add(name)
        return found

    def _known_leftovers(self, lane, left, live, remote):
        """The names of ``left`` when every one is on the remote and stays local for a known
        product bug; else None."""
        if not left or len(left) > 300:
            return None
        for name in left:
            obj = live.get(name)
            if obj is None or remote.get(name) != obj.remote_etag(lane.view.kind):
                return None
            try:
                headers = self.local.head_object(lane.container, name)
            except Exception:
                return None
            if not classify_leftover(headers):
                return None
        return list(left)

    def wait_converged(self, timeout=CONVERGE_SECONDS, stuck_for=12):
        """Until the remote reflects everything (and archive containers are empty, but for
        objects a known bug keeps local, once they have stayed so for ``stuck_for`` s)."""
        deadline = time.time() + timeout
        last_stuck, stuck_since = None, None
        updated = time.time()
        while True:
            self.watch_daemons()
            if time.time() - updated >= UPDATER_EVERY:
                localfaults.update_objects(self.info)
                updated = time.time()
            try:
                left, stuck = self.outstanding()
            except Exception as exc:      # a listing failing under local faults: look again
                left, stuck = {'?': ['%r' % exc]}, set()
            if not left:
                if not stuck:
                    self.log('[%s] converged at t=%.0fs' % (self.name, self.elapsed()))
                    return True
                if stuck != last_stuck:
                    last_stuck, stuck_since = stuck, time.time()
                elif time.time() - stuck_since >= stuck_for:
                    self.log('[%s] converged at t=%.0fs but for %d object(s) a known bug '
                             'keeps local' % (self.name, self.elapsed(), len(stuck)))
                    return True
            if time.time() > deadline:
                self.checker.problem('not converged after %ds: %s' % (timeout, left))
                return False
            time.sleep(2)

    def save_logs(self):
        """Keep the daemons' logs of a run that had problems (their dir goes with the run)."""
        out = '%s-results/%s-%s' % (self.info['base'].rstrip('/'), self.name, self.tag)
        os.makedirs(out, exist_ok=True)
        for index, text in self.daemons.logs().items():
            with open(os.path.join(out, 'node%d.log' % (index + 1)), 'w') as f:
                f.write(text)
        return out

    # -- the end ---------------------------------------------------------------------------
    def finish(self):
        for stop in self.on_finish:
            stop()
        self.on_finish = []
        unclean = self.daemons.stop() if self.daemons else []
        for index in unclean:
            self.checker.problem('node %d daemon did not stop cleanly on SIGTERM' % (index + 1))
        problems = self.checker.check_all()
        if problems or self.tally.known:
            self.log('[%s] daemon logs kept in %s' % (self.name, self.save_logs()))
        seconds = self.elapsed() if self.started else 0.0
        self.tally.runs.append((self.name, seconds, problems))
        self.log('[%s] done in %.0fs: %s' % (self.name, seconds,
                                            'clean' if not problems else '%d problem(s)'
                                            % len(problems)))
        return problems

    def faults_into_tally(self, armed_requests):
        with self.tally.lock:
            for lane in self.lanes:
                self.tally.faults.update(lane.proxy.injected)
            self.tally.remote_requests += armed_requests

    def cleanup(self):
        for lane in self.lanes:
            try:
                lane.destroy(self.local)
            except Exception as exc:
                self.log('[%s] cleanup of %s: %r' % (self.name, lane, exc))
        if self.daemons:
            self.daemons.stop(timeout=10)


# -- scenarios --------------------------------------------------------------------------------
def arm(run, rate):
    for lane in run.lanes:
        lane.proxy.arm(rate, FAULT_KINDS, stall_seconds=1.0, late_seconds=REMOTE_TIMEOUT + 2)


def disarm(run):
    requests = 0
    for lane in run.lanes:
        lane.proxy.disarm()
        requests += lane.proxy.requests()
    return requests


def kill_plan(rng, kills):
    """The moments to kill at: aimed ones spread over the run, random ones between."""
    plan = [m for m, n in kills.items() for _ in range(n) if m != 'random']
    rng.shuffle(plan)
    randoms = ['random'] * kills.get('random', 0)
    out = []
    while plan or randoms:
        if randoms:
            out.append(randoms.pop())
        if plan:
            out.append(plan.pop())
    return out


def scenario_kills(run, size, faults=None):
    half = size['objects'] // 2
    run.add_lane('sync', 'moto', False, half, slos=size['slos'], posts=half // 20,
                 deletes=half // 20)
    run.add_lane('arch', 'moto', True, size['objects'] - half, slos=size['slos'])
    if size.get('swift_objects'):
        # SLOs to the second Swift: segments first, also across kill -9
        n = size['swift_objects']
        run.add_lane('swslo', 'swift', False, n, slos=size['swift_slos'], posts=n // 20,
                     deletes=n // 20)
    if faults:
        arm(run, faults)
    run.start(size['write_seconds'])
    watcher = ManifestWatcher(run, run.lanes).start()
    run.on_finish.append(lambda: run.tally.note(run.name, watcher.stop().note()))
    killer = Killer(run, run.rng)
    # random moments spread over the writing (and a little after it); aimed ones while the
    # SLOs are still being written
    write = size['write_seconds']
    plan = sorted((run.rng.uniform(0.02, 1.1) * write if moment == 'random'
                   else run.rng.uniform(0.1, 0.7) * write, moment)
                  for moment in kill_plan(run.rng, size['kills']))
    for at, moment in plan:
        note = killer.kill(moment, timeout=45, not_before=run.started + at)
        run.log('  kill: %s' % note)
        run.watch_daemons()
    run.wait_writer()
    run.wait_converged()
    armed = disarm(run)
    if faults:
        run.faults_into_tally(armed)
    return run.finish()


def scenario_remote_faults(run, size):
    n = size['objects']
    run.add_lane('moto', 'moto', False, n, slos=size['slos'], posts=n // 20, deletes=n // 20)
    run.add_lane('s3api', 's3api', True, n, slos=size['slos'])
    run.add_lane('swsync', 'swift', False, n, slos=size['slos'], posts=n // 20,
                 deletes=n // 20)
    run.add_lane('swarch', 'swift', True, n, slos=size['slos'])
    arm(run, size['rate'])
    run.start(size['write_seconds'])
    run.wait_writer()
    converged = run.wait_converged(timeout=CONVERGE_SECONDS)
    armed = disarm(run)
    run.faults_into_tally(armed)
    shares = ', '.join('%s %.0f%%' % (lane.name, 100.0 * sum(lane.proxy.injected.values())
                                      / max(1, lane.proxy.requests())) for lane in run.lanes)
    run.tally.note(run.name, 'fault share per remote: %s; converged under faults: %s' % (
        shares, converged))
    return run.finish()


def _two_lanes(run, size, **extra):
    n = size['objects']
    run.add_lane('sync', 'moto', False, n, slos=size['slos'], posts=n // 20, deletes=n // 20,
                 **extra)
    run.add_lane('arch', 'moto', True, n, slos=size['slos'], **extra)


def lane_partitions(run):
    return sorted({localfaults.container_partition(run.info, lane.account, lane.container)
                   for lane in run.lanes})


def scenario_object_server_down(run, size):
    _two_lanes(run, size)
    run.start(size['write_seconds'])
    # the container replicators of a real cluster (the devenv runs none)
    replicator = localfaults.BackgroundReplicator(run.info, lane_partitions(run),
                                                  objects=True).start()
    run.on_finish.append(replicator.stop)
    run.wait_progress(0.3)
    name = localfaults.stop_object_server(run.info, 2)
    run.tally.local_faults['object server down'] += 1
    run.log('  %s stopped at t=%.0fs' % (name, run.elapsed()))
    time.sleep(size['down_seconds'])
    localfaults.start_dead_servers(run.info)
    run.log('  %s started again at t=%.0fs' % (name, run.elapsed()))
    # While it was down, the container updates it should have sent never happened: one
    # container replica misses those rows until the container replicator brings them.
    run.wait_writer()
    run.wait_converged()
    return run.finish()


def scenario_replica_missing(run, size):
    # the surviving replicas verify every row after the slack: the missing one's share
    _two_lanes(run, size)
    run.start(size['write_seconds'], verification_slack=1)
    run.wait_progress(0.3)
    removed = time.time()
    for lane in run.lanes:
        localfaults.remove_container_replica(run.info, 3, lane.account, lane.container)
    run.tally.local_faults['container replica missing'] += len(run.lanes)
    run.log('  node 3 replicas of %d containers removed at t=%.0fs' % (
        len(run.lanes), run.elapsed()))
    run.wait_writer()
    run.wait_converged()
    restored = time.time()
    run.explain('B4', removed, restored)
    for lane in run.lanes:
        localfaults.restore_container_replica(run.info, 3, 1, lane.account, lane.container)
    run.log('  node 3 replicas restored (copy + new id) at t=%.0fs' % run.elapsed())
    replicator = localfaults.BackgroundReplicator(run.info, lane_partitions(run), 5,
                                                  objects=True).start()
    run.on_finish.append(replicator.stop)
    time.sleep(10)        # node 3's daemon crawls the restored DBs: nothing to upload again
    run.wait_converged()
    return run.finish()


def scenario_sharding(run, size):
    n = size['objects']
    run.add_lane('sync', 'moto', False, n, slos=size['slos'], posts=n // 20, deletes=n // 20)
    # copy_after keeps objects local for a while, so that the container has rows to shard
    # (it is sharded first: on a busy machine the other one's sharding can take a minute)
    run.add_lane('arch', 'moto', True, n, slos=size['slos'], copy_after=60)
    # what a root replica had not finished when its retiring DB went away (rows still waiting
    # for copy_after) the shards take over after the slack: a minute here
    run.start(size['write_seconds'], verification_slack=1)
    # the replicators a cluster runs all the time (the sharder brings its own for shard DBs)
    replicator = localfaults.BackgroundReplicator(run.info, lane_partitions(run),
                                                  objects=True).start()
    run.on_finish.append(replicator.stop)
    run.wait_progress(0.4)
    workdir = tempfile.mkdtemp(prefix='s3sync-rel-sharder-')
    run.explain('B10', time.time())
    try:
        for lane in sorted(run.lanes, key=lambda lane: not lane.archive):
            shards, seconds, log = localfaults.shard_container(
                run.info, lane.account, lane.container, size['rows_per_shard'], workdir)
            run.tally.local_faults['container sharded'] += 1
            run.log('  %s sharded into %d shards in %.0fs (t=%.0fs)' % (
                lane.container, shards, seconds, run.elapsed()))
            run.tally.note(run.name, '%s: %d shards; %s' % (lane.container, shards, log[-1]))
    finally:
        localfaults.cleanup_workdir(workdir)
    run.wait_writer()
    run.wait_converged()
    return run.finish()


def scenario_short(run, size):
    """The integration suite's: kills and remote faults together, on moto."""
    return scenario_kills(run, size, faults=size['rate'])


SCENARIO_FUNCS = {
    'short': scenario_short,
    'kill-9': scenario_kills,
    'remote-faults': scenario_remote_faults,
    'object-server-down': scenario_object_server_down,
    'container-replica-missing': scenario_replica_missing,
    'sharding': scenario_sharding,
}


def run_scenario(name, info, tally, size, seed, log=print, cleanup=False, **kwargs):
    """One run; an exception inside it is a problem of the run, not the end of the suite."""
    run = Run(name, info, tally, random.Random(seed), log)
    try:
        return SCENARIO_FUNCS[name](run, size, **kwargs)
    except Exception:
        text = traceback.format_exc()
        run.checker.problem('the run itself failed: %s' % text.strip().splitlines()[-1])
        log(text)
        if run.daemons:
            run.daemons.stop(timeout=10)
        tally.runs.append((name, run.elapsed() if run.started else 0.0, ['error']))
        return ['error']
    finally:
        if run.daemons and run.daemons.running():     # interrupted: no daemon may outlive us
            run.daemons.kill(run.daemons.running())
        for stop in run.on_finish:
            stop()
        for lane in run.lanes:
            lane.proxy.disarm()
        if cleanup:
            run.cleanup()

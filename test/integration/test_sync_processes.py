"""Several daemon processes per node (``processes``): they split the node's containers with no
overlap, and together sync everything."""
import collections
import os
import signal
import time

from devenv.daemons import NodeDaemons
from s3_sync.crawler.workers import share_of
from test.integration.ops_helpers import wait_for_replicas
from test.integration.test_sync_daemon import KeyCountingCounter, SyncTestBase

CONTAINERS = 8
OBJECTS = 5


class TestTwoProcessesPerNode(SyncTestBase):
    target_name = 'moto'

    def test_two_processes_split_containers_without_overlap_and_sync_everything(self):
        counter = KeyCountingCounter(self.target['aws_endpoint']).start()
        self.addCleanup(counter.stop)
        containers = [self.new_container('procs') for _ in range(CONTAINERS)]
        shares = {share_of(self.account, c, 2) for c in containers}
        self.assertEqual(shares, {0, 1}, 'the containers must fall in both shares')
        for container in containers:
            for i in range(OBJECTS):
                self.conn.put_object(container, 'o%d' % i, b'body %d' % i)
        target = dict(self.target, aws_endpoint=counter.url)
        mappings = [dict(self.mapping(c), aws_endpoint=target['aws_endpoint'])
                    for c in containers]
        # One --once pass proves the split only if every node's replica holds every row (a
        # busy container server gets its update later, from the object updater).
        wait_for_replicas(self, containers, OBJECTS)
        daemons = NodeDaemons(self.env, mappings, processes=2, log_level='debug')
        outputs = daemons.run_once()
        for rc, out in outputs:
            self.assertEqual(rc, 0, out)
            self.assertNotIn('Traceback', out)
            self.assertIn('2 processes started', out)
        for container, mapping in zip(containers, mappings):
            keys = self.remote_keys(mapping)
            self.assertEqual(sorted(keys), ['o%d' % i for i in range(OBJECTS)], container)
        # no overlap: no key was PUT twice (two processes crawling one container would both
        # upload the rows their replica owns)
        twice = {k: n for k, n in counter.puts.items() if n > 1}
        self.assertEqual(twice, {})
        self.assertEqual(sum(counter.puts.values()), CONTAINERS * OBJECTS)
        # each node holds one replica of each container: one crawl line per container per
        # node, so a container crawled by both processes (or by none) shows here
        for _rc, out in outputs:
            crawls = collections.Counter(
                c for line in out.splitlines() if ' row ' in line and ' pending' in line
                for c in containers if '%s/%s: ' % (self.account, c) in line)
            self.assertEqual(crawls, collections.Counter({c: 1 for c in containers}),
                             out[-6000:])

    def test_sigterm_stops_the_supervisor_and_every_process_cleanly(self):
        container = self.new_container('procs')
        self.conn.put_object(container, 'o', b'body')
        mapping = self.mapping(container)
        daemons = NodeDaemons(self.env, [mapping], processes=2, log_level='debug')
        proc = daemons.start(0)
        deadline = time.time() + 60
        while 'cycle done' not in daemons.log(0) and time.time() < deadline:
            time.sleep(0.2)
        children = child_pids(proc.pid)
        self.assertEqual(len(children), 2, daemons.log(0))
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=30), 0, daemons.log(0))
        self.assertEqual([p for p in children if os.path.exists('/proc/%d' % p)], [])
        self.assertEqual(daemons.log(0).count('SIGTERM: stopping after the rows in flight'), 3)


def child_pids(pid):
    with open('/proc/%d/task/%d/children' % (pid, pid)) as f:
        return [int(p) for p in f.read().split()]

"""``processes``: the node's containers split between daemon processes, with no overlap."""
import collections
import unittest

from s3_sync.config import ConfigError, validate_config
from s3_sync.crawler.crawler import Crawler
from s3_sync.crawler.workers import share_of

from test.unit.test_config import base_conf
from test.unit.test_crawler_helpers import Cluster, FakeFactory, NullLogger, mapping, put


class TestShares(unittest.TestCase):
    def test_every_container_has_exactly_one_share_and_both_shares_get_some(self):
        names = ['c%d' % i for i in range(200)]
        shares = collections.Counter(share_of('AUTH_a', n, 2) for n in names)
        self.assertEqual(set(shares), {0, 1})
        self.assertGreater(min(shares.values()), 60)      # roughly even, not all in one

    def test_one_process_owns_everything(self):
        self.assertEqual({share_of('AUTH_a', 'c%d' % i, 1) for i in range(50)}, {0})


class TestConfig(unittest.TestCase):
    def test_processes_defaults_to_one_and_process_to_none(self):
        conf = validate_config(base_conf())
        self.assertEqual((conf.processes, conf.process), (1, None))

    def test_process_not_below_processes_is_refused(self):
        with self.assertRaises(ConfigError) as ctx:
            validate_config(dict(base_conf(), processes=2, process=2))
        self.assertIn('process: 2 is not below processes (2)', str(ctx.exception))


class TestSplitCrawl(unittest.TestCase):
    def setUp(self):
        self.cluster = Cluster()
        self.addCleanup(self.cluster.cleanup)

    def test_two_processes_crawl_disjoint_containers_that_cover_all(self):
        containers = ['cont%d' % i for i in range(12)]
        for name in containers:
            put(self.cluster.create('AUTH_test', name)[0], 'obj')
        mappings = [mapping(container=c) for c in containers]
        seen = []
        for process in (0, 1):
            factory = FakeFactory()
            conf = self.cluster.conf(1, mappings, processes=2)
            Crawler(conf, factory, NullLogger(), process=process).run_once()
            seen.append({c for _a, c in factory.calls})
        self.assertEqual(seen[0] & seen[1], set())
        self.assertEqual(seen[0] | seen[1], set(containers))
        self.assertTrue(seen[0] and seen[1])
        for process, crawled in enumerate(seen):
            self.assertEqual({share_of('AUTH_test', c, 2) for c in crawled}, {process})

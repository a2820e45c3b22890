import os
import unittest

from swift.common.ring import Ring
from swift.common.utils import hash_path

from test.unit.test_crawler_helpers import Cluster


class TestLocalNode(unittest.TestCase):
    def setUp(self):
        self.cluster = Cluster()

    def tearDown(self):
        self.cluster.cleanup()

    def test_each_of_three_nodes_on_one_host_finds_only_its_own_replica(self):
        seen = []
        for n, node in enumerate(self.cluster.nodes(), 1):
            reps = node.replicas('AUTH_test', 'cont')
            self.assertEqual(len(reps), 1)
            self.assertTrue(reps[0].db_path.startswith(
                os.path.join(self.cluster.devices[n - 1], 'sdb%d' % n) + os.sep))
            self.assertEqual(reps[0].count, 3)
            seen.append(reps[0].index)
        self.assertEqual(sorted(seen), [0, 1, 2])

    def test_replica_index_is_position_among_ring_primaries(self):
        ring = Ring(self.cluster.swift_dir, ring_name='container')
        _part, nodes = ring.get_nodes('AUTH_test', 'cont')
        for n, node in enumerate(self.cluster.nodes(), 1):
            rep = node.replicas('AUTH_test', 'cont')[0]
            self.assertEqual(nodes[rep.index]['device'], 'sdb%d' % n)

    def test_db_path_is_swift_storage_directory(self):
        ring = Ring(self.cluster.swift_dir, ring_name='container')
        part, _nodes = ring.get_nodes('AUTH_test', 'cont')
        h = hash_path('AUTH_test', 'cont')
        rep = self.cluster.node(1).replicas('AUTH_test', 'cont')[0]
        self.assertEqual(rep.db_path, os.path.join(
            self.cluster.devices[0], 'sdb1', 'containers', str(part), h[-3:], h, h + '.db'))

    def test_all_local_primaries_are_found_when_one_devices_dir_holds_them(self):
        base = os.path.join(self.cluster.base, 'shared')
        for n in (1, 2, 3):
            os.makedirs(os.path.join(base, 'sdb%d' % n))
        node = self.cluster.node(1)
        node.devices = base
        node.my_ips = ['127.0.0.1', '127.0.0.2', '127.0.0.3']
        reps = node.replicas('AUTH_test', 'cont')
        self.assertEqual(sorted(r.index for r in reps), [0, 1, 2])

    def test_missing_device_dir_means_no_replica(self):
        os.rmdir(os.path.join(self.cluster.devices[1], 'sdb2'))
        self.assertEqual(self.cluster.node(2).replicas('AUTH_test', 'cont'), [])

    def test_other_ip_is_not_local(self):
        node = self.cluster.node(1)
        node.devices = self.cluster.devices[1]   # sdb2's dir exists, but its ip is 127.0.0.2
        self.assertEqual(node.replicas('AUTH_test', 'cont'), [])

    def test_bind_port_must_match_when_given(self):
        self.assertEqual(len(self.cluster.node(2, bind_port=6221).replicas('a', 'c')), 1)
        self.assertEqual(self.cluster.node(2, bind_port=6999).replicas('a', 'c'), [])

    def test_replication_address_counts_as_local(self):
        node = self.cluster.node(3)
        node.my_ips = ['127.0.0.9']
        for dev in node.ring.devs:
            if dev['device'] == 'sdb3':
                dev['replication_ip'] = '127.0.0.9'
        self.assertEqual(len(node.replicas('AUTH_test', 'cont')), 1)

    def test_unicode_account_and_container(self):
        reps = [n.replicas('AUTH_t\u00e9st', 'c\u00f6nt \u6587') for n in self.cluster.nodes()]
        self.assertEqual([len(r) for r in reps], [1, 1, 1])
        h = hash_path('AUTH_t\u00e9st', 'c\u00f6nt \u6587')
        self.assertTrue(reps[0][0].db_path.endswith(h + '.db'))

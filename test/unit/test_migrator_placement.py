"""Which node migrates what, and the takeover of a silent node's share (``placement.Share``)."""
import unittest

import random

from s3_sync.migrator.placement import ALIVE_PREFIX, ALIVE_SINCE, Share, split_page

NOW = 10000.0
AFTER = 600


def headers(since=1.0, **seen):
    """Container headers as LocalStore returns them (lower case): ``seen`` index -> time."""
    out = {'x-timestamp': '1.00000'}
    if since is not None:
        out[ALIVE_SINCE.lower()] = '%.5f' % since
    out.update({(ALIVE_PREFIX + index[1:]).lower(): '%.5f' % when
                for index, when in seen.items()})
    return out


def entries(sizes):
    return [{'name': 'obj-%04d' % i, 'bytes': size} for i, size in enumerate(sizes)]


class TestSplitPage(unittest.TestCase):
    def test_equal_objects_split_evenly_by_count(self):
        for count in (3, 20, 1000):
            owners = split_page(entries([4096] * count), 3)
            shares = sorted(list(owners.values()).count(i) for i in range(3))
            self.assertLessEqual(shares[-1] - shares[0], 1, shares)

    def test_large_objects_split_by_bytes(self):
        sizes = [64 * 2 ** 20] * 20 + [4096] * 50 + [300 * 2 ** 20]
        owners = split_page(entries(sizes), 3)
        loads = [sum(e['bytes'] for e in entries(sizes) if owners[e['name']] == i)
                 for i in range(3)]
        self.assertLess(max(loads) - min(loads), 64 * 2 ** 20, loads)

    def test_every_node_computes_the_same_split_whatever_the_order(self):
        page = entries([random.randrange(10 ** 8) for _ in range(200)])
        shuffled = list(page)
        random.shuffle(shuffled)
        self.assertEqual(split_page(page, 3), split_page(shuffled, 3))

    def test_each_name_goes_to_one_replica(self):
        owners = split_page(entries([1] * 30), 3)
        shares = [Share([i], 3) for i in range(3)]
        for name, replica in owners.items():
            self.assertEqual(sum(s.owns(name, replica) for s in shares), 1)


class TestTakeover(unittest.TestCase):
    def test_while_every_replica_is_alive_nobody_takes_anything(self):
        live = headers(r0=NOW - 5, r1=NOW - 500, r2=NOW - 1)
        for index in range(3):
            self.assertEqual(Share([index], 3).taking_over(live, NOW, AFTER).taken, ())

    def test_a_silent_replica_goes_to_the_next_live_one_only(self):
        silent = headers(r0=NOW - 5, r1=NOW - 601, r2=NOW - 1)
        self.assertEqual(Share([2], 3).taking_over(silent, NOW, AFTER).taken, (1,))
        self.assertEqual(Share([0], 3).taking_over(silent, NOW, AFTER).taken, ())
        self.assertEqual(Share([1], 3).taking_over(silent, NOW, AFTER).taken, ())

    def test_two_silent_replicas_go_to_the_survivor(self):
        silent = headers(r0=NOW - 5, r1=NOW - 700, r2=NOW - 900)
        self.assertEqual(Share([0], 3).taking_over(silent, NOW, AFTER).taken, (1, 2))

    def test_a_replica_never_heard_of_counts_from_the_first_sign_of_life(self):
        recent = headers(since=NOW - 100, r0=NOW - 5, r2=NOW - 1)
        self.assertEqual(Share([2], 3).taking_over(recent, NOW, AFTER).taken, ())
        long_ago = headers(since=NOW - 1000, r0=NOW - 5, r2=NOW - 1)
        self.assertEqual(Share([0], 3).taking_over(long_ago, NOW, AFTER).taken, ())
        self.assertEqual(Share([2], 3).taking_over(long_ago, NOW, AFTER).taken, (1,))

    def test_without_signs_of_life_since_nobody_is_silent_for_lack_of_one(self):
        # a container migrated before heartbeats existed, however old
        for index in range(3):
            self.assertEqual(Share([index], 3).taking_over(
                headers(since=None), NOW, AFTER).taken, ())
        self.assertEqual(Share([0], 3).taking_over(
            headers(since=None, r1=NOW - 1000), NOW, AFTER).taken, ())
        self.assertEqual(Share([2], 3).taking_over(
            headers(since=None, r1=NOW - 1000), NOW, AFTER).taken, (1,))

    def test_since_is_written_once(self):
        share = Share([1], 3)
        self.assertIn(ALIVE_SINCE, share.heartbeat(NOW, {}))
        self.assertNotIn(ALIVE_SINCE, share.heartbeat(NOW, headers()))
        self.assertNotIn(ALIVE_SINCE, share.heartbeat(NOW))

    def test_a_taken_share_owns_its_names_and_the_first_replica_work(self):
        names = ['obj-%d' % i for i in range(300)]
        mine, theirs = Share([1], 3), Share([0], 3)
        taken = mine.taking_over(headers(r0=NOW - 1000, r1=NOW, r2=NOW), NOW, AFTER)
        self.assertEqual([n for n in names if taken.owns(n)],
                         [n for n in names if mine.owns(n) or theirs.owns(n)])
        self.assertTrue(taken.first)
        self.assertFalse(mine.first)

    def test_the_heartbeat_names_only_the_replicas_held(self):
        taken = Share([2], 3).taking_over(headers(r0=0.0, r1=NOW, r2=NOW), NOW, AFTER)
        self.assertEqual(taken.heartbeat(NOW), {ALIVE_PREFIX + '2': '%.5f' % NOW})


if __name__ == '__main__':
    unittest.main()

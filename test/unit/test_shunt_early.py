"""Early remote reads: an object the shunt lately served from the remote has its remote read
started while Swift looks for the local copy; the local answer still decides."""
import unittest

import eventlet

from s3_sync.shunt.early import EarlyRead, RecentlyRemote
from test.unit.test_shunt_objects import ShuntTestCase

USER = {'REMOTE_USER': 'a,a:user'}     # what tempauth leaves for a valid token


class YieldingSwift:
    """The fake Swift, yielding to other green threads first (as a real one does on I/O) and
    noting how many remote reads had started by then."""

    def __init__(self, swift, remote):
        self.swift, self.remote = swift, remote
        self.remote_reads_seen = []

    def __call__(self, env, start_response):
        eventlet.sleep(0)
        self.remote_reads_seen.append(len([r for r in self.remote.requests
                                           if r[0] in ('GET', 'HEAD')]))
        return self.swift(env, start_response)


class EarlyCase(ShuntTestCase):
    def setUp(self):
        super().setUp()
        self.local = YieldingSwift(self.swift, self.remote)
        self.shunt.app = self.local
        for part in (self.shunt.objects, self.shunt.writes):
            part.app = self.local

    def get(self, path='/v1/a/c/o', **kw):
        kw.setdefault('environ', dict(USER))
        return self.request(path, **kw)


class TestEarlyReads(EarlyCase):
    def test_first_archived_get_reads_the_remote_only_after_the_local_404(self):
        self.remote.add('o', b'remote body')
        resp = self.get()
        self.assertEqual((resp.status_int, resp.body), (200, b'remote body'))
        self.assertEqual(self.local.remote_reads_seen, [0])

    def test_repeated_archived_get_reads_the_remote_while_swift_looks_locally(self):
        self.remote.add('o', b'remote body')
        self.get()
        resp = self.get()
        self.assertEqual((resp.status_int, resp.body), (200, b'remote body'))
        self.assertEqual(self.local.remote_reads_seen, [0, 2])
        self.assertEqual(len(self.remote_gets()), 2)    # one each: no second read

    def test_early_read_keeps_the_clients_range(self):
        self.remote.add('o', b'0123456789')
        self.get()
        resp = self.get(headers={'Range': 'bytes=2-4'})
        self.assertEqual((resp.status_int, resp.body), (206, b'234'))
        self.assertEqual(self.remote_gets()[-1][2], {'range': 'bytes=2-4'})

    def test_local_object_wins_over_an_early_read_which_is_closed(self):
        self.remote.add('o', b'remote body')
        self.get()
        self.swift.add('/v1/a/c/o', b'new local body')
        closed = self.remote.closed
        resp = self.get()
        self.assertEqual((resp.status_int, resp.body), (200, b'new local body'))
        eventlet.sleep(0)
        self.assertEqual(self.remote.closed, closed + 1)    # the early read, unread
        # no longer taken for archived: the next GET reads no remote copy
        self.get()
        self.assertEqual(len(self.remote_gets()), 2)

    def test_clients_delete_still_hides_an_early_read_copy(self):
        self.remote.add('o', b'remote body')
        self.get()
        self.swift.tombstones['/v1/a/c/o'] = '9999999999.00000'    # a client's delete, later
        self.assertEqual(self.get().status_int, 404)

    def test_anonymous_client_starts_no_early_read(self):
        self.remote.add('o', b'remote body')
        self.get()
        self.request('/v1/a/c/o')
        self.assertEqual(self.local.remote_reads_seen, [0, 1])

    def test_remote_failure_of_an_early_read_is_a_502(self):
        self.remote.add('o', b'remote body')
        self.get()
        from test.unit.test_shunt_fakes import remote_error
        self.remote.fail = remote_error(503)
        self.assertEqual(self.get().status_int, 502)

    def test_restoring_mapping_reads_early_never(self):
        self.write_config([])
        from test.unit.test_shunt_objects import archive_mapping
        self.write_config([archive_mapping(restore_object=True)])
        self.shunt.profiles.reload_if_changed(force=True)
        self.remote.add('o', b'remote body')
        self.get()
        self.get()
        self.assertEqual(self.local.remote_reads_seen[1], 1)


class TestEarlyReadsAfterListing(EarlyCase):
    """A client that lists then reads: the names the spliced listing showed on the remote side
    alone are read early on their first GET."""

    def list_container(self, environ=USER):
        self.swift.containers.add('/v1/a/c')
        return self.request('/v1/a/c', environ=dict(environ))

    def test_first_get_of_a_name_listed_remote_only_reads_early(self):
        self.remote.add('o', b'remote body')
        self.assertEqual(self.list_container().status_int, 200)
        resp = self.get()
        self.assertEqual((resp.status_int, resp.body), (200, b'remote body'))
        self.assertEqual(self.local.remote_reads_seen, [1])     # started before Swift answered
        self.assertEqual(len(self.remote_gets()), 1)

    def test_name_listed_on_both_sides_is_read_locally_with_no_remote_read(self):
        self.remote.add('o', b'remote body')
        self.swift.add('/v1/a/c/o', b'local body')
        self.list_container()
        resp = self.get()
        self.assertEqual((resp.status_int, resp.body), (200, b'local body'))
        eventlet.sleep(0)
        self.assertEqual(self.remote_gets(), [])

    def test_local_object_written_after_the_listing_wins_and_is_forgotten(self):
        self.remote.add('o', b'remote body')
        self.list_container()
        self.swift.add('/v1/a/c/o', b'new local body')
        closed = self.remote.closed
        resp = self.get()
        self.assertEqual((resp.status_int, resp.body), (200, b'new local body'))
        eventlet.sleep(0)
        self.assertEqual(self.remote.closed, closed + 1)    # the early read, unread
        self.get()
        self.assertEqual(len(self.remote_gets()), 1)        # forgotten: no second early read

    def test_anonymous_listing_remembers_nothing(self):
        self.remote.add('o', b'remote body')
        self.list_container(environ={})
        self.get()
        self.assertEqual(self.local.remote_reads_seen, [0])

    def test_restoring_mapping_remembers_no_listed_name(self):
        from test.unit.test_shunt_objects import archive_mapping
        self.write_config([archive_mapping(restore_object=True)])
        self.shunt.profiles.reload_if_changed(force=True)
        self.remote.add('o', b'remote body')
        self.list_container()
        self.get()
        self.assertEqual(self.local.remote_reads_seen, [0])


class TestRecentlyRemote(unittest.TestCase):
    def test_forgets_after_its_time_and_when_told(self):
        now = [100.0]
        seen = RecentlyRemote(maxsize=2, ttl=10, clock=lambda: now[0])
        seen.remember('x')
        self.assertIn('x', seen)
        now[0] = 111
        self.assertNotIn('x', seen)
        seen.remember('y')
        seen.forget('y')
        self.assertNotIn('y', seen)

    def test_is_bounded(self):
        seen = RecentlyRemote(maxsize=2)
        for name in 'abc':
            seen.remember(name)
        self.assertEqual(['a' in seen, 'b' in seen, 'c' in seen], [False, True, True])

    def test_discarded_error_is_swallowed_and_result_raises_it(self):
        def boom():
            raise ValueError('no')
        early = EarlyRead(boom)
        with self.assertRaises(ValueError):
            early.result()
        EarlyRead(boom).discard()
        eventlet.sleep(0)

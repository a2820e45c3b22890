"""Hostile listing parameters through the shunt get Swift's answer, and the remote never sees
what it would refuse."""
import json
import unittest

from s3_sync.providers.base import RemoteError
from s3_sync.shunt.listing import remote_entries
from test.unit.test_shunt_fakes import FakeProvider, entry, list_entries
from test.unit.test_shunt_objects import ShuntTestCase


def names(listing):
    return [e.get('name', e.get('subdir')) for e in listing]


class NulRefusingProvider(FakeProvider):
    """A remote that refuses a NUL anywhere in a listing request, as Swift's s3api does (moto
    answers 500)."""

    def list_objects(self, marker='', limit=1000, prefix='', delimiter='', end_marker=''):
        if any('\x00' in value for value in (marker, prefix, delimiter, end_marker)):
            self.requests.append(('LIST', marker, end_marker, prefix, delimiter, limit))
            raise RemoteError(400, 'InvalidArgument: Invalid Argument.')
        return super().list_objects(marker, limit, prefix, delimiter, end_marker)


class EveryPrefixProvider(FakeProvider):
    """A remote that, with a delimiter, lists every common prefix of the bucket whatever the
    marker (moto does), and applies end_marker only after the roll-up (our S3 provider does)."""

    def list_objects(self, marker='', limit=1000, prefix='', delimiter='', end_marker=''):
        self.requests.append(('LIST', marker, end_marker, prefix, delimiter, limit))
        out, subdirs = [], set()
        for name in sorted(self.objects):
            if not name.startswith(prefix):
                continue
            cut = name.find(delimiter, len(prefix)) if delimiter else -1
            if cut >= 0:
                subdirs.add(name[:cut + len(delimiter)])
            elif name > marker:
                out.append(entry(name))
        out.extend({'subdir': s} for s in subdirs)
        out = [e for e in out if not end_marker or names([e])[0] < end_marker]
        out.sort(key=lambda e: names([e])[0])
        for e in out:
            e['content_location'] = self.content_location
        return out[:limit]


class HostileListingTestCase(ShuntTestCase):
    remote_class = FakeProvider
    local_names = ('a', 'dir/1', 'zz')
    remote_names = ('b', 'dir/2', 'dir/3', 'dir2/x', 'x\x01y')

    def setUp(self):
        super().setUp()
        self.remote = self.remote_class()
        self.shunt.profiles.provider_factory = lambda *a, **kw: self.remote
        for name in self.local_names:
            self.swift.add('/v1/a/c/' + name)
        for name in self.remote_names:
            self.remote.add(name)
        self.union = {n: entry(n) for n in self.local_names + self.remote_names}

    def listing(self, query):
        resp = self.request('/v1/a/c?format=json&' + query)
        return resp.status_int, (json.loads(resp.body) if resp.status_int == 200 else resp.body)

    def swift_would_list(self, **params):
        """What Swift lists for ``params`` in a container holding the union."""
        return names(list_entries(self.union, **params))


class TestValidationAsSwift(HostileListingTestCase):
    def test_limit_of_digits_int_cannot_read_is_400_and_asks_no_one(self):
        # '²' and '①' pass str.isdigit() but not int(): Swift's own check raises on them.
        for limit in ('%C2%B2', '%E2%91%A0'):
            status, body = self.listing('limit=' + limit)
            self.assertEqual(status, 400, limit)
            self.assertIn(b'limit', body)
        self.assertEqual(self.swift.calls, [])
        self.assertEqual(self.remote.requests, [])

    def test_limit_is_checked_after_the_other_parameters_as_swift_does(self):
        status, body = self.listing('limit=%C2%B2&marker=%FF')
        self.assertEqual((status, body), (400, b'"marker" parameter not valid UTF-8'))

    def test_unreadable_limit_with_path_is_400_too(self):
        self.assertEqual(self.listing('path=dir&limit=%C2%B2')[0], 400)
        self.assertEqual(self.swift.calls, [])

    def test_limit_above_the_maximum_is_412_before_swift_is_asked(self):
        self.assertEqual(self.listing('limit=10001')[0], 412)
        self.assertEqual(self.swift.calls, [])

    def test_other_unicode_digits_are_the_number_swift_reads(self):
        status, listing = self.listing('limit=%EF%BC%92')      # fullwidth 2: int() reads it
        self.assertEqual((status, names(listing)), (200, ['a', 'b']))


class TestNulNeverReachesTheRemote(HostileListingTestCase):
    remote_class = NulRefusingProvider

    def assertRemoteSawNoNul(self):
        for request in self.remote.requests:
            self.assertFalse(any('\x00' in str(v) for v in request), request)

    def test_prefix_with_nul_matches_nothing_and_the_remote_is_not_asked(self):
        for prefix in ('%00', 'dir%00', 'dir/%00x'):
            self.assertEqual(self.listing('prefix=' + prefix), (200, []), prefix)
        self.assertEqual(self.remote.requests, [])

    def test_delimiter_with_nul_rolls_nothing_up(self):
        status, listing = self.listing('delimiter=%00')
        self.assertEqual((status, names(listing)), (200, sorted(self.union)))
        status, listing = self.listing('delimiter=/%00&prefix=dir/')
        self.assertEqual(names(listing), ['dir/1', 'dir/2', 'dir/3'])
        self.assertRemoteSawNoNul()

    def test_marker_with_nul_lists_the_names_after_it(self):
        for marker in ('%00', 'dir/2%00', 'dir/2%00zz', 'b%00'):
            raw = marker.replace('%00', '\x00')
            status, listing = self.listing('marker=' + marker)
            self.assertEqual(names(listing), self.swift_would_list(marker=raw), marker)
        self.assertRemoteSawNoNul()

    def test_end_marker_with_nul_keeps_the_name_before_it(self):
        status, listing = self.listing('end_marker=dir/2%00')
        self.assertEqual(names(listing), ['a', 'b', 'dir/1', 'dir/2'])
        self.assertEqual(self.listing('end_marker=%00'), (200, []))
        self.assertRemoteSawNoNul()

    def test_reverse_with_nul_markers(self):
        status, listing = self.listing('reverse=on&marker=dir/3%00&end_marker=b%00')
        self.assertEqual(names(listing), self.swift_would_list(
            marker='dir/3\x00', end_marker='b\x00', reverse=True))
        self.assertEqual(names(listing), ['dir/3', 'dir/2', 'dir/1'])
        self.assertRemoteSawNoNul()

    def test_subdir_holding_a_nul_marker_is_listed_as_swift_does(self):
        status, listing = self.listing('marker=dir/%00&delimiter=/')
        self.assertEqual(names(listing), self.swift_would_list(marker='dir/\x00', delimiter='/'))
        self.assertEqual(names(listing)[0], 'dir/')
        self.assertRemoteSawNoNul()


class TestSubdirsAtTheBounds(HostileListingTestCase):
    remote_class = EveryPrefixProvider
    local_names = ('a',)
    remote_names = ('b/0', 'c/1', 'dir/2', 'dir2/x', 'e')

    def check(self, **params):
        query = '&'.join('%s=%s' % kv for kv in params.items())
        params = {k: v for k, v in params.items() if k != 'reverse'}
        reverse = 'reverse=on' in query
        status, listing = self.listing(query)
        self.assertEqual(names(listing) if status == 200 else [],
                         self.swift_would_list(reverse=reverse, **params), query)

    def test_subdir_holding_the_marker_is_listed_when_names_follow_the_marker(self):
        self.check(marker='dir/1x', delimiter='/')         # dir/2 follows: dir/ is listed
        self.check(marker='dir/xxxx', delimiter='ir')      # dir2/x rolls up to "dir"

    def test_subdir_holding_the_marker_is_not_listed_when_no_name_follows(self):
        self.check(marker='b/0x', delimiter='/')
        self.check(marker='c/', delimiter='/')

    def test_subdir_holding_the_end_marker_needs_a_name_before_it(self):
        self.check(end_marker='c/0', delimiter='/')        # c/1 is past the end: no c/
        self.check(end_marker='dir/3', delimiter='/')      # dir/2 is before it: dir/

    def test_reverse_bounds_follow_the_same_rule(self):
        self.check(reverse='on', end_marker='dir/1x', delimiter='/')
        self.check(reverse='on', end_marker='b/0x', delimiter='/')
        self.check(reverse='on', marker='c/0', delimiter='/')


class TestRemoteEntriesSpeakOnlyCleanNames(unittest.TestCase):
    def test_remote_entries_with_nul_bounds_ask_clean_ones(self):
        remote = NulRefusingProvider()
        for name in ('a', 'b', 'c'):
            remote.add(name)
        self.assertEqual(names(remote_entries(remote, 'a\x00', 'c\x00', '', '', 10, False)),
                         ['b', 'c'])
        self.assertEqual(names(remote_entries(remote, 'c\x00', 'a\x00', '', '\x00', 10, True)),
                         ['c', 'b'])
        self.assertEqual(remote_entries(remote, '', '', 'a\x00', '', 10, False), [])


if __name__ == '__main__':
    unittest.main()

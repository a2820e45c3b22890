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


if __name__ == '__main__':
    unittest.main()

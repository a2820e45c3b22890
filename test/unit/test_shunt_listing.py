"""The container listing splice: merge rules, paging parameters on both sides, rendering."""
import json
import unittest
from urllib.parse import quote
from xml.etree import ElementTree

from s3_sync.shunt.listing import remote_entries, splice
from test.unit.test_shunt_fakes import LOCATION, FakeProvider, entry, list_entries, remote_error
from test.unit.test_shunt_objects import ShuntTestCase


def names(listing):
    return [e.get('name', e.get('subdir')) for e in listing]


class TestSplice(unittest.TestCase):
    def test_annotations_follow_the_original_wire_format(self):
        local = [entry('both', b'local'), entry('local-only')]
        remote = [dict(entry('both', b'remote'), content_location=LOCATION),
                  dict(entry('remote-only'), content_location=LOCATION)]
        out = splice(local, remote, 100)
        self.assertEqual(names(out), ['both', 'local-only', 'remote-only'])
        self.assertEqual(out[0]['content_location'], [LOCATION, 'swift'])
        self.assertEqual(out[0]['hash'], remote[0]['hash'])      # the remote entry is shown
        self.assertNotIn('content_location', out[1])
        self.assertEqual(out[2]['content_location'], [LOCATION])

    def test_limit_caps_the_merged_listing(self):
        local = [entry(n) for n in 'ace']
        remote = [dict(entry(n), content_location=LOCATION) for n in 'bdf']
        self.assertEqual(names(splice(local, remote, 4)), list('abcd'))

    def test_reverse_merges_descending(self):
        local = [entry(n) for n in 'eca']
        remote = [dict(entry(n), content_location=LOCATION) for n in 'fdc']
        self.assertEqual(names(splice(local, remote, 10, reverse=True)), list('fedca'))


class TestRemoteEntries(unittest.TestCase):
    def setUp(self):
        self.remote = FakeProvider()
        for i in range(2500):
            self.remote.add('o%05d' % i, b'x')

    def test_pages_until_the_limit(self):
        out = remote_entries(self.remote, 'o00010', '', '', '', 1500, False)
        self.assertEqual(names(out), ['o%05d' % i for i in range(11, 1511)])

    def test_end_marker_bounds_the_remote_side(self):
        out = remote_entries(self.remote, '', 'o00003', '', '', 100, False)
        self.assertEqual(names(out), ['o00000', 'o00001', 'o00002'])

    def test_reverse_takes_the_highest_names_below_the_marker(self):
        out = remote_entries(self.remote, 'o02000', 'o00005', '', '', 3, True)
        self.assertEqual(names(out), ['o01999', 'o01998', 'o01997'])
        out = remote_entries(self.remote, 'o00009', 'o00005', '', '', 10, True)
        self.assertEqual(names(out), ['o00008', 'o00007', 'o00006'])


class TestRemoteReadBoundedByTheLocalPage(unittest.TestCase):
    """With the local page known, only the remote entries that can make the splice are read."""

    def setUp(self):
        self.remote = FakeProvider()

    def keys_read(self):
        return sum(r[-1] for r in self.remote.requests if r[0] == 'LIST')

    def spliced(self, local, limit, marker=''):
        remote = remote_entries(self.remote, marker, '', '', '', limit, False, local=local)
        return names(splice([entry(n) for n in local], remote, limit))

    def test_half_archived_page_reads_half_a_page_of_remote_keys(self):
        for i in range(1, 4000, 2):
            self.remote.add('l%05d' % i, b'x')
        local = ['l%05d' % i for i in range(0, 2000, 2)]      # a full local page of 1,000
        self.assertEqual(self.spliced(local, 1000), ['l%05d' % i for i in range(1000)])
        self.assertLessEqual(self.keys_read(), 501)

    def test_short_guess_is_topped_up_and_the_page_stays_right(self):
        for i in range(100):
            self.remote.add('a%03d' % i, b'x')      # all before every local name
        local = ['b%03d' % i for i in range(100)]
        self.assertEqual(self.spliced(local, 100), ['a%03d' % i for i in range(100)])
        self.assertEqual(len([r for r in self.remote.requests if r[0] == 'LIST']), 2)

    def test_name_on_both_sides_counts_once(self):
        for n in ('a', 'b', 'c', 'd', 'e', 'f'):
            self.remote.add(n, b'x')
        self.assertEqual(self.spliced(['a', 'b', 'c', 'x'], 4), ['a', 'b', 'c', 'd'])

    def test_short_local_page_asks_for_the_rest_of_the_page(self):
        for i in range(50):
            self.remote.add('r%03d' % i, b'x')
        self.assertEqual(self.spliced(['a', 'b'], 10),
                         ['a', 'b'] + ['r%03d' % i for i in range(8)])
        self.assertEqual(self.remote.requests[0][-1], 8)


class TestListingThroughTheShunt(ShuntTestCase):
    def setUp(self):
        super().setUp()
        self.local_names = ['a', 'dir/1', 'dir/2', 'ünï', 'z']
        self.remote_names = ['b', 'dir/3', 'dir2/x', 'ünï', 'y']
        for name in self.local_names:
            self.swift.add('/v1/a/c/' + name.encode('utf-8').decode('latin-1'))
        for name in self.remote_names:
            self.remote.add(name)
        self.union = sorted(set(self.local_names) | set(self.remote_names))

    def get(self, query='', **kw):
        return self.request('/v1/a/c' + query, **kw)

    def test_json_listing_is_the_sorted_union(self):
        resp = self.get('?format=json')
        self.assertEqual(resp.status_int, 200)
        listing = json.loads(resp.body)
        self.assertEqual(names(listing), self.union)
        by_name = {e['name']: e for e in listing}
        self.assertEqual(by_name['ünï']['content_location'], [LOCATION, 'swift'])
        self.assertEqual(by_name['b']['content_location'], [LOCATION])
        self.assertNotIn('content_location', by_name['a'])
        self.assertEqual(resp.headers['Content-Length'], str(len(resp.body)))
        self.assertEqual(resp.headers['X-Container-Object-Count'], '5')   # local counts

    def test_paging_by_marker_gives_the_union_exactly(self):
        seen, marker = [], ''
        while True:
            page = json.loads(self.get('?format=json&limit=2&marker=' + marker).body)
            if not page:
                break
            seen.extend(names(page))
            marker = quote(page[-1]['name'])
        self.assertEqual(seen, self.union)

    def test_delimiter_prefix_end_marker_and_reverse(self):
        listing = json.loads(self.get('?format=json&delimiter=/').body)
        self.assertEqual(names(listing), ['a', 'b', 'dir/', 'dir2/', 'y', 'z', 'ünï'])
        dirs = [e for e in listing if 'subdir' in e]
        self.assertEqual(dirs[0]['content_location'], [LOCATION, 'swift'])
        self.assertEqual(names(json.loads(self.get('?format=json&prefix=dir/').body)),
                         ['dir/1', 'dir/2', 'dir/3'])
        self.assertEqual(names(json.loads(self.get('?format=json&end_marker=dir/2').body)),
                         ['a', 'b', 'dir/1'])
        self.assertEqual(names(json.loads(self.get(
            '?format=json&reverse=on&marker=y&end_marker=a&limit=3').body)),
            ['dir2/x', 'dir/3', 'dir/2'])
        self.assertEqual(names(json.loads(self.get(
            '?format=json&delimiter=/&marker=dir/').body)), ['dir2/', 'y', 'z', 'ünï'])

    def test_plain_and_xml_when_no_listing_formats_is_above(self):
        resp = self.get()
        self.assertEqual(resp.headers['Content-Type'], 'text/plain; charset=utf-8')
        self.assertEqual(resp.body.decode('utf-8').splitlines(), self.union)
        resp = self.get('?format=xml&delimiter=/')
        root = ElementTree.fromstring(resp.body)
        self.assertEqual(root.get('name'), 'c')
        self.assertEqual([o.get('name') or o.find('name').text for o in root],
                         ['a', 'b', 'dir/', 'dir2/', 'y', 'z', 'ünï'])
        resp = self.get(headers={'Accept': 'application/json'})
        self.assertEqual(names(json.loads(resp.body)), self.union)

    def test_json_for_listing_formats_to_render(self):
        resp = self.get('?format=xml', environ={'swift.format_listing': True})
        self.assertEqual(resp.headers['Content-Type'], 'application/json; charset=utf-8')
        self.assertEqual(names(json.loads(resp.body)), self.union)

    def test_local_failure_is_returned_unchanged_without_remote_listing(self):
        self.swift.denied.add('/v1/a/c')
        self.assertEqual(self.get().status_int, 403)
        self.swift.containers.discard('/v1/a/c')
        self.swift.denied.clear()
        self.assertEqual(self.get().status_int, 404)
        self.assertEqual(self.remote.requests, [])

    def test_path_queries_pass_through(self):
        self.get('?path=dir')
        self.assertEqual(self.remote.requests, [])

    def test_remote_failure_is_502(self):
        self.remote.fail = remote_error()
        resp = self.get('?format=json')
        self.assertEqual(resp.status_int, 502)
        self.assertNotIn(b'SECRET', resp.body)

    def test_missing_remote_container_lists_the_local_half(self):
        # Nothing synced yet: the remote container or bucket is made on first upload.
        self.remote.fail = remote_error(404)
        resp = self.get('?format=json')
        self.assertEqual(resp.status_int, 200)
        self.assertEqual(names(json.loads(resp.body)), sorted(self.local_names))


class TestFakeAgreesWithSplice(unittest.TestCase):
    def test_splice_of_two_listings_is_the_listing_of_the_union(self):
        local = {n: entry(n) for n in ('a', 'c/1', 'e')}
        remote = {n: dict(entry(n), content_location=LOCATION) for n in ('b', 'c/2', 'e')}
        union = dict(remote, **local)
        for reverse in (False, True):
            got = splice(list_entries(local, delimiter='/', reverse=reverse),
                         list_entries(remote, delimiter='/', reverse=reverse), 100, reverse)
            self.assertEqual(names(got), names(list_entries(union, delimiter='/',
                                                            reverse=reverse)))

"""The migrator measurement's own arithmetic: which source requests count, the PUT window, and
the figures its targets are judged on (failed runs kept out)."""
import json
import os
import shutil
import tempfile
import unittest

from bench import migrator


class TestSourceRequests(unittest.TestCase):
    def test_object_requests_are_told_from_listings_auth_and_other_buckets(self):
        self.assertEqual(migrator.classify('moto', '/b/obj-1', 'b'), 'object')
        self.assertEqual(migrator.classify('moto', '/b', 'b'), 'listing')
        self.assertEqual(migrator.classify('moto', '/', 'b'), 'listing')
        self.assertIsNone(migrator.classify('moto', '/other/obj-1', 'b'))
        self.assertEqual(migrator.classify('swift', '/v1/AUTH_r/b/dir/obj', 'b'), 'object')
        self.assertEqual(migrator.classify('swift', '/v1/AUTH_r/b', 'b'), 'listing')
        self.assertEqual(migrator.classify('swift', '/v1/AUTH_r', 'b'), 'listing')
        self.assertEqual(migrator.classify('swift', '/auth/v1.0', 'b'), 'other')

    def test_log_lines_of_both_servers_are_read_and_the_bench_s_own_left_out(self):
        from test.unit.test_bench_accesslog import (CSYNC_PUT, MOTO_BUCKET_PUT,
                                                    MOTO_CREATE_UPLOAD, MOTO_PUT, WARNING)
        source = migrator.Source.__new__(migrator.Source)
        text = '\n'.join((' * Running on http://127.0.0.1:5055', MOTO_PUT, MOTO_CREATE_UPLOAD,
                          WARNING, CSYNC_PUT, MOTO_BUCKET_PUT))
        self.assertEqual([(r.method, r.path) for r in source._requests(text)], [
            ('PUT', '/b-1/ab12/AUTH_test/c/caf\u00e9 x'), ('POST', '/b-1/ab12/AUTH_test/c/big'),
            ('PUT', '/v1/AUTH_remote/csdest/two words')])


    def test_a_swift_proxys_own_subrequests_are_not_source_requests(self):
        from test.unit.test_bench_accesslog import CONTAINER_INFO, SEGMENT_PUT, SLO_SUBREQUEST
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        source = migrator.Source.__new__(migrator.Source)
        source.kind, source.log_path = 'swift', os.path.join(tmp, 'remote-proxy.log')
        with open(source.log_path, 'w') as f:
            f.write('\n'.join((CONTAINER_INFO, SLO_SUBREQUEST, SEGMENT_PUT)) + '\n')
        counts, methods, listing_seconds = source.requests_since(0, 'sample_segments')
        self.assertEqual(counts, {'object': 1, 'listing': 0, 'other': 0})
        self.assertEqual(methods, {'PUT': 1})
        self.assertEqual(listing_seconds, 0.0)


    def test_the_source_s_time_answering_listings_is_summed_from_its_own_log(self):
        from test.unit.test_bench_accesslog import CONTAINER_PUT, SEGMENT_PUT
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        source = migrator.Source.__new__(migrator.Source)
        source.kind, source.log_path = 'swift', os.path.join(tmp, 'remote-proxy.log')
        listing = CONTAINER_PUT.replace(' PUT /v1/AUTH_remote/sample ',
                                        ' GET /v1/AUTH_remote/sample?marker=a ')
        with open(source.log_path, 'w') as f:
            f.write('\n'.join((listing, listing, SEGMENT_PUT)) + '\n')
        counts, _methods, listing_seconds = source.requests_since(0, 'sample')
        self.assertEqual(counts['listing'], 2)
        self.assertAlmostEqual(listing_seconds, 2 * (1796161774.831937551 - 1796161774.764849663),
                               places=4)


class ListingSource(migrator.Source):
    """A source whose listing shows each name only after it was PUT ``lag[name]`` times."""

    def __init__(self, lag):
        self.kind = 'swift'
        self.lag = dict(lag)
        self.puts = []

    def listed(self, bucket):
        return {name for name, left in self.lag.items() if left <= 0}

    def put_again(self, name):
        self.puts.append(name)
        self.lag[name] -= 1


class TestSettle(unittest.TestCase):
    def settle(self, source, tries=4):
        sleeps = []
        source.settle('b', sorted(source.lag), source.put_again, tries=tries, wait=1.0,
                      sleep=sleeps.append)
        return sleeps

    def test_a_fully_listed_source_is_not_touched(self):
        source = ListingSource({'a': 0, 'b': 0})
        self.assertEqual(self.settle(source), [])
        self.assertEqual(source.puts, [])

    def test_names_never_listed_are_put_again_after_a_first_wait(self):
        source = ListingSource({'a': 0, 'b': 1, 'c': 1})
        self.assertEqual(self.settle(source), [1.0, 1.0])
        self.assertEqual(source.puts, ['b', 'c'])     # only after the first wait, once each

    def test_a_listing_that_stays_short_is_a_failure_naming_a_missing_object(self):
        source = ListingSource({'a': 0, 'b': 99})
        with self.assertRaisesRegex(RuntimeError, 'lists 1 of the 2 objects .*first missing: b'):
            self.settle(source, tries=3)
        self.assertEqual(source.puts, ['b'])


class TestWindow(unittest.TestCase):
    def test_first_put_start_to_last_put_end_over_the_processes(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        paths = []
        for i, seen in enumerate(({'first': 10.0, 'last': 20.0, 'count': 3},
                                  {'first': 12.0, 'last': 25.0, 'count': 4},
                                  {'first': None, 'last': None, 'count': 0})):
            paths.append(os.path.join(tmp, '%d.json' % i))
            with open(paths[-1], 'w') as f:
                json.dump(seen, f)
        self.assertEqual(migrator.put_window(paths), {'first': 10.0, 'last': 25.0, 'count': 7})
        self.assertIsNone(migrator.put_window(paths + [os.path.join(tmp, 'missing')]))


def run(ok=True, rate=10.0, rss=80.0, per_obj=1.0):
    return {'ok': ok, 'objs_per_s': rate, 'mb_per_s': rate / 100, 'rss_mib': rss,
            'object_requests_per_obj': per_obj, 'all_requests_per_obj': per_obj,
            'start_to_end_objs_per_s': rate / 2, 'verified': {'ok': ok, 'why': 'x' if not ok
                                                               else None},
            'exit_codes': [0], 'errors_in_log': 0}


class TestFigures(unittest.TestCase):
    def test_ratios_per_round_and_failed_runs_kept_out(self):
        part = migrator.summarize({'migrator': [run(rate=9.0), run(ok=False, rate=99.0)],
                                   'copy': [run(rate=10.0), run(rate=10.0)]}, 10, 4096)
        self.assertEqual(part['summary']['ratio'], (0.9, 0.9, 0.9))
        self.assertEqual(part['summary']['migrator']['ok_runs'], 1)
        self.assertEqual(part['summary']['migrator']['objs_per_s'], (9.0, 9.0, 9.0))

    def test_target_figures_rss_large_over_small_and_worst_requests(self):
        small = migrator.summarize({'migrator': [run(rss=80.0)], 'copy': [run()]}, 10, 4096)
        large = migrator.summarize({'migrator': [run(rss=88.0, per_obj=1.05)],
                                    'copy': [run()]}, 2, 2 ** 26)
        figures = migrator.target_figures({'moto': {'small': small, 'large': large}})['moto']
        self.assertAlmostEqual(figures['rss_large_over_small'][1], 1.1)
        self.assertEqual(figures['requests_per_obj'], (1.0, 1.025, 1.05))
        self.assertEqual(figures['small_ratio'], (1.0, 1.0, 1.0))


if __name__ == '__main__':
    unittest.main()

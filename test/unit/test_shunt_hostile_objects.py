"""Hostile Range and conditional headers on archived objects get Swift's answer, and the remote
is never asked something Swift would have ignored."""
import re
import unittest

from swift.common.swob import Request

from s3_sync.providers.base import RemoteError, RemoteResponse
from s3_sync.shunt import filter_factory
from test.unit.test_shunt_fakes import FakeProvider, FakeSwift, md5
from test.unit.test_shunt_objects import ShuntTestCase

BODY = b'0123456789'
LATER = 'Tue, 02 Jan 2024 00:00:00 GMT'        # after the fake remote's Last-Modified
EARLIER = 'Sun, 31 Dec 2023 00:00:00 GMT'


class S3LikeProvider(FakeProvider):
    """Ranges as S3 serves them: one ``bytes=first-last`` or ``bytes=-suffix`` range, 416 when
    nothing of it is in the object. Any other Range header makes it fail, as a remote that
    cannot parse it may (the client got 502)."""

    def get_object(self, name, headers=None, head=False):
        rng = (headers or {}).get('range')
        if rng is None or name not in self.objects:
            return super().get_object(name, headers, head)
        self.requests.append(('HEAD' if head else 'GET', name, dict(headers)))
        match = re.match(r'^bytes=(\d*)-(\d*)$', rng)
        if not match or match.groups() == ('', ''):
            raise RemoteError(502, 'get_object: cannot parse Range %r' % rng)
        meta, body = self.objects[name]
        size = len(body)
        first, last = match.groups()
        if first:
            start, end = int(first), min(int(last) if last else size - 1, size - 1)
        else:
            start, end = max(size - int(last), 0), size - 1
        if start >= size or (not first and int(last) == 0):
            error = b'InvalidRange'
            return RemoteResponse(416, {'content-length': str(len(error))},
                                  [] if head else [error])
        meta = dict(meta, **{'content-range': 'bytes %d-%d/%d' % (start, end, size),
                             'content-length': str(end - start + 1)})
        return RemoteResponse(206, meta, [] if head else [body[start:end + 1]],
                              close=self._close)


class SwiftLikeLocal(FakeSwift):
    """Answers a missing object with ``If-Match: *`` with 412, as Swift's object server does."""

    def __call__(self, env, start_response):
        match = Request(env).if_match
        if match is not None and '*' in match.tags and env['PATH_INFO'].count('/') >= 4 and \
                env['PATH_INFO'] not in self.objects:
            self.calls.append((env['REQUEST_METHOD'], env['PATH_INFO'], {}, env))
            return self._reply(start_response, '412 Precondition Failed', {}, b'')
        return super().__call__(env, start_response)


class HostileObjectTestCase(ShuntTestCase):
    def setUp(self):
        super().setUp()
        self.swift = SwiftLikeLocal()
        self.remote = S3LikeProvider()
        self.shunt = filter_factory({}, conf_file=self.conf)(self.swift)
        self.shunt.profiles.provider_factory = lambda *a, **kw: self.remote
        self.remote.add('o', BODY)
        self.remote.add('empty', b'')

    def get(self, headers, name='o', method='GET'):
        return self.request('/v1/a/c/' + name, method=method, headers=headers)


class TestRangeAsSwiftReadsIt(HostileObjectTestCase):
    def test_range_swift_ignores_is_not_sent_and_the_whole_object_is_200(self):
        for header in ('items=0-1', 'bytes=0-1,abc', ',bytes=0-1', 'bytes=5-3', 'bytes=0-1,5-3',
                       'bytes=abc', 'bytes=-', 'bytes=0-1,', ''):
            resp = self.get({'Range': header})
            self.assertEqual((resp.status_int, resp.body), (200, BODY), header)
            self.assertNotIn('Content-Range', resp.headers)
            self.assertNotIn('range', self.remote_gets()[-1][2], header)

    def test_range_goes_to_the_remote_as_swift_reads_it(self):
        for header in ('BYTES=2-4', 'bytes= 2-4', 'bytes=2 - 4'):
            resp = self.get({'Range': header})
            self.assertEqual((resp.status_int, resp.body), (206, b'234'), header)
            self.assertEqual(self.remote_gets()[-1][2], {'range': 'bytes=2-4'})

    def test_head_ignores_range_as_swift_does(self):
        for header in ('bytes=0-1', 'bytes=0-1,4-5', 'bytes=100-'):
            resp = self.get({'Range': header}, method='HEAD')
            self.assertEqual(resp.status_int, 200, header)
            self.assertEqual(resp.headers['Content-Length'], str(len(BODY)))
            self.assertNotIn('Content-Range', resp.headers)
            self.assertEqual(self.remote_gets()[-1], ('HEAD', 'o', {}))

    def test_unsatisfiable_range_is_416_as_swift_says(self):
        for header in ('bytes=100-', 'bytes=-0', 'bytes=10-20'):
            resp = self.get({'Range': header})
            self.assertEqual(resp.status_int, 416, header)
            self.assertEqual(resp.headers['Content-Range'], 'bytes */10')
            self.assertEqual(int(resp.headers['Content-Length']), len(resp.body))
        resp = self.get({'Range': 'bytes=0-'}, name='empty')
        self.assertEqual((resp.status_int, resp.headers['Content-Range']), (416, 'bytes */0'))

    def test_conditionals_are_judged_before_an_unsatisfiable_range(self):
        self.assertEqual(self.get({'Range': 'bytes=100-', 'If-Match': 'nope'}).status_int, 412)
        resp = self.get({'Range': 'bytes=100-', 'If-None-Match': md5(BODY)})
        self.assertEqual((resp.status_int, resp.body), (304, b''))

    def test_unsatisfiable_and_satisfiable_ranges_are_served_as_swift_serves_them(self):
        resp = self.get({'Range': 'bytes=100-200,2-4'})
        self.assertEqual((resp.status_int, resp.body), (206, b'234'))
        self.assertEqual(resp.headers['Content-Range'], 'bytes 2-4/10')


class TestConditionalsAsSwiftJudgesThem(HostileObjectTestCase):
    def test_if_match_any_serves_the_archived_object(self):
        for value in ('*', '"nope", *'):
            resp = self.get({'If-Match': value})
            self.assertEqual((resp.status_int, resp.body), (200, BODY), value)
        self.assertEqual(self.get({'If-Match': '*'}, method='HEAD').status_int, 200)
        for method, path, _query, env in self.swift.calls:
            self.assertNotIn('HTTP_IF_MATCH', env)

    def test_if_match_any_on_an_object_missing_everywhere_is_412(self):
        for method in ('GET', 'HEAD'):
            self.assertEqual(self.get({'If-Match': '*'}, 'missing', method).status_int, 412)

    def test_all_four_conditionals_count_as_in_swift(self):
        # Swift checks If-None-Match, If-Match, If-Modified-Since, If-Unmodified-Since in that
        # order, each one whatever the others say.
        for headers, status in (({'If-None-Match': 'other', 'If-Modified-Since': LATER}, 304),
                                ({'If-Match': md5(BODY), 'If-Unmodified-Since': EARLIER}, 412),
                                ({'If-Modified-Since': LATER, 'If-Unmodified-Since': EARLIER},
                                 304),
                                ({'If-None-Match': md5(BODY), 'If-Match': 'nope'}, 304)):
            self.assertEqual(self.get(headers).status_int, status, headers)
            self.assertEqual(self.remote_gets()[-1][2], {}, headers)

    def test_lone_date_conditional_goes_to_the_remote_as_swift_reads_it(self):
        resp = self.get({'If-Modified-Since': 'Tue, 02 Jan 2024 00:00:00 +0500'})
        self.assertEqual(resp.status_int, 304)
        # swob reads the date without its offset; the remote is told exactly that date
        self.assertEqual(self.remote_gets()[-1][2], {'if-modified-since': LATER})

    def test_unreadable_dates_are_ignored_and_not_sent(self):
        for value in ('garbage', '', 'Fri, 99 Foo 2100 99:99:99 GMT', '0'):
            for header in ('If-Modified-Since', 'If-Unmodified-Since'):
                resp = self.get({header: value})
                self.assertEqual((resp.status_int, resp.body), (200, BODY), (header, value))
                self.assertEqual(self.remote_gets()[-1][2], {})


if __name__ == '__main__':
    unittest.main()

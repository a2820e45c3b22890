"""Fakes for the shunt's unit tests: a small Swift-like WSGI app and a remote provider.

Both list with one helper (``list_entries``) that follows Swift's listing rules, so a splice of
the two can be compared with a listing of the union.
"""
import email.utils
import hashlib
import json
import unittest
from urllib.parse import parse_qsl

from swift.common.swob import wsgi_to_str

from s3_sync.providers.base import RemoteError, RemoteObject, RemoteResponse

LOCATION = 'http://remote.example;bucket;pre/'


def md5(data):
    return hashlib.md5(data).hexdigest()


def list_entries(entries, marker='', end_marker='', prefix='', delimiter='', limit=10000,
                 reverse=False):
    """Swift's listing of ``{name: entry}`` (entries are dicts with at least ``name``)."""
    lower, upper = (end_marker, marker) if reverse else (marker, end_marker)
    out, seen = [], set()
    for name in sorted(entries):
        if not name.startswith(prefix) or (lower and name <= lower) or \
                (upper and name >= upper):
            continue
        if delimiter:
            cut = name.find(delimiter, len(prefix))
            if cut >= 0:
                subdir = name[:cut + len(delimiter)]
                if subdir not in seen and subdir != lower:
                    seen.add(subdir)
                    out.append({'subdir': subdir})
                continue
        out.append(dict(entries[name]))
    if reverse:
        out.reverse()
    return out[:limit]


def entry(name, body=b'x', content_type='application/octet-stream', when='2024-01-01'):
    return {'name': name, 'hash': md5(body), 'bytes': len(body), 'content_type': content_type,
            'last_modified': when + 'T00:00:00.000000'}


class FakeSwift:
    """Objects under ``/v1/<a>/<c>/<o>`` (WSGI paths); records every request."""

    def __init__(self):
        self.objects = {}          # path -> (headers dict, body)
        self.containers = {'/v1/a/c', '/v1/a/segs'}
        self.denied = set()        # paths answered 403
        self.tombstones = {}       # path -> X-Backend-Timestamp of its 404
        self.put_status = None     # forced status for object PUTs
        self.calls = []

    def add(self, path, body=b'local', headers=None):
        self.objects[path] = (dict(headers or {}, etag=md5(body)), body)

    def __call__(self, env, start_response):
        method, path = env['REQUEST_METHOD'], env['PATH_INFO']
        query = dict(parse_qsl(env.get('QUERY_STRING', ''), keep_blank_values=True,
                                encoding='latin-1'))
        self.calls.append((method, path, query, env))
        if path in self.denied:
            return self._reply(start_response, '403 Forbidden', {}, b'denied')
        parts = path.split('/', 4)
        if len(parts) == 3:     # the account: always there
            return self._reply(start_response, '204 No Content', {}, b'')
        if len(parts) == 4:
            return self._container(env, start_response, method, path, query)
        if method == 'PUT':
            return self._put(env, start_response, path, query)
        if path not in self.objects:
            tombstone = {'X-Backend-Timestamp': self.tombstones[path]} \
                if path in self.tombstones else {}
            return self._reply(start_response, '404 Not Found', tombstone, b'nope')
        if method == 'DELETE':
            del self.objects[path]
            return self._reply(start_response, '204 No Content', {}, b'')
        if method == 'POST':
            return self._reply(start_response, '202 Accepted', {}, b'')
        headers, body = self.objects[path]
        return self._reply(start_response, '200 OK', headers, b'' if method == 'HEAD' else body,
                           length=len(body))

    def _container(self, env, start_response, method, path, query):
        if method == 'PUT':
            self.containers.add(path)
            return self._reply(start_response, '201 Created', {}, b'')
        if path not in self.containers:
            return self._reply(start_response, '404 Not Found', {}, b'')
        if method == 'HEAD':
            return self._reply(start_response, '204 No Content', {}, b'')
        local = {}
        for obj_path, (headers, body) in self.objects.items():
            if obj_path.startswith(path + '/'):
                name = wsgi_to_str(obj_path[len(path) + 1:])
                local[name] = entry(name, body)
        params = {k: v.encode('latin-1').decode('utf-8') for k, v in query.items()}
        listing = list_entries(local, params.get('marker', ''), params.get('end_marker', ''),
                               params.get('prefix', ''), params.get('delimiter', ''),
                               int(params.get('limit', 10000)),
                               params.get('reverse') in ('1', 'true', 'on'))
        return self._reply(start_response, '200 OK', {
            'Content-Type': 'application/json; charset=utf-8',
            'X-Container-Object-Count': str(len(local))}, json.dumps(listing).encode('ascii'))

    def _put(self, env, start_response, path, query):
        length = int(env.get('CONTENT_LENGTH') or 0)
        data = b''
        while True:
            chunk = env['wsgi.input'].read(65536)
            if not chunk:
                break
            data += chunk
        if self.put_status:
            return self._reply(start_response, self.put_status, {}, b'')
        if len(data) < length:
            return self._reply(start_response, '499 Client Disconnect', {}, b'')
        if env.get('HTTP_IF_NONE_MATCH') == '*' and path in self.objects:
            return self._reply(start_response, '412 Precondition Failed', {}, b'')
        etag = env.get('HTTP_ETAG')
        if query.get('multipart-manifest') != 'put' and etag and etag != md5(data):
            return self._reply(start_response, '422 Unprocessable Entity', {}, b'')
        headers = {k: v for k, v in env.items() if k.startswith('HTTP_')}
        headers['CONTENT_TYPE'] = env.get('CONTENT_TYPE')
        self.objects[path] = (headers, data)
        return self._reply(start_response, '201 Created', {}, b'')

    @staticmethod
    def _reply(start_response, status, headers, body, length=None):
        headers = dict(headers)
        headers['Content-Length'] = str(len(body) if length is None else length)
        start_response(status, list(headers.items()))
        return [body]

    def puts(self):
        return [(path, query, env) for method, path, query, env in self.calls
                if method == 'PUT']


class FakeProvider:
    """A remote holding ``objects``: ``{name: (headers, body)}`` with Swift-style headers."""

    content_location = LOCATION

    def __init__(self):
        self.objects = {}
        self.manifests = {}
        self.requests = []
        self.fail = None            # a RemoteError to raise from every call
        self.closed = 0

    def add(self, name, body=b'remote data', headers=None, when='Mon, 01 Jan 2024 00:00:00 GMT'):
        base = {'content-type': 'application/octet-stream', 'etag': md5(body),
                'last-modified': when, 'content-length': str(len(body)),
                'remote-x-amz-request-id': 'REQ123', 'connection': 'keep-alive'}
        base.update(headers or {})
        self.objects[name] = (base, body)

    def _check(self):
        if self.fail:
            raise self.fail

    def get_object(self, name, headers=None, head=False):
        headers = dict(headers or {})
        self.requests.append(('HEAD' if head else 'GET', name, headers))
        self._check()
        if name not in self.objects:
            body = b'' if head else b'NoSuchKey'
            return RemoteResponse(404, {'content-length': str(len(body)),
                                        'remote-x-amz-request-id': 'R404'}, [body])
        meta, body = self.objects[name]
        meta = dict(meta)
        status = 200
        since = headers.get('if-modified-since')
        if since and email.utils.parsedate_to_datetime(meta['last-modified']) <= \
                email.utils.parsedate_to_datetime(since):
            return RemoteResponse(304, {'etag': meta['etag']})
        if 'range' in headers:
            start, end = headers['range'].split('=')[1].split('-')
            start, end = int(start), min(int(end), len(body) - 1)
            meta['content-range'] = 'bytes %d-%d/%d' % (start, end, len(body))
            body = body[start:end + 1]
            meta['content-length'] = str(len(body))
            status = 206
        return RemoteResponse(status, meta, [] if head else self._chunks(body),
                              close=self._close)

    @staticmethod
    def _chunks(body):
        for i in range(0, len(body), 4):
            yield body[i:i + 4]

    def _close(self):
        self.closed += 1

    def list_objects(self, marker='', limit=1000, prefix='', delimiter='', end_marker=''):
        self.requests.append(('LIST', marker, end_marker, prefix, delimiter, limit))
        self._check()
        entries = {}
        for name, (meta, body) in self.objects.items():
            entries[name] = entry(name, body)
        out = list_entries(entries, marker, end_marker, prefix, delimiter, min(limit, 1000))
        for e in out:
            e['content_location'] = self.content_location
        return out

    def head_object(self, name):
        self.requests.append(('HEAD', name, {}))
        self._check()
        if name not in self.objects:
            return None
        meta, body = self.objects[name]
        written = email.utils.parsedate_to_datetime(meta['last-modified']).timestamp()
        return RemoteObject(name, meta['etag'], len(body), written, dict(meta))

    def delete_objects(self, names):
        self.requests.append(('DELETE', tuple(names)))
        self._check()
        for name in names:
            self.objects.pop(name, None)

    def update_metadata(self, name, headers, etag):
        self.requests.append(('COPY', name, dict(headers)))
        self._check()
        if name not in self.objects or self.objects[name][0]['etag'] != etag:
            return False
        meta, body = self.objects[name]
        kept = {k: v for k, v in meta.items() if not k.startswith('x-object-meta-')}
        kept.update(headers)
        self.objects[name] = (kept, body)
        return True

    def get_manifest(self, name):
        self.requests.append(('MANIFEST', name))
        self._check()
        return self.manifests.get(name)

    def close(self):
        pass


def remote_error(status=502):
    return RemoteError(status, "get_object 'bucket/key': cannot reach http://remote.example")


class TestFakes(unittest.TestCase):
    """The fakes' listing helper follows Swift's rules (the other tests rely on it)."""

    def test_delimiter_listing_skips_the_subdir_named_by_the_marker(self):
        entries = {n: entry(n) for n in ('a/1', 'a/2', 'b', 'c/1')}
        self.assertEqual(list_entries(entries, delimiter='/'),
                         [{'subdir': 'a/'}, entries['b'], {'subdir': 'c/'}])
        self.assertEqual(list_entries(entries, marker='a/', delimiter='/'),
                         [entries['b'], {'subdir': 'c/'}])

    def test_reverse_listing_swaps_the_markers(self):
        entries = {n: entry(n) for n in 'abcde'}
        self.assertEqual([e['name'] for e in list_entries(entries, marker='e', end_marker='a',
                                                          reverse=True)], ['d', 'c', 'b'])

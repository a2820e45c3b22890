"""Hostile requests through the cloud-shunt get what plain Swift gives them.

The same raw request goes to an archived container through proxy A (objects only on the remote,
a few local ones beside them: the shunt serves and splices) and to a plain container holding the
same objects through proxy B (no shunt). Listing parameters (Unicode, invalid UTF-8
percent-escapes, NUL, long values, odd limits), Range and conditional headers, and object names
(Unicode, invalid UTF-8, NUL, 1,024-byte names) are drawn from fixed pools with a fixed seed,
so a failure names a case that can be replayed.

Checked for every case: the shunt never answers 5xx; its status is Swift's (where plain Swift
itself fails with a 5xx, the shunt must answer 4xx); a 200 listing has Swift's names, a
200/206 single-part GET Swift's bytes; and the shunt proxy logs no traceback meanwhile.
"""
import http.client
import json
import os
import random
import re
import sys
import time
from collections import Counter
from urllib.parse import quote, urlsplit

from botocore.exceptions import ClientError

from test.integration.test_shunt import ShuntTestBase, md5

SEED = 20240611
RANDOM_LISTINGS = 130       # per S3 target, besides the named cases
RANDOM_OBJECTS = 170
BODY = bytes(range(256)) * 4

# -- the pools (raw: what goes on the wire, percent-escapes included) ----------------------------
TEXT = ['', 'a', 'd', 'dir', 'dir/', 'dir%2F', 'dir/a', 'z', '%C3%BC', '%E6%97%A5%E6%9C%AC',
        '%F0%9F%98%80', '%00', 'dir%00', '%00dir', 'dir/%00', 'a%00b', '%FF', 'dir%FF', '%C3%28',
        '%C0%80', '%ED%A0%80', '%F4%90%80%80', '%01', '%1F', '%7F', '%C2%85', '%EF%BF%BF', '%25',
        '+', '%20', '%2B', '%2C', '*', '%3F', 'x' * 1025, 'dir/' + 'x' * 2000,
        '%C3%BC' * 400, 'L' * 1024]
DELIMITERS = ['/', '%2F', 'i', 'ir', '/a', '%C3%BC', '%00', '/%00', '%FF', '%01', 'x' * 300, '']
LIMITS = ['0', '1', '2', '3', '10000', '10001', '-1', 'abc', '%C2%B2', '%E2%91%A0', '%EF%BC%91',
          '%D9%A3', '1.5', '+1', '%201', '99999999999999999999', '', '%00', '1%00', '%FF',
          '0x10', '1e3', '00002', '1_0']
REVERSE = ['on', 'true', '1', 'off', 'x', '%FF', '%00', '']
FORMATS = ['json', 'xml', 'plain', 'JSON', 'txt', '%FF', '%00', '']
ACCEPT = ['application/json', 'text/xml', 'application/xml;q=0.5, text/plain', '*/*',
          'garbage', 'image/png', 'application/json;q=abc', '']
POOLS = {'marker': TEXT, 'end_marker': TEXT, 'prefix': TEXT, 'delimiter': DELIMITERS,
         'limit': LIMITS, 'reverse': REVERSE, 'format': FORMATS, 'path': ['', 'dir', '%00']}

RANGES = ['bytes=0-9', 'bytes=10-19', 'bytes=0-1,abc', 'bytes=0-1,5-', 'bytes=0-1,,3-4',
          'items=0-1', 'bytes=abc', 'bytes=5-3', 'bytes=-0', 'bytes=-', 'bytes=0-', 'bytes=-5',
          'bytes=-5000', 'bytes=5000-', 'bytes=5000-6000', 'bytes=0-0,2-3', 'bytes= 0-1',
          'BYTES=0-1', 'bytes=+1-2', 'bytes=1_0-20', 'bytes=0-1,', 'bytes=0-9999999999999999999',
          ',bytes=0-1', 'bytes=0-1;x', '', 'bytes=', 'bytes=--1', 'bytes=1--2',
          'bytes=' + ','.join('%d-%d' % (i, i) for i in range(60)),
          'bytes=0-5,1-6,2-7,3-8', 'bytes=' + ','.join('%d-%d' % (i, i) for i in range(9, 0, -1)),
          'bytes=1-2,0-0', b'bytes=\xd9\xa3-5', b'bytes=0-1\xff', 'bytes=0-1,5000-6000',
          'bytes=-5,-3', 'bytes=0-1,0-', 'bytes=-2000,0-1', 'bytes=0-1,-0']
ETAG = md5(BODY)
MATCHES = ['*', '"%s"' % ETAG, ETAG, 'nope', '"nope"', 'W/"%s"' % ETAG, '', ',', '""', '"',
           '%s, other' % ETAG, 'other, *', b'\xc3\xbcn\xc3\xaf', ETAG.upper()]
DATES = ['garbage', '', 'Mon, 01 Jan 2001 00:00:00 GMT', 'Fri, 01 Jan 2100 00:00:00 GMT',
         'Mon, 32 Jan 2024 00:00:00 GMT', '2024-01-01T00:00:00Z', '0', '-1',
         'Thu, 01 Jan 1970 00:00:00 GMT', 'Sunday, 06-Nov-94 08:49:37 GMT',
         'Sun Nov  6 08:49:37 1994', 'Mon, 01 Jan 2001 00:00:00 +0500',
         'Fri, 01 Jan 2100 00:00:00 -2359', b'\xff\xfe', 'Fri, 99 Foo 2100 99:99:99 GMT']
CONDITIONALS = {'If-Match': MATCHES, 'If-None-Match': MATCHES, 'If-Modified-Since': DATES,
                'If-Unmodified-Since': DATES}

# The named bugs, always checked first.
NAMED_LISTINGS = ['limit=%C2%B2', 'prefix=%00', 'delimiter=%00', 'marker=%00', 'end_marker=%00',
                  'marker=dir%00&reverse=on', 'prefix=d%00&delimiter=/',
                  'limit=%C2%B2&format=json']
NAMED_OBJECTS = [('GET', 'plain', {'Range': 'items=0-1'}),
                 ('GET', 'plain', {'Range': 'bytes=0-1,abc'}),
                 ('GET', 'plain', {'Range': 'bytes=0-1,5-3'}),
                 ('HEAD', 'plain', {'Range': 'bytes=0-1,abc'})]


def q(name):
    return quote(name.encode('utf-8'), safe='/')


class RawClient:
    """Raw requests (the path exactly as given) on one kept-alive connection."""

    def __init__(self, storage_url, token):
        parsed = urlsplit(storage_url)
        self.host, self.port, self.base = parsed.hostname, parsed.port, parsed.path
        self.token = token
        self.conn = None

    def request(self, method, path, headers=()):
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                self.conn.putrequest(method, self.base + path, skip_accept_encoding=True)
                self.conn.putheader('X-Auth-Token', self.token)
                for key, value in headers:
                    self.conn.putheader(key, value)
                self.conn.endheaders()
                resp = self.conn.getresponse()
                body = resp.read()
            except (http.client.HTTPException, OSError):
                self.close()
                if attempt == 2:
                    raise
                continue
            if resp.will_close:
                self.close()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def listing_names(headers, body):
    """The names (and subdirs) of a 200 listing, in order, whatever its format."""
    ctype = headers.get('content-type', '')
    if 'json' in ctype:
        return [e.get('name', e.get('subdir')) for e in json.loads(body)]
    if 'xml' in ctype:
        # by pattern: a name with a control character makes Swift's XML unparseable
        return re.findall(rb'<name>([^<]*)</name>', body)
    return body.decode('utf-8').splitlines()


# Characters XML 1.0 cannot carry (C0 controls, U+FFFE, U+FFFF), percent-encoded; NUL aside.
NOT_IN_XML = re.compile('%(0[1-9A-F]|1[0-9A-F])|%EF%BF%B[EF]')


class ShuntFuzz:
    """Mixed into one TestCase per S3 target."""
    # moto answers 500 to a Prefix or Delimiter holding a character XML cannot carry (the
    # shunt then answers 502, rightly: the remote failed); s3api takes them.
    xml_safe_prefix = False

    def setUp(self):
        super().setUp()
        self.archived = self.container()
        self.plain = self.container()
        self.rng = random.Random('%s-%s' % (SEED, self.target_name))
        self.names = self._store_objects()
        self.shunt_client = RawClient(*self.conn.get_auth())
        self.swift_client = RawClient(*self.local.get_auth())
        self.addCleanup(self.shunt_client.close)
        self.addCleanup(self.swift_client.close)

    def _store_objects(self):
        """The same objects in both containers: in the archived one mostly remote only, two
        local only and one on both sides. Returns the names stored."""
        remote = {'plain': BODY, 'empty': b'', 'ünïcødé/日本.txt': BODY[:77], 'dir/a': b'a',
                  'dir/b/c': b'c', 'dir2/x': b'x', 'x\x01y': b'ctl', '✓': b'check'}
        local = {'dir/local': b'local', 'zz-local': b'zz', 'both': b'both'}
        remote['both'] = b'both'
        for name, body in remote.items():
            self.put_remote(self.archived, name, body, {'Content-Type': 'text/x-fuzz'})
        long_name = 'L' * 1024          # the longest name Swift takes
        try:
            self.put_remote(self.archived, long_name, b'long', {'Content-Type': 'text/x-fuzz'})
            remote[long_name] = b'long'
        except ClientError as err:      # its key (with the layout's prefix) is too long here
            print('\n%s: no 1024-byte name on the remote (%s)' % (self.target_name, err),
                  file=sys.stderr)
        for name, body in local.items():
            self.local.put_object(self.archived, name, body, content_type='text/x-fuzz')
        for name, body in dict(remote, **local).items():
            self.local.put_object(self.plain, name, body, content_type='text/x-fuzz')
        return sorted(set(remote) | set(local))

    # -- cases ------------------------------------------------------------------------
    def listing_cases(self):
        cases = [(query, ()) for query in NAMED_LISTINGS]
        for _ in range(RANDOM_LISTINGS):
            keys = self.rng.sample(sorted(POOLS), self.rng.choice((1, 2, 3, 4)))
            if 'path' in keys and self.rng.random() < 0.7:
                keys.remove('path')
            query = '&'.join('%s=%s' % (k, self.rng.choice(self.pool(k))) for k in keys)
            headers = ()
            if self.rng.random() < 0.2:
                headers = (('Accept', self.rng.choice(ACCEPT)),)
            cases.append((query, headers))
        return cases

    def pool(self, key):
        if not self.xml_safe_prefix or key not in ('prefix', 'delimiter'):
            return POOLS[key]
        return [v for v in POOLS[key] if not NOT_IN_XML.search(v)]

    def object_cases(self):
        hostile = ['missing', '%00', 'a%00b', 'plain%00', '%FF', 'pl%C3%28ain', '%ED%A0%80',
                   'L' * 1025, '%E2%98%83', 'dir/', 'dir', '%C3%BC', 'x' * 1024,
                   '%C3%BC' * 512, '%C3%BC' * 512 + 'x']
        existing = [q(n) for n in self.names]
        cases = list(NAMED_OBJECTS)
        for _ in range(RANDOM_OBJECTS):
            name = self.rng.choice(hostile if self.rng.random() < 0.25 else existing)
            headers = {}
            if self.rng.random() < 0.7:
                headers['Range'] = self.rng.choice(RANGES)
            for key in self.rng.sample(sorted(CONDITIONALS), self.rng.choice((0, 0, 1, 2))):
                headers[key] = self.rng.choice(CONDITIONALS[key])
            cases.append((self.rng.choice(('GET', 'GET', 'HEAD')), name, headers))
        return cases

    # -- the test ------------------------------------------------------------------------
    def test_hostile_requests_get_what_plain_swift_gives(self):
        log = os.path.join(self.env['log_dir'], 'proxy-shunt.log')
        log_start = os.path.getsize(log)
        started = time.time()
        problems, seen, swift_failures = [], Counter(), []

        def check(label, shunt, swift, compare):
            seen[shunt[0]] += 1
            if shunt[0] >= 500 or (swift[0] < 500 and shunt[0] != swift[0]) or (
                    swift[0] >= 500 and shunt[0] // 100 != 4):
                problems.append('%s: shunt %d, swift %d (%r)' % (
                    label, shunt[0], swift[0], shunt[2][:120]))
            elif swift[0] >= 500:
                swift_failures.append('%s: swift %d, shunt %d' % (label, swift[0], shunt[0]))
            elif compare and shunt[0] in (200, 206):
                try:
                    same = compare(shunt) == compare(swift)
                except Exception as err:       # unparseable: report, don't stop the run
                    same = 'unreadable: %s' % err
                if same is not True:
                    problems.append('%s: %d, different content (%s)' % (label, shunt[0], same))

        for query, headers in self.listing_cases():
            check('GET ?%s %r' % (query[:80], headers),
                  self.shunt_client.request('GET', '/%s?%s' % (self.archived, query), headers),
                  self.swift_client.request('GET', '/%s?%s' % (self.plain, query), headers),
                  None if 'path=' in query else lambda r: listing_names(r[1], r[2]))
        for method, name, headers in self.object_cases():
            items = tuple(headers.items())
            multi = 'multipart/byteranges'
            check('%s %s %r' % (method, name[:60], headers),
                  self.shunt_client.request(method, '/%s/%s' % (self.archived, name), items),
                  self.swift_client.request(method, '/%s/%s' % (self.plain, name), items),
                  lambda r: (r[2], r[1].get('content-length'), r[1].get('content-range'))
                  if multi not in r[1].get('content-type', '') else r[1].get('content-length'))
        with open(log, 'rb') as f:
            f.seek(log_start)
            tracebacks = [line[:300] for line in f.read().splitlines()
                          if b'Traceback' in line]
        cases = sum(seen.values())
        print('\nshunt fuzz (%s): %d cases in %.1f s, shunt statuses %s; plain Swift failed '
              '%d of them (the shunt gave 4xx); %d problems' % (
                  self.target_name, cases, time.time() - started, dict(sorted(seen.items())),
                  len(swift_failures), len(problems)), file=sys.stderr)
        for line in swift_failures[:5]:
            print('  plain Swift 5xx: ' + line, file=sys.stderr)
        self.assertEqual(problems, [], '\n'.join(problems))
        self.assertEqual(tracebacks, [])


class TestShuntFuzzMoto(ShuntFuzz, ShuntTestBase):
    target_name = 'moto'
    xml_safe_prefix = True


class TestShuntFuzzS3api(ShuntFuzz, ShuntTestBase):
    target_name = 's3api'

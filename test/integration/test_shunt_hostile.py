"""The hostile requests of the reliability issue, through the shunt (proxy A) on an archived
container, against plain Swift (proxy B) on a container holding the same objects locally."""
import json

from test.integration.test_shunt import ShuntTestBase, request_status

BODY = b'0123456789'
NAMES = ('a', 'dir/1', 'dir/2', 'dir2/x', 'ünï')


class HostileRequests:
    """Mixed into one TestCase per S3 target."""

    def setUp(self):
        super().setUp()
        self.archived = self.container()
        self.plain = self.container()
        for name in NAMES:
            self.put_remote(self.archived, name, BODY)
            self.local.put_object(self.plain, name, BODY)
        self.local_url, self.local_token = self.local.get_auth()

    def both(self, method, path, headers=None):
        """(shunt answer, plain Swift answer) for ``path`` below each container."""
        return (self.raw(method, '/%s%s' % (self.archived, path), headers),
                request_status(self.local_url, self.local_token, method,
                               '/%s%s' % (self.plain, path), headers))

    def test_limit_of_digits_int_cannot_read_is_400(self):
        shunt, swift = self.both('GET', '?limit=%C2%B2')
        self.assertEqual(shunt[0], 400)
        self.assertEqual(swift[0], 500)         # Swift 2.38's own answer (a traceback)

    def test_nul_in_listing_parameters_lists_what_swift_lists(self):
        for query in ('prefix=%00', 'prefix=dir%00', 'delimiter=%00', 'delimiter=/%00',
                      'marker=%00', 'marker=dir/%00', 'marker=dir/1%00&delimiter=/',
                      'end_marker=dir/1%00', 'reverse=on&marker=dir2%00&end_marker=a%00'):
            shunt, swift = self.both('GET', '?format=json&' + query)
            self.assertEqual(shunt[0], swift[0], query)
            self.assertEqual([e.get('name', e.get('subdir')) for e in json.loads(shunt[2])],
                             [e.get('name', e.get('subdir')) for e in json.loads(swift[2])],
                             query)

    def test_range_swift_ignores_serves_the_whole_object(self):
        for value in ('items=0-1', 'bytes=0-1,abc', 'bytes=0-1,5-3', ',bytes=0-1'):
            shunt, swift = self.both('GET', '/a', {'Range': value})
            self.assertEqual((shunt[0], shunt[2]), (200, BODY), value)
            self.assertEqual((swift[0], swift[2]), (200, BODY), value)

    def test_head_with_range_is_200_as_in_swift(self):
        shunt, swift = self.both('HEAD', '/a', {'Range': 'bytes=0-1'})
        self.assertEqual((shunt[0], shunt[1]['content-length']), (200, str(len(BODY))))
        self.assertEqual(swift[0], 200)

    def test_conditional_before_unsatisfiable_range_as_in_swift(self):
        shunt, swift = self.both('GET', '/a', {'Range': 'bytes=100-', 'If-Match': 'nope'})
        self.assertEqual((shunt[0], swift[0]), (412, 412))
        shunt, swift = self.both('GET', '/a', {'Range': 'bytes=100-'})
        self.assertEqual((shunt[0], swift[0]), (416, 416))
        self.assertEqual(shunt[1]['content-range'], swift[1]['content-range'])

    def test_if_match_any_serves_the_archived_object(self):
        shunt, swift = self.both('GET', '/a', {'If-Match': '*'})
        self.assertEqual((shunt[0], shunt[2]), (200, BODY))
        self.assertEqual(swift[0], 200)
        shunt, swift = self.both('GET', '/missing', {'If-Match': '*'})
        self.assertEqual((shunt[0], swift[0]), (412, 412))


class TestHostileMoto(HostileRequests, ShuntTestBase):
    target_name = 'moto'


class TestHostileS3api(HostileRequests, ShuntTestBase):
    target_name = 's3api'

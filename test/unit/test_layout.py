"""The S3 key layout is a wire format: these values must match the original byte for byte."""
import hashlib
import unittest

from s3_sync import layout
from test.unit.fakes import make_mapping

# Literal values checked with coreutils: printf '%s' 'AUTH_test/cont' | md5sum -> ...8b51ca9d
LITERALS = [('AUTH_test', 'cont', '51ca9d'),
            ('AUTH_t\u00ebst', 'c\u00f6nt', 'be09bc'),
            ('AUTH_test', 'c156', '322f')]   # md5 ends in 00322f: no zero padding


def expected_hash(account, container):
    """An independent computation: the last 6 hex digits of the md5, leading zeros dropped."""
    digest = hashlib.md5(('%s/%s' % (account, container)).encode('utf-8')).hexdigest()
    return digest[-6:].lstrip('0') or '0'


def sha(name):
    return hashlib.sha256(name.encode('utf-8')).hexdigest()


def mapping(**kw):
    base = {'account': 'AUTH_test', 'container': 'cont', 'aws_bucket': 'bucket'}
    base.update(kw)
    return make_mapping(**base)


class TestHashPrefix(unittest.TestCase):
    def test_known_literal_prefixes(self):
        for account, container, prefix in LITERALS:
            self.assertEqual(layout.hash_prefix(account, container), prefix)

    def test_prefix_is_md5_mod_16_pow_6_without_padding(self):
        for i in range(300):
            container = 'c%d-\u65e5\u672c' % i
            self.assertEqual(layout.hash_prefix('AUTH_x', container),
                             expected_hash('AUTH_x', container))

    def test_short_prefix_is_not_zero_padded(self):
        self.assertEqual(len(layout.hash_prefix('AUTH_test', 'c156')), 4)


class TestKeys(unittest.TestCase):
    def test_default_object_key_is_hash_account_container_name(self):
        self.assertEqual(layout.object_key(mapping(), 'AUTH_test', 'cont', 'a/b \u00e9'),
                         '51ca9d/AUTH_test/cont/a/b \u00e9')

    def test_key_prefix_uses_the_given_container_not_the_mappings(self):
        per_account = mapping(container='/*')
        self.assertEqual(layout.key_prefix(per_account, 'AUTH_test', 'c156'),
                         '322f/AUTH_test/c156/')

    def test_custom_prefix_has_slashes_stripped(self):
        m = mapping(custom_prefix='/some/pre/')
        self.assertEqual(layout.key_prefix(m, 'AUTH_test', 'cont'), 'some/pre/')
        self.assertEqual(layout.object_key(m, 'AUTH_test', 'cont', 'obj'), 'some/pre/obj')

    def test_empty_custom_prefix_stores_names_natively(self):
        m = mapping(custom_prefix='')
        self.assertEqual(layout.key_prefix(m, 'AUTH_test', 'cont'), '')
        self.assertEqual(layout.object_key(m, 'AUTH_test', 'cont', 'obj'), 'obj')

    def test_non_ascii_custom_prefix(self):
        m = mapping(custom_prefix='pr\u00e9')
        self.assertEqual(layout.object_key(m, 'A', 'c', 'o'), 'pr\u00e9/o')

    def test_default_manifest_key(self):
        name = '\u00f6/x y'
        self.assertEqual(
            layout.manifest_key(mapping(), 'AUTH_test', 'cont', name),
            '51ca9d/.manifests/AUTH_test/cont/'
            '425bb9cac03f38e2a2c53de40549c33acd99232a6144478cc74002f5b9868419'
            '.swift_slo_manifest')

    def test_custom_prefix_manifest_key(self):
        m = mapping(custom_prefix='p/')
        self.assertEqual(layout.manifest_key(m, 'AUTH_test', 'cont', 'obj'),
                         'p/.manifests/%s.swift_slo_manifest' % sha('obj'))

    def test_empty_custom_prefix_manifest_key(self):
        m = mapping(custom_prefix='')
        self.assertEqual(layout.manifest_key(m, 'AUTH_test', 'cont', 'obj'),
                         '.manifests/%s.swift_slo_manifest' % sha('obj'))

    def test_is_manifest_name_only_matches_our_manifest_names(self):
        self.assertTrue(layout.is_manifest_name('.manifests/' + layout.manifest_name('x')))
        self.assertFalse(layout.is_manifest_name('.manifests/notahash.swift_slo_manifest'))
        self.assertFalse(layout.is_manifest_name('dir/.manifests/' + layout.manifest_name('x')))


class TestEndpoints(unittest.TestCase):
    def test_no_endpoint_or_amazonaws_is_aws(self):
        self.assertTrue(layout.is_aws(None))
        self.assertTrue(layout.is_aws(''))
        self.assertTrue(layout.is_aws('https://s3.eu-west-1.amazonaws.com'))
        self.assertFalse(layout.is_aws('http://127.0.0.1:5055'))
        self.assertFalse(layout.is_aws('https://amazonaws.com.evil.example'))

    def test_google_is_storage_googleapis_com(self):
        self.assertTrue(layout.is_google('https://storage.googleapis.com'))
        self.assertTrue(layout.is_google('https://storage.googleapis.com/'))
        self.assertFalse(layout.is_google(None))
        self.assertFalse(layout.is_google('http://127.0.0.1:5055'))


class TestContentLocation(unittest.TestCase):
    def test_endpoint_bucket_and_hashed_prefix(self):
        m = mapping(aws_endpoint='http://127.0.0.1:5055')
        self.assertEqual(layout.content_location(m),
                         'http://127.0.0.1:5055;bucket;51ca9d/AUTH_test/cont/')

    def test_aws_and_google_names(self):
        self.assertEqual(layout.content_location(mapping(custom_prefix='p')),
                         'AWS S3;bucket;p/')
        m = mapping(aws_endpoint='https://storage.googleapis.com', custom_prefix='p')
        self.assertEqual(layout.content_location(m), 'Google Cloud Storage;bucket;p/')

    def test_no_prefix_part_when_keys_are_native(self):
        m = mapping(aws_endpoint='http://h:1', custom_prefix='')
        self.assertEqual(layout.content_location(m), 'http://h:1;bucket')

    def test_real_container_of_a_per_account_mapping(self):
        m = mapping(container='/*', aws_endpoint='http://h:1')
        self.assertEqual(layout.content_location(m, container='c156'),
                         'http://h:1;bucket;322f/AUTH_test/c156/')


if __name__ == '__main__':
    unittest.main()

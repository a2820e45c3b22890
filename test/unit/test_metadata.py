"""The metadata codec: the RFC 2047 wire format of the original, and what propagates."""
import unittest

from s3_sync import metadata


class TestEncodeValue(unittest.TestCase):
    def test_reference_examples_literally(self):
        self.assertEqual(metadata.encode_value('\x04w'), '=?UTF-8?Q?=04w?=')
        self.assertEqual(metadata.encode_value('h\x04'), '=?UTF-8?Q?h=04?=')
        self.assertEqual(metadata.encode_value('\x04' * 5), '=?UTF-8?B?BAQEBAQ=?=')
        self.assertEqual(metadata.encode_value('\u00e9'), '=?UTF-8?B?w6k=?=')

    def test_printable_ascii_is_sent_as_is(self):
        for value in ('plain', 'a b c', '~!@#$%^&*()_+{}|:"<>?', ''):
            self.assertEqual(metadata.encode_value(value), value)

    def test_encoded_value_is_ascii(self):
        for value in ('b\u00e1r', '\u65e5\u672c\u8a9e', 'tab\there', 'emoji \U0001f600'):
            metadata.encode_value(value).encode('ascii')

    def test_value_that_looks_encoded_is_encoded_to_read_back_literally(self):
        literal = '=?UTF-8?B?w6k=?='
        encoded = metadata.encode_value(literal)
        self.assertNotEqual(encoded, literal)
        self.assertEqual(metadata.decode_value(encoded), literal)


class TestDecodeValue(unittest.TestCase):
    def test_round_trip(self):
        for value in ('\x04w', 'h\x04', '\x04' * 5, '\u00e9', 'a b_c=d \u00fc',
                      'x' * 200 + '\u00e9', '\u65e5\u672c\u8a9e', 'q_? =', 'new\nline'):
            self.assertEqual(metadata.decode_value(metadata.encode_value(value)), value)

    def test_lower_case_and_folded_words_from_other_writers(self):
        self.assertEqual(metadata.decode_value('=?utf-8?q?h=04?= =?utf-8?b?w6k=?='), 'h\x04\u00e9')
        self.assertEqual(metadata.decode_value('x =?UTF-8?Q?a_b?= y'), 'x a b y')

    def test_plain_value_is_unchanged(self):
        self.assertEqual(metadata.decode_value('a=?b'), 'a=?b')

    def test_malformed_words_are_returned_unchanged(self):
        for value in ('=?UTF-8?B?%%%?=', '=?UTF-8?Q?=ZZ?=', '=?no-such-charset?Q?x?=',
                      '=?UTF-8?B?/w==?='):   # \xff is not UTF-8
            self.assertEqual(metadata.decode_value(value), value)


class TestSwiftToS3(unittest.TestCase):
    def test_user_metadata_keys_lower_cased_values_encoded(self):
        meta, ctype = metadata.swift_to_s3({
            'X-Object-Meta-Color': 'Blue', 'x-object-meta-name': 'caf\u00e9',
            'content-type': 'text/plain'})
        self.assertEqual(meta, {'color': 'Blue', 'name': '=?UTF-8?B?Y2Fmw6k=?='})
        self.assertEqual(ctype, 'text/plain')

    def test_large_object_headers_are_url_quoted_metadata(self):
        meta, _ = metadata.swift_to_s3({'X-Object-Manifest': 'segs/a b\u00e9',
                                        'x-static-large-object': 'True'})
        self.assertEqual(meta, {'x-object-manifest': 'segs/a%20b%C3%A9',
                                'x-static-large-object': 'True'})

    def test_content_type_defaults_to_octet_stream(self):
        self.assertEqual(metadata.swift_to_s3({})[1], 'application/octet-stream')

    def test_content_encoding_and_disposition_become_s3_object_fields(self):
        fields = metadata.s3_fields({'Content-Encoding': 'gzip',
                                     'content-disposition': 'attachment; filename="a b"',
                                     'content-type': 'text/csv', 'x-object-meta-k': 'v'})
        self.assertEqual(fields, {'Metadata': {'k': 'v'}, 'ContentType': 'text/csv',
                                  'ContentEncoding': 'gzip',
                                  'ContentDisposition': 'attachment; filename="a b"'})

    def test_changed_content_disposition_is_a_metadata_difference(self):
        self.assertFalse(metadata.metadata_matches({'content-disposition': 'inline'},
                                                   {'content-disposition': 'attachment'}))

    def test_other_headers_are_not_sent_as_user_metadata(self):
        meta, _ = metadata.swift_to_s3({
            'content-encoding': 'gzip', 'content-disposition': 'inline',
            'cache-control': 'no-cache', 'x-delete-at': '1', 'etag': 'abc',
            'x-timestamp': '1.0', 'x-object-meta-': 'empty key'})
        self.assertEqual(meta, {})


class TestS3ToSwift(unittest.TestCase):
    def test_response_headers_become_swift_headers(self):
        headers = metadata.s3_to_swift({
            'x-amz-meta-color': 'Blue', 'x-amz-meta-name': '=?UTF-8?B?Y2Fmw6k=?=',
            'x-amz-meta-x-object-manifest': 'segs/a%20b', 'x-amz-meta-x-static-large-object':
            'True', 'ETag': '"abc-2"', 'Content-Length': '5', 'content-type': 'text/plain',
            'last-modified': 'Sat, 21 Nov 2026 09:05:30 GMT', 'x-amz-id-2': 'id2',
            'x-amz-request-id': 'rid', 'content-range': 'bytes 0-4/5'})
        self.assertEqual(headers, {
            'x-object-meta-color': 'Blue', 'x-object-meta-name': 'caf\u00e9',
            'x-object-manifest': 'segs/a b', 'x-static-large-object': 'True',
            'etag': 'abc-2', 'content-length': '5', 'content-type': 'text/plain',
            'last-modified': 'Sat, 21 Nov 2026 09:05:30 GMT', 'remote-x-amz-id-2': 'id2',
            'remote-x-amz-request-id': 'rid', 'content-range': 'bytes 0-4/5'})

    def test_boto3_response_is_accepted(self):
        resp = {'ResponseMetadata': {'HTTPHeaders': {'etag': '"e"', 'x-amz-meta-k': 'v'}},
                'ETag': '"e"'}
        self.assertEqual(metadata.s3_to_swift(resp), {'etag': 'e', 'x-object-meta-k': 'v'})

    def test_raw_utf8_header_bytes_read_as_latin1_are_repaired(self):
        raw = 'b\u00e1r'.encode('utf-8').decode('latin-1')
        self.assertEqual(metadata.s3_to_swift({'x-amz-meta-k': raw}),
                         {'x-object-meta-k': 'b\u00e1r'})


class TestSyncHeadersAndMatching(unittest.TestCase):
    def test_sync_headers_is_the_propagated_subset(self):
        self.assertEqual(metadata.sync_headers({
            'X-Object-Meta-Color': 'Blue', 'Content-Type': 'text/plain', 'etag': 'x',
            'X-Static-Large-Object': 'True', 'x-object-manifest': 'c/p',
            'x-timestamp': '1', 'content-length': '3'}),
            {'x-object-meta-color': 'Blue', 'content-type': 'text/plain',
             'x-static-large-object': 'true', 'x-object-manifest': 'c/p'})

    def test_false_slo_flag_counts_as_absent(self):
        self.assertEqual(metadata.sync_headers({'x-static-large-object': 'false'}), {})

    def test_round_trip_through_s3_matches_including_non_ascii_and_spaces(self):
        local = {'X-Object-Meta-Name': 'caf\u00e9 au lait', 'x-object-meta-n2': 'a b',
                 'content-type': 'text/plain', 'etag': 'abc', 'x-timestamp': '1'}
        meta, ctype = metadata.swift_to_s3(local)
        wire = {'x-amz-meta-' + k: v for k, v in meta.items()}
        wire.update({'content-type': ctype, 'etag': '"abc"', 'content-length': '3'})
        self.assertTrue(metadata.metadata_matches(local, metadata.s3_to_swift(wire)))

    def test_keys_compare_case_insensitively(self):
        self.assertTrue(metadata.metadata_matches(
            {'X-Object-Meta-A': '1', 'Content-Type': 't'},
            {'x-object-meta-a': '1', 'content-type': 't'}))

    def test_differences_do_not_match(self):
        base = {'x-object-meta-a': '1', 'content-type': 't'}
        for other in ({'x-object-meta-a': '2', 'content-type': 't'},
                      {'x-object-meta-a': '1', 'content-type': 'u'},
                      {'content-type': 't'},
                      {'x-object-meta-a': '1', 'x-object-meta-b': '', 'content-type': 't'},
                      dict(base, **{'x-static-large-object': 'True'})):
            self.assertFalse(metadata.metadata_matches(base, other), other)

    def test_ignored_keys_are_left_out(self):
        self.assertTrue(metadata.metadata_matches(
            {'content-type': 't'},
            {'content-type': 't', 'x-object-meta-swift-slo-etag': 'e'},
            ignore=('x-object-meta-swift-slo-etag',)))


if __name__ == '__main__':
    unittest.main()


class TestMetadataKeys(unittest.TestCase):
    def test_ascii_token_keys_are_sent_lower_cased_as_is(self):
        self.assertEqual(metadata.encode_key('Color-Code_1'), 'color-code_1')

    def test_non_ascii_and_space_keys_round_trip_through_percent_encoding(self):
        for key in ('ünï', 'a b', '日本', 'per%cent'):
            encoded = metadata.encode_key(key)
            self.assertTrue(encoded.isascii(), encoded)
            self.assertEqual(metadata.decode_key(encoded), key.lower())

    def test_unicode_metadata_key_survives_swift_to_s3_and_back(self):
        meta, _ = metadata.swift_to_s3({'X-Object-Meta-Ünï': 'ok'})
        back = metadata.s3_to_swift({'x-amz-meta-' + k: v for k, v in meta.items()})
        self.assertEqual(back['x-object-meta-ünï'], 'ok')

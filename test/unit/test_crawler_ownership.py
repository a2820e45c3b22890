import hashlib
import unittest

from s3_sync.crawler.ownership import owner_index, owns


class TestOwnership(unittest.TestCase):
    def test_owner_index_is_last_six_hex_digits_of_sha1(self):
        digest = hashlib.sha1(b'photo.jpg').hexdigest()
        self.assertEqual(owner_index('photo.jpg'), int(digest[-6:], 16))

    def test_unicode_names_are_hashed_as_utf8(self):
        digest = hashlib.sha1('caf\u00e9/\u6587\u4ef6'.encode('utf-8')).hexdigest()
        self.assertEqual(owner_index('caf\u00e9/\u6587\u4ef6'), int(digest[-6:], 16))

    def test_every_name_has_exactly_one_owner_among_replicas(self):
        for i in range(300):
            name = 'obj-%d' % i
            self.assertEqual(sum(owns(name, idx, 3) for idx in range(3)), 1, name)

    def test_split_spreads_names_over_all_replicas(self):
        owners = {next(idx for idx in range(3) if owns('o%d' % i, idx, 3)) for i in range(100)}
        self.assertEqual(owners, {0, 1, 2})

    def test_single_replica_owns_everything(self):
        self.assertTrue(all(owns('o%d' % i, 0, 1) for i in range(50)))

import unittest

from s3_sync.selection import matches

HEADERS = {'X-Object-Meta-Color': 'Red', 'content-type': 'image/png',
           'x-object-meta-msd': 'bár'}


class TestSelectionCriteria(unittest.TestCase):
    def test_empty_criteria_select_everything(self):
        self.assertTrue(matches(HEADERS, {}))

    def test_header_match_ignores_case_of_name_and_value(self):
        self.assertTrue(matches(HEADERS, {'x-object-meta-color': 'RED'}))

    def test_missing_header_does_not_match(self):
        self.assertFalse(matches(HEADERS, {'x-object-meta-size': 'big'}))

    def test_and_or_not_combine(self):
        crit = {'AND': [{'OR': [{'x-object-meta-msd': 'boo'}, {'x-object-meta-msd': 'BÁR'}]},
                        {'NOT': {'content-type': 'text/plain'}}]}
        self.assertTrue(matches(HEADERS, crit))
        self.assertFalse(matches(HEADERS, {'NOT': crit}))


if __name__ == '__main__':
    unittest.main()

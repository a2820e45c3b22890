"""The shunt's dispatch: the migration shunt (and the migrator's modules) are loaded only when
the config has a ``migrations[]`` entry, and then requests for migrated containers reach it."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Runs in a fresh interpreter (this process may have imported the migrator already): builds the
# filter over a FakeSwift holding /v1/a/c/o, sends the requests named on the command line and
# prints what was answered and which migrator modules got imported.
SCRIPT = '''
import json, sys
from swift.common.swob import Request
from s3_sync.shunt import filter_factory
from test.unit.test_shunt_fakes import FakeSwift
app = FakeSwift()
app.add('/v1/a/c/o', b'here')
shunt = filter_factory({}, conf_file=sys.argv[1])(app)
out = []
for method, path in json.loads(sys.argv[2]):
    resp = Request.blank(path, environ={'REQUEST_METHOD': method}).get_response(shunt)
    out.append(resp.status_int)
print(json.dumps({'statuses': out, 'loaded': sorted(
    m for m in sys.modules if m.startswith(('s3_sync.migrator', 's3_sync.shunt.migration')))}))
'''

SOURCE = {'aws_endpoint': 'http://127.0.0.1:1', 'aws_identity': 'id', 'aws_secret': 'secret',
          'protocol': 's3'}


class TestMigrationDispatch(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)

    def run_shunt(self, config, requests):
        path = os.path.join(self.dir, 'sync.json')
        with open(path, 'w') as f:
            json.dump(config, f)
        proc = subprocess.run([sys.executable, '-c', SCRIPT, path, json.dumps(requests)],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr[-2000:])
        return json.loads(proc.stdout.strip().splitlines()[-1])

    def test_without_migrations_the_migrator_is_never_imported(self):
        mapping = dict(SOURCE, account='a', container='c', aws_bucket='b', retain_local=False)
        got = self.run_shunt({'containers': [mapping]},
                             [['GET', '/v1/a/c/o'], ['HEAD', '/v1/a/c/o'], ['PUT', '/v1/a/c/x']])
        self.assertEqual(got['statuses'], [200, 200, 201])
        self.assertEqual(got['loaded'], [])

    def test_with_a_migration_its_requests_reach_the_migration_shunt(self):
        migration = dict(SOURCE, account='a', container='c', aws_bucket='b')
        got = self.run_shunt({'migrations': [migration]},
                             [['GET', '/v1/a/other/missing'], ['GET', '/v1/a/c/o'],
                              ['GET', '/v1/a/c/missing']])
        # another container: Swift's 404; a local object: Swift's answer; a missing one is
        # asked of the (unreachable) source: 502
        self.assertEqual(got['statuses'], [404, 200, 502])
        self.assertIn('s3_sync.shunt.migration', got['loaded'])


if __name__ == '__main__':
    unittest.main()

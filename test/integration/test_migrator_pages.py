"""The three real node migrators share the source listing: one node lists each page, the
others read its page from the cluster, and every object is still copied exactly once.

Source requests are counted in the source server's own access log (moto's, the second
cluster's proxy's), read with the bench's parser: nothing sits between the migrators and the
source.
"""
import threading
import time

from bench import accesslog
from devenv.daemons import NodeMigrators
from test.integration.env import S3TargetTest
from test.integration.test_migrator import MigratorTestMixin, SwiftSourceTest

COUNT, CHUNK = 35, 10       # four pages, the last one short
# one listing per page, plus the look past the short last one (``_listing_ended``)
LISTER_LISTINGS = COUNT // CHUNK + 2
# how much later the lister starts than the other nodes (well within ``pages.WAIT``)
LISTER_LATE = 1.0


class SharedListingTests(MigratorTestMixin):
    def lister_index(self, account, container):
        """The position in the environment's nodes of the node holding replica 0."""
        from s3_sync.migrator.placement import Placement
        from s3_sync.swift_env import setup_swift
        setup_swift(self.env['swift_dir'])     # the ring and hash_path read swift.conf
        for position, node in enumerate(self.env['nodes']):
            share = Placement(node['devices'], node['swift_dir'], node['swift_bind_ip'],
                              node['bind_port']).share(account, container)
            if share is not None and share.first:
                return position
        self.fail('no node holds replica 0 of %s/%s' % (account, container))

    def run_lister_last(self, migration):
        """The readers' migrators start first, the lister's ``LISTER_LATE`` later (nodes
        started a little apart: the readers wait for its pages); all ``--once``."""
        migrators = NodeMigrators(self.env, [migration], items_chunk=CHUNK)
        lister = self.lister_index(migration['account'], migration.get(
            'container', migration['aws_bucket']))
        readers = [i for i in range(len(self.env['nodes'])) if i != lister]
        outputs = []
        thread = threading.Thread(target=lambda: outputs.extend(migrators.run_once(readers)))
        thread.start()
        time.sleep(LISTER_LATE)
        outputs.extend(migrators.run_once([lister]))
        thread.join()
        for rc, out in outputs:
            self.assertEqual(rc, 0, out[-3000:])
            self.assertNotIn('Traceback', out, out[-3000:])
            self.assertNotIn('no listing page', out)    # no reader waited in vain

    def test_one_node_lists_each_page_and_every_object_is_copied_once(self):
        names = ['obj-%03d' % i for i in range(COUNT)]
        for name in names:
            self.put_source(name, name.encode())
        self.settle(names)
        log = self.access_log()
        accesslog.wait_quiet(log.path)
        log.reset()
        self.run_lister_last(self.migration())
        accesslog.wait_quiet(log.path)

        self.assertEqual(sorted(self.local_names()), names)
        requests = [r for r in log.requests() if r.method == 'GET']
        fetched = sorted(r.path.rsplit('/', 1)[1] for r in requests
                         if r.path.startswith(self.source_path + '/'))
        self.assertEqual(fetched, names, 'an object was fetched twice, or never')
        listings = [r for r in requests if r.path == self.source_path]
        # each node listing every page would make 3 x LISTER_LISTINGS
        self.assertEqual(len(listings), LISTER_LISTINGS, [r.query for r in listings])


class TestSharedListingFromMoto(SharedListingTests, S3TargetTest):
    target_name = 'moto'

    def setUp(self):
        super().setUp()
        self.cleanup_local(self.bucket)
        self.source_path = '/' + self.bucket

    def put_source(self, name, body):
        self.s3.put_object(Bucket=self.bucket, Key=name, Body=body)

    def settle(self, names):
        pass    # moto lists what it holds at once

    def access_log(self):
        return accesslog.AccessLog.of_moto(self.env)

    def migration(self):
        return {'account': self.account, 'aws_bucket': self.bucket, 'protocol': 's3',
                'aws_endpoint': self.target['aws_endpoint'],
                'aws_identity': self.target['aws_identity'],
                'aws_secret': self.target['aws_secret']}

    def local_names(self):
        return self.local_listing(self.bucket)


class TestSharedListingFromSwift(SharedListingTests, SwiftSourceTest):
    def setUp(self):
        super().setUp()
        self.container = self.remote_container(self.unique_name('pages'))
        self.source_path = '/v1/%s/%s' % (self.remote_account, self.container)

    def put_source(self, name, body):
        self.remote.put_object(self.container, name, body)

    def settle(self, names, tries=50):
        """Until the source container lists every name (its updates may come late)."""
        for _ in range(tries):
            listed = {o['name'] for o in self.remote.get_container(
                self.container, full_listing=True)[1]}
            if listed >= set(names):
                return
            time.sleep(0.2)
        self.fail('the source lists %d of %d names' % (len(listed), len(names)))

    def access_log(self):
        return accesslog.AccessLog.of_remote(self.env)

    def migration(self):
        return dict(self.source, aws_bucket=self.container)

    def local_names(self):
        return self.local_listing(self.container, self.local_conn)

"""Expiry end to end, with the three real node daemons: ``propagate_expiration`` (+ offset) and
``remote_delete_after`` on the second Swift cluster, and ``remote_delete_after`` as a bucket
lifecycle rule on moto (and its one warning on Swift's s3api, which has no lifecycle)."""
import time
import unittest

import swiftclient

from devenv.daemons import NodeDaemons, s3_mapping
from s3_sync.config import mapping_from_dict
from s3_sync.providers import lifecycle
from test.integration.env import IntegrationTest, S3TargetTest, empty_and_delete_container
from test.integration.test_shunt import write_sync_conf

NAME = 'ünïcødé/日本語 expiring.txt'
META = {'X-Object-Meta-Farbe': 'Grün 日本'}
DAY = 86400
NOT_APPLIED = 'remote_delete_after not applied'


class DaemonRuns:
    def run_daemons(self, *mappings):
        daemons = NodeDaemons(self.env, list(mappings))
        outputs = daemons.run_once()
        for rc, out in outputs:
            self.assertEqual(rc, 0, out)
            self.assertNotIn('Traceback', out)
        return daemons, [out for _, out in outputs]

    def run_for_a_while(self, daemons, seconds=6):
        """One node's daemon running (poll_interval 1) for some passes; its log."""
        daemons.start(0)
        time.sleep(seconds)
        daemons.stop_all()
        log = daemons.log(0)
        self.assertNotIn('Traceback', log)
        return log


class SwiftExpiryTest(DaemonRuns, IntegrationTest):
    def setUp(self):
        self.conn = self.swift_conn()
        self.local_view = self.swift_conn(shunt=False)
        self.remote = self.remote_swift_conn()
        self.addCleanup(self.remote.close)

    def pair(self, prefix='exp', **extra):
        """A local container, an empty remote one, and the mapping between them."""
        container = self.make_container(self.conn, prefix + '-ünï')
        remote_container = self.unique_name(prefix + '-remote')
        self.remote.put_container(remote_container)
        self.addCleanup(self._empty_remote, remote_container)
        mapping = self.swift_target_mapping(container, remote_container, **extra)
        return container, remote_container, mapping

    def _empty_remote(self, container):
        # Expired objects stay listed (the remote runs no expirer) but answer 404, and keep
        # the container from being deleted (409): both are left to the environment's end.
        for obj in self.remote.get_container(container, full_listing=True)[1]:
            try:
                self.remote.delete_object(container, obj['name'])
            except swiftclient.ClientException as err:
                if err.http_status != 404:
                    raise
        try:
            self.remote.delete_container(container)
        except swiftclient.ClientException as err:
            if err.http_status != 409:
                raise

    def remote_head(self, container, name):
        return self.remote.head_object(container, name)

    def test_local_expiry_reaches_the_remote_with_and_without_offset_and_follows_posts(self):
        at = int(time.time()) + 7 * DAY
        pairs = [self.pair('exp0', propagate_expiration=True),
                 self.pair('exp-off', propagate_expiration=True,
                           propagate_expiration_offset=-3600)]
        for container, _remote, _mapping in pairs:
            self.conn.put_object(container, NAME, b'expiring', headers=dict(
                META, **{'X-Delete-At': str(at)}))
            self.conn.put_object(container, 'forever', b'kept')
        mappings = [m for _, _, m in pairs]
        self.run_daemons(*mappings)
        for (_c, remote, _m), offset in zip(pairs, (0, -3600)):
            headers = self.remote_head(remote, NAME)
            self.assertEqual(headers['x-delete-at'], str(at + offset))
            self.assertEqual(headers['x-object-meta-farbe'], 'Grün 日本')
            self.assertNotIn('x-delete-at', self.remote_head(remote, 'forever'))
        # A POST that moves the expiry moves the remote one (metadata replaced with it).
        for container, _remote, _mapping in pairs:
            self.conn.post_object(container, NAME, headers={
                'X-Object-Meta-Farbe': 'Blau', 'X-Delete-At': str(at + DAY)})
        self.run_daemons(*mappings)
        for (_c, remote, _m), offset in zip(pairs, (0, -3600)):
            headers = self.remote_head(remote, NAME)
            self.assertEqual((headers['x-delete-at'], headers['x-object-meta-farbe']),
                             (str(at + DAY + offset), 'Blau'))
        # A POST without X-Delete-At removes the expiry, locally and so remotely.
        for container, _remote, _mapping in pairs:
            self.conn.post_object(container, NAME, headers={'X-Object-Meta-Farbe': 'Rot'})
        self.run_daemons(*mappings)
        for _c, remote, _m in pairs:
            headers = self.remote_head(remote, NAME)
            self.assertNotIn('x-delete-at', headers)
            self.assertEqual(headers['x-object-meta-farbe'], 'Rot')

    def test_remote_delete_after_counts_from_each_remote_write(self):
        container, remote, mapping = self.pair('rda', remote_delete_after=3600)
        # The object's own expiry is not propagated (propagate_expiration is off).
        self.conn.put_object(container, NAME, b'data', headers=dict(
            META, **{'X-Delete-At': str(int(time.time()) + 7 * DAY)}))
        self.run_daemons(mapping)
        headers = self.remote_head(remote, NAME)
        first = int(headers['x-delete-at'])
        self.assertAlmostEqual(first - float(headers['x-timestamp']), 3600, delta=1)
        time.sleep(1.1)
        self.conn.post_object(container, NAME, headers={'X-Object-Meta-Farbe': 'Blau'})
        self.run_daemons(mapping)
        headers = self.remote_head(remote, NAME)
        self.assertEqual(headers['x-object-meta-farbe'], 'Blau')
        self.assertAlmostEqual(int(headers['x-delete-at']) - float(headers['x-timestamp']),
                               3600, delta=1)
        self.assertGreater(int(headers['x-delete-at']), first)

    def test_remote_copies_really_expire_after_remote_delete_after(self):
        container, remote, mapping = self.pair('rda-short', remote_delete_after=20)
        self.conn.put_object(container, NAME, b'short-lived', headers=META)
        self.run_daemons(mapping)
        written = float(self.remote_head(remote, NAME)['x-timestamp'])
        deadline = written + 60
        while time.time() < deadline:
            try:
                self.remote.get_object(remote, NAME)
            except swiftclient.ClientException as exc:
                self.assertEqual(exc.http_status, 404, exc)
                break
            time.sleep(1)
        else:
            self.fail('the remote copy was still there a minute after it was written')
        self.assertGreaterEqual(time.time(), written + 19)
        # The local copy is untouched.
        self.assertEqual(self.conn.get_object(container, NAME)[1], b'short-lived')

    def test_expiry_taken_into_the_past_by_the_offset_is_not_copied(self):
        container, remote, mapping = self.pair('past', propagate_expiration=True,
                                               propagate_expiration_offset=-DAY)
        self.conn.put_object(container, NAME, b'x', headers={
            'X-Delete-At': str(int(time.time()) + 3600)})
        self.conn.put_object(container, 'no-expiry', b'y')
        _daemons, outputs = self.run_daemons(mapping)
        names = [o['name'] for o in self.remote.get_container(remote)[1]]
        self.assertEqual(names, ['no-expiry'])
        logs = '\n'.join(outputs)
        self.assertIn('already past: not copied', logs)
        self.assertEqual(self.conn.get_object(container, NAME)[1], b'x')   # kept locally

    def test_archived_object_keeps_its_expiry_and_never_the_archiver_fence(self):
        at = int(time.time()) + 7 * DAY
        container, remote, mapping = self.pair(
            'arch', propagate_expiration=True, propagate_expiration_offset=60,
            retain_local=False)
        self.conn.put_object(container, NAME, b'cold', headers=dict(
            META, **{'X-Delete-At': str(at)}))
        self.run_daemons(mapping)
        self.assertEqual(self.local_view.get_container(container)[1], [])
        headers = self.remote_head(remote, NAME)
        self.assertEqual((headers['x-delete-at'], headers['x-object-meta-farbe']),
                         (str(at + 60), 'Grün 日本'))
        # Later passes (the archiver's fence and delete rows among them) change nothing.
        self.run_daemons(mapping)
        self.assertEqual(self.remote_head(remote, NAME)['x-delete-at'], str(at + 60))

    def test_client_post_through_the_shunt_sets_the_archived_copys_expiry(self):
        at = int(time.time()) + 7 * DAY
        container, remote, mapping = self.pair(
            'arch-post', propagate_expiration=True, propagate_expiration_offset=60,
            retain_local=False, merge_namespaces=True)
        self.conn.put_object(container, NAME, b'cold', headers=META)
        self.run_daemons(mapping)
        self.assertEqual(self.local_view.get_container(container)[1], [])
        write_sync_conf(self.env['sync_conf'], [mapping])
        self.addCleanup(write_sync_conf, self.env['sync_conf'], [])
        # Removed before the remote container, through the proxy without the shunt (which
        # would splice a listing of the remote container).
        self.addCleanup(empty_and_delete_container, self.local_view, container)
        deadline = time.time() + 30
        while True:     # until the shunt has reloaded its config and serves the object
            try:
                self.conn.head_object(container, NAME)
                break
            except swiftclient.ClientException:
                if time.time() > deadline:
                    self.fail('the shunt did not serve the archived object within 30 s')
                time.sleep(0.3)
        self.conn.post_object(container, NAME, headers={
            'X-Delete-At': str(at), 'X-Object-Meta-Farbe': 'Blau'})
        headers = self.remote_head(remote, NAME)
        self.assertEqual((headers['x-delete-at'], headers['x-object-meta-farbe']),
                         (str(at + 60), 'Blau'))
        self.conn.post_object(container, NAME, headers={'X-Object-Meta-Farbe': 'Rot'})
        headers = self.remote_head(remote, NAME)
        self.assertNotIn('x-delete-at', headers)
        self.assertEqual(headers['x-object-meta-farbe'], 'Rot')


class TestSwiftContainerKeys(DaemonRuns, IntegrationTest):
    """The other per-container keys of a Swift mapping, on a ``"/*"`` mapping: each local
    container's remote one is created with ``storage_policy`` and gets its metadata and ACLs."""

    def test_per_account_mapping_creates_containers_with_policy_metadata_and_acls(self):
        admin = self.swift_conn('admin:admin')
        account = self.env['users']['admin:admin']['account']
        remote = self.remote_swift_conn()
        self.addCleanup(remote.close)
        prefix = self.unique_name('all') + '-'
        containers = [self.make_container(admin, 'meta-ünï-%d' % i) for i in range(2)]
        for i, container in enumerate(containers):
            admin.post_container(container, {'X-Container-Meta-Owner': 'Tëam %d' % i,
                                             'X-Container-Read': '.r:*'})
            admin.put_object(container, NAME, b'data', headers=META)
        # every container of the account (other tests' too) gets one under the prefix
        self.addCleanup(self._remove_remote_containers, remote, prefix)
        target = self.swift_target()
        mapping = {'account': account, 'container': '/*', 'aws_bucket': prefix,
                   'protocol': 'swift', 'aws_endpoint': target['aws_endpoint'],
                   'aws_identity': target['aws_identity'], 'aws_secret': target['aws_secret'],
                   'storage_policy': 'gold', 'sync_container_metadata': True,
                   'sync_container_acl': True, 'remote_delete_after': 3600}
        self.run_daemons(mapping)
        for i, container in enumerate(containers):
            headers = remote.head_container(prefix + container)
            self.assertEqual((headers['x-storage-policy'], headers['x-container-meta-owner'],
                              headers.get('x-container-read')), ('gold', 'Tëam %d' % i, '.r:*'))
            obj = remote.head_object(prefix + container, NAME)
            self.assertEqual(obj['x-object-meta-farbe'], 'Grün 日本')
            self.assertIn('x-delete-at', obj)

    @staticmethod
    def _remove_remote_containers(remote, prefix):
        for entry in remote.get_account(prefix=prefix, full_listing=True)[1]:
            empty_and_delete_container(remote, entry['name'])


class LifecycleTest(DaemonRuns, S3TargetTest):
    def mapping(self, container, **extra):
        return s3_mapping(self.target, self.bucket, self.account, container, **extra)

    def prefix(self, mapping):
        checked = mapping_from_dict(mapping)
        return checked.key_prefix(checked.container)

    def rules(self):
        try:
            return self.s3.get_bucket_lifecycle_configuration(Bucket=self.bucket)['Rules']
        except self.s3.exceptions.ClientError as err:
            if err.response['Error']['Code'] == lifecycle.NO_CONFIGURATION:
                return []
            raise

    def put_rules(self, *rules):
        self.s3.put_bucket_lifecycle_configuration(
            Bucket=self.bucket, LifecycleConfiguration={'Rules': list(rules)})

    def synced_names(self, mapping):
        prefix = self.prefix(mapping)
        listing = self.s3.list_objects(Bucket=self.bucket, Prefix=prefix).get('Contents', [])
        return [o['Key'][len(prefix):] for o in listing]


class TestLifecycleOnMoto(LifecycleTest):
    target_name = 'moto'

    def test_remote_delete_after_becomes_a_prefix_rule_replaced_when_it_changes(self):
        other = {'ID': 'someone-else', 'Filter': {'Prefix': 'elsewhere/'}, 'Status': 'Enabled',
                 'Expiration': {'Days': 9}}
        self.put_rules(other)
        container = self.make_container(self.conn, 'lc-ünï')
        self.conn.put_object(container, NAME, b'data', headers=META)
        mapping = self.mapping(container, remote_delete_after=2 * DAY)
        _daemons, outputs = self.run_daemons(mapping)
        prefix = self.prefix(mapping)
        ours = {'ID': prefix, 'Filter': {'Prefix': prefix}, 'Status': 'Enabled',
                'Expiration': {'Days': 2}}
        self.assertCountEqual(self.rules(), [other, ours])
        self.assertEqual(self.synced_names(mapping), [NAME])
        self.assertTrue(any('lifecycle rule %r set' % prefix in out for out in outputs))
        # A new remote_delete_after replaces our rule, and only ours.
        mapping = self.mapping(container, remote_delete_after=3 * DAY)
        self.run_daemons(mapping)
        self.assertCountEqual(self.rules(), [other, dict(ours, Expiration={'Days': 3})])

    def test_conflicting_rule_is_kept_with_one_error_line_and_objects_still_sync(self):
        theirs = {'ID': 'whole-bucket', 'Filter': {'Prefix': ''}, 'Status': 'Enabled',
                  'Expiration': {'Days': 30}}
        self.put_rules(theirs)
        container = self.make_container(self.conn, 'lc-conflict')
        self.conn.put_object(container, NAME, b'data', headers=META)
        mapping = self.mapping(container, remote_delete_after=DAY)
        daemons, outputs = self.run_daemons(mapping)
        self.assertEqual(self.rules(), [theirs])
        self.assertEqual(self.synced_names(mapping), [NAME])
        for out in outputs:     # every node's daemon has a replica of the container DB
            lines = [line for line in out.splitlines() if NOT_APPLIED in line]
            self.assertEqual(len(lines), 1, out)
            self.assertIn("rule 'whole-bucket'", lines[0])
            self.assertIn('ERROR', lines[0].upper())
        log = self.run_for_a_while(daemons)
        self.assertEqual(log.count(NOT_APPLIED), 1, log)
        self.assertEqual(self.rules(), [theirs])

    def test_every_container_of_a_per_account_mapping_gets_its_rule(self):
        admin = self.swift_conn('admin:admin')
        account = self.env['users']['admin:admin']['account']
        containers = [self.make_container(admin, 'lc-all-%d' % i) for i in range(2)]
        for container in containers:
            admin.put_object(container, NAME, b'data')
        mapping = s3_mapping(self.target, self.bucket, account, '/*',
                             remote_delete_after=DAY)
        self.run_daemons(mapping)
        ids = {rule['ID'] for rule in self.rules()}
        for container in containers:
            checked = mapping_from_dict(mapping)
            self.assertIn(checked.key_prefix(container), ids)


class TestLifecycleOnS3api(LifecycleTest):
    """Swift's s3api routes ?lifecycle to its bucket controller (a listing, MalformedXML)."""
    target_name = 's3api'

    def test_target_without_lifecycle_is_one_warning_per_container_and_objects_sync(self):
        container = self.make_container(self.conn, 'lc-s3api')
        self.conn.put_object(container, NAME, b'data', headers=META)
        mapping = self.mapping(container, remote_delete_after=DAY)
        daemons, outputs = self.run_daemons(mapping)
        self.assertEqual(self.synced_names(mapping), [NAME])
        for out in outputs:
            lines = [line for line in out.splitlines() if NOT_APPLIED in line]
            self.assertEqual(len(lines), 1, out)
            self.assertIn('does not support bucket lifecycle rules', lines[0])
        log = self.run_for_a_while(daemons)
        self.assertEqual(log.count(NOT_APPLIED), 1, log)


if __name__ == '__main__':
    unittest.main()

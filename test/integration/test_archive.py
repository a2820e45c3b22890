"""Archive mode end to end: objects move to the remote, verified, and the local copy goes, except
when a client wrote a newer version meanwhile."""
import hashlib
import json
import logging
import time

import swiftclient

from devenv.daemons import NodeDaemons, remote_key, s3_mapping
from devenv.request_counter import RequestCounter
from s3_sync.config import mapping_from_dict, validate_config
from s3_sync.local import LocalSwift
from s3_sync.providers import create_provider
from s3_sync.swift_env import make_internal_client, setup_swift
from s3_sync.sync.container import ContainerSync
from test.integration.env import S3TargetTest
from test.integration.test_shunt import write_sync_conf


class NullStats:
    def increment(self, *args):
        pass


class ArchiveTestBase(S3TargetTest):
    def setUp(self):
        super().setUp()
        self.local_view = self.swift_conn(shunt=False)     # what is really stored locally

    def archive_mapping(self, container, **extra):
        extra.setdefault('retain_local', False)
        extra.setdefault('propagate_delete', False)
        return s3_mapping(self.target, self.bucket, self.account, container, **extra)

    def run_daemons(self, *mappings):
        daemons = NodeDaemons(self.env, list(mappings))
        for rc, out in daemons.run_once():
            self.assertEqual(rc, 0, out)
            self.assertNotIn('Traceback', out)
        return daemons

    def remote_body(self, mapping, name):
        key = remote_key(mapping, name)
        return self.s3.get_object(Bucket=self.bucket, Key=key)['Body'].read()

    def local_names(self, container):
        return [o['name'] for o in self.local_view.get_container(container)[1]]

    def shunted(self, mapping):
        """Serve ``mapping`` through the shunt proxy, and wait until the shunt has it (a probe
        object only on the remote shows up in the listing)."""
        write_sync_conf(self.env['sync_conf'], [mapping])
        self.addCleanup(write_sync_conf, self.env['sync_conf'], [])
        probe = remote_key(mapping, '.shunt-probe')
        self.s3.put_object(Bucket=self.bucket, Key=probe, Body=b'')
        deadline = time.time() + 30
        try:
            while time.time() < deadline:
                listing = self.conn.get_container(mapping['container'])[1]
                if any(e.get('name') == '.shunt-probe' for e in listing):
                    return
                time.sleep(0.3)
            self.fail('the shunt did not take the new config within 30 s')
        finally:
            self.s3.delete_object(Bucket=self.bucket, Key=probe)

    def archived(self, name, body=b'cold data', **extra):
        container = self.make_container(self.conn, 'arch-w')
        self.conn.put_object(container, name, body)
        mapping = self.archive_mapping(container, merge_namespaces=True, **extra)
        daemons = self.run_daemons(mapping)
        self.assertEqual(self.local_names(container), [])
        self.shunted(mapping)
        return container, mapping, daemons

    def remote_keys(self, mapping):
        prefix = remote_key(mapping, '')
        found = self.s3.list_objects(Bucket=self.bucket, Prefix=prefix).get('Contents', [])
        return [o['Key'][len(prefix):] for o in found]


class ArchiveBehaviour:
    def test_archived_objects_leave_swift_and_tombstones_stay_local(self):
        container = self.make_container(self.conn, 'arch')
        for i in range(3):
            self.conn.put_object(container, 'o%d' % i, b'data %d' % i)
        mapping = self.archive_mapping(container)
        daemons = self.run_daemons(mapping)
        self.assertEqual(self.local_names(container), [])
        for i in range(3):
            self.assertEqual(self.remote_body(mapping, 'o%d' % i), b'data %d' % i)
        for rc, out in daemons.run_once():      # the tombstones are crawled: nothing deleted
            self.assertEqual(rc, 0, out)
        self.assertEqual(self.remote_body(mapping, 'o0'), b'data 0')

    def test_objects_with_non_ascii_metadata_are_archived(self):
        container = self.make_container(self.conn, 'arch-meta')
        self.conn.put_object(container, 'doc', b'data',
                             headers={'X-Object-Meta-Color': 'bl\u00e9 \u2603'})
        mapping = self.archive_mapping(container)
        self.run_daemons(mapping)
        self.assertEqual(self.local_names(container), [])
        self.assertEqual(self.remote_body(mapping, 'doc'), b'data')

    def test_archived_slo_takes_its_segments_unless_they_are_retained(self):
        for retain in (False, True):
            with self.subTest(retain_local_segments=retain):
                container = self.make_container(self.conn, 'arch-slo')
                segments = self.make_container(self.conn, 'arch-seg')
                parts = [b'a' * 1024, b'b' * 2048]
                manifest = []
                for i, part in enumerate(parts):
                    self.conn.put_object(segments, 's%d' % i, part)
                    manifest.append({'path': '/%s/s%d' % (segments, i),
                                     'etag': hashlib.md5(part).hexdigest(),
                                     'size_bytes': len(part)})
                self.conn.put_object(container, 'big', json.dumps(manifest),
                                     query_string='multipart-manifest=put')
                mapping = self.archive_mapping(container, retain_local_segments=retain)
                self.run_daemons(mapping)
                self.assertEqual(self.remote_body(mapping, 'big'), b''.join(parts))
                self.assertEqual(self.local_names(container), [])
                self.assertEqual(len(self.local_names(segments)), 2 if retain else 0)

    def racing_sync(self, container, name, client_write):
        """A ContainerSync for ``container`` whose provider runs ``client_write()`` right after
        uploading (between the archiver's upload and its local delete), and the row of the
        object as it was before."""
        timestamp = self.conn.head_object(container, name)['x-timestamp']
        body = self.local_view.get_object(container, name)[1]
        row = {'ROWID': 1, 'name': name, 'created_at': timestamp, 'size': len(body),
               'content_type': 'application/octet-stream', 'deleted': 0,
               'etag': hashlib.md5(body).hexdigest(), 'storage_policy_index': 0}
        mapping = mapping_from_dict(self.archive_mapping(container))
        provider = create_provider(mapping)

        class RacingProvider:
            def __getattr__(self, attr):
                return getattr(provider, attr)

            def put_object(self, *args):
                etag = provider.put_object(*args)
                client_write()
                return etag

        setup_swift(self.env['swift_dir'])
        conf = validate_config({'swift_dir': self.env['swift_dir'],
                                'internal_client_path': self.env['internal_client_conf_path']},
                               for_daemon=False)
        local = LocalSwift(make_internal_client(conf))
        sync = ContainerSync(mapping, self.account, container, RacingProvider(), local,
                             NullStats(), logging.getLogger('test-archive'))
        return sync, row, mapping

    def test_client_overwrite_racing_the_archiver_keeps_the_clients_version(self):
        container = self.make_container(self.conn, 'arch-race')
        self.conn.put_object(container, 'doc', b'version 1')
        sync, row, mapping = self.racing_sync(
            container, 'doc', lambda: self.conn.put_object(container, 'doc', b'version 2'))
        self.assertIsNone(sync.handle_row(row))
        self.assertEqual(self.remote_body(mapping.wire(), 'doc'), b'version 1')
        self.assertEqual(self.local_view.get_object(container, 'doc')[1], b'version 2')

    def test_client_post_racing_the_archiver_keeps_the_clients_metadata(self):
        container = self.make_container(self.conn, 'arch-post')
        self.conn.put_object(container, 'doc', b'version 1',
                             headers={'X-Object-Meta-Color': 'red'})
        time.sleep(0.02)    # the POST must carry a later timestamp than the PUT

        def client_post():
            self.conn.post_object(container, 'doc', {'X-Object-Meta-Color': 'blue'})
        sync, row, mapping = self.racing_sync(container, 'doc', client_post)
        self.assertIsNone(sync.handle_row(row))
        # The newest client operation wins: the local object stays, with the client's metadata,
        # for its own (newer) row to propagate.
        headers = self.local_view.head_object(container, 'doc')
        self.assertEqual(headers.get('x-object-meta-color'), 'blue')
        self.assertNotIn('x-delete-at', headers)
        self.assertEqual(self.local_view.get_object(container, 'doc')[1], b'version 1')

    def test_restored_object_is_archived_again_without_sending_its_data(self):
        counter = RequestCounter(self.target['aws_endpoint']).start()
        self.addCleanup(counter.stop)
        self.target = dict(self.target, aws_endpoint=counter.url)
        container = self.make_container(self.conn, 'arch-restore')
        self.conn.put_object(container, 'doc', b'cold data')
        mapping = self.archive_mapping(container, merge_namespaces=True, restore_object=True)
        daemons = self.run_daemons(mapping)
        self.assertEqual(self.local_names(container), [])
        write_sync_conf(self.env['sync_conf'], [mapping])
        self.addCleanup(write_sync_conf, self.env['sync_conf'], [])
        deadline = time.time() + 30
        while True:     # the shunt picks the new config up within seconds
            try:
                body = self.conn.get_object(container, 'doc')[1]
                break
            except swiftclient.ClientException as err:
                if err.http_status != 404 or time.time() > deadline:
                    raise
                time.sleep(0.3)
        self.assertEqual(body, b'cold data')
        self.assertEqual(self.local_view.get_object(container, 'doc')[1], b'cold data')
        counter.reset()
        for rc, out in daemons.run_once():
            self.assertEqual(rc, 0, out)
        self.assertEqual(counter.counts['PUT'], 0, counter.counts)
        self.assertEqual(self.local_names(container), [])


    # -- archived objects obey writes ---------------------------------------------------
    def test_delete_of_an_archived_object_deletes_it_everywhere(self):
        container, mapping, _ = self.archived('doc')
        self.assertEqual(self.conn.get_object(container, 'doc')[1], b'cold data')
        self.conn.delete_object(container, 'doc')
        self.assertEqual(self.remote_keys(mapping), [])
        with self.assertRaises(swiftclient.ClientException) as caught:
            self.conn.get_object(container, 'doc')
        self.assertEqual(caught.exception.http_status, 404)
        self.assertEqual(self.conn.get_container(container)[1], [])

    def test_delete_that_bypasses_the_shunt_wins_at_once_and_reaches_the_remote(self):
        container, mapping, daemons = self.archived('doc')
        # Proxy B (no shunt): Swift answers 404 (nothing local) but writes the tombstone.
        with self.assertRaises(swiftclient.ClientException) as caught:
            self.local_view.delete_object(container, 'doc')
        self.assertEqual(caught.exception.http_status, 404)
        with self.assertRaises(swiftclient.ClientException) as caught:
            self.conn.head_object(container, 'doc')         # the newer tombstone wins
        self.assertEqual(caught.exception.http_status, 404)
        for rc, out in daemons.run_once():
            self.assertEqual(rc, 0, out)
        self.assertEqual(self.remote_keys(mapping), [])

    def test_post_of_an_archived_object_changes_its_archived_metadata(self):
        container, mapping, _ = self.archived('doc')
        self.conn.post_object(container, 'doc', {'X-Object-Meta-Color': 'bl\u00e9'})
        self.assertEqual(self.conn.head_object(container, 'doc')['x-object-meta-color'],
                         'bl\u00e9')
        self.assertEqual(self.conn.get_object(container, 'doc')[1], b'cold data')

    def test_client_delete_racing_the_archiver_does_not_come_back(self):
        container = self.make_container(self.conn, 'arch-del-race')
        self.conn.put_object(container, 'doc', b'version 1')
        sync, row, mapping = self.racing_sync(
            container, 'doc', lambda: self.conn.delete_object(container, 'doc'))
        self.assertIsNone(sync.handle_row(row))
        self.assertEqual(self.remote_keys(mapping.wire()), [])
        self.shunted(dict(mapping.wire(), merge_namespaces=True))
        with self.assertRaises(swiftclient.ClientException) as caught:
            self.conn.get_object(container, 'doc')
        self.assertEqual(caught.exception.http_status, 404)


class TestArchiveToMoto(ArchiveTestBase, ArchiveBehaviour):
    target_name = 'moto'


class TestArchiveToS3api(ArchiveTestBase, ArchiveBehaviour):
    target_name = 's3api'

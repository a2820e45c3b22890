"""The newest client operation wins against the archiver, at every step of it.

A client PUT, POST or DELETE is timed into each step of archiving one object (right after the
upload, right after the verification, and between the archiver's fence and its delete), for a
plain object and an SLO, on both S3 servers. Afterwards the row the client's operation left is
handled too, as the crawler would, and the object is checked where a client sees it, through
the cloud-shunt proxy, and on the remote: the client's operation is what both show, never the
archived version.
"""
import hashlib
import json
import logging
import time

import swiftclient

from devenv.daemons import remote_key
from s3_sync.config import mapping_from_dict, validate_config
from s3_sync.local import LocalSwift
from s3_sync.providers import create_provider
from s3_sync.swift_env import make_internal_client, setup_swift
from s3_sync.sync.container import ContainerSync
from s3_sync.sync.outcome import Retry
from test.integration.test_archive import ArchiveTestBase, NullStats

STEPS = ('upload', 'verify', 'fence')
OPS = ('PUT', 'POST', 'DELETE')


class Injected:
    """Runs the client's operation once, at the step asked for."""

    def __init__(self, step, op):
        self.step, self.op, self.done = step, op, False
        self.uploaded = False

    def at(self, step):
        if step == self.step and not self.done:
            self.done = True
            self.op()


def racing_provider(provider, injected):
    class RacingProvider:
        def __getattr__(self, attr):
            return getattr(provider, attr)

        def put_object(self, *args):
            etag = provider.put_object(*args)
            injected.uploaded = True
            injected.at('upload')
            return etag

        def put_large(self, *args):
            etag = provider.put_large(*args)
            injected.uploaded = True
            injected.at('upload')
            return etag

        def head_object(self, name):
            found = provider.head_object(name)
            if injected.uploaded:       # the verification, not the look before the upload
                injected.at('verify')
            return found
    return RacingProvider()


class RacingLocal(LocalSwift):
    def __init__(self, client, injected):
        super().__init__(client)
        self.injected = injected

    def _request(self, method, account, container, name, headers):
        status = super()._request(method, account, container, name, headers)
        if method == 'POST' and 'X-Delete-At' in headers:
            self.injected.at('fence')
        return status


class RaceMatrix:
    def write_v1(self, container, name, large):
        headers = {'X-Object-Meta-Color': 'red'}
        if not large:
            self.conn.put_object(container, name, b'version 1', headers=headers)
            return b'version 1'
        segments = self.make_container(self.conn, 'race-seg')
        parts, manifest = [b'a' * 1024, b'b' * 2048], []
        for i, part in enumerate(parts):
            self.conn.put_object(segments, 's%d' % i, part)
            manifest.append({'path': '/%s/s%d' % (segments, i),
                             'etag': hashlib.md5(part).hexdigest(), 'size_bytes': len(part)})
        self.conn.put_object(container, name, json.dumps(manifest), headers=headers,
                             query_string='multipart-manifest=put')
        return b''.join(parts)

    def client_op(self, op, container, name):
        def run():
            time.sleep(0.01)        # a later timestamp than what the archiver read
            if op == 'PUT':
                self.conn.put_object(container, name, b'version 2')
            elif op == 'POST':
                self.conn.post_object(container, name, {'X-Object-Meta-Color': 'blue'})
            else:
                self.conn.delete_object(container, name)
        return run

    def race_all(self, large):
        """Every (step, operation) in one container, one object each, one shunt config."""
        container = self.make_container(self.conn, 'race')
        mapping = self.archive_mapping(container, merge_namespaces=True)
        self.shunted(mapping)
        for step in STEPS:
            for op in OPS:
                with self.subTest(step=step, op=op):
                    self.race(container, mapping, '%s-%s' % (step, op), step, op, large)

    def race(self, container, mapping, name, step, op, large):
        v1 = self.write_v1(container, name, large)
        checked = mapping_from_dict(mapping)
        injected = Injected(step, self.client_op(op, container, name))
        setup_swift(self.env['swift_dir'])
        conf = validate_config({'swift_dir': self.env['swift_dir'],
                                'internal_client_path': self.env['internal_client_conf_path']},
                               for_daemon=False)
        local = RacingLocal(make_internal_client(conf), injected)
        sync = ContainerSync(checked, self.account, container,
                             racing_provider(create_provider(checked), injected), local,
                             NullStats(), logging.getLogger('test-races'))
        headers = self.local_view.head_object(container, name,
                                              query_string='multipart-manifest=get')
        row = {'ROWID': 1, 'name': name, 'created_at': headers['x-timestamp'], 'size': 0,
               'content_type': headers['content-type'], 'deleted': 0, 'etag': '',
               'storage_policy_index': 0}
        sync.handle_row(row)
        self.assertTrue(injected.done, 'the race never happened at %s' % step)
        self.propagate_newest(sync, local, container, name)
        self.check(op, container, name, mapping, v1)

    def propagate_newest(self, sync, local, container, name):
        """Hand the sync the row the client's operation left (as the crawler would)."""
        for _ in range(10):
            resp = local._head(self.account, container, name)
            if resp.status_int == 404:
                row = {'ROWID': 2, 'name': name, 'deleted': 1, 'size': 0, 'etag': '',
                       'content_type': '', 'storage_policy_index': 0,
                       'created_at': resp.headers['X-Backend-Timestamp']}
            else:
                row = {'ROWID': 2, 'name': name, 'deleted': 0, 'size': 0, 'etag': '',
                       'content_type': resp.headers['Content-Type'], 'storage_policy_index': 0,
                       'created_at': resp.headers['X-Timestamp']}
            if not isinstance(sync.handle_row(row), Retry):
                return
            time.sleep(1)
        self.fail('the newest row of %s was never done' % name)

    def check(self, op, container, name, mapping, v1):
        if op == 'DELETE':
            with self.assertRaises(swiftclient.ClientException) as caught:
                self.conn.get_object(container, name)
            self.assertEqual(caught.exception.http_status, 404)
            self.assertNotIn(name, self.remote_keys(mapping))
            return
        headers, body = self.conn.get_object(container, name)
        if op == 'PUT':
            self.assertEqual(body, b'version 2')
            self.assertEqual(self.remote_body(mapping, name), b'version 2')
            return
        self.assertEqual((body, headers.get('x-object-meta-color')), (v1, 'blue'))
        remote = self.s3.head_object(Bucket=self.bucket, Key=remote_key(mapping, name))
        self.assertEqual(remote['Metadata'].get('color'), 'blue')

    def test_races_with_plain_objects(self):
        self.race_all(large=False)

    def test_races_with_slos(self):
        self.race_all(large=True)


class TestArchiveRacesMoto(ArchiveTestBase, RaceMatrix):
    target_name = 'moto'


class TestArchiveRacesS3api(ArchiveTestBase, RaceMatrix):
    target_name = 's3api'

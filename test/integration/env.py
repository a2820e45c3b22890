"""The integration-test harness: one shared dev environment per test run.

``EnvLayer`` (a nose2 layer) brings the environment up once. If one is already
up it is reused and left up; one that the layer started is stopped at the
end, even when tests fail, unless ``S3SYNC_KEEP_ENV=1``. Set
``S3SYNC_DEVENV_BASE`` to use another base dir (and its ports).

Tests share the environment, so they never reset it (no moto reset): each
test isolates itself with unique bucket and container names, and removes
what it made with ``addCleanup``.
"""

import os
import unittest
import uuid

import boto3
import swiftclient
from botocore.config import Config
from botocore.exceptions import ClientError

from devenv import Environment
from devenv.radosgw import requested as radosgw_requested

LOOPBACK = '127.0.0.1,localhost'
TARGET_KEYS = ('name', 'aws_endpoint', 'aws_identity', 'aws_secret', 'region')
RADOSGW_SKIP = 'radosgw not requested: S3SYNC_RADOSGW=1 to run'


def bypass_http_proxies():
    """Loopback requests must never go through an http_proxy."""
    for var in ('NO_PROXY', 'no_proxy'):
        current = os.environ.get(var, '')
        if '127.0.0.1' not in current:
            os.environ[var] = ','.join(p for p in (current, LOOPBACK) if p)


class EnvLayer:
    environment = None
    info = None
    started_here = False

    @classmethod
    def setUp(cls):
        bypass_http_proxies()
        env = Environment()
        cls.started_here = not env.any_running()
        try:
            cls.info = env.up()
        except BaseException:
            if cls.started_here:
                env.down()
            raise
        cls.environment = env

    @classmethod
    def tearDown(cls):
        env, cls.environment = cls.environment, None
        if env and cls.started_here and os.environ.get(
                'S3SYNC_KEEP_ENV') != '1':
            env.down()


def s3_client_for(target):
    """A boto3 S3 client that works on moto and on Swift's s3api."""
    config = Config(signature_version='s3v4',
                    s3={'addressing_style': 'path'},
                    request_checksum_calculation='when_required',
                    response_checksum_validation='when_required',
                    retries={'max_attempts': 1, 'mode': 'standard'})
    return boto3.session.Session().client(
        's3', endpoint_url=target['aws_endpoint'],
        region_name=target['region'],
        aws_access_key_id=target['aws_identity'],
        aws_secret_access_key=target['aws_secret'], config=config)


def empty_and_delete_bucket(client, bucket):
    try:
        for page in client.get_paginator('list_objects_v2').paginate(
                Bucket=bucket):
            for obj in page.get('Contents', []):
                client.delete_object(Bucket=bucket, Key=obj['Key'])
        uploads = client.list_multipart_uploads(Bucket=bucket)
        for upload in uploads.get('Uploads', []):
            client.abort_multipart_upload(Bucket=bucket, Key=upload['Key'],
                                          UploadId=upload['UploadId'])
        client.delete_bucket(Bucket=bucket)
    except ClientError as err:
        if err.response['Error']['Code'] != 'NoSuchBucket':
            raise


def empty_and_delete_container(conn, container):
    try:
        _headers, listing = conn.get_container(container, full_listing=True)
        for obj in listing:
            conn.delete_object(container, obj['name'])
        conn.delete_container(container)
    except swiftclient.ClientException as err:
        if err.http_status != 404:
            raise


class IntegrationTest(unittest.TestCase):
    layer = EnvLayer

    @property
    def env(self):
        """The environment's info dict (BASE/env.json)."""
        return EnvLayer.info

    @staticmethod
    def unique_name(prefix='t'):
        """A fresh name, valid as a bucket and as a container everywhere."""
        return '%s-%s' % (prefix.lower(), uuid.uuid4().hex[:12])

    # -- Swift ------------------------------------------------------------
    def swift_conn(self, user='test:tester', key=None, shunt=True):
        """Proxy A (with the cloud-shunt) when ``shunt``, else proxy B."""
        proxy = self.env['proxies']['shunt' if shunt else 'noshunt']
        key = key or self.env['users'][user]['key']
        return swiftclient.Connection(proxy['auth_url'], user, key,
                                      retries=0)

    def make_container(self, conn, prefix='c', headers=None):
        """A new container on ``conn``, removed with its objects at cleanup."""
        name = self.unique_name(prefix)
        conn.put_container(name, headers=headers or {})
        self.addCleanup(empty_and_delete_container, conn, name)
        return name

    # -- S3 ---------------------------------------------------------------
    def s3_targets(self):
        return [{k: t[k] for k in TARGET_KEYS}
                for t in self.env['s3_targets']]

    def s3_client(self, target):
        return s3_client_for(target)

    def make_bucket(self, target, prefix='b'):
        """A new bucket on ``target``, removed with its objects at cleanup."""
        name = self.unique_name(prefix)
        client = self.s3_client(target)
        client.create_bucket(Bucket=name)
        self.addCleanup(empty_and_delete_bucket, client, name)
        return name

    # -- the second Swift cluster ------------------------------------------
    def swift_target(self):
        target = self.env['swift_target']
        return {k: target[k] for k in ('name', 'protocol', 'aws_endpoint',
                                       'aws_identity', 'aws_secret')}

    def swift_target_mapping(self, container, remote_container, **extra):
        """A mapping of test:tester's ``container`` to ``remote_container`` on the second
        Swift cluster, with ``extra`` keys."""
        target = self.swift_target()
        mapping = {'account': self.env['users']['test:tester']['account'],
                   'container': container, 'aws_bucket': remote_container,
                   'protocol': 'swift', 'aws_endpoint': target['aws_endpoint'],
                   'aws_identity': target['aws_identity'], 'aws_secret': target['aws_secret']}
        mapping.update(extra)
        return mapping

    def remote_swift_conn(self):
        target = self.env['swift_target']
        return swiftclient.Connection(
            target['aws_endpoint'], target['aws_identity'],
            target['aws_secret'], retries=0)


class RadosgwLayer(EnvLayer):
    """Ceph radosgw on top of the environment, only when S3SYNC_RADOSGW=1.

    Requested: it is started here (installing its Debian packages when missing), and a failure
    to start is an error of this layer, never a skip. Not requested: nothing happens and every
    test of the layer skips with RADOSGW_SKIP. A radosgw that this layer started is stopped at
    the end (unless S3SYNC_KEEP_ENV=1); one that was already running is left alone.
    """
    radosgw_started_here = False

    @classmethod
    def setUp(cls):
        if not radosgw_requested():
            return
        env = Environment(radosgw=True)
        cls.radosgw_started_here = len(env.radosgw.running()) < 3
        EnvLayer.info = env.up()

    @classmethod
    def tearDown(cls):
        if EnvLayer.info:
            EnvLayer.info.pop('radosgw', None)
        if cls.radosgw_started_here and os.environ.get('S3SYNC_KEEP_ENV') != '1':
            cls.radosgw_started_here = False
            Environment().radosgw_down()


class RadosgwTarget:
    """Mixed in first: runs a per-target test class on radosgw (``target_name``), in
    RadosgwLayer; skips with RADOSGW_SKIP when radosgw was not requested."""
    layer = RadosgwLayer
    target_name = 'radosgw'

    def setUp(self):
        if not radosgw_requested():
            self.skipTest(RADOSGW_SKIP)
        if 'radosgw' not in (self.env or {}):
            self.fail('S3SYNC_RADOSGW=1 but the environment has no radosgw (env.json)')
        super().setUp()

    def radosgw_target(self):
        return {k: self.env['radosgw'][k] for k in TARGET_KEYS}

    def s3_targets(self):
        return super().s3_targets() + [self.radosgw_target()]


class S3TargetTest(IntegrationTest):
    """A test against one S3 implementation of the environment (``target_name``: 'moto' or
    's3api'; 'radosgw' with ``RadosgwTarget`` mixed in): a fresh bucket, a Swift connection through the shunt proxy, the test account."""
    target_name = None

    def setUp(self):
        super().setUp()
        self.target = [t for t in self.s3_targets() if t['name'] == self.target_name][0]
        self.s3 = self.s3_client(self.target)
        self.bucket = self.make_bucket(self.target)
        self.conn = self.swift_conn()
        self.account = self.env['users']['test:tester']['account']

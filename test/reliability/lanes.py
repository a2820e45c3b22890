"""A *lane*: one mapped local container, the remote it syncs or archives to, and the views the
checker uses of both. The daemons reach the remote through a ``FaultProxy`` (counting, and
faulty when armed); every check looks at the remote directly, never through the proxy."""
import email.header
import hashlib
import threading
import time

import swiftclient

from devenv.daemons import remote_key, s3_mapping
from devenv.request_counter import FaultProxy
from test.integration.env import empty_and_delete_bucket, s3_client_for

LOCAL_USER = 'test:tester'
MiB = 1024 * 1024


def local_conn(info, shunt=False, user=LOCAL_USER, retries=5):
    """A swiftclient connection to proxy A (with the shunt) or B (none: what is stored)."""
    proxy = info['proxies']['shunt' if shunt else 'noshunt']
    return swiftclient.Connection(proxy['auth_url'], user, info['users'][user]['key'],
                                  retries=retries)


def decode_value(value):
    """An S3 metadata value as Swift had it: non-ASCII values travel as RFC 2047 words."""
    if '=?' not in value:
        return value
    return str(email.header.make_header(email.header.decode_header(value)))


class S3View:
    """The bucket as it is, straight from the S3 server."""
    kind = 's3'

    def __init__(self, target, bucket):
        self.target = target
        self.bucket = bucket
        self.client = s3_client_for(target)

    def create(self):
        self.client.create_bucket(Bucket=self.bucket)

    def destroy(self):
        empty_and_delete_bucket(self.client, self.bucket)

    def upload_path(self, mapping, name):
        """The path a FaultProxy records for an upload of ``name``."""
        return '/%s/%s' % (self.bucket, remote_key(mapping, name))

    def listing(self, mapping):
        """{object name: etag} under the mapping's prefix."""
        prefix = remote_key(mapping, '')
        found = {}
        for page in self.client.get_paginator('list_objects_v2').paginate(
                Bucket=self.bucket, Prefix=prefix):
            for item in page.get('Contents', []):
                found[item['Key'][len(prefix):]] = item['ETag'].strip('"')
        return found

    def get(self, mapping, name):
        """(md5 of the body, size, etag, {meta key: value}, content-type) or None."""
        try:
            resp = self.client.get_object(Bucket=self.bucket, Key=remote_key(mapping, name))
        except self.client.exceptions.NoSuchKey:
            return None
        digest, size = hashlib.md5(), 0
        for chunk in iter(lambda: resp['Body'].read(MiB), b''):
            digest.update(chunk)
            size += len(chunk)
        meta = {k: decode_value(v) for k, v in resp['Metadata'].items()}
        return (digest.hexdigest(), size, resp['ETag'].strip('"'), meta, resp['ContentType'])

    def incomplete_uploads(self):
        """[(key, upload id)] of multipart uploads begun and never completed or aborted."""
        resp = self.client.list_multipart_uploads(Bucket=self.bucket)
        return [(u['Key'], u['UploadId']) for u in resp.get('Uploads', [])]


class SwiftView:
    """The remote Swift container as it is, straight from the second cluster's proxy."""
    kind = 'swift'

    def __init__(self, target, container):
        self.target = target
        self.container = container
        self._local = threading.local()

    @property
    def conn(self):
        """One connection per thread (swiftclient's are not thread-safe)."""
        conn = getattr(self._local, 'conn', None)
        if conn is None:
            conn = self._local.conn = swiftclient.Connection(
                self.target['aws_endpoint'], self.target['aws_identity'],
                self.target['aws_secret'], retries=3)
        return conn

    def create(self):
        self.conn.put_container(self.container)

    def destroy(self):
        for container in (self.container, self.container + '_segments'):
            try:
                for obj in self.conn.get_container(container, full_listing=True)[1]:
                    self.conn.delete_object(container, obj['name'])
                self.conn.delete_container(container)
            except swiftclient.ClientException as err:
                if err.http_status != 404:
                    raise

    def upload_path(self, mapping, name):
        return '/v1/%s/%s/%s' % (self.target['account'], self.container, name)

    def listing(self, mapping):
        listing = self.conn.get_container(self.container, full_listing=True)[1]
        # An SLO's listing hash is its manifest's md5; its ETag is the listing's slo_etag.
        return {o['name']: o.get('slo_etag', o['hash']).strip('"') for o in listing}

    def get(self, mapping, name):
        try:
            headers, body = self.conn.get_object(self.container, name, resp_chunk_size=MiB)
        except swiftclient.ClientException as err:
            if err.http_status == 404:
                return None
            raise
        digest, size = hashlib.md5(), 0
        for chunk in body:
            digest.update(chunk)
            size += len(chunk)
        meta = {k[len('x-object-meta-'):]: v for k, v in headers.items()
                if k.startswith('x-object-meta-')}
        return (digest.hexdigest(), size, headers['etag'].strip('"'), meta,
                headers.get('content-type'))

    def incomplete_uploads(self):
        return []


class Lane:
    """One mapped container: ``mapping`` for the daemons (through ``proxy``), ``shunt_mapping``
    for the cloud-shunt (the remote itself), ``view`` for the checks."""

    def __init__(self, name, info, target_name, archive, workload, account, container,
                 remote_timeout=5, seed=None, large_objects=True, **extra):
        self.name = name
        self.archive = archive
        self.workload = workload
        self.account = account
        self.container = container
        self.target_name = target_name
        self.large_objects = large_objects
        self._path_names = None
        if target_name == 'swift':
            target = info['swift_target']
            self.proxy = FaultProxy(target['aws_endpoint'].rsplit('/auth', 1)[0],
                                    seed=seed).start()
            remote_container = '%s-remote' % container
            self.view = SwiftView(target, remote_container)
            base = {'account': account, 'container': container,
                    'aws_bucket': remote_container, 'protocol': 'swift',
                    'aws_identity': target['aws_identity'], 'aws_secret': target['aws_secret']}
            self.mapping = dict(base, aws_endpoint=self.proxy.url + '/auth/v1.0')
            self.shunt_mapping = dict(base, aws_endpoint=target['aws_endpoint'])
        else:
            target = [t for t in info['s3_targets'] if t['name'] == target_name][0]
            self.proxy = FaultProxy(target['aws_endpoint'], seed=seed).start()
            self.view = S3View(target, container)
            self.mapping = s3_mapping(dict(target, aws_endpoint=self.proxy.url), container,
                                      account, container)
            self.shunt_mapping = s3_mapping(target, container, account, container)
        extra.setdefault('remote_timeout', remote_timeout)
        extra['retain_local'] = not archive
        if archive:
            extra.setdefault('propagate_delete', False)
        for mapping in (self.mapping, self.shunt_mapping):
            mapping.update(extra)

    @property
    def remote_timeout(self):
        return self.mapping['remote_timeout']

    def create(self, conn):
        conn.put_container(self.container)
        conn.put_container(self.workload.segments)
        self.view.create()

    def destroy(self, conn):
        self.proxy.stop()
        for container in (self.container, self.workload.segments):
            _empty_local(conn, container)
        self.view.destroy()

    def path_names(self):
        """{path a FaultProxy records for an upload: object name} for every name written."""
        if self._path_names is None:
            self._path_names = {self.view.upload_path(self.mapping, name): name
                                for name in self.workload.names()}
        return self._path_names

    def local_listing(self, conn):
        return {o['name']: o['hash'] for o in
                conn.get_container(self.container, full_listing=True)[1]}

    def __str__(self):
        return '%s (%s %s)' % (self.name, 'archive to' if self.archive else 'sync to',
                               self.target_name)


def _empty_local(conn, container):
    for _ in range(3):
        try:
            for obj in conn.get_container(container, full_listing=True)[1]:
                try:
                    conn.delete_object(container, obj['name'])
                except swiftclient.ClientException as err:
                    if err.http_status != 404:
                        raise
            conn.delete_container(container)
            return
        except swiftclient.ClientException as err:
            if err.http_status == 404:
                return
            time.sleep(1)      # 409: a listing not yet updated

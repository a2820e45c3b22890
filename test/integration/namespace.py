"""What the tests of the merged namespace share (the cloud-shunt's and proxymc's): the bucket
their mappings point at, objects put in it as the sync daemon leaves them, waiting until the
server under test has re-read ``sync.json``, and raw HTTP requests (paths sent as given).
"""
import hashlib
import http.client
import json
import os
import time
import uuid
from urllib.parse import urlsplit

import swiftclient

from s3_sync import layout, metadata
from s3_sync.config import mapping_from_dict
from test.integration.env import s3_client_for


def md5(data):
    return hashlib.md5(data).hexdigest()


def write_sync_conf(path, mappings):
    """The environment's ``sync.json`` with these ``containers[]``, replaced at once."""
    tmp = '%s.%s.tmp' % (path, uuid.uuid4().hex[:6])
    with open(tmp, 'w') as f:
        json.dump({'containers': mappings}, f, indent=1)
    os.rename(tmp, path)


def new_bucket(target, prefix):
    """``(client, bucket)``: a fresh bucket on the S3 target (a devenv ``s3_targets`` entry)."""
    client = s3_client_for(target)
    bucket = '%s-%s' % (prefix, uuid.uuid4().hex[:12])
    client.create_bucket(Bucket=bucket)
    return client, bucket


def put_archived(client, bucket, mapping, account, container, name, body, headers=None):
    """An object in the cloud as the sync daemon leaves it: at the key layout's place of
    ``mapping`` (a ``sync.json`` dict), Swift metadata encoded."""
    meta, content_type = metadata.swift_to_s3(headers or {})
    client.put_object(Bucket=bucket, Key=object_key(mapping, account, container, name),
                      Body=body, Metadata=meta, ContentType=content_type)


def put_archived_slo(client, bucket, mapping, account, container, name, segments,
                     seg_container, headers=None):
    """An SLO as the sync daemon leaves it: one multipart upload holding the whole content,
    and the Swift manifest at the manifest key. Returns ``(manifest, body)``."""
    manifest, body = [], b''
    for i, data in enumerate(segments):
        manifest.append({'name': '/%s/%s/%d' % (seg_container, name, i),
                         'bytes': len(data), 'hash': md5(data),
                         'content_type': 'application/octet-stream',
                         'last_modified': '2024-01-01T00:00:00.000000'})
        body += data
    meta, content_type = metadata.swift_to_s3(
        dict(headers or {}, **{'X-Static-Large-Object': 'True'}))
    key = object_key(mapping, account, container, name)
    upload = client.create_multipart_upload(Bucket=bucket, Key=key, Metadata=meta,
                                            ContentType=content_type)
    part = client.upload_part(Bucket=bucket, Key=key, PartNumber=1, Body=body,
                              UploadId=upload['UploadId'])
    client.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload['UploadId'],
        MultipartUpload={'Parts': [{'PartNumber': 1, 'ETag': part['ETag']}]})
    mkey = layout.manifest_key(mapping_from_dict(mapping), account, container, name)
    client.put_object(Bucket=bucket, Key=mkey, Body=json.dumps(manifest).encode())
    return manifest, body


def object_key(mapping, account, container, name):
    return layout.object_key(mapping_from_dict(mapping), account, container, name)


def wait_until_served(conn, container, name, retry_statuses=(404,), timeout=30):
    """Until ``conn`` (a swiftclient Connection to the server under test) serves the object:
    proves the server re-read ``sync.json``."""
    deadline = time.time() + timeout
    while True:
        try:
            conn.get_object(container, name)
            return
        except swiftclient.ClientException as err:
            if err.http_status not in retry_statuses or time.time() > deadline:
                raise
            time.sleep(0.2)


def raw_request(url, method, path, headers=None, body=None):
    """``(status, lower-case headers, body)`` of one request to ``url``'s server, ``path``
    sent exactly as given (percent-escapes, bytes)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for key, value in (headers or {}).items():
            conn.putheader(key, value)
        if body is not None:
            conn.putheader('Content-Length', str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def request_status(storage_url, token, method, path, headers=None):
    """``raw_request`` below ``storage_url`` (``path`` starts at the container), with the
    token when there is one."""
    headers = dict(headers or {})
    if token:
        headers['X-Auth-Token'] = token
    # as http.client sends them: an empty body where the method expects one
    body = b'' if method in ('PUT', 'POST', 'PATCH') else None
    return raw_request(storage_url, method, urlsplit(storage_url).path + path, headers, body)

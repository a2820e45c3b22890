"""The S3 provider: one mapping's bucket (AWS, Google Cloud Storage or an S3 clone).

Request economy matters: the sync daemon aims at about one remote request per synced object,
so every method here is exactly the requests it names and never adds a hidden HEAD. Idempotent
requests (HEAD, GET, LIST, DELETE, copy) go through ``s3_sync.retry.DEFAULT_POLICY``; a PUT
streams a body that cannot be rewound, so the caller retries it by re-reading the source.

Every botocore failure becomes a ``RemoteError`` with a one-line message naming the bucket/key
and the S3 error code, never a credential. The error also carries ``code`` (the S3 error code)
and ``headers`` (Swift-style response headers, ``None`` when no response arrived).
"""
import calendar
import email.utils
import http.client
import json
from datetime import timezone
from http import HTTPStatus
from urllib.parse import unquote

import urllib3.exceptions
from botocore.exceptions import (BotoCoreError, ClientError, NoCredentialsError,
                                 ParamValidationError, SSLError)

from s3_sync import layout, metadata
from s3_sync.log import one_line
from s3_sync.providers import lifecycle, s3_get, s3_multipart
from s3_sync.providers.base import (
    BODY_CHUNK, COPY_CHUNK, Features, Provider, RemoteError, RemoteObject, RemoteResponse)
from s3_sync.providers.s3_client import (
    SMALL_BODY, client_key, make_client, sending_for, signature_version)
from s3_sync.retry import NOT_IMPLEMENTED_CODES

MAX_LIST = 1000
DELETE_BATCH = 500          # names per DeleteObjects: 2 keys each, S3 takes <= 1000 keys
CODE_STATUS = {'AccessDenied': 403, 'InternalError': 500, 'SlowDown': 503,
               'ServiceUnavailable': 503, 'NoSuchBucket': 404}
CONDITIONALS = {'range': 'Range', 'if-match': 'IfMatch', 'if-none-match': 'IfNoneMatch',
                'if-modified-since': 'IfModifiedSince',
                'if-unmodified-since': 'IfUnmodifiedSince'}
DATE_CONDITIONALS = ('IfModifiedSince', 'IfUnmodifiedSince')


def _status_phrase(status):
    try:
        return HTTPStatus(status).phrase.replace(' ', '')
    except ValueError:
        return str(status)


def epoch(dt):
    """A boto3 datetime (tz-aware UTC) as float epoch seconds."""
    return calendar.timegm(dt.utctimetuple()) + dt.microsecond / 1e6


def swift_time(dt):
    """A boto3 datetime in Swift's listing format (UTC, microseconds)."""
    return dt.astimezone(timezone.utc).strftime(metadata.SWIFT_TIME_FMT)




def _request_params(headers):
    """boto3 GET/HEAD parameters for the Range and conditional headers of a Swift request.

    An unparseable date is dropped, as HTTP says to ignore it."""
    params = {}
    for key, value in (headers or {}).items():
        if key == '_part_number':       # ours (get_part), not an HTTP header
            params['PartNumber'] = int(value)
            continue
        param = CONDITIONALS.get(key.lower())
        if not param:
            continue
        if param in DATE_CONDITIONALS:
            try:
                value = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                continue
        params[param] = value
    return params


class S3Provider(Provider):
    """See ``providers.base.Provider``; ``client`` may be injected (tests); ``shared``
    (``providers.shared.Shared``) lends the client and remembers the checked bucket."""

    name = 's3'
    features = Features(large_objects=True, bulk_delete=True, conditional_copy=True,
                        lifecycle=True, ranged_raw_reads=True)

    def __init__(self, mapping, container=None, logger=None, retry_policy=None, client=None,
                 shared=None):
        super().__init__(mapping, container, logger, retry_policy)
        self.bucket = mapping.aws_bucket
        self.endpoint = mapping.aws_endpoint or None
        self.where = self.endpoint or layout.AWS_LOCATION
        self.prefix = mapping.key_prefix(self.container)
        # A custom prefix puts ".manifests/" inside the object namespace: hide those keys.
        self.hide_manifests = mapping.custom_prefix is not None
        self.google = layout.is_google(self.endpoint)
        self.sse = ({'ServerSideEncryption': 'AES256'}
                    if layout.is_aws(self.endpoint) and mapping.encryption else {})
        self.page_size = MAX_LIST
        self._client = client
        self._owns_client = False
        # object reads a client waits on, without botocore's per-call work (see s3_get)
        self._reader = s3_get.SignedGet(mapping) if client is None and s3_get.eligible(
            mapping, signature_version(mapping)) else None
        self.shared = shared
        if client is None and shared is not None:
            self._client, _made = shared.get(client_key(mapping), lambda: make_client(mapping))
        if self.google:     # the GCS XML API has no DeleteObjects, nor S3 lifecycle rules
            self.features = self.features._replace(bulk_delete=False, lifecycle=False)
        self._content_location = layout.content_location(mapping, self.account,
                                                         self.container)

    @property
    def client(self):
        """Created on first use: providers for idle containers cost nothing."""
        if self._client is None:
            self._client = make_client(self.mapping)
            self._owns_client = True
        return self._client

    @property
    def content_location(self):
        return self._content_location

    def key(self, name):
        return self.prefix + name

    def manifest_key(self, name):
        return layout.manifest_key(self.mapping, self.account, self.container, name)

    # -- plumbing -------------------------------------------------------
    def _error(self, exc, op, key):
        """Translate a botocore/transport exception into a one-line RemoteError."""
        target = "'%s/%s'" % (self.bucket, key) if key is not None else \
            "bucket '%s'" % self.bucket
        if isinstance(exc, ClientError):
            return self._client_error(exc, op, target)
        code = type(exc).__name__
        if isinstance(exc, (NoCredentialsError, ParamValidationError)):
            return RemoteError(400, '%s %s: %s' % (op, target, one_line(exc)), False, code)
        if isinstance(exc, SSLError):
            return RemoteError(502, '%s %s at %s: %s' % (
                op, target, self.where, one_line(exc)), False, code)
        return RemoteError(502, '%s %s: cannot reach %s: %s' % (
            op, target, self.where, one_line(exc)), True, code)

    def _client_error(self, exc, op, target):
        error = exc.response.get('Error', {})
        status = exc.response.get('ResponseMetadata', {}).get('HTTPStatusCode')
        code = error.get('Code') or ''
        if not status:
            status = int(code) if code.isdigit() else CODE_STATUS.get(code, 502)
        if not code or code.isdigit():  # HEAD errors have no body, hence no S3 code
            code = _status_phrase(status)
        if code == 'NoSuchBucket':
            message = "bucket '%s' does not exist at %s" % (self.bucket, self.where)
        elif status == 403:
            message = 'access denied to %s at %s (%s)' % (target, self.where, code)
        else:
            message = '%s %s at %s failed: %s' % (op, target, self.where, code)
            if error.get('Message'):
                message += ': ' + one_line(error['Message'])
        return RemoteError(status, message, code=code,
                           headers=metadata.s3_to_swift(exc.response),
                           body=(error.get('Message') or code).encode('utf-8'))

    def _call(self, op, key=None, **params):
        """One request, errors translated; ``key`` (an S3 key) also goes into the params."""
        if key is not None:
            params['Key'] = key
        try:
            sending_for(self.throttle)
            return getattr(self.client, op)(Bucket=self.bucket, **params)
        except (BotoCoreError, ClientError, OSError, urllib3.exceptions.HTTPError) as exc:
            raise self._error(exc, op, key) from None

    def _retried(self, op, key=None, **params):
        return self.retry.call(self._call, op, key, **params)

    def _stream(self, body, op, key, chunk_size):
        """Yield the body in chunks, turning mid-stream failures into RemoteError."""
        try:
            for chunk in body.iter_chunks(chunk_size):
                yield chunk
        except (BotoCoreError, OSError, urllib3.exceptions.HTTPError) as exc:
            raise self._error(exc, op, key) from None
        finally:
            body.close()

    # -- reads ----------------------------------------------------------
    def head_object(self, name):
        try:
            resp = self._retried('head_object', self.key(name))
        except RemoteError as err:
            if err.status == 404:
                return None
            raise
        headers = metadata.s3_to_swift(resp)
        return RemoteObject(name, resp['ETag'].strip('"'), resp['ContentLength'],
                            epoch(resp['LastModified']), headers)

    def get_object(self, name, headers=None, head=False, chunk_size=BODY_CHUNK):
        """Non-2xx answers below 500 are returned; 5xx and transport errors raise; the body
        comes in ``chunk_size`` pieces."""
        op = 'head_object' if head else 'get_object'
        key = self.key(name)
        try:
            if self._reader is not None and '_part_number' not in (headers or {}):
                return self.retry.call(self._signed_get, op, key, headers, head, chunk_size)
            resp = self._retried(op, key, **_request_params(headers))
        except RemoteError as err:
            if err.status >= 500 or err.headers is None:
                raise
            return self._error_response(err, head)
        out = metadata.s3_to_swift(resp)
        status = resp['ResponseMetadata']['HTTPStatusCode']
        if head:
            return RemoteResponse(status, out)
        body = resp['Body']
        return RemoteResponse(status, out, self._stream(body, op, key, chunk_size),
                              close=body.close)

    def _signed_get(self, op, key, headers, head, chunk_size):
        """``get_object`` through ``s3_get`` (the same request and answers, less CPU)."""
        if self.throttle:
            self.throttle.request(0)
        try:
            answer = self._reader.request('HEAD' if head else 'GET', key, headers)
            status = answer.status
            if head or status // 100 != 2:
                try:
                    body = answer.read()
                finally:
                    answer.release()
        except (OSError, http.client.HTTPException) as exc:
            raise self._error(exc, op, key) from None
        if status // 100 != 2:
            code, message = s3_get.error_fields(status, body)
            raise self._error(ClientError({
                'Error': {'Code': code, 'Message': message},
                'ResponseMetadata': {'HTTPStatusCode': status, 'HTTPHeaders': answer.headers}},
                op), op, key)
        out = metadata.s3_to_swift(answer.headers)
        if head:
            return RemoteResponse(status, out)
        return RemoteResponse(status, out, self._signed_body(answer, op, key, chunk_size),
                              close=answer.release)

    def _signed_body(self, answer, op, key, chunk_size):
        try:
            while True:
                chunk = answer.read(chunk_size)
                if not chunk:
                    return
                yield chunk
        except (OSError, http.client.HTTPException) as exc:
            raise self._error(exc, op, key) from None
        finally:
            answer.release()

    @staticmethod
    def _error_response(err, head):
        """A RemoteResponse for a 3xx/4xx: the S3 message as a short text body (none for HEAD
        and 304), with a content-length that matches it."""
        headers = {k: v for k, v in err.headers.items()
                   if k not in ('content-length', 'content-type', 'transfer-encoding')}
        if err.status == 304:
            return RemoteResponse(304, headers)
        body = b'' if head else err.body
        headers['content-length'] = str(len(body))
        if body:
            headers['content-type'] = 'text/plain; charset=utf-8'
        return RemoteResponse(err.status, headers, [body] if body else [])

    def _visible(self, name):
        return not (self.hide_manifests and layout.is_manifest_name(name))

    def _list_page(self, marker, limit, prefix, delimiter):
        params = {'Prefix': self.prefix + prefix, 'MaxKeys': limit}
        if marker:
            params['Marker'] = self.prefix + marker
        if delimiter:
            params['Delimiter'] = delimiter
        return self._retried('list_objects', **params)

    def _strip(self, key):
        return key[len(self.prefix):] if key.startswith(self.prefix) else None

    def list_objects(self, marker='', limit=1000, prefix='', delimiter='', end_marker=''):
        limit = min(int(limit), MAX_LIST)
        while limit > 0:
            resp = self._list_page(marker, limit, prefix, delimiter)
            entries = self._listing_entries(resp, end_marker)
            next_marker = self._next_marker(resp)
            # Only hidden manifests on this page: keep going rather than signal the end.
            if entries or not resp.get('IsTruncated') or not next_marker or (
                    end_marker and next_marker >= end_marker):
                return entries
            marker = next_marker
        return []

    def _next_marker(self, resp):
        last = [c['Key'] for c in resp.get('Contents', [])[-1:]]
        last += [p['Prefix'] for p in resp.get('CommonPrefixes', [])[-1:]]
        if resp.get('NextMarker'):
            last.append(resp['NextMarker'])
        return self._strip(max(last)) if last else None

    def _listing_entries(self, resp, end_marker):
        entries = []
        for obj in resp.get('Contents', []):
            name = self._strip(obj['Key'])
            if name is None or not self._visible(name) or (end_marker and name >= end_marker):
                continue
            entries.append({'name': name, 'hash': unquote(obj['ETag']).strip('"'),
                            'bytes': obj['Size'],
                            'last_modified': swift_time(obj['LastModified']),
                            'content_type': metadata.DEFAULT_CONTENT_TYPE,
                            'content_location': self.content_location})
        for common in resp.get('CommonPrefixes', []):
            subdir = self._strip(common['Prefix'])
            if subdir is None or (end_marker and subdir >= end_marker):
                continue
            entries.append({'subdir': subdir, 'content_location': self.content_location})
        entries.sort(key=lambda e: e.get('name', e.get('subdir')))
        return entries

    def iter_objects(self, marker='', end_marker='', prefix=''):
        while True:
            resp = self._list_page(marker, self.page_size, prefix, '')
            contents = resp.get('Contents', [])
            for obj in contents:
                name = self._strip(obj['Key'])
                if name is None or not self._visible(name):
                    continue
                if end_marker and name >= end_marker:
                    return
                yield RemoteObject(name, obj['ETag'].strip('"'), obj['Size'],
                                   epoch(obj['LastModified']))
            if not resp.get('IsTruncated') or not contents:
                return
            marker = self._strip(contents[-1]['Key'])

    def _read_key(self, key):
        resp = self._call('get_object', key)
        try:
            return resp['Body'].read()
        except (BotoCoreError, OSError, urllib3.exceptions.HTTPError) as exc:
            raise self._error(exc, 'get_object', key) from None
        finally:
            resp['Body'].close()

    def get_manifest(self, name):
        key = self.manifest_key(name)
        try:
            raw = self.retry.call(self._read_key, key)
        except RemoteError as err:
            if err.status == 404:
                return None
            raise
        try:
            return json.loads(raw)
        except ValueError:
            raise RemoteError(502, "SLO manifest '%s/%s' at %s is not valid JSON" % (
                self.bucket, key, self.where), False, 'InvalidManifest') from None

    # -- reading a source (the migrator) -----------------------------------
    def get_raw(self, name, headers=None):
        return self.get_object(name, headers, chunk_size=COPY_CHUNK)

    def get_part(self, name, number, etag):
        return self.get_object(name, {'if-match': '"%s"' % etag.strip('"'),
                                      '_part_number': number})

    def container_headers(self):
        try:
            self._retried('head_bucket')
        except RemoteError as err:
            if err.status == 404:
                return None
            raise
        return {}

    def _list_buckets(self):
        sending_for(self.throttle)
        return self.client.list_buckets()

    def list_containers(self, marker='', limit=1000, prefix=''):
        """ListBuckets has no paging: the whole list, cut to the page asked for."""
        try:
            resp = self.retry.call(self._list_buckets)
        except (BotoCoreError, ClientError, OSError, urllib3.exceptions.HTTPError) as exc:
            raise self._error(exc, 'list_buckets', None) from None
        names = sorted((b['Name'], b.get('CreationDate')) for b in resp.get('Buckets', []))
        out = []
        for name, created in names:
            if name <= marker or not name.startswith(prefix):
                continue
            out.append({'name': name, 'count': 0, 'bytes': 0,
                        'last_modified': swift_time(created) if created else None})
            if len(out) >= limit:
                break
        return out

    # -- writes ---------------------------------------------------------
    def put_object(self, name, headers, body, size):
        """One streamed PutObject; not retried here (the body cannot be rewound).

        Large objects (SLO/DLO content) go through :meth:`put_large` instead."""
        if size <= SMALL_BODY:   # sent with its headers (s3_client.send_small_body_whole)
            body = self._read_small_body(name, body, size)
        params = dict(Body=body, ContentLength=size, **metadata.s3_fields(headers), **self.sse)
        md5 = metadata.content_md5(headers.get('etag'))
        if md5:
            params['ContentMD5'] = md5
        resp = self._call('put_object', self.key(name), **params)
        return resp['ETag'].strip('"')

    def _read_small_body(self, name, body, size):
        """The whole body as bytes (see SMALL_BODY); a short read is a retryable error, since
        a PutObject declaring ``size`` bytes and sending fewer would hang until the timeout."""
        data = body.read(size)
        while len(data) < size:     # a file-like may return less than asked before its end
            more = body.read(size - len(data))
            if not more:
                break
            data += more
        if len(data) != size:
            raise RemoteError(502, "PutObject '%s/%s': the local object gave %d of %d bytes" % (
                self.bucket, self.key(name), len(data), size), True, 'IncompleteBody')
        return data

    def update_metadata(self, name, headers, etag):
        """CopyObject onto itself with REPLACE, conditional on the etag: one request.

        False when the object is missing (404), has changed (412) or is archived in Glacier
        (InvalidObjectState: its metadata cannot be changed, so the caller re-uploads).

        A store that ignores the condition (moto; radosgw 16 without the header it reads)
        copies whatever object is there: the copy's own ETag then names another object, whose
        metadata this copy has just replaced. That is answered as a 412 would be, so the
        caller uploads the local object, which writes the newest local state over it."""
        key = self.key(name)
        etag = etag.strip('"')
        try:
            resp = self._retried(
                'copy_object', key, CopySource={'Bucket': self.bucket, 'Key': key},
                CopySourceIfMatch='"%s"' % etag, MetadataDirective='REPLACE',
                **metadata.s3_fields(headers), **self.sse)
        except RemoteError as err:
            if err.status in (404, 412) or err.code == 'InvalidObjectState':
                return False
            raise
        copied = (resp.get('CopyObjectResult') or {}).get('ETag', '').strip('"')
        if copied and copied != etag:
            if self.logger:
                self.logger.warning(
                    "'%s/%s' at %s ignored the copy's If-Match %s (copied %s): uploading "
                    "instead", self.bucket, key, self.where, etag, copied)
            return False
        return True

    # -- large objects (see s3_multipart) ------------------------------------
    def put_large(self, name, headers, source):
        """Multipart upload (or one PUT when small, always one PUT on GCS) plus the manifest."""
        fields = s3_multipart.marker_metadata(headers, source)
        uploads = s3_multipart.MultipartUploads(self)
        if self.google or source.size <= s3_multipart.SINGLE_PUT_LIMIT:
            return uploads.put_single(name, fields, source)
        return uploads.put_multipart(name, fields, source)

    def update_large_metadata(self, name, headers, source, remote):
        """Conditional CopyObject for a single-PUT remote, part copies for a multipart one."""
        if '-' not in remote.etag:
            meta_headers = dict(headers, **{source.marker: source.etag})
            return self.update_metadata(name, meta_headers, remote.etag)
        fields = s3_multipart.marker_metadata(headers, source)
        etag = s3_multipart.MultipartUploads(self).copy_parts(name, fields, source, remote)
        return etag if etag is None else bool(etag)

    def compose_object(self, name, headers, source_keys):
        """Write ``name`` (Swift-style ``headers``) as the concatenation of the objects at
        ``source_keys`` of this bucket, server side: one multipart upload of part copies (each
        source but the last >= 5 MiB, as S3 requires). Returns the new ETag (``<md5>-N``, the
        one S3 gives the client's own multipart upload of those parts). proxymc completes S3
        multipart uploads with it; aborted on any failure."""
        key = self.key(name)
        upload_id = self._retried('create_multipart_upload', key, **metadata.s3_fields(headers),
                                  **self.sse)['UploadId']
        try:
            parts = []
            for number, source in enumerate(source_keys, 1):
                resp = self._retried('upload_part_copy', key, UploadId=upload_id,
                                     PartNumber=number,
                                     CopySource={'Bucket': self.bucket, 'Key': source})
                parts.append({'PartNumber': number,
                              'ETag': resp['CopyPartResult']['ETag']})
            resp = self._retried('complete_multipart_upload', key, UploadId=upload_id,
                                 MultipartUpload={'Parts': parts})
        except BaseException:
            s3_multipart.MultipartUploads(self).abort(key, upload_id)
            raise
        return resp['ETag'].strip('"')

    def abort_upload(self, key, upload_id):
        return s3_multipart.MultipartUploads(self).abort(key, upload_id)

    def abort_uploads_of(self, key):
        return s3_multipart.MultipartUploads(self).abort_orphans(key)

    def large_data_matches(self, remote, source):
        if remote.size != source.size:
            return False
        if (remote.headers or {}).get(source.marker) == source.etag:
            return True
        return remote.etag == s3_multipart.expected_etag(source)

    def delete_objects(self, names):
        """One DeleteObjects per 500 names covering each object and its SLO manifest key."""
        names = list(names)
        for start in range(0, len(names), DELETE_BATCH):
            keys = []
            for name in names[start:start + DELETE_BATCH]:
                keys += [self.key(name), self.manifest_key(name)]
            if self.features.bulk_delete:
                try:
                    self.retry.call(self._delete_batch, keys)
                    continue
                except RemoteError as err:
                    if err.status != 501 and err.code not in NOT_IMPLEMENTED_CODES:
                        raise
                    # this target lacks DeleteObjects
                    self.features = self.features._replace(bulk_delete=False)
            for key in keys:
                self._delete_one(key)

    def _delete_batch(self, keys):
        resp = self._call('delete_objects', Delete={
            'Objects': [{'Key': key} for key in keys], 'Quiet': True})
        errors = [e for e in resp.get('Errors', []) if e.get('Code') != 'NoSuchKey']
        if errors:
            first = errors[0]
            code = first.get('Code') or 'UnknownError'
            status = CODE_STATUS.get(code, 502)
            raise RemoteError(status, "delete of %d key(s) in bucket '%s' at %s failed, "
                              "first '%s': %s" % (len(errors), self.bucket, self.where,
                                                  first.get('Key'), code), code=code)

    def _delete_one(self, key):
        try:
            self._retried('delete_object', key)
        except RemoteError as err:
            if err.status != 404:
                raise

    def set_expiry_rule(self, days):
        """The bucket lifecycle rule of ``remote_delete_after`` (see ``providers.lifecycle``)."""
        return lifecycle.apply_rule(self, days)

    # -- setup ----------------------------------------------------------
    def check(self, create=False):
        """List one key (unlike HEAD bucket, errors carry the S3 code: NoSuchBucket,
        InvalidAccessKeyId, SignatureDoesNotMatch); create the bucket when asked.

        With ``shared``, a bucket found usable is not checked again by the providers of other
        containers (the same client and bucket: the same answer), and one check in flight
        answers all of them."""
        if self.shared is None:
            self._check(create)
        else:
            # (create in the key: a check that may create answers only those that may)
            self.shared.check_once((client_key(self.mapping), self.bucket, create),
                                   lambda: self._check(create))

    def _check(self, create):
        try:
            self._retried('list_objects', Prefix=self.prefix, MaxKeys=1)
        except RemoteError as err:
            if not (create and err.code == 'NoSuchBucket'):
                raise
            self._create_bucket()

    def _create_bucket(self):
        params = {}
        region = self.mapping.aws_region
        if layout.is_aws(self.endpoint) and region != 'us-east-1':
            params['CreateBucketConfiguration'] = {'LocationConstraint': region}
        try:
            self._retried('create_bucket', **params)
        except RemoteError as err:
            if err.code not in ('BucketAlreadyOwnedByYou',):
                raise

    def close(self):
        """Close the client made for this provider; a lent or shared one is its owner's."""
        if self._client is not None and self._owns_client:
            self._client.close()
        if self._reader is not None:
            self._reader.close()
        self._client = None
        self._owns_client = False

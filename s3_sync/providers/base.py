"""The one interface every remote store implements.

A provider serves one mapping (one ``containers[]`` entry of the config) and, for ``"/*"``
mappings, one real container of the account. The sync daemon, the shunt and proxymc talk only to
this interface, never to boto3 or swiftclient directly.

Conventions shared by all providers:

* object names are ``str`` (the Swift object name, not the remote key: the provider applies the
  key layout itself);
* headers going in and coming out are Swift-style, lower-case keys: ``content-type``,
  ``x-object-meta-<name>``, ``x-static-large-object``, ``x-object-manifest``, ``etag`` (unquoted
  hex), ``content-length``, ``last-modified``; S3 metadata encoding is the provider's business;
* a remote failure raises :class:`RemoteError`; "not there" is a return value, not an error.
"""
import collections

from s3_sync import retry


# Last-Modified is an HTTP date, whole seconds, rounded down by S3 and up by Swift: a remote copy
# is only known to be written after a moment when it says so by more than this.
LAST_MODIFIED_SLACK = 1.0
# A remote GET body is handed on in pieces this large: every piece costs a pass through the
# proxy's middlewares and a socket write on the way to the client, and in 64 KiB pieces a
# 16 MiB GET through the shunt or proxymc went at under half the remote's own speed.
BODY_CHUNK = 2 ** 20
# A source body the migrator copies into the local cluster is read in pieces this large: the
# local proxy takes 64 KiB at a time (its client_chunk_size) whatever it is offered, so larger
# pieces only hold more memory per object in flight (two 1 MiB pieces per stream made a
# node's RSS grow by ~2 MiB per large object copied at once), for no less CPU per byte.
COPY_CHUNK = 2 ** 16


def written_after(last_modified, when):
    """True when a remote copy with ``last_modified`` was surely written after ``when``."""
    return last_modified is not None and last_modified > when + LAST_MODIFIED_SLACK


class RemoteError(Exception):
    """A remote request failed.

    ``status`` is the HTTP status (502 when no response arrived), ``message`` one line that names
    what failed without any secret; ``retryable`` says whether the same request may succeed later
    (by default ``retry.retryable_status``: 5xx, throttling, timeouts); ``code`` the store's
    error code (S3's ``NoSuchUpload``...) or None; ``headers`` the Swift-style response headers
    (None when no response arrived); ``body`` the error body a client may be shown.
    """

    def __init__(self, status, message, retryable=None, code=None, headers=None, body=b''):
        super().__init__('%s %s' % (status, message))
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers
        self.body = body
        if retryable is None:
            retryable = retry.retryable_status(status, code)
        self.retryable = retryable


class Features(collections.namedtuple('Features', [
        'large_objects',       # put_large / update_large_metadata / large_data_matches work
        'container_metadata',  # set_container_metadata works (container metadata and ACLs)
        'expiry',              # objects can carry an expiry time (x-delete-at/-after)
        'lifecycle',           # set_expiry_rule works (a bucket rule expires a key prefix)
        'bulk_delete',         # delete_objects removes many objects in one request
        'conditional_copy',    # update_metadata is one server-side copy conditional on the etag
        'ranged_raw_reads',    # get_raw honours Range and If-Match (a broken copy reads on)
])):
    """What a remote store can do, declared by its provider (as rclone's backends declare
    their ``Features``), so callers ask about capabilities instead of testing protocol names."""

    def __new__(cls, **flags):
        return super().__new__(cls, **{name: flags.get(name, False) for name in cls._fields})


class LocalDataError(Exception):
    """The local bytes are not what the source promised (a segment changed or came up short).

    ``retryable`` is False when the same read would fail again (md5 mismatch), True for a
    short read (a dropped local connection)."""

    def __init__(self, message, retryable=False):
        super().__init__(message)
        self.retryable = retryable


class RemoteObject:
    """What a HEAD or a listing says about one remote object."""

    __slots__ = ('name', 'etag', 'size', 'last_modified', 'headers')

    def __init__(self, name, etag, size, last_modified, headers=None):
        self.name = name                    # Swift object name (layout prefix removed)
        self.etag = etag                    # unquoted; S3 MPU etags keep their "-N"
        self.size = size
        self.last_modified = last_modified  # float epoch seconds
        self.headers = headers              # Swift-style dict from HEAD; None from listings

    def __repr__(self):
        return 'RemoteObject(%r, etag=%r, size=%r, last_modified=%r)' % (
            self.name, self.etag, self.size, self.last_modified)


class RemoteResponse:
    """A streamed GET/HEAD answer, for the shunt: status, Swift-style headers, body iterator.

    ``close()`` releases the connection; always call it (or exhaust ``body``).
    """

    def __init__(self, status, headers, body=(), close=None):
        self.status = status
        self.headers = headers
        self.body = body
        self._close = close

    def close(self):
        if self._close:
            self._close()
            self._close = None


class Provider:
    """Base class; see the module docstring for conventions."""

    name = 'remote'             # the kind of store, for log lines only
    features = Features()
    # Headers of a large object the provider rewrites on the remote (Swift points a DLO's
    # x-object-manifest at the remote segments): never compared with the local ones.
    rewritten_headers = ()
    # The daemon's journal of multipart uploads in flight (``s3_sync.sync.journal``), or None:
    # each upload is noted in it when created and struck off when completed or aborted.
    journal = None
    # The daemon's throttle of this mapping (``s3_sync.throttle.Throttle``), or None: the
    # provider's transport takes from it before every HTTP request it sends to the remote.
    throttle = None

    def __init__(self, mapping, container=None, logger=None, retry_policy=None):
        self.mapping = mapping
        self.account = mapping.account
        self.container = container or mapping.container
        self.logger = logger
        # Every request of this provider is retried by this one policy (s3_sync.retry).
        self.retry = retry_policy or retry.DEFAULT_POLICY

    # -- naming ---------------------------------------------------------
    @property
    def content_location(self):
        """The listing annotation the shunt adds to remote entries."""
        raise NotImplementedError

    # -- reads ----------------------------------------------------------
    def head_object(self, name):
        """RemoteObject with ``headers``, or None when absent."""
        raise NotImplementedError

    def get_object(self, name, headers=None, head=False):
        """RemoteResponse for a GET (or HEAD); ``headers`` carries Range and conditionals.

        Non-2xx answers (304, 404, 412, 416) are returned, not raised."""
        raise NotImplementedError

    def list_objects(self, marker='', limit=1000, prefix='', delimiter='', end_marker=''):
        """One page of Swift-style listing dicts, sorted by name.

        Objects: ``{name, hash, bytes, last_modified, content_type, content_location}``;
        subdirs: ``{subdir, content_location}``. ``[]`` at the end."""
        raise NotImplementedError

    def iter_objects(self, marker='', end_marker='', prefix=''):
        """RemoteObject for every remote object with marker < name < end_marker (both optional),
        in name order, paging as needed. Used for batched verification."""
        raise NotImplementedError

    def get_manifest(self, name):
        """The SLO manifest stored beside a remote object (list of dicts), or None."""
        raise NotImplementedError

    # -- reading a source (the migrator) -----------------------------------
    def get_raw(self, name, headers=None):
        """RemoteResponse (200 or 404) for the object as stored: a Swift SLO's manifest
        (``multipart-manifest=get``) rather than its content; the same as ``get_object``
        where the store has no manifests. Its body comes in ``COPY_CHUNK`` pieces. With
        ``features.ranged_raw_reads``, ``headers`` may carry Range and If-Match (206, 412).
        """
        raise NotImplementedError

    def get_part(self, name, number, etag):
        """RemoteResponse for part ``number`` (from 1) of a multipart object whose etag is
        ``etag`` (412 when the object changed meanwhile). S3 only."""
        raise NotImplementedError

    def container_headers(self):
        """Swift-style headers of the source container (metadata, ACLs, versioning), ``{}``
        where the store has none, or None when it does not exist."""
        raise NotImplementedError

    def account_headers(self):
        """Swift-style headers of the source account (Swift sources only)."""
        raise NotImplementedError

    def list_containers(self, marker='', limit=1000, prefix=''):
        """One page of ``{name, count, bytes, last_modified}`` of the account's containers
        (S3: buckets, one page), sorted by name; ``[]`` at the end."""
        raise NotImplementedError

    # -- writes ---------------------------------------------------------
    def put_object(self, name, headers, body, size):
        """Upload ``size`` bytes read from the file-like ``body`` with the given Swift-style
        headers. ``headers['etag']`` (md5 hex) is sent for the remote to check integrity.
        Returns the remote etag."""
        raise NotImplementedError

    def update_metadata(self, name, headers, etag):
        """Replace the remote object's metadata in place, only if its etag is still ``etag``.

        Returns False when the remote object is missing or has another etag (the caller then
        uploads the data); never re-uploads the body itself."""
        raise NotImplementedError

    # -- large objects ----------------------------------------------------
    # ``source`` (built by ``s3_sync.sync.large``) describes the content of a local SLO or DLO:
    #   size      total bytes;
    #   pieces    [piece]: ``size``, ``md5`` (hex md5 of exactly those bytes, or None) and
    #             ``open(offset, length)`` -> iterable of bytes (with ``close()``), reading that
    #             range of the local object; a piece re-opens for every retry;
    #   etag      the Swift identity of the content (SLO etag, DLO etag);
    #   marker    the Swift-style metadata key recording ``etag`` remotely
    #             (``x-object-meta-swift-slo-etag`` / ``x-object-meta-swift-source-dlo-etag``);
    #   manifest  the raw SLO manifest bytes to store beside the object, or None (DLO);
    #   still_current()  False when the local object changed: asked right before the commit.
    def put_large(self, name, headers, source):
        """Upload the content of a large object with ``headers`` (Swift-style) plus the marker.

        Returns the remote etag, or None when ``still_current()`` said no: a multipart upload
        is then aborted uncommitted; a single PUT (small objects) has already committed a
        complete earlier version, which the newer row replaces. Never leaves partial uploads
        behind; raises RemoteError on failure."""
        raise NotImplementedError

    def update_large_metadata(self, name, headers, source, remote):
        """Replace the metadata of the large object ``remote`` (a RemoteObject whose data
        ``large_data_matches`` the source) without uploading its data again.

        True when done, False when the remote changed meanwhile (the caller uploads), None
        when ``still_current()`` said no."""
        raise NotImplementedError

    def large_data_matches(self, remote, source):
        """True when ``remote`` (a RemoteObject with headers) already holds ``source``'s data."""
        raise NotImplementedError

    def abort_upload(self, key, upload_id):
        """Abort the multipart upload ``upload_id`` of remote ``key``; True when it is gone
        (aborted, or not there). Stores without multipart uploads never have one to abort."""
        return True

    def abort_uploads_of(self, key):
        """Abort every multipart upload of remote ``key`` (one a create whose answer was lost
        left); True when none is left."""
        return True

    def delete_objects(self, names):
        """Delete these objects (and any SLO manifest stored beside them); missing is fine."""
        raise NotImplementedError

    # -- expiry (remote_delete_after, propagate_expiration) -----------------
    def expires_at(self, headers):
        """The fixed moment (epoch) the remote copy of an object with these local headers
        would expire at, or None. Only stores with ``features.expiry`` have one."""
        return None

    def expiry_matches(self, local_headers, remote_headers):
        """True when the remote copy already has the expiry the local object asks for."""
        return True

    def set_expiry_rule(self, days):
        """Make the store expire this mapping's (and container's) objects ``days`` after they
        were written, by a bucket rule (``features.lifecycle``). Returns one of
        ``providers.lifecycle``'s outcomes; raises RemoteError."""
        raise NotImplementedError

    def set_container_metadata(self, headers):
        """Set container-level headers (``X-Container-Meta-*``, ACLs) on the remote container.

        Only targets that have such a thing (Swift) implement it."""
        raise NotImplementedError

    def check(self, create=False):
        """Verify the destination is reachable and writable enough to start; create the
        bucket/container when ``create``. Raises RemoteError with a clear message."""
        raise NotImplementedError

    def close(self):
        """Release connections."""

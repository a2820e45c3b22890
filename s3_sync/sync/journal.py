"""The multipart uploads this node started and has not finished, written down in ``status_dir``.

A kill -9 in the middle of a multipart upload leaves the upload open on the remote, its parts
billed until a bucket lifecycle rule (AbortIncompleteMultipartUpload) removes them. The row
behind it is usually handed again after the restart, and a new upload of the same key aborts
the old one first, but not always: the row may have been superseded meanwhile (the object
overwritten or deleted), the restart's batched listing may find the object on the remote
already (an earlier copy, an upload another replica finished), and a metadata copy of a large
object starts no new upload of its data. So each upload is written down before it is asked for (an *intent*: a create whose answer is
lost, to a kill, a reset or a timeout and retry, leaves an upload whose id nobody learnt), its id
once created, and struck off once it is completed or aborted. A starting daemon aborts, by upload
id, whatever the journal still lists, and for an intent still listed every upload of that key (as
a new upload of the key would; the store's "initiated" dates cannot tell which: moto gives one
fixed date). An abort that fails stays listed for the next start.

``<status_dir>/.multipart-uploads`` (a dot file beside the account directories, which the
status-file pruning leaves alone)::

    {"<upload id>": {"endpoint": "...", "bucket": "...", "identity": "...", "key": "...",
                     "started": 1733059200.0},
     "intent-<hex>": {... the same fields ...}}
"""
import json
import os
import time
import uuid

from s3_sync.crawler.progress import atomic_write_json
from s3_sync.log import one_line

JOURNAL_NAME = '.multipart-uploads'
INTENT_PREFIX = 'intent-'


class UploadJournal:
    """The journal file of one node; every change is one atomic write (an upload is at least
    8 MiB of data, so two small writes per upload cost nothing next to it)."""

    def __init__(self, status_dir, logger=None, clock=time.time):
        self.path = os.path.join(status_dir, JOURNAL_NAME)
        self.logger = logger
        self.clock = clock
        self.entries = self._read()

    def _read(self):
        try:
            with open(self.path, 'rb') as f:
                data = json.loads(f.read().decode('utf-8'))
        except FileNotFoundError:
            return {}
        except ValueError as exc:
            self._warn('%s is unreadable (%s); uploads it listed are left to the bucket\'s '
                       'lifecycle rules', self.path, exc)
            return {}
        if not isinstance(data, dict):
            return {}
        return {k: v for k, v in data.items() if isinstance(v, dict) and v.get('key')}

    def _save(self):
        atomic_write_json(self.path, self.entries)

    def _warn(self, msg, *args):
        if self.logger is not None:
            self.logger.warning(msg, *args)

    def intending(self, provider, key):
        """Note an upload of ``key`` about to be created; the token naming the note."""
        token = INTENT_PREFIX + uuid.uuid4().hex
        self.entries[token] = {
            'endpoint': provider.mapping.aws_endpoint, 'bucket': provider.bucket,
            'identity': provider.mapping.aws_identity, 'key': key, 'started': self.clock()}
        self._save()
        return token

    def created(self, token, upload_id, orphans_left=False):
        """The upload noted as ``token`` exists as ``upload_id``. With ``orphans_left`` (an
        earlier attempt's upload may exist and could not be aborted) the note stays too."""
        entry = dict(self.entries[token])
        if not orphans_left:
            del self.entries[token]
        self.entries[upload_id] = entry
        self._save()

    def finished(self, upload_id):
        if self.entries.pop(upload_id, None) is not None:
            self._save()

    def abort_left(self, mappings, make_provider):
        """Abort every upload still listed (a daemon killed while it was in flight) through
        the provider ``make_provider(mapping)`` of a mapping with the same endpoint, bucket and
        identity; an upload no mapping reaches any more is logged and kept. Returns the number
        of uploads aborted."""
        aborted = 0
        for upload_id, entry in sorted(self.entries.items()):
            mapping = _mapping_for(entry, mappings)
            if mapping is None:
                self._warn('multipart upload %s of %s/%s (left by a stopped daemon) cannot be '
                           'aborted: no mapping names that bucket at %s any more', upload_id,
                           entry.get('bucket'), entry['key'], entry.get('endpoint') or 'AWS')
                continue
            provider = make_provider(mapping)
            try:
                if upload_id.startswith(INTENT_PREFIX):
                    gone = provider.abort_uploads_of(entry['key'])
                else:
                    gone = provider.abort_upload(entry['key'], upload_id)
            except Exception as exc:
                gone = False
                self._warn('abort of multipart upload %s of %s: %s', upload_id, entry['key'],
                           one_line(exc, first_line=True))
            finally:
                provider.close()
            if gone:
                self.finished(upload_id)
                aborted += 1
                if self.logger is not None:
                    what = ('the uploads of a create whose answer never came' if
                            upload_id.startswith(INTENT_PREFIX) else 'multipart upload %s' %
                            upload_id)
                    self.logger.info('aborted %s of %s/%s, left by a stopped daemon', what,
                                     entry.get('bucket'), entry['key'])
        return aborted


def _mapping_for(entry, mappings):
    for mapping in mappings:
        if mapping.protocol == 's3' and mapping.aws_bucket == entry.get('bucket') and \
                mapping.aws_endpoint == entry.get('endpoint') and \
                mapping.aws_identity == entry.get('identity'):
            return mapping
    return None

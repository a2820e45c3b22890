"""Rails on what the daemon sends to the remotes: the delete rail.

**Delete rail** (like rclone's ``--max-delete``): per mapping, at most ``max_deletes_per_pass``
propagated deletes and ``max_delete_bytes_per_pass`` bytes of deleted remote objects in one full
pass (0: no limit, the default). The first delete past a limit trips the rail: from then on
every delete of that mapping is held (the row stays pending with the error
``delete held by the delete rail``, re-checked every ``HOLD_SECONDS``), one line is logged, the
node report and ``status`` flag it, and the trip is kept in ``<status_dir>/.delete-rails`` so a
restart does not let the deletes through. ``swift-s3-sync retry-failed --allow-deletes``
releases it: the deletes written up to the request go through (the limit does not count them);
later ones count afresh.
"""
import json
import os
import time

from s3_sync.crawler.failures import HELD
from s3_sync.crawler.progress import atomic_write_json
from s3_sync.rows import row_timestamps
from s3_sync.sync.outcome import Retry

RAILS_FILE = '.delete-rails'
HOLD_SECONDS = 300.0


def mapping_label(mapping):
    return '%s/%s -> %s' % (mapping.account, mapping.container, mapping.aws_bucket)


class DeleteRails:
    def __init__(self, status_dir, logger, clock=time.time):
        self.path = os.path.join(status_dir, RAILS_FILE) if status_dir else None
        self.logger = logger
        self.clock = clock
        self.counts = {}        # mapping label -> [deletes, bytes] this pass
        self.released = {}      # mapping label -> deletes written up to then pass freely
        self.tripped = self._load()

    @staticmethod
    def limited(mapping):
        return bool(mapping.max_deletes_per_pass or mapping.max_delete_bytes_per_pass)

    @staticmethod
    def needs_size(mapping):
        return bool(mapping.max_delete_bytes_per_pass)

    def _load(self):
        if not self.path:
            return {}
        try:
            with open(self.path, 'rb') as f:
                data = json.loads(f.read().decode('utf-8'))
            return data if isinstance(data, dict) else {}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            # Unreadable: hold nothing back by mistake forever, but say so.
            self.logger.warning('ignoring %s: %s', self.path, exc)
            return {}

    def _save(self):
        if self.path:
            try:
                atomic_write_json(self.path, self.tripped)
            except OSError as exc:
                self.logger.warning('cannot save %s: %s', self.path, exc)

    def new_pass(self, *_args):
        """A full pass ended: the per-pass counts start again (a crawler observer)."""
        self.counts = {}

    def hold(self, mapping, account, container, row, size=0):
        """None when the delete of ``row`` may go to the remote (and it is counted), else the
        Retry that holds it."""
        if not self.limited(mapping):
            return None
        label = mapping_label(mapping)
        deleted_at = float(row_timestamps(row)[0])
        if deleted_at <= self.released.get(label, 0):
            return None
        if label not in self.tripped:
            count = self.counts.setdefault(label, [0, 0])
            over = []
            if mapping.max_deletes_per_pass and count[0] + 1 > mapping.max_deletes_per_pass:
                over.append('%d deletes' % mapping.max_deletes_per_pass)
            if mapping.max_delete_bytes_per_pass and \
                    count[1] + size > mapping.max_delete_bytes_per_pass:
                over.append('%d bytes' % mapping.max_delete_bytes_per_pass)
            if not over:
                count[0] += 1
                count[1] += size
                return None
            self.tripped[label] = {
                'since': self.clock(), 'account': account, 'container': container,
                'aws_bucket': mapping.aws_bucket,
                'reason': 'more than %s in one pass' % ' or '.join(over)}
            self._save()
            self.logger.error(
                'delete rail tripped for %s: more than %s in one pass; deletes of this mapping '
                'are held until `swift-s3-sync retry-failed --allow-deletes`', label,
                ' or '.join(over))
        return Retry(self.clock() + HOLD_SECONDS, '%s (%s)' % (
            HELD, self.tripped[label]['reason']))

    def release(self, mapping, until):
        """Let the deletes of ``mapping`` written up to ``until`` (epoch) through."""
        label = mapping_label(mapping)
        self.released[label] = max(self.released.get(label, 0), until)
        if label in self.tripped and self.tripped[label]['since'] <= until:
            del self.tripped[label]
            self._save()
            self.logger.info('delete rail of %s released', label)

    def held(self):
        """The tripped mappings, for the node report."""
        return [dict(v, mapping=k) for k, v in sorted(self.tripped.items())]


def read_held(status_dir):
    """The tripped rails as saved by the daemon (for ``status``); [] when none."""
    path = os.path.join(status_dir, RAILS_FILE)
    try:
        with open(path, 'rb') as f:
            data = json.loads(f.read().decode('utf-8'))
    except (OSError, ValueError):
        return []
    return [dict(v, mapping=k) for k, v in sorted(data.items())] if isinstance(data, dict) \
        else []

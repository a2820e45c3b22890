"""The node's recon-style cache file: ``<recon_cache_path>/s3_sync.recon``.

JSON, merged by top-level key like Swift's ``dump_recon_cache``, so monitoring that reads
``*.recon`` files reads this one too; replaced atomically with a dot-named temp file (the daemon
is its only writer; a kill -9 leaves no half-written file that looks like a status file).
Keys::

    {"node": "<ip>:<port>", "last_pass": {"start", "end", "duration", "dbs", "scanned",
     "handled", "verified", "pending", "errors"}, "report": <the node report>,
     "report_time": <epoch>, "throttles": {...}, "delete_rails": {...}}
"""
import json
import os

from s3_sync.crawler.progress import atomic_write_json
from s3_sync.status import StatusError

RECON_FILE = 's3_sync.recon'


def recon_path(conf):
    return os.path.join(conf.recon_cache_path or conf.status_dir, RECON_FILE)


def dump(conf, data, logger):
    """Merge ``data`` into the node's recon file (OSError: the caller logs it)."""
    try:
        current = load(conf)
    except StatusError:
        current = {}        # corrupt: replaced whole
    current.update(data)
    atomic_write_json(recon_path(conf), current)


def load(conf):
    """The node's recon file as a dict (``{}`` before the daemon wrote one)."""
    path = recon_path(conf)
    try:
        with open(path, 'rb') as f:
            raw = f.read()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise StatusError('cannot read %s: %s' % (path, exc.strerror or exc))
    try:
        data = json.loads(raw.decode('utf-8'))
    except ValueError as exc:
        raise StatusError('%s is corrupt: %s' % (path, exc))
    if not isinstance(data, dict):
        raise StatusError('%s is corrupt: not a JSON object' % path)
    return data

"""The node's recon-style cache file: ``<recon_cache_path>/s3_sync.recon``.

JSON, merged by top-level key like Swift's ``dump_recon_cache``, so monitoring that reads
``*.recon`` files reads this one too; replaced atomically with a dot-named temp file (the daemon
is its only writer; a kill -9 leaves no half-written file that looks like a status file).
Keys::

    {"node": "<ip>:<port>", "last_pass": {"start", "end", "duration", "dbs", "scanned",
     "handled", "verified", "pending", "errors"}, "report": <the node report>,
     "report_time": <epoch>, "throttles": {...}, "delete_rails": {...}}
"""
import os

from s3_sync.crawler.progress import atomic_write_json, holding
from s3_sync.status import StatusError
from s3_sync.status.report import read_json_object

RECON_FILE = 's3_sync.recon'


def recon_path(conf):
    return os.path.join(conf.recon_cache_path or conf.status_dir, RECON_FILE)


def dump(conf, data, logger):
    """Merge ``data`` into the node's recon file (OSError: the caller logs it)."""
    path = recon_path(conf)
    with holding(path):     # the write yields: no other dump between our read and write
        try:
            current = load(conf)
        except StatusError:
            current = {}        # corrupt: replaced whole
        current.update(data)
        atomic_write_json(path, current)


def load(conf):
    """The node's recon file as a dict (``{}`` before the daemon wrote one)."""
    return read_json_object(recon_path(conf))

"""The node's recon-style cache file: ``<recon_cache_path>/s3_sync.recon``.

JSON, written the way Swift's daemons write theirs (``swift.common.utils.dump_recon_cache``:
locked, merged by top-level key, atomic), so monitoring that reads ``*.recon`` files reads this
one too. Keys::

    {"node": "<ip>:<port>", "last_pass": {"start", "end", "duration", "dbs", "scanned",
     "handled", "verified", "pending", "errors"}, "report": <the node report>,
     "report_time": <epoch>, "throttles": {...}, "delete_rails": {...}}
"""
import json
import os

from swift.common.utils import dump_recon_cache

from s3_sync.status import StatusError

RECON_FILE = 's3_sync.recon'


def recon_path(conf):
    return os.path.join(conf.recon_cache_path or conf.status_dir, RECON_FILE)


def dump(conf, data, logger):
    """Merge ``data`` into the node's recon file (errors are logged by Swift's helper)."""
    path = recon_path(conf)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
    except OSError as exc:
        logger.warning('cannot create %s: %s', os.path.dirname(path), exc)
        return
    dump_recon_cache(data, path, logger)


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

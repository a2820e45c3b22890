"""Loading and validating the one JSON config shared by the daemon, verify, the shunt and proxymc.

``load_config(path)`` returns the parsed file with every default filled in (globals and each
``containers[]`` mapping). Mappings stay plain dicts with the original product's key names, so
existing ``sync.json`` files work unchanged. Any problem raises :class:`ConfigError`, whose
``str()`` is one line naming the file and the key path.
"""
import json

from s3_sync.config.errors import ConfigError
from s3_sync.config.schema import MAPPING_DEFAULTS, POLICY_KEYS
from s3_sync.config.validate import validate_config

__all__ = ['ConfigError', 'MAPPING_DEFAULTS', 'load_config', 'mapping_policy',
           'validate_config']

DEFAULT_PATH = '/etc/swift-s3-sync/sync.json'


def read_json(path):
    """The parsed content of ``path``; every failure is a one-line ConfigError."""
    try:
        with open(path, 'rb') as f:
            raw = f.read()
    except OSError as exc:
        raise ConfigError(None, 'cannot read config: %s' % (exc.strerror or exc), path)
    try:
        text = raw.decode('utf-8')
    except UnicodeDecodeError as exc:
        raise ConfigError(None, 'not UTF-8 (byte %d)' % exc.start, path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(None, 'invalid JSON at line %d column %d: %s' % (
            exc.lineno, exc.colno, exc.msg), path)


def load_config(path=DEFAULT_PATH, for_daemon=True):
    """Parse, validate and fill in defaults. ``for_daemon=False`` (shunt, proxymc) makes
    ``devices``, ``status_dir`` and ``items_chunk`` optional."""
    return validate_config(read_json(path), path, for_daemon=for_daemon)


def mapping_policy(mapping):
    """The ``policy`` dict stored in status files (behaviour 3.4): a change to any of these
    settings restarts the container's crawl from row 0."""
    return {key: mapping.get(key, MAPPING_DEFAULTS[key]) for key in POLICY_KEYS}

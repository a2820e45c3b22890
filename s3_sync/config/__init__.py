"""Loading and checking the one JSON config shared by the daemon, verify, the shunt and proxymc.

``load_config(path)`` returns a frozen :class:`Config` whose ``containers`` are :class:`Mapping`
objects, every default filled in from ``schema.py`` (the one place defaults live). Existing
``sync.json`` files of the original product load unchanged. Any problem raises
:class:`ConfigError`, whose ``str()`` is one line naming the file and the key path; remarks that
do not stop a start (unknown keys, keys this version does not apply) are in
``Config.warnings``, for the caller to log once.
"""
import json

from s3_sync.config.errors import ConfigError
from s3_sync.config.model import ALL_CONTAINERS, Config, Mapping, build_config, build_mapping
from s3_sync.config.schema import MAPPING_DEFAULTS
from s3_sync.config.validate import Warnings, check_config, check_mapping

__all__ = ['ALL_CONTAINERS', 'Config', 'ConfigError', 'DEFAULT_PATH', 'MAPPING_DEFAULTS',
           'Mapping', 'load_config', 'mapping_from_dict', 'validate_config']

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
    except RecursionError:
        raise ConfigError(None, 'invalid JSON: nested too deeply', path)
    except ValueError as exc:      # e.g. an integer of thousands of digits
        raise ConfigError(None, 'invalid JSON: %s' % str(exc).split('\n')[0][:120], path)


def load_config(path=DEFAULT_PATH, for_daemon=True):
    """Parse, check and fill in defaults. ``for_daemon=False`` (shunt, proxymc) makes
    ``devices``, ``status_dir`` and ``items_chunk`` optional."""
    return validate_config(read_json(path), path, for_daemon=for_daemon)


def validate_config(conf, path=None, for_daemon=True):
    """A :class:`Config` from an already parsed file."""
    try:
        checked, mappings, warnings = check_config(conf, for_daemon=for_daemon)
    except ConfigError as exc:
        exc.path = exc.path or path
        raise
    return build_config(checked, mappings, warnings, path=path)


def mapping_from_dict(entry, where=None):
    """A checked :class:`Mapping` from one ``containers[]`` dict (tools and tests that build a
    mapping without a file); refusals are ConfigErrors, warnings are dropped."""
    return build_mapping(check_mapping(where, entry, Warnings()), where)

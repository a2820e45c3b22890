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


# Far more than any sync.json needs (globals > containers > mapping > selection_criteria >
# AND > ... ), far less than what makes a recursive copy or walk of the parsed file overflow
# the stack.
MAX_DEPTH = 32
# A config is a few KiB; reading /dev/zero or a mistaken multi-GiB path must not exhaust memory.
MAX_SIZE = 16 * 1024 * 1024


class _Duplicates(dict):
    """An object of the file that names a key twice (``names``: those keys)."""


def _object(pairs):
    # JSON lets a later duplicate silently replace an earlier one; in a config that may turn
    # an archive back into a plain sync, so the duplicates are remembered and refused.
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    seen, names = set(), []
    for name, _value in pairs:
        if name in seen and name not in names:
            names.append(name)
        seen.add(name)
    obj = _Duplicates(obj)
    obj.names = names
    return obj


def _key_path(tokens):
    """The config key a value sits under, for messages: ``extra``, ``syslog``,
    ``containers[0].selection_criteria``. The path inside the key's value is left out: it is
    noise, and may be thousands of levels long."""
    if not tokens:
        return None
    path = str(tokens[0])
    if tokens[0] in ('containers', 'migrations') and len(tokens) > 1 \
            and isinstance(tokens[1], int):
        path += '[%d]' % tokens[1]
        if len(tokens) > 2:
            path += '.%s' % tokens[2]
    return path


def check_structure(conf):
    """Refuse nesting deeper than MAX_DEPTH and objects with a duplicate key, before anything
    walks the parsed file recursively. Iterative, so it cannot overflow the stack itself."""
    if not isinstance(conf, dict):
        return      # check_config says what the top level must be
    stack = [(conf, [])]
    while stack:
        value, tokens = stack.pop()
        if not isinstance(value, (dict, list)):
            continue
        if len(tokens) >= MAX_DEPTH:
            raise ConfigError(_key_path(tokens), 'nested deeper than %d levels' % MAX_DEPTH)
        if isinstance(value, _Duplicates):
            name = value.names[0]
            where = _key_path(tokens + [name])
            if where != _key_path(tokens):      # the duplicate is a config key itself
                raise ConfigError(where, 'given twice in one object')
            raise ConfigError(where, 'key "%s" given twice in one object' % name)
        if isinstance(value, dict):
            stack.extend((v, tokens + [k]) for k, v in value.items())
        else:
            stack.extend((v, tokens + [i]) for i, v in enumerate(value))


def read_json(path):
    """The parsed content of ``path``; every failure is a one-line ConfigError."""
    try:
        with open(path, 'rb') as f:
            raw = f.read(MAX_SIZE + 1)
    except OSError as exc:
        raise ConfigError(None, 'cannot read config: %s' % (exc.strerror or exc), path)
    if len(raw) > MAX_SIZE:
        raise ConfigError(None, 'larger than %d MiB: not a config file' % (MAX_SIZE >> 20), path)
    if raw.startswith(b'\xef\xbb\xbf'):
        # Python's json refuses it too, with advice about codecs; say what to do instead.
        raise ConfigError(None, 'starts with a byte order mark (BOM): save it as UTF-8 '
                          'without BOM', path)
    if not raw.strip():
        raise ConfigError(None, 'empty file', path)
    try:
        text = raw.decode('utf-8')
    except UnicodeDecodeError as exc:
        raise ConfigError(None, 'not UTF-8 (byte %d)' % exc.start, path)
    try:
        return json.loads(text, object_pairs_hook=_object)
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
        check_structure(conf)
        checked, mappings, warnings = check_config(conf, for_daemon=for_daemon)
        return build_config(checked, mappings, warnings, path=path)
    except ConfigError as exc:
        exc.path = exc.path or path
        raise
    except Exception as exc:
        raise _unforeseen(exc, path) from exc


def _unforeseen(exc, path=None):
    # A check that broke on an input nobody foresaw. Callers rely on ConfigError being the
    # only failure (the daemon exits 2 with one line, the shunt keeps its last good config),
    # so it is one too, rather than a traceback.
    return ConfigError(None, 'cannot check config: %s: %s' % (
        type(exc).__name__, str(exc).split('\n')[0][:200]), path)


def mapping_from_dict(entry, where=None):
    """A checked :class:`Mapping` from one ``containers[]`` dict (tools and tests that build a
    mapping without a file); refusals are ConfigErrors, warnings are dropped."""
    try:
        return build_mapping(check_mapping(where, entry, Warnings()), where)
    except ConfigError:
        raise
    except Exception as exc:
        raise _unforeseen(exc) from exc

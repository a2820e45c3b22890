"""Checking a parsed config against the key tables and filling in the defaults.

Everything is refused here, at start-up, with a one-line error rather than later as a traceback
from deep inside a crawl: a wrong type (JSON ``"false"`` is not ``false``), a regex that does not
compile, a selection criterion that does not parse, and the combinations that lose data (an
archive mapping that would propagate its own local deletes to the remote).

What is not refused but deserves a word (an unknown key, likely a typo; a key this version does
not apply) becomes a one-line warning in ``Warnings``, which the caller logs once.
"""
import copy
import difflib
import ipaddress
import json
import math
import re
from urllib.parse import urlsplit

from s3_sync.config import schema
from s3_sync.config.errors import ConfigError, printable
from s3_sync.config.schema import ABSENT, DERIVED, REQUIRED


def _json_type(value):
    if isinstance(value, bool):
        return 'boolean'
    if isinstance(value, int):
        return 'number'     # math.isfinite() of an int past 1e308 raises OverflowError
    if isinstance(value, float):
        return 'number' if math.isfinite(value) else 'non-finite number'
    if isinstance(value, str):
        return 'string'
    if isinstance(value, list):
        return 'list'
    if isinstance(value, dict):
        return 'object'
    return 'null' if value is None else type(value).__name__


def _short(value):
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + '...'


def _quoted(text):
    """A string value from the file, quoted and cut: it goes into a one-line message."""
    return '"%s"' % (text if len(text) <= 60 else text[:57] + '...')


def _join(where, key):
    return '%s.%s' % (where, key) if where else key


def check_value(where, value, spec):
    """Type, bounds and choices of one present value. Values are never echoed for
    type errors, because the wrongly typed value may be a secret."""
    if not spec.kind.accepts(value):
        raise ConfigError(where, 'must be %s, not %s' % (spec.kind.name, _json_type(value)))
    if spec.minimum is not None and value < spec.minimum:
        raise ConfigError(where, 'must be >= %s, not %s' % (spec.minimum, _short(value)))
    if spec.maximum is not None and value > spec.maximum:
        raise ConfigError(where, 'must be <= %s, not %s' % (spec.maximum, _short(value)))
    if isinstance(value, str):
        check_string(where, value)
    if spec.choices is not None and value not in spec.choices:
        raise ConfigError(where, 'must be one of %s, not %s' % (
            ', '.join(spec.choices), _quoted(value)))


def check_string(where, value):
    """Characters no config string can use: a NUL makes every path and header built from it
    fail (``embedded null byte``) long after start-up, and a lone surrogate (JSON
    ``"\\ud800"``) cannot be encoded, so every request or log line carrying it would fail.
    The value is not echoed: it may be a secret."""
    if '\x00' in value:
        raise ConfigError(where, 'must not contain a NUL character')
    try:
        value.encode('utf-8')
    except UnicodeEncodeError:
        raise ConfigError(where, 'must be valid Unicode (it has a lone surrogate)')


class Warnings(list):
    """One-line remarks about a config that loads: ``(key path, message)`` pairs."""

    def add(self, where, message):
        # Unknown key names come from the file: keep the remark one printable line.
        self.append(printable('%s: %s' % (where, message)))


def check_section(where, section, table, warnings, skip_required=()):
    """Check every known key of ``section`` and fill defaults in place (ABSENT keys become
    None, DERIVED ones are computed once the rest is filled). Unknown keys are dropped with a
    warning naming the closest known key: a typo such as ``retain_locall`` must not pass
    silently, yet a file written for a newer version still loads."""
    typos = {}      # known key -> the unknown key that looks like a misspelling of it
    for name in list(section):
        if name not in table:
            close = difflib.get_close_matches(name, table, n=1, cutoff=0.75)
            hint = ' (did you mean "%s"?)' % close[0] if close else ''
            warnings.add(_join(where, name), 'unknown key, ignored%s' % hint)
            if close:
                typos.setdefault(close[0], name)
            del section[name]
    derived = []
    for name, spec in table.items():
        path = _join(where, name)
        if name in section:
            check_value(path, section[name], spec)
        elif spec.default is REQUIRED:
            if name not in skip_required:
                # The refusal stops the start before any warning is logged: point at the
                # typo here.
                hint = ' (is "%s" a typo?)' % typos[name] if name in typos else ''
                raise ConfigError(path, 'missing required key%s' % hint)
            section[name] = None
        elif spec.default is DERIVED:
            derived.append(name)
        else:
            section[name] = None if spec.default is ABSENT else copy.deepcopy(spec.default)
    for name in derived:
        section[name] = schema.DERIVED_DEFAULTS[name](section)


_HOST_LABEL = re.compile(r'(?!-)[A-Za-z0-9-]{1,63}(?<!-)$')
_HOST_LABEL_UNDERSCORE = re.compile(r'(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$')


def is_host(host, underscore=True):
    """An IP address or a DNS name (RFC 1123 labels; ``underscore`` also allows ``_``, which
    Python's HTTP clients accept and container set-ups use, but botocore refuses)."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    name = host[:-1] if host.endswith('.') else host
    label = _HOST_LABEL_UNDERSCORE if underscore else _HOST_LABEL
    return 0 < len(name) <= 253 and all(label.match(part) for part in name.split('.'))


def check_host(where, host, underscore=True):
    if not is_host(host, underscore):
        raise ConfigError(where, 'must be a host name or an IP address, not %s' % _quoted(host))


def url_problem(url, underscore=True):
    """Why ``url`` is no usable http(s) endpoint, or None."""
    if not url.isprintable() or any(ch.isspace() for ch in url):
        return 'it has a space or a control character'
    try:
        parts = urlsplit(url)
        port = parts.port       # raises on a port that is not a number or out of range
    except ValueError as exc:
        return str(exc)
    if parts.scheme not in ('http', 'https') or not parts.hostname:
        return 'no scheme or no host'
    if port == 0:
        return 'port 0'
    if not is_host(parts.hostname):
        return 'host %s is no host name' % _quoted(parts.hostname)
    if not underscore and not is_host(parts.hostname, underscore=False):
        return 'host %s has a "_", which the S3 client refuses' % _quoted(parts.hostname)
    return None


def check_url(where, url, underscore=True):
    """An endpoint must be an http(s) URL with a valid host and port: anything else fails only
    at the first request, long after start-up. The URL is not echoed: a proxy URL may carry a
    password."""
    problem = url_problem(url, underscore)
    if problem:
        raise ConfigError(where, 'must be an http:// or https:// URL with a host (%s)'
                          % problem)


def announce_not_applied(where, section, explicit, warnings, protocol=None):
    """A warning for each key that asks for something this version does not do."""
    for name, why in schema.NOT_APPLIED.items():
        if name in explicit and section.get(name) and \
                section[name] != schema_default(name):
            warnings.add(_join(where, name), 'not applied by this version (%s)' % why)
    for name, (protocols, why) in schema.APPLIED_ON.items():
        if name in explicit and section.get(name) and protocol not in protocols:
            warnings.add(_join(where, name), 'not applied to %s targets by this version (%s)'
                         % (protocol, why))


def announce_no_effect(where, mapping, explicit, warnings):
    """A warning for each mapping key set to something that has no effect with the rest of the
    mapping (said once at load, rather than silently doing nothing)."""
    for name, (needed, value) in schema.EFFECTIVE_WITH.items():
        protocols = schema.APPLIED_ON.get(name, ((mapping['protocol'],),))[0]
        if mapping['protocol'] not in protocols:
            continue    # already said: not applied to this protocol at all
        if name in explicit and mapping.get(name) and mapping[needed] != value:
            warnings.add(_join(where, name), 'has no effect without %s: %s' % (
                needed, json.dumps(value)))
    if mapping['restore_object'] and mapping['retain_local'] and \
            not mapping['merge_namespaces']:
        warnings.add(_join(where, 'restore_object'), 'has no effect: the cloud-shunt serves '
                     '(and restores) only mappings with merge_namespaces: true or '
                     'retain_local: false')
    if mapping['protocol'] == 'swift' and mapping['propagate_expiration'] and \
            mapping['remote_delete_after'] and not mapping['propagate_expiration_offset']:
        warnings.add(_join(where, 'propagate_expiration'), 'ignored while remote_delete_after '
                     'is set and propagate_expiration_offset is 0 (as in the original): remote '
                     'copies get X-Delete-After instead')


def schema_default(name):
    for table in (schema.GLOBAL_KEYS, schema.MAPPING_KEYS):
        if name in table:
            return table[name].default
    return None


def check_regex(where, pattern):
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ConfigError(where, 'invalid regex: %s' % exc)
    # What re.compile raises besides re.error: "a{99999999999}" (OverflowError), thousands of
    # nested groups (RecursionError).
    except OverflowError as exc:
        raise ConfigError(where, 'invalid regex: %s' % exc)
    except RecursionError:
        raise ConfigError(where, 'invalid regex: nested too deeply')


def check_criteria(where, criteria, top=True):
    """The selection grammar (behaviour 4.3): ``{}`` (top level only) selects everything;
    otherwise exactly one key: AND/OR with a non-empty list of criteria, NOT with one
    criterion, or a header name with a string value."""
    if not isinstance(criteria, dict):
        raise ConfigError(where, 'must be an object, not %s' % _json_type(criteria))
    if top and not criteria:
        return
    if len(criteria) != 1:
        raise ConfigError(where, 'must have exactly one key, has %d' % len(criteria))
    (key, value), = criteria.items()
    path = _join(where, key)
    check_string(path, key)
    if key in ('AND', 'OR'):
        if not isinstance(value, list) or not value:
            raise ConfigError(path, 'must be a non-empty list of criteria')
        for i, sub in enumerate(value):
            check_criteria('%s[%d]' % (path, i), sub, top=False)
    elif key == 'NOT':
        check_criteria(path, value, top=False)
    elif not isinstance(value, str):
        raise ConfigError(path, 'header value must be a string, not %s' % _json_type(value))
    else:
        check_string(path, value)


# What botocore accepts as a bucket name (it refuses anything else before sending a request):
# looser than AWS's own rules, which S3-compatible stores do not all follow.
_S3_BUCKET = re.compile(r'[A-Za-z0-9.\-_]{1,255}$')
# botocore's rule for a region name (client creation fails otherwise).
_S3_REGION = re.compile(r'[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$')
MAX_SWIFT_NAME = 256      # Swift's limit on a container name, in UTF-8 bytes


def check_names(where, mapping):
    """Names that are used as path components (status files live at
    ``<status_dir>/<account>/<container>``) and as the remote bucket or container."""
    for name in ('account', 'container', 'aws_bucket', 'aws_identity', 'aws_secret'):
        if not mapping[name]:
            raise ConfigError(_join(where, name), 'must not be empty')
    account, container = mapping['account'], mapping['container']
    if '/' in account or account in ('.', '..'):
        raise ConfigError(_join(where, 'account'),
                          'must be an account name, not %s' % _quoted(account))
    if container != '/*' and ('/' in container or container in ('.', '..')):
        raise ConfigError(_join(where, 'container'),
                          'must be a container name or "/*", not %s' % _quoted(container))
    bucket = mapping['aws_bucket']
    if mapping['protocol'] == 's3':
        if not _S3_BUCKET.match(bucket):
            raise ConfigError(_join(where, 'aws_bucket'), 'must be an S3 bucket name '
                              '(letters, digits, ".", "-", "_"), not %s' % _quoted(bucket))
        if not _S3_REGION.match(mapping['aws_region']):
            raise ConfigError(_join(where, 'aws_region'), 'must be a region name '
                              '(letters, digits, "-"), not %s' % _quoted(mapping['aws_region']))
    elif '/' in bucket or len(bucket.encode('utf-8')) > MAX_SWIFT_NAME:
        raise ConfigError(_join(where, 'aws_bucket'), 'must be a Swift container name '
                          '(no "/", at most %d bytes)' % MAX_SWIFT_NAME)


def check_mapping_rules(where, mapping):
    """The rules that span several keys of one mapping."""
    check_names(where, mapping)
    if mapping['exclude_pattern'] is not None:
        check_regex(_join(where, 'exclude_pattern'), mapping['exclude_pattern'])
    if mapping['selection_criteria'] is not None:
        check_criteria(_join(where, 'selection_criteria'), mapping['selection_criteria'])
    if mapping['aws_endpoint'] is not None:
        check_url(_join(where, 'aws_endpoint'), mapping['aws_endpoint'],
                  underscore=mapping['protocol'] != 's3')
    if not mapping['retain_local'] and mapping['propagate_delete']:
        # Archiving deletes the local copy; propagating that delete would destroy the archive.
        raise ConfigError(_join(where, 'propagate_delete'),
                          'must be false when retain_local is false (archive mode)')
    if mapping['min_segment_size'] and not mapping['convert_dlo']:
        raise ConfigError(_join(where, 'min_segment_size'), 'requires convert_dlo: true')
    if mapping['protocol'] == 's3' and 0 < mapping['remote_delete_after'] < schema.DAY / 2:
        # An S3 lifecycle rule counts whole days; this would round to 0, which S3 refuses.
        raise ConfigError(_join(where, 'remote_delete_after'), 'must be 0 or at least %d on '
                          'S3 targets (a lifecycle rule expires after whole days), not %s' % (
                              schema.DAY // 2, _short(mapping['remote_delete_after'])))
    if mapping['sync_container_acl'] and not mapping['sync_container_metadata']:
        raise ConfigError(_join(where, 'sync_container_acl'),
                          'requires sync_container_metadata: true')
    check_auth(where, mapping)


def check_auth(where, mapping):
    if mapping['protocol'] != 'swift':
        return
    if mapping['aws_endpoint'] is None:
        # No default here (an S3 mapping without one means AWS): every request would fail.
        raise ConfigError(_join(where, 'aws_endpoint'),
                          'missing required key for protocol swift (the auth URL)')
    auth_type = mapping['auth_type']
    for name in schema.AUTH_REQUIRED_KEYS[auth_type]:
        if not mapping.get(name):
            raise ConfigError(_join(where, name),
                              'missing required key for auth_type %s' % auth_type)


def check_mapping(where, mapping, warnings):
    """A checked copy of one ``containers[]`` entry, every key filled."""
    if not isinstance(mapping, dict):
        raise ConfigError(where, 'must be an object, not %s' % _json_type(mapping))
    explicit = set(mapping)
    mapping = copy.deepcopy(mapping)
    check_section(where, mapping, schema.MAPPING_KEYS, warnings)
    check_mapping_rules(where, mapping)
    announce_not_applied(where, mapping, explicit, warnings, mapping['protocol'])
    announce_no_effect(where, mapping, explicit, warnings)
    return mapping


def check_duplicates(mappings):
    seen = {}
    for i, mapping in enumerate(mappings):
        identity = tuple(mapping[k] for k in schema.MAPPING_IDENTITY)
        if identity in seen:
            raise ConfigError('containers[%d]' % i, 'duplicate of containers[%d] (same %s)' % (
                seen[identity], ', '.join(schema.MAPPING_IDENTITY)))
        seen[identity] = i


def check_migration(where, migration, warnings):
    """A checked copy of one ``migrations[]`` entry, every key filled (behaviour 2.3)."""
    if not isinstance(migration, dict):
        raise ConfigError(where, 'must be an object, not %s' % _json_type(migration))
    explicit = set(migration)
    migration = copy.deepcopy(migration)
    check_section(where, migration, schema.MIGRATION_KEYS, warnings)
    all_buckets = migration['aws_bucket'] == '/*'
    if all_buckets and migration['container'] != '/*':
        raise ConfigError(_join(where, 'container'), 'must be "/*" (or left out) when '
                          'aws_bucket is "/*": each source container keeps its name')
    if not all_buckets and migration['container'] == '/*':
        raise ConfigError(_join(where, 'container'),
                          'may be "/*" only when aws_bucket is "/*"')
    # check_names knows one container name or "/*", and the source's bucket rules; a "/*"
    # source is checked as a valid name.
    named = dict(migration, aws_bucket='all' if all_buckets else migration['aws_bucket'])
    check_names(where, named)
    if migration['aws_endpoint'] is not None:
        check_url(_join(where, 'aws_endpoint'), migration['aws_endpoint'],
                  underscore=migration['protocol'] != 's3')
    check_auth(where, migration)
    for name, why in schema.IGNORED_MIGRATOR_KEYS.items():
        if name in explicit and migration.get(name) is not None:
            warnings.add(_join(where, name), why)
    if migration['propagate_account_metadata'] and migration['protocol'] != 'swift':
        warnings.add(_join(where, 'propagate_account_metadata'), 'not applied to s3 sources '
                     '(S3 accounts have no metadata)')
    if migration['custom_prefix']:
        warnings.add(_join(where, 'custom_prefix'), 'ignored: migration sources are read '
                     'with their native keys')
    migration['custom_prefix'] = ''
    migration['given'] = sorted(explicit & set(schema.MIGRATION_KEYS))
    return migration


def check_migration_duplicates(migrations):
    """Two entries writing the same local container would undo each other's copies and
    deletes."""
    seen = {}
    for i, migration in enumerate(migrations):
        identity = (migration['account'], migration['container'])
        if identity in seen:
            raise ConfigError('migrations[%d]' % i, 'same account and container as '
                              'migrations[%d]' % seen[identity])
        seen[identity] = i


def check_migrator_settings(settings, warnings):
    """``migrator_settings`` (behaviour 2.4), when the file has it."""
    if settings is None:
        return None
    explicit = set(settings)
    settings = copy.deepcopy(settings)
    check_section('migrator_settings', settings, schema.MIGRATOR_SETTINGS_KEYS, warnings)
    if not settings['status_file'] or settings['status_file'].endswith('/'):
        raise ConfigError('migrator_settings.status_file', 'must be a file path')
    if settings['syslog'] is not None:
        check_section('migrator_settings.syslog', settings['syslog'], schema.SYSLOG_KEYS,
                      warnings)
        check_host('migrator_settings.syslog.host', settings['syslog']['host'])
    if settings['poll_interval'] < schema.MIN_POLL_INTERVAL:
        warnings.add('migrator_settings.poll_interval', '%s is too short; %s is used' % (
            settings['poll_interval'], schema.MIN_POLL_INTERVAL))
        settings['poll_interval'] = schema.MIN_POLL_INTERVAL
    for name, why in schema.IGNORED_MIGRATOR_KEYS.items():
        if name in explicit and name in schema.MIGRATOR_SETTINGS_KEYS:
            warnings.add('migrator_settings.%s' % name, why)
    return settings


def fill_globals(conf, for_daemon, warnings):
    if isinstance(conf.get('log_level'), str):
        conf['log_level'] = conf['log_level'].lower()
    explicit = set(conf)
    skip = () if for_daemon else schema.DAEMON_ONLY_KEYS
    check_section(None, conf, schema.GLOBAL_KEYS, warnings, skip_required=skip)
    if conf['syslog'] is not None:
        check_section('syslog', conf['syslog'], schema.SYSLOG_KEYS, warnings)
        check_host('syslog.host', conf['syslog']['host'])
    for name in ('http_proxy', 'https_proxy'):
        if conf[name] is not None:
            check_url(name, conf[name])
    if conf['statsd_host'] is not None:
        check_host('statsd_host', conf['statsd_host'])
    check_bind_ip(conf['swift_bind_ip'])
    if conf['process'] is not None and conf['process'] >= conf['processes']:
        raise ConfigError('process', '%d is not below processes (%d): shares are numbered '
                          'from 0' % (conf['process'], conf['processes']))
    if conf['poll_interval'] < schema.MIN_POLL_INTERVAL:
        # 0 would run full passes back to back: a busy loop logging a line per pass. New rows
        # are noticed within a second by inotify anyway, so a shorter interval buys nothing.
        warnings.add('poll_interval', '%s is too short; %s is used' % (
            conf['poll_interval'], schema.MIN_POLL_INTERVAL))
        conf['poll_interval'] = schema.MIN_POLL_INTERVAL
    announce_not_applied(None, conf, explicit, warnings)


def check_bind_ip(ip):
    """Swift treats a bind ip it cannot read as a number as "every address of this host"
    (``whataremyips``), so a typo or a host name would silently widen which ring devices this
    daemon crawls."""
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        raise ConfigError('swift_bind_ip', 'must be an IP address (the container server\'s '
                          'bind_ip, or 0.0.0.0), not %s' % _quoted(ip))


def check_config(conf, for_daemon=True):
    """``(globals, mappings, warnings)``: checked copies of the parsed file's parts, every
    default filled in. ``for_daemon=False`` (shunt, proxymc) makes the crawler-only keys
    optional."""
    if not isinstance(conf, dict):
        raise ConfigError(None, 'top level must be a JSON object, not %s' % _json_type(conf))
    warnings = Warnings()
    conf = copy.deepcopy(conf)
    fill_globals(conf, for_daemon, warnings)
    mappings = [check_mapping('containers[%d]' % i, mapping, warnings)
                for i, mapping in enumerate(conf['containers'])]
    check_duplicates(mappings)
    conf['migrations'] = [check_migration('migrations[%d]' % i, migration, warnings)
                          for i, migration in enumerate(conf['migrations'])]
    check_migration_duplicates(conf['migrations'])
    conf['migrator_settings'] = check_migrator_settings(conf['migrator_settings'], warnings)
    return conf, mappings, warnings

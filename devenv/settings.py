"""Where the dev environment lives and which ports it uses.

Every port can be moved so that two environments run side by side on one
machine (the machine is shared; a port can be taken by someone else). The
values are chosen once, when a base directory is first brought up, and then
stored in ``BASE/settings.json``: the rings hold the ports, so a base dir can
never silently change them. Asking for different values on an existing base
is a one-line error telling the user to ``down --wipe`` first.
"""

import json
import os

from devenv.errors import DevenvError

DEFAULT_BASE = '/tmp/s3sync-devenv'

# name -> (environment variable, default). Ports first, then knobs.
KNOBS = {
    'proxy_port': ('S3SYNC_PROXY_PORT', 8080),          # proxy A, with shunt
    'noshunt_port': ('S3SYNC_NOSHUNT_PORT', 8082),      # proxy B, + s3api target
    'proxymc_port': ('S3SYNC_PROXYMC_PORT', 8085),      # proxymc (Swift + S3 APIs)
    'memcache_port': ('S3SYNC_MEMCACHE_PORT', 11211),
    'port_base': ('S3SYNC_PORT_BASE', 6200),            # node N: base+10N+0..2
    'moto_port': ('S3SYNC_MOTO_PORT', 5055),
    'remote_proxy_port': ('S3SYNC_REMOTE_PROXY_PORT', 8090),
    'remote_memcache_port': ('S3SYNC_REMOTE_MEMCACHE_PORT', 11212),
    'remote_port_base': ('S3SYNC_REMOTE_PORT_BASE', 6300),
    # only used when radosgw is asked for (devenv/radosgw.py)
    'radosgw_port': ('S3SYNC_RADOSGW_PORT', 5058),
    'radosgw_mon_port': ('S3SYNC_RADOSGW_MON_PORT', 6789),
    'radosgw_osd_port': ('S3SYNC_RADOSGW_OSD_PORT', 6800),  # .. +49
    'obj_replicas': ('S3SYNC_OBJ_REPLICAS', 1),
}
PORT_KNOBS = [k for k in KNOBS if k != 'obj_replicas']
OFFSET_VAR = 'S3SYNC_DEVENV_PORT_OFFSET'


class SettingsError(DevenvError):
    """Bad or conflicting settings; str() is one line for the user."""


def default_base():
    return os.environ.get('S3SYNC_DEVENV_BASE') or DEFAULT_BASE


def _as_int(name, value):
    try:
        return int(value)
    except (TypeError, ValueError):
        raise SettingsError('%s: not an integer: %r' % (name, value))


def requested(overrides=None, environ=None):
    """Settings asked for explicitly (options beat environment variables).

    Returns only the keys that were asked for, so that they can be
    compared with what an existing base dir already uses.
    """
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    asked = {}
    offset = overrides.pop('port_offset', None)
    if offset is None:
        offset = environ.get(OFFSET_VAR)
    offset = _as_int(OFFSET_VAR, offset) if offset not in (None, '') else 0
    for key, (var, default) in KNOBS.items():
        value = overrides.get(key)
        if value is None:
            value = environ.get(var)
        if key == 'obj_replicas' and value in (None, ''):
            value = environ.get('SAIO_OBJ_REPLICAS')  # the notes' name
        if value not in (None, ''):
            asked[key] = _as_int(var, value)
        elif offset and key in PORT_KNOBS:
            asked[key] = default + offset
    return asked


def defaults():
    return {key: default for key, (_var, default) in KNOBS.items()}


def validate(settings):
    if not 1 <= settings['obj_replicas'] <= 3:
        raise SettingsError('S3SYNC_OBJ_REPLICAS: must be 1, 2 or 3, not %d'
                            % settings['obj_replicas'])
    for key in PORT_KNOBS:
        if not 1024 <= settings[key] <= 65000:
            raise SettingsError('%s: port out of range: %d'
                                % (KNOBS[key][0], settings[key]))
    return settings


def resolve(base, overrides=None, environ=None):
    """The settings for ``base``: stored ones if the base exists, else new."""
    asked = requested(overrides, environ)
    path = os.path.join(base, 'settings.json')
    try:
        with open(path) as fp:
            stored = json.load(fp)
    except FileNotFoundError:
        settings = defaults()
        settings.update(asked)
        return validate(settings)
    except ValueError:
        raise SettingsError('%s: not valid JSON; run down --wipe' % path)
    settings = defaults()
    settings.update(stored)
    for key, value in asked.items():
        if key not in stored:   # a knob newer than this base dir: nothing pins it yet
            settings[key] = value
        elif settings[key] != value:
            raise SettingsError(
                '%s: %s was set up with %s=%d, not %d; run "down --wipe" '
                'first to change it' % (base, KNOBS[key][0], key,
                                        settings[key], value))
    return validate(settings)


def save(base, settings):
    path = os.path.join(base, 'settings.json')
    tmp = path + '.tmp'
    with open(tmp, 'w') as fp:
        json.dump(settings, fp, indent=2, sort_keys=True)
    os.rename(tmp, path)

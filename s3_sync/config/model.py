"""Typed, frozen views of a checked config: ``Config`` (the globals) and ``Mapping`` (one
``containers[]`` entry).

Their fields are generated from the key tables in ``schema.py``, so a key's name, type and
default are written down once; a key that is absent from the file and has no default is
``None``. Derived facts every component needs (is this an archive mapping, which container
does a ``"/*"`` mapping mean, what goes into the status file's ``policy``) are properties here,
not recomputed by each caller. The on-disk key names stay the original product's.
"""
import copy
import dataclasses
import functools
import json
import typing

from s3_sync import layout
from s3_sync.config import schema

ALL_CONTAINERS = '/*'
# The container name a migration's provider gets when it only lists the source account's
# containers (``Migration.source(ACCOUNT_LEVEL)``).
ACCOUNT_LEVEL = '.account'

_TYPES = {schema.STR: str, schema.INT: int, schema.NUMBER: float, schema.BOOL: bool,
          schema.LIST: tuple, schema.DICT: dict}


def _fields(table):
    # Every field has a default so the class can be built from any checked section; the
    # checker, not the constructor, decides what is required.
    return [(name, typing.Optional[_TYPES[key.kind]], dataclasses.field(default=None))
            for name, key in table.items()]


class _MappingFacts:
    """What follows from a mapping's keys."""

    @property
    def archive(self):
        """Archive mode: the local copy is deleted once the remote one is verified."""
        return not self.retain_local

    @property
    def per_account(self):
        """A ``"/*"`` mapping: every container of the account, each its own remote place."""
        return self.container == ALL_CONTAINERS

    @property
    def shunted(self):
        """Whether the cloud-shunt serves this mapping's remote objects through Swift."""
        return self.archive or self.merge_namespaces

    @property
    def policy(self):
        """The ``policy`` stored in status files (behaviour 3.4): a change to any of these
        settings restarts the container's crawl from row 0."""
        return {key: getattr(self, key) for key in schema.POLICY_KEYS}

    @property
    def proxies(self):
        """The remote client's proxies, from the globals ``http_proxy``/``https_proxy``."""
        return {scheme: url for scheme, url in (('http', self.http_proxy),
                                                ('https', self.https_proxy)) if url}

    def real_container(self, container=None):
        """The local container a request or row is about: ``container`` for ``"/*"``
        mappings (required there), the mapping's own otherwise."""
        if self.per_account:
            if not container:
                raise ValueError('a "/*" mapping needs the real container name')
            return container
        return self.container

    def key_prefix(self, container=None):
        """What every remote key of ``container`` starts with (see ``s3_sync.layout``)."""
        return layout.key_prefix(self, self.account, self.real_container(container))

    def wire(self):
        """The mapping as the config file spells it (keys with a value only)."""
        return {name: value for name, value in dataclasses.asdict(self).items()
                if value is not None and name in schema.MAPPING_KEYS}

    @functools.cached_property
    def fingerprint(self):
        """A stable string that differs whenever any setting differs (cache keys)."""
        return json.dumps(dataclasses.asdict(self), sort_keys=True, default=str)

    def __hash__(self):
        return hash(self.fingerprint)

    def __str__(self):
        where = self.where or '%s/%s' % (self.account, self.container)
        return '%s -> %s' % (where, self.aws_bucket)


Mapping = dataclasses.make_dataclass(
    'Mapping',
    _fields(schema.MAPPING_KEYS) + [
        # Not keys of the entry: where it stands in the file (for messages), and the remote
        # client's proxies, which the file sets globally.
        ('where', typing.Optional[str], dataclasses.field(default=None, compare=False)),
        ('http_proxy', typing.Optional[str], dataclasses.field(default=None)),
        ('https_proxy', typing.Optional[str], dataclasses.field(default=None)),
    ],
    bases=(_MappingFacts,), frozen=True, namespace={'__hash__': _MappingFacts.__hash__})
Mapping.__module__ = __name__
Mapping.__doc__ = 'One checked ``containers[]`` entry; fields are the keys of schema.MAPPING_KEYS.'


class _MigrationFacts:
    """What follows from a migration's keys."""

    @property
    def all_buckets(self):
        """A ``"/*"`` migration: every bucket/container of the source account."""
        return self.aws_bucket == ALL_CONTAINERS

    def local_container(self, bucket):
        """The local container the source ``bucket`` goes to."""
        return bucket if self.all_buckets else self.container

    def source(self, bucket=None):
        """The source ``bucket`` (the migration's own unless ``"/*"``) as a ``Mapping``, so
        providers and the shunt read it as they read a sync target: native keys
        (``custom_prefix: ""``), one namespace with the local container."""
        bucket = bucket or self.aws_bucket
        values = {name: None for name in schema.MAPPING_KEYS}
        values.update(schema.MAPPING_DEFAULTS)
        values.update({name: getattr(self, name) for name in schema.MIGRATION_KEYS
                       if name in schema.MAPPING_KEYS
                       and name not in ('storage_policy', 'selection_criteria')})
        values.update(container=self.local_container(bucket), aws_bucket=bucket,
                      custom_prefix='', merge_namespaces=True, propagate_delete=False,
                      restore_object=self.restore_object)
        return Mapping(where=self.where, **values)

    def wire(self):
        """The entry as the file spells it (the keys it gave), for status files."""
        return {name: getattr(self, name) for name in self.given}

    @functools.cached_property
    def fingerprint(self):
        return json.dumps(dataclasses.asdict(self), sort_keys=True, default=str)

    def __hash__(self):
        return hash(self.fingerprint)

    def __str__(self):
        return '%s (%s/%s <- %s)' % (self.where, self.account, self.container, self.aws_bucket)


Migration = dataclasses.make_dataclass(
    'Migration',
    _fields(schema.MIGRATION_KEYS) + [
        ('where', typing.Optional[str], dataclasses.field(default=None, compare=False)),
        # the keys the file gave (status-file entries are matched on those, as the original)
        ('given', tuple, dataclasses.field(default=(), compare=False)),
    ],
    bases=(_MigrationFacts,), frozen=True, namespace={'__hash__': _MigrationFacts.__hash__})
Migration.__module__ = __name__
Migration.__doc__ = 'One checked ``migrations[]`` entry; fields are schema.MIGRATION_KEYS.'


class _ConfigFacts:
    @property
    def syncs_anything(self):
        return bool(self.containers)


Config = dataclasses.make_dataclass(
    'Config',
    _fields(schema.GLOBAL_KEYS) + [
        ('path', typing.Optional[str], dataclasses.field(default=None)),
        # One-line remarks about keys that load but deserve a word; logged once at start.
        ('warnings', tuple, dataclasses.field(default=(), compare=False)),
    ],
    bases=(_ConfigFacts,), frozen=True)
Config.__module__ = __name__
Config.__doc__ = ('The checked globals; ``containers`` is a tuple of ``Mapping``, '
                  '``migrations`` a tuple of ``Migration``, ``migrator_settings`` a filled '
                  'dict or None.')


def build_mapping(checked, where=None, globals_=None):
    """A ``Mapping`` from a checked (every key filled) ``containers[]`` dict."""
    globals_ = globals_ or {}
    return Mapping(where=where, http_proxy=globals_.get('http_proxy'),
                   https_proxy=globals_.get('https_proxy'), **checked)


def build_config(checked_globals, checked_mappings, warnings, path=None):
    values = dict(checked_globals)
    values['containers'] = tuple(
        build_mapping(m, 'containers[%d]' % i, checked_globals)
        for i, m in enumerate(checked_mappings))
    values['migrations'] = tuple(
        Migration(where='migrations[%d]' % i, given=tuple(m.pop('given')), **m)
        for i, m in enumerate(copy.deepcopy(values['migrations'])))
    return Config(path=path, warnings=tuple(warnings), **values)

"""The key tables: every config key we know, its JSON type, its default and its bounds.

Kept as data, apart from the checking code in ``validate.py``, so the whole configuration surface
can be read in one place. Key names and defaults are those of the original product's
``sync.json`` (existing files load unchanged); the keys marked "ours" are new.

A key whose default is ``ABSENT`` is optional and has no value when missing (``None`` on the
typed objects): its absence means something (no ``custom_prefix`` = hashed layout, no
``aws_endpoint`` = AWS, no ``exclude_pattern`` = exclude nothing). ``REQUIRED`` keys must be
present. A ``DERIVED`` default is computed from other keys by the rule in ``DERIVED_DEFAULTS``.

``NOT_APPLIED`` lists the keys this version accepts (the original's files use them) but does not
act on yet; the loader announces each one that asks for something, so nobody relies on it.
"""
import collections
import math


class _Marker:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


ABSENT = _Marker('ABSENT')
REQUIRED = _Marker('REQUIRED')
DERIVED = _Marker('DERIVED')


class Kind(collections.namedtuple('Kind', 'name accepts')):
    """A JSON type: its name in error messages and the test a value must pass."""


def _is_int(value):
    # bool is a subclass of int in Python; a JSON ``true`` is not a count.
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    # Every int is finite (and math.isfinite() of one past 1e308 raises OverflowError); a
    # float may be NaN or Infinity, which Python's JSON reads from the literals.
    return _is_int(value) or (isinstance(value, float) and math.isfinite(value))


STR = Kind('a string', lambda v: isinstance(v, str))
INT = Kind('an integer', _is_int)
NUMBER = Kind('a number', _is_number)
BOOL = Kind('a boolean (true/false)', lambda v: isinstance(v, bool))
LIST = Kind('a list', lambda v: isinstance(v, list))
DICT = Kind('an object', lambda v: isinstance(v, dict))


class Key(collections.namedtuple('Key', 'kind default minimum maximum choices')):
    """One key: ``minimum`` and ``maximum`` are inclusive; ``choices`` the allowed values.

    Every number has a maximum: a value past it (``remote_timeout: 1e300``, ``max_conns: 1e9``)
    is a mistake that would otherwise crash or hang the daemon long after it started."""

    def __new__(cls, kind, default=ABSENT, minimum=None, maximum=None, choices=None):
        return super().__new__(cls, kind, default, minimum, maximum, choices)


# Keys only the sync daemon (crawler) needs; the shunt and proxymc load the same file without
# them (``load_config(path, for_daemon=False)``).
DAEMON_ONLY_KEYS = ('devices', 'status_dir', 'items_chunk')

LOG_LEVELS = ('debug', 'info', 'warning', 'error', 'critical')

DAY = 86400
YEAR = 366 * DAY
MAX_PORT = 65535
MIN_POLL_INTERVAL = 1     # seconds

GLOBAL_KEYS = {
    'containers': Key(LIST, default=[]),
    'migrations': Key(LIST, default=[]),
    'migrator_settings': Key(DICT),
    'devices': Key(STR, default=REQUIRED),
    'status_dir': Key(STR, default=REQUIRED),
    'items_chunk': Key(INT, default=REQUIRED, minimum=1, maximum=100000),
    # below MIN_POLL_INTERVAL: raised to it, with a warning (see validate.fill_globals)
    'poll_interval': Key(NUMBER, default=5, minimum=0, maximum=DAY),
    'workers': Key(INT, default=10, minimum=1, maximum=1000),
    'enumerator_workers': Key(INT, default=10, minimum=1, maximum=1000),
    # ours, Swift's convention: processes sharing the node's containers, and which share this
    # process does (none: fork them all; s3_sync.crawler.workers)
    'processes': Key(INT, default=1, minimum=1, maximum=64),
    'process': Key(INT, minimum=0, maximum=63),
    'verification_slack': Key(NUMBER, default=60, minimum=0, maximum=YEAR // 60),  # minutes
    # ours: rows a DB may have waiting for a retry (failed or deferred) before its checkpoint
    # stops moving; default 2 * items_chunk
    'max_pending': Key(INT, default=DERIVED, minimum=1, maximum=10000000),
    'bulk_process': Key(BOOL, default=False),
    'swift_bind_ip': Key(STR, default='0.0.0.0'),
    'swift_bind_port': Key(INT, minimum=1, maximum=MAX_PORT),      # ours
    'swift_dir': Key(STR, default='/etc/swift'),
    # <swift_dir>/internal-client.conf
    'internal_client_path': Key(STR, default=DERIVED),
    'internal_client_logname': Key(STR, default='ContainerCrawler'),
    'watch': Key(BOOL, default=True),                              # ours: inotify watching
    'log_file': Key(STR),
    'log_level': Key(STR, default='info', choices=LOG_LEVELS),
    'syslog': Key(DICT),
    'statsd_host': Key(STR),
    'statsd_port': Key(INT, default=8125, minimum=1, maximum=MAX_PORT),
    'statsd_prefix': Key(STR),
    'http_proxy': Key(STR),
    'https_proxy': Key(STR),
    # ours, operations (s3_sync/status/): where the node's recon-style cache file
    # (s3_sync.recon) goes, default status_dir; how often the daemon writes it, the Prometheus
    # text file and the statsd gauges, and publishes its report for `status --cluster`
    'recon_cache_path': Key(STR, default=DERIVED),
    'stats_interval': Key(NUMBER, default=30, minimum=1, maximum=DAY),
    'prometheus_textfile': Key(STR),
    'cluster_status': Key(BOOL, default=True),
    # ours, throttles (s3_sync/throttle.py): for the whole daemon, 0 = no limit
    'max_requests_per_second': Key(NUMBER, default=0, minimum=0, maximum=10 ** 6),
    'max_bytes_per_second': Key(NUMBER, default=0, minimum=0, maximum=2 ** 50),
}

SYSLOG_KEYS = {
    'host': Key(STR, default='localhost'),
    'port': Key(INT, default=514, minimum=1, maximum=MAX_PORT),
    'proto': Key(STR, default='udp', choices=('udp', 'tcp')),
}

PROTOCOLS = ('s3', 'swift')
AUTH_TYPES = ('swift', 'keystone_v2', 'keystone_v3')

# What each keystone flavour cannot do without (behaviour 2.2).
AUTH_REQUIRED_KEYS = {
    'swift': (),
    'keystone_v2': ('tenant_name',),
    'keystone_v3': ('project_name', 'project_domain_name', 'user_domain_name'),
}

MAPPING_KEYS = {
    'account': Key(STR, default=REQUIRED),
    'container': Key(STR, default=REQUIRED),
    'aws_bucket': Key(STR, default=REQUIRED),
    'aws_endpoint': Key(STR),
    'aws_identity': Key(STR, default=REQUIRED),
    'aws_secret': Key(STR, default=REQUIRED),
    'aws_session_token': Key(STR),
    'aws_region': Key(STR, default='us-east-1'),                    # ours
    'protocol': Key(STR, default='s3', choices=PROTOCOLS),
    'copy_after': Key(NUMBER, default=0, minimum=0, maximum=10 * YEAR),
    'retain_local': Key(BOOL, default=True),
    'retain_local_segments': Key(BOOL, default=False),
    # true, except for archive mappings: see DERIVED_DEFAULTS
    'propagate_delete': Key(BOOL, default=DERIVED),
    'merge_namespaces': Key(BOOL, default=False),
    'restore_object': Key(BOOL, default=False),
    'exclude_pattern': Key(STR),
    'selection_criteria': Key(DICT),
    'custom_prefix': Key(STR),
    'encryption': Key(BOOL, default=True),
    'remote_delete_after': Key(NUMBER, default=0, minimum=0, maximum=100 * YEAR),
    'remote_delete_after_addition': Key(NUMBER, default=DAY, minimum=0, maximum=100 * YEAR),
    'propagate_expiration': Key(BOOL, default=False),
    'propagate_expiration_offset': Key(INT, default=0, minimum=-100 * YEAR, maximum=100 * YEAR),
    'convert_dlo': Key(BOOL, default=False),
    'min_segment_size': Key(INT, default=0, minimum=0, maximum=5 * 2 ** 30),
    'sync_container_metadata': Key(BOOL, default=False),
    'sync_container_acl': Key(BOOL, default=False),
    'storage_policy': Key(STR),
    # 'swift' for protocol swift, see DERIVED_DEFAULTS
    'auth_type': Key(STR, default=DERIVED, choices=AUTH_TYPES),
    'tenant_name': Key(STR),
    'project_name': Key(STR),
    'project_domain_name': Key(STR),
    'user_domain_name': Key(STR),
    'remote_account': Key(STR),
    # ours
    'create_bucket': Key(BOOL, default=False),
    'signature_version': Key(STR, default='s3v4', choices=('s3v4', 's3')),
    'remote_timeout': Key(NUMBER, default=60, minimum=1, maximum=3600),
    'max_conns': Key(INT, default=10, minimum=1, maximum=1000),
    'restore_expire_days': Key(INT, default=0, minimum=0, maximum=36500),
    # ours, the delete rail (s3_sync/throttle.py): propagated deletes per full pass, 0 = no limit
    'max_deletes_per_pass': Key(INT, default=0, minimum=0, maximum=10 ** 9),
    'max_delete_bytes_per_pass': Key(INT, default=0, minimum=0, maximum=2 ** 62),
    # ours, throttles of this mapping's remote requests (s3_sync/throttle.py), 0 = no limit
    'max_requests_per_second': Key(NUMBER, default=0, minimum=0, maximum=10 ** 6),
    'max_bytes_per_second': Key(NUMBER, default=0, minimum=0, maximum=2 ** 50),
}

# Defaults computed from the rest of their section (already checked and filled).
DERIVED_DEFAULTS = {
    'max_pending': lambda conf: 2 * (conf['items_chunk'] or 1000),
    'recon_cache_path': lambda conf: conf['status_dir'],
    'internal_client_path': lambda conf: conf['swift_dir'].rstrip('/') + '/internal-client.conf',
    # The original's archive configs leave it unset; propagating an archive's own local
    # deletes would destroy the archive, so unset means false there (an explicit true is
    # refused).
    'propagate_delete': lambda mapping: mapping['retain_local'],
    'auth_type': lambda mapping: 'swift' if mapping['protocol'] == 'swift' else None,
    'container': lambda migration: migration['aws_bucket'],
}

# Keys accepted (existing files use them) but not acted on by this version, with why. Each one
# that asks for something is announced at load in one line; none of them loses data when
# ignored (they add behaviour: expiry, segment handling, the migrator).
NOT_APPLIED = {
    'bulk_process': 'rows are always handled by the green-thread pool',
}
# Applied only on some targets: {key: (protocols where applied, why not elsewhere)}.
APPLIED_ON = {
    'convert_dlo': (('swift',), 'S3 targets store a DLO as one object already'),
    'remote_delete_after_addition': (('swift',), 'S3 lifecycle rules expire whole objects'),
    'min_segment_size': (('swift',), 'S3 targets store a DLO as one object already'),
    'propagate_expiration': (('swift',), 'S3 objects have no expiry time to set'),
    'propagate_expiration_offset': (('swift',), 'S3 objects have no expiry time to set'),
    'sync_container_metadata': (('swift',), 'S3 buckets have no container metadata'),
    'sync_container_acl': (('swift',), 'S3 buckets have no container ACLs'),
    'storage_policy': (('swift',), 'S3 buckets have no storage policy'),
    'remote_account': (('swift',), 'it names a Swift account'),
    'tenant_name': (('swift',), 'S3 targets do not use keystone'),
    'project_name': (('swift',), 'S3 targets do not use keystone'),
    'project_domain_name': (('swift',), 'S3 targets do not use keystone'),
    'user_domain_name': (('swift',), 'S3 targets do not use keystone'),
    'auth_type': (('swift',), 'S3 targets sign requests with aws_identity/aws_secret'),
    'custom_prefix': (('s3',), 'Swift targets keep object names unchanged'),
    'encryption': (('s3',), 'it asks AWS for server-side encryption'),
    'aws_session_token': (('s3',), 'it is an AWS STS token'),
    'aws_region': (('s3',), 'Swift targets have no region'),
    'signature_version': (('s3',), 'Swift targets use tokens, not signatures'),
}
# A key that does something only together with another: {key: (the other key, its value
# that makes it work)}; a key set to something without it is announced at load.
EFFECTIVE_WITH = {
    'propagate_expiration_offset': ('propagate_expiration', True),
    'restore_expire_days': ('restore_object', True),
    'tenant_name': ('auth_type', 'keystone_v2'),
    'project_name': ('auth_type', 'keystone_v3'),
    'project_domain_name': ('auth_type', 'keystone_v3'),
    'user_domain_name': ('auth_type', 'keystone_v3'),
}

# The plain defaults a mapping gets when a key is absent.
MAPPING_DEFAULTS = {name: key.default for name, key in MAPPING_KEYS.items()
                    if key.default not in (ABSENT, REQUIRED, DERIVED)}

# One ``migrations[]`` entry (behaviour 2.3): where the migrator (and, for reads, the shunt)
# takes data from. Source keys are the same as a mapping's remote keys.
MIGRATION_KEYS = {
    'account': Key(STR, default=REQUIRED),
    'aws_bucket': Key(STR, default=REQUIRED),          # or "/*": every bucket of the source
    'container': Key(STR, default=DERIVED),            # the local container; aws_bucket
    'aws_endpoint': Key(STR),
    'aws_identity': Key(STR, default=REQUIRED),
    'aws_secret': Key(STR, default=REQUIRED),
    'aws_session_token': Key(STR),
    'aws_region': Key(STR, default='us-east-1'),                    # ours
    'protocol': Key(STR, default='s3', choices=PROTOCOLS),
    'auth_type': Key(STR, default=DERIVED, choices=AUTH_TYPES),
    'tenant_name': Key(STR),
    'project_name': Key(STR),
    'project_domain_name': Key(STR),
    'user_domain_name': Key(STR),
    'remote_account': Key(STR),
    'prefix': Key(STR, default=''),
    # seconds: only objects whose source Last-Modified is at least this old are copied
    'older_than': Key(NUMBER, minimum=0, maximum=100 * YEAR),
    'propagate_account_metadata': Key(BOOL, default=False),
    'storage_policy': Key(STR),         # checked against swift.conf's policies by the migrator
    'restore_object': Key(BOOL, default=True),
    # source keys are always read natively: any value is replaced by "" (as the original)
    'custom_prefix': Key(STR),
    'selection_criteria': Key(DICT),
    # ours, as for mappings
    'signature_version': Key(STR, default='s3v4', choices=('s3v4', 's3')),
    'remote_timeout': Key(NUMBER, default=60, minimum=1, maximum=3600),
    'max_conns': Key(INT, default=10, minimum=1, maximum=1000),
}

# ``migrator_settings`` (behaviour 2.4): the migrator's own globals. The section is optional in
# the file (the sync daemon and the shunt do not need it); the migrator refuses to start
# without it.
MIGRATOR_SETTINGS_KEYS = {
    'status_file': Key(STR, default=REQUIRED),
    'items_chunk': Key(INT, default=REQUIRED, minimum=1, maximum=10000),
    'workers': Key(INT, default=10, minimum=1, maximum=1000),
    'poll_interval': Key(NUMBER, default=5, minimum=0, maximum=DAY),
    'segment_size': Key(INT, default=100000000, minimum=1024 * 1024, maximum=5 * 2 ** 30),
    'ring_name': Key(STR, default='container'),
    # seconds without a sign of life from a replica's node before the next replica's node
    # takes its share of a container over (must exceed the longest page)
    'takeover_after': Key(NUMBER, default=1800, minimum=1, maximum=DAY * 30),
    'statsd_prefix': Key(STR),
    'log_file': Key(STR),
    'log_level': Key(STR, default='info', choices=LOG_LEVELS),
    'syslog': Key(DICT),
    # legacy (swift-s3-sync <= 0.1.24): the ring decides which node migrates what
    'process': Key(INT, minimum=0, maximum=10000),
    'processes': Key(INT, minimum=1, maximum=10000),
}
# Accepted in migrator_settings / migrations[] for old files, and said to be ignored.
IGNORED_MIGRATOR_KEYS = {
    'process': 'ignored: the container ring decides which node migrates what',
    'processes': 'ignored: the container ring decides which node migrates what',
    'selection_criteria': 'ignored by migrations (as in the original): every object is '
                          'migrated',
}

# The mapping fields that identify one mapping; two mappings equal on all of them would write
# the same remote keys from the same local container.
MAPPING_IDENTITY = ('account', 'container', 'aws_bucket', 'aws_endpoint', 'protocol',
                    'custom_prefix')

# The fields whose change resets crawl progress (stored as ``policy`` in status files).
POLICY_KEYS = ('copy_after', 'retain_local', 'propagate_delete')

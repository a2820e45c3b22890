"""The one error a bad config raises.

Every component (daemon, verify, shunt, proxymc) prints ``str(ConfigError)`` and stops, so the
message must be one line that says which file and which key are wrong, e.g.
``/etc/swift-s3-sync/sync.json: containers[2].aws_bucket: missing required key``.
"""


class ConfigError(Exception):
    def __init__(self, key, message, path=None):
        super().__init__(key, message, path)
        self.key = key          # key path such as 'containers[2].aws_bucket', or None
        self.message = message
        self.path = path        # the file; set by load_config once known

    def __str__(self):
        parts = [p for p in (self.path, self.key, self.message) if p]
        # One line whatever a wrapped OS or regex message contained.
        return ': '.join(str(p) for p in parts).replace('\r', ' ').replace('\n', ' ')

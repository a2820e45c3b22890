"""The one error a bad config raises.

Every component (daemon, verify, shunt, proxymc) prints ``str(ConfigError)`` and stops, so the
message must be one line that says which file and which key are wrong, e.g.
``/etc/swift-s3-sync/sync.json: containers[2].aws_bucket: missing required key``.
"""


def printable(text):
    """``text`` with every character that is not printable written as its escape (``\\n``,
    ``\\x1b``, ``\\u2028``, ``\\ud800``). Config errors and warnings quote keys and values from
    the file: a newline or a Unicode line separator would split the one line in two, an escape
    sequence would reach the operator's terminal, and a lone surrogate would make a UTF-8 log
    file's handler fail."""
    if text.isprintable():
        return text
    return ''.join(ch if ch.isprintable() else ch.encode('unicode_escape').decode('ascii')
                   for ch in text)


class ConfigError(Exception):
    def __init__(self, key, message, path=None):
        super().__init__(key, message, path)
        self.key = key          # key path such as 'containers[2].aws_bucket', or None
        self.message = message
        self.path = path        # the file; set by load_config once known

    def __str__(self):
        parts = [p for p in (self.path, self.key, self.message) if p]
        return printable(': '.join(str(p) for p in parts))

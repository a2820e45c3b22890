"""Logging set-up for the daemons (behaviour 1.7), with secret redaction.

One format everywhere (``[time] name [LEVEL]: message``), to stderr with ``--console`` or to a
rotating file (100 MiB x 5) otherwise, plus optional syslog. The same handlers serve our logger,
the ``s3_sync`` package logger (for modules that use ``logging.getLogger(__name__)``) and
boto3/botocore, whose debug output is the only way to see what went over the wire.

Remote credentials must never reach a log line: botocore debug output and exception messages can
carry them. Every handler therefore runs :class:`RedactFilter`, which replaces each configured
``aws_secret`` (and session token) with ``<redacted>`` in the message and in any traceback.
"""
import logging
import logging.handlers
import socket
import sys

from swift.common.exceptions import LockTimeout

from s3_sync.config.errors import ConfigError

# What a guard that keeps a process going catches and logs in one line: every error, and
# Swift's LockTimeout (a container DB whose lock a busy server held too long), an eventlet
# Timeout and so not an Exception: uncaught, it ended the daemon.
FAILURES = (Exception, LockTimeout)
LOG_FORMAT = '[%(asctime)s] %(name)s [%(levelname)s]: %(message)s'
MAX_LOG_BYTES = 100 * 1024 * 1024
LOG_BACKUPS = 5
REDACTED = '<redacted>'
# botocore's chattiest loggers stay at info even when the daemon runs at debug.
QUIET_BOTOCORE = ('botocore.hooks', 'botocore.session', 'botocore.loaders', 'botocore.client')
SECRET_KEYS = ('aws_secret', 'aws_session_token')
# Marks the handlers we installed, so a second set-up replaces them instead of doubling output.
_OURS = '_s3_sync_handler'


ONE_LINE_LIMIT = 300


def one_line(value, limit=ONE_LINE_LIMIT, first_line=False):
    """``value`` (a message or an exception) as one bounded line for a log or an error:
    whitespace runs, newlines included, become one space (or, with ``first_line``, only the
    first non-empty line is kept); an empty exception gives its type name."""
    text = str(value).strip()
    if first_line and text:
        text = text.splitlines()[0]
    text = ' '.join(text.split())
    if not text and isinstance(value, BaseException):
        text = type(value).__name__
    return text if len(text) <= limit else text[:limit] + '...'


def redact(text, secrets):
    """``text`` with every non-empty secret replaced by ``<redacted>``. Longest first, so a
    secret that contains another is not left half-shown."""
    for secret in sorted(set(s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def config_secrets(conf):
    """Every secret in the config's ``containers`` and ``migrations`` mappings."""
    found = []
    for mapping in conf.containers:
        found.extend(getattr(mapping, k) for k in SECRET_KEYS if getattr(mapping, k))
    for migration in conf.migrations:
        found.extend(getattr(migration, k) for k in SECRET_KEYS if getattr(migration, k))
    return found


class RedactFilter(logging.Filter):
    """Rewrites a record in place so no handler (and no later formatter) sees a secret."""

    _exc_formatter = logging.Formatter()

    def __init__(self, secrets):
        super().__init__()
        self.secrets = list(secrets)

    def filter(self, record):
        if not self.secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:
            # A bad format string would make logging print msg and args raw; keep them,
            # redacted, instead.
            message = '%s %r' % (record.msg, record.args)
        record.msg = redact(message, self.secrets)
        record.args = None
        if record.exc_info and not record.exc_text:
            # The Formatter uses exc_text when set; render it now, redacted.
            record.exc_text = self._exc_formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        return True


def parse_level(level, config_path=None):
    name = str(level).upper()
    value = logging.getLevelName(name)
    if not isinstance(value, int):
        raise ConfigError('log_level', 'unknown level "%s"' % level, config_path)
    return value


def file_handler(conf, config_path=None):
    path = conf.log_file
    if not path:
        raise ConfigError('log_file', 'required unless running with --console', config_path)
    try:
        return logging.handlers.RotatingFileHandler(
            path, maxBytes=MAX_LOG_BYTES, backupCount=LOG_BACKUPS, encoding='utf-8')
    except OSError as exc:
        raise ConfigError('log_file', 'cannot open %s: %s' % (path, exc.strerror or exc),
                          config_path)


def syslog_handler(syslog, config_path=None):
    """``syslog`` is the checked ``syslog`` section (host, port and proto filled in)."""
    host, port, proto = syslog['host'], syslog['port'], syslog['proto']
    socktype = socket.SOCK_STREAM if proto == 'tcp' else socket.SOCK_DGRAM
    try:
        return logging.handlers.SysLogHandler(address=(host, port), socktype=socktype)
    except OSError as exc:
        raise ConfigError('syslog', 'cannot reach %s:%s/%s: %s' % (
            host, port, proto, exc.strerror or exc), config_path)


def build_handlers(conf, console, config_path=None):
    handlers = [logging.StreamHandler(sys.stderr) if console
                else file_handler(conf, config_path)]
    if conf.syslog:
        handlers.append(syslog_handler(conf.syslog, config_path))
    formatter = logging.Formatter(LOG_FORMAT)
    redactor = RedactFilter(config_secrets(conf))
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(redactor)
        setattr(handler, _OURS, True)
    return handlers


def _install(logger, handlers, level):
    for old in [h for h in logger.handlers if getattr(h, _OURS, False)]:
        logger.removeHandler(old)
        old.close()
    for handler in handlers:
        logger.addHandler(handler)
    logger.setLevel(level)
    # Our handlers are complete; the root logger (swift's, a test runner's) must not
    # print the same line again.
    logger.propagate = False


def setup_logging(conf, console=False, level=None, name='s3-sync', config_path=None):
    """Configure logging from the config and return the logger called ``name``.

    ``level`` (e.g. from ``--log-level``) overrides ``conf['log_level']``. Without ``console``,
    ``log_file`` is required. Errors are one-line :class:`ConfigError`s."""
    numeric = parse_level(level or conf.log_level, config_path)
    handlers = build_handlers(conf, console, config_path)
    for logger_name in dict.fromkeys((name, 's3_sync', 'boto3', 'botocore')):
        _install(logging.getLogger(logger_name), handlers, numeric)
    quiet = logging.INFO if numeric <= logging.DEBUG else logging.NOTSET
    for logger_name in QUIET_BOTOCORE:
        logging.getLogger(logger_name).setLevel(quiet)
    return logging.getLogger(name)

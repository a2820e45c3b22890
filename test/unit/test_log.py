"""Logging set-up: targets, format, levels, and that secrets never reach a log line."""
import io
import logging
import logging.handlers
import os
import shutil
import socket
import tempfile
import unittest
from unittest import mock

from s3_sync import log
from s3_sync.config import ConfigError
from s3_sync.config import validate_config

SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
TOUCHED = ('s3-sync', 's3_sync', 'boto3', 'botocore', 'test-logger') + log.QUIET_BOTOCORE


def cfg(conf):
    """The checked Config of a parsed file."""
    return validate_config(conf, for_daemon=False)


def conf_with_secret(**extra):
    conf = {'containers': [{'account': 'AUTH_a', 'container': 'c', 'aws_bucket': 'b',
                            'aws_identity': 'id', 'aws_secret': SECRET}]}
    conf.update(extra)
    return conf


class LoggingCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.saved = {name: (logging.getLogger(name).level, logging.getLogger(name).propagate)
                      for name in TOUCHED}

    def tearDown(self):
        for name, (level, propagate) in self.saved.items():
            logger = logging.getLogger(name)
            for handler in [h for h in logger.handlers if getattr(h, log._OURS, False)]:
                logger.removeHandler(handler)
                handler.close()
            logger.setLevel(level)
            logger.propagate = propagate
        shutil.rmtree(self.tmp)

    def console(self, conf=None, **kwargs):
        stream = io.StringIO()
        with mock.patch('sys.stderr', stream):
            logger = log.setup_logging(cfg(conf or {}), console=True, **kwargs)
        return logger, stream


class TestTargets(LoggingCase):
    def test_console_writes_formatted_lines_to_stderr(self):
        logger, stream = self.console()
        logger.info('hello %s', 'world')
        line = stream.getvalue()
        self.assertRegex(line, r'^\[\d{4}-\d\d-\d\d [\d:,]+\] s3-sync \[INFO\]: hello world\n$')

    def test_missing_log_file_is_one_line_error(self):
        with self.assertRaises(ConfigError) as ctx:
            log.setup_logging(cfg({}), config_path='/etc/sync.json')
        self.assertEqual(str(ctx.exception),
                         '/etc/sync.json: log_file: required unless running with --console')

    def test_log_file_receives_lines(self):
        path = os.path.join(self.tmp, 'sync.log')
        logger = log.setup_logging(cfg({'log_file': path}))
        logger.warning('disk %d', 3)
        for handler in logger.handlers:
            handler.flush()
        with open(path) as f:
            self.assertIn('s3-sync [WARNING]: disk 3', f.read())

    def test_log_file_rotates_at_100_mib_keeping_5(self):
        logger = log.setup_logging(cfg({'log_file': os.path.join(self.tmp, 'sync.log')}))
        handler, = logger.handlers
        self.assertIsInstance(handler, logging.handlers.RotatingFileHandler)
        self.assertEqual(handler.maxBytes, 100 * 1024 * 1024)
        self.assertEqual(handler.backupCount, 5)

    def test_unopenable_log_file_is_one_line_error(self):
        path = os.path.join(self.tmp, 'no-such-dir', 'sync.log')
        with self.assertRaises(ConfigError) as ctx:
            log.setup_logging(cfg({'log_file': path}))
        self.assertEqual(str(ctx.exception),
                         'log_file: cannot open %s: No such file or directory' % path)

    def test_syslog_udp_receives_lines(self):
        receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(receiver.close)
        receiver.bind(('127.0.0.1', 0))
        receiver.settimeout(5)
        port = receiver.getsockname()[1]
        logger, _ = self.console(conf_with_secret(
            syslog={'host': '127.0.0.1', 'port': port, 'proto': 'udp'}))
        logger.error('key is %s', SECRET)
        data = receiver.recv(65536).decode()
        self.assertIn('s3-sync [ERROR]: key is <redacted>', data)
        self.assertNotIn(SECRET, data)

    def test_unreachable_tcp_syslog_is_one_line_error(self):
        closed = socket.socket()
        closed.bind(('127.0.0.1', 0))
        port = closed.getsockname()[1]
        closed.close()      # nothing listens there now: the connect is refused
        with self.assertRaises(ConfigError) as ctx:
            self.console({'syslog': {'host': '127.0.0.1', 'port': port, 'proto': 'tcp'}})
        self.assertIn('syslog: cannot reach 127.0.0.1:%d/tcp' % port, str(ctx.exception))

    def test_second_setup_replaces_handlers(self):
        self.console()
        logger, stream = self.console()
        self.assertEqual(len(logger.handlers), 1)
        logger.info('once')
        self.assertEqual(stream.getvalue().count('once'), 1)

    def test_package_and_boto_loggers_share_the_handlers(self):
        logger, stream = self.console()
        logging.getLogger('s3_sync.crawler.node').info('from module')
        logging.getLogger('botocore.endpoint').info('from botocore')
        logging.getLogger('boto3.resources').info('from boto3')
        output = stream.getvalue()
        self.assertIn('s3_sync.crawler.node [INFO]: from module', output)
        self.assertIn('botocore.endpoint [INFO]: from botocore', output)
        self.assertIn('boto3.resources [INFO]: from boto3', output)


class TestLevels(LoggingCase):
    def test_conf_log_level_applies(self):
        logger, stream = self.console({'log_level': 'warning'})
        logger.info('hidden')
        logger.warning('shown')
        self.assertNotIn('hidden', stream.getvalue())
        self.assertIn('shown', stream.getvalue())

    def test_level_argument_overrides_conf(self):
        logger, stream = self.console({'log_level': 'error'}, level='debug')
        logger.debug('details')
        self.assertIn('[DEBUG]: details', stream.getvalue())

    def test_default_level_is_info(self):
        logger, stream = self.console()
        logger.debug('hidden')
        self.assertEqual(stream.getvalue(), '')
        self.assertEqual(logger.level, logging.INFO)

    def test_debug_keeps_chatty_botocore_loggers_at_info(self):
        self.console(level='debug')
        self.assertEqual(logging.getLogger('botocore').level, logging.DEBUG)
        for name in log.QUIET_BOTOCORE:
            self.assertEqual(logging.getLogger(name).level, logging.INFO, name)

    def test_unknown_level_is_one_line_error(self):
        with self.assertRaises(ConfigError) as ctx:
            self.console(level='chatty')
        self.assertEqual(str(ctx.exception), 'log_level: unknown level "chatty"')

    def test_custom_logger_name(self):
        logger, stream = self.console(name='test-logger')
        logger.info('x')
        self.assertIn('test-logger [INFO]: x', stream.getvalue())


class TestRedaction(LoggingCase):
    def test_redact_replaces_every_secret(self):
        self.assertEqual(log.redact('a=s1 b=s22 c=s1', ['s1', 's22']),
                         'a=<redacted> b=<redacted> c=<redacted>')

    def test_redact_prefers_longest_secret(self):
        self.assertEqual(log.redact('xabcx', ['ab', 'abc']), 'x<redacted>x')

    def test_redact_ignores_empty_secrets(self):
        self.assertEqual(log.redact('text', ['', None]), 'text')

    def test_secret_in_arguments_is_redacted(self):
        logger, stream = self.console(conf_with_secret())
        logger.info('connecting with %s', SECRET)
        self.assertNotIn(SECRET, stream.getvalue())
        self.assertIn('connecting with <redacted>', stream.getvalue())

    def test_secret_in_botocore_debug_is_redacted(self):
        _, stream = self.console(conf_with_secret(), level='debug')
        logging.getLogger('botocore.endpoint').debug('params: {"secret": "%s"}' % SECRET)
        self.assertIn('<redacted>', stream.getvalue())
        self.assertNotIn(SECRET, stream.getvalue())

    def test_secret_in_traceback_is_redacted(self):
        logger, stream = self.console(conf_with_secret())
        try:
            raise ValueError('bad key %s' % SECRET)
        except ValueError:
            logger.exception('failed')
        self.assertIn('ValueError: bad key <redacted>', stream.getvalue())
        self.assertNotIn(SECRET, stream.getvalue())

    def test_secret_in_broken_format_call_is_redacted(self):
        logger, stream = self.console(conf_with_secret())
        with mock.patch.object(logging, 'raiseExceptions', False):
            logger.info('no placeholder', SECRET)
        self.assertNotIn(SECRET, stream.getvalue())

    def test_session_tokens_and_migration_secrets_are_redacted(self):
        conf = conf_with_secret(migrations=[{'account': 'AUTH_m', 'aws_bucket': 'b',
                                             'aws_identity': 'id',
                                             'aws_secret': 'migration-secret'}])
        conf['containers'][0]['aws_session_token'] = 'session-token-value'
        logger, stream = self.console(conf)
        logger.info('%s %s', 'migration-secret', 'session-token-value')
        self.assertIn('<redacted> <redacted>', stream.getvalue())


if __name__ == '__main__':
    unittest.main()

"""What it takes to start the real ``swift-s3-sync`` daemon in a test (not a test module).

The daemon's InternalClient loads the account, container and object rings and ``swift.conf``
from ``swift_dir``; the crawler tests' :func:`test.unit.test_crawler_helpers.swift_dir` holds a
real container ring only, so :func:`daemon_swift_dir` copies it and adds the other two rings,
built the same way (3 devices on 127.0.0.1-3).
"""
import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile

from swift.common.ring import RingBuilder

from test.unit.test_crawler_helpers import swift_dir

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_DAEMON_SWIFT_DIR = None


def _build_ring(path, base_port):
    builder = RingBuilder(6, 3, 1)
    for n in (1, 2, 3):
        builder.add_dev({'id': n - 1, 'region': 1, 'zone': n, 'ip': '127.0.0.%d' % n,
                         'port': base_port + n, 'device': 'sdb%d' % n, 'weight': 100})
    builder.rebalance(seed=7)
    builder.get_ring().save(path)


def daemon_swift_dir():
    """A swift_dir (swift.conf and all three rings) for the whole test run."""
    global _DAEMON_SWIFT_DIR
    if _DAEMON_SWIFT_DIR is None:
        source = swift_dir()
        d = tempfile.mkdtemp(prefix='daemon-swift-')
        atexit.register(shutil.rmtree, d, True)
        for name in ('swift.conf', 'container.ring.gz'):
            shutil.copy(os.path.join(source, name), d)
        _build_ring(os.path.join(d, 'account.ring.gz'), 6100)
        _build_ring(os.path.join(d, 'object.ring.gz'), 6000)
        _DAEMON_SWIFT_DIR = d
    return _DAEMON_SWIFT_DIR


def archive_entry(**extra):
    """A ``containers[]`` entry the shunt serves (archive mode); its remote is never reached."""
    entry = {'account': 'AUTH_test', 'container': 'archive', 'aws_bucket': 'archive-bucket',
             'aws_endpoint': 'http://127.0.0.1:9', 'aws_identity': 'test-identity',
             'aws_secret': 'test-secret-not-real', 'retain_local': False}
    entry.update(extra)
    return entry


class DaemonDirs:
    """A node's directories for a daemon that finds no container DB and so idles: an empty
    devices dir (one empty device), a status dir, a log dir."""

    def __init__(self):
        self.base = tempfile.mkdtemp(prefix='daemon-test-')
        self.devices = os.path.join(self.base, 'srv')
        os.makedirs(os.path.join(self.devices, 'sdb1'))
        self.status_dir = os.path.join(self.base, 'status')
        os.makedirs(self.status_dir)
        self.swift_dir = daemon_swift_dir()

    def conf(self, **extra):
        conf = {'devices': self.devices, 'status_dir': self.status_dir, 'items_chunk': 100,
                'swift_dir': self.swift_dir, 'swift_bind_ip': '127.0.0.1',
                'poll_interval': 60, 'containers': [archive_entry()]}
        conf.update(extra)
        return conf

    def write(self, content, name='sync.json'):
        """``content``: a dict (dumped as JSON), a str or bytes (written as they are)."""
        path = os.path.join(self.base, name)
        if isinstance(content, dict):
            content = json.dumps(content)
        with open(path, 'wb') as f:
            f.write(content.encode('utf-8') if isinstance(content, str) else content)
        return path

    def cleanup(self):
        shutil.rmtree(self.base, ignore_errors=True)


def daemon_command(*args):
    return [sys.executable, '-m', 's3_sync.cli.sync'] + list(args)


def daemon_env():
    env = dict(os.environ)
    env['PYTHONPATH'] = REPO_ROOT + os.pathsep + env.get('PYTHONPATH', '')
    env.pop('PYTHONWARNINGS', None)
    return env


def run_daemon(*args, timeout=60):
    """The real daemon as a subprocess: ``(exit status, stderr)``."""
    proc = subprocess.run(daemon_command(*args), cwd=REPO_ROOT, env=daemon_env(),
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, timeout=timeout)
    return proc.returncode, proc.stderr.decode('utf-8', 'replace')


def restore_logging():
    """Undo what an in-process ``sync.run`` did to the loggers (its handlers write to the
    stderr of that test; later tests must not log there)."""
    import logging
    from s3_sync import log
    for name in ('s3-sync', 's3_sync', 'boto3', 'botocore'):
        logger = logging.getLogger(name)
        for handler in [h for h in logger.handlers if getattr(h, log._OURS, False)]:
            logger.removeHandler(handler)
            handler.close()
        logger.setLevel(logging.NOTSET)
        logger.propagate = True

"""The program every dev-environment server runs as (its argv[0] module).

    python -m devenv.launch swift SWIFT_DIR MODULE:FUNC CONF
    python -m devenv.launch moto TAG [moto_server args]

Why a wrapper rather than ``swift-proxy-server CONF``:

* Swift reads swift.conf from a module constant (/etc/swift); the servers'
  ``set_swift_dir`` switches the hash prefix/suffix but does not reload the
  storage policies. Calling both before ``main()`` makes a private swift_dir
  fully effective (otherwise: wrong partitions, unknown policy 'silver').
* There is no /dev/log here, and Swift would then send syslog datagrams to
  127.0.0.1:514. Logs go to stderr (``-v``) and from there to BASE/log.
* Every process gets a command line naming this base dir (the conf path or
  the TAG), which tells our servers apart from anyone else's.
* moto logs one access line per request (``install_moto_access_log``) that the
  benchmark counts requests from, so no counting proxy sits in its path.
"""

import importlib
import logging
import os
import sys
import time
from urllib.parse import quote

# devenv is not installed: it is found only from the checkout that holds it
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def child_env(environ=None):
    """``environ`` (default: ours) with the repo root first on PYTHONPATH.

    For every process that imports devenv, or must run this checkout's
    s3_sync rather than whatever else is installed, wherever its cwd is.
    """
    env = dict(os.environ if environ is None else environ)
    env['PYTHONPATH'] = os.pathsep.join(
        [REPO_ROOT] + [p for p in [env.get('PYTHONPATH')] if p])
    return env


class _NullSyslogHandler(logging.NullHandler):
    """Stands in for Swift's syslog handler; accepts its arguments."""

    def __init__(self, *args, **kwargs):
        super().__init__()


def prepare_swift(swift_dir):
    from swift.common.utils import logs

    from s3_sync.swift_env import setup_swift

    logs.ThreadSafeSysLogHandler = _NullSyslogHandler
    setup_swift(swift_dir)


def run_swift(swift_dir, entry_point, conf):
    prepare_swift(swift_dir)
    module_name, func = entry_point.split(':')
    sys.argv = [module_name, conf, '-v']
    getattr(importlib.import_module(module_name), func)()


def access_line(handler, status, start, end):
    """One request in the field order of Swift's proxy-logging default template (what
    the benchmark's ``bench.accesslog`` parses)::

        client_ip remote_addr datetime method path protocol status referer user_agent
        auth_token bytes_recvd bytes_sent etag txid headers request_time source log_info
        start_time end_time policy_index access_user_id

    Fields quoted as Swift quotes them (the path once more than on the wire), so none
    holds a space; what moto cannot tell is ``-``.
    """
    def field(value):
        return quote(str(value), safe='/:') if value not in (None, '') else '-'
    client = handler.client_address[0] if handler.client_address else '-'
    return ' '.join([
        client, client, time.strftime('%d/%b/%Y/%H/%M/%S', time.gmtime(end)),
        handler.command or '-', field(handler.path), handler.request_version or '-',
        str(status), '-', field(handler.headers.get('User-Agent')), '-',
        field(handler.headers.get('Content-Length')), '-', '-', '-', '-',
        '%.4f' % (end - start), '-', '-', '%.6f' % start, '%.6f' % end, '-', '-'])


def install_moto_access_log():
    """Log each request once it is fully answered, with its start and end to the
    microsecond and its User-Agent, instead of werkzeug's line (written when the answer
    starts, to the second, coloured)."""
    from werkzeug import serving

    handler = serving.WSGIRequestHandler
    run_wsgi = handler.run_wsgi

    def log_request(self, code='-', size='-'):
        self.answered_status = code

    def logged_run_wsgi(self):
        start = time.time()
        self.answered_status = '-'
        try:
            run_wsgi(self)
        finally:
            serving._log('info', access_line(self, self.answered_status, start, time.time()))

    handler.log_request = log_request
    handler.run_wsgi = logged_run_wsgi


def run_moto(args):
    from moto.server import main as moto_main
    install_moto_access_log()
    moto_main(args)


def main(argv):
    if len(argv) == 4 and argv[0] == 'swift':
        return run_swift(*argv[1:])
    if len(argv) >= 2 and argv[0] == 'moto':
        return run_moto(argv[2:])
    sys.exit('usage: launch swift SWIFT_DIR MODULE:FUNC CONF | '
             'launch moto TAG [ARGS]')


if __name__ == '__main__':
    main(sys.argv[1:])

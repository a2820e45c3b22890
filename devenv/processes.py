"""Starting, recognising and stopping the servers of one base dir.

A pid file (``BASE/run/NAME.pid``) holds "pid starttime". A server counts as
running only if that pid is alive, not a zombie (a killed server lingers as
one until it is reaped), and started at that time, so a recycled pid is never
mistaken for ours nor signalled. Logs go to ``BASE/log/NAME.log``.
"""

import errno
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field

from devenv.errors import DevenvError


@dataclass
class Server:
    name: str
    argv: list
    addresses: list                 # [(ip, port)] it listens on
    probe: object                   # () -> bool: answers correctly?
    port_var: str = ''              # env var that moves its port
    conf: str = ''                  # its config file, if any
    cluster: str = ''
    env: dict = field(default_factory=dict)


def proc_start_time(pid):
    """Start time of a live, non-zombie ``pid``, else None."""
    try:
        with open('/proc/%d/stat' % pid) as fp:
            stat = fp.read()
    except (OSError, ValueError):
        return None
    # the command name may hold spaces and parentheses: split after the
    # last ')'. Then fields are: state(3) ... starttime(22).
    fields = stat[stat.rindex(')') + 2:].split()
    if fields[0] in ('Z', 'X'):
        return None
    return fields[19]


def port_in_use(ip, port):
    """True if something accepts connections on (ip, port)."""
    try:
        with socket.create_connection((ip, port), timeout=0.5):
            return True
    except OSError:
        return False


def _reap(pid):
    """Collect an exited child of ours, so that it does not stay a zombie."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


class ProcessTable:
    def __init__(self, base):
        self.run_dir = os.path.join(base, 'run')
        self.log_dir = os.path.join(base, 'log')
        self.log_offsets = {}

    def pid_path(self, name):
        return os.path.join(self.run_dir, name + '.pid')

    def log_path(self, name):
        return os.path.join(self.log_dir, name + '.log')

    def names(self):
        """Every server that has a pid file."""
        try:
            files = os.listdir(self.run_dir)
        except FileNotFoundError:
            return []
        return sorted(f[:-4] for f in files if f.endswith('.pid'))

    def running_pid(self, name):
        try:
            with open(self.pid_path(name)) as fp:
                pid, start = fp.read().split()
            pid = int(pid)
        except (OSError, ValueError):
            return None
        return pid if proc_start_time(pid) == start else None

    def start(self, server, base_env):
        os.makedirs(self.run_dir, exist_ok=True)
        os.makedirs(self.log_dir, exist_ok=True)
        env = dict(base_env, **server.env)
        log_path = self.log_path(server.name)
        with open(log_path, 'ab') as log:
            self.log_offsets[server.name] = log.tell()
            proc = subprocess.Popen(
                server.argv, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, env=env, close_fds=True,
                start_new_session=True)  # ^C in a terminal spares them
        start = proc_start_time(proc.pid)
        with open(self.pid_path(server.name), 'w') as fp:
            fp.write('%d %s\n' % (proc.pid, start))
        return proc.pid

    def log_tail(self, name, lines=15):
        """The last lines this run's process wrote to its log."""
        try:
            with open(self.log_path(name), 'rb') as fp:
                fp.seek(self.log_offsets.get(name, 0))
                text = fp.read().decode('utf-8', 'replace')
        except OSError:
            return ''
        return '\n'.join(text.rstrip().splitlines()[-lines:])

    def stop(self, names, timeout=10.0):
        """SIGTERM the running ones, SIGKILL after ``timeout``; drop pids."""
        pids = {}
        for name in names:
            pid = self.running_pid(name)
            if pid:
                pids[name] = pid
                self._signal(pid, signal.SIGTERM)
        deadline = time.time() + timeout
        killed = False
        while pids:
            for name, pid in list(pids.items()):
                _reap(pid)
                if not self.running_pid(name):
                    del pids[name]
            if not pids:
                break
            if time.time() > deadline:
                if killed:
                    raise DevenvError('could not stop: %s' % ', '.join(
                        '%s (pid %d)' % item for item in sorted(pids.items())))
                for pid in pids.values():
                    self._signal(pid, signal.SIGKILL)
                killed, deadline = True, time.time() + 5
            time.sleep(0.05)
        for name in names:
            try:
                os.unlink(self.pid_path(name))
            except FileNotFoundError:
                pass

    @staticmethod
    def _signal(pid, sig):
        try:
            os.kill(pid, sig)
        except OSError as err:
            if err.errno != errno.ESRCH:
                raise

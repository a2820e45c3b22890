"""More than one core per node: ``processes`` daemon processes split the node's containers.

Swift's convention (the object-expirer's ``processes``/``process``): ``processes`` is how many
processes share the work, ``process`` which share this one does (0-based). With ``processes``
> 1 and no ``process``, the daemon forks one child per share and supervises them; with
``process`` set it does only that share (several daemons started by hand or by systemd).

The split is by container name (a hash of ``account/container``), never by DB or row: every
replica DB a node holds of one container, and its shards, go to the same process, so one
status file has one writer, and no coordination is needed. A container is never crawled by
two processes, and each is crawled by one.
"""
import hashlib
import os
import signal
import time

RESTART_DELAY = 1.0       # a child that died is started again after this long
CONFIG_ERROR = 2          # a child that exits with this stops the daemon: restarting won't help


def share_of(account, container, processes):
    """Which process (0-based) of ``processes`` crawls ``account/container``."""
    digest = hashlib.md5(('%s/%s' % (account, container)).encode('utf-8')).hexdigest()
    return int(digest[:8], 16) % processes


def mine(job, process, processes):
    """True when this process crawls ``job`` (its root container decides, see above)."""
    return processes <= 1 or share_of(job.account, job.container, processes) == process


class Supervisor:
    """Forks ``processes`` children running ``child(index)`` (its exit status); restarts one
    that fails (not one that ended cleanly, as with ``--once``), passes a stop on to them
    (:meth:`stop`, called by the daemon's SIGTERM/SIGINT handler), and returns when all have
    stopped: 2 when one refused the config, else 0."""

    def __init__(self, processes, child, logger):
        self.processes = processes
        self.child = child
        self.logger = logger
        self.pids = {}          # pid -> share index
        self.stopping = False
        self.status = 0

    def _fork(self, index):
        pid = os.fork()
        if pid == 0:
            self.pids = {}      # a signal in the child must not reach its siblings
            code = 1
            try:
                code = self.child(index)
            finally:
                os._exit(code if isinstance(code, int) else 1)
        self.pids[pid] = index

    def stop(self, signum=signal.SIGTERM):
        """Stop every child (safe from a signal handler)."""
        self.stopping = True
        for pid in list(self.pids):
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

    def run(self):
        for index in range(self.processes):
            self._fork(index)
        self.logger.info('%d processes started, each crawls its share of the containers',
                         self.processes)
        while self.pids:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            except InterruptedError:
                continue
            index = self.pids.pop(pid, None)
            if index is None:
                continue
            code = os.waitstatus_to_exitcode(status)
            if code == CONFIG_ERROR:
                self.status = CONFIG_ERROR
                self.stop()
            elif code != 0 and not self.stopping:
                self.logger.error('process %d of %d (pid %d) exited with %s; starting it again',
                                  index, self.processes, pid, code)
                time.sleep(RESTART_DELAY)
                if not self.stopping:
                    self._fork(index)
        return self.status

"""SIGTERM and SIGINT stop the real daemon cleanly: exit 0 within a few seconds, a 'stopped'
line, and nothing else on the way out (a ``RuntimeError: greenlet is being finalized`` used to
be printed when green threads were unwound by the signal instead of noticing a stop flag)."""
import os
import signal
import subprocess
import threading
import time
import unittest

from test.unit.daemon_helpers import DaemonDirs, REPO_ROOT, daemon_command, daemon_env

STARTUP_TIMEOUT = 60    # a cold start imports Swift and eventlet: slow on a busy machine
STOP_TIMEOUT = 5        # an idle daemon notices a stop within crawler.STOP_CHECK (0.2 s)
NOISE = ('Traceback', 'RuntimeError', 'greenlet', 'Exception ignored')


class TestCleanStop(unittest.TestCase):
    def setUp(self):
        self.dirs = DaemonDirs()
        self.addCleanup(self.dirs.cleanup)
        # An idle daemon: its one device holds no container DB, and no full pass is due for a
        # minute, so it waits for changes until told to stop.
        self.conf = self.dirs.write(self.dirs.conf(poll_interval=60))

    def start(self):
        proc = subprocess.Popen(daemon_command('--config', self.conf, '--console'),
                                cwd=REPO_ROOT, env=daemon_env(), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.addCleanup(self.reap, proc)
        return proc

    @staticmethod
    def reap(proc):
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stderr.close()

    def wait_for_a_line(self, proc):
        """The first log line: the daemon is up and has its handlers installed."""
        lines = []
        reader = threading.Thread(target=lambda: lines.append(proc.stderr.readline()),
                                  daemon=True)
        reader.start()
        reader.join(STARTUP_TIMEOUT)
        self.assertTrue(lines and lines[0], 'the daemon logged nothing in %ds' % STARTUP_TIMEOUT)
        return lines[0].decode('utf-8', 'replace')

    def stop_with(self, signum):
        proc = self.start()
        first = self.wait_for_a_line(proc)
        self.assertIn('cycle done', first)
        sent = time.monotonic()
        os.kill(proc.pid, signum)
        try:
            _out, err = proc.communicate(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.fail('no exit within %ds of %s' % (STOP_TIMEOUT, signal.Signals(signum).name))
        took = time.monotonic() - sent
        err = first + err.decode('utf-8', 'replace')
        self.assertEqual(proc.returncode, 0, err)
        self.assertLess(took, STOP_TIMEOUT)
        lines = err.splitlines()
        self.assertIn('%s: stopping after the rows in flight' % signal.Signals(signum).name,
                      err)
        self.assertTrue(lines[-1].endswith('[INFO]: stopped'), err)
        for word in NOISE:
            self.assertNotIn(word, err)

    def test_sigterm_is_a_clean_stop(self):
        self.stop_with(signal.SIGTERM)

    def test_sigint_is_a_clean_stop(self):
        self.stop_with(signal.SIGINT)


if __name__ == '__main__':
    unittest.main()

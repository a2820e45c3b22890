"""The node daemons of a run: started, killed with -9, restarted, stopped; and, at each kill,
which rows the killed daemon may legitimately handle again (its in-flight work)."""
import json
import os
import signal
import time

from swift.container.backend import ContainerBroker

from devenv.daemons import NodeDaemons


def container_dbs(node):
    """Every container DB file on a node of the environment."""
    root = os.path.join(node['devices'], node['device'], 'containers')
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            if name.endswith('.db'):
                yield os.path.join(dirpath, name)


class Daemons:
    """One ``swift-s3-sync`` per node (devenv's NodeDaemons), under the suite's control."""

    def __init__(self, info, mappings, **overrides):
        self.info = info
        self.nodes = NodeDaemons(info, mappings, **overrides)
        self.count = len(info['nodes'])
        self.starts = 0

    @property
    def dir(self):
        return self.nodes.dir

    def start(self, indices=None):
        for index in range(self.count) if indices is None else indices:
            self.nodes.start(index)
            self.starts += 1

    def running(self):
        return sorted(i for i, p in self.nodes.procs.items() if p.poll() is None)

    def exited(self):
        """{index: exit status} of daemons that exited on their own."""
        return {i: p.returncode for i, p in self.nodes.procs.items() if p.poll() is not None}

    def kill(self, indices):
        for index in indices:
            if index in self.nodes.procs:
                self.nodes.kill(index, signal.SIGKILL)

    def stop(self, timeout=120):
        """SIGTERM (a clean stop: rows in flight finish); SIGKILL after ``timeout``."""
        procs = dict(self.nodes.procs)
        for proc in procs.values():
            proc.send_signal(signal.SIGTERM)
        deadline = time.time() + timeout
        unclean = []
        for index, proc in procs.items():
            try:
                proc.wait(timeout=max(1, deadline - time.time()))
            except Exception:
                proc.kill()
                proc.wait()
                unclean.append(index)
            else:
                if proc.returncode != 0:
                    unclean.append(index)
        self.nodes.procs.clear()
        return unclean

    def logs(self):
        out = {}
        for index in range(self.count):
            try:
                out[index] = self.nodes.log(index)
            except FileNotFoundError:
                out[index] = ''
        return out

    def status_files(self):
        return list(self.nodes.status_files())

    # -- what a killed daemon may do again --------------------------------------------------
    def status_dir(self, index):
        return os.path.join(self.dir, 'status-%d' % self.info['nodes'][index]['index'])

    def redo_names(self, index, containers):
        """(account, container, name) of the rows the daemon of node ``index`` will handle
        again after a kill: rows after its checkpoint (``last_row``) and its pending rows, in
        the DBs of ``containers`` ({(account, container)}) on its node, plus every row of such
        DBs it has no checkpoint for yet. Read right after the kill: what the status files say
        is what a restart sees."""
        status_dir = self.status_dir(index)
        entries = {}
        names = set()
        for dirpath, _dirs, files in os.walk(status_dir):
            for name in files:
                if name.startswith('.'):
                    continue
                account = os.path.basename(dirpath)
                try:
                    with open(os.path.join(dirpath, name)) as f:
                        data = json.load(f)
                except (OSError, ValueError):
                    continue        # the checker reports unreadable files
                for db_id, entry in data.items():
                    if isinstance(entry, dict):
                        entries[db_id] = entry
                        names.update((account, name, p.get('name'))
                                     for p in entry.get('pending', {}).values())
        for path in container_dbs(self.info['nodes'][index]):
            try:
                broker = ContainerBroker(path)
                root = tuple(broker.root_path.split('/', 1))
            except Exception:
                continue
            if root not in containers:
                continue
            for sub in broker.get_brokers():
                try:
                    sub_id = sub.get_info()['id']
                    rows = sub.get_items_since(entries.get(sub_id, {}).get('last_row', 0),
                                               10 ** 7)
                except Exception:
                    continue
                names.update(root + (r['name'],) for r in rows)
        return names

"""The node daemons of a run: started, killed with -9, restarted, stopped; and, at each kill,
which rows the killed daemon may legitimately handle again (its in-flight work)."""
import json
import os
import signal
import time

from swift.container.backend import ContainerBroker

from devenv.daemons import NodeDaemons


def lane_brokers(info, node_index, account, container):
    """The DBs a node holds for a container: its root replica (both DBs while it shards) and
    its replicas of the container's shards."""
    from test.reliability.localfaults import replica_path
    found = []
    path = replica_path(info, node_index, account, container)
    if not os.path.exists(path):
        return found
    root = ContainerBroker(path, account=account, container=container)
    try:
        found.extend(root.get_brokers())
        shards = root.get_shard_ranges()
    except Exception:
        return found
    for shard in shards:
        shard_path = replica_path(info, node_index, shard.account, shard.container)
        if os.path.exists(shard_path):
            found.append(ContainerBroker(shard_path, account=shard.account,
                                         container=shard.container))
    return found


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
            if dirpath == status_dir:
                continue    # status files are <status_dir>/<account>/<container>; the node's
                            # own files (recon cache, journals) sit above them
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
        node_index = self.info['nodes'][index]['index']
        for account, container in containers:
            for broker in lane_brokers(self.info, node_index, account, container):
                try:
                    sub_id = broker.get_info()['id']
                    rows = broker.get_items_since(
                        entries.get(sub_id, {}).get('last_row', 0), 10 ** 7)
                except Exception:
                    continue
                names.update((account, container, r['name']) for r in rows)
        return names

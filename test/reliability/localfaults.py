"""Local faults, done to the environment's real servers and databases:

* an object server down (stopped, later started again by ``Environment.up``);
* a container DB replica missing (its file removed from one node), later restored the way
  Swift's replicator restores a missing replica (a consistent copy of another replica, which
  the receiving side gives a new id, as ``complete_rsync`` does: the devenv runs no rsync);
* a container sharded (``swift-manage-shard-ranges find_and_replace --enable`` on one replica,
  then ``swift-container-sharder --once`` on every node until every replica is sharded).
"""
import concurrent.futures
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

from swift.common.ring import Ring
from swift.common.utils import hash_path, storage_directory
from swift.container.backend import SHARDED, ContainerBroker

from devenv import Environment
from devenv.launch import child_env


def environment(info):
    return Environment(info['base'])


def stop_object_server(info, node_index):
    """Stop object-server-N (SIGTERM, then SIGKILL); returns its name."""
    name = 'object-server-%d' % node_index
    environment(info).procs.stop([name])
    return name


def start_dead_servers(info):
    """Start whatever server of the environment is not running (and wait until it answers)."""
    environment(info).up()


def replica_path(info, node_index, account, container):
    ring = Ring(info['swift_dir'], ring_name='container')
    part, _nodes = ring.get_nodes(account, container)
    name_hash = hash_path(account, container)
    node = [n for n in info['nodes'] if n['index'] == node_index][0]
    return os.path.join(node['devices'], node['device'],
                        storage_directory('containers', part, name_hash), name_hash + '.db')


def remove_container_replica(info, node_index, account, container):
    """Remove the DB file (and its .pending) of one replica, as a lost disk would."""
    path = replica_path(info, node_index, account, container)
    for suffix in ('', '.pending'):
        try:
            os.unlink(path + suffix)
        except FileNotFoundError:
            pass
    return path


def restore_container_replica(info, node_index, from_index, account, container):
    """Copy a surviving replica into the missing one's place, with a new DB id (Swift's
    replicator: rsync of the file, then ``complete_rsync`` -> ``broker.newid``)."""
    source = replica_path(info, from_index, account, container)
    target = replica_path(info, node_index, account, container)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    tmp = target + '.restoring'
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(tmp)
    try:
        src.backup(dst)             # a consistent copy of a live DB
    finally:
        dst.close()
        src.close()
    remote_id = ContainerBroker(source).get_info()['id']
    os.rename(tmp, target)
    ContainerBroker(target).newid(remote_id)
    return target


# -- sharding ----------------------------------------------------------------------------
SETUP = ('import sys; from devenv.launch import prepare_swift; prepare_swift(%r); ')


def _swift_cli(info, code, args, timeout=300):
    cmd = [sys.executable, '-c', SETUP % info['swift_dir'] + code] + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, env=child_env(),
                          timeout=timeout)


def sharder_confs(info, workdir):
    """Container-server configs for the sharder: the devenv's, plus the internal client config
    and a replication quorum of 1 (the devenv has no rsync, so new shard DBs reach the other
    nodes by each node cleaving its own replica, and merging over HTTP)."""
    confs = {}
    for node in info['nodes']:
        with open(node['container_server_conf']) as f:
            text = f.read()
        text = text.replace('[container-sharder]', '\n'.join([
            '[container-sharder]',
            'internal_client_conf_path = %s' % info['internal_client_conf_path'],
            'shard_replication_quorum = 1',
            'existing_shard_replication_quorum = 1', '']))
        path = os.path.join(workdir, 'sharder-%d.conf' % node['index'])
        with open(path, 'w') as f:
            f.write(text)
        confs[node['index']] = path
    return confs


def shard_container(info, account, container, rows_per_shard, workdir, max_rounds=6):
    """Shard ``account/container`` for real, in shards of ``rows_per_shard`` objects (fewer
    when the container holds fewer than 3 shards' worth); returns (shard count, seconds, log
    lines)."""
    started = time.time()
    first = info['nodes'][0]['index']
    db = replica_path(info, first, account, container)
    objects = ContainerBroker(db).get_info()['object_count']
    rows_per_shard = max(2, min(rows_per_shard, objects // 3))
    part = container_partition(info, account, container)
    found = _swift_cli(info, 'from swift.cli.manage_shard_ranges import main; '
                             'sys.exit(main(sys.argv[1:]))',
                       [db, 'find_and_replace', str(rows_per_shard), '--enable', '--force'])
    log = ['swift-manage-shard-ranges find_and_replace %d: rc %d %s' % (
        rows_per_shard, found.returncode, (found.stdout + found.stderr).strip()[-300:])]
    if found.returncode != 0:
        raise RuntimeError('\n'.join(log))
    confs = sharder_confs(info, workdir)
    for _round in range(max_rounds):
        for node in info['nodes']:
            done = _swift_cli(info, 'from swift.container.sharder import main; '
                                    'sys.argv = ["swift-container-sharder"] + sys.argv[1:]; '
                                    'main()', [confs[node['index']], '--once',
                                               '--partitions', str(part)])
            log.append('swift-container-sharder --once node %d: rc %d' % (
                node['index'], done.returncode))
        states = [ContainerBroker(replica_path(info, n['index'], account, container))
                  .get_db_state() for n in info['nodes']]
        if all(state == SHARDED for state in states):
            break
    broker = ContainerBroker(replica_path(info, first, account, container))
    shards = len(broker.get_shard_ranges())
    log.append('states %s, %d shard ranges' % (states, shards))
    if not all(state == SHARDED for state in states):
        raise RuntimeError('not sharded after %d rounds: %s' % (max_rounds, '; '.join(log)))
    return shards, time.time() - started, log


def replicate_containers(info, partitions=None):
    """``swift-container-replicator --once`` on every node, as a cluster runs it all the time
    (the devenv runs no replicators): rows a replica missed reach it over HTTP. Returns the
    return codes."""
    codes = []
    for node in info['nodes']:
        args = [node['container_server_conf'], '--once']
        if partitions:
            args += ['--partitions', ','.join(str(p) for p in partitions)]
        done = _swift_cli(info, 'from swift.container.replicator import main; '
                                'sys.argv = ["swift-container-replicator"] + sys.argv[1:]; '
                                'main()', args)
        codes.append(done.returncode)
    return codes


def update_objects(info):
    """``swift-object-updater --once`` on every node, as a cluster runs it all the time (the
    devenv runs none): a container update an overloaded container server did not take in time
    waits in ``async_pending`` until an updater sends it, and until then no container DB holds
    the row, so no daemon can see it. The nodes' updaters run side by side. Returns the return
    codes."""
    def update(node):
        conf = node['container_server_conf'].replace('container-server', 'object-server')
        return _swift_cli(info, 'from swift.obj.updater import main; '
                                'sys.argv = ["swift-object-updater"] + sys.argv[1:]; '
                                'main()', [conf, '--once']).returncode
    with concurrent.futures.ThreadPoolExecutor(len(info['nodes'])) as pool:
        return list(pool.map(update, info['nodes']))


def replicate_objects(info, workdir):
    """``swift-object-replicator --once`` (ssync: the devenv has no rsync) on every node:
    copies and tombstones a node missed while it was down reach it."""
    codes = []
    for node in info['nodes']:
        conf = node['container_server_conf'].replace('container-server', 'object-server')
        with open(conf) as f:
            text = f.read()
        text = text.replace('[object-replicator]', '[object-replicator]\nsync_method = ssync\n')
        path = os.path.join(workdir, 'object-replicator-%d.conf' % node['index'])
        with open(path, 'w') as f:
            f.write(text)
        done = _swift_cli(info, 'from swift.obj.replicator import main; '
                                'sys.argv = ["swift-object-replicator"] + sys.argv[1:]; '
                                'main()', [path, '--once'])
        codes.append(done.returncode)
    return codes


class BackgroundReplicator:
    """Runs the container replicators (for some partitions) and, with ``objects``, the object
    replicators every ``interval`` seconds, as a cluster does all the time; ``stop`` runs a
    last pass, so the checks see what a settled cluster shows."""

    def __init__(self, info, partitions, interval=15, objects=False):
        self.info, self.partitions, self.interval = info, partitions, interval
        self.objects = objects
        self.runs = 0
        self.workdir = tempfile.mkdtemp(prefix='s3sync-rel-replicator-')
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def once(self):
        if self.objects:
            replicate_objects(self.info, self.workdir)
        replicate_containers(self.info, self.partitions)
        self.runs += 1

    def _loop(self):
        while not self._stop.wait(self.interval):
            self.once()

    def stop(self):
        self._stop.set()
        self._thread.join()
        self.once()
        cleanup_workdir(self.workdir)


def container_partition(info, account, container):
    return Ring(info['swift_dir'], ring_name='container').get_nodes(account, container)[0]


def cleanup_workdir(workdir):
    shutil.rmtree(workdir, ignore_errors=True)

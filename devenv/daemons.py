"""Running the real ``swift-s3-sync`` daemons of the environment's three nodes, as processes.

Each node gets its own config (its devices dir, bind ip and container-server port, its own
status dir), exactly as an operator would deploy one daemon per container node.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import weakref

from devenv.launch import child_env
from s3_sync import layout
from s3_sync.config import mapping_from_dict


def s3_mapping(target, bucket, account, container, **extra):
    mapping = {'account': account, 'container': container, 'aws_bucket': bucket,
               'aws_endpoint': target['aws_endpoint'], 'aws_identity': target['aws_identity'],
               'aws_secret': target['aws_secret'], 'protocol': 's3'}
    mapping.update(extra)
    return mapping


def remote_key(mapping, name):
    checked = mapping_from_dict(mapping)
    return layout.object_key(checked, checked.account, checked.container, name)


class NodeDaemons:
    """Configs and processes for one sync daemon per node of the environment."""

    def __init__(self, env, mappings, **overrides):
        self.env = env
        self.dir = tempfile.mkdtemp(prefix='s3sync-daemons-')
        # Configs, status dirs and logs go when this object does (or at exit).
        weakref.finalize(self, shutil.rmtree, self.dir, True)
        self.configs = []
        for node in env['nodes']:
            conf = {
                'devices': node['devices'],
                'swift_bind_ip': node['swift_bind_ip'],
                'swift_bind_port': node['bind_port'],
                'swift_dir': node['swift_dir'],
                'internal_client_path': node['internal_client_conf_path'],
                'status_dir': os.path.join(self.dir, 'status-%d' % node['index']),
                'items_chunk': 1000,
                'poll_interval': 1,
                'log_level': 'debug',
                'containers': mappings,
            }
            conf.update(overrides)
            path = os.path.join(self.dir, 'node%d.json' % node['index'])
            with open(path, 'w') as f:
                json.dump(conf, f, indent=1)
            self.configs.append(path)
        self.procs = {}

    def command(self, index, once=True):
        cmd = [sys.executable, '-m', 's3_sync.cli.sync', '--config', self.configs[index],
               '--console']
        return cmd + ['--once'] if once else cmd

    def _env(self):
        return child_env(dict(os.environ, NO_PROXY='127.0.0.1,localhost',
                              no_proxy='127.0.0.1,localhost'))

    def run_once(self, nodes=None, timeout=300):
        """Run the given nodes' daemons (all by default) at the same time, --once; their logs."""
        nodes = range(len(self.configs)) if nodes is None else nodes
        procs = [subprocess.Popen(self.command(i), stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, env=self._env()) for i in nodes]
        outputs = []
        for proc in procs:
            out, _ = proc.communicate(timeout=timeout)
            outputs.append((proc.returncode, out.decode('utf-8', 'replace')))
        return outputs

    def start(self, index):
        """Start one node's daemon in the background (run_forever)."""
        log = open(os.path.join(self.dir, 'node%d.log' % index), 'ab')
        self.procs[index] = subprocess.Popen(self.command(index, once=False), stdout=log,
                                             stderr=subprocess.STDOUT, env=self._env())
        return self.procs[index]

    def start_all(self):
        """Every node's daemon in the background, as on a real cluster."""
        for index in range(len(self.configs)):
            self.start(index)

    def kill_all(self, sig=signal.SIGKILL):
        for index in list(self.procs):
            self.kill(index, sig)

    def kill(self, index, sig=signal.SIGKILL):
        proc = self.procs.pop(index)
        proc.send_signal(sig)
        proc.wait(timeout=30)

    def log(self, index):
        path = os.path.join(self.dir, 'node%d.log' % index)
        with open(path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')

    def status_files(self):
        """The nodes' status files (JSON, atomically written); not the dot files beside them
        (the temp file of a write a kill cut short, the node's own files such as
        ``.first-crawls-0``, which is appended to line by line)."""
        for root, _dirs, files in os.walk(self.dir):
            for name in files:
                if 'status-' in root and not name.startswith('.'):
                    yield os.path.join(root, name)

    def stop_all(self):
        self.kill_all(signal.SIGTERM)


class NodeMigrators(NodeDaemons):
    """One ``swift-s3-migrator`` per node of the environment, each with its own status file,
    as an operator would run them on the container nodes."""

    def __init__(self, env, migrations, items_chunk=1000, top=None, **settings):
        self.migrations = migrations
        self.top = dict(top or {})      # top-level config keys (statsd_host, ...)
        self.settings = dict(items_chunk=items_chunk, **settings)
        super().__init__(env, [])
        self.write_configs()

    def write_configs(self):
        for index, path in enumerate(self.configs):
            node = self.env['nodes'][index]
            conf = {
                'devices': node['devices'],
                'swift_bind_ip': node['swift_bind_ip'],
                'swift_bind_port': node['bind_port'],
                'swift_dir': node['swift_dir'],
                'internal_client_path': node['internal_client_conf_path'],
                'migrations': self.migrations,
                'migrator_settings': dict(
                    {'status_file': self.status_file(index), 'log_level': 'info',
                     'poll_interval': 1}, **self.settings),
            }
            conf.update(self.top)
            with open(path, 'w') as f:
                json.dump(conf, f, indent=1)

    def status_file(self, index):
        return os.path.join(self.dir, 'status-%d' % self.env['nodes'][index]['index'],
                            'migrator.json')

    def command(self, index, once=True):
        cmd = [sys.executable, '-m', 's3_sync.cli.migrator', '--config', self.configs[index],
               '--console']
        return cmd + ['--once'] if once else cmd

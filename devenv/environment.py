"""``Environment``: bring the whole dev environment up, down, or report on it.

``up`` is idempotent: configs are rewritten only when their text changes (and
then only the servers reading them are restarted), rings are built only when
missing, running servers are left alone, dead ones are started again. It
refuses to start a server whose port is taken by a process that is not ours,
because the readiness probe would then talk to the wrong server.
"""

import contextlib
import fcntl
import json
import logging
import os
import pwd
import shutil
import time

from devenv import configs, rings, servers, settings as settings_mod
from devenv import radosgw as radosgw_mod
from devenv import sync_realms, topology
from devenv.errors import DevenvError
from devenv.info import build_info
from devenv.launch import child_env
from devenv.probes import swift_auth
from devenv.processes import ProcessTable, port_in_use

LOG = logging.getLogger('devenv')


def write_if_changed(path, text):
    try:
        with open(path) as fp:
            if fp.read() == text:
                return False
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + '.tmp'
    with open(tmp, 'w') as fp:
        fp.write(text)
    os.rename(tmp, path)
    return True


class Environment:
    def __init__(self, base=None, radosgw=False, **overrides):
        self.base = os.path.abspath(base or settings_mod.default_base())
        self.overrides = overrides
        self.radosgw_requested = radosgw   # start it too (devenv/radosgw.py)
        self.procs = ProcessTable(self.base)
        self.user = pwd.getpwuid(os.getuid()).pw_name
        self._settings = None

    @property
    def settings(self):
        if self._settings is None:
            self._settings = settings_mod.resolve(self.base, self.overrides)
        return self._settings

    @property
    def clusters(self):
        return topology.clusters(self.base, self.settings)

    @property
    def radosgw(self):
        return radosgw_mod.Radosgw(self.base, self.settings)

    def radosgw_enabled(self):
        """Part of this environment: asked for now, or still running from an earlier up."""
        return self.radosgw_requested or bool(self.radosgw.running())

    @property
    def env_json(self):
        return os.path.join(self.base, 'env.json')

    def servers(self):
        return servers.all_servers(self.base, self.settings, self.clusters,
                                   self.user)

    @property
    def info(self):
        """The env.json contents (computed if the env was never up)."""
        try:
            with open(self.env_json) as fp:
                info = json.load(fp)
        except (FileNotFoundError, ValueError):
            info = build_info(self.base, self.settings, *self.clusters)
        return self._with_radosgw(info)

    def _with_radosgw(self, info):
        """``info`` with an up-to-date 'radosgw' entry when radosgw is part of it."""
        info.pop('radosgw', None)
        if self.radosgw_enabled():
            info['radosgw'] = self.radosgw.info()
        return info

    @contextlib.contextmanager
    def _locked(self):
        """One up/down at a time per base dir (test runs may race)."""
        os.makedirs(self.base, exist_ok=True)
        with open(os.path.join(self.base, '.lock'), 'w') as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    # -- up ---------------------------------------------------------------
    def up(self, timeout=60):
        """Start whatever is not running; wait until all of it answers."""
        self.settings  # a bad setting fails here, before anything exists
        with self._locked():
            return self._up(timeout)

    def _up(self, timeout):
        deadline = time.time() + timeout
        all_servers = self.servers()
        # before writing anything: a fresh base that cannot start must not
        # pin its ports in settings.json
        self._check_ports(all_servers)
        settings_mod.save(self.base, self.settings)
        local, remote = self.clusters
        realms = sync_realms.realms_conf(local, remote)
        changed = self._prepare(local, realms)
        changed |= self._prepare(remote, realms)
        self._restart_reconfigured(all_servers, changed)
        self._start_dead(all_servers)
        self._wait_ready(all_servers, deadline)
        self._check_auth(local, remote, deadline)
        if self.radosgw_requested:
            self.radosgw.up()   # its own bounded waits (install, ~15 s cold start)
        info = self._with_radosgw(build_info(self.base, self.settings, local,
                                             remote))
        write_if_changed(self.env_json, json.dumps(info, indent=2,
                                                   sort_keys=True) + '\n')
        return info

    def _prepare(self, cluster, realms):
        """Write configs, rings and device dirs; return changed paths."""
        files = configs.all_configs(cluster, self.user, self.base)
        files[sync_realms.path(cluster)] = realms
        changed = {path for path, text in files.items()
                   if write_if_changed(path, text)}
        if sync_realms.path(cluster) in changed:
            # its readers load it at start-up only (then every 300 s)
            changed.update(sync_realms.readers(cluster))
        rings.ensure_rings(cluster)
        for node in cluster.nodes:
            os.makedirs(os.path.join(node.devices, node.device),
                        exist_ok=True)
        os.makedirs(os.path.join(self.base, 'cache'), exist_ok=True)
        if os.path.join(cluster.swift_dir, 'swift.conf') in changed:
            changed.add(cluster.name)  # every server of it reads swift.conf
        return changed

    def _restart_reconfigured(self, all_servers, changed):
        names = [s.name for s in all_servers
                 if (s.conf in changed or s.cluster in changed)
                 and self.procs.running_pid(s.name)]
        if names:
            LOG.info('config changed, restarting: %s', ' '.join(names))
            self.procs.stop(names)

    def _check_ports(self, all_servers):
        for server in all_servers:
            if self.procs.running_pid(server.name):
                continue
            for ip, port in server.addresses:
                if port_in_use(ip, port):
                    raise DevenvError(
                        '%s: port %s:%d is in use by a process that is not '
                        'this environment\'s; stop it or move the port (%s)'
                        % (server.name, ip, port, server.port_var))

    def _start_dead(self, all_servers):
        dead = [s for s in all_servers if not self.procs.running_pid(s.name)]
        loopback = '127.0.0.1,localhost'
        env = child_env(dict(os.environ, PYTHONUNBUFFERED='1',
                             NO_PROXY=loopback, no_proxy=loopback))
        for server in dead:
            self.procs.start(server, env)
        if dead:
            LOG.info('started: %s', ' '.join(s.name for s in dead))

    def _failure(self, name, what):
        tail = self.procs.log_tail(name)
        return DevenvError('%s %s; log %s ends with:\n%s' % (
            name, what, self.procs.log_path(name), tail or '(empty)'))

    def _wait_ready(self, all_servers, deadline):
        pending = list(all_servers)
        while True:
            for server in list(pending):
                if not self.procs.running_pid(server.name):
                    raise self._failure(server.name, 'exited during startup')
                if server.probe():
                    pending.remove(server)
            if not pending:
                return
            if time.time() > deadline:
                raise self._failure(pending[0].name, 'is not ready in time')
            time.sleep(0.05)

    def _check_auth(self, local, remote, deadline):
        checks = [(p, 'test:tester') for p in local.proxies]
        checks += [(p, 'remote:tester') for p in remote.proxies]
        cluster_of = {p.name: c for c in (local, remote) for p in c.proxies}
        for proxy, user in checks:
            key = cluster_of[proxy.name].users[user][0]
            while True:
                problem = swift_auth(proxy.port, user, key)
                if problem is None:
                    break
                if time.time() > deadline:
                    raise self._failure(proxy.name, 'fails: %s' % problem)
                time.sleep(0.1)

    # -- down / status ----------------------------------------------------
    def down(self, wipe=False):
        """Stop every server this base dir started; optionally remove it."""
        if not os.path.isdir(self.base):
            return
        entries = set(os.listdir(self.base)) - {'.lock'}
        if 'settings.json' not in entries:  # up never got to start anything
            if wipe and entries:
                raise DevenvError('refusing to wipe %s: no settings.json, '
                                  'not a devenv base dir' % self.base)
            if wipe:
                shutil.rmtree(self.base)
            return
        with self._locked():
            self.radosgw.stop()
            self.procs.stop(self.procs.names())
            if wipe:
                shutil.rmtree(self.base)

    def status(self):
        """[(server name, 'up' | 'down' | 'not answering')]."""
        states = []
        for server in self.servers():
            if not self.procs.running_pid(server.name):
                states.append((server.name, 'down'))
            elif not server.probe():
                states.append((server.name, 'not answering'))
            else:
                states.append((server.name, 'up'))
        if self.radosgw_enabled():
            states.extend(self.radosgw.status())
        return states

    def is_up(self):
        return all(state == 'up' for _name, state in self.status())

    def any_running(self):
        return any(self.procs.running_pid(n) for n in self.procs.names())

    def radosgw_down(self):
        """Stop radosgw and its Ceph alone (the rest stays up)."""
        with self._locked():
            self.radosgw.stop()

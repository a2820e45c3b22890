"""Helpers of the operations tests: run the operator commands of a NodeDaemons set; wait for
the container replicas."""
import json
import os
import subprocess
import sys
import time


def run_command(daemons, index, *args, timeout=120):
    """``swift-s3-sync <args> --config <node index's config>``: (exit status, stdout, stderr)."""
    cmd = [sys.executable, '-m', 's3_sync.cli.sync', args[0], '--config',
           daemons.configs[index]] + list(args[1:])
    proc = subprocess.run(cmd, capture_output=True, text=True, env=daemons._env(),
                          timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


def status_json(testcase, daemons, index, *args):
    rc, out, err = run_command(daemons, index, 'status', '--json', *args)
    testcase.assertEqual(rc, 0, err)
    testcase.assertNotIn('Traceback', err)
    return json.loads(out)


def container_row(report, container):
    rows = [c for c in report['containers'] if c['container'] == container]
    return rows[0] if rows else None


def wait_for_replicas(testcase, containers, rows, timeout=60):
    """Until every node's replica of each container holds ``rows`` rows: a busy container
    server gets its update later, and a --once pass proves its figures only when the owner's
    replica holds the row (else only verification, a slack later, would send it)."""
    from swift.container.backend import ContainerBroker
    from s3_sync.swift_env import setup_swift
    from test.reliability.localfaults import replica_path
    setup_swift(testcase.env['swift_dir'])     # the ring and hash_path read swift.conf

    def replica_rows(node_index, container):
        path = replica_path(testcase.env, node_index, testcase.account, container)
        if not os.path.exists(path):
            return 0
        broker = ContainerBroker(path, account=testcase.account, container=container)
        return broker.get_info()['object_count']
    deadline = time.time() + timeout
    while True:
        short = [(node['index'], c) for node in testcase.env['nodes'] for c in containers
                 if replica_rows(node['index'], c) < rows]
        if not short or time.time() > deadline:
            break
        time.sleep(0.5)
    testcase.assertEqual(short, [], 'container replicas still missing rows')

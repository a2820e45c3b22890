"""Helpers of the operations tests: run the operator commands of a NodeDaemons set."""
import json
import subprocess
import sys


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

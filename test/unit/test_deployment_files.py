"""The deployment examples (etc/, docker-compose.yml, test/container/) are well-formed and name
only what the product really has (they are examples: nothing depends on them)."""
import json
import os
import re
import shutil
import subprocess
import unittest

import yaml

from s3_sync.status import metrics

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def path(*parts):
    return os.path.join(REPO, *parts)


class DeploymentFilesTest(unittest.TestCase):
    def test_compose_file_builds_from_the_container_dockerfile(self):
        with open(path('docker-compose.yml')) as f:
            compose = yaml.safe_load(f)
        service = compose['services']['swift-s3-sync']
        self.assertTrue(os.path.isfile(path(service['build']['dockerfile'])))
        for port in service['ports']:
            self.assertTrue(port.startswith('127.0.0.1:'), port)

    def test_compose_config_passes_where_docker_compose_exists(self):
        docker = shutil.which('docker')
        has_compose = docker and subprocess.run(
            [docker, 'compose', 'version'], capture_output=True).returncode == 0
        if not has_compose:
            self.skipTest('docker compose is not installed here (the YAML is checked above)')
        proc = subprocess.run([docker, 'compose', '-f', path('docker-compose.yml'), 'config',
                               '--quiet'], capture_output=True, text=True, cwd=REPO)
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_container_launch_script_is_valid_bash_and_its_config_loads_as_json(self):
        launch = path('test', 'container', 'launch.sh')
        self.assertTrue(os.access(launch, os.X_OK))
        self.assertEqual(subprocess.run(['bash', '-n', launch]).returncode, 0)
        with open(path('test', 'container', 'sync.json')) as f:
            self.assertTrue(json.load(f)['containers'])

    def test_systemd_unit_and_cron_line_run_the_daemon_with_a_config(self):
        with open(path('etc', 'systemd', 'swift-s3-sync.service')) as f:
            unit = f.read()
        self.assertRegex(unit, r'ExecStart=\S*swift-s3-sync --config \S+')
        self.assertIn('RestartPreventExitStatus=2', unit)
        with open(path('etc', 'cron.d', 'swift-s3-sync')) as f:
            cron = [line for line in f if line.strip() and not line.startswith('#')]
        self.assertEqual(len(cron), 1)
        self.assertIn('--once', cron[0])
        self.assertEqual(len(cron[0].split()[:6]), 6)   # five time fields and a user

    def test_grafana_dashboard_queries_only_metrics_the_daemon_writes(self):
        with open(path('etc', 'grafana', 'swift-s3-sync-dashboard.json')) as f:
            dashboard = json.load(f)
        written = {metrics.PREFIX + name for _key, name, _help in metrics.GAUGES}
        written |= {metrics.PREFIX + c + '_total' for c in metrics.COUNTERS}
        written |= {metrics.PREFIX + n for n in ('last_pass_timestamp_seconds',
                                                 'last_pass_duration_seconds', 'deletes_held')}
        used = set()
        for panel in dashboard['panels']:
            for target in panel['targets']:
                used |= set(re.findall(r'swift_s3_sync_\w+', target['expr']))
        self.assertTrue(used)
        self.assertEqual(used - written, set())

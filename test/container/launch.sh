#!/usr/bin/env bash
# Container entry point: start the environment, write one daemon config per node from
# test/container/sync.json (the node's devices, bind address and status dir filled in), run the
# three daemons, and stop everything cleanly on SIGTERM (docker stop).
set -euo pipefail
cd /opt/swift-s3-sync
PY=.venv/bin/python
BASE=${S3SYNC_DEVENV_BASE:-/srv/s3sync}
$PY -m devenv up
mkdir -p "$BASE/daemons"
$PY - "$BASE" <<'PY'
import json, os, sys
base = sys.argv[1]
env = json.load(open(os.path.join(base, 'env.json')))
template = json.load(open('test/container/sync.json'))
moto = [t for t in env['s3_targets'] if t['name'] == 'moto'][0]
for node in env['nodes']:
    conf = dict(template, devices=node['devices'], swift_bind_ip=node['swift_bind_ip'],
                swift_bind_port=node['bind_port'], swift_dir=node['swift_dir'],
                internal_client_path=node['internal_client_conf_path'],
                status_dir=os.path.join(base, 'daemons', 'status-%d' % node['index']))
    conf['containers'] = [dict(m, aws_endpoint=moto['aws_endpoint'],
                               aws_identity=moto['aws_identity'],
                               aws_secret=moto['aws_secret']) for m in template['containers']]
    with open(os.path.join(base, 'daemons', 'node%d.json' % node['index']), 'w') as f:
        json.dump(conf, f, indent=1)
PY
pids=()
for conf in "$BASE"/daemons/node*.json; do
    swift-s3-sync --config "$conf" --console >>"${conf%.json}.log" 2>&1 &
    pids+=($!)
done
stop() {
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
    $PY -m devenv down
    exit 0
}
trap stop TERM INT
$PY -m devenv status
wait "${pids[@]}"

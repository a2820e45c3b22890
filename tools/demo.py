"""The demo: the whole product on the embedded local environment, in one command.

Starts the local Swift cluster and S3 servers, fills two containers, runs the three node daemons
once (one container synced, one archived), and shows what landed where.
"""
import json
import os
import sys
import time

import boto3
from botocore.config import Config
from swiftclient import client as swift

# devenv is not installed: it is imported from the checkout this script is in
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from devenv import Environment  # noqa: E402
from devenv.daemons import NodeDaemons, s3_mapping  # noqa: E402
from s3_sync import layout  # noqa: E402
from s3_sync.config import mapping_from_dict  # noqa: E402


def main():
    env = Environment()
    print('== starting the local environment (Swift x3 nodes, 2 proxies, moto, s3api)')
    started = time.time()
    env.up()
    info = env.info
    print('   ready in %.1fs; proxy with shunt %s, without %s' % (
        time.time() - started, info['proxies']['shunt']['url'], info['proxies']['noshunt']['url']))

    user = info['users']['test:tester']
    url, token = swift.get_auth(info['auth_url'], 'test:tester', user['key'])
    stamp = int(time.time())
    synced, archived = 'demo-sync-%d' % stamp, 'demo-archive-%d' % stamp
    for container in (synced, archived):
        swift.put_container(url, token, container)
        for i in range(3):
            swift.put_object(url, token, container, 'report-%d.txt' % i, b'quarter %d\n' % i,
                             headers={'X-Object-Meta-Owner': 'demo'})
    print('== wrote 3 objects each into %s and %s (account %s)' % (synced, archived, user['account']))

    moto = [t for t in info['s3_targets'] if t['name'] == 'moto'][0]
    s3 = boto3.client('s3', endpoint_url=moto['aws_endpoint'], region_name=moto['region'],
                      aws_access_key_id=moto['aws_identity'],
                      aws_secret_access_key=moto['aws_secret'],
                      config=Config(s3={'addressing_style': 'path'},
                                    request_checksum_calculation='when_required',
                                    response_checksum_validation='when_required'))
    bucket = 'demo-%d' % stamp
    s3.create_bucket(Bucket=bucket)
    mappings = [
        s3_mapping(moto, bucket, user['account'], synced),
        s3_mapping(moto, bucket, user['account'], archived, retain_local=False,
                   propagate_delete=False, merge_namespaces=True),
    ]
    print('== running the three node daemons once (swift-s3-sync --once)')
    for rc, out in NodeDaemons(info, mappings, log_level='info').run_once():
        if rc:
            print(out)
            return rc
    print('== objects in s3://%s at %s' % (bucket, moto['aws_endpoint']))
    for item in s3.list_objects_v2(Bucket=bucket).get('Contents', []):
        print('   %-60s %5d bytes' % (item['Key'], item['Size']))
    for container in (synced, archived):
        _, listing = swift.get_container(info['proxies']['noshunt']['url'] + '/v1/' +
                                         user['account'], token, container)
        print('== stored locally in %s: %d objects' % (container, len(listing)))
    key = layout.object_key(mapping_from_dict(mappings[1]), user['account'], archived,
                            'report-1.txt')
    body = s3.get_object(Bucket=bucket, Key=key)['Body'].read()
    print('== archived report-1.txt, straight from S3: %r' % body)

    # The shunt in proxy A reads the same config file and serves what is archived.
    with open(info['sync_conf'], 'w') as f:
        json.dump({'containers': mappings}, f, indent=1)
    shunt_url = info['proxies']['shunt']['url'] + '/v1/' + user['account']
    deadline = time.time() + 15     # the shunt notices a changed config within seconds
    while True:
        try:
            headers, body = swift.get_object(shunt_url, token, archived, 'report-1.txt')
            break
        except swift.ClientException:
            if time.time() > deadline:
                raise
            time.sleep(0.5)
    print('== the same object through the Swift API (proxy with cloud-shunt): %r' % body)
    _, listing = swift.get_container(shunt_url, token, archived)
    print('== listing of %s through the shunt: %s' % (
        archived, ', '.join('%s' % o['name']
                            for o in listing)))
    # proxymc, the cloud side's endpoint, serves the same namespace (Swift and S3 APIs); the
    # token proxy A gave is good there too (tempauth shares the cluster's memcache).
    proxymc = info['proxymc']
    pmc_url = proxymc['url'] + '/v1/' + user['account']
    _, body = swift.get_object(pmc_url, token, archived, 'report-1.txt')
    print('== the archived object through proxymc (Swift API): %r' % body)
    s3 = boto3.session.Session().client(
        's3', endpoint_url=proxymc['s3_endpoint'], region_name=proxymc['region'],
        aws_access_key_id='test:tester', aws_secret_access_key=user['key'],
        config=Config(s3={'addressing_style': 'path'}))
    body = s3.get_object(Bucket=archived, Key='report-1.txt')['Body'].read()
    print('== and through proxymc (S3 API, boto3): %r' % body)
    print('== done; stop the environment with: .venv/bin/python -m devenv down')
    return 0


if __name__ == '__main__':
    sys.exit(main())

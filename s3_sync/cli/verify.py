"""``swift-s3-verify``: check that credentials can do what a mapping will need, before deploying.

    swift-s3-verify --protocol s3 --endpoint http://s3.example.com --username KEY \\
                    --password SECRET --bucket BUCKET [--prefix P] [--read-only]

Read/write (default): write a test object, change its metadata in place, HEAD it, list, delete.
Read-only: list one object, HEAD it and GET it. ``--audit`` compares a container with its remote
copy instead (:mod:`s3_sync.cli.audit`). Exit 0 and ``OK`` on success; otherwise exit 1
with one line naming the step that failed. Every remote call goes through the same provider
the daemon uses, so what passes here works there.
"""
import argparse
import hashlib
import io
import sys

TEST_BODY = b'1space-test'
TEST_OBJECT = 'cloud_sync_test'
# Some S3 clones reject 4-byte UTF-8; a 2-byte character still proves Unicode works.
TEST_ACCOUNT, TEST_CONTAINER = 'verify-auth', 'testing-\u00ef'
KEYSTONE = ('keystone_v2', 'keystone_v3')


class VerifyError(Exception):
    """One line saying which step failed."""


def parse_args(argv):
    parser = argparse.ArgumentParser(prog='swift-s3-verify', description=__doc__.split('\n')[0])
    parser.add_argument('--protocol', choices=('s3', 'swift'), required=True)
    parser.add_argument('--endpoint', required=True, help='S3 endpoint or Swift auth URL')
    parser.add_argument('--username', required=True)
    parser.add_argument('--password', required=True)
    parser.add_argument('--bucket', required=True, help='bucket or container to check')
    parser.add_argument('--prefix', help='custom_prefix (S3): keys are <prefix>/<name>')
    parser.add_argument('--account', help='remote_account (Swift only)')
    parser.add_argument('--auth-type', choices=('swift',) + KEYSTONE)
    parser.add_argument('--tenant-name')
    parser.add_argument('--project-name')
    parser.add_argument('--project-domain-name')
    parser.add_argument('--user-domain-name')
    parser.add_argument('--storage-policy', help='policy for a container it creates (Swift)')
    parser.add_argument('--signature-version', choices=('s3v4', 's3'), default='s3v4')
    parser.add_argument('--read-only', action='store_true')
    return parser.parse_args(argv)


def build_mapping(args):
    """The mapping the check runs as; refuses argument combinations that cannot work."""
    swift = args.protocol == 'swift'
    if args.account and not swift:
        raise VerifyError('Invalid argument: account is only valid with swift protocol')
    if args.auth_type in KEYSTONE and not swift:
        raise VerifyError('Keystone auth requires swift protocol.')
    if '/' in args.bucket and args.bucket != '/*':
        raise VerifyError('Invalid argument: slash is not allowed in container name')
    mapping = {'account': TEST_ACCOUNT, 'container': TEST_CONTAINER, 'protocol': args.protocol,
               'aws_bucket': args.bucket, 'aws_endpoint': args.endpoint,
               'aws_identity': args.username, 'aws_secret': args.password,
               'signature_version': args.signature_version}
    if args.bucket == '/*':
        mapping['aws_bucket'] = '.cloudsync_test_container-'
        mapping['container'] = '/*'
    optional = {'custom_prefix': args.prefix, 'remote_account': args.account,
                'auth_type': args.auth_type, 'tenant_name': args.tenant_name,
                'project_name': args.project_name, 'storage_policy': args.storage_policy,
                'project_domain_name': args.project_domain_name,
                'user_domain_name': args.user_domain_name}
    mapping.update({k: v for k, v in optional.items() if v is not None})
    from s3_sync.config import ConfigError, mapping_from_dict
    try:
        return mapping_from_dict(mapping)
    except ConfigError as exc:
        raise VerifyError('Invalid argument: %s' % exc) from None


def _step(what, fn, *args):
    from s3_sync.providers.base import RemoteError
    try:
        return fn(*args)
    except RemoteError as exc:
        raise VerifyError('%s failed: %s' % (what, exc.message)) from None


def check_read_write(provider):
    _step('checking the bucket', provider.check, provider.mapping.per_account)
    etag = hashlib.md5(TEST_BODY).hexdigest()
    headers = {'etag': etag, 'content-type': 'text/plain'}
    _step('PUT', provider.put_object, TEST_OBJECT, headers, io.BytesIO(TEST_BODY),
          len(TEST_BODY))
    meta = dict(headers, **{'x-object-meta-cloud-sync': 'fabcab'})
    if not _step('metadata update', provider.update_metadata, TEST_OBJECT, meta, etag):
        raise VerifyError('metadata update failed: the test object vanished or changed')
    remote = _step('HEAD', provider.head_object, TEST_OBJECT)
    if remote is None or remote.headers.get('x-object-meta-cloud-sync') != 'fabcab':
        raise VerifyError('Unexpected headers after setting metadata: %r'
                          % (remote and remote.headers,))
    _step('listing', provider.list_objects, '', 1)
    _step('DELETE', provider.delete_objects, [TEST_OBJECT])


def check_read_only(provider):
    listing = _step('listing', provider.list_objects, '', 1)
    objects = [e for e in listing if 'name' in e]
    if not objects:
        raise VerifyError('There are no objects in the bucket to validate GET/HEAD access')
    name = objects[0]['name']
    if _step('HEAD of %s' % name, provider.head_object, name) is None:
        raise VerifyError('HEAD of %s failed: not found' % name)
    resp = _step('GET of %s' % name, provider.get_object, name)
    resp.close()
    if resp.status // 100 != 2:
        raise VerifyError('GET of %s failed: %s' % (name, resp.status))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if '--audit' in argv:
        from s3_sync.cli import audit
        return audit.main(argv)
    args = parse_args(argv)
    from s3_sync.providers import create_provider
    try:
        mapping = build_mapping(args)
        container = TEST_CONTAINER if mapping.per_account else None
        provider = create_provider(mapping, container)
        try:
            (check_read_only if args.read_only else check_read_write)(provider)
        finally:
            provider.close()
    except (VerifyError, ValueError) as exc:
        print('swift-s3-verify: %s' % exc, file=sys.stderr)
        return 1
    print('OK')
    return 0


if __name__ == '__main__':
    sys.exit(main())

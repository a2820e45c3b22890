"""``swift-s3-verify``: check credentials and permissions against a remote (not built yet)."""
import sys


def main(argv=None):
    print('swift-s3-verify: not implemented in this version', file=sys.stderr)
    return 1

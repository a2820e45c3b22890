"""Every run is checked at the end: the bucket holds exactly the expected keys, once each, with
the expected ETags. A run that fails the check is reported as failed, and none of its figures
enter the statistics.

The listing goes to the S3 server as the bench's own (observer) requests, after the contender
stopped, so it costs the contender nothing and is left out of its request figures.
"""


def list_bucket(benv, bucket, prefix=''):
    """{key: etag (unquoted)} of everything in ``bucket`` under ``prefix``."""
    s3 = benv.s3_client()
    found = {}
    for page in s3.get_paginator('list_objects_v2').paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get('Contents', []):
            found[item['Key']] = item['ETag'].strip('"')
    return found


def check(benv, bucket, expected, prefix=''):
    """``expected``: {key: etag, or None for "any ETag"}. A dict with ``ok`` and the counts."""
    from bench import phases
    with phases.phase('verify'):
        found = list_bucket(benv, bucket, prefix)
    missing = [k for k in expected if k not in found]
    wrong = [k for k, etag in expected.items()
             if k in found and etag is not None and found[k] != etag]
    extra = [k for k in found if k not in expected]
    result = {'ok': not (missing or wrong or extra), 'expected': len(expected),
              'keys': len(found), 'missing': len(missing), 'wrong_etag': len(wrong),
              'extra': len(extra)}
    if not result['ok']:
        result['why'] = '%d keys of %d expected: %d missing, %d with a wrong ETag, %d extra' % (
            len(found), len(expected), len(missing), len(wrong), len(extra))
    return result

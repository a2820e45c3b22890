"""The processes of the migrator measurement (``bench.migrator``), started by it:

    python -m bench.migrator_copy migrator TIMES -- <swift-s3-migrator arguments>
    python -m bench.migrator_copy copy TIMES JOB.json INDEX

Both green the process first, as the migrator does (nothing may import ssl before), and time
every local object PUT (``LocalStore.put``, which both use): at exit the first PUT's start, the
last PUT's end and the PUT count go to TIMES (JSON), so the bench can take the window from the
first to the last object written, start-up left out, the same way for both.

``copy`` is the plain copy loop: the node config's InternalClient and the migration's source
provider, ``threads`` green threads over every Nth name of the job (known up front): the
provider's ``get_raw`` (the migrator's source GET), then one streamed ``LocalStore.put`` with
the headers the migrator writes (``local_headers``: the source time as X-Timestamp, metadata)
and the source ETag for the object server to check. Nothing else: no listing, no ownership
rule, no status file, no stale or large-object checks; an object whose copy fails is tried
again, up to ``TRIES`` times.
"""
import atexit
import json
import sys
import time

TRIES = 3       # per object: a copy loop with retries, as any real one has


def green():
    from swift.common.utils import monkey_patch
    monkey_patch()


def time_puts(path):
    from s3_sync.migrator.local_store import LocalStore
    put = LocalStore.put
    seen = {'first': None, 'last': None, 'count': 0}

    def timed(self, *args, **kwargs):
        started = time.time()
        status = put(self, *args, **kwargs)
        if seen['first'] is None:
            seen['first'] = started
        seen['last'] = time.time()
        seen['count'] += 1
        return status
    LocalStore.put = timed

    def write():
        with open(path, 'w') as f:
            json.dump(seen, f)
    atexit.register(write)


def copy(job, index):
    from eventlet import GreenPool

    from s3_sync.cli.migrator import load
    from s3_sync.local import BodyReader
    from s3_sync.migrator.headers import header_time, local_headers, source_timestamp
    from s3_sync.migrator.local_store import LocalStore
    from s3_sync.providers import create_provider
    from s3_sync.swift_env import make_internal_client, setup_swift

    conf, _settings = load(job['configs'][index])
    setup_swift(conf.swift_dir)
    store = LocalStore(make_internal_client(conf, request_tries=2))
    provider = create_provider(conf.migrations[0].source(job['bucket']))
    account, container = job['account'], job['container']
    if index == 0:
        store.create_container(account, container, {})
    while store.container_headers(account, container) is None:
        time.sleep(0.05)

    def one(name):
        # a plain copy loop still tries an object again: one local 503 under load ended a
        # whole process (a third of the objects) and failed the run
        for attempt in range(TRIES):
            try:
                status = copy_one(name)
            except Exception:
                if attempt == TRIES - 1:
                    raise
                time.sleep(0.1 * 2 ** attempt)
                continue
            # 409 on a retry: an earlier try landed (same timestamp) though its answer failed
            if status == 201 or (attempt and status == 409):
                return
            raise SystemExit('local PUT %s: %s' % (name, status))

    def copy_one(name):
        resp = provider.get_raw(name)
        try:
            headers = resp.headers
            timestamp = source_timestamp(header_time(headers) or time.time(), headers)
            put = local_headers(headers, timestamp)
            put['Etag'] = headers['etag'].strip('"')
            return store.put(account, container, name, put, BodyReader(resp.body),
                             int(headers['content-length']))
        finally:
            resp.close()
    list(GreenPool(job['threads']).imap(one, job['names'][index::len(job['configs'])]))
    return 0


def main(argv):
    mode, times = argv[0], argv[1]
    if mode == 'migrator':
        from s3_sync.cli.sync import StopRequest
        stop = StopRequest()
        stop.install()
        green()
        time_puts(times)
        from s3_sync.cli.migrator import run
        return run(argv[3:], stop)
    green()
    time_puts(times)
    with open(argv[2]) as f:
        return copy(json.load(f), int(argv[3]))


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))

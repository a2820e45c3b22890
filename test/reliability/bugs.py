"""Product bugs the suite found, by id: its runs report them as *known product bugs* (expected
failures) instead of failing, and the short integration test has one expectedFailure test each.
Remove an entry once the bug is fixed: the suite then fails again if it comes back."""
import re

from s3_sync.local import is_fence

KNOWN_BUGS = {
    'B1': ('an object with non-ASCII user metadata is never archived: the fence POST of '
           'LocalSwift.delete_if_unchanged (s3_sync/local.py) re-states the metadata as '
           'decoded str instead of WSGI strings and the local cluster answers 500, forever'),
    'B2': ('a kill -9 between the archiver\'s fence POST and its DELETE leaves the object '
           'local for good: after the restart LocalSwift.delete_if_unchanged posts its fence '
           'with the same timestamp (meta_ts + offset 1), gets 409 and reads it as a newer '
           'client write (KEPT), so nothing ever archives it'),
    'B3': ('local GET bodies are never closed: BodyReader.close (s3_sync/local.py) closes '
           'the app_iter InternalClient returned (catch_errors\' ByteEnforcer, which has no '
           'close()) instead of the iterator it made of it, so the proxy\'s GET generator stays '
           'open with Swift\'s 60 s client_timeout watchdog armed until garbage collection; when '
           'a row\'s frames outlive it (remote retries) the watchdog fires into the eventlet hub '
           '(a ChunkWriteTimeout Traceback in the daemon log), and at exit the leftovers log '
           '"Exception ignored in: <generator ...> RuntimeError: greenlet is being finalized"'),
    'B4': ('with a container replica missing, rows are uploaded twice: every replica verifies '
           'every row older than verification_slack and uploads what the remote lacks, at about '
           'the same time, so the missing replica\'s share (and rows whose owner is merely '
           'behind) goes up from several replicas (s3_sync/crawler/passes.py verify)'),
    'B5': ('a DB with a new id is crawled from row 0 and its rows younger than '
           'verification_slack are uploaded again without looking at the remote: after '
           'sharding (new shard DBs, crawled while the root\'s retiring DB still is) nearly '
           'every object of a synced container goes up twice, and an archived one can be '
           'handled from both DBs at the same instant (two uploads; the loser\'s fence POST '
           'gets 409 and is logged as "kept: a client wrote it"); likewise a replica rebuilt by '
           'replication (s3_sync/crawler/passes.py primary, _not_yet_propagated)'),
}


def traceback_bug(lines, before=''):
    """The known bug a Traceback in a daemon log is, from its lines (and the line before it),
    or None."""
    text = '\n'.join(lines[:6])
    if 'fire_timers' in text and 'ChunkWriteTimeout' in text:
        return 'B3'
    if 'Exception ignored in: <generator' in before and \
            'greenlet is being finalized' in '\n'.join(lines[:50]):
        return 'B3'
    return None


def non_ascii_metadata(headers):
    return any(k.lower().startswith('x-object-meta-') and re.search(r'[^\x00-\x7f]', v or '')
               for k, v in headers.items())


def classify_leftover(headers):
    """The known bug that explains why an archived object (on the remote already) is still
    local, from its local headers; None when none does."""
    if is_fence(headers.get('x-delete-at')):
        return 'B2'
    if non_ascii_metadata(headers):
        return 'B1'
    return None

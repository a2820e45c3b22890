"""Product bugs the suite found, by id. While a bug is open (not in ``FIXED``) the suite reports
what it explains as a *known product bug* (an expected failure) instead of failing, and the
short integration test has an expectedFailure test for it. Once fixed (its commit recorded in
``FIXED``) the same finding fails the suite again, and its test is a plain regression test."""
import re

from s3_sync.local import is_fence

BUGS = {
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
    'B5': ('a container sharded while it is being synced gets objects uploaded twice: its rows '
           'reach the daemons both from the root\'s DB and from the new shard DBs (new ids), '
           'and a shard DB\'s rows are handled again without a look at the remote unless they '
           'were already there when the shard DB was first seen (0a870d0 covers only a '
           'container sharded between passes); in sync mode most objects go up twice, in '
           'archive mode the two copies of a row can be handled at the same instant (two '
           'uploads; the loser\'s fence POST is logged as "kept: a client wrote it") '
           '(s3_sync/crawler: primary pass of shard DBs)'),
    'B6': ('verification uploads again every object whose upload landed in the same second '
           'as its local write: a remote copy counts as reflecting a row only when its '
           'Last-Modified is not older than the row\'s timestamp (s3_sync/sync/verify.py '
           'remote_reflects), but S3 listings give Last-Modified in whole seconds (truncated), '
           'so a copy made within the same second looks older than the row; with the daemons '
           'keeping up (sub-second lag) most objects go up twice once verification_slack passes'),
    'B7': ('a multipart upload in flight at a kill -9 can be left incomplete on the remote: '
           'orphan uploads are aborted only before a new upload of the same key, and after a '
           'restart the batched listing finds the object already there (its earlier single '
           'copy, or an upload another replica finished), so no new upload comes; it is billed '
           'until a bucket lifecycle rule (AbortIncompleteMultipartUpload) removes it '
           '(s3_sync/providers/s3_multipart.py abort_orphans)'),
    'B8': ('what is left of B3 after its fix (ec4033a): a local GET closed without reading a '
           'byte still stays open. BodyReader.close (s3_sync/local.py) closes the iterator it '
           'made of catch_errors\' ByteEnforcer, but that generator never started, so closing '
           'it does not run the code that closes the proxy\'s GET generator (already started, '
           'its 60 s client_timeout watchdog armed). It happens whenever a row opens the object '
           'and returns before reading it: archive of an object already on the remote, a stale '
           'read, a selection mismatch; with remote retries keeping the row\'s frames alive, '
           'the watchdog fires into the hub: a ChunkWriteTimeout Traceback in the daemon log'),
    'B9': ('what was left of B4 after its fix (602a7df): verification waited at the first row '
           'not due for this replica (a row it takes over only a slack later), so the rows '
           'behind it, the missing replica\'s share among them, waited too, until every '
           'survivor reached them at the same time and uploaded them all '
           '(s3_sync/crawler/passes.py verify)'),
    'B10': ('what is left of B5 after its fix (06c62f4): an object written while the sharding '
            'begins lands in a root replica that does not know the shard ranges yet (no '
            'redirect) after the shard DBs were created; the sharder moves it into its shard '
            'later, where it is newer than the shard DB, so the root\'s owner and the shard\'s '
            'owner both handle it, at the same copy_after due time in archive mode (two uploads; '
            'the loser\'s fence is logged "kept: a client wrote it") (s3_sync/crawler/crawler.py '
            'handed_over_before: a shard DB\'s created_at is too early a moment)'),
    'B11': ('an archive mapping whose copy_after is not shorter than verification_slack '
            'uploads objects twice: verification counted the slack from the row\'s write, so '
            'the replica after the owner found the row past the slack, handed it, got the '
            'same copy_after deferral as the owner and recorded it pending for the same due '
            'time; at that moment both uploaded it (the loser\'s fence is logged "kept: a '
            'client wrote it") (s3_sync/crawler/passes.py verify)'),
    'B12': ('what was left of B7 after its fix (ea47259): the journal noted an upload only '
            'once the create\'s answer came back, so a create done on the store whose answer '
            'was lost (a kill -9 before it arrived, or an answer past the client timeout and '
            'a retry that created a second upload) left an upload nobody knew the id of, open '
            'until a bucket lifecycle rule removes it (s3_sync/providers/s3_multipart.py '
            'create, s3_sync/sync/journal.py)'),
    'B13': ('a container DB whose lock a busy container server held past the broker\'s timeout '
            'raised Swift\'s LockTimeout in the crawler; it is an eventlet Timeout, not an '
            'Exception, so no guard caught it and the daemon process ended with a traceback '
            '(found by the full kill-9 run under load 28; s3_sync/crawler/crawler.py crawl_db, '
            's3_sync/log.py FAILURES)'),
    'B14': ('what was left of B4/B9 under load: verification let the owner and the replica '
            'after it take a row the remote lacks at once, a slack after it came due; when a '
            'crawl takes longer than the slack (load 28: 90-160 s crawls, slack 60 s in the '
            'sharding scenario) the owner\'s primary pass and the next replica\'s verification '
            '(which first read the row in that same crawl) reach it in the same minute and both '
            'upload it (every sync-lane duplicate of the 04:13 run: owner + next replica, root '
            'DBs, 90-160 s after the write) (s3_sync/crawler/passes.py takeover_at)'),
    'B15': ('archive-lane duplicates after sharding (26 in the load-28 sharding run): the rows a '
            'retiring root DB left pending (copy_after deferrals) are taken over by the shard\'s '
            'replicas, the owner once a slack past the row\'s due time (verification waits for '
            'it), but the further replicas\' turns were counted from the shard DB\'s creation '
            'alone: for a row written shortly before the sharding, the next replica\'s turn came '
            'seconds after the owner\'s, and a crawl lagging past its turn (crawls longer than the '
            'slack) handed the row in the very pass that found it missing, as the owner\'s '
            'lagging crawl did; and while the root\'s sharding lasted (350 s at load 55) the '
            'shard\'s owner had its turn at the moment the root\'s next replica had its own '
            '(4 duplicates: root replica + shard owner, within 2 s) '
            '(s3_sync/crawler/passes.py takeover_at, takeover_delay)'),
}

# bug id -> the commit that fixed it
FIXED = {
    'B1': 'e31e0be',
    'B2': '070835a',
    'B3': 'ec4033a',
    'B4': '602a7df',       # completed by the commit that fixed B9
    'B5': '06c62f4',
    'B6': '1041c40',
    'B7': 'ea47259',
    'B8': 'be9b45c',
    'B9': '09aa9ee',
    'B10': 'ba1e728',
    'B11': 'c063547',
    'B12': '0a76a64',
    'B13': 'b26acf8',
    'B14': 'e46990f',
    'B15': '058c9e1',      # with 96a0672
}
KNOWN_BUGS = {bug: text for bug, text in BUGS.items() if bug not in FIXED}


def known(bug):
    """``bug`` while it is open, None once it is fixed (its symptoms then fail the suite)."""
    return bug if bug in KNOWN_BUGS else None


def traceback_bug(lines, before=''):
    """The known bug a Traceback in a daemon log is, from its lines (and the line before it),
    or None."""
    text = '\n'.join(lines[:6])
    if 'fire_timers' in text and 'ChunkWriteTimeout' in text:
        return known('B3') or known('B8')
    if 'Exception ignored in: <generator' in before and \
            'greenlet is being finalized' in '\n'.join(lines[:50]):
        return known('B3') or known('B8')
    return None


def non_ascii_metadata(headers):
    return any(k.lower().startswith('x-object-meta-') and re.search(r'[^\x00-\x7f]', v or '')
               for k, v in headers.items())


def classify_leftover(headers):
    """The known bug that explains why an archived object (on the remote already) is still
    local, from its local headers; None when none does."""
    if is_fence(headers.get('x-delete-at')):
        return known('B2')
    if non_ascii_metadata(headers):
        return known('B1')
    return None

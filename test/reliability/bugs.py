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
    'B3': ('a Traceback (swift ChunkWriteTimeout raised in the eventlet hub) lands in the daemon '
           'log when the remote is slow: ContainerSync._upload (s3_sync/sync/container.py) '
           'opens the local GET before the remote HEAD/PUT and keeps it unread across their '
           'retries; past the internal proxy\'s client_timeout (60 s) the watchdog of the first '
           'chunk, armed in InternalClient\'s already finished greenthread, fires into the hub'),
}


def traceback_bug(lines):
    """The known bug a Traceback in a daemon log (its first lines) is, or None."""
    text = '\n'.join(lines[:6])
    if 'fire_timers' in text and 'ChunkWriteTimeout' in text:
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

"""How the operator commands (status, retry-failed, resync, verify --audit) end on an error:
one line on stderr, ``<command>: <what is wrong>``, and the exit status of its kind; never a
traceback."""
import sys

from s3_sync.log import FAILURES, one_line


def exit_status(prog, command, errors, unexpected=None):
    """``command()``'s exit status; an exception of a class of ``errors`` (``(class, status)``
    pairs, the first match wins) is printed in one line and its status returned. Any other
    Exception: a line naming its type and ``unexpected`` (the status), or, when that is None,
    raised on."""
    try:
        return command()
    except FAILURES as exc:
        for kind, status in errors:
            if isinstance(exc, kind):
                print('%s: %s' % (prog, exc), file=sys.stderr)
                return status
        if unexpected is None:
            raise
        print('%s: %s: %s' % (prog, type(exc).__name__, one_line(exc, first_line=True)),
              file=sys.stderr)
        return unexpected

"""Reading an archived object's remote copy while Swift still looks for the local one.

The shunt may answer from the remote only after Swift said 404 (``middleware``): that is what
keeps the newest local write winning. Done one after the other, an archived GET costs a local
miss plus a remote read, about twice a direct read of the remote store. For an object this
proxy has just served from the remote (``RecentlyRemote``), the remote read is therefore
started at once, in its own green thread, and the local request goes on as before; the local
answer still decides:

* a local 404: the remote answer already on its way is used, exactly as if it had been asked
  for after the 404 (the same request: same headers, judged the same way afterwards);
* anything else: the local answer is the client's, the remote one is closed unread, and the
  object is no longer taken for archived (a restore, or a client's new write, brought it
  back).

Only objects served from the remote before, or shown by a spliced listing on the remote side
alone (a client that lists then reads), are read early, so a local object costs no remote
request, and a wrong guess (the object came back) costs one remote request, once. Any other
first read of an archived object is sequential.
"""
import time

import eventlet

from s3_sync.lru import LRU

MAX_REMEMBERED = 10000
# How long "served from the remote" is believed. A local object (restored, or written again)
# is only a wasted remote request away from being forgotten, so this bounds memory, not safety.
REMEMBER_SECONDS = 300.0


class RecentlyRemote:
    """The objects (``(account, container, object)``) lately answered from the remote."""

    def __init__(self, maxsize=MAX_REMEMBERED, ttl=REMEMBER_SECONDS, clock=time.time):
        self.ttl = ttl
        self.clock = clock
        self._until = LRU(maxsize)

    def __contains__(self, target):
        until = self._until.get(target)
        return until is not None and until > self.clock()

    def remember(self, target):
        self._until.put(target, self.clock() + self.ttl)

    def forget(self, target):
        self._until.put(target, 0.0)


class EarlyRead:
    """``read()`` running in its own green thread: ``result()`` waits for it (and raises what
    it raised); ``discard()`` closes its answer, now or when it comes."""

    def __init__(self, read):
        # The error is handed over as a value: a green thread that raises has its traceback
        # printed by the hub, and this error may well go unread (``discard``).
        self._thread = eventlet.spawn(_caught, read)

    def result(self):
        answer, error = self._thread.wait()
        if error is not None:
            raise error
        return answer

    def discard(self):
        self._thread.link(_close_answer)


def _caught(read):
    try:
        return read(), None
    except Exception as err:
        return None, err


def _close_answer(thread):
    remote, _error = thread.wait()      # nobody wants this answer, nor its error
    close = getattr(remote, 'close', None)
    if close is not None:
        close()

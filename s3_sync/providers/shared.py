"""What the providers of one process share: remote clients, logins, checked buckets.

A ``"/*"`` mapping builds one provider per local container, and a node may hold thousands.
Building a boto3 client costs milliseconds of CPU and a connection pool of its own; a Swift
login is a request; a bucket check is a request. None of them depends on the container, so
providers with equal connection settings take them from one :class:`Shared` (the sync
daemon's ``SyncFactory`` holds one) instead of making their own:

* an S3 client per ``s3_client.client_key`` (endpoint, credentials, region, signature,
  timeouts, pool size, proxies; and the mapping itself when it has request or byte limits of
  its own, since its throttle hooks live on its client);
* a Swift ``SharedAuth`` (storage URL and token) per endpoint, credentials and account;
* the buckets already found usable, so each is checked once, not once per container; and
  while one is being checked, the providers asking for it too wait for that check's outcome
  (the crawler starts ``enumerator_workers`` containers at once: one request, not one each).

Shared clients are closed by :meth:`close` (when the daemon stops), never by a provider: a
provider the factory's cache forgets only drops its reference.
"""
from eventlet.event import Event


class Shared:
    def __init__(self):
        self._items = {}
        self.checked = set()    # check keys of the destinations found usable
        self._checking = {}     # check key -> Event of the check in flight

    def get(self, key, make):
        """``(item, True)`` when ``make()`` built it now, ``(item, False)`` when shared."""
        try:
            return self._items[key], False
        except KeyError:
            item = self._items[key] = make()
            return item, True

    def check_once(self, key, check):
        """Run ``check()`` unless destination ``key`` was found usable; a caller that comes
        while a check of ``key`` is in flight waits for it, and its error is raised to both.
        A failed check is not remembered: the next caller checks again."""
        if key in self.checked:
            return
        flight = self._checking.get(key)
        if flight is not None:
            flight.wait()
            return
        flight = self._checking[key] = Event()
        try:
            check()
        except BaseException as exc:
            flight.send_exception(exc)
            raise
        else:
            self.checked.add(key)
            flight.send(None)
        finally:
            del self._checking[key]

    def __len__(self):
        return len(self._items)

    def close(self):
        items = list(self._items.values())
        self._items.clear()
        self.checked.clear()
        for item in items:
            close = getattr(item, 'close', None)
            if close is not None:
                close()

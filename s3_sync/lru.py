"""A bounded cache that forgets the least recently used entry, handing it to ``on_evict``.

Per-container state (a provider and its connection pool, a lock) is cached so it lives across
crawl cycles; a ``"/*"`` mapping can name any number of containers, so the cache is bounded.
"""
import collections


class LRU:
    def __init__(self, maxsize, on_evict=None):
        self.maxsize = maxsize
        self.on_evict = on_evict
        self._items = collections.OrderedDict()

    def __len__(self):
        return len(self._items)

    def __contains__(self, key):
        return key in self._items

    def get(self, key, default=None):
        try:
            self._items.move_to_end(key)
        except KeyError:
            return default
        return self._items[key]

    def put(self, key, value):
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.maxsize:
            _old_key, old = self._items.popitem(last=False)
            if self.on_evict is not None:
                self.on_evict(old)

    def get_or_create(self, key, create):
        value = self.get(key)
        if value is None:
            value = create()
            self.put(key, value)
        return value

    def clear(self):
        """Forget every entry, handing each to ``on_evict``."""
        items = list(self._items.values())
        self._items.clear()
        if self.on_evict is not None:
            for value in items:
                self.on_evict(value)

"""Per-worker state: bounded caches of loaded symbol files and long-lived clients.

A Python worker process of Spark runs many tasks one after another; what is loaded here (SymCaches,
ProGuard mappers, source maps, HTTP sessions) is loaded once per worker and reused by every task.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class BoundedCache(Generic[T]):
    """A least-recently-used cache bounded by entry count and by the summed size of its values.

    `loads` counts how often each key was loaded, so that tests and benchmarks can prove a file is
    parsed at most once per worker while it fits.
    """

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, tuple[T, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.loads: dict[Hashable, int] = {}

    def get(self, key: Hashable, load: Callable[[], tuple[T, int]]) -> T:
        """The cached value for `key`, else `load()` = (value, size in bytes), stored if it fits."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key][0]
        value, size = load()
        with self._lock:
            self.loads[key] = self.loads.get(key, 0) + 1
            if key not in self._entries and size <= self.max_bytes:
                self._entries[key] = (value, size)
                self._bytes += size
                while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                    _, (_, evicted_size) = self._entries.popitem(last=False)
                    self._bytes -= evicted_size
        return value

    def __len__(self) -> int:
        return len(self._entries)


_singletons: dict[Hashable, Any] = {}
# Re-entrant: creating one singleton may create another (a backend and its pooled HTTP session).
_singletons_lock = threading.RLock()


def worker_singleton(key: Hashable, create: Callable[[], T]) -> T:
    """One instance per worker process and key (for example a pooled HTTP session per service URL)."""
    with _singletons_lock:
        if key not in _singletons:
            _singletons[key] = create()
        return _singletons[key]

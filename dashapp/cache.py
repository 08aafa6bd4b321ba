"""Cache with one interface: in-process always, Redis when configured.

Values are keyed by the data version, so an entry never needs invalidating: a
new version is a new key. `get_or_compute` is single-flight per key, so N
pollers asking for the same snapshot cost one computation.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

DEFAULT_MAX_ENTRIES = 256


class LocalCache:
    """A thread-safe LRU cache with single-flight computation and counters."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._data: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._inflight: dict[str, threading.Lock] = {}
        self.hits = 0
        self.misses = 0

    def get(self, key: str, default: Any = None) -> Any:
        """Return the cached value for key (counting a hit or miss)."""
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += 1
                return self._data[key]
            self.misses += 1
            return default

    def set(self, key: str, value: Any) -> None:
        """Store a value, evicting the least recently used beyond the limit."""
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def get_or_compute(self, key: str, compute: Callable[[], Any]) -> Any:
        """Return the cached value or compute it once, even under concurrency."""
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += 1
                return self._data[key]
            gate = self._inflight.setdefault(key, threading.Lock())
        with gate:
            with self._lock:
                if key in self._data:
                    self.hits += 1
                    return self._data[key]
                self.misses += 1
            try:
                value = compute()
                self.set(key, value)
                return value
            finally:
                with self._lock:
                    self._inflight.pop(key, None)

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._data.clear()

    def stats(self) -> dict[str, Any]:
        """Return hit/miss counters, hit rate and size."""
        total = self.hits + self.misses
        return {
            "backend": "local",
            "hits": self.hits,
            "misses": self.misses,
            "hit_rate": (self.hits / total) if total else None,
            "entries": len(self._data),
        }

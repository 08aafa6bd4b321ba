"""Cache with one interface: in-process always, Redis when configured.

Values are keyed by the data version, so an entry never needs invalidating: a
new version is a new key. `get_or_compute` is single-flight per key, so N
pollers asking for the same snapshot cost one computation.
"""

from __future__ import annotations

import logging
import pickle
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from dashapp.market import cachebound

log = logging.getLogger(__name__)

DEFAULT_MAX_ENTRIES = 256


class LocalCache:
    """A thread-safe LRU cache with single-flight computation and counters."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._data: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._inflight: dict[str, threading.Lock] = {}
        self.bound = cachebound.GroupBound()  # historical as_of per universe/page
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
            for old in self.bound.add(key):
                self._data.pop(old, None)
            while len(self._data) > self.max_entries:
                self.bound.discard(self._data.popitem(last=False)[0])

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
            self.bound = cachebound.GroupBound(self.bound.per_group)

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


# --------------------------------------------------------------------- Redis
DEFAULT_PREFIX = "tickstock:cache:"
DEFAULT_TTL_S = 3600.0
DEFAULT_LOCK_MS = 30_000
DEFAULT_WAIT_S = 60.0
DEFAULT_RETRY_S = 2.0
WAIT_POLL_MIN_S = 0.005
WAIT_POLL_MAX_S = 0.05
_MISSING = object()
_DOWN = object()
_RELEASE_LUA = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('del', KEYS[1]) else return 0 end"
)


class RedisCache:
    """Redis-backed cache with an in-process hit layer; same interface as LocalCache.

    Values are pickled under `prefix + key` with a TTL. Keys carry the data
    version, so the in-process layer in front of Redis never serves a stale
    value and a hit costs no round trip. `get_or_compute` is single-flight per
    key across threads (a gate) and across processes (a short Redis lock
    `SET NX PX`): N workers compute once per version, the others wait for the
    stored result. When Redis is unreachable the cache keeps serving and
    computing in-process, logs that once, reports degraded through `status()`
    and probes Redis again every `retry_seconds` until it is back.

    Redis must be trusted (private network): values are unpickled.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        ttl_seconds: float = DEFAULT_TTL_S,
        local: LocalCache | None = None,
        lock_ms: int = DEFAULT_LOCK_MS,
        wait_seconds: float = DEFAULT_WAIT_S,
        retry_seconds: float = DEFAULT_RETRY_S,
        client: Any = None,
    ) -> None:
        from dashapp.ops.redisconn import redis_client

        self.url = url
        self.prefix = prefix
        self.ttl_ms = int(ttl_seconds * 1000)
        self.lock_ms = int(lock_ms)
        self.wait_seconds = wait_seconds
        self.retry_seconds = retry_seconds
        self.local = local if local is not None else LocalCache()
        self.client = client if client is not None else redis_client(url)
        self._release_script = self.client.register_script(_RELEASE_LUA)
        self._bounded = cachebound.RedisBound(self.client, prefix, ttl_seconds)
        self._state = threading.Lock()
        self._gates: dict[str, threading.Lock] = {}
        self._down_since: float | None = None
        self._retry_at = 0.0
        self._last_error = ""
        self.counters = dict.fromkeys(
            (
                "local_hits",
                "redis_hits",
                "waits",
                "misses",
                "computes",
                "errors",
                "outages",
            ),
            0,
        )

    def _lookup(self, key: str) -> tuple[bool, Any]:
        """Return (found, value) from memory, else from Redis (kept in memory)."""
        value = self.local.get(key, _MISSING)
        if value is not _MISSING:
            self._count("local_hits")
            return True, value
        return self._from_redis(key)

    def _from_redis(self, key: str) -> tuple[bool, Any]:
        """Return (found, value) from Redis, keeping a hit in memory."""
        found, value = self._fetch(key)
        if found:
            self.local.set(key, value)
            self._count("redis_hits")
        return found, value

    # ------------------------------------------------------------ interface
    def get(self, key: str, default: Any = None) -> Any:
        """Return the cached value for key from memory or Redis, else default."""
        found, value = self._lookup(key)
        if found:
            return value
        self._count("misses")
        return default

    def set(self, key: str, value: Any) -> None:
        """Store a value in memory and (when reachable) in Redis."""
        raw = self._dumps(key, value)
        self.local.set(key, value)
        self._store(key, raw)

    def get_or_compute(self, key: str, compute: Callable[[], Any]) -> Any:
        """Return the cached value or compute it once across threads and processes."""
        value = self.local.get(key, _MISSING)
        if value is not _MISSING:
            self._count("local_hits")
            return value
        with self._gate(key):
            found, value = self._lookup(key)
            if found:
                return value
            return self._compute_once(key, compute)

    def clear(self) -> None:
        """Drop every entry in memory and under this cache's Redis prefix."""
        self.local.clear()
        keys = self._redis(lambda: list(self.client.scan_iter(f"{self.prefix}*")))
        if keys is not _DOWN and keys:
            self._redis(self.client.delete, *keys)

    def stats(self) -> dict[str, Any]:
        """Return hit/miss counters, hit rate, size and Redis state."""
        c = dict(self.counters)
        hits = c["local_hits"] + c["redis_hits"] + c["waits"]
        total = hits + c["misses"]
        return {
            "backend": "redis",
            "hits": hits,
            "misses": c["misses"],
            "hit_rate": (hits / total) if total else None,
            "entries": len(self.local._data),
            **c,
            "degraded": self._down_since is not None,
        }

    def status(self) -> tuple[str, str]:
        """Return ("ok" | "degraded", detail) after pinging Redis (a ready check)."""
        self._redis(self.client.ping)
        if self._down_since is None:
            return "ok", "redis reachable"
        since = time.strftime("%H:%M:%S", time.localtime(self._down_since))
        return (
            "degraded",
            f"redis unreachable since {since} ({self._last_error}); "
            "serving from the in-process cache",
        )

    @property
    def degraded(self) -> bool:
        """Return True while Redis is considered unreachable."""
        return self._down_since is not None

    # ------------------------------------------------------------- internals
    def _count(self, name: str, n: int = 1) -> None:
        with self._state:
            self.counters[name] += n

    def _gate(self, key: str) -> threading.Lock:
        with self._state:
            gate = self._gates.get(key)
            if gate is None:
                gate = self._gates[key] = threading.Lock()
                if len(self._gates) > self.local.max_entries * 4:
                    # Forget idle gates; a gate in use is simply recreated.
                    self._gates = {key: gate}
            return gate

    def _rkey(self, key: str) -> str:
        return self.prefix + key

    def _usable(self) -> bool:
        """Return True when Redis may be tried now (one caller probes per period)."""
        if self._down_since is None:
            return True
        with self._state:
            now = time.monotonic()
            if now < self._retry_at:
                return False
            self._retry_at = now + self.retry_seconds
            return True

    def _redis(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call Redis; return _DOWN instead of raising when it is unavailable."""
        import redis

        if not self._usable():
            return _DOWN
        try:
            result = fn(*args, **kwargs)
        except redis.RedisError as exc:
            self._mark_down(exc)
            return _DOWN
        except OSError as exc:
            self._mark_down(exc)
            return _DOWN
        if self._down_since is not None:
            self._mark_up()
        return result

    def _mark_down(self, exc: BaseException) -> None:
        with self._state:
            self.counters["errors"] += 1
            self._retry_at = time.monotonic() + self.retry_seconds
            self._last_error = f"{type(exc).__name__}: {exc}"[:200]
            if self._down_since is not None:
                return
            self._down_since = time.time()
            self.counters["outages"] += 1
        log.warning(
            "Redis cache unavailable (%s); serving from the in-process cache "
            "and retrying every %.0f s",
            self._last_error,
            self.retry_seconds,
        )

    def _mark_up(self) -> None:
        with self._state:
            if self._down_since is None:
                return
            down_for = time.time() - self._down_since
            self._down_since = None
        log.info("Redis cache reachable again after %.1f s", down_for)

    def _decode(self, key: str, raw: bytes) -> tuple[bool, Any]:
        try:
            return True, pickle.loads(raw)
        except Exception as exc:  # written by another code version: recompute
            log.warning("cache entry %s unreadable (%s); recomputing", key, exc)
            return False, None

    def _fetch(self, key: str) -> tuple[bool, Any]:
        raw = self._redis(self.client.get, self._rkey(key))
        if raw is _DOWN or raw is None:
            return False, None
        return self._decode(key, raw)

    def _dumps(self, key: str, value: Any) -> bytes | None:
        # Pickle before the value is shared: readers of a pandas object may
        # touch its internal caches while pickle walks them.
        try:
            return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # unpicklable: keep it in memory only
            log.warning("cache value for %s not picklable: %s", key, exc)
            return None

    def _store(self, key: str, raw: bytes | None) -> None:
        if raw is not None:  # historical as_of entries: short TTL, bounded count
            self._redis(self._bounded.store, key, self._rkey(key), raw, self.ttl_ms)

    def _compute_here(self, key: str, compute: Callable[[], Any]) -> Any:
        self._count("misses")
        self._count("computes")
        value = compute()
        raw = self._dumps(key, value)
        self.local.set(key, value)
        self._store(key, raw)
        return value

    def _compute_once(self, key: str, compute: Callable[[], Any]) -> Any:
        lock_key = f"{self.prefix}lock:{key}"
        token = uuid.uuid4().hex
        deadline = time.monotonic() + self.wait_seconds
        while True:
            got = self._redis(
                self.client.set, lock_key, token, nx=True, px=self.lock_ms
            )
            if got is _DOWN or time.monotonic() > deadline:
                return self._compute_here(key, compute)
            if got:
                try:
                    found, value = self._from_redis(key)
                    return value if found else self._compute_here(key, compute)
                finally:
                    self._redis(self._release_script, keys=[lock_key], args=[token])
            found, value = self._wait_for_holder(key, lock_key, deadline)
            if found:
                self.local.set(key, value)
                self._count("waits")
                return value

    def _wait_for_holder(
        self, key: str, lock_key: str, deadline: float
    ) -> tuple[bool, Any]:
        """Poll until another process stored the value or let go of the lock."""
        delay = WAIT_POLL_MIN_S
        while time.monotonic() < deadline:
            time.sleep(delay)
            delay = min(delay * 2, WAIT_POLL_MAX_S)
            pipe = self.client.pipeline(transaction=False)
            pipe.get(self._rkey(key))
            pipe.exists(lock_key)
            result = self._redis(pipe.execute)
            if result is _DOWN:
                return False, None
            raw, held = result
            if raw is not None:
                return self._decode(key, raw)
            if not held:
                return False, None
        return False, None

"""Bound how many historical (`as_of` other than now) snapshots are cached.

Every distinct `as_of` makes its own cache entry (a market state is 100-250 KB),
so a client walking through dates could fill memory and Redis. Keys are put in
groups by what they are for (`market:<universe>`, `rrg`, `view:<page>:<universe>`);
each group keeps at most `HISTORICAL_PER_GROUP` historical entries, least
recently stored first out. "now" entries are bounded by the data version
instead (each new version replaces the previous key).
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from typing import Any

HISTORICAL_PER_GROUP = 32
HISTORICAL_TTL_S = 900.0
NOW_LABELS = frozenset({"", "now", "none"})
MAX_GROUPS = 4096
_MARKET = re.compile(r"^market:(?P<universe>[^:]+):(?P<label>[^:]+):")
_RRG = re.compile(r"^rrg:[^:]*:[^:]*:(?P<label>[^:]+):")
_VIEW = re.compile(r"^view:(?P<page>[^|]+)\|(?P<params>[^|]*)\|")


def _params(text: str) -> dict[str, str]:
    pairs = (part.partition("=") for part in text.split("&") if part)
    return {k: v for k, _sep, v in pairs}


def historical_group(key: str) -> str | None:
    """Return the bound group of a historical snapshot key, None for "now" ones."""
    match = _MARKET.match(key)
    if match:
        if match["label"].lower() in NOW_LABELS:
            return None
        return f"market:{match['universe']}"
    match = _RRG.match(key)
    if match:
        return None if match["label"].lower() in NOW_LABELS else "rrg"
    match = _VIEW.match(key)
    if match:
        params = _params(match["params"])
        if str(params.get("as_of", "")).lower() in NOW_LABELS:
            return None
        return f"view:{match['page']}:{params.get('universe', '')}"
    return None


class GroupBound:
    """Remember historical keys per group; return the keys pushed out by a bound."""

    def __init__(self, per_group: int = HISTORICAL_PER_GROUP) -> None:
        self.per_group = per_group
        self._groups: OrderedDict[str, OrderedDict[str, None]] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, key: str) -> list[str]:
        """Record `key` as just stored; return keys to evict (oldest of its group)."""
        group = historical_group(key)
        if group is None:
            return []
        evicted: list[str] = []
        with self._lock:
            keys = self._groups.setdefault(group, OrderedDict())
            self._groups.move_to_end(group)
            keys[key] = None
            keys.move_to_end(key)
            while len(keys) > self.per_group:
                evicted.append(keys.popitem(last=False)[0])
            while len(self._groups) > MAX_GROUPS:
                _name, old = self._groups.popitem(last=False)
                evicted.extend(old)
        return evicted

    def discard(self, key: str) -> None:
        """Forget a key evicted for another reason (the cache's own LRU)."""
        group = historical_group(key)
        if group is None:
            return
        with self._lock:
            keys = self._groups.get(group)
            if keys is not None:
                keys.pop(key, None)
                if not keys:
                    del self._groups[group]

    def sizes(self) -> dict[str, int]:
        """Return the number of historical keys held per group."""
        with self._lock:
            return {name: len(keys) for name, keys in self._groups.items()}


# Store a historical entry in Redis and trim its group to the newest N, atomically.
# KEYS[1] group sorted set, KEYS[2] entry; ARGV: value, ttl ms, score, limit.
REDIS_BOUNDED_SET_LUA = """
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[3], KEYS[2])
local n = redis.call('ZCARD', KEYS[1])
local limit = tonumber(ARGV[4])
if n > limit then
  local old = redis.call('ZRANGE', KEYS[1], 0, n - limit - 1)
  for _, k in ipairs(old) do redis.call('DEL', k) end
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, n - limit - 1)
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return n
"""


def redis_group_key(prefix: str, group: str) -> str:
    """Return the Redis sorted set holding one group's historical entry keys."""
    return f"{prefix}bound:{group}"


class RedisBound:
    """Store historical entries in Redis with a short TTL and a per-group cap."""

    def __init__(self, client: Any, prefix: str, ttl_seconds: float) -> None:
        self.client = client
        self.prefix = prefix
        self.per_group = HISTORICAL_PER_GROUP
        self.ttl_ms = int(min(ttl_seconds, HISTORICAL_TTL_S) * 1000)
        self._script = client.register_script(REDIS_BOUNDED_SET_LUA)

    def store(self, key: str, rkey: str, raw: bytes, ttl_ms: int) -> None:
        """Set an entry; a historical one also trims its group to the newest N."""
        group = historical_group(key)
        if group is None:
            self.client.set(rkey, raw, px=ttl_ms)
            return
        self._script(
            keys=[redis_group_key(self.prefix, group), rkey],
            args=[raw, self.ttl_ms, time.time(), self.per_group],
        )

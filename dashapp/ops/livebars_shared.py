"""Live bars shared through Redis: every worker and instance shows the same bar.

Only the ingesting leader builds in-progress bars (per-second aggregates
rolled into the current minute). `SharedLiveBarStore` is a `LiveBarStore`
that, in the ingesting leader (from its first publish until `stop`), also
publishes the bars it receives into one Redis hash under `REDIS_KEY_PREFIX`
(at most every `PUSH_EVERY_S`, only the symbols that changed, with a short TTL
kept alive while the leader lives, quiet markets included). In every other
process it reads that hash instead, through a small in-process cache, so a
request answered by a follower sees the leader's bars. Without Redis the app
uses the plain in-process `LiveBarStore`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from dashapp.store.livebars import LiveBar, LiveBarStore

log = logging.getLogger(__name__)

BARS_KEY = "live:bars"
VERSION_KEY = "live:version"
PUSH_EVERY_S = 0.25
READ_CACHE_S = 0.2
TTL_MS = 5_000
# Versions start at the wall clock in ms so a new leader never reuses the
# version (and so the cached snapshots) of an old one.
MS = 1000


class SharedLiveBarStore(LiveBarStore):
    """A LiveBarStore mirrored to Redis by the ingester and read by the others."""

    def __init__(self, client: Any, prefix: str) -> None:
        super().__init__()
        self.client = client
        self.bars_key = f"{prefix}{BARS_KEY}"
        self.version_key = f"{prefix}{VERSION_KEY}"
        self._version = int(time.time() * MS)
        self._dirty: set[str] = set()
        self._rewrite = False
        self._owner = False
        self._fetched_at = 0.0
        self._seen_version: int | None = None  # the last version read from Redis
        self._fetch_lock = threading.Lock()
        self._pusher: threading.Thread | None = None
        self._stop = threading.Event()
        self._redis_ok = True

    # ------------------------------------------------------------ leader side
    def publish(self, bars: Iterable[LiveBar]) -> int:
        """Store bars locally and mark them for the next push to Redis."""
        bars = list(bars)
        if not self._owner:  # taking over: start from our own bars only
            with self._lock:
                self._bars.clear()
            self._rewrite = True
            self._owner = True
        n = super().publish(bars)
        with self._lock:
            self._dirty.update(b.symbol for b in bars)
        self._ensure_pusher()
        return n

    def drop(self, symbols: Iterable[str]) -> None:
        """Forget some symbols' bars, here and (by a full rewrite) in Redis."""
        super().drop(symbols)
        self._rewrite = True

    def clear(self) -> None:
        """Forget every live bar, here and in Redis."""
        super().clear()
        self._rewrite = True

    def stop(self) -> None:
        """Stop publishing (ingest stopped); the Redis copy expires within the TTL."""
        self._owner = False
        self._fetched_at = 0.0
        self._stop.set()

    def _ensure_pusher(self) -> None:
        if self._pusher is None or not self._pusher.is_alive():
            self._stop.clear()
            self._pusher = threading.Thread(
                target=self._push_loop, name="tickstock-livebars-push", daemon=True
            )
            self._pusher.start()

    def _push_loop(self) -> None:
        while not self._stop.wait(PUSH_EVERY_S):
            if not self._owner:
                return  # no longer ingesting: let the copy expire
            self.push()

    def push(self) -> None:
        """Write changed bars, the version and a fresh TTL to Redis."""
        with self._lock:
            if self._rewrite:
                fields = dict(self._bars)
            else:
                fields = {s: b for s in self._dirty if (b := self._bars.get(s))}
            rewrite, self._rewrite = self._rewrite, False
            self._dirty.clear()
            version = self._version
        pipe = self.client.pipeline(transaction=True)
        if rewrite:
            pipe.delete(self.bars_key)
        if fields:
            pipe.hset(
                self.bars_key,
                mapping={s: orjson.dumps(tuple(b)) for s, b in fields.items()},
            )
        pipe.set(self.version_key, version, px=TTL_MS)
        pipe.pexpire(self.bars_key, TTL_MS)
        try:
            pipe.execute()
            self._redis_ok = True
        except Exception as exc:  # Redis away: other processes lose live bars
            if self._redis_ok:
                log.warning("could not share live bars through Redis: %s", exc)
            self._redis_ok = False
            with self._lock:
                self._rewrite = True  # resend everything once Redis is back

    # ---------------------------------------------------------- reader side
    def _sync(self) -> None:
        """Refresh from Redis unless this process is the ingester (cached)."""
        if self._owner:  # the ingester reads its own, newer bars
            return
        now = time.monotonic()
        if now - self._fetched_at < READ_CACHE_S:
            return
        with self._fetch_lock:
            if time.monotonic() - self._fetched_at < READ_CACHE_S:
                return
            try:
                pipe = self.client.pipeline(transaction=True)
                pipe.get(self.version_key)
                pipe.hgetall(self.bars_key)
                raw_version, raw_bars = pipe.execute()
            except Exception as exc:  # keep the last copy while Redis is away
                log.debug("live bars unavailable from Redis: %s", exc)
                self._fetched_at = time.monotonic()
                return
            bars = {}
            for raw in raw_bars.values():
                bar = LiveBar(*orjson.loads(raw))
                bars[bar.symbol] = bar
            version = int(raw_version) if raw_version else None
            with self._lock:
                if version is None:
                    if self._bars:
                        self._bars = {}
                        self._version += 1
                elif version != self._seen_version:
                    # Compared with the last version read, not our own: a reader
                    # made a millisecond after the leader starts where the
                    # leader's first publish lands, and would never update.
                    self._bars = bars
                    self._version = version
                self._seen_version = version
            self._fetched_at = time.monotonic()

    @property
    def version(self) -> int:
        """Return the version of the bars shown (the leader's, from Redis)."""
        self._sync()
        return self._version

    def __len__(self) -> int:
        self._sync()
        return super().__len__()

    def get(self, symbol: str) -> LiveBar | None:
        """Return the live bar of one symbol, or None."""
        self._sync()
        return super().get(symbol)

    def bars(self, symbols: Sequence[str] | None = None) -> dict[str, LiveBar]:
        """Return a copy of the live bars (optionally only for `symbols`)."""
        self._sync()
        return super().bars(symbols)

    def newest_ts(self) -> int | None:
        """Return the newest bar start (epoch ms) held, or None when empty."""
        self._sync()
        return super().newest_ts()


def make_livebars(settings: Any) -> LiveBarStore:
    """Return the live-bar store: shared through Redis when configured."""
    if not settings.redis_url:
        return LiveBarStore()
    from dashapp.ops.redisconn import redis_client

    return SharedLiveBarStore(
        redis_client(settings.redis_url), settings.redis_key_prefix
    )

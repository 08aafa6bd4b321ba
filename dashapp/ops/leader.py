"""Leader election: exactly one instance runs live ingest, the others serve.

With Redis the lock is a key set with `SET key owner NX PX ttl` and renewed
every ttl/3 by a compare-and-extend script, so when the leader dies its key
expires and a follower takes over within ttl + ttl/3 (< 2x ttl). A graceful
stop deletes the key, so handover is then one poll away. Without Redis the
lock is an exclusive `flock` on a file under the data directory, which covers
several processes (gunicorn workers) on one host; the kernel drops it when the
holder dies.

While Redis is unreachable the leader keeps ingesting instead of stepping
down: bars are idempotent upserts keyed (symbol, minute start), so a brief
overlap with a new leader cannot double a bar, whereas a fleet-wide step-down
during a Redis outage would lose bars. Once Redis answers, the leader re-takes
its key if it expired meanwhile, or steps down if another instance holds it.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import socket
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from dashapp.settings import Settings

log = logging.getLogger(__name__)

LEADER_KEY = "ingest:leader"
LOCK_FILE = "ingest.leader.lock"
RENEWALS_PER_TTL = 3
LEADER, FOLLOWER = "leader", "follower"
STOP_JOIN_S = 5.0
# A follower polls more often than the leader renews, so a released key is
# taken over within a second instead of one renewal interval (ttl/3).
FOLLOWER_POLL_S = 0.5
# Demotion stops ingest (stream, open bars, writer drain) before the key is
# released; leave it most of the 10 s shutdown budget.
CALLBACK_JOIN_S = 8.0

# Extend the key when we own it; take it back when it expired while we could
# not reach Redis; report 0 when another owner holds it.
_RENEW_LUA = """
local v = redis.call('get', KEYS[1])
if v == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
elseif not v then
  redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
_RELEASE_LUA = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('del', KEYS[1]) else return 0 end"
)


class LeaderLock(Protocol):
    """What the elector needs from a lock backend."""

    owner: str

    def acquire(self) -> bool: ...
    def renew(self) -> bool: ...
    def release(self) -> None: ...
    def holder(self) -> str | None: ...
    def describe(self) -> str: ...


def instance_name(settings: Settings | None = None) -> str:
    """Return this process's name in monitoring records and the lock (host:pid)."""
    base = (settings.instance_id if settings else None) or socket.gethostname()
    return f"{base}:{os.getpid()}"


class RedisLeaderLock:
    """A Redis key held with SET NX PX and renewed by compare-and-extend."""

    def __init__(self, client: Any, key: str, owner: str, ttl_ms: int) -> None:
        self.client = client
        self.key = key
        self.owner = owner
        self.ttl_ms = int(ttl_ms)
        self._renew = client.register_script(_RENEW_LUA)
        self._release = client.register_script(_RELEASE_LUA)

    def acquire(self) -> bool:
        """Take the key if nobody holds it."""
        return bool(self.client.set(self.key, self.owner, nx=True, px=self.ttl_ms))

    def renew(self) -> bool:
        """Extend our key (re-taking it if it expired); False if another holds it."""
        return bool(self._renew(keys=[self.key], args=[self.owner, self.ttl_ms]))

    def release(self) -> None:
        """Delete the key if it is still ours."""
        self._release(keys=[self.key], args=[self.owner])

    def holder(self) -> str | None:
        """Return the current owner, or None."""
        value = self.client.get(self.key)
        if isinstance(value, bytes):
            return value.decode()
        return value

    def describe(self) -> str:
        """Return where the lock lives."""
        return f"redis key {self.key}"


class FileLeaderLock:
    """An exclusive flock on a file: one holder per host, freed when it dies."""

    def __init__(self, path: str | Path, owner: str) -> None:
        self.path = Path(path)
        self.owner = owner
        self._fh: Any = None

    def acquire(self) -> bool:
        """Take the flock without blocking."""
        import fcntl

        if self._fh is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")  # noqa: SIM115 - held open while leading
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            return False
        fh.seek(0)
        fh.truncate()
        fh.write(self.owner)
        fh.flush()
        self._fh = fh
        return True

    def renew(self) -> bool:
        """Return True while we hold the flock (it cannot expire)."""
        return self._fh is not None

    def release(self) -> None:
        """Drop the flock."""
        import fcntl

        if self._fh is None:
            return
        try:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
        finally:
            self._fh.close()
            self._fh = None

    def holder(self) -> str | None:
        """Return the last owner written to the file, or None."""
        try:
            return self.path.read_text().strip() or None
        except OSError:
            return None

    def describe(self) -> str:
        """Return where the lock lives."""
        return f"file lock {self.path}"


class LeaderElector:
    """Contend for a lock in a daemon thread; run callbacks on election/demotion.

    Callbacks run one at a time, in order, on their own thread, so a slow
    ingest start never delays lock renewal.
    """

    def __init__(
        self,
        lock: LeaderLock,
        *,
        ttl_seconds: float,
        on_elected: Callable[[], Any] | None = None,
        on_demoted: Callable[[], Any] | None = None,
        name: str = "ingest",
    ) -> None:
        self.lock = lock
        self.ttl_seconds = ttl_seconds
        self.interval = ttl_seconds / RENEWALS_PER_TTL
        self.on_elected = on_elected
        self.on_demoted = on_demoted
        self.name = name
        self.elections = 0
        self.last_renewed: float | None = None
        self._leader = False
        self._unreachable = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._callbacks: queue.Queue = queue.Queue()
        self._cb_thread: threading.Thread | None = None

    @property
    def is_leader(self) -> bool:
        """Return True while this instance holds the lock."""
        return self._leader

    @property
    def role(self) -> str:
        """Return "leader" or "follower"."""
        return LEADER if self._leader else FOLLOWER

    def start(self) -> LeaderElector:
        """Start contending in a daemon thread (first attempt immediately)."""
        if self._thread is not None:
            return self
        self._cb_thread = threading.Thread(
            target=self._run_callbacks, name=f"{self.name}-leader-cb", daemon=True
        )
        self._cb_thread.start()
        self._thread = threading.Thread(
            target=self._run, name=f"{self.name}-leader", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, release: bool = True) -> None:
        """Stop contending; when leading, run on_demoted and release the lock."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(STOP_JOIN_S)
        was_leader = self._leader
        self._leader = False
        if was_leader:
            self._callbacks.put(self.on_demoted)
        self._callbacks.put(None)
        if self._cb_thread is not None:
            self._cb_thread.join(CALLBACK_JOIN_S)
        if was_leader and release:
            try:
                self.lock.release()
            except Exception as exc:  # the key then expires on its own
                log.warning("could not release %s: %s", self.lock.describe(), exc)

    def status(self) -> tuple[str, str]:
        """Return ("ok", who leads) for the readiness endpoint."""
        if self._leader:
            return "ok", f"leader ({self.lock.owner}, {self.lock.describe()})"
        try:
            holder = self.lock.holder()
        except Exception as exc:
            return "ok", f"follower (leader unknown: {type(exc).__name__})"
        return "ok", f"follower (leader: {holder or 'none'})"

    def step(self) -> None:
        """Renew when leading, else try to take the lock (one election round)."""
        try:
            if self._leader:
                if self.lock.renew():
                    self.last_renewed = time.monotonic()
                else:
                    self._demote(f"{self.lock.describe()} is held by another instance")
            elif self.lock.acquire():
                self.last_renewed = time.monotonic()
                self._elect()
        except Exception as exc:
            if not self._unreachable:
                self._unreachable = True
                log.warning(
                    "leader lock unreachable (%s: %s); %s",
                    type(exc).__name__,
                    exc,
                    "still leading" if self._leader else "staying a follower",
                )
            return
        if self._unreachable:
            self._unreachable = False
            log.info("leader lock reachable again; this instance is %s", self.role)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.step()
            wait = (
                self.interval if self._leader else min(self.interval, FOLLOWER_POLL_S)
            )
            self._stop.wait(wait)

    def _elect(self) -> None:
        self._leader = True
        self.elections += 1
        log.info(
            "%s leader elected: %s (%s)",
            self.name,
            self.lock.owner,
            self.lock.describe(),
        )
        self._callbacks.put(self.on_elected)

    def _demote(self, reason: str) -> None:
        self._leader = False
        log.warning("%s leadership lost: %s", self.name, reason)
        self._callbacks.put(self.on_demoted)

    def _run_callbacks(self) -> None:
        while True:
            callback = self._callbacks.get()
            if callback is None:
                return
            try:
                callback()
            except Exception:
                log.exception("%s leader callback failed", self.name)


def make_leader_lock(settings: Settings, owner: str) -> LeaderLock:
    """Return a Redis lock when REDIS_URL is set, else a file lock in the data dir."""
    ttl_ms = int(settings.leader_ttl * 1000)
    if settings.redis_url:
        from dashapp.ops.redisconn import redis_client

        key = f"{settings.redis_key_prefix}{LEADER_KEY}"
        return RedisLeaderLock(redis_client(settings.redis_url), key, owner, ttl_ms)
    return FileLeaderLock(settings.data_path / LOCK_FILE, owner)


def start_leader_election(
    server: Any,
    settings: Settings,
    *,
    on_elected: Callable[[], Any],
    on_demoted: Callable[[], Any],
) -> LeaderElector:
    """Contend for ingest leadership for a Flask server; expose it as an extension."""
    from dashapp.ops.health import register_ready_check

    owner = f"{instance_name(settings)}:{uuid.uuid4().hex[:8]}"
    elector = LeaderElector(
        make_leader_lock(settings, owner),
        ttl_seconds=settings.leader_ttl,
        on_elected=on_elected,
        on_demoted=on_demoted,
    )
    server.extensions["tickstock_leader"] = elector
    register_ready_check(server, "ingest_leader", elector.status)
    atexit.register(elector.stop)
    return elector.start()

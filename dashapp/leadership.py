"""Live ingest under the leader lock: one ingester across all instances.

The foreground ingest command contends for the same lock as `tickstock serve`
(`dashapp.ops.leader`: a Redis key when `REDIS_URL` is set, else a file lock in
the data directory). While another instance leads it is a follower: it logs
who leads, starts no stream, writer or simulator, and writes nothing; once the
key is free it takes over. Stopping flushes the open bars, drains the writer
and releases the key so a follower takes over at once.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any

from dashapp.ops.leader import LeaderElector, instance_name, make_leader_lock
from dashapp.settings import Settings

log = logging.getLogger("ingest.leadership")  # its log name before the move


class GatedIngest:
    """Run an ingest service only while this process holds the leader lock."""

    def __init__(
        self,
        settings: Settings,
        store: Any,
        start: Callable[[Settings, Any], Any],
        *,
        on_started: Callable[[Any], None] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self._start = start
        self._on_started = on_started
        self._lock = threading.Lock()
        self.service: Any = None
        self.flushed = True
        self.start_error: str | None = None
        owner = f"{instance_name(settings)}:{uuid.uuid4().hex[:8]}"
        self.elector = LeaderElector(
            make_leader_lock(settings, owner),
            ttl_seconds=settings.leader_ttl,
            on_elected=self._elected,
            on_demoted=self._demoted,
        )

    @property
    def owner(self) -> str:
        """Return this process's name in the lock."""
        return self.elector.lock.owner

    def begin(self) -> GatedIngest:
        """Start contending for the lock (ingest starts once elected)."""
        self.elector.start()
        return self

    def leader(self) -> str | None:
        """Return who holds the lock now (None when nobody or unknown)."""
        if self.elector.is_leader:
            return self.owner
        try:
            return self.elector.lock.holder()
        except Exception:  # Redis away: unknown
            return None

    def status(self) -> str:
        """Return "leader (...)" or "follower (leader: ...)" for status lines."""
        return self.elector.status()[1]

    def stop(self) -> bool:
        """Stop ingest (flush, drain), release the lock; True when all was written."""
        self.elector.stop()
        return self.flushed

    def _elected(self) -> None:
        try:
            service = self._start(self.settings, self.store)
        except Exception as exc:
            log.exception("live ingest failed to start")
            self.start_error = f"{type(exc).__name__}: {exc}"
            return
        with self._lock:
            self.service = service
        if self._on_started is not None:
            self._on_started(service)

    def _demoted(self) -> None:
        with self._lock:
            service, self.service = self.service, None
        if service is not None:
            self.flushed = bool(service.stop()) and self.flushed

"""The monitoring record: its fields, the ingest figures behind them, its loop.

A health record is published on the monitoring channel every
`MONITORING_INTERVAL_SECONDS` (5 s) with exactly the fields in
`MONITORING_FIELDS`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from dashapp.ops.channels import ObsWorker

log = logging.getLogger(__name__)

HEALTH_TYPE = "health"

# Every monitoring record carries exactly these keys (None when unknown).
MONITORING_FIELDS = (
    "type",
    "ts",
    "instance_id",
    "role",
    "status",
    "ingest_enabled",
    "ingest_connected",
    "ingest_events_per_s",
    "bars_per_min",
    "last_bar_age_s",
    "queue_depth",
    "spilled_rows",
    "reconnects",
    "db_ok",
    "db_write_p50_ms",
    "db_write_p99_ms",
    "cache_backend",
    "cache_hit_rate",
    "cache_degraded",
    "cache_hits",
    "cache_misses",
    "cache_computes",
    "rest_p50_ms",
    "rest_p99_ms",
    "rest_requests",
    "dash_p50_ms",
    "dash_p99_ms",
    "active_sessions",
    "interval_s",
)

# Names the ingest service may use for each figure in `health()`.
INGEST_ALIASES: dict[str, tuple[str, ...]] = {
    "ingest_connected": ("connected",),
    "ingest_events_per_s": ("events_per_s", "events_per_second", "event_rate"),
    "bars_per_min": ("bars_per_min", "bars_per_minute"),
    "queue_depth": ("queue_rows", "queue_depth", "queue_size"),
    "last_bar_age_s": ("last_bar_age_s", "last_bar_age", "last_bar_age_seconds"),
    "spilled_rows": ("spilled_rows", "spilled", "spill_rows"),
    "reconnects": ("reconnects", "reconnect_count"),
    "db_write_p50_ms": ("write_p50_ms", "write_latency_p50_ms", "db_write_p50_ms"),
    "db_write_p99_ms": ("write_p99_ms", "write_latency_p99_ms", "db_write_p99_ms"),
    "_bars_written": ("written_rows", "bars_written", "rows_written"),
    "_quarantined_rows": ("quarantined_rows",),
}


def _pick(health: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        if name in health and health[name] is not None:
            value = health[name]
            if isinstance(value, Mapping):  # per-feed figures: the worst one counts
                numbers = [v for v in value.values() if isinstance(v, (int, float))]
                return max(numbers) if numbers else None
            return value
    return None


def ingest_figures(service: Any) -> dict[str, Any]:
    """Map the ingest service's `health()` onto monitoring field names."""
    if service is None or not hasattr(service, "health"):
        return {}
    health = service.health()
    if not isinstance(health, Mapping):
        health = getattr(health, "__dict__", {}) or {}
    flat = dict(health)
    writer = health.get("writer")
    if isinstance(writer, Mapping):  # ingest.writer figures: written rows etc.
        for key, value in writer.items():
            flat.setdefault(key, value)
    for nested in ("write_latency", "write", "latency"):
        inner = health.get(nested)
        if isinstance(inner, Mapping):
            flat.setdefault("write_p50_ms", inner.get("p50_ms", inner.get("p50")))
            flat.setdefault("write_p99_ms", inner.get("p99_ms", inner.get("p99")))
    figures = {field: _pick(flat, names) for field, names in INGEST_ALIASES.items()}
    rejected = health.get("rejected")  # feed events rejected, by reason
    figures["_feed_rejected"] = dict(rejected) if isinstance(rejected, Mapping) else {}
    return figures


class MonitoringLoop:
    """Publish a health record every `interval` seconds (the first immediately)."""

    def __init__(
        self,
        build: Callable[[], dict[str, Any]],
        publish: Callable[[dict], None],
        interval: float,
    ) -> None:
        self.build = build
        self.publish = publish
        self.interval = interval
        self.sent = 0
        self.last: dict[str, Any] | None = None
        self._worker = ObsWorker("tickstock-monitoring", self._run)

    def start(self) -> None:
        """Start the loop thread."""
        self._worker.start()

    def stop(self) -> None:
        """Stop the loop thread."""
        self._worker.stop()

    def _run(self) -> None:
        next_at = time.monotonic()
        while not self._worker.stop_event.is_set():
            try:
                record = self.build()
                self.last = record
                self.publish(record)
                self.sent += 1
            except Exception as exc:  # a broken figure must not stop monitoring
                log.warning("monitoring record failed: %s: %s", type(exc).__name__, exc)
            next_at += self.interval
            self._worker.stop_event.wait(max(0.0, next_at - time.monotonic()))

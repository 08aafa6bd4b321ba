"""Observability: error and monitoring channels, database log sink, /metrics wiring.

- Every ERROR/CRITICAL log record is published on the error channel and, at or
  above `LOG_DB_SEVERITY_THRESHOLD`, written to `error_log` (`log_sinks`).
- A health record is published on the monitoring channel every
  `MONITORING_INTERVAL_SECONDS` (`health_record`).
- A subscriber feeds both channels into a ring buffer for `/streaming`.

`install_observability(app, settings, store)` wires all of this into one app;
installing again (tests build many apps) replaces the previous installation.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry

from dashapp.ops.channels import ChannelPublisher, utc_iso
from dashapp.ops.health_record import (
    HEALTH_TYPE,
    MONITORING_FIELDS,
    MonitoringLoop,
    ingest_figures,
)
from dashapp.ops.leader import instance_name
from dashapp.ops.log_sinks import DatabaseLogHandler, ErrorChannelHandler
from dashapp.ops.metrics import METRICS_PATH, RequestMetrics, SnapshotCollector
from dashapp.ops.metrics import bp as metrics_bp
from dashapp.ops.stream import StreamBuffer, StreamSubscriber
from dashapp.settings import Settings
from dashapp.store import Store

log = logging.getLogger(__name__)

SESSIONS_KEY = "sessions"


class Observability:
    """Everything observability for one app: handlers, channels, metrics, buffer."""

    def __init__(self, server: Any, settings: Settings, store: Store) -> None:
        self.server = server
        self.settings = settings
        self.store = store
        self.instance_id = instance_name(settings)
        self.buffer = StreamBuffer()
        self.publisher = ChannelPublisher(settings.redis_url, local=self.buffer)
        self.error_handler = ErrorChannelHandler(
            self.publisher, settings.redis_error_channel, self.instance_id
        )
        self.db_handler = (
            DatabaseLogHandler(
                store, settings.log_db_severity_threshold, self.instance_id
            )
            if settings.log_db_enabled
            else None
        )
        self.subscriber = (
            StreamSubscriber(
                settings.redis_url,
                [settings.redis_error_channel, settings.redis_monitoring_channel],
                self.buffer,
            )
            if settings.redis_url
            else None
        )
        self.registry = CollectorRegistry()
        self.requests = RequestMetrics(self.registry)
        self.collector = SnapshotCollector(self.snapshot)
        self.registry.register(self.collector)
        self.monitoring = MonitoringLoop(
            self._monitoring_tick, self._publish_health, settings.monitoring_interval
        )
        self._redis = None
        self._bars_prev: tuple[float, float] | None = None
        self._started = False

    # -------------------------------------------------------------- lifecycle
    def start(self) -> Observability:
        """Attach the log handlers and start the background threads."""
        if self._started:
            return self
        self._started = True
        root = logging.getLogger()
        for handler in (self.error_handler, self.db_handler):
            if handler is not None:
                handler._tickstock_obs = True  # type: ignore[attr-defined]
                root.addHandler(handler)
        self.publisher.start()
        if self.subscriber is not None:
            self.subscriber.start()
        self.monitoring.start()
        return self

    def stop(self) -> None:
        """Detach the handlers and stop every thread."""
        root = logging.getLogger()
        for handler in (self.error_handler, self.db_handler):
            if handler is not None and handler in root.handlers:
                root.removeHandler(handler)
                handler.close()
        self.monitoring.stop()
        if self.subscriber is not None:
            self.subscriber.stop()
        self.publisher.stop()
        self._started = False

    # ---------------------------------------------------------------- figures
    def _redis_client(self) -> Any:
        if self._redis is None and self.settings.redis_url:
            from dashapp.ops.redisconn import redis_client

            self._redis = redis_client(self.settings.redis_url)
        return self._redis

    def _role(self) -> str:
        elector = self.server.extensions.get("tickstock_leader")
        return elector.role if elector is not None else "follower"

    def _db_figures(self) -> dict[str, Any]:
        state = self.server.extensions.get("tickstock_dbstate")
        if state is not None and not state.available():
            return {"db_ok": False, "last_bar_age_s": None}
        try:
            newest = self.store.data_version().newest_minute
        except Exception as exc:
            if state is not None:
                state.note(exc)
            return {"db_ok": False, "last_bar_age_s": None}
        age = None
        if newest is not None:
            age = round(time.time() - newest.timestamp(), 3)
        return {"db_ok": True, "last_bar_age_s": age}

    def _bars_rate(self, written: Any) -> float | None:
        if not isinstance(written, (int, float)):
            return None
        now = time.monotonic()
        prev, self._bars_prev = self._bars_prev, (now, float(written))
        if prev is None or now <= prev[0]:
            return None
        return round((written - prev[1]) / (now - prev[0]) * 60.0, 3)

    def snapshot(self) -> dict[str, Any]:
        """Return the current health figures (the monitoring record, unpublished)."""
        settings = self.settings
        service = self.server.extensions.get("tickstock_ingest")
        try:
            ingest = ingest_figures(service)
        except Exception as exc:
            log.warning("ingest health unavailable: %s", exc)
            ingest = {}
        db = self._db_figures()
        cache = self.server.extensions.get("tickstock_cache")
        cstats = cache.stats() if cache is not None else {}
        rest = self.requests.rest.percentiles()
        dash = self.requests.dash.percentiles()
        bars_rate = ingest.get("bars_per_min")
        if bars_rate is None:
            bars_rate = self._bars_rate(ingest.get("_bars_written"))
        last_age = ingest.get("last_bar_age_s")
        if last_age is None:
            last_age = db["last_bar_age_s"]
        record = {
            "type": HEALTH_TYPE,
            "ts": utc_iso(time.time()),
            "instance_id": self.instance_id,
            "role": self._role(),
            "status": "ok",
            "ingest_enabled": settings.ingest_enabled,
            "ingest_connected": ingest.get("ingest_connected"),
            "ingest_events_per_s": ingest.get("ingest_events_per_s"),
            "bars_per_min": bars_rate,
            "last_bar_age_s": last_age,
            "queue_depth": ingest.get("queue_depth"),
            "spilled_rows": ingest.get("spilled_rows"),
            "reconnects": ingest.get("reconnects"),
            "db_ok": db["db_ok"],
            "db_write_p50_ms": ingest.get("db_write_p50_ms"),
            "db_write_p99_ms": ingest.get("db_write_p99_ms"),
            "cache_backend": cstats.get("backend"),
            "cache_hit_rate": cstats.get("hit_rate"),
            "cache_degraded": bool(cstats.get("degraded", False)),
            "cache_hits": cstats.get("hits"),
            "cache_misses": cstats.get("misses"),
            "cache_computes": cstats.get("computes", cstats.get("misses")),
            "rest_p50_ms": rest["p50_ms"],
            "rest_p99_ms": rest["p99_ms"],
            "rest_requests": self.requests.rest.count,
            "dash_p50_ms": dash["p50_ms"],
            "dash_p99_ms": dash["p99_ms"],
            "active_sessions": self.requests.sessions.count(),
            "interval_s": settings.monitoring_interval,
        }
        record["status"] = self._verdict(record)
        record["_log_counts"] = self._log_counts()
        record["_feed_rejected"] = ingest.get("_feed_rejected") or {}
        record["_quarantined_rows"] = ingest.get("_quarantined_rows")
        return record

    def _verdict(self, rec: Mapping[str, Any]) -> str:
        if not rec["db_ok"]:
            return "fail"
        degraded = rec["cache_degraded"] or self.publisher.degraded
        if self.subscriber is not None and not self.subscriber.connected:
            degraded = True
        if rec["role"] == "leader" and rec["ingest_connected"] is False:
            degraded = True
        return "degraded" if degraded else "ok"

    def _log_counts(self) -> dict[tuple[str, str], int]:
        counts = {
            ("pubsub", "published"): self.publisher.published,
            ("pubsub", "dropped"): self.publisher.dropped,
        }
        if self.db_handler is not None:
            counts[("error_log", "written")] = self.db_handler.written
            counts[("error_log", "dropped")] = self.db_handler.dropped
        return counts

    def health_record(self) -> dict[str, Any]:
        """Return a monitoring record: exactly MONITORING_FIELDS."""
        snap = self.snapshot()
        return {name: snap[name] for name in MONITORING_FIELDS}

    def _monitoring_tick(self) -> dict[str, Any]:
        client = self._redis_client()
        if client is not None:
            key = f"{self.settings.redis_key_prefix}{SESSIONS_KEY}"
            try:
                self.requests.sessions.share(client, key)
            except Exception:  # Redis away: report this process's own count
                self.requests.sessions.shared_count = None
        return self.health_record()

    def _publish_health(self, record: dict[str, Any]) -> None:
        self.publisher.publish(self.settings.redis_monitoring_channel, record)

    # ----------------------------------------------------------- readiness
    def pubsub_status(self) -> tuple[str, str]:
        """Return the pub/sub readiness: degraded while either side lacks Redis."""
        for status in (self.publisher.status(), self.subscriber.status()):
            if status[0] != "ok":
                return status
        return "ok", f"channels {self.settings.redis_error_channel}, " + (
            self.settings.redis_monitoring_channel
        )


_current: Observability | None = None
_current_lock = threading.Lock()


def install_observability(app: Any, settings: Settings, store: Store) -> Observability:
    """Wire channels, log sinks, request metrics and /metrics into an app."""
    global _current
    from dashapp.ops.health import register_ready_check

    server = getattr(app, "server", app)
    obs = Observability(server, settings, store)
    server.extensions["tickstock_observability"] = obs
    server.extensions["tickstock_stream"] = obs.buffer
    server.register_blueprint(metrics_bp)
    if server is not app:  # a Dash app: the auth gate lets /metrics decide itself
        from dash_auth import add_public_routes

        add_public_routes(app, [METRICS_PATH])
    obs.requests.install(server)
    if obs.db_handler is not None:
        obs.db_handler.guard.on_probe = obs.requests.count_client_error
    cache = server.extensions.get("tickstock_cache")
    if cache is not None and hasattr(cache, "status"):
        register_ready_check(server, "cache", cache.status)
    if settings.redis_url:
        register_ready_check(server, "pubsub", obs.pubsub_status)
    with _current_lock:
        previous, _current = _current, obs
    if previous is not None:
        previous.stop()
    return obs.start()

"""Observability: error and monitoring channels, database log sink, /metrics wiring.

- Every ERROR/CRITICAL log record, from any logger or thread, is published on
  the error channel as JSON `{ts, level, source, message, context}`.
- Records at or above `LOG_DB_SEVERITY_THRESHOLD` go to `error_log` when
  `LOG_DB_ENABLED`, batched by a writer thread; logging never waits on Redis or
  the database (bounded queues; overflow is counted and dropped).
- A health record is published on the monitoring channel every
  `MONITORING_INTERVAL_SECONDS` (5 s) with the fields in `MONITORING_FIELDS`.
- A subscriber feeds both channels into a ring buffer for `/streaming`.

`install_observability(app, settings, store)` wires all of this into one app;
installing again (tests build many apps) replaces the previous installation.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from prometheus_client import CollectorRegistry

from dashapp.ops.leader import instance_name
from dashapp.ops.logguard import LogGuard, client_probe_status
from dashapp.ops.metrics import METRICS_PATH, RequestMetrics, SnapshotCollector
from dashapp.ops.metrics import bp as metrics_bp
from dashapp.ops.stream import StreamBuffer, StreamSubscriber
from dashapp.settings import Settings
from dashapp.store import Store

log = logging.getLogger(__name__)

PUBLISH_QUEUE_MAX = 10_000
DB_QUEUE_MAX = 10_000
DB_BATCH_MAX = 500
DB_FLUSH_S = 0.5
RETRY_MIN_S = 0.2
RETRY_MAX_S = 5.0
MESSAGE_MAX_CHARS = 10_000
TRACEBACK_MAX_CHARS = 8_000
FLUSH_TIMEOUT_S = 5.0
SESSIONS_KEY = "sessions"
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


def _utc_iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="milliseconds")


def _is_obs_thread() -> bool:
    """Return True inside our own worker threads (their logs must not loop back)."""
    return getattr(threading.current_thread(), "_tickstock_obs", False)


def record_dict(record: logging.LogRecord, instance: str) -> dict[str, Any]:
    """Return a log record as `{ts, level, source, message, context}`."""
    context: dict[str, Any] = {}
    extra = getattr(record, "context", None)
    if isinstance(extra, Mapping):
        context.update(extra)
    elif extra is not None:
        context["value"] = extra
    context.setdefault("instance", instance)
    context.setdefault("where", f"{record.pathname}:{record.lineno}")
    context.setdefault("thread", record.threadName)
    if record.exc_info and record.exc_info[0] is not None:
        text = "".join(traceback.format_exception(*record.exc_info))
        context["exc"] = text[-TRACEBACK_MAX_CHARS:]
    try:
        message = record.getMessage()
    except Exception:  # bad %-args must not lose the record
        message = str(record.msg)
    return {
        "ts": _utc_iso(record.created),
        "level": record.levelname,
        "source": record.name,
        "message": message[:MESSAGE_MAX_CHARS],
        "context": context,
    }


def _json(data: Any) -> bytes:
    return orjson.dumps(data, default=str, option=orjson.OPT_NON_STR_KEYS)


class _Worker:
    """A daemon thread marked as ours (its own log records are not re-published)."""

    def __init__(self, name: str, target: Callable[[], None]) -> None:
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=target, name=name, daemon=True)
        self.thread._tickstock_obs = True  # type: ignore[attr-defined]

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self.stop_event.set()
        if self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join(timeout)


class ChannelPublisher:
    """Publish JSON messages on Redis channels from a background thread.

    `publish` never blocks. While Redis is unreachable, messages marked `keep`
    (errors) wait in the bounded queue and go out when it is back; others
    (health records, stale by then) are dropped.
    """

    def __init__(self, url: str | None, local: StreamBuffer | None = None) -> None:
        self.url = url
        self.local = local
        self.published = 0
        self.dropped = 0
        self.sent: Counter[str] = Counter()  # per channel
        self.degraded = False
        self._queue: queue.Queue = queue.Queue(maxsize=PUBLISH_QUEUE_MAX)
        self._worker = _Worker("tickstock-publisher", self._run)
        self._started = False

    def start(self) -> None:
        """Start the publishing thread (only needed with Redis)."""
        if self.url and not self._started:
            self._started = True
            self._worker.start()

    def stop(self) -> None:
        """Stop publishing (pending messages are dropped)."""
        try:
            self._queue.put_nowait(None)
        except queue.Full:
            pass
        self._worker.stop()

    def publish(self, channel: str, data: dict[str, Any], keep: bool = False) -> None:
        """Queue one message; without Redis hand it to the local buffer."""
        if not self.url:
            if self.local is not None:
                self.local.add(channel, data)
            self.published += 1
            self.sent[channel] += 1
            return
        try:
            self._queue.put_nowait((channel, _json(data), keep))
        except queue.Full:
            self.dropped += 1

    def status(self) -> tuple[str, str]:
        """Return ("ok" | "degraded", detail)."""
        if self.degraded:
            return (
                "degraded",
                f"publisher cannot reach Redis ({self._queue.qsize()} queued)",
            )
        return "ok", f"{self.published} published, {self.dropped} dropped"

    def _run(self) -> None:
        from dashapp.ops.redisconn import UNAVAILABLE, redis_client

        client = redis_client(self.url)
        delay = RETRY_MIN_S
        while not self._worker.stop_event.is_set():
            item = self._queue.get()
            if item is None:
                return
            channel, payload, keep = item
            while not self._worker.stop_event.is_set():
                try:
                    client.publish(channel, payload)
                except UNAVAILABLE as exc:
                    self._down(exc)
                    if not keep:
                        self.dropped += 1
                        break
                    self._worker.stop_event.wait(delay)
                    delay = min(delay * 2, RETRY_MAX_S)
                    continue
                self.published += 1
                self.sent[channel] += 1
                delay = RETRY_MIN_S
                if self.degraded:
                    self.degraded = False
                    log.info("publisher reached Redis again")
                break

    def _down(self, exc: BaseException) -> None:
        if not self.degraded:
            self.degraded = True
            log.warning(
                "publisher cannot reach Redis (%s); queueing errors", type(exc).__name__
            )


class ErrorChannelHandler(logging.Handler):
    """Publish ERROR/CRITICAL records as JSON on the error channel."""

    def __init__(
        self, publisher: ChannelPublisher, channel: str, instance: str
    ) -> None:
        super().__init__(level=logging.ERROR)
        self.publisher = publisher
        self.channel = channel
        self.instance = instance

    def emit(self, record: logging.LogRecord) -> None:
        """Queue the record for publishing (never blocks)."""
        if _is_obs_thread() or client_probe_status(record) is not None:
            return
        try:
            self.publisher.publish(
                self.channel, record_dict(record, self.instance), keep=True
            )
        except Exception:
            self.handleError(record)


class DatabaseLogHandler(logging.Handler):
    """Write records at or above a threshold to `error_log`, batched, off-thread."""

    def __init__(self, store: Store, level: int | str, instance: str) -> None:
        super().__init__(level=level)
        self.store = store
        self.instance = instance
        self.written = 0
        self.dropped = 0
        self.failures = 0
        self._queue: queue.Queue = queue.Queue(maxsize=DB_QUEUE_MAX)
        self._worker = _Worker("tickstock-db-log", self._run)
        self._start_lock = threading.Lock()
        self._started = False
        self._failing = False
        self.guard = LogGuard()  # probes counted, repeats summarised

    def emit(self, record: logging.LogRecord) -> None:
        """Queue the record for the writer thread (never blocks)."""
        if _is_obs_thread() or not self.guard.admit(record):
            return
        self._enqueue(record)

    def _enqueue(self, record: logging.LogRecord) -> None:
        try:
            body = record_dict(record, self.instance)
            row = {
                "ts": dt.datetime.fromtimestamp(record.created, dt.UTC),
                "level": body["level"],
                "source": body["source"][:128],
                "message": body["message"],
                "context": _json(body["context"]).decode(),
            }
            self._ensure_started()
            self._queue.put_nowait(row)
        except queue.Full:
            self.dropped += 1
        except Exception:
            self.handleError(record)

    def flush(self, timeout: float = FLUSH_TIMEOUT_S) -> bool:
        """Wait until queued records are written; return False on timeout."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._queue.unfinished_tasks

    def close(self) -> None:
        """Flush briefly and stop the writer thread."""
        if self._started:
            self.flush(timeout=1.0)
            self._worker.stop()
        super().close()

    def _ensure_started(self) -> None:
        if self._started:
            return
        with self._start_lock:
            if not self._started:
                self._started = True
                self._worker.start()

    def _run(self) -> None:
        pending: list[dict[str, Any]] = []
        delay = RETRY_MIN_S
        while not self._worker.stop_event.is_set():
            for summary in self.guard.summaries():
                self._enqueue(summary)
            if not pending:
                try:
                    pending.append(self._queue.get(timeout=DB_FLUSH_S))
                except queue.Empty:
                    continue
            while len(pending) < DB_BATCH_MAX:
                try:
                    pending.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self.store.insert_error_logs(pending)
            except Exception as exc:
                self.failures += 1
                if not self._failing:
                    self._failing = True
                    log.warning(
                        "error_log writes failing (%s); retrying", type(exc).__name__
                    )
                self._worker.stop_event.wait(delay)
                delay = min(delay * 2, RETRY_MAX_S)
                continue
            self.written += len(pending)
            for _ in pending:
                self._queue.task_done()
            pending = []
            delay = RETRY_MIN_S
            if self._failing:
                self._failing = False
                log.info("error_log writes succeed again")


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
        self._worker = _Worker("tickstock-monitoring", self._run)

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
            "ts": _utc_iso(time.time()),
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

"""Request metrics: latency histograms, rolling percentiles, active sessions, /metrics.

Flask `before_request`/`after_request` hooks time every request into a
Prometheus histogram (per route) and keep rolling windows of REST (`/api/...`)
and Dash callback latencies for the monitoring record. Browser tabs and API
clients are counted as active sessions when seen within `SESSION_WINDOW_S`;
the monitoring loop shares the set through a Redis sorted set so every
instance reports the deployment-wide count.

`/metrics` serves the Prometheus text format to a logged-in session or any
valid API token (Prometheus: `authorization: {credentials: <token>}`; the
auth gate only reads bearer tokens on `/api`, so the route is public to the
gate and checks access itself). Under gunicorn with
`PROMETHEUS_MULTIPROC_DIR` set, histograms and counters are summed across
workers (prometheus-client multiprocess mode).
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from flask import Blueprint, Flask, Request, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

METRICS_PATH = "/metrics"
REST_PREFIX = "/api/"
DASH_CALLBACK_PATH = "/_dash-update-component"
LATENCY_WINDOW_S = 300.0
LATENCY_WINDOW_MAX = 20_000
SESSION_WINDOW_S = 300.0
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                   2.5, 5.0, 10.0)  # fmt: skip
# Probes and static files are not people: they do not make a session active.
NOT_A_SESSION = (
    "/health",
    "/ready",
    "/metrics",
    "/assets/",
    "/_dash-component-suites/",
    "/_favicon",
    "/favicon",
)

bp = Blueprint("metrics", __name__)


class LatencyWindow:
    """Durations of recent requests (last `window_s` seconds) for percentiles."""

    def __init__(self, window_s: float = LATENCY_WINDOW_S) -> None:
        self.window_s = window_s
        self._items: deque[tuple[float, float]] = deque(maxlen=LATENCY_WINDOW_MAX)
        self._lock = threading.Lock()
        self.count = 0

    def add(self, seconds: float) -> None:
        """Record one request duration."""
        with self._lock:
            self._items.append((time.monotonic(), seconds))
            self.count += 1

    def percentiles(self) -> dict[str, float | None]:
        """Return p50/p99 in milliseconds over the window (None when empty)."""
        cutoff = time.monotonic() - self.window_s
        with self._lock:
            while self._items and self._items[0][0] < cutoff:
                self._items.popleft()
            values = [d for _t, d in self._items]
        if not values:
            return {"p50_ms": None, "p99_ms": None, "n": 0}
        p50, p99 = np.percentile(np.asarray(values) * 1000.0, [50, 99])
        return {
            "p50_ms": round(float(p50), 3),
            "p99_ms": round(float(p99), 3),
            "n": len(values),
        }


class SessionTracker:
    """Count distinct clients seen recently; share the set through Redis."""

    def __init__(self, window_s: float = SESSION_WINDOW_S) -> None:
        self.window_s = window_s
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()
        self.shared_count: int | None = None

    def touch(self, key: str) -> None:
        """Mark a client (hashed id) as seen now."""
        with self._lock:
            self._seen[key] = time.time()

    def local_count(self) -> int:
        """Return how many clients this process saw within the window."""
        cutoff = time.time() - self.window_s
        with self._lock:
            for key in [k for k, t in self._seen.items() if t < cutoff]:
                del self._seen[key]
            return len(self._seen)

    def share(self, client: Any, key: str) -> int:
        """Merge this process's clients into a Redis sorted set; return the total."""
        now = time.time()
        self.local_count()
        with self._lock:
            seen = dict(self._seen)
        pipe = client.pipeline(transaction=False)
        if seen:
            pipe.zadd(key, seen)
        pipe.zremrangebyscore(key, "-inf", now - self.window_s)
        pipe.zcard(key)
        pipe.expire(key, int(self.window_s * 2))
        total = int(pipe.execute()[-2])
        self.shared_count = total
        return total

    def count(self) -> int:
        """Return the deployment-wide count when shared recently, else the local one."""
        return (
            self.shared_count if self.shared_count is not None else self.local_count()
        )


def _session_key(req: Request) -> str | None:
    if req.path.startswith(NOT_A_SESSION):
        return None
    cookie_name = current_app.config.get("SESSION_COOKIE_NAME", "session")
    ident = req.cookies.get(cookie_name)
    if not ident:
        auth = req.headers.get("Authorization", "")
        ident = auth or f"{req.remote_addr}|{req.user_agent.string}"
    return hashlib.sha256(ident.encode()).hexdigest()[:16]


class RequestMetrics:
    """Prometheus instruments and rolling windows for one Flask app."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.latency = Histogram(
            "tickstock_http_request_duration_seconds",
            "HTTP request latency by route.",
            ("route", "method"),
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.requests = Counter(
            "tickstock_http_requests",
            "HTTP requests by route and status.",
            ("route", "method", "status"),
            registry=registry,
        )
        self.client_errors = Counter(
            "tickstock_http_client_errors",
            "Anonymous requests answered 4xx (probes, scanners), by status.",
            ("status",),
            registry=registry,
        )
        self.rest = LatencyWindow()
        self.dash = LatencyWindow()
        self.sessions = SessionTracker()
        self._bound: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def count_client_error(self, status: int) -> None:
        """Count a 4xx the HTTP server answered before the app saw the request."""
        self.client_errors.labels(str(status)).inc()

    def install(self, server: Flask) -> None:
        """Register the timing hooks on a Flask app (timing runs before any gate)."""
        server.before_request_funcs.setdefault(None, []).insert(0, self._before)
        server.after_request(self._after)

    def _before(self) -> None:
        g._tickstock_t0 = time.perf_counter()

    def _bind(self, rule: str, method: str, status: int) -> tuple[Any, Any]:
        """Return the label children of one (route, method, status), bound once."""
        children = (
            self.latency.labels(rule, method),
            self.requests.labels(rule, method, str(status)),
        )
        return self._bound.setdefault((rule, method, status), children)

    def _after(self, response: Response) -> Response:
        started = g.pop("_tickstock_t0", None)
        if started is None:
            return response
        seconds = time.perf_counter() - started
        req = request._get_current_object()  # one proxy look-up, not ten
        rule = req.url_rule.rule if req.url_rule is not None else "unmatched"
        status = response.status_code
        bound = self._bound.get((rule, req.method, status)) or self._bind(
            rule, req.method, status
        )
        bound[0].observe(seconds)
        bound[1].inc()
        if 400 <= status < 500 and g.get("principal") is None:
            self.client_errors.labels(str(status)).inc()
        path = req.path
        if path.startswith(REST_PREFIX):
            self.rest.add(seconds)
        elif path == DASH_CALLBACK_PATH:
            self.dash.add(seconds)
        key = _session_key(req)
        if key is not None:
            self.sessions.touch(key)
        return response


class SnapshotCollector(Collector):
    """Expose the monitoring figures (ingest, cache, sessions...) as gauges."""

    def __init__(self, snapshot: Callable[[], dict[str, Any]]) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterable[Any]:
        """Yield one metric family per figure of the current health snapshot."""
        rec = self.snapshot()
        gauges = {
            "tickstock_leader": (
                "1 when this instance runs ingest.",
                rec["role"] == "leader",
            ),
            "tickstock_ingest_connected": (
                "1 when the ingest stream is connected.",
                rec["ingest_connected"],
            ),
            "tickstock_ingest_events_per_second": (
                "Ingest events per second.",
                rec["ingest_events_per_s"],
            ),
            "tickstock_ingest_bars_per_minute": (
                "Minute bars written per minute.",
                rec["bars_per_min"],
            ),
            "tickstock_ingest_queue_depth": ("Writer queue depth.", rec["queue_depth"]),
            "tickstock_ingest_last_bar_age_seconds": (
                "Age of the newest minute bar.",
                rec["last_bar_age_s"],
            ),
            "tickstock_ingest_spilled_rows": (
                "Rows spilled to disk while the database was down.",
                rec["spilled_rows"],
            ),
            "tickstock_database_up": (
                "1 when the database answers, 0 while it is unreachable.",
                rec["db_ok"],
            ),
            "tickstock_cache_hit_ratio": ("Cache hit ratio.", rec["cache_hit_rate"]),
            "tickstock_cache_degraded": (
                "1 while Redis is unreachable and the cache runs in-process.",
                rec["cache_degraded"],
            ),
            "tickstock_active_sessions": (
                "Browser/API sessions seen in the last 5 minutes.",
                rec["active_sessions"],
            ),
        }
        for name, (doc, value) in gauges.items():
            if value is not None:
                yield GaugeMetricFamily(name, doc, value=float(value))
        if rec["reconnects"] is not None:
            yield CounterMetricFamily(
                "tickstock_ingest_reconnects",
                "Stream reconnects.",
                value=rec["reconnects"],
            )
        yield _quantile_gauge(
            "tickstock_db_write_latency_seconds",
            "Ingest database write latency quantiles.",
            rec,
            "db_write",
        )
        yield _quantile_gauge(
            "tickstock_rest_latency_window_seconds",
            "REST latency quantiles over the last 5 minutes.",
            rec,
            "rest",
        )
        counters = GaugeMetricFamily(
            "tickstock_cache_events",
            "Cache hits, misses and computations.",
            labels=["event"],
        )
        for event in ("hits", "misses", "computes"):
            value = rec.get(f"cache_{event}")
            if value is not None:
                counters.add_metric([event], float(value))
        yield counters
        logs = CounterMetricFamily(
            "tickstock_log_records",
            "Log records by destination and outcome.",
            labels=["sink", "outcome"],
        )
        for (sink, outcome), value in rec.get("_log_counts", {}).items():
            logs.add_metric([sink, outcome], float(value))
        yield logs
        yield from _bad_data_metrics(rec)


def _quantile_gauge(
    name: str, doc: str, rec: dict[str, Any], prefix: str
) -> GaugeMetricFamily:
    """Return the p50/p99 milliseconds `<prefix>_p50_ms` of a record as seconds."""
    gauge = GaugeMetricFamily(name, doc, labels=["quantile"])
    for quantile, field in (("0.5", f"{prefix}_p50_ms"), ("0.99", f"{prefix}_p99_ms")):
        if rec[field] is not None:
            gauge.add_metric([quantile], rec[field] / 1000.0)
    return gauge


def _bad_data_metrics(rec: dict[str, Any]) -> Iterable[Any]:
    """Yield feed events rejected by reason and bar rows quarantined by the writer."""
    rejected = CounterMetricFamily(
        "tickstock_feed_rejected",
        "Feed events rejected by validation, by reason (never stored).",
        labels=["reason"],
    )
    for reason, value in sorted((rec.get("_feed_rejected") or {}).items()):
        rejected.add_metric([reason], float(value))
    yield rejected
    if rec.get("_quarantined_rows") is not None:
        yield CounterMetricFamily(
            "tickstock_ingest_quarantined_rows",
            "Bar rows the database refused, kept in rejected_bars.",
            value=float(rec["_quarantined_rows"]),
        )


def metrics_payload(registry: CollectorRegistry, extra: Collector) -> bytes:
    """Render the registry (multiprocess-aware) plus the snapshot gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)
        merged.register(extra)
        return generate_latest(merged)
    return generate_latest(registry)


def scrape_allowed() -> bool:
    """Allow a logged-in session or any valid API token (Prometheus scrapes)."""
    if "tickstock_auth" not in current_app.extensions:
        return True
    from dashapp import auth
    from dashapp.ops.failsoft import known_principals, scrape_fallback

    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    credential = f"bearer:{value.strip()}" if value.strip() else None
    try:
        if auth.current_principal() is not None:
            return True
        if scheme.lower() != "bearer" or not value.strip():
            return False
        store = current_app.extensions["tickstock_store"]
        principal = auth.token_principal(store, value.strip())
    except Exception as exc:  # database away: scrapers it knew keep scraping
        return scrape_fallback(exc, credential)
    if principal is not None and credential:
        known_principals.remember(credential, principal)
    return principal is not None


@bp.get(METRICS_PATH)
def metrics() -> Response:
    """Serve the Prometheus text exposition (session or API token required)."""
    if not scrape_allowed():
        return Response(
            '{"error": "unauthorized", "message": "log in or send a bearer token"}',
            status=401,
            mimetype="application/json",
            headers={"WWW-Authenticate": 'Bearer realm="tickstock"'},
        )
    obs = current_app.extensions["tickstock_observability"]
    body = metrics_payload(obs.registry, obs.collector)
    return Response(body, mimetype=CONTENT_TYPE_LATEST)

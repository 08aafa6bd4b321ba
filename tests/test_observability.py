"""Error and monitoring channels, error_log per threshold, /metrics, sessions
(real Redis and a real database; nothing mocked)."""

from __future__ import annotations

import datetime as dt
import logging
import socket
import threading
import time
import uuid

import orjson
import pytest
import redis

from dashapp.factory import create_app
from dashapp.ops.health_record import MONITORING_FIELDS, ingest_figures
from dashapp.ops.log_sinks import DatabaseLogHandler
from dashapp.ops.observability import Observability
from dashapp.store import Store
from tests.auth_helpers import bearer, login
from tests.redis_server import isolated_redis_url  # noqa: F401

RECEIVE_TIMEOUT_S = 5.0
ERROR_KEYS = {"ts", "level", "source", "message", "context"}
HANG_RECORDS = 300


@pytest.fixture
def redis_url(isolated_redis_url):  # noqa: F811
    """Use Redis database 14 here: database 15 is flushed by neighbouring tests."""
    return isolated_redis_url


def _channels(settings, **extra):
    tag = uuid.uuid4().hex[:8]
    return settings.replace(
        redis_error_channel=f"test:{tag}:errors",
        redis_monitoring_channel=f"test:{tag}:monitoring",
        redis_key_prefix=f"test:{tag}:",
        **extra,
    )


class Listener:
    """Subscribe to one channel now; collect decoded messages."""

    def __init__(self, url: str, channel: str) -> None:
        self.client = redis.Redis.from_url(url)
        self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(channel)
        self.messages: list[tuple[float, dict]] = []

    def collect(self, until, timeout: float = RECEIVE_TIMEOUT_S) -> list[dict]:
        """Read messages until `until(messages)` holds or the timeout passes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not until(self.data()):
            msg = self.pubsub.get_message(timeout=0.1)
            if msg and msg["type"] == "message":
                self.messages.append((time.monotonic(), orjson.loads(msg["data"])))
        return self.data()

    def data(self) -> list[dict]:
        return [d for _t, d in self.messages]

    def close(self) -> None:
        self.pubsub.close()
        self.client.close()


@pytest.fixture
def obs_app(settings, redis_url):
    """Yield an app on Redis with private channel names; stop its threads after."""
    app = create_app(_channels(settings, redis_url=redis_url), ingest=False)
    yield app
    app.server.extensions["tickstock_observability"].stop()


def test_ob01_errors_from_anywhere_reach_channel_and_error_log(obs_app, redis_url):
    app = obs_app
    settings = app.server.extensions["tickstock_settings"]
    obs = app.server.extensions["tickstock_observability"]
    listener = Listener(redis_url, settings.redis_error_channel)

    @app.server.get("/test-boom")
    def boom():
        raise RuntimeError("view exploded")

    logging.getLogger("some.module").error(
        "boom %s", 1, extra={"context": {"symbol": "AAPL"}}
    )
    worker = threading.Thread(
        target=lambda: logging.getLogger("ingest.thing").critical("crit in thread")
    )
    worker.start()
    worker.join()
    logging.getLogger("some.module").warning("only a warning")
    client = login(app.server.test_client(), app)
    assert client.get("/test-boom").status_code == 500
    messages = listener.collect(lambda m: len(m) >= 3)
    listener.close()
    by_message = {m["message"]: m for m in messages}
    assert {"boom 1", "crit in thread"} <= set(by_message)
    assert "only a warning" not in by_message
    for message in messages:
        assert set(message) == ERROR_KEYS
        assert message["level"] in ("ERROR", "CRITICAL")
        dt.datetime.fromisoformat(message["ts"])
    first = by_message["boom 1"]
    assert first["level"] == "ERROR" and first["source"] == "some.module"
    assert first["context"]["symbol"] == "AAPL"
    assert first["context"]["instance"] == obs.instance_id
    assert by_message["crit in thread"]["context"]["thread"] != "MainThread"
    view = [
        m
        for m in messages
        if "RuntimeError: view exploded" in m["context"].get("exc", "")
    ]
    assert len(view) == 1 and view[0]["level"] == "ERROR"

    assert obs.db_handler.flush()
    stored = app.server.extensions["tickstock_store"].recent_errors(50)
    texts = set(stored["message"])
    assert {"boom 1", "crit in thread"} <= texts and "only a warning" not in texts
    assert set(stored["level"]) <= {"ERROR", "CRITICAL"}
    row = stored[stored["message"] == "boom 1"].iloc[0]
    assert orjson.loads(row["context"])["symbol"] == "AAPL"
    assert any("view exploded" in (c or "") for c in stored["context"])


@pytest.mark.parametrize(
    ("enabled", "threshold", "expected"),
    [
        ("true", "WARNING", {"warn-x", "error-x", "critical-x"}),
        ("true", "CRITICAL", {"critical-x"}),
        ("false", "WARNING", set()),
    ],
)
def test_ob02_error_log_threshold(settings, enabled, threshold, expected):
    settings = settings.replace(
        log_db_enabled=enabled == "true", log_db_severity_threshold=threshold
    )
    app = create_app(settings, ingest=False)
    obs = app.server.extensions["tickstock_observability"]
    log = logging.getLogger("threshold.test")
    log.info("info-x")
    log.warning("warn-x")
    log.error("error-x")
    log.critical("critical-x")
    if obs.db_handler is not None:
        assert obs.db_handler.flush()
    stored = app.server.extensions["tickstock_store"].recent_errors(50)
    assert set(stored["message"]) & {"info-x", "warn-x", "error-x", "critical-x"} == (
        expected
    )
    obs.stop()


def test_ob03_logging_never_blocks_when_redis_and_database_hang(settings):
    # A socket that accepts connections and never answers: every Redis command
    # would wait its 0.5 s timeout and every database connect its 5 s one.
    with socket.socket() as hole:
        hole.bind(("127.0.0.1", 0))
        hole.listen(1000)
        port = hole.getsockname()[1]
        settings = settings.replace(redis_url=f"redis://127.0.0.1:{port}/0")
        obs = Observability(
            _FakeServer(), settings, Store(f"postgresql://postgres@127.0.0.1:{port}/x")
        )
        obs.start()
        try:
            log = logging.getLogger("never.blocks")
            started = time.perf_counter()
            for i in range(HANG_RECORDS):  # distinct texts: none is rate-limited
                log.error("down " + str(i))
            elapsed = time.perf_counter() - started
            # Blocking sinks would need >= HANG_RECORDS x 0.5 s; queues take µs.
            assert elapsed < 3.0, elapsed
            assert _wait(lambda: obs.publisher.degraded, 5)
            handler = obs.db_handler
            assert handler.written == 0 and handler._queue.unfinished_tasks > 0
        finally:
            obs.stop()


def _wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


class _FakeServer:
    """A bare object with Flask's `extensions` dict (no Flask app needed)."""

    def __init__(self) -> None:
        self.extensions: dict = {}


def test_ob04_monitoring_records_every_interval_with_all_fields(settings, redis_url):
    interval = 0.5
    settings = _channels(settings, redis_url=redis_url, monitoring_interval=interval)
    listener = Listener(redis_url, settings.redis_monitoring_channel)
    app = create_app(settings, ingest=False)
    try:
        client = app.server.test_client()
        for _ in range(3):
            assert client.get("/api/universes").status_code in (200, 401)
        records = listener.collect(lambda m: len(m) >= 4, timeout=6 * interval + 2)
    finally:
        listener.close()
        app.server.extensions["tickstock_observability"].stop()
    assert len(records) >= 4
    for record in records:
        assert tuple(record) == MONITORING_FIELDS
        assert record["type"] == "health" and record["interval_s"] == interval
        assert record["role"] == "follower" and record["status"] in ("ok", "degraded")
        assert record["cache_backend"] == "redis" and record["db_ok"] is True
    last = records[-1]
    assert last["rest_requests"] == 3 and last["rest_p99_ms"] > 0
    assert last["active_sessions"] >= 1
    stamps = [dt.datetime.fromisoformat(r["ts"]) for r in records]
    gaps = [(b - a).total_seconds() for a, b in zip(stamps, stamps[1:], strict=False)]
    assert all(abs(g - interval) < 0.25 for g in gaps), gaps


def test_ob05_monitoring_default_interval_is_five_seconds(obs_app, redis_url):
    settings = obs_app.server.extensions["tickstock_settings"]
    assert settings.monitoring_interval == 5.0
    listener = Listener(redis_url, settings.redis_monitoring_channel)
    records = listener.collect(lambda m: len(m) >= 2, timeout=12)
    listener.close()
    assert len(records) >= 2
    stamps = [dt.datetime.fromisoformat(r["ts"]) for r in records[:2]]
    gap = (stamps[1] - stamps[0]).total_seconds()
    assert abs(gap - 5.0) < 0.3, gap


def test_ob06_metrics_endpoint_prometheus_text(obs_app):
    app = obs_app
    client = app.server.test_client()
    anonymous = client.get("/metrics")
    assert anonymous.status_code == 401  # a session or an API token is needed
    assert (
        client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code
        == 401
    )
    cache = app.server.extensions["tickstock_cache"]
    key = f"metrics-test:{uuid.uuid4().hex}"
    assert [cache.get_or_compute(key, lambda: 1) for _ in range(3)] == [1, 1, 1]
    headers = bearer(app)
    for _ in range(5):
        client.get("/api/universes", headers=headers)
    client.get("/health")
    resp = client.get("/metrics", headers=headers)
    assert resp.status_code == 200
    assert resp.mimetype == "text/plain"
    text = resp.get_data(as_text=True)
    assert "tickstock_cache_hit_ratio 0.66" in text  # 1 miss, 2 hits
    for name in (
        "tickstock_http_request_duration_seconds_bucket",
        "tickstock_http_requests_total",
        "tickstock_cache_hit_ratio",
        "tickstock_cache_degraded",
        "tickstock_active_sessions",
        "tickstock_leader",
        "tickstock_log_records_total",
    ):
        assert name in text, name
    line = next(
        ln
        for ln in text.splitlines()
        if ln.startswith("tickstock_http_request_duration_seconds_count")
        and 'route="/health"' in ln
    )
    assert float(line.rsplit(" ", 1)[1]) == 1.0


def test_ob07_active_sessions_shared_through_redis(settings, redis_url):
    settings = _channels(settings, redis_url=redis_url, monitoring_interval=0.2)
    apps = [create_app(settings, ingest=False) for _ in range(2)]
    try:
        for i, app in enumerate(apps):
            client = app.server.test_client()
            client.get("/api/universes", headers={"User-Agent": f"browser-{i}"})
            client.get("/health", headers={"User-Agent": "probe"})  # not a session
        # The first app's loop was stopped when the second was installed; tick it.
        for app in apps:
            app.server.extensions["tickstock_observability"]._monitoring_tick()
        counts = [
            app.server.extensions["tickstock_observability"].requests.sessions.count()
            for app in apps
        ]
    finally:
        for app in apps:
            app.server.extensions["tickstock_observability"].stop()
    assert counts[-1] == 2  # both instances' clients, the probe not counted


class _FakeService:
    def __init__(self, written: int) -> None:
        self.written = written

    def health(self) -> dict:
        return {
            "connected": True,
            "events_per_s": 120.5,
            "last_bar_age_s": 3.2,
            "reconnects": 2,
            "queue_rows": 17,
            "write_p50_ms": 1.5,
            "write_p99_ms": 9.0,
            "spilled_rows": 0,
            "writer": {"written_rows": self.written, "queue_rows": 17},
        }


def test_ob08_ingest_health_maps_onto_monitoring_fields():
    figures = ingest_figures(_FakeService(written=500))
    assert figures["ingest_connected"] is True
    assert figures["ingest_events_per_s"] == 120.5
    assert figures["queue_depth"] == 17 and figures["reconnects"] == 2
    assert (figures["db_write_p50_ms"], figures["db_write_p99_ms"]) == (1.5, 9.0)
    assert figures["last_bar_age_s"] == 3.2 and figures["spilled_rows"] == 0
    assert figures["_bars_written"] == 500
    assert ingest_figures(None) == {}


def test_ob09_db_handler_batches_off_thread(sqlite_store):
    handler = DatabaseLogHandler(sqlite_store, "ERROR", "test")
    handler.guard.window = 0  # store every record: this test is about batching
    log = logging.getLogger("batch.test")
    log.addHandler(handler)
    log.propagate = False
    try:
        for i in range(1200):
            log.error("batched %d", i)
        assert handler.flush(timeout=10)
    finally:
        log.removeHandler(handler)
        log.propagate = True
        handler.close()
    assert handler.written == 1200
    assert (
        sqlite_store.table_stats().set_index("table").loc["error_log", "rows"] == 1200
    )

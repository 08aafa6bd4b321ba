"""Redis stopped and restarted under load: no 5xx, /ready degrades, then recovers.

Runs against a throwaway redis-server (the shared one must not be stopped).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid

import redis

from dashapp.factory import create_app
from tests.auth_helpers import login, seed_bars
from tests.redis_server import redis_server  # noqa: F401

DEGRADE_TIMEOUT_S = 3.0
RECOVER_TIMEOUT_S = 8.0
PATHS = (
    "/health",
    "/ready",
    "/api/universes",
    "/api/market-state?universe=sp500",
    "/api/rankings?universe=sp500&limit=5",
    "/streaming",
    "/metrics",
)


class Hammer(threading.Thread):
    """Request every path in a loop from a logged-in client; record statuses."""

    def __init__(self, client) -> None:
        super().__init__(daemon=True)
        self.client = client
        self.statuses: list[tuple[str, int]] = []
        self.errors: list[str] = []
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.is_set():
            for path in PATHS:
                try:
                    self.statuses.append((path, self.client.get(path).status_code))
                except Exception as exc:  # an exception would be a 500 in production
                    self.errors.append(f"{path}: {type(exc).__name__}: {exc}")
            self.statuses.append(("callback", self._callback()))

    def _callback(self) -> int:
        payload = {
            "output": "..streaming-messages.children...streaming-tiles.children..."
            "streaming-status.children..",
            "outputs": [
                {"id": "streaming-messages", "property": "children"},
                {"id": "streaming-tiles", "property": "children"},
                {"id": "streaming-status", "property": "children"},
            ],
            "inputs": [
                {"id": "streaming-poll", "property": "n_intervals", "value": 1},
                {"id": "streaming-channels", "property": "value", "value": []},
                {"id": "streaming-levels", "property": "value", "value": []},
                {"id": "streaming-pause-seq", "property": "data", "value": None},
            ],
            "changedPropIds": ["streaming-poll.n_intervals"],
        }
        return self.client.post("/_dash-update-component", json=payload).status_code


def _ready(client) -> dict:
    resp = client.get("/ready")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()


def _wait_ready(client, status: str, timeout: float) -> dict | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = _ready(client)
        if body["status"] == status:
            return body
        time.sleep(0.05)
    return None


def _wait_checks(client, names: tuple[str, ...], timeout: float) -> dict | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = _ready(client)
        if all(body["checks"][n]["status"] == "degraded" for n in names):
            return body
        time.sleep(0.05)
    return None


def test_ou01_redis_outage_no_5xx_degrades_and_recovers(
    settings,
    redis_server,  # noqa: F811
):
    tag = uuid.uuid4().hex[:8]
    settings = settings.replace(
        redis_url=redis_server.url,
        monitoring_interval=0.3,
        redis_error_channel=f"{tag}:errors",
        redis_monitoring_channel=f"{tag}:monitoring",
    )
    app = create_app(settings, ingest=False)
    seed_bars(app.server.extensions["tickstock_store"])
    obs = app.server.extensions["tickstock_observability"]
    cache = app.server.extensions["tickstock_cache"]
    client = login(app.server.test_client(), app)
    probe = app.server.test_client()
    assert _wait_ready(probe, "ok", 5) is not None
    hammer = Hammer(client)
    hammer.start()
    try:
        time.sleep(0.5)
        redis_server.kill()
        # The cache and the publisher each notice on their next Redis call.
        body = _wait_checks(probe, ("cache", "pubsub"), DEGRADE_TIMEOUT_S)
        assert body is not None, _ready(probe)
        assert body["status"] == "degraded"
        assert body["checks"]["database"]["status"] == "ok"
        errors_sent = obs.publisher.sent[settings.redis_error_channel]
        logging.getLogger("outage.test").error("logged while Redis is down")
        time.sleep(1.0)  # keep serving in degraded mode for a while
        assert cache.degraded
        redis_server.start()  # same port, empty, as after a crash
        body = _wait_ready(probe, "ok", RECOVER_TIMEOUT_S)
        assert body is not None, _ready(probe)
        time.sleep(0.5)
    finally:
        hammer.stop_event.set()
        hammer.join(10)
        obs.stop()
    assert not hammer.errors, hammer.errors[:3]
    failures = [(p, s) for p, s in hammer.statuses if s >= 500]
    assert not failures, failures[:5]
    served = {p for p, s in hammer.statuses if s == 200}
    assert served == {*PATHS, "callback"}
    assert len(hammer.statuses) > 3 * len(PATHS)
    # The error logged during the outage was queued and published afterwards.
    assert obs.publisher.sent[settings.redis_error_channel] == errors_sent + 1
    # The cache writes to the restarted Redis again.
    assert cache.get_or_compute(f"after-outage:{tag}", lambda: "v") == "v"
    assert redis.Redis(port=redis_server.port).exists(
        f"tickstock:cache:after-outage:{tag}"
    )

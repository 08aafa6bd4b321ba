"""/streaming: login required; channel messages reach the page's callback through
the server-side subscriber; filters and pause; works without Redis too."""

from __future__ import annotations

import logging
import time
import uuid

import orjson
import pytest
import redis

from dashapp.factory import create_app
from tests.auth_helpers import login

ARRIVAL_TIMEOUT_S = 5.0


def _callback(client, channels, levels=None, pause_seq=None) -> str:
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
            {"id": "streaming-channels", "property": "value", "value": channels},
            {"id": "streaming-levels", "property": "value", "value": levels or []},
            {"id": "streaming-pause-seq", "property": "data", "value": pause_seq},
        ],
        "changedPropIds": ["streaming-poll.n_intervals"],
    }
    resp = client.post("/_dash-update-component", json=payload)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    return resp.get_data(as_text=True)


def _wait_for(predicate, timeout: float = ARRIVAL_TIMEOUT_S) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def stream_app(settings, redis_url):
    tag = uuid.uuid4().hex[:8]
    settings = settings.replace(
        redis_url=redis_url,
        redis_error_channel=f"test:{tag}:errors",
        redis_monitoring_channel=f"test:{tag}:monitoring",
        redis_key_prefix=f"test:{tag}:",
        monitoring_interval=0.3,
    )
    app = create_app(settings, ingest=False)
    obs = app.server.extensions["tickstock_observability"]
    assert obs.subscriber.wait_subscribed(5)
    yield app
    obs.stop()


def test_st01_login_required(stream_app):
    client = stream_app.server.test_client()
    resp = client.get("/streaming")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert login(client, stream_app).get("/streaming").status_code == 200


def test_st02_published_messages_reach_the_page_filtered_and_paused(stream_app):
    settings = stream_app.server.extensions["tickstock_settings"]
    errors, monitoring = settings.redis_error_channel, settings.redis_monitoring_channel
    buffer = stream_app.server.extensions["tickstock_stream"]
    client = login(stream_app.server.test_client(), stream_app)
    publisher = redis.Redis.from_url(settings.redis_url)
    text = f"external error {uuid.uuid4().hex}"
    record = {
        "ts": "2025-01-02T03:04:05.000+00:00",
        "level": "ERROR",
        "source": "elsewhere",
        "message": text,
        "context": {},
    }
    publisher.publish(errors, orjson.dumps(record))
    assert _wait_for(
        lambda: any(e["data"].get("message") == text for e in buffer.latest())
    )
    assert _wait_for(lambda: buffer.latest(channels=[monitoring]))  # health records
    both = _callback(client, [errors, monitoring])
    assert text in both and "elsewhere" in both and "follower" in both
    assert text not in _callback(client, [monitoring])  # channel filter
    assert text in _callback(client, [errors, monitoring], levels=["ERROR"])
    assert text not in _callback(client, [errors, monitoring], levels=["health"])
    # Pause: messages newer than the paused position stay hidden.
    paused_at = buffer.last_seq
    later = f"after pause {uuid.uuid4().hex}"
    publisher.publish(errors, orjson.dumps({**record, "message": later}))
    assert _wait_for(
        lambda: any(e["data"].get("message") == later for e in buffer.latest())
    )
    frozen = _callback(client, [errors], pause_seq=paused_at)
    assert text in frozen and later not in frozen and "paused" in frozen
    assert later in _callback(client, [errors])
    # Newest first.
    body = _callback(client, [errors])
    assert body.index(later) < body.index(text)
    publisher.close()


def test_st03_without_redis_the_page_shows_this_instance_records(settings):
    app = create_app(settings.replace(monitoring_interval=0.2), ingest=False)
    try:
        client = login(app.server.test_client(), app)
        text = f"local error {uuid.uuid4().hex}"
        logging.getLogger("local.test").error(text)
        body = _callback(client, [settings.redis_error_channel])
        assert text in body
        buffer = app.server.extensions["tickstock_stream"]
        assert _wait_for(lambda: buffer.latest(kinds=["health"]))
        tiles = _callback(client, [settings.redis_monitoring_channel])
        assert "Ingest" in tiles and "Database" in tiles and "health" in tiles
    finally:
        app.server.extensions["tickstock_observability"].stop()

"""Browser: a message published on the error channel shows on /streaming within
two polls (headless Chromium through dash.testing's DashComposite, i.e. dash_duo).
Skips when chromedriver or Chromium is not installed."""

from __future__ import annotations

import shutil
import time
import uuid

import flask
import orjson
import pytest
import redis

from dashapp.factory import create_app
from tests.auth_helpers import TEST_PASSWORD, ensure_user
from tests.conftest import free_port

CHROMEDRIVER = shutil.which("chromedriver")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
POLL_S = 1.0

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore::DeprecationWarning:selenium"),
    pytest.mark.skipif(
        not (CHROMEDRIVER and CHROMIUM), reason="chromedriver/chromium not installed"
    ),
]


@pytest.fixture
def dash_duo_headless(monkeypatch):
    """Yield dash.testing's DashComposite (what `dash_duo` is), headless Chromium."""
    from dash.testing.application_runners import ThreadedRunner
    from dash.testing.composite import DashComposite

    monkeypatch.setenv("DASH_TEST_CHROMEPATH", CHROMIUM)
    with (
        ThreadedRunner() as server,
        DashComposite(
            server, browser="Chrome", headless=True, percy_run=False, wait_timeout=10
        ) as duo,
    ):
        yield duo


def test_sb01_published_message_visible_within_two_polls(
    dash_duo_headless, settings, redis_url
):
    duo = dash_duo_headless
    tag = uuid.uuid4().hex[:8]
    settings = settings.replace(
        redis_url=redis_url,
        redis_error_channel=f"test:{tag}:errors",
        redis_monitoring_channel=f"test:{tag}:monitoring",
        redis_key_prefix=f"test:{tag}:",
        poll_seconds=POLL_S,
    )
    app = create_app(settings, ingest=False)
    obs = app.server.extensions["tickstock_observability"]
    assert obs.subscriber.wait_subscribed(5)
    username = ensure_user(app)
    text = f"browser-visible {uuid.uuid4().hex}"
    polls: list[tuple[float, bool]] = []  # (answered at, carried the message)

    @app.server.after_request
    def count_polls(response):
        body = flask.request.get_json(silent=True) if flask.request.is_json else None
        if isinstance(body, dict) and "streaming-messages" in str(body.get("output")):
            polls.append((time.monotonic(), text in response.get_data(as_text=True)))
        return response

    try:
        duo.start_server(app, port=free_port(), navigate=False)
        duo.driver.get(f"{duo.server.url}/login?next=/streaming")
        duo.wait_for_element("#login-username").send_keys(username)
        duo.find_element("#login-password").send_keys(TEST_PASSWORD)
        duo.find_element("#login-submit").click()
        duo.wait_for_element("#streaming-messages", timeout=15)
        duo.wait_for_element("#streaming-tiles .card", timeout=10)  # first poll done
        record = {
            "ts": "2025-01-02T03:04:05.000+00:00",
            "level": "ERROR",
            "source": "browser.test",
            "message": text,
            "context": {},
        }
        client = redis.Redis.from_url(redis_url)
        published = time.monotonic()
        client.publish(settings.redis_error_channel, orjson.dumps(record))
        client.close()
        duo.wait_for_contains_text("#streaming-messages", text, timeout=10)
        # Polls answered after the publish, up to the first carrying it: <= 2.
        after = [carried for t, carried in polls if t > published]
        assert True in after and after.index(True) + 1 <= 2, after
        assert duo.get_logs() == [], duo.get_logs()
    finally:
        obs.stop()

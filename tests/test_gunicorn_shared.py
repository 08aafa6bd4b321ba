"""`tickstock serve --workers 2` with Redis: a request answered by the worker
that does not ingest shows the same live bars as one answered by the ingester."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import orjson
import pytest

from tests.conftest import free_port
from tests.redis_server import isolated_redis_url  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
SECTORS = ["XLB", "XLC", "XLE", "XLF", "XLI", "XLK", "XLP", "XLRE", "XLU", "XLV", "XLY"]
START_TIMEOUT_S = 60.0
SHARE_WITHIN_S = 3.0


@pytest.fixture
def redis_url(isolated_redis_url):  # noqa: F811
    return isolated_redis_url


def _on_worker(port: int, role: str, path: str, token: str) -> dict | None:
    """GET `path` on a keep-alive connection whose worker has `role`, else None."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/ready")
        ready = conn.getresponse().read()
        detail = orjson.loads(ready)["checks"]["ingest_leader"]["detail"]
        if not detail.startswith(role):
            return None
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        resp = conn.getresponse()
        body = resp.read()
        assert resp.status == 200, body
        return orjson.loads(body)
    except (OSError, KeyError, orjson.JSONDecodeError):
        return None
    finally:
        conn.close()


def _from(port: int, role: str, path: str, token: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = _on_worker(port, role, path, token)
        if body is not None:
            return body
        time.sleep(0.02)
    raise AssertionError(f"no answer from the {role} worker")


@pytest.mark.slow
def test_gs01_follower_worker_shows_the_ingesting_workers_live_bars(
    tmp_path, redis_url
):
    from dashapp import auth
    from dashapp.factory import prepare_store
    from dashapp.settings import load_settings
    from ingest.simulator import Simulator

    sim = Simulator(SECTORS, seed=9, speed="fast")
    sim.start()
    port = free_port()
    prefix = f"test:{uuid.uuid4().hex[:8]}:"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'gunicorn.db'}",
        "TICKSTOCK_DATA_DIR": str(tmp_path),
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": prefix,
        "REDIS_ERROR_CHANNEL": f"{prefix}errors",
        "REDIS_MONITORING_CHANNEL": f"{prefix}monitoring",
        "INGEST_ENABLED": "true",
        "INGEST_UNIVERSE": "sectors",
        "INGEST_SECONDS": "true",
        "INGEST_LEADER_TTL_SECONDS": "3",
        "MASSIVE_API_KEY": "test-key",
        "MASSIVE_WS_URL": sim.ws_url,
        "MASSIVE_REST_URL": sim.rest_url,
        "TICKSTOCK_DEMO_DATA": "false",
        "SECRET_KEY": "gunicorn-shared",
        "LOG_DB_ENABLED": "false",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    store = prepare_store(load_settings(env, env_file=None))
    auth.create_user(store, "viewer", "Quartz-Meadow-Lantern-7", auth.USER)
    _id, token = auth.issue_token(store, "viewer", "test")
    store.dispose()
    log_path = tmp_path / "gunicorn.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "dashapp.cli", "serve", "--workers", "2",
         "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    path = "/api/market-state?universe=sectors"
    try:
        _from(port, "follower", "/api/me", token, START_TIMEOUT_S)
        _from(port, "leader", "/api/me", token, START_TIMEOUT_S)
        assert sim.wait_for_subscribers(ev="A", timeout=15), log_path.read_text()
        sim.advance(2)

        def same() -> tuple[dict, dict] | None:
            lead = _from(port, "leader", path, token, 10)
            follow = _from(port, "follower", path, token, 10)
            if "-live" not in lead["data_version"]:
                return None
            return (lead, follow) if lead == follow else None

        deadline = time.monotonic() + SHARE_WITHIN_S
        pair = None
        while pair is None and time.monotonic() < deadline:
            pair = same()
        assert pair is not None, (
            _from(port, "leader", path, token, 5)["data_version"],
            _from(port, "follower", path, token, 5)["data_version"],
        )
    finally:
        proc.terminate()
        try:
            code = proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = None
        sim.stop()
    assert code == 0, log_path.read_text()[-3000:]

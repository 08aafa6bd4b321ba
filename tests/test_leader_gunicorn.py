"""`tickstock serve --workers 2` (gunicorn): ingest runs in exactly one worker
(file lock, no Redis); when that worker is killed another takes over; /metrics
sums request counters across workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
SYMBOLS = ["AAA", "BBB"]
TTL_S = 1.5
START_TIMEOUT_S = 60.0
READY_REQUESTS = 40


def _get(port: int, path: str, headers: dict | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers=headers or {}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _wait(predicate, timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


def _leader_pid(lock_path: Path) -> int | None:
    try:
        owner = lock_path.read_text().strip()
    except OSError:
        return None
    return int(owner.split(":")[1]) if owner else None


@pytest.mark.slow
def test_lg01_gunicorn_workers_one_ingester_and_takeover(tmp_path):
    from dashapp import auth
    from dashapp.factory import prepare_store
    from dashapp.settings import load_settings
    from ingest.simulator import Simulator

    sim = Simulator(SYMBOLS, seed=3, speed="fast")
    sim.start()
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'gunicorn.db'}",
        "TICKSTOCK_DATA_DIR": str(tmp_path),
        "REDIS_URL": "",
        "INGEST_ENABLED": "true",
        "INGEST_UNIVERSE": ",".join(SYMBOLS),
        "INGEST_SECONDS": "false",
        "INGEST_LEADER_TTL_SECONDS": str(TTL_S),
        "MASSIVE_API_KEY": "test-key",
        "MASSIVE_WS_URL": sim.ws_url,
        "MASSIVE_REST_URL": sim.rest_url,
        "TICKSTOCK_DEMO_DATA": "false",
        "SECRET_KEY": "gunicorn-test",
        "LOG_DB_ENABLED": "false",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    store = prepare_store(load_settings(env, env_file=None))
    auth.create_user(store, "scraper", "Quartz-Meadow-Lantern-7", auth.USER)
    _id, token = auth.issue_token(store, "scraper", "prometheus")
    store.dispose()
    log_path = tmp_path / "gunicorn.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dashapp.cli",
            "serve",
            "--workers",
            "2",
            "--port",
            str(port),
        ],
        cwd=tmp_path,
        env=env,
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
    )
    lock_path = tmp_path / "ingest.leader.lock"
    try:
        roles: set[str] = set()

        def both_workers_up() -> bool:
            try:
                status, body = _get(port, "/ready")
            except OSError:
                return False
            if status == 200 and b"ingest_leader" in body:
                roles.add("leader" if b'"leader (' in body else "follower")
            return roles == {"leader", "follower"}

        assert _wait(both_workers_up, START_TIMEOUT_S), log_path.read_text()[-3000:]
        assert _wait(lambda: sim.connection_count() == 1, 15), log_path.read_text()[
            -3000:
        ]
        samples = []
        for _ in range(30):
            samples.append(sim.connection_count())
            time.sleep(0.05)
        assert max(samples) == 1  # one ingester among the workers
        for _ in range(READY_REQUESTS):
            assert _get(port, "/health")[0] == 200
        status, body = _get(port, "/metrics", {"Authorization": f"Bearer {token}"})
        assert status == 200
        line = next(
            ln
            for ln in body.decode().splitlines()
            if ln.startswith("tickstock_http_requests_total")
            and 'route="/health"' in ln
        )
        assert float(line.rsplit(" ", 1)[1]) == READY_REQUESTS  # summed over workers

        first = _leader_pid(lock_path)
        assert first is not None
        os.kill(first, signal.SIGKILL)
        assert _wait(
            lambda: (
                (_leader_pid(lock_path) or first) != first
                and sim.connection_count() == 1
            ),
            15,
        ), log_path.read_text()[-3000:]
        assert _get(port, "/health")[0] == 200
    finally:
        proc.terminate()
        try:
            code = proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = None
        sim.stop()
    assert code == 0, log_path.read_text()[-3000:]

"""Two real app processes share one Redis and one database: exactly one ingests
from the Massive simulator; kill it (SIGKILL) and the other takes over within
2x the lock TTL, backfills the gap, and the stored bars equal the simulator's
ground truth: none lost, none doubled.

Run as a module (`python -m tests.test_leader_e2e`) it is one app process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import orjson
import pandas as pd
import pytest
import redis

from tests.conftest import TEST_DATABASE_URL, free_port, pg_url
from tests.redis_server import isolated_redis_url  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
SYMBOLS = ["AAA", "BBB", "CCC"]
TTL_S = 2.0
START_TIMEOUT_S = 40.0
FIRST_MINUTES, GAP_MINUTES, LAST_MINUTES = 5, 3, 4
COLUMNS = ["symbol", "ts", "open", "high", "low", "close", "volume"]
START_FLAG_ENV = "TICKSTOCK_E2E_START_FLAG"


# ------------------------------------------------------------- child process
def child_main() -> None:
    """Serve one app (ingest on, leader-gated) until SIGTERM; shorten ingest waits."""
    from werkzeug.serving import make_server

    import ingest.service as service
    from dashapp.factory import create_app
    from dashapp.ops.logs import configure_logging
    from dashapp.settings import load_settings

    original = service.start_service
    fast = service.IngestOptions(
        gap_wait_s=0.2,
        backoff_first_s=0.1,
        backoff_cap_s=1.0,
        stable_after_s=1.0,
        backfill_backoff_first_s=0.1,
    )

    def start_fast(settings, store, **kwargs):
        kwargs.setdefault("options", fast)
        return original(settings, store, **kwargs)

    service.start_service = start_fast
    start_flag = os.environ.get(START_FLAG_ENV)
    while start_flag and not Path(start_flag).exists():  # imports done, now wait
        time.sleep(0.05)
    settings = load_settings(env_file=None)
    configure_logging(settings)
    app = create_app(settings)
    server = make_server(settings.host, settings.port, app.server, threaded=True)
    signal.signal(
        signal.SIGTERM,
        lambda *_: threading.Thread(target=server.shutdown, daemon=True).start(),
    )
    server.serve_forever()
    app.server.extensions["tickstock_leader"].stop()  # flush ingest, release lock


# ------------------------------------------------------------------ helpers
class AppProcess:
    """One `python -m tests.test_leader_e2e` child with its own port and logs."""

    def __init__(self, name: str, env: dict[str, str], tmp_path: Path) -> None:
        self.name = name
        self.port = free_port()
        data = tmp_path / name
        data.mkdir()
        self.log_path = data / "out.log"
        env = {
            **os.environ,
            **env,
            "PORT": str(self.port),
            "TICKSTOCK_DATA_DIR": str(data),
            "TICKSTOCK_INSTANCE_ID": name,
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.test_leader_e2e"],
            cwd=ROOT,
            env=env,
            stdout=self.log_path.open("wb"),
            stderr=subprocess.STDOUT,
        )

    def get(self, path: str) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}") as resp:
            return orjson.loads(resp.read())

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                self.get("/health")
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"{self.name} did not start:\n{self.log()}")

    def role(self) -> str:
        detail = self.get("/ready")["checks"]["ingest_leader"]["detail"]
        return detail.split(" ", 1)[0]

    def streaming(self) -> bool:
        """Tell whether this process's ingest is subscribed and streaming."""
        check = self.get("/ready")["checks"].get("ingest", {})
        return check.get("status") == "ok" and "streaming" in check.get("detail", "")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture
def redis_url(isolated_redis_url):  # noqa: F811
    """Use Redis database 14 here: database 15 is flushed by neighbouring tests."""
    return isolated_redis_url


def _wait(predicate, timeout: float, step: float = 0.02) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(step)
    return None


class ConnectionSampler(threading.Thread):
    """Sample the simulator's connection count; remember the maximum."""

    def __init__(self, sim) -> None:
        super().__init__(daemon=True)
        self.sim = sim
        self.max_seen = 0
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.max_seen = max(self.max_seen, self.sim.connection_count())
            time.sleep(0.005)


def _stored(store) -> pd.DataFrame:
    frame = store.read_minute(SYMBOLS)[COLUMNS]
    return frame.sort_values(["symbol", "ts"], ignore_index=True)


# -------------------------------------------------------------------- test
@pytest.mark.slow
def test_le10_two_processes_one_ingester_takeover_no_bar_lost_or_doubled(
    tmp_path, redis_url
):
    from dashapp.store import Store
    from dashapp.store.reference import load_reference
    from ingest.simulator import Simulator

    sim = Simulator(SYMBOLS, seed=7, speed="fast")
    sim.start()
    db_url = pg_url() if TEST_DATABASE_URL else f"sqlite:///{tmp_path / 'shared.db'}"
    store = Store(db_url)
    if TEST_DATABASE_URL:
        store.drop_all()
    store.init_schema()
    load_reference(store)
    prefix = f"test:{uuid.uuid4().hex[:8]}:"
    env = {
        "DATABASE_URL": db_url,
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": prefix,
        "REDIS_ERROR_CHANNEL": f"{prefix}errors",
        "REDIS_MONITORING_CHANNEL": f"{prefix}monitoring",
        "INGEST_ENABLED": "true",
        "INGEST_UNIVERSE": ",".join(SYMBOLS),
        "INGEST_SECONDS": "false",
        "INGEST_LEADER_TTL_SECONDS": str(TTL_S),
        "MASSIVE_API_KEY": "test-key",
        "MASSIVE_WS_URL": sim.ws_url,
        "MASSIVE_REST_URL": sim.rest_url,
        "TICKSTOCK_DEMO_DATA": "false",
        "SECRET_KEY": "e2e",
        "LOG_DB_ENABLED": "false",
    }
    sampler = ConnectionSampler(sim)
    procs = {}
    try:
        # Both import at once (slow); b builds its app only after a is up, so
        # the two never initialise the database at the same moment.
        flag = tmp_path / "a-ready"
        procs["a"] = AppProcess("a", env, tmp_path)
        procs["b"] = AppProcess("b", {**env, START_FLAG_ENV: str(flag)}, tmp_path)
        procs["a"].wait_ready()
        flag.touch()
        procs["b"].wait_ready()
        assert _wait(lambda: sim.connection_count() == 1, 15), procs["a"].log()
        sampler.start()
        roles = {n: p.role() for n, p in procs.items()}
        assert sorted(roles.values()) == ["follower", "leader"], roles
        leader = next(n for n, r in roles.items() if r == "leader")
        survivor = "b" if leader == "a" else "a"
        key = f"{prefix}ingest:leader"
        lock = redis.Redis.from_url(redis_url)
        assert lock.get(key).decode().startswith(f"{leader}:")
        assert _wait(procs[leader].streaming, 10), procs[leader].log()

        sim.advance(FIRST_MINUTES)
        stored_first = FIRST_MINUTES * len(SYMBOLS)
        assert _wait(lambda: len(_stored(store)) == stored_first, 10, step=0.05)
        sim.advance(1)
        procs[leader].proc.kill()  # mid-stream: the last minute may not be stored
        killed = time.monotonic()
        procs[leader].proc.wait(5)
        sim.advance(GAP_MINUTES)  # nobody is listening: only a backfill finds these
        took = _wait(
            lambda: (lock.get(key) or b"").decode().startswith(f"{survivor}:"),
            3 * TTL_S,
        )
        assert took is not None, procs[survivor].log()
        assert time.monotonic() - killed < 2 * TTL_S
        assert _wait(lambda: sim.connection_count() == 1, 10), procs[survivor].log()
        assert procs[survivor].role() == "leader"
        assert _wait(procs[survivor].streaming, 10), procs[survivor].log()
        sim.advance(LAST_MINUTES)

        truth = sim.ground_truth(symbols=SYMBOLS)[COLUMNS]
        truth = truth.sort_values(["symbol", "ts"], ignore_index=True)
        minutes = FIRST_MINUTES + 1 + GAP_MINUTES + LAST_MINUTES
        expected_rows = minutes * len(SYMBOLS)
        assert len(truth) == expected_rows
        got = _wait(lambda: len(_stored(store)) >= expected_rows, 20, step=0.1)
        assert got is not None, (
            len(_stored(store)),
            procs[survivor].get("/ready"),
            procs[survivor].log(),
        )
        procs[survivor].stop()  # graceful: flushes and releases the lock
        assert lock.get(key) is None
    finally:
        sampler.stop_event.set()
        for proc in procs.values():
            proc.stop()
        sim.stop()
    stored = _stored(store)
    store.dispose()
    assert sampler.max_seen == 1  # never two ingesters connected at once
    assert not stored.duplicated(["symbol", "ts"]).any()
    pd.testing.assert_frame_equal(
        stored.reset_index(drop=True),
        truth.reset_index(drop=True),
        check_dtype=False,
        check_exact=False,
        rtol=1e-9,
    )


if __name__ == "__main__":
    child_main()

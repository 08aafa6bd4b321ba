"""One ingester, always: `tickstock ingest` obeys the leader lock, and SIGTERM of
`tickstock serve` flushes the open bars and hands the key over at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import orjson
import pandas as pd
import pytest
import redis

from tests.conftest import free_port
from tests.redis_server import isolated_redis_url  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
SYMBOLS = ["AAA", "BBB"]
LIQUID = ["SPY", "QQQ", "IWM", "DIA", "XLK", "XLF", "XLE", "XLV"]
TTL_S = 18.0  # the default: a takeover must not wait for it to expire
TAKEOVER_S = 2.0
EXIT_S = 10.0
START_TIMEOUT_S = 45.0
FOLLOWER_WATCH_S = 2.0
# Seconds into the watched minute before SIGTERM: the simulator's trades are
# random, and out of hours at 10 s only 3 of the 8 liquid names had traded once
# (CI, a Saturday 14:30 ET); at 40 s nearly all have.
OPEN_DATA_S = 40.0


@pytest.fixture
def redis_url(isolated_redis_url):  # noqa: F811
    """Use the isolated Redis database (no neighbour flushes it mid-test)."""
    return isolated_redis_url


def _wait(predicate, timeout: float, step: float = 0.05) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(step)
    return None


def _base_env(tmp_path: Path, redis_url: str, prefix: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'shared.db'}",
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": prefix,
        "REDIS_ERROR_CHANNEL": f"{prefix}errors",
        "REDIS_MONITORING_CHANNEL": f"{prefix}monitoring",
        "INGEST_ENABLED": "true",
        "INGEST_LEADER_TTL_SECONDS": str(TTL_S),
        "TICKSTOCK_DEMO_DATA": "false",
        "SECRET_KEY": "leader-shutdown",
        "LOG_DB_ENABLED": "false",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


def _prepare_db(env: dict[str, str]) -> None:
    from dashapp.factory import prepare_store
    from dashapp.settings import load_settings

    prepare_store(load_settings(env, env_file=None)).dispose()


def _spawn(args: list[str], env: dict, name: str, tmp_path: Path):
    data = tmp_path / name
    data.mkdir()
    log_path = data / "out.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "dashapp.cli", *args],
        cwd=ROOT,
        env={**env, "TICKSTOCK_DATA_DIR": str(data), "TICKSTOCK_INSTANCE_ID": name},
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
    )
    return proc, log_path


def _stop(proc) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)


def _rows(db: Path, symbols: list[str]) -> pd.DataFrame:
    from dashapp.store import Store

    store = Store(f"sqlite:///{db}")
    try:
        return store.read_minute(symbols)
    finally:
        store.dispose()


def _holder(client: redis.Redis, key: str) -> str:
    return (client.get(key) or b"").decode()


@pytest.mark.slow
def test_ls01_ingest_is_a_follower_while_another_leads_then_takes_over(
    tmp_path, redis_url
):
    from ingest.simulator import Simulator

    sim = Simulator(SYMBOLS, seed=11, speed="fast")
    sim.start()
    prefix = f"test:{uuid.uuid4().hex[:8]}:"
    key = f"{prefix}ingest:leader"
    env = {
        **_base_env(tmp_path, redis_url, prefix),
        "INGEST_UNIVERSE": ",".join(SYMBOLS),
        "INGEST_SECONDS": "false",
        "MASSIVE_API_KEY": "test-key",
        "MASSIVE_WS_URL": sim.ws_url,
        "MASSIVE_REST_URL": sim.rest_url,
    }
    _prepare_db(env)
    client = redis.Redis.from_url(redis_url)
    client.set(key, "other-instance:1", px=int(TTL_S * 1000))
    proc, log_path = _spawn(["ingest", "--status-every", "0"], env, "ing", tmp_path)
    try:
        said = _wait(lambda: b"follower: other-instance:1" in log_path.read_bytes(), 40)
        assert said is not None, log_path.read_text()[-3000:]
        sim.advance(2)  # bars are on offer, but a follower must not take them
        time.sleep(FOLLOWER_WATCH_S)
        assert sim.connection_count() == 0
        assert _rows(tmp_path / "shared.db", SYMBOLS).empty
        assert _holder(client, key) == "other-instance:1"

        client.delete(key)  # the other leader goes away gracefully
        took = _wait(lambda: _holder(client, key).startswith("ing:"), 5)
        assert took is not None and took < TAKEOVER_S, log_path.read_text()[-3000:]
        assert sim.wait_for_subscribers(timeout=10), log_path.read_text()[-3000:]
        sim.advance(3)
        expected = 3 * len(SYMBOLS)
        got = _wait(lambda: len(_rows(tmp_path / "shared.db", SYMBOLS)) >= expected, 15)
        assert got is not None, log_path.read_text()[-3000:]
        assert b"leader: ingesting" in log_path.read_bytes()

        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(EXIT_S) == 0, log_path.read_text()[-3000:]
        assert time.monotonic() - sent < EXIT_S
        assert client.get(key) is None  # released, not left to expire
    finally:
        _stop(proc)
        sim.stop()


def _ready(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=5) as r:
            return orjson.loads(r.read())
    except urllib.error.HTTPError as exc:
        return orjson.loads(exc.read())
    except OSError:
        return None


def _streaming(port: int) -> bool:
    body = _ready(port) or {}
    check = body.get("checks", {}).get("ingest", {})
    return check.get("status") == "ok" and "streaming" in check.get("detail", "")


@pytest.mark.slow
def test_ls02_sigterm_of_serve_flushes_open_bars_and_hands_over_at_once(
    tmp_path, redis_url
):
    prefix = f"test:{uuid.uuid4().hex[:8]}:"
    key = f"{prefix}ingest:leader"
    env = {
        **_base_env(tmp_path, redis_url, prefix),
        "INGEST_SECONDS": "true",  # the built-in simulator: per-second bars
        "MASSIVE_API_KEY": "",
    }
    _prepare_db(env)
    client = redis.Redis.from_url(redis_url)
    port_a, port_b = free_port(), free_port()
    # b ingests other symbols, so rows of a's symbols can only come from a.
    a, log_a = _spawn(
        ["serve", "--port", str(port_a)],
        {**env, "INGEST_UNIVERSE": ",".join(LIQUID)},
        "a",
        tmp_path,
    )
    b = None
    try:
        assert _wait(lambda: _holder(client, key).startswith("a:"), START_TIMEOUT_S), (
            log_a.read_text()[-3000:]
        )
        b, log_b = _spawn(
            ["serve", "--port", str(port_b)],
            {**env, "INGEST_UNIVERSE": "CCC"},
            "b",
            tmp_path,
        )
        assert _wait(lambda: _ready(port_b) is not None, START_TIMEOUT_S), (
            log_b.read_text()[-3000:]
        )
        assert _wait(lambda: _streaming(port_a), 20), log_a.read_text()[-3000:]
        # Signal OPEN_DATA_S into the first minute watched from its start
        # (a minute joined halfway is never stored as a roll-up).
        first = int(time.time()) // 60
        assert _wait(
            lambda: int(time.time()) // 60 > first and time.time() % 60 >= OPEN_DATA_S,
            60 + OPEN_DATA_S + 10,
            step=0.2,
        )
        minute = pd.Timestamp(int(time.time()) // 60 * 60, unit="s", tz="UTC")
        a.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        assert a.wait(EXIT_S) == 0, log_a.read_text()[-3000:]
        exited = time.monotonic() - sent
        released = _wait(lambda: not _holder(client, key).startswith("a:"), 1)
        assert released is not None  # a deleted its key before exiting
        took = _wait(lambda: _holder(client, key).startswith("b:"), 5)
        assert took is not None and took < TAKEOVER_S, log_b.read_text()[-3000:]
        assert exited < EXIT_S
        rows = _rows(tmp_path / "shared.db", LIQUID)
        open_rows = rows[rows["ts"] == minute]
        # Not every name trades in a few seconds; the ones that did are stored.
        assert len(open_rows) >= len(LIQUID) // 2, (rows, log_a.read_text()[-3000:])
        assert (open_rows["volume"] > 0).all()
        assert b"live ingest stopped (flushed)" in log_a.read_bytes()
    finally:
        _stop(a)
        if b is not None:
            _stop(b)

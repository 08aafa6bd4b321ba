"""Live ingest end to end: simulator -> stream client -> writer -> ohlcv_1min.

Runs the project's Massive simulator in fast mode (minutes emitted as fast as
the client reads them) and compares the stored bars with its ground truth,
bar for bar, through disconnects, database outages, bad frames and bad keys.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import event

from dashapp.settings import load_settings
from dashapp.store import Store, make_engine
from ingest.service import IngestOptions, IngestService
from ingest.simulator import MALFORMED_KINDS, Simulator
from tests.conftest import STORE_KINDS, TEST_DATABASE_URL, make_store, pg_url
from tests.sim_start import past_open

ROOT = Path(__file__).resolve().parents[1]
SYMBOLS = 12
FAST = IngestOptions(
    grace_ms=2_000,
    backoff_first_s=0.02,
    backoff_cap_s=0.2,
    stable_after_s=30.0,
    gap_wait_s=3.0,
    handshake_timeout_s=3.0,
    publish_every_s=0.05,
    backfill_backoff_first_s=0.02,
)
BAR_COLUMNS = ["open", "high", "low", "close", "volume", "vwap"]


def wait_for(predicate, timeout=10.0, step=0.01):
    """Poll until predicate() is true; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(step)


def settings_for(tmp_path, **env):
    base = {"TICKSTOCK_DATA_DIR": str(tmp_path), "INGEST_SECONDS": "true"}
    base.update(env)
    return load_settings(base, env_file=None)


@pytest.fixture
def sim():
    s = Simulator(SYMBOLS, seed=7, speed="fast", start=past_open())
    s.start()
    yield s
    s.stop()


def start_ingest(sim, store, tmp_path, key="test-key", options=FAST, **env):
    service = IngestService(
        settings_for(tmp_path, **env),
        store,
        options=options,
        symbols=list(sim.symbols),
        ws_url=sim.ws_url,
        rest_url=sim.rest_url,
        api_key=key,
    ).start()
    return service


def settle(service, sim, timeout=20.0):
    """Wait until every frame was read, backfills ran and the writer is idle."""
    sim.drain()

    def quiet():
        bf = service.backfiller
        return (
            bf.running is None
            and bf.pending() == 0
            and service.writer.wait_idle(0.05)
            and service.client._gap_from is None
        )

    assert wait_for(quiet, timeout), service.health()
    time.sleep(0.1)
    assert wait_for(quiet, timeout), service.health()


def assert_matches_truth(store, sim):
    """Stored bars equal the simulator's ground truth, bar for bar."""
    truth = sim.ground_truth()
    stored = store.read_minute()
    assert len(truth) > 0
    assert not stored.duplicated(["symbol", "ts"]).any()
    merged = truth.merge(
        stored, on=["symbol", "ts"], how="outer", suffixes=("_t", "_s"), indicator=True
    )
    missing = merged[merged["_merge"] != "both"]
    assert missing.empty, f"missing/extra bars:\n{missing[['symbol', 'ts', '_merge']]}"
    for col in BAR_COLUMNS:
        diff = merged[merged[f"{col}_t"].astype(float) != merged[f"{col}_s"]]
        assert diff.empty, f"{col} differs:\n{diff[['symbol', 'ts', f'{col}_t']]}"
    # The socket feed carries no trade count; REST backfills do (and must agree).
    known = merged["trades_s"].notna()
    assert (merged.loc[known, "trades_s"] == merged.loc[known, "trades_t"]).all()
    return merged


# --------------------------------------------------------------- end to end
@pytest.mark.parametrize("kind", STORE_KINDS)
def test_stream_to_database_equals_ground_truth(kind, sim, tmp_path):
    store = make_store(kind, tmp_path)
    service = start_ingest(sim, store, tmp_path)
    try:
        assert service.wait_streaming(10)
        assert sim.wait_for_subscribers(1, "A")
        sim.advance(6)
        settle(service, sim)
        corrected = sim.send_corrections(4)
        assert len(corrected) == 4
        sim.advance(2)
        settle(service, sim)
        merged = assert_matches_truth(store, sim)
        assert len(merged) == 8 * SYMBOLS
        health = service.health()
        assert health["connected"] and health["reconnects"] == 0
        assert health["events"]["events_A"] > 0 and health["events"]["malformed"] == 0
        assert health["write_p99_ms"] is not None and health["queue_rows"] == 0
        assert health["last_bar_age_s"] is not None
        # Live bars: the last finished minute of every symbol, readable as minutes.
        live = service.livebars.snapshot()
        assert len(live) == SYMBOLS
        assert live["ts"].max() == sim.ground_truth()["ts"].max()
        assert service.ready_check()[0] == "ok"
    finally:
        assert service.stop()
        store.dispose()


def test_twenty_forced_disconnects_lose_and_double_nothing(sim, tmp_path):
    store = make_store("sqlite", tmp_path)
    service = start_ingest(sim, store, tmp_path)
    try:
        assert service.wait_streaming(10)
        assert sim.wait_for_subscribers(1, "AM")  # no minute before it
        sim.advance(1)
        for i in range(20):
            connects = service.client.stats["connects"]
            sim.drain()
            dropped = sim.drop_connections(None if i % 2 == 0 else 1008, "test")
            assert dropped == 1
            if i % 3 == 0:
                sim.advance(1)  # emitted while nobody listens: only REST has it
            assert wait_for(
                lambda c=connects: (
                    service.client.stats["connects"] > c
                    and service.client.state == "streaming"
                ),
                10,
            ), service.health()
            assert sim.wait_for_subscribers(1, "AM")
            sim.advance(1)
        sim.advance(1)
        settle(service, sim, timeout=30)
        assert_matches_truth(store, sim)
        health = service.health()
        assert health["reconnects"] == 20
        assert health["stream"]["disconnects"] == 20
        assert health["backfill"]["rows"] >= 7 * SYMBOLS  # the unheard minutes
        assert health["backfill"]["failed_symbols"] == 0
        assert sim.stats()["rest_requests"] >= 20 * SYMBOLS
    finally:
        service.stop()
        store.dispose()


@pytest.mark.parametrize("code", [1000, 1001])
def test_clean_close_by_the_server_is_a_drop_too(code, sim, tmp_path):
    store = make_store("sqlite", tmp_path)
    service = start_ingest(sim, store, tmp_path)
    try:
        assert service.wait_streaming(10)
        assert sim.wait_for_subscribers(1, "AM")  # no minute before it
        sim.advance(1)
        sim.drain()
        sim.drop_connections(code, "going away")
        sim.advance(1)  # unheard
        assert wait_for(lambda: service.client.stats["reconnects"] == 1, 10)
        assert service.client.last_close_code == code
        assert sim.wait_for_subscribers(1, "AM")
        sim.advance(1)
        settle(service, sim)
        assert_matches_truth(store, sim)
        assert service.health()["backfill"]["rows"] >= SYMBOLS
    finally:
        service.stop()
        store.dispose()


def test_whole_market_subscription_backfills_symbols_it_has_seen(sim, tmp_path):
    store = make_store("sqlite", tmp_path)
    service = IngestService(
        settings_for(tmp_path, INGEST_SECONDS="auto"),
        store,
        options=FAST,
        symbols=None,
        ws_url=sim.ws_url,
        rest_url=sim.rest_url,
        api_key="k",
    ).start()
    try:
        assert service.wait_streaming(10)
        assert service.client.config.channels() == ["AM.*"]  # auto: no A for `*`
        assert sim.wait_for_subscribers(1, "AM")
        sim.advance(2)
        sim.drain()
        sim.drop_connections(1008)
        sim.advance(2)  # unheard
        assert wait_for(lambda: service.client.stats["reconnects"] == 1, 10)
        assert sim.wait_for_subscribers(1, "AM")
        sim.advance(1)
        settle(service, sim)
        assert_matches_truth(store, sim)
        assert service.health()["symbols"] == "*"
    finally:
        service.stop()
        store.dispose()


def test_backfill_backs_off_on_rate_limits(sim, tmp_path):
    store = make_store("sqlite", tmp_path)
    service = start_ingest(sim, store, tmp_path)
    try:
        assert service.wait_streaming(10)
        assert sim.wait_for_subscribers(1, "AM")  # no minute before it
        sim.advance(2)
        sim.drain()
        sim.drop_connections(None)
        sim.advance(2)  # unheard
        sim.fail_rest(6, status=429)
        assert wait_for(lambda: service.client.state == "streaming", 10)
        assert sim.wait_for_subscribers(1, "AM")
        sim.advance(1)
        settle(service, sim)
        assert_matches_truth(store, sim)
        backfill = service.health()["backfill"]
        assert backfill["rate_limited"] == 6 and backfill["failed_symbols"] == 0
        assert [s for _p, s in sim.rest_log].count(429) == 6
    finally:
        service.stop()
        store.dispose()


def test_backfill_follows_next_url_pages(sim):
    from ingest.backfill import GapBackfiller

    sim.advance(7)
    truth = sim.ground_truth()
    symbol = truth["symbol"].iloc[0]
    mine = truth[truth["symbol"] == symbol]
    start = int(mine["ts"].min().value // 1_000_000)
    end = int(mine["ts"].max().value // 1_000_000)
    got = []
    filler = GapBackfiller("k", sim.rest_url, got.extend, page_limit=2)
    rows = filler.fetch(symbol, start, end)
    assert [r[1] for r in rows] == [int(t.value // 1_000_000) for t in mine["ts"]]
    assert [r[5] for r in rows] == mine["close"].tolist()
    assert [r[8] for r in rows] == mine["trades"].tolist()
    pages = [p for p, _s in sim.rest_log if symbol in p]
    assert len(pages) == 4  # 7 bars, 2 per page: the client followed next_url


# ----------------------------------------------------------- database outage
class TcpProxy:
    """A loopback TCP proxy that can be 'switched off' like a stopped server."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> TcpProxy:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(64)
        self.port = sock.getsockname()[1]
        self._listener = sock
        threading.Thread(target=self._accept, args=(sock,), daemon=True).start()
        return self

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self) -> None:
        """Refuse new connections and cut every open one (the server 'dies')."""
        if self._listener is not None:
            try:  # wakes the thread blocked in accept(); close() alone does not
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        with self._lock:
            conns, self._conns = self._conns, []
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


def _through_proxy(url: str, port: int) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{port}"
    netloc = f"{netloc[0]}@{host}" if len(netloc) == 2 else host
    return urlunsplit(parts._replace(netloc=netloc))


def _outage_run(sim, store, tmp_path, down, up):
    service = start_ingest(sim, store, tmp_path)
    try:
        assert service.wait_streaming(10)
        assert sim.wait_for_subscribers(1, "AM")  # no minute before it
        sim.advance(2)
        settle(service, sim)
        down()
        sim.advance(3)
        sim.drain()
        assert wait_for(lambda: service.writer.stats["spilled_rows"] > 0, 10)
        assert service.ready_check()[0] == "degraded"
        sim.advance(2)  # still down: the socket keeps reading, bars go to disk
        sim.drain()
        time.sleep(0.3)
        up()
        settle(service, sim, timeout=40)
        assert_matches_truth(store, sim)
        writer = service.health()["writer"]
        assert writer["replayed_rows"] >= writer["spilled_rows"] > 0
        assert writer["spill_pending_rows"] == 0 and writer["db_ok"]
        assert service.health()["reconnects"] == 0  # the feed never noticed
    finally:
        service.stop()


@pytest.mark.postgres
@pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL not set")
def test_postgres_stopped_mid_run_then_restarted_loses_nothing(sim, tmp_path):
    make_store("postgres", tmp_path).dispose()  # fresh tables in our schema
    url = pg_url()
    target = urlsplit(url)
    proxy = TcpProxy((target.hostname, target.port or 5432)).start()
    store = Store(_through_proxy(url, proxy.port))
    try:
        _outage_run(sim, store, tmp_path, proxy.stop, proxy.start)
    finally:
        proxy.stop()
        store.dispose()


def test_sqlite_locked_mid_run_then_released_loses_nothing(sim, tmp_path):
    path = tmp_path / "locked.db"
    engine = make_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _short_busy(dbapi_conn, _record):
        dbapi_conn.execute("PRAGMA busy_timeout=50")

    store = Store(f"sqlite:///{path}", engine=engine)
    store.init_schema()
    blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        _outage_run(
            sim,
            store,
            tmp_path,
            lambda: blocker.execute("BEGIN EXCLUSIVE"),
            lambda: blocker.execute("ROLLBACK"),
        )
    finally:
        blocker.close()
        store.dispose()


# ------------------------------------------------------ bad frames, bad keys
def test_malformed_frames_are_counted_and_skipped(sim, tmp_path):
    store = make_store("sqlite", tmp_path)
    service = start_ingest(sim, store, tmp_path)
    try:
        assert service.wait_streaming(10)
        assert sim.wait_for_subscribers(1, "AM")  # no minute before it
        sim.advance(1)
        for kind in MALFORMED_KINDS:
            if kind != "oversized":
                assert sim.send_malformed(kind) == 1
        sim.advance(2)
        settle(service, sim)
        assert_matches_truth(store, sim)
        events = service.health()["events"]
        assert events["bad_frames"] == 3  # not JSON, truncated, a bare object
        assert events["malformed"] == 2  # missing fields, wrong types
        assert events["unknown"] == 1 and service.health()["unknown_kinds"] == {"ZZ": 1}
        assert service.health()["reconnects"] == 0
    finally:
        service.stop()
        store.dispose()


def test_oversized_frame_drops_the_connection_and_the_gap_is_backfilled(sim, tmp_path):
    store = make_store("sqlite", tmp_path)
    options = IngestOptions(**{**FAST.__dict__, "max_frame_bytes": 256 * 1024})
    service = start_ingest(sim, store, tmp_path, options=options)
    try:
        assert service.wait_streaming(10)
        assert sim.wait_for_subscribers(1, "AM")  # no minute before it
        sim.advance(1)
        sim.send_malformed("oversized", oversized_bytes=300 * 1024)
        assert wait_for(lambda: service.health()["stream"]["oversized_frames"] == 1, 10)
        sim.advance(1)  # possibly unheard while reconnecting
        assert wait_for(lambda: service.client.state == "streaming", 10)
        assert sim.wait_for_subscribers(1, "AM")
        sim.advance(2)
        settle(service, sim)
        assert_matches_truth(store, sim)
        assert service.health()["reconnects"] == 1
    finally:
        service.stop()
        store.dispose()


def test_auth_failed_stops_cleanly_without_retrying(sim, tmp_path):
    sim.set_api_keys({"the-right-key"})
    store = make_store("sqlite", tmp_path)
    service = start_ingest(sim, store, tmp_path, key="a-wrong-key")
    try:
        assert wait_for(lambda: service.client.state == "auth_failed", 10)
        time.sleep(0.5)  # a retry storm would show up here
        assert sim.stats()["auth_failed"] == 1
        assert service.health()["stream"]["connects"] == 0
        status, detail = service.ready_check()
        assert status == "fail" and "MASSIVE_API_KEY" in detail
        assert not service._thread.is_alive()
    finally:
        assert service.stop()
        store.dispose()


def test_auth_timeout_and_max_connections_are_retried(tmp_path):
    sim = Simulator(
        3, seed=1, speed="fast", start=past_open(), max_connections=0, auth_timeout=0.0
    )
    sim.start()
    store = make_store("sqlite", tmp_path)
    service = start_ingest(sim, store, tmp_path)
    try:
        assert wait_for(lambda: service.client.stats["handshake_failures"] >= 3, 10)
        # The server may close before our auth frame is even sent: either way.
        assert "timeout" in service.client.last_error
        sim.auth_timeout = 10.0
        failures = service.client.stats["handshake_failures"]
        assert wait_for(
            lambda: service.client.stats["handshake_failures"] >= failures + 3, 10
        )
        assert "max_connections" in service.client.last_error
        assert not service.client.auth_failed
        assert service.ready_check()[0] == "degraded"
        sim.max_connections = None
        assert service.wait_streaming(10)
        assert sim.wait_for_subscribers(1, "AM")  # no minute before it
        sim.advance(1)
        settle(service, sim)
        assert_matches_truth(store, sim)
    finally:
        service.stop()
        sim.stop()
        store.dispose()


# ------------------------------------------------------------ wiring, shutdown
def test_zero_config_starts_the_simulator_from_stored_closes(tmp_path):
    store = make_store("sqlite", tmp_path)
    # Demo history that ends long ago: the simulator starts from it all the same.
    day = pd.Timestamp.now().normalize() - pd.Timedelta(days=400)
    store.upsert_daily_bars(
        pd.DataFrame(
            {
                "symbol": ["AAPL", "MSFT"],
                "date": [day, day],
                "open": [1.0, 1.0],
                "high": [1.0, 1.0],
                "low": [1.0, 1.0],
                "close": [123.45, 400.0],
                "volume": [1e6, 1e6],
            }  # fmt: skip
        ),
        source="demo",
    )
    settings = settings_for(tmp_path, INGEST_UNIVERSE="AAPL,MSFT")
    assert settings.massive_api_key is None
    options = IngestOptions(**{**FAST.__dict__, "simulator": {"speed": 600.0}})
    service = IngestService(settings, store, options=options).start()
    try:
        assert service.source == "simulator" and service.wait_streaming(10)
        assert wait_for(lambda: len(store.read_minute()) >= 4, 20)
        bars = store.read_minute().sort_values("ts")
        first = bars.groupby("symbol")["open"].first()
        assert abs(first["AAPL"] / 123.45 - 1) < 0.05
        assert abs(first["MSFT"] / 400.0 - 1) < 0.05
        assert service.health()["seconds"] is True  # 2 symbols: A on by default
    finally:
        assert service.stop()
        store.dispose()


def test_app_wires_ingest_live_bars_and_readiness(tmp_path):
    from dashapp.factory import create_app

    settings = load_settings(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
            "TICKSTOCK_DATA_DIR": str(tmp_path),
            "TICKSTOCK_DEMO_DATA": "false",
            "SECRET_KEY": "test",
            "INGEST_UNIVERSE": "AAPL,MSFT",
        },
        env_file=None,
    )
    app = create_app(settings, ingest=True)
    ext = app.server.extensions
    try:
        assert wait_for(lambda: ext.get("tickstock_ingest") is not None, 10)
        service = ext["tickstock_ingest"]
        assert ext["tickstock_livebars"] is service.livebars
        assert service.wait_streaming(10)
        body = app.server.test_client().get("/ready").get_json()
        assert body["checks"]["ingest"]["status"] == "ok", body
        status = service.status()
        assert status["connected"] and status["source"] == "simulator"
    finally:
        service = ext.get("tickstock_ingest")
        if service is not None:
            assert service.stop()


def test_sigterm_flushes_and_exits_within_ten_seconds(tmp_path):
    env = {
        **os.environ,
        "TICKSTOCK_DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "TICKSTOCK_DEMO_DATA": "false",
        "MASSIVE_API_KEY": "",
        "INGEST_UNIVERSE": "AAPL,MSFT,NVDA",
        "PYTHONUNBUFFERED": "1",
    }
    cmd = [sys.executable, "-m", "dashapp.cli", "ingest", "--status-every", "0"]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    lines: list[str] = []
    reader = threading.Thread(
        target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True
    )
    reader.start()
    try:
        assert wait_for(lambda: any("streaming" in ln for ln in lines), 30), lines
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=10)
        assert time.monotonic() - sent < 10
        assert code == 0, lines
        reader.join(2)
        assert any("stopped (flushed)" in ln for ln in lines), lines
    finally:
        if proc.poll() is None:
            proc.kill()


def test_reader_never_waits_on_a_stuck_writer(sim, tmp_path):
    """With the writer blocked in the database, the socket keeps reading."""
    path = tmp_path / "stuck.db"
    engine = make_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _patient(dbapi_conn, _record):
        dbapi_conn.execute("PRAGMA busy_timeout=60000")  # the writer just waits

    store = Store(f"sqlite:///{path}", engine=engine)
    store.init_schema()
    options = IngestOptions(**{**FAST.__dict__, "max_queue_rows": 2 * SYMBOLS})
    blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    service = start_ingest(sim, store, tmp_path, options=options)
    try:
        assert service.wait_streaming(10)
        assert sim.wait_for_subscribers(1, "AM")  # no minute before it
        blocker.execute("BEGIN EXCLUSIVE")
        sim.advance(6)
        assert sim.drain(timeout=20)
        assert wait_for(
            lambda: service.health()["events"]["events_AM"] == 6 * SYMBOLS, 20
        )
        # Everything was read while the writer is still stuck in its first write.
        assert service.writer.stats["written_rows"] == 0
        assert service.writer.stats["overflow_rows"] > 0  # queue full: to disk
        blocker.execute("ROLLBACK")
        settle(service, sim, timeout=30)
        assert_matches_truth(store, sim)
    finally:
        blocker.close()
        service.stop()
        store.dispose()


def test_live_bar_is_built_from_seconds_before_the_minute_closes(sim, tmp_path):
    store = make_store("sqlite", tmp_path)
    service = start_ingest(sim, store, tmp_path)
    try:
        assert service.wait_streaming(10)
        assert sim.wait_for_subscribers(1, "A")
        sim.advance(2)
        settle(service, sim)
        truth = sim.ground_truth()
        last = truth[truth["ts"] == truth["ts"].max()].set_index("symbol")
        snap = service.livebars.snapshot().set_index("symbol")
        assert np.allclose(snap.loc[last.index, "close"], last["close"])
        # Every minute's A-built bar agreed with its AM bar before the AM came.
        asm = service.assembler
        for sym, st in asm.states.items():
            row = last.loc[sym]
            assert st.am and st.volume == row["volume"]
            assert (st.open, st.high, st.low, st.close) == (
                row["open"], row["high"], row["low"], row["close"]
            )  # fmt: skip
            assert abs(st.vwap() - row["vwap"]) <= 1e-4
    finally:
        service.stop()
        store.dispose()

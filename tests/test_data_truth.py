"""Data truth: demo/simulated bars never mix with real ones; as_of from the calendar."""

from __future__ import annotations

import argparse
import io
import json
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text

from dashapp.cli.export import cmd_export
from dashapp.factory import create_app
from dashapp.market import market_state
from dashapp.market.asof import fixed_clock
from dashapp.settings import load_settings
from ingest.history import DAILY, import_files
from ingest.service import IngestOptions, IngestService
from tests.auth_helpers import api_env, bearer

REAL = Path(__file__).parent / "data" / "sp500_slice_2018-2021_adj.csv.gz"
LAST_REAL = "2021-04-21"
SIM_SYMBOLS = "AAPL,MSFT"


def settings_for(tmp: Path, **extra: str):
    env = api_env(tmp, INGEST_UNIVERSE=SIM_SYMBOLS, INGEST_SECONDS="false", **extra)
    return load_settings(env, env_file=None)


def origin_counts(store) -> dict[tuple[str, str], int]:
    out = {}
    with store.engine.connect() as conn:
        for table in ("ohlcv_daily", "ohlcv_1min"):
            rows = conn.execute(
                text(f"SELECT source, count(*) FROM {table} GROUP BY source")
            ).fetchall()
            out.update({(table, r[0]): r[1] for r in rows})
    return out


FAST = IngestOptions(
    grace_ms=500,
    handshake_timeout_s=3.0,
    publish_every_s=0.05,
    simulator={"speed": 600.0},
)


def test_dt01_new_user_flow_demo_then_real_history(tmp_path):
    # 1. First start: demo history and the simulator.
    settings = settings_for(tmp_path, TICKSTOCK_DEMO_DATA="true")
    app = create_app(settings, ingest=False)
    store = app.server.extensions["tickstock_store"]
    service = IngestService(settings, store, options=FAST).start()
    try:
        assert service.source == "simulator" and service.wait_streaming(10)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not len(store.read_minute()):
            time.sleep(0.05)
    finally:
        assert service.stop()
    counts = origin_counts(store)
    assert counts.get(("ohlcv_daily", "demo"), 0) > 1000
    assert counts.get(("ohlcv_1min", "simulated"), 0) > 0
    assert market_state("sp500", store=store, cache=None, live=None).demo is True
    code, _out, err = run_export(settings, None)
    assert code == 0 and "DEMO DATA" in err and "(now)" in err

    # 2. Import real history that ended long ago: generated bars go away.
    result = import_files(store, [REAL], DAILY)
    assert result.committed and result.demo_replaced == sum(
        n for (_t, src), n in counts.items() if src in ("demo", "simulated")
    )
    assert set(origin_counts(store)) == {("ohlcv_daily", "imported")}

    # 3. Start again: no simulator over real data, so no simulated bars.
    again = IngestService(settings, store, options=FAST).start()
    try:
        assert again.no_feed and again.source == "none"
        assert again.ready_check()[0] == "ok"
        time.sleep(0.5)
    finally:
        again.stop()
    assert set(origin_counts(store)) == {("ohlcv_daily", "imported")}

    # 4. "now" is the last real session, with its real returns, not demo data.
    state = market_state("sp500", store=store, cache=None, live=None)
    assert str(state.session) == LAST_REAL and state.demo is False and state.closed
    real = pd.read_csv(REAL, parse_dates=["date"])
    aapl = real[real.symbol == "AAPL"].set_index("date")["close"]
    want = aapl.iloc[-1] / aapl.iloc[-2] - 1
    got = state.rankings.set_index("symbol").loc["AAPL", "ret_1d"]
    assert got == pytest.approx(want, rel=1e-9)

    # 5. The API says so too.
    app2 = create_app(settings, ingest=False)
    client = app2.server.test_client()
    headers = bearer(app2, "una", "user")
    body = client.get("/api/market-state", headers=headers).get_json()
    assert body["demo_data"] is False and body["session"] == LAST_REAL
    bars = client.get("/api/bars/AAPL?timeframe=1d", headers=headers).get_json()
    assert bars["demo_data"] is False and bars["count"] > 0


def test_dt02_explicit_simulator_and_anchor_on_old_real_data(tmp_path):
    settings = settings_for(tmp_path, TICKSTOCK_SIMULATOR="true")
    app = create_app(settings, ingest=False)
    store = app.server.extensions["tickstock_store"]
    import_files(store, [REAL], DAILY)
    service = IngestService(settings, store, options=FAST).start()
    try:
        assert service.source == "simulator" and service.wait_streaming(10)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(store.read_minute()) < 2:
            time.sleep(0.05)
        bars = store.read_minute().sort_values("ts")
    finally:
        service.stop()
    real = pd.read_csv(REAL)
    last = real[real.date == LAST_REAL].set_index("symbol")["close"]
    first = bars.groupby("symbol")["open"].first()
    for sym in ("AAPL", "MSFT"):
        assert abs(first[sym] / last[sym] - 1) < 0.05  # anchored on 2021 closes
    state = market_state("sp500", store=store, cache=None, live=None)
    assert state.demo is True and "simulated" in state.origins
    client = app.server.test_client()
    headers = bearer(app, "sim", "user")
    for path in ("/api/market-state", "/api/ticks/recent?symbol=AAPL"):
        assert client.get(path, headers=headers).get_json()["demo_data"] is True


@pytest.fixture(scope="module")
def real_api(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("truth")
    settings = settings_for(tmp)
    app = create_app(settings, ingest=False)
    import_files(app.server.extensions["tickstock_store"], [REAL], DAILY)
    return settings, app, app.server.test_client(), bearer(app, "cal", "user")


CALENDAR_CASES = [
    ("2021-04-17", "2021-04-17", "2021-04-16"),  # Saturday -> Friday
    ("2021-04-02", "2021-04-02", "2021-04-01"),  # Good Friday (holiday)
    ("2020-11-27", "2020-11-27", "2020-11-27"),  # half day (13:00 close)
    ("2018-06-01", "2018-06-01", "2018-06-01"),  # >400 sessions back
    ("2021-04-17T10:00", "2021-04-17T10:00", "2021-04-16"),  # a Saturday minute
]


@pytest.mark.parametrize(("asked", "label", "session"), CALENDAR_CASES)
def test_dt03_as_of_resolves_to_a_session(real_api, asked, label, session):
    settings, _app, client, headers = real_api
    resp = client.get(f"/api/rankings?as_of={asked}&limit=500", headers=headers)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["as_of"] == label and body["session"] == session
    assert body["count"] > 30 and body["demo_data"] is False
    code, out, err = run_export(settings, asked)
    assert code == 0 and len(json.loads(out)) >= body["count"]
    assert f"session {session} (as_of {label})" in err
    assert "DEMO DATA" not in err


@pytest.mark.parametrize("asked", ["2021-04-22", "2030-01-02", "2017-12-29"])
def test_dt04_as_of_outside_the_stored_range_is_422(real_api, asked):
    settings, _app, client, headers = real_api
    for _ in range(2):  # never cached: the second answer is the same error
        resp = client.get(f"/api/rankings?as_of={asked}", headers=headers)
        assert resp.status_code == 422
        body = resp.get_json()
        assert body["error"] == "as_of_out_of_range"
        assert body["details"]["first"] == "2018-01-02"
        assert body["details"]["last"] == LAST_REAL
        assert "max-age" not in resp.headers.get("Cache-Control", "")
    code, out, err = run_export(settings, asked)
    assert code != 0 and out == ""
    assert "outside the stored data (2018-01-02 .. 2021-04-21)" in err


@pytest.mark.parametrize(
    ("clock", "session", "closed"),
    [
        ("2021-04-21 08:00", "2021-04-20", True),  # pre-market: yesterday
        ("2021-04-21 12:00", "2021-04-21", False),  # trading: today
        ("2021-04-24 12:00", LAST_REAL, True),  # Saturday: the last session
    ],
)
def test_dt05_now_is_the_last_complete_session(real_api, clock, session, closed):
    settings, _app, client, headers = real_api
    with fixed_clock(clock):
        body = client.get("/api/market-state", headers=headers).get_json()
        code, out, _err = run_export(settings, None)
    assert body["session"] == session and body["session_closed"] is closed
    # The CLI export shows that session's returns (not a session yet to open).
    real = pd.read_csv(REAL)
    aapl = real[real.symbol == "AAPL"].set_index("date")["close"]
    at = aapl.index.get_loc(session)
    want = aapl.iloc[at] / aapl.iloc[at - 1] - 1
    rows = {r["symbol"]: r for r in json.loads(out)}
    assert code == 0 and rows["AAPL"]["ret_1d"] == pytest.approx(want, rel=1e-9)


def run_export(settings, as_of: str | None) -> tuple[int, str, str]:
    args = argparse.Namespace(
        kind="rankings", universe="sp500", as_of=as_of, format="json"
    )
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cmd_export(settings, args)
    return code, out.getvalue(), err.getvalue()


def test_dt06_old_stored_sessions_and_the_no_feed_header(real_api):
    import importlib

    _settings, app, _client, _headers = real_api
    common = importlib.import_module("pages._common")
    market = importlib.import_module("pages.market")
    with app.server.test_request_context():
        _u, old = common.fill_control_options({}, "sp500", "2018-06-01")
        _u, missing = common.fill_control_options({}, "sp500", "2017-06-01")
        with fixed_clock("2021-04-24 12:00"):
            out = market.build_market("sp500", "now", "ret_21d", "", "")
    assert old[-1] == {"label": "2018-06-01", "value": "2018-06-01"}
    assert missing[-1]["label"] == "2017-06-01 (not stored)"
    header = json.dumps(out[1], default=str, ensure_ascii=False)
    assert f"Last session {LAST_REAL} · no live feed" in header
    assert "Demo data" not in header and "Simulated feed" not in header
    status = json.dumps(out[0], default=str, ensure_ascii=False)
    assert f"last session {LAST_REAL} (closed)" in status


def test_dt07_v2_store_migrates_to_the_four_origins(store):
    labels = ["demo", "eod", "backfill", "import", "wiki", None]
    daily = pd.DataFrame(
        {
            "symbol": [f"S{i}" for i in range(len(labels))],
            "date": pd.Timestamp("2024-01-02"),
            "open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0, "volume": 1.0,
        }
    )  # fmt: skip
    store.upsert_daily_bars(daily)
    store.upsert_minute_bars(
        daily.drop(columns="date").assign(ts=pd.Timestamp("2024-01-02 15:00Z"))
    )
    store.set_meta("demo_data", "1")
    with store.engine.begin() as conn:  # turn the store back into schema v2
        conn.execute(text("ALTER TABLE ohlcv_1min DROP COLUMN source"))
        conn.execute(text("UPDATE schema_version SET version = 2"))
        for i, label in enumerate(labels):
            conn.execute(
                text("UPDATE ohlcv_daily SET source = :l WHERE symbol = :s"),
                {"l": label, "s": f"S{i}"},
            )
    store.init_schema()
    got = store.read_daily().set_index("symbol")["source"].tolist()
    assert got == ["demo", "massive", "massive", "imported", "imported", "imported"]
    assert set(origin_counts(store)) >= {("ohlcv_1min", "simulated")}
    assert store.delete_fake_bars() == 1 + len(labels)  # S0 daily + every minute
    assert {src for _t, src in origin_counts(store)} == {"massive", "imported"}


def test_dt08_live_massive_feed_removes_generated_bars(tmp_path):
    from ingest.simulator import Simulator

    settings = settings_for(tmp_path, TICKSTOCK_DEMO_DATA="true")
    app = create_app(settings, ingest=False)
    store = app.server.extensions["tickstock_store"]
    assert origin_counts(store).get(("ohlcv_daily", "demo"), 0) > 1000
    # A Massive-protocol server standing in for the real feed (key required).
    sim = Simulator(["AAPL", "MSFT"], seed=3, speed=600.0, api_keys=["real-key"])
    sim.start()
    real = settings_for(
        tmp_path,
        MASSIVE_API_KEY="real-key",
        MASSIVE_WS_URL=sim.ws_url,
        MASSIVE_REST_URL=sim.rest_url,
    )
    service = IngestService(real, store, options=FAST).start()
    try:
        assert service.source == "massive" and service.wait_streaming(10)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not len(store.read_minute()):
            time.sleep(0.05)
    finally:
        service.stop()
        sim.stop()
    counts = origin_counts(store)
    assert counts.get(("ohlcv_1min", "massive"), 0) > 0
    assert {src for _t, src in counts} == {"massive"}
    assert market_state("sp500", store=store, cache=None, live=None).demo is False


def test_dt09_minute_as_of_needs_minute_bars_of_that_session(real_api):
    settings, app, client, headers = real_api
    store = app.server.extensions["tickstock_store"]
    # Daily bars only on 2021-04-16: a minute of it would be an empty state.
    resp = client.get("/api/rankings?as_of=2021-04-16T10:31", headers=headers)
    assert resp.status_code == 422
    body = resp.get_json()
    assert body["error"] == "as_of_out_of_range"
    assert "no minute bars are stored for 2021-04-16" in body["message"]
    code, out, err = run_export(settings, "2021-04-16T10:31")
    assert code != 0 and out == "" and "no minute bars" in err
    bar = {"symbol": "AAPL", "ts": pd.Timestamp("2021-04-15 14:00", tz="UTC")}
    bar.update(open=133.0, high=134.0, low=132.5, close=133.5, volume=1e5)
    store.upsert_minute_bars([bar], source="imported")
    later = client.get("/api/rankings?as_of=2021-04-15T10:31", headers=headers)
    assert later.status_code == 200 and later.get_json()["session"] == "2021-04-15"
    before = client.get("/api/rankings?as_of=2021-04-15T09:45", headers=headers)
    assert before.status_code == 422
    assert before.get_json()["details"]["first"] == "2021-04-15"

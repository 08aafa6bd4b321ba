"""Demo history: deterministic, valid bars; all Weinstein stages and RRG quadrants."""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import pandas as pd
import pytest

from analytics import panels_from_bars, rrg, weekly_bars, weinstein_stages
from dashapp.store import DEMO_KEY
from dashapp.store.reference import load_reference, sector_etfs
from ingest.demo import (
    DEFAULT_SESSIONS,
    demo_info,
    demo_sessions,
    ensure_demo_history,
    generate_demo,
    last_closes,
    reference_universe,
)
from ingest.eod import is_session
from ingest.history_read import DAILY
from ingest.history_validation import validate

END = dt.date(2026, 11, 24)
QUADRANTS = {"Leading", "Weakening", "Lagging", "Improving"}


@pytest.fixture(scope="module")
def days():
    return demo_sessions(DEFAULT_SESSIONS, END)


@pytest.fixture(scope="module")
def bars(days):
    return generate_demo(days, seed=7)


def stages_and_quadrants(frame: pd.DataFrame):
    panels = panels_from_bars(frame)
    weekly = weekly_bars(panels)
    current, history = weinstein_stages(weekly["close"], weekly["volume"])
    etfs = sector_etfs()["symbol"].tolist()
    points = rrg(panels["close"][etfs], panels["close"]["SPY"], tail=None)
    return current, history, points


def test_de01_shape_sessions_and_determinism(days, bars):
    universe = reference_universe()
    assert len(days) == 320 and days[-1] == END and all(map(is_session, days))
    assert bars["symbol"].nunique() == len(universe.symbols) >= 519
    assert bars.groupby("symbol").size().eq(320).all()
    assert bars["date"].min() == pd.Timestamp(days[0])
    pd.testing.assert_frame_equal(bars, generate_demo(days, seed=7))
    assert not bars.equals(generate_demo(days, seed=8))


def test_de02_bars_pass_import_validation(bars):
    _valid, report = validate(bars.rename(columns={"date": "when"}), DAILY)
    assert not report.rejects and not report.repairs
    assert (bars["volume"] > 0).all() and (bars["close"] > 0.5).all()
    spy = bars[bars["symbol"] == "SPY"]["volume"].median()
    stock = bars[bars["symbol"].isin(reference_universe().stocks)]
    assert spy > 10 * stock.groupby("symbol")["volume"].median().median()


@pytest.mark.parametrize("seed", [7, 1, 2])
def test_de03_all_four_stages_and_quadrants(days, bars, seed):
    frame = bars if seed == 7 else generate_demo(days, seed=seed)
    current, history, points = stages_and_quadrants(frame)
    final = current["stage"].value_counts()
    assert set(final.index) == {1, 2, 3, 4}
    assert final.min() >= 0.05 * len(current)  # each stage is well represented
    last = points[points["date"] == points["date"].max()]
    assert set(last["quadrant"]) == QUADRANTS
    visited = points.groupby("symbol")["quadrant"].nunique()
    assert (visited >= 3).all() and (visited == 4).sum() >= 8
    ever = pd.Series(history.to_numpy().ravel()).value_counts()
    assert {1, 2, 3, 4} <= set(ever.index)


def test_de04_index_etfs_follow_their_members(bars):
    close = panels_from_bars(bars)["close"]
    ret = np.log(close).diff().iloc[1:]
    universe = reference_universe()
    stocks = ret[universe.stocks]
    assert ret["SPY"].corr(stocks.mean(axis=1)) > 0.9
    assert ret["RSP"].corr(stocks.mean(axis=1)) > 0.99
    sectors = dict(zip(universe.stocks, universe.stock_sectors, strict=True))
    for etf, sector in zip(universe.sector_etfs, universe.sectors, strict=True):
        members = [s for s, sec in sectors.items() if sec == sector]
        assert ret[etf].corr(stocks[members].mean(axis=1)) > 0.8, etf
    yearly = close.iloc[-1] / close.iloc[-253] - 1
    assert -0.3 < yearly["SPY"] < 0.5  # a plausible market year


def test_de05_first_start_writes_labelled_demo_history(store, settings, bars):
    load_reference(store)
    cfg = settings.replace(demo_data=True)
    assert not ensure_demo_history(store, settings)  # demo disabled
    started = time.perf_counter()
    assert ensure_demo_history(store, cfg, now="2026-11-25 15:00Z")
    elapsed = time.perf_counter() - started
    assert store.get_meta(DEMO_KEY) == "1"
    info = demo_info(store)
    assert (info["end"], info["sessions"], info["seed"]) == ("2026-11-24", 320, 7)
    stats = store.table_stats().set_index("table").loc["ohlcv_daily"]
    assert (stats["rows"], stats["symbols"]) == (len(bars), info["symbols"])
    assert store.list_universes().set_index("name").loc["sp500", "with_data"] == 503
    expected = bars.groupby("symbol")["close"].last().to_dict()
    assert last_closes(store) == pytest.approx(expected, abs=1e-9)
    assert set(store.latest_daily()["source"]) == {"demo"}
    assert elapsed < 30  # ~2 s on an idle machine


def test_de06_demo_history_is_kept_current(sqlite_store, settings):
    cfg = settings.replace(demo_data=True)
    assert ensure_demo_history(sqlite_store, cfg, now="2026-11-25 15:00Z")
    # Up to date: nothing to do; days later: regenerated to end at the new session.
    assert not ensure_demo_history(sqlite_store, cfg, now="2026-11-25 23:00Z")
    assert ensure_demo_history(sqlite_store, cfg, now="2026-11-27 15:00Z")
    assert demo_info(sqlite_store)["end"] == "2026-11-25"
    stats = sqlite_store.table_stats().set_index("table").loc["ohlcv_daily"]
    assert stats["rows"] == 320 * demo_info(sqlite_store)["symbols"]
    assert str(stats["newest"])[:10] == "2026-11-25"


def test_de07_real_history_is_never_touched(sqlite_store, settings):
    cfg = settings.replace(demo_data=True)
    real = pd.DataFrame(
        {"symbol": ["AAPL"], "date": ["2026-11-20"], "open": 1.0, "high": 1.0,
         "low": 1.0, "close": 1.0, "volume": 1.0}
    )  # fmt: skip
    sqlite_store.upsert_daily_bars(real, source="import")
    assert not ensure_demo_history(sqlite_store, cfg, now="2026-11-25 15:00Z")
    assert len(sqlite_store.read_daily()) == 1 and demo_info(sqlite_store) is None


def test_de08_cli_refuses_to_mix_with_real_history(tmp_path, monkeypatch, capsys):
    from dashapp.cli import main

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("TICKSTOCK_DATA_DIR", str(tmp_path))
    with pytest.raises(SystemExit) as info:
        main(["demo", "--sessions", "80", "--seed", "3", "--end", "2026-11-20"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "80 sessions" not in out and "2026-11-20 (seed 3)" in out
    from tests.test_history_import import QUANDL

    with pytest.raises(SystemExit):
        main(["import-daily", str(QUANDL)])
    assert "removed" in capsys.readouterr().out  # the demo rows went away
    with pytest.raises(SystemExit) as info:
        main(["demo", "--sessions", "80"])
    assert info.value.code == 1
    assert "real daily history" in capsys.readouterr().err

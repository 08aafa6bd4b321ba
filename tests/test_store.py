"""Storage layer on SQLite and PostgreSQL: round trips, upserts, odd symbols."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from dashapp.store import SCHEMA_VERSION, Store
from dashapp.store.reference import load_reference

ODD = ["BRK.B", "BF.B", "ÄPFEL", "A-B"]


def minute_frame(symbols, minutes, start="2026-11-24 14:30", seed=0):
    rng = np.random.default_rng(seed)
    ts = pd.date_range(start, periods=minutes, freq="1min", tz="UTC")
    idx = pd.MultiIndex.from_product([symbols, ts], names=["symbol", "ts"])
    n = len(idx)
    close = 100 + rng.normal(0, 1, n).cumsum() / 10
    frame = pd.DataFrame(index=idx).reset_index()
    frame["open"] = close + rng.uniform(-0.1, 0.1, n)
    frame["close"] = close
    frame["high"] = np.maximum(frame["open"], close) + 0.05
    frame["low"] = np.minimum(frame["open"], close) - 0.05
    frame["volume"] = rng.integers(1, 10_000, n).astype(float)
    frame["vwap"] = close
    frame["trades"] = rng.integers(1, 100, n)
    return frame


def daily_frame(symbols, days, seed=1):
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2024-01-02", periods=days)
    idx = pd.MultiIndex.from_product([symbols, dates], names=["symbol", "date"])
    n = len(idx)
    close = 50 + rng.uniform(0, 10, n)
    frame = pd.DataFrame(index=idx).reset_index()
    frame["open"] = close - 0.5
    frame["high"] = close + 1
    frame["low"] = close - 1
    frame["close"] = close
    frame["volume"] = rng.integers(1, 1_000_000, n).astype(float)
    return frame


def test_st01_minute_round_trip(store):
    bars = minute_frame(["AAPL", *ODD], 30)
    assert store.upsert_minute_bars(bars) == len(bars)
    back = store.read_minute()
    assert len(back) == len(bars)
    merged = bars.merge(back, on=["symbol", "ts"], suffixes=("", "_db"))
    assert len(merged) == len(bars)
    for col in ("open", "high", "low", "close", "volume", "vwap"):
        np.testing.assert_allclose(merged[col], merged[f"{col}_db"].astype(float))
    assert (merged["trades"] == merged["trades_db"].astype(int)).all()
    assert str(back["ts"].dt.tz) in ("UTC", "Etc/UTC")
    assert set(back["symbol"]) == {"AAPL", *ODD}


def test_st02_upsert_replaces_not_adds(store):
    bars = minute_frame(["BRK.B"], 10)
    store.upsert_minute_bars(bars)
    corrected = bars.copy()
    corrected["close"] = corrected["close"] + 1
    corrected["volume"] = 7.0
    store.upsert_minute_bars(corrected)
    back = store.read_minute(["BRK.B"])
    assert len(back) == 10
    np.testing.assert_allclose(back["close"], corrected["close"])
    assert (back["volume"] == 7.0).all()


@pytest.mark.parametrize("batch_size", [1, 20_000])
def test_st03_batch_sizes(store, batch_size):
    rows = 40 if batch_size == 1 else 20_000
    bars = minute_frame([f"S{i}" for i in range(rows // 20)], 20)
    assert store.upsert_minute_bars(bars, batch_size=batch_size) == rows
    assert len(store.read_minute()) == rows
    daily = daily_frame(["BF.B", "X"], rows // 2)
    assert store.upsert_daily_bars(daily, batch_size=batch_size) == rows
    assert len(store.read_daily()) == rows


def test_st04_duplicate_keys_in_one_batch_last_wins(store):
    bars = minute_frame(["AAPL"], 1)
    twice = pd.concat([bars, bars.assign(close=bars["close"] + 5)])
    store.upsert_minute_bars(twice)
    back = store.read_minute(["AAPL"])
    assert len(back) == 1
    assert back["close"].iloc[0] == pytest.approx(twice["close"].iloc[-1])


def test_st05_daily_round_trip_and_filters(store):
    bars = daily_frame(["BF.B", "MSFT"], 20)
    store.upsert_daily_bars(bars)
    back = store.read_daily(["BF.B"], start="2024-01-05", end="2024-01-10")
    expected = bars[
        (bars.symbol == "BF.B") & bars.date.between("2024-01-05", "2024-01-10")
    ]
    assert len(back) == len(expected) == 4
    np.testing.assert_allclose(back["close"], expected["close"])
    assert (back["source"] == "imported").all()
    bars2 = bars.assign(close=bars["close"] * 2)
    store.upsert_daily_bars(bars2, source="eod")
    back = store.read_daily()
    assert len(back) == 40
    assert (back["source"] == "massive").all()  # legacy label -> its origin


def test_st06_data_version_moves_on_write(store):
    v0 = store.data_version()
    store.upsert_minute_bars(minute_frame(["AAPL"], 2))
    v1 = store.data_version()
    assert v1.seq > v0.seq
    assert v1.newest_minute == pd.Timestamp("2026-11-24 14:31", tz="UTC")
    store.upsert_daily_bars(daily_frame(["AAPL"], 3))
    v2 = store.data_version()
    assert v2.seq > v1.seq and v2.key != v1.key
    assert str(v2.newest_daily) == "2024-01-04"


def test_st07_reference_data_idempotent(store):
    first = load_reference(store)
    second = load_reference(store)
    assert first == second == {"sp500": 503, "sectors": 11, "index": 5}
    syms = store.symbols_frame(["BRK.B", "XLK", "SPY"]).set_index("symbol")
    assert syms.loc["BRK.B", "sector"] == "Financials"
    assert syms.loc["BRK.B", "sector_etf"] == "XLF"
    assert syms.loc["XLK", "kind"] == "etf"
    union = store.universe_symbols("SECTORS+Index")
    assert len(union) == 16 and "SPY" in union and "XLK" in union
    with pytest.raises(KeyError, match="nope"):
        store.universe_symbols("sp500+nope")


def test_st08_upgrade_from_v1_keeps_data(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = Store(url)
    with old.engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE ohlcv_daily (symbol VARCHAR(24), date DATE, open FLOAT,"
                " high FLOAT, low FLOAT, close FLOAT, volume FLOAT,"
                " PRIMARY KEY (symbol, date))"
            )
        )
        conn.execute(
            text("INSERT INTO ohlcv_daily VALUES ('AAPL','2024-01-02',1,2,0.5,1.5,10)")
        )
    old.dispose()
    store = Store(url)
    assert store.init_schema() == SCHEMA_VERSION
    back = store.read_daily()
    assert len(back) == 1 and back["close"].iloc[0] == 1.5
    assert store.schema_version() == SCHEMA_VERSION
    store.init_schema()  # idempotent
    assert len(store.read_daily()) == 1


def test_st09_newer_schema_refused(sqlite_store):
    with sqlite_store.engine.begin() as conn:
        conn.execute(text("UPDATE schema_version SET version = 999"))
    with pytest.raises(RuntimeError, match="newer than this app"):
        sqlite_store.init_schema()


def test_st10_sqlite_pragmas(sqlite_store):
    with sqlite_store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1

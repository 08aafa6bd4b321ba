"""EOD roll-up of regular-session minute bars into daily bars (incl. a half day)."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
from pathlib import Path

import pandas as pd
import pytest

from ingest.eod import (
    last_closed_session,
    maybe_run_eod,
    rollup_session,
    sessions_back,
)
from ingest.history import MINUTE, import_files

MINUTES = Path(__file__).parent / "data" / "spy_dia_1min_2019-12-23_24.csv.gz"
ET = "America/New_York"
# Regular sessions, by hand: 2019-12-23 09:30-16:00 ET, 2019-12-24 09:30-13:00 ET.
HOURS = {"2019-12-23": ("09:30", "16:00"), "2019-12-24": ("09:30", "13:00")}


def hand_daily(symbol: str, day: str) -> dict[str, float]:
    """Roll the CSV's minutes up with plain Python: first/max/min/last/sum."""
    with gzip.open(MINUTES, "rt", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["symbol"] == symbol]
    start, end = HOURS[day]
    bars = sorted(
        (r for r in rows if r["datetime"][:10] == day
         and start <= r["datetime"][11:16] < end),
        key=lambda r: r["datetime"],
    )  # fmt: skip
    return {
        "open": float(bars[0]["open"]),
        "high": max(float(r["high"]) for r in bars),
        "low": min(float(r["low"]) for r in bars),
        "close": float(bars[-1]["close"]),
        "volume": sum(float(r["volume"]) for r in bars),
        "bars": len(bars),
    }


@pytest.fixture
def minute_store(store):
    import_files(store, [MINUTES], MINUTE)
    # The roll-up runs after live sessions: label the minutes as the live feed's.
    store.upsert_minute_bars(store.read_minute(), source="massive")
    # Extended-hours bars must not leak into the regular-session bar.
    extra = pd.DataFrame(
        {
            "symbol": ["SPY", "SPY", "SPY"],
            "ts": pd.to_datetime(
                ["2019-12-23 08:00", "2019-12-23 16:00", "2019-12-24 13:30"]
            ).tz_localize(ET),
            "open": 500.0, "high": 999.0, "low": 1.0, "close": 500.0, "volume": 1e9,
        }
    )  # fmt: skip
    store.upsert_minute_bars(extra)
    return store


@pytest.mark.parametrize("day", ["2019-12-23", "2019-12-24"])
def test_eod01_rollup_equals_hand_computed_bar(minute_store, day):
    result = rollup_session(minute_store, dt.date.fromisoformat(day))
    assert result.symbols == 2 and result.written == 2
    stored = minute_store.read_daily(start=day, end=day).set_index("symbol")
    for symbol in ("SPY", "DIA"):
        want = hand_daily(symbol, day)
        got = stored.loc[symbol]
        for col in ("open", "high", "low", "close", "volume"):
            assert got[col] == pytest.approx(want[col], abs=1e-9), (symbol, col)
        assert got["source"] == "massive"  # the origin of its minute bars
    if day == "2019-12-24":
        # Half day: 210 regular bars; the 13:00 bar starts at the close.
        assert hand_daily("SPY", day)["bars"] == 210


def test_eod02_rerun_changes_nothing(minute_store):
    day = dt.date(2019, 12, 24)
    rollup_session(minute_store, day)
    before = minute_store.read_daily()
    seq = minute_store.data_version().seq
    again = rollup_session(minute_store, day)
    assert (again.written, again.unchanged) == (0, 2)
    pd.testing.assert_frame_equal(before, minute_store.read_daily())
    assert minute_store.data_version().seq == seq


def test_eod03_corrected_minute_updates_the_bar(minute_store):
    day = dt.date(2019, 12, 23)
    rollup_session(minute_store, day)
    fix = minute_store.read_minute(
        ["SPY"], start="2019-12-23 20:59Z", end="2019-12-23 20:59Z"
    )
    fix["close"] = fix["close"] + 0.5
    fix["high"] = fix[["high", "close"]].max(axis=1)
    minute_store.upsert_minute_bars(fix)
    result = rollup_session(minute_store, day)
    assert (result.written, result.unchanged) == (1, 1)
    spy = minute_store.read_daily(["SPY"], start=day, end=day).iloc[0]
    assert spy["close"] == pytest.approx(hand_daily("SPY", "2019-12-23")["close"] + 0.5)


def test_eod04_imported_rows_are_kept_unless_forced(minute_store):
    day = dt.date(2019, 12, 23)
    real = pd.DataFrame(
        {"symbol": ["SPY"], "date": [day], "open": 320.0, "high": 322.0,
         "low": 319.0, "close": 321.5, "volume": 5e7}
    )  # fmt: skip
    minute_store.upsert_daily_bars(real, source="import")
    result = rollup_session(minute_store, day)
    assert (result.written, result.kept) == (1, 1)
    spy = minute_store.read_daily(["SPY"]).iloc[0]
    assert (spy["close"], spy["source"]) == (321.5, "imported")
    forced = rollup_session(minute_store, day, force=True)
    assert (forced.written, forced.unchanged, forced.kept) == (1, 1, 0)
    assert minute_store.read_daily(["SPY"]).iloc[0]["source"] == "massive"


def test_eod05_simulated_minutes_roll_up_as_simulated(minute_store):
    spy = minute_store.read_minute(["SPY"])
    minute_store.upsert_minute_bars(spy, source="simulated")
    rollup_session(minute_store, dt.date(2019, 12, 23))
    daily = minute_store.read_daily().set_index("symbol")["source"]
    assert daily.to_dict() == {"DIA": "massive", "SPY": "simulated"}


def test_eod06_not_a_session_is_an_error(minute_store):
    with pytest.raises(ValueError, match="not an XNYS trading session"):
        rollup_session(minute_store, dt.date(2019, 12, 25))
    assert rollup_session(minute_store, dt.date(2019, 12, 26)).symbols == 0


def test_eod07_scheduler_hook_waits_for_close_and_catches_up(minute_store):
    # 12:59 ET on the half day: the last closed session is 12-23.
    first = maybe_run_eod(minute_store, "2019-12-24 17:59Z")
    assert [r.day for r in first] == [dt.date(2019, 12, 23)]
    assert maybe_run_eod(minute_store, "2019-12-24 18:05Z") == []  # within grace
    done = maybe_run_eod(minute_store, "2019-12-24 18:16Z")
    assert [r.day for r in done] == [dt.date(2019, 12, 24)]
    assert maybe_run_eod(minute_store, "2019-12-24 23:00Z") == []
    # After the Christmas holiday, 12-26 (no minutes) is rolled up, 12-25 skipped.
    later = maybe_run_eod(minute_store, "2019-12-27 22:00Z")
    assert [r.day for r in later] == [dt.date(2019, 12, 26), dt.date(2019, 12, 27)]
    assert len(minute_store.read_daily()) == 4


def test_eod08_calendar_helpers():
    assert last_closed_session("2019-12-24 18:16Z") == dt.date(2019, 12, 24)
    assert last_closed_session("2019-12-24 18:15Z") == dt.date(2019, 12, 23)
    assert last_closed_session("2019-12-28 12:00Z") == dt.date(2019, 12, 27)
    assert sessions_back(dt.date(2019, 12, 27), 4) == [
        dt.date(2019, 12, 23),
        dt.date(2019, 12, 24),
        dt.date(2019, 12, 26),
        dt.date(2019, 12, 27),
    ]


def test_eod09_cli(tmp_path, monkeypatch, capsys):
    from dashapp.cli import main

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("TICKSTOCK_DATA_DIR", str(tmp_path))
    with pytest.raises(SystemExit):
        main(["import-minute", str(MINUTES)])
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main(["eod", "--date", "2019-12-24"])
    assert info.value.code == 0
    assert "2 symbols rolled up: 2 written" in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        main(["eod", "--date", "2019-12-25"])
    assert info.value.code == 2


def test_eod_scheduler_rolls_up_the_last_closed_session(sqlite_store):
    """The leader's scheduler thread runs the roll-up by itself and stops cleanly."""
    import time

    from ingest.eod import EOD_META_KEY, EodScheduler

    scheduler = EodScheduler(sqlite_store, interval_s=0.05).start()
    deadline = time.monotonic() + 10
    while sqlite_store.get_meta(EOD_META_KEY) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    scheduler.stop()
    assert sqlite_store.get_meta(EOD_META_KEY) is not None
    assert not scheduler._thread.is_alive()

"""File import (import-daily / import-minute): real slices, validation, atomicity."""

from __future__ import annotations

import csv
import gzip
import os
from pathlib import Path

import pandas as pd
import pytest

from dashapp.store import DEMO_KEY
from ingest.history import import_files, load_file
from ingest.history_dates import parse_when
from ingest.history_read import DAILY, MINUTE, HistoryError

DATA = Path(__file__).parent / "data"
QUANDL = DATA / "quandl_wiki_5stocks_2012-09_2013-03_raw_adj.csv.gz"
SPLITS = DATA / "sp500_raw_adj_2020-08_2020-09_split_slice.csv"
MINUTES = DATA / "spy_dia_1min_2019-12-23_24.csv.gz"
SHARED_DATA = Path(
    os.environ.get(
        "TICKSTOCK_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"
    )
)
SHARED_DAILY = SHARED_DATA / "daily"
HEADER = "symbol,date,open,high,low,close,volume\n"


def raw_rows(path: Path) -> list[dict[str, str]]:
    """Read a CSV (optionally gzipped) with the csv module: the independent oracle."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="") as fh:
        return list(csv.DictReader(fh))


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def daily_rows(store) -> int:
    return int(store.table_stats().set_index("table").loc["ohlcv_daily", "rows"])


# ------------------------------------------------------------ real slices
def test_hi01_quandl_slice_adjusted_exact(store):
    rows = raw_rows(QUANDL)
    result = import_files(store, [QUANDL], DAILY)
    assert result.committed and result.written == len(rows) == 610
    assert result.reports[0].adjusted and not result.reports[0].rejects
    stored = store.read_daily()
    assert len(stored) == 610
    assert stored.groupby("symbol").size().to_dict() == {
        s: 122 for s in ("AAPL", "FB", "GOOG", "IBM", "MSFT")
    }
    assert set(stored["source"]) == {"imported"}
    by_key = stored.set_index(["symbol", stored["date"].dt.strftime("%Y-%m-%d")])
    for row in rows[::37]:
        got = by_key.loc[(row["symbol"], row["date"])]
        factor = float(row["adj_close"]) / float(row["close"])
        for col in ("open", "high", "low"):
            assert got[col] == pytest.approx(float(row[col]) * factor, abs=1e-6)
        assert got["close"] == pytest.approx(float(row["adj_close"]), abs=1e-6)
        assert got["volume"] == pytest.approx(float(row["volume"]) / factor, rel=1e-9)


def test_hi02_raw_flag_keeps_traded_prices(store):
    rows = raw_rows(QUANDL)
    result = import_files(store, [QUANDL], DAILY, adjust=False, source="wiki")
    assert result.written == 610 and not result.reports[0].adjusted
    stored = store.read_daily(["IBM"])
    oracle = [r for r in rows if r["symbol"] == "IBM"]
    assert stored["close"].tolist() == [float(r["close"]) for r in oracle]
    assert stored["volume"].tolist() == [float(r["volume"]) for r in oracle]
    assert set(stored["source"]) == {"imported"}  # a file, whatever its label


def test_hi03_split_adjustment_removes_the_split_gap(store):
    import_files(store, [SPLITS], DAILY)
    aapl = store.read_daily(["AAPL"]).set_index("date")
    before, after = aapl.loc["2020-08-28"], aapl.loc["2020-08-31"]
    # Raw AAPL fell ~75% on the 4:1 split day; adjusted it rose ~3.4%.
    assert after["close"] / before["close"] == pytest.approx(1.034, abs=0.01)
    raw = {(r["symbol"], r["date"]): r for r in raw_rows(SPLITS)}
    pre = raw[("AAPL", "2020-08-28")]
    dollars = float(pre["close"]) * float(pre["volume"])
    assert before["close"] * before["volume"] == pytest.approx(dollars, rel=1e-6)
    assert len(store.read_daily()) == 126


def test_hi04_real_daily_files_validate_cleanly():
    files = sorted(SHARED_DAILY.glob("*.csv*")) if SHARED_DAILY.is_dir() else []
    if not files:
        pytest.skip("../shared/data/daily not available")
    for path in files:
        bars, report = load_file(path, DAILY)
        assert not report.rejects, (path.name, report.rejects[:3])
        assert len(bars) == report.rows
        # Known vendor glitches are repaired (and reported), never silently kept.
        assert len(report.repairs) <= 2, (path.name, report.repairs)


# ------------------------------------------------------------- malformed
MALFORMED = {
    "bad_number.csv": (HEADER + "AAA,2024-01-02,10,11,9,10.5,100\n"
                       "AAA,2024-01-03,10,abc,9,10.5,100\n",
                       "line 3: bad number in high: 'abc'"),
    "swapped.csv": (HEADER + "AAA,2024-01-02,10,9.5,10.6,10.2,100\n",
                    "line 2: high < low (high=9.5, low=10.6)"),
    "duplicate.csv": (HEADER + "AAA,2024-01-02,10,11,9,10.5,100\n"
                      "BBB,2024-01-02,10,11,9,10.5,100\n"
                      "AAA,2024-01-02,10,11,9,10.6,100\n",
                      "line 4: duplicate key AAA 2024-01-02 (first on line 2)"),
    "negative.csv": (HEADER + "AAA,2024-01-02,-10,11,9,10.5,100\n",
                     "line 2: non-positive open: -10"),
    "bad_date.csv": (HEADER + "AAA,2024-13-02,10,11,9,10.5,100\n",
                     "line 2: unparseable date: '2024-13-02'"),
    "neg_volume.csv": (HEADER + "AAA,2024-01-02,10,11,9,10.5,-5\n",
                       "line 2: negative volume: -5"),
    "high_below.csv": (HEADER + "AAA,2024-01-02,10,10.2,9,10.5,100\n",
                       "line 2: high 10.2 below max(open, close) 10.5"),
    "missing.csv": (HEADER + "AAA,2024-01-02,10,11,9,,100\n", "line 2: missing close"),
    "huge_volume.csv": (HEADER + "AAA,2024-01-02,10,11,9,10.5,1e30\n",
                        "line 2: volume above 1e+12: 1e+30"),
    "weekend.csv": (HEADER + "AAA,2024-01-06,10,11,9,10.5,100\n",
                    "line 2: weekend date: 2024-01-06"),
    "future.csv": (HEADER + "AAA,2099-01-02,10,11,9,10.5,100\n",
                   "line 2: date in the future: 2099-01-02"),
}  # fmt: skip


def test_hi05_malformed_rows_commit_nothing(store, tmp_path):
    good = write(tmp_path, "good.csv", HEADER + "ZZZ,2024-01-02,10,11,9,10.5,100\n")
    for name, (text, expected) in MALFORMED.items():
        bad = write(tmp_path, name, text)
        result = import_files(store, [good, bad], DAILY)
        assert not result.committed and result.written == 0, name
        problems = [f"line {p.line}: {p.message}" for p in result.reports[1].rejects]
        assert expected in problems, (name, problems)
        assert daily_rows(store) == 0, name


def test_hi06_skip_bad_imports_the_valid_rows(store, tmp_path):
    text, _ = MALFORMED["duplicate.csv"]
    path = write(tmp_path, "dup.csv", text + "CCC,2024-01-02,1,2,0.5,1.5,7\n")
    result = import_files(store, [path], DAILY, skip_bad=True)
    assert result.committed and result.written == 3
    assert len(result.reports[0].rejects) == 1
    stored = store.read_daily().set_index("symbol")
    assert stored.loc["AAA", "close"] == 10.5  # the first occurrence wins
    assert sorted(stored.index) == ["AAA", "BBB", "CCC"]


UNREADABLE = [
    ("missing.csv", None, "no such file"),
    ("empty.csv", b"", "empty file (0 bytes)"),
    ("empty.csv.gz", b"", "empty file (0 bytes)"),
    ("header_only.csv", HEADER.encode(), "no data rows"),
    ("corrupt.csv.gz", b"this is not gzip", "not a valid gzip file"),
    ("wrong.csv", b"name,when,price\nAAA,2024-01-02,10\n", "missing column(s)"),
    ("no_volume.csv", b"ticker,date,open,high,low,close\nA,2024-01-02,1,2,1,2\n",
     "missing column(s) volume; found: ticker, date, open, high, low, close"),
    ]  # fmt: skip


def test_hi07_unreadable_files_raise_clear_errors(store, tmp_path):
    good = write(tmp_path, "good.csv", HEADER + "ZZZ,2024-01-02,10,11,9,10.5,100\n")
    for name, content, message in UNREADABLE:
        path = tmp_path / name
        if content is not None:
            path.write_bytes(content)
        with pytest.raises(HistoryError) as info:
            import_files(store, [good, path], DAILY)
        assert message in str(info.value) and name in str(info.value)
        assert daily_rows(store) == 0


def test_hi08_gzip_with_empty_payload_is_no_data(tmp_path):
    path = tmp_path / "hollow.csv.gz"
    path.write_bytes(gzip.compress(b""))
    with pytest.raises(HistoryError, match="empty file"):
        load_file(path, DAILY)


def test_hi09_repairs_are_reported_and_strict_rejects_them(store, tmp_path):
    text = HEADER + (
        "T,2021-06-11,22.99,23.08,0.0,23.08,814017\n"  # a zero low: missing print
        "HYG,2026-08-21,79.66,79.65,79.55,79.61,37522909\n"  # high 1 cent short
    )
    path = write(tmp_path, "glitch.csv", text)
    bars, report = load_file(path, DAILY)
    assert [p.line for p in report.repairs] == [2, 3]
    assert report.repairs[0].message == "repaired low 0 -> 22.99"
    fixed = bars.set_index("symbol")
    assert fixed.loc["T", "low"] == 22.99 and fixed.loc["HYG", "high"] == 79.66
    _, strict = load_file(path, DAILY, strict=True)
    assert [p.line for p in strict.rejects] == [2, 3]
    assert not import_files(store, [path], DAILY, strict=True).committed
    assert daily_rows(store) == 0


def test_hi10_column_aliases_blank_lines_and_symbol_option(tmp_path):
    text = ("Ticker, Date ,Open,High,Low,Close,Adj Close,Vol\n"
            "aapl,2024-01-02,10,11,9,10,5,100\n\n"
            "aapl,2024-01-03,10,12,9,11,5.5,100\n")  # fmt: skip
    bars, report = load_file(write(tmp_path, "a.csv", text), DAILY)
    assert report.adjusted and bars["symbol"].tolist() == ["AAPL", "AAPL"]
    assert bars["close"].tolist() == [5.0, 5.5]
    bad = text + "aapl,2024-01-04,10,11,9,x,5,100\n"
    _, report = load_file(write(tmp_path, "b.csv", bad), DAILY)
    assert [p.line for p in report.rejects] == [5]  # the blank line still counts
    single = "date,open,high,low,close,volume\n2024-01-02,1,2,1,2,3\n"
    bars, _ = load_file(write(tmp_path, "c.csv", single), DAILY, symbol="msft")
    assert bars["symbol"].tolist() == ["MSFT"]
    with pytest.raises(HistoryError, match="symbol/ticker"):
        load_file(tmp_path / "c.csv", DAILY)


def test_hi11_parquet_matches_csv(tmp_path):
    frame = pd.read_csv(SPLITS)
    frame["date"] = pd.to_datetime(frame["date"])
    path = tmp_path / "splits.parquet"
    frame.to_parquet(path)
    from_parquet, report = load_file(path, DAILY)
    from_csv, _ = load_file(SPLITS, DAILY)
    assert report.rows == 126 and not report.rejects
    pd.testing.assert_frame_equal(
        from_parquet.reset_index(drop=True),
        from_csv.reset_index(drop=True),
        check_dtype=False,
    )


# ----------------------------------------------------------------- minute
def test_hi12_minute_offsets_become_utc_bar_starts(store):
    rows = raw_rows(MINUTES)
    result = import_files(store, [MINUTES], MINUTE)
    assert result.committed and result.written == len(rows) == 1186
    stored = store.read_minute(["SPY"])
    assert str(stored["ts"].iloc[0]) == "2019-12-23 14:30:00+00:00"
    oracle = [r for r in rows if r["symbol"] == "SPY"]
    expected = pd.to_datetime([r["datetime"] for r in oracle], utc=True)
    assert (stored["ts"].to_numpy() == expected.to_numpy()).all()
    assert stored["close"].tolist() == [float(r["close"]) for r in oracle]


def test_hi13_minute_naive_times_use_tz_and_epochs_work():
    naive = pd.Series(["2024-07-01 09:30:00", "2024-01-02 09:30"])
    got = parse_when(naive, MINUTE, tz="America/New_York")
    assert [str(t) for t in got] == [
        "2024-07-01 13:30:00+00:00",
        "2024-01-02 14:30:00+00:00",
    ]
    assert (
        str(parse_when(naive, MINUTE, tz="UTC").iloc[0]) == "2024-07-01 09:30:00+00:00"
    )
    epoch = pd.Series([1_719_840_600_000])
    assert str(parse_when(epoch, MINUTE).iloc[0]) == "2024-07-01 13:30:00+00:00"
    assert str(parse_when(epoch, DAILY).iloc[0]) == "2024-07-01 00:00:00"


def test_hi13b_minute_date_and_time_columns(tmp_path):
    text = (
        "Date,Time,Symbol,Open,High,Low,Close,Volume\n2024-07-01,09:30,spy,1,2,1,2,3\n"
    )
    bars, report = load_file(write(tmp_path, "dt.csv", text), MINUTE)
    assert not report.rejects
    assert str(bars["ts"].iloc[0]) == "2024-07-01 13:30:00+00:00"


def test_hi14_minute_validation_rejects_duplicates_and_odd_seconds(tmp_path):
    text = ("symbol,timestamp,open,high,low,close,volume\n"
            "SPY,2024-01-02T14:30:00Z,1,2,1,2,3\n"
            "SPY,2024-01-02 09:30:00-05:00,1,2,1,2,3\n"
            "SPY,2024-01-02T14:31:30Z,1,2,1,2,3\n")  # fmt: skip
    _, report = load_file(write(tmp_path, "m.csv", text), MINUTE)
    messages = {p.line: p.message for p in report.rejects}
    assert messages[3].startswith("duplicate key SPY 2024-01-02 14:30:00+00:00")
    assert messages[4].startswith("timestamp not on a whole minute")


# ------------------------------------------------------------------- demo
def test_hi15_real_import_replaces_demo_data(store):
    demo = pd.DataFrame(
        {"symbol": ["AAPL", "ZZZ"], "date": ["2013-03-01", "2013-03-01"],
         "open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5, "volume": 10.0}
    )  # fmt: skip
    store.upsert_daily_bars(demo, source="demo")
    store.set_meta(DEMO_KEY, "1")
    result = import_files(store, [QUANDL], DAILY)
    assert result.demo_replaced == 1  # AAPL's demo row was replaced by the import
    assert store.get_meta(DEMO_KEY) is None
    stored = store.read_daily()
    assert "demo" not in set(stored["source"]) and len(stored) == 610
    assert store.read_daily(["AAPL"], start="2013-03-01")["close"].iloc[0] > 10


def test_hi16_reimport_is_idempotent_and_updates_changes(store, tmp_path):
    import_files(store, [SPLITS], DAILY)
    before = store.read_daily()
    import_files(store, [SPLITS], DAILY)
    pd.testing.assert_frame_equal(before, store.read_daily())
    changed = pd.read_csv(SPLITS)
    changed.loc[0, ["close", "adjusted_close"]] = [
        changed.loc[0, "high"],
        changed.loc[0, "adjusted_close"]
        * changed.loc[0, "high"]
        / changed.loc[0, "close"],
    ]
    path = tmp_path / "changed.csv"
    changed.to_csv(path, index=False)
    import_files(store, [path], DAILY)
    after = store.read_daily()
    diff = (after[["close"]] != before[["close"]]).any(axis=1)
    assert int(diff.sum()) == 1


# -------------------------------------------------------------------- CLI
def test_hi17_cli_reports_rejects_and_exit_codes(tmp_path, monkeypatch, capsys):
    from dashapp.cli import main

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("TICKSTOCK_DATA_DIR", str(tmp_path))
    days = [d.date() for d in pd.bdate_range("2024-01-02", periods=29)]
    lines = [HEADER.strip()] + [f"AAA,{d},10,11,9,10.5,100" for d in days[:7]]
    lines += [f"AAA,{d},10,9,11,10.5,100" for d in days[7:]]
    bad = write(tmp_path, "many_bad.csv", "\n".join(lines) + "\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["import-daily", str(bad), "--show", "3"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 1
    assert "22 row(s) rejected" in out and "... and 19 more" in out
    assert "line 9: high < low" in out and "nothing committed" in out
    with pytest.raises(SystemExit) as exit_info:
        main(["import-daily", str(bad), "--skip-bad"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0 and "wrote 7 rows into ohlcv_daily" in out
    with pytest.raises(SystemExit) as exit_info:
        main(["import-minute", str(MINUTES)])
    assert exit_info.value.code == 0
    assert "wrote 1,186 rows into ohlcv_1min" in capsys.readouterr().out


def test_hi18_progress_callback_counts_every_row(sqlite_store):
    ticks: list[int] = []

    class Progress:
        def add_task(self, label, total):
            ticks.append(-total)
            return label

        def advance(self, task, n):
            ticks.append(n)

    import_files(sqlite_store, [QUANDL], DAILY, progress=Progress())
    totals = [t for t in ticks if t < 0]
    assert -totals[-1] == 610 and sum(t for t in ticks if t > 0) >= 610


def test_hi19_minute_vwap_and_trades_round_trip_with_nulls(store, tmp_path):
    text = ("sym,t,o,h,l,c,v,vw,n\n"
            "AAA,1735828200000,10,11,9,10.5,100,10.2,7\n"
            "AAA,1735828260000,10.5,11,10,10.8,50,,\n"
            "BBB,1735828200000,5,5,5,5,0,5,1\n")  # fmt: skip
    result = import_files(store, [write(tmp_path, "massive.csv", text)], MINUTE)
    assert result.committed and result.written == 3
    got = store.read_minute().set_index(["symbol", "ts"])
    first = got.loc[("AAA", pd.Timestamp("2025-01-02 14:30", tz="UTC"))]
    assert (first["vwap"], first["trades"]) == (10.2, 7)
    second = got.loc[("AAA", pd.Timestamp("2025-01-02 14:31", tz="UTC"))]
    assert pd.isna(second["vwap"]) and pd.isna(second["trades"])
    assert got.loc[("BBB", pd.Timestamp("2025-01-02 14:30", tz="UTC")), "volume"] == 0


def test_hi20_bulk_load_rebuilds_the_date_index_only_when_worth_it(store, monkeypatch):
    from sqlalchemy import inspect

    from dashapp.store import bulk

    decisions: list[bool] = []
    original = bulk.BulkLoadMixin._rebuild_indexes

    def spy(conn, table, rows):
        decisions.append(original(conn, table, rows))
        return decisions[-1]

    monkeypatch.setattr(bulk, "BULK_REINDEX_ROWS", 100)
    monkeypatch.setattr(bulk.BulkLoadMixin, "_rebuild_indexes", staticmethod(spy))
    import_files(store, [QUANDL], DAILY)  # 610 rows into an empty table
    import_files(store, [SPLITS], DAILY)  # 126 rows into 610 stored
    assert decisions == [True, False]
    names = {i["name"] for i in inspect(store.engine).get_indexes("ohlcv_daily")}
    assert "ix_ohlcv_daily_date" in names and len(store.read_daily()) == 736

"""The writer tells outages from bad rows: bad rows are quarantined, never spilled."""

from __future__ import annotations

import json
import sqlite3

import pandas as pd
import pytest
from sqlalchemy import text

from dashapp.store import Store
from ingest.quarantine import (
    DATA,
    OUTAGE,
    REJECTED_PREFIX,
    UNKNOWN,
    OutageDuringSplit,
    classify,
    split_write,
)
from ingest.spill import SpillLog
from ingest.writer import BarWriter
from tests.conftest import free_port
from tests.test_ingest import locked_sqlite_store

M0 = 1_795_530_600_000  # 2026-11-24 14:30 UTC
MIN = 60_000
LONG = "L" * 30  # longer than ohlcv_1min.symbol (24)


def good_rows(minute, n=40, close=10.0):
    """Return n valid bar rows of one minute."""
    return [(f"S{i:03d}", minute, 10.0, 11.0, 9.0, close + i / 100, 100 + i, 10.1, 7)
            for i in range(n)]  # fmt: skip


def poison_rows(minute):
    """Return rows no database should take: too long, NULL price, bad time."""
    return [
        (LONG, minute, 10.0, 11.0, 9.0, 10.5, 100, 10.1, 7),
        ("NULLP", minute, None, 11.0, 9.0, 10.5, 100, 10.1, 7),
        ("FAR", 10**16, 10.0, 11.0, 9.0, 10.5, 100, 10.1, 7),
    ]


def down_store(tmp_path) -> Store:
    """Return a store whose database does not answer (nothing listens there)."""
    return Store(f"postgresql://postgres@127.0.0.1:{free_port()}/test")


def stored(store) -> pd.DataFrame:
    return store.read_minute().sort_values(["symbol", "ts"]).reset_index(drop=True)


def assert_good_rows_stored(store, rows):
    got = stored(store).set_index(["symbol", "ts"])
    assert len(got) == len(rows)
    for sym, ts, o, h, lo, c, v, vw, _n in rows:
        bar = got.loc[(sym, pd.Timestamp(ts, unit="ms", tz="UTC"))]
        assert (bar.open, bar.high, bar.low, bar.close, bar.volume, bar.vwap) == (
            o, h, lo, c, v, vw,
        )  # fmt: skip


# ------------------------------------------------------------- classify
def test_classify_tells_outages_from_bad_rows(pg_store, tmp_path):
    def error_of(store, rows):
        with pytest.raises(Exception) as info:
            store.upsert_minute_tuples(rows)
        return classify(info.value)

    assert error_of(pg_store, [poison_rows(M0)[0]]) == DATA  # value too long
    assert error_of(pg_store, [poison_rows(M0)[1]]) == DATA  # NOT NULL
    assert error_of(pg_store, [poison_rows(M0)[2]]) == DATA  # date out of range
    assert error_of(down_store(tmp_path), good_rows(M0, 2)) == OUTAGE
    locked = locked_sqlite_store(tmp_path / "l.db")
    blocker = sqlite3.connect(tmp_path / "l.db", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        assert error_of(locked, good_rows(M0, 2)) == OUTAGE  # database is locked
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert classify(RuntimeError("something else")) == UNKNOWN


def test_split_write_isolates_bad_rows_and_gives_up_on_unknown_errors():
    written: list = []

    def write(rows):
        if any(r[0] == "BAD" for r in rows):
            raise ValueError("bad row")
        written.extend(rows)

    rows = [("A", 1), ("BAD", 2), ("B", 3), ("C", 4), ("BAD", 5), ("D", 6)]
    n, bad = split_write(write, rows, ValueError("bad row"))
    assert n == 4 and [r for r, _why in bad] == [("BAD", 2), ("BAD", 5)]
    assert sorted(written) == [("A", 1), ("B", 3), ("C", 4), ("D", 6)]
    assert all(why == "ValueError: bad row" for _r, why in bad)

    def broken(rows):
        raise RuntimeError("no table")

    with pytest.raises(OutageDuringSplit):
        split_write(broken, rows, RuntimeError("no table"))


# ------------------------------------------------------------- live batches
@pytest.mark.parametrize("parallel", [1, 2])
def test_one_bad_row_among_good_ones_is_quarantined_not_spilled(
    store, tmp_path, parallel
):
    n = 3000 if parallel > 1 else 60  # big enough for PostgreSQL's parallel COPY
    good = good_rows(M0, n)
    poison = poison_rows(M0)
    batch = good[: n // 2] + [poison[0]] + good[n // 2 :] + poison[1:]
    writer = BarWriter(store, tmp_path / "spill", parallel=parallel).start()
    try:
        writer.submit(batch)
        assert writer.wait_idle(30)
        health = writer.health()
    finally:
        assert writer.stop()
    assert_good_rows_stored(store, good)
    assert health["db_ok"] and health["state"] == "ok"
    assert health["quarantined_rows"] == 3 and health["written_rows"] == n
    assert health["spilled_rows"] == 0 and health["write_errors"] == 0
    assert "quarantined" in health["last_data_error"]
    assert not (tmp_path / "spill").exists() or not list((tmp_path / "spill").iterdir())
    rejected = store.rejected_bars_frame()
    assert store.count_rejected_bars() == 3
    assert set(rejected["symbol"]) == {LONG, "NULLP", "FAR"}
    assert set(rejected["source"]) == {"live"}
    by_sym = rejected.set_index("symbol")
    assert json.loads(by_sym.loc[LONG, "raw"]) == list(poison[0])
    assert by_sym.loc[LONG, "ts"] == pd.Timestamp(M0, unit="ms", tz="UTC")
    assert pd.isna(by_sym.loc["FAR", "ts"])  # beyond any datetime: raw keeps it
    assert all(by_sym["reason"].str.len() > 0)


def test_next_minutes_keep_flowing_after_a_poison_row(pg_store, tmp_path):
    writer = BarWriter(pg_store, tmp_path / "spill", linger_s=0.001).start()
    try:
        writer.submit(good_rows(M0, 10) + poison_rows(M0)[:1])
        for k in range(1, 4):
            writer.submit(good_rows(M0 + k * MIN, 10))
        assert writer.wait_idle(20)
    finally:
        writer.stop()
    assert len(pg_store.read_minute()) == 40
    assert writer.stats["quarantined_rows"] == 1
    assert writer.stats["spilled_rows"] == 0 and writer.health()["db_ok"]


# ------------------------------------------------------------- spill replay
def test_spill_replay_quarantines_poison_and_a_restart_is_not_blocked(store, tmp_path):
    spill_dir = tmp_path / "spill"
    good = good_rows(M0, 30) + good_rows(M0 + MIN, 30)
    poison = poison_rows(M0 + MIN)
    # The database is away: the writer spills everything, poison included
    # (submitted straight to the writer, as if the validator were bypassed).
    down = BarWriter(down_store(tmp_path), spill_dir, probe_max_s=60).start()
    down.submit(good[:30] + poison[:1])
    down.submit(good[30:] + poison[1:])
    down.submit([(["NOT", "TEXT"], M0, 1.0), ("SHORT",)])  # not even bar-shaped
    deadline = pd.Timestamp.now() + pd.Timedelta(seconds=10)
    while down.stats["spilled_rows"] < len(good) + 5 and pd.Timestamp.now() < deadline:
        pass
    down.stop(timeout=2)
    assert down.stats["spilled_rows"] == len(good) + 5
    assert SpillLog(spill_dir).files()

    # Start against the real database: replay writes the good rows and
    # quarantines the poison ones; the spill file is gone.
    writer = BarWriter(store, spill_dir).start()
    try:
        assert writer.stats["spill_pending_rows"] == len(good) + 5
        assert writer.wait_idle(20), writer.health()
        health = writer.health()
    finally:
        assert writer.stop()
    assert health["db_ok"] and health["quarantined_rows"] == 5
    assert health["spill_pending_rows"] == 0
    assert not SpillLog(spill_dir).files()
    assert_good_rows_stored(store, good)
    rejected = store.rejected_bars_frame()
    assert set(rejected["symbol"]) == {LONG, "NULLP", "FAR", "['NOT', 'TEXT']", "SHORT"}
    assert set(rejected["source"]) == {"spill"}

    # A second start finds nothing to replay and writes new bars at once.
    again = BarWriter(store, spill_dir).start()
    try:
        assert again.stats["spill_pending_rows"] == 0
        again.submit(good_rows(M0 + 2 * MIN, 5))
        assert again.wait_idle(5)
        assert again.health()["db_ok"] and again.stats["written_rows"] == 5
    finally:
        again.stop()
    assert store.count_rejected_bars() == 5


def test_rejected_rows_go_to_a_file_when_the_table_is_unwritable(
    sqlite_store, tmp_path
):
    with sqlite_store.connect() as conn:
        conn.execute(text("DROP TABLE rejected_bars"))
    spill_dir = tmp_path / "spill"
    writer = BarWriter(sqlite_store, spill_dir).start()
    try:
        writer.submit(good_rows(M0, 5) + poison_rows(M0))
        assert writer.wait_idle(10)
    finally:
        writer.stop()
    assert len(sqlite_store.read_minute()) == 5
    files = sorted(spill_dir.glob(f"{REJECTED_PREFIX}*.jsonl"))
    assert len(files) == 1 and not SpillLog(spill_dir).files()
    kept = [json.loads(line) for line in files[0].read_text().splitlines()]
    assert {k["symbol"] for k in kept} == {LONG, "NULLP", "FAR"}
    assert all(k["reason"] and k["raw"] and k["rejected_at"] for k in kept)
    assert writer.health()["quarantine_file_rows"] == 3


def test_sqlite_gets_the_checks_postgresql_makes_itself(sqlite_store, tmp_path):
    """SQLite would store a 30-character symbol or a string price as given."""
    odd = [
        (LONG, M0, 10.0, 11.0, 9.0, 10.5, 100, 10.1, 7),
        ("STR", M0, "10.0", 11.0, 9.0, 10.5, 100, 10.1, 7),
        ("BOOL", M0, 10.0, 11.0, 9.0, 10.5, True, 10.1, 7),
        ("NAN", M0, 10.0, 11.0, 9.0, float("nan"), 100, 10.1, 7),
    ]
    writer = BarWriter(sqlite_store, tmp_path / "spill").start()
    try:
        writer.submit(good_rows(M0, 8) + odd)
        assert writer.wait_idle(10)
    finally:
        writer.stop()
    assert_good_rows_stored(sqlite_store, good_rows(M0, 8))
    rejected = sqlite_store.rejected_bars_frame()
    assert set(rejected["symbol"]) == {LONG, "STR", "BOOL", "NAN"}
    assert writer.stats["quarantined_rows"] == 4 and writer.stats["spilled_rows"] == 0


def test_a_nul_character_is_quarantined_on_postgres(pg_store, tmp_path):
    nul = ("A\x00B", M0, 10.0, 11.0, 9.0, 10.5, 100, 10.1, 7)
    writer = BarWriter(pg_store, tmp_path / "spill").start()
    try:
        writer.submit(good_rows(M0, 4) + [nul])
        assert writer.wait_idle(10)
    finally:
        writer.stop()
    assert_good_rows_stored(pg_store, good_rows(M0, 4))
    rejected = pg_store.rejected_bars_frame()
    assert list(rejected["symbol"]) == ["A\\x00B"]
    assert json.loads(rejected["raw"].iloc[0])[0] == "A\x00B"
    assert writer.stats["spilled_rows"] == 0 and writer.health()["db_ok"]

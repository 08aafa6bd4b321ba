"""Live ingest units: frame decoding, minute roll-up, live bars, writer, sessions."""

from __future__ import annotations

import datetime as dt
import sqlite3

import orjson
import pandas as pd
import pytest
from sqlalchemy import event

from dashapp.store import MINUTE_COLUMNS, Store, make_engine
from dashapp.store.livebars import LIVE_COLUMNS, LiveBar, LiveBarStore
from ingest import sessions
from ingest.backoff import backoff_delay
from ingest.bars import BarAssembler
from ingest.minute_state import MS_PER_MINUTE, round4
from ingest.spill import SpillLog
from ingest.stream_protocol import (
    SUBSCRIBE_MAX_BYTES,
    SUBSCRIBE_MAX_CHANNELS,
    StreamConfig,
    subscribe_frames,
)
from ingest.writer import BarWriter

M0 = 1_795_530_600_000  # 2026-11-24 14:30 UTC, a minute start


def a_event(sym, s, o, h, lo, c, v, vw):
    """Return one per-second aggregate event as Massive sends it."""
    return {
        "ev": "A", "sym": sym, "v": v, "av": 10_000, "op": 10.0, "vw": vw,
        "o": o, "c": c, "h": h, "l": lo, "a": 10.0, "z": 5, "s": s, "e": s + 1000,
    }  # fmt: skip


def am_event(sym, s, o, h, lo, c, v, vw):
    """Return one minute aggregate event as Massive sends it."""
    ev = a_event(sym, s, o, h, lo, c, v, vw)
    ev.update(ev="AM", e=s + MS_PER_MINUTE)
    return ev


def frame(*events) -> bytes:
    return orjson.dumps(list(events))


@pytest.fixture
def emitted():
    return []


@pytest.fixture
def asm(emitted):
    return BarAssembler(emitted.extend, LiveBarStore(), grace_ms=5_000)


def seconds_of_minute(minute, sym="AAA", n=60):
    """Return n per-second events of one minute with known values."""
    out = []
    for k in range(n):
        p = 10.0 + k / 100
        out.append(a_event(sym, minute + k * 1000, p, p + 0.05, p - 0.05, p + 0.01,
                           100 + k, round4(p + 0.002)))  # fmt: skip
    return out


def expected_rollup(events):
    """Roll per-second events up the way the product specifies (by `s`)."""
    by_s = {e["s"]: e for e in events}  # a re-sent second replaces the earlier one
    secs = [by_s[s] for s in sorted(by_s)]
    volume = sum(e["v"] for e in secs)
    pv = sum(e["vw"] * e["v"] for e in secs)
    return (
        secs[0]["sym"],
        secs[0]["s"] - secs[0]["s"] % MS_PER_MINUTE,
        secs[0]["o"],
        max(e["h"] for e in secs),
        min(e["l"] for e in secs),
        secs[-1]["c"],
        volume,
        round4(pv / volume),
        None,
    )


# ------------------------------------------------------------------ assembler
def test_am_events_become_rows_keyed_by_minute_start(asm, emitted):
    asm.feed(frame(am_event("AAA", M0, 10, 11, 9, 10.5, 500, 10.2)))
    asm.feed(frame(am_event("AAA", M0, 10, 11, 9, 10.6, 600, 10.3)))  # correction
    assert emitted == [
        ("AAA", M0, 10.0, 11.0, 9.0, 10.5, 500, 10.2, None),
        ("AAA", M0, 10.0, 11.0, 9.0, 10.6, 600, 10.3, None),
    ]
    assert asm.last_am_minute == M0
    assert asm.counts["events_AM"] == 2


def test_resent_second_replaces_and_is_not_double_counted(asm, emitted):
    asm.feed(frame(a_event("AAA", M0 - 1000, 9, 9, 9, 9, 1, 9)))  # makes M0 complete
    events = seconds_of_minute(M0, n=30)
    asm.feed(frame(*events[:20]))
    resent = dict(events[5], v=999, c=12.0, h=12.5, vw=11.0)
    asm.feed(frame(resent, *events[20:]))
    asm.feed(frame(events[29]))  # identical re-send of the newest second
    asm.publish(M0 + 31_000)
    live = asm.live.get("AAA")
    want = expected_rollup([*events, resent, events[29]])
    got = (live.symbol, live.ts, live.open, live.high, live.low, live.close,
           live.volume, live.vwap, live.trades)  # fmt: skip
    assert got == want
    assert live.volume == sum(e["v"] for e in events) - events[5]["v"] + 999
    assert not live.final and live.session == sessions.REGULAR  # 09:30 ET
    assert asm.counts["resent_seconds"] == 2
    assert emitted == []  # live bars are not written per second


def test_missing_am_is_rolled_up_after_grace_and_am_replaces_it(asm, emitted):
    asm.feed(frame(a_event("AAA", M0 - 1000, 9, 9, 9, 9, 1, 9)))
    events = seconds_of_minute(M0)
    asm.feed(frame(*events))
    asm.feed(frame(*seconds_of_minute(M0 + MS_PER_MINUTE, n=3)))
    assert asm.expire(M0 + MS_PER_MINUTE + 4_999) == 0  # still in grace
    assert emitted == []
    assert asm.expire(M0 + MS_PER_MINUTE + 5_000) == 1
    assert emitted == [expected_rollup(events)]
    # M0 is written once only; the quiet next minute rolls up on its own.
    assert asm.expire(M0 + 3 * MS_PER_MINUTE) == 1
    assert [r[1] for r in emitted] == [M0, M0 + MS_PER_MINUTE]
    late = am_event("AAA", M0, 10, 11, 9, 10.5, 500, 10.2)
    asm.feed(frame(late))
    assert emitted[-1][:2] == ("AAA", M0) and emitted[-1][5] == 10.5


def test_am_arrival_cancels_the_rollup(asm, emitted):
    asm.feed(frame(a_event("AAA", M0 - 1000, 9, 9, 9, 9, 1, 9)))
    asm.feed(frame(*seconds_of_minute(M0)))
    asm.feed(frame(am_event("AAA", M0, 10, 11, 9, 10.5, 500, 10.2)))
    assert asm.expire(M0 + 10 * MS_PER_MINUTE) == 0
    assert len(emitted) == 1
    asm.publish(M0 + 70_000)
    assert asm.live.get("AAA").final


def test_minute_cut_by_a_reconnect_is_left_to_the_backfill(asm, emitted):
    asm.feed(frame(a_event("AAA", M0 - 1000, 9, 9, 9, 9, 1, 9)))
    asm.feed(frame(*seconds_of_minute(M0, n=20)))
    asm.connection_reset()  # the connection dropped during M0
    asm.feed(frame(*seconds_of_minute(M0, n=60)[40:]))
    assert asm.expire(M0 + 10 * MS_PER_MINUTE) == 0
    assert emitted == []
    assert asm.counts["skipped_incomplete"] == 2  # the first minute and M0


def test_malformed_and_unknown_events_are_counted_and_skipped(asm, emitted):
    good = am_event("AAA", M0, 10, 11, 9, 10.5, 500, 10.2)
    wrong = dict(good, o="abc", c=[], s="2020-09-13T12:26:40Z")
    asm.feed(b"this is not JSON")
    asm.feed(b'[{"ev":"AM","sym":"AAA","v":12')
    asm.feed(orjson.dumps(good))  # an object, not an array
    asm.feed(frame({"ev": "AM", "sym": "AAA", "v": 1}, wrong, 7, good))
    asm.feed(frame({"ev": "ZZ", "x": 1}, {"ev": "T", "sym": "AAA"}))
    asm.feed(b"[]")
    assert asm.feed(frame({"ev": "status", "status": "success"})) == [
        {"ev": "status", "status": "success"}
    ]
    assert emitted == [("AAA", M0, 10.0, 11.0, 9.0, 10.5, 500, 10.2, None)]
    assert asm.counts["bad_frames"] == 3
    assert asm.counts["malformed"] == 3
    assert asm.counts["unknown"] == 2
    assert asm.unknown_kinds == {"ZZ": 1, "T": 1}


def test_am_not_on_a_minute_boundary_is_malformed(asm, emitted):
    asm.feed(frame(am_event("AAA", M0 + 1000, 10, 11, 9, 10.5, 500, 10.2)))
    assert emitted == [] and asm.counts["malformed"] == 1


def test_drain_flushes_ended_minutes_only(asm, emitted):
    asm.feed(frame(a_event("AAA", M0 - 1000, 9, 9, 9, 9, 1, 9)))
    asm.feed(frame(*seconds_of_minute(M0)))
    asm.feed(frame(*seconds_of_minute(M0 + MS_PER_MINUTE, n=10)))
    rows = asm.drain()
    assert [r[1] for r in rows] == [M0]


# ------------------------------------------------------------------ live bars
def test_live_store_keeps_newest_bar_and_reads_like_minutes():
    live = LiveBarStore()
    bar = LiveBar("AAA", M0 + MS_PER_MINUTE, 1, 2, 0.5, 1.5, 10, 1.2, None, False, M0)
    old = bar._replace(ts=M0, close=9.0)
    v0 = live.version
    assert live.publish([bar, old]) == 1
    assert live.version == v0 + 1
    assert live.get("AAA").close == 1.5
    snap = live.snapshot(["AAA", "ZZZ"])
    assert list(snap.columns) == list(LIVE_COLUMNS)
    assert set(MINUTE_COLUMNS) <= set(snap.columns)
    assert snap["ts"].iloc[0] == pd.Timestamp(M0 + MS_PER_MINUTE, unit="ms", tz="UTC")
    assert len(live.snapshot(include_final=True)) == 1
    assert live.snapshot([]).empty


# ---------------------------------------------------------------- protocol
def test_subscribe_frames_are_bounded_and_complete():
    channels = StreamConfig("ws://x", "k", [f"S{i:05d}" for i in range(2500)], True)
    frames = subscribe_frames(channels.channels())
    seen = []
    for raw in frames:
        msg = orjson.loads(raw)
        assert msg["action"] == "subscribe"
        parts = msg["params"].split(",")
        assert len(parts) <= SUBSCRIBE_MAX_CHANNELS
        assert len(msg["params"]) <= SUBSCRIBE_MAX_BYTES
        seen += parts
    assert seen == channels.channels() and len(seen) == 5000
    whole = StreamConfig("ws://x", "k", None, False).channels()
    assert whole == ["AM.*"]


def test_backoff_first_retry_within_a_second_and_capped_at_a_minute():
    firsts = [backoff_delay(0, 1.0, 60.0) for _ in range(200)]
    assert max(firsts) <= 1.0 and min(firsts) >= 0.5
    late = [backoff_delay(k, 1.0, 60.0) for k in range(5, 40)]
    assert max(late) <= 60.0 and min(late) >= 16.0
    assert len(set(firsts)) > 100  # jittered


# ------------------------------------------------------------------ sessions
@pytest.mark.parametrize(
    ("ts", "tag"),
    [
        ("2024-07-01 07:59", sessions.CLOSED),  # 03:59 ET
        ("2024-07-01 08:00", sessions.PRE),
        ("2024-07-01 13:29", sessions.PRE),
        ("2024-07-01 13:30", sessions.REGULAR),
        ("2024-07-01 19:59", sessions.REGULAR),
        ("2024-07-01 20:00", sessions.POST),
        ("2024-07-01 23:59", sessions.POST),
        ("2024-07-02 00:00", sessions.CLOSED),
        ("2024-12-25 15:00", sessions.CLOSED),  # Christmas
        ("2024-07-06 15:00", sessions.CLOSED),  # Saturday
        ("2024-11-29 17:59", sessions.REGULAR),  # day after Thanksgiving: 13:00 close
        ("2024-11-29 18:00", sessions.POST),
        ("2024-11-29 22:00", sessions.CLOSED),
        ("2024-01-02 14:29", sessions.PRE),  # winter time: open 14:30 UTC
        ("2024-01-02 14:30", sessions.REGULAR),
    ],
)
def test_sessions_tag_bar_starts(ts, tag):
    stamp = pd.Timestamp(ts, tz="UTC")
    assert sessions.session_of(stamp) == tag
    assert sessions.session_of(int(stamp.value // 1_000_000)) == tag
    assert list(sessions.tag_sessions(pd.Series([stamp]))) == [tag]


def test_sessions_vectorised_matches_scalar_and_knows_early_closes():
    stamps = pd.date_range(
        "2024-11-27 08:00", "2024-12-02 02:00", freq="7min", tz="UTC"
    )
    tags = sessions.tag_sessions(stamps)
    assert list(tags) == [sessions.session_of(t) for t in stamps]
    bounds = sessions.session_bounds(dt.date(2024, 11, 29))
    assert bounds.early_close and bounds.close.hour == 18
    assert sessions.session_bounds(dt.date(2024, 11, 28)) is None
    assert sessions.next_active("2024-11-28 12:00Z") == pd.Timestamp(
        "2024-11-29 09:00", tz="UTC"
    )


@pytest.mark.parametrize(
    "now, pre_open",
    [
        ("2026-12-05 14:55Z", "2026-12-04 09:00Z"),  # Saturday: Friday's
        ("2026-12-07 08:59Z", "2026-12-04 09:00Z"),  # Monday before 04:00 ET
        ("2026-12-07 09:00Z", "2026-12-07 09:00Z"),  # Monday at pre-open
        ("2024-11-29 08:00Z", "2024-11-27 09:00Z"),  # Friday after Thanksgiving
    ],
)
def test_last_session_start_skips_weekends_and_holidays(now, pre_open):
    # The restart backfill reaches back to it (not only 24 h): weekend restarts
    # still fetch the last session's tail.
    assert sessions.last_session_start(now) == pd.Timestamp(pre_open)


# -------------------------------------------------------------------- store
def _rows(minute, n=50, close=10.0, vol=100):
    return [(f"S{i:03d}", minute, 10.0, 11.0, 9.0, close, vol, 10.1, 7)
            for i in range(n)]  # fmt: skip


def test_upsert_minute_tuples_inserts_replaces_and_dedupes(store):
    assert store.upsert_minute_tuples(_rows(M0), fresh=True) == 50
    # A "fresh" batch that is not fresh falls back to the upsert.
    store.upsert_minute_tuples(
        _rows(M0, close=12.0) + _rows(M0, close=13.0), fresh=True
    )
    store.upsert_minute_tuples(_rows(M0 + MS_PER_MINUTE, n=3, vol=5))
    store.checkpoint()
    got = store.read_minute()
    assert len(got) == 53
    first = got[got["ts"] == pd.Timestamp(M0, unit="ms", tz="UTC")]
    assert set(first["close"]) == {13.0} and set(first["trades"]) == {7}
    assert got["ts"].max() == pd.Timestamp(M0 + MS_PER_MINUTE, unit="ms", tz="UTC")
    assert store.data_version().seq >= 3


def test_parallel_minute_upsert_writes_every_row_once(store):
    rows = _rows(M0, n=5000)
    assert store.upsert_minute_tuples(rows, fresh=True, parallel=3) == 5000
    again = _rows(M0, n=5000, close=42.0) + _rows(M0 + MS_PER_MINUTE, n=5000)
    assert store.upsert_minute_tuples(again, fresh=True, parallel=3) == 10_000
    got = store.read_minute()
    assert len(got) == 10_000 and not got.duplicated(["symbol", "ts"]).any()
    first = got[got["ts"] == pd.Timestamp(M0, unit="ms", tz="UTC")]
    assert set(first["close"]) == {42.0}


# ------------------------------------------------------------------- writer
def locked_sqlite_store(path):
    """Return a SQLite store that gives up quickly on a locked database file."""
    url = f"sqlite:///{path}"
    engine = make_engine(url)

    @event.listens_for(engine, "connect")
    def _short_busy(dbapi_conn, _record):
        dbapi_conn.execute("PRAGMA busy_timeout=50")

    store = Store(url, engine=engine)
    store.init_schema()
    return store


def test_writer_spills_while_database_is_locked_then_replays(tmp_path):
    store = locked_sqlite_store(tmp_path / "w.db")
    writer = BarWriter(store, tmp_path / "spill", linger_s=0.001).start()
    writer.submit(_rows(M0, n=10))
    assert writer.wait_idle(5)
    blocker = sqlite3.connect(tmp_path / "w.db", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        writer.submit(_rows(M0 + MS_PER_MINUTE, n=10))
        writer.submit(_rows(M0, n=10, close=11.0))  # a correction while down
        deadline = pd.Timestamp.now() + pd.Timedelta(seconds=5)
        while writer.stats["spilled_rows"] < 20 and pd.Timestamp.now() < deadline:
            pass
        assert writer.stats["spilled_rows"] == 20
        assert not writer.health()["db_ok"]
        assert SpillLog(tmp_path / "spill").files()
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert writer.wait_idle(15)
    assert writer.stop()
    got = store.read_minute()
    assert len(got) == 20
    assert set(got[got["ts"] == got["ts"].min()]["close"]) == {11.0}
    assert writer.stats["replayed_rows"] == 20
    assert not SpillLog(tmp_path / "spill").files()


def test_writer_overflow_spills_and_keeps_newest_version(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'o.db'}")
    store.init_schema()
    writer = BarWriter(store, tmp_path / "spill", max_queue_rows=25)
    writer.submit(_rows(M0, n=20, close=1.0))  # queued (writer not started)
    writer.submit(_rows(M0, n=20, close=2.0))  # queue full: spilled to disk
    writer.submit(_rows(M0 + MS_PER_MINUTE, n=5))  # queued again
    assert writer.stats["overflow_rows"] == 20
    writer.start()
    assert writer.wait_idle(10)
    writer.stop()
    got = store.read_minute()
    assert len(got) == 25
    assert set(got[got["ts"] == got["ts"].min()]["close"]) == {2.0}


def test_spill_survives_a_restart(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    store.init_schema()
    spill = SpillLog(tmp_path / "spill")
    spill.append([(1, _rows(M0, n=4))])
    spill.rotate()
    with open(spill.files()[0], "ab") as fh:
        fh.write(b'[2, [["S000", 1')  # torn last line of a crash
    writer = BarWriter(store, tmp_path / "spill").start()
    assert writer.stats["spill_pending_rows"] == 4
    assert writer.wait_idle(10)
    writer.stop()
    assert len(store.read_minute()) == 4


def test_overflow_with_an_unwritable_spill_keeps_bars_in_memory(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'u.db'}")
    store.init_schema()
    not_a_dir = tmp_path / "spill"
    not_a_dir.write_text("a file where the spill directory should be")
    writer = BarWriter(store, not_a_dir, max_queue_rows=10)
    writer.submit(_rows(M0, n=8))
    writer.submit(_rows(M0 + MS_PER_MINUTE, n=8))  # over the bound, disk fails
    assert writer.stats["spill_errors"] == 1 and writer.stats["overflow_rows"] == 0
    writer.start()
    assert writer.wait_idle(10)
    writer.stop()
    assert len(store.read_minute()) == 16


def test_rest_error_kinds_ignore_numbers_inside_urls():
    from urllib3.exceptions import MaxRetryError, ResponseError

    from ingest.massive_rest import is_fatal, is_rate_limited

    def refused(status: int, port: int) -> MaxRetryError:
        url = f"http://127.0.0.1:{port}/v2/aggs/ticker/AAA/range/1/minute/1796403000/1"
        reason = ResponseError(ResponseError.SPECIFIC_ERROR.format(status_code=status))
        return MaxRetryError(None, url, reason)

    # Ports and timestamps holding "401", "403" or "429" (seen as flaky CI).
    assert not is_fatal(refused(429, 40313)) and is_rate_limited(refused(429, 40313))
    assert not is_fatal(refused(503, 40133)) and not is_rate_limited(refused(503, 4290))
    assert is_fatal(refused(401, 8080)) and is_fatal(refused(403, 8080))
    assert is_fatal(RuntimeError('{"status":"NOT_AUTHORIZED","message":"no"}'))
    assert is_rate_limited(RuntimeError("You've exceeded the maximum requests per"))

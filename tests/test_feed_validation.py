"""Feed validation: every reject reason, valid edge cases, and the assembler path."""

from __future__ import annotations

import datetime as dt
import json
import logging
import math

import orjson
import pandas as pd
import pytest

from dashapp.store.livebars import LiveBarStore
from ingest.bars import MS_PER_MINUTE, BarAssembler
from ingest.validate import (
    BAD_PRICE,
    BAD_SYMBOL,
    BAD_VOLUME,
    FUTURE_SLACK_MS,
    MALFORMED,
    MAX_VOLUME,
    NOT_A_NUMBER,
    NOT_FINITE,
    OFF_GRID,
    OHLC_ORDER,
    OUT_OF_RANGE,
    REASONS,
    SYMBOL_MAX_LEN,
    UNSUBSCRIBED,
    FeedValidator,
    previous_session_start_ms,
)

ET = "America/New_York"
M0 = 1_795_530_600_000  # Tue 2026-11-24 14:30 UTC (09:30 ET), a minute start
NOW = M0 + 10 * MS_PER_MINUTE
SYMS = ["AAA", "BRK.B", "X" * SYMBOL_MAX_LEN]


def et_ms(text: str) -> int:
    """Return epoch ms of a New York wall time."""
    return int(pd.Timestamp(text).tz_localize(ET).value // 1_000_000)


def am(sym="AAA", s=M0, o=10.0, h=11.0, lo=9.0, c=10.5, v=500, vw=10.2, **extra):
    """Return one minute aggregate event as Massive sends it."""
    ev = {"ev": "AM", "sym": sym, "v": v, "av": 9000, "op": 10.0, "vw": vw,
          "o": o, "c": c, "h": h, "l": lo, "a": 10.0, "z": 5, "s": s,
          "e": s + MS_PER_MINUTE}  # fmt: skip
    ev.update(extra)
    return ev


def sec(sym="AAA", s=M0, o=10.0, h=10.1, lo=9.9, c=10.05, v=100, vw=10.0, **extra):
    """Return one per-second aggregate event."""
    ev = am(sym, s, o, h, lo, c, v, vw, ev="A", e=s + 1000)
    ev.update(extra)
    return ev


@pytest.fixture
def val():
    return FeedValidator(SYMS, clock_ms=lambda: NOW)


# ------------------------------------------------------------ reasons
@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"ev": "AM", "sym": "AAA", "v": 1}, MALFORMED),
        (am(sym="Y" * (SYMBOL_MAX_LEN + 1)), BAD_SYMBOL),
        (am(sym="aaa"), BAD_SYMBOL),
        (am(sym="A A"), BAD_SYMBOL),
        (am(sym=""), BAD_SYMBOL),
        (am(sym=7), BAD_SYMBOL),
        (am(sym="ZZZ"), UNSUBSCRIBED),
        (am(o=True), NOT_A_NUMBER),
        (am(v=False), NOT_A_NUMBER),
        (am(c="10.5"), NOT_A_NUMBER),
        (am(vw=None), NOT_A_NUMBER),
        (am(h=float("nan")), NOT_FINITE),
        (am(h=float("inf")), NOT_FINITE),
        (am(o=-1.0, lo=-2.0), BAD_PRICE),
        (am(lo=0.0), BAD_PRICE),
        (am(vw=-0.01), BAD_PRICE),
        (am(h=8.0), OHLC_ORDER),  # high < low
        (am(o=11.5), OHLC_ORDER),  # open above high
        (am(c=8.5), OHLC_ORDER),  # close below low
        (am(v=-1), BAD_VOLUME),
        (am(v=1e30), BAD_VOLUME),
        (am(s=M0 + 1000), OFF_GRID),
        (am(s=M0, e=M0 + 1000), OFF_GRID),
        (am(s=float(M0)), OFF_GRID),
        (am(s=0), OUT_OF_RANGE),  # 1970
        (am(s=-MS_PER_MINUTE), OUT_OF_RANGE),  # 1969
        (am(s=NOW + FUTURE_SLACK_MS), OUT_OF_RANGE),
        (am(s=NOW + 365 * 86_400_000), OUT_OF_RANGE),
        (am(s=2**62 - 2**62 % MS_PER_MINUTE), OUT_OF_RANGE),
        (sec(s=M0 + 500), OFF_GRID),
        (sec(s=M0, e=M0 + 2000), OFF_GRID),
    ],
)
def test_each_reject_reason(val, event, reason):
    kind = event.get("ev", "AM")
    assert val.reason(event, kind) == reason
    assert val.accept(event, kind, val.window(1000 if kind == "A" else 60_000)) is False
    assert val.counts == {reason: 1}


@pytest.mark.parametrize(
    "event",
    [
        am(),
        am(lo=10.0),  # low == open
        am(o=11.0, c=9.0),  # open == high, close == low
        am(o=9.0, h=9.0, lo=9.0, c=9.0),  # a flat bar
        am(v=0),
        am(v=MAX_VOLUME),
        am(o=1, h=2, lo=1, c=2, vw=1),  # integers are numbers
        am(sym="BRK.B"),
        am(sym="X" * SYMBOL_MAX_LEN),
        am(s=NOW + FUTURE_SLACK_MS - MS_PER_MINUTE),  # ends exactly at now + 5 min
        am(s=et_ms("2026-11-23 00:00")),  # midnight of the session day before
        sec(s=NOW + FUTURE_SLACK_MS - 1000),
        {k: v for k, v in am().items() if k != "e"},  # `e` is optional
    ],
)
def test_valid_edge_cases_are_accepted(val, event):
    assert val.reason(event, event["ev"]) is None
    assert val.counts == {}


def test_window_starts_at_the_session_day_before():
    lower_tue = previous_session_start_ms(NOW)
    assert lower_tue == et_ms("2026-11-23 00:00")  # Monday
    val = FeedValidator(SYMS, clock_ms=lambda: NOW)
    assert val.reason(am(s=lower_tue - MS_PER_MINUTE), "AM") == OUT_OF_RANGE
    # A Saturday: the session day is Friday, the one before it Thursday...
    saturday = et_ms("2026-11-21 12:00")
    assert previous_session_start_ms(saturday) == et_ms("2026-11-19 00:00")
    # ...and Thanksgiving (Thu 2026-11-26) is skipped.
    friday = et_ms("2026-11-27 10:00")
    assert previous_session_start_ms(friday) == et_ms("2026-11-25 00:00")
    monday = et_ms("2026-11-30 03:00")
    assert previous_session_start_ms(monday) == et_ms("2026-11-27 00:00")


def test_whole_market_checks_symbol_syntax_only():
    val = FeedValidator(None, clock_ms=lambda: NOW)
    assert val.reason(am(sym="ZZZ"), "AM") is None
    assert val.reason(am(sym="Z" * 30), "AM") == BAD_SYMBOL


def test_first_few_of_each_reason_are_logged_with_the_raw_event(caplog):
    val = FeedValidator(SYMS, clock_ms=lambda: NOW, log_first=2)
    window = val.window()
    with caplog.at_level(logging.WARNING, logger="ingest.validate"):
        for _ in range(4):
            val.accept(am(v=-7), "AM", window)
        val.accept(am(sym="QQQQ"), "AM", window)
    assert val.counts == {BAD_VOLUME: 4, UNSUBSCRIBED: 1}
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3
    assert sum(BAD_VOLUME in line and "'v': -7" in line for line in lines) == 2
    assert any("QQQQ" in line for line in lines)
    assert val.rejected == 5 and set(val.counts) <= set(REASONS)


# ------------------------------------------------------------ assembler
@pytest.fixture
def emitted():
    return []


@pytest.fixture
def asm(emitted, val):
    return BarAssembler(emitted.extend, LiveBarStore(), grace_ms=5_000, validator=val)


def frame(*events) -> bytes:
    return orjson.dumps(list(events))


def test_poison_events_do_not_stop_the_rest_of_the_frame(asm, emitted, val):
    good_a = am("AAA", M0)
    good_b = am("BRK.B", M0, o=20, h=21, lo=19, c=20.5, v=7, vw=20.2)
    poison = [
        am("AAA", 2**62 - 2**62 % MS_PER_MINUTE),  # used to end the session
        am("AAA", M0, o=True),
        am("Z" * 30, M0),
        am("AAA", M0, h=8.0),  # after the valid bar of the same minute
        am("AAA", M0, v=1e30),
        am("NOPE", M0),
    ]
    statuses = asm.feed(frame(poison[0], good_a, *poison[1:3], good_b, *poison[3:]))
    assert statuses == []
    assert emitted == [
        ("AAA", M0, 10.0, 11.0, 9.0, 10.5, 500, 10.2, None),
        ("BRK.B", M0, 20.0, 21.0, 19.0, 20.5, 7, 20.2, None),
    ]
    assert asm.counts["events_AM"] == 2
    assert val.rejected == len(poison)
    assert asm.stream_ms == M0 + MS_PER_MINUTE  # poison never moves the clock
    # The live bar is the valid one, and publishing works (no bad timestamp).
    assert asm.publish(NOW) == 2
    live = asm.live.snapshot().set_index("symbol")
    assert live.loc["AAA", "high"] == 11.0


def test_poison_second_events_never_reach_the_rollup(asm, emitted, val):
    seconds = [sec("AAA", M0 + k * 1000, c=10.0 + k / 100) for k in range(3)]
    poison = [
        sec("AAA", M0 + 3000, h=1e9, lo=-5),  # negative low
        sec("AAA", M0 + 4000, v=True),
        sec("AAA", M0 + 4500),  # off the second grid
        sec("AAA", 0),  # 1970
        sec("ZZZ", M0 + 5000),
    ]
    asm.feed(frame(seconds[0], *poison[:2], seconds[1], *poison[2:], seconds[2]))
    assert asm.counts["events_A"] == 3 and val.rejected == 5
    st = asm.states["AAA"]
    assert sorted(st.secs) == [M0, M0 + 1000, M0 + 2000]
    assert st.high == 10.1 and st.low == 9.9 and st.volume == 300
    assert "ZZZ" not in asm.states


def test_booleans_in_second_events_are_rejected_at_any_price(asm, val):
    one = {"o": 1.0, "h": 1.5, "lo": 1.0, "c": 1.2, "vw": 1.1}  # a $1 stock
    events = [
        sec("AAA", M0, **dict(one, o=True)),
        sec("AAA", M0, **dict(one, lo=True)),
        sec("AAA", M0, **dict(one, vw=True)),
        sec("AAA", M0, **dict(one, v=True)),
        sec("AAA", M0 + 1000, o=0.5, h=0.6, lo=0.5, c=0.55, v=1, vw=1),  # valid
    ]
    asm.feed(frame(*events))
    assert val.counts == {NOT_A_NUMBER: 4}
    assert asm.counts["events_A"] == 1
    assert sorted(asm.states["AAA"].secs) == [M0 + 1000]


def test_malformed_events_are_counted_as_a_reason_too(asm, val):
    asm.feed(frame({"ev": "AM", "sym": "AAA"}, sec(o="x"), am()))
    assert asm.counts["malformed"] == 2 and val.counts == {MALFORMED: 2}
    assert asm.counts["events_AM"] == 1


def test_validated_assembler_keeps_the_unvalidated_results(emitted):
    """The fast path and the definition agree on a real minute of seconds."""
    plain: list = []
    checked = BarAssembler(
        emitted.extend, validator=FeedValidator(["AAA"], clock_ms=lambda: NOW)
    )
    unchecked = BarAssembler(plain.extend)
    events = [
        sec("AAA", M0 + k * 1000, o=10 + k / 7, h=10.5 + k / 7, lo=9.5 + k / 7,
            c=10.1 + k / 7, v=1 + k, vw=10 + k / 7)
        for k in range(60)
    ]  # fmt: skip
    for asm in (checked, unchecked):
        asm.feed(frame(*events[:30]))
        asm.feed(frame(*events[30:]))
        asm.expire(M0 + 2 * MS_PER_MINUTE + 10_000)
    assert checked.validator.rejected == 0
    assert checked.counts == unchecked.counts
    assert emitted == plain == []  # first minute on a connection: incomplete
    assert checked.states["AAA"].row() == unchecked.states["AAA"].row()


def test_session_day_is_new_york_time():
    # 2026-11-24 03:00 UTC is still Monday 22:00 in New York.
    late = int(dt.datetime(2026, 11, 24, 3, tzinfo=dt.UTC).timestamp() * 1000)
    assert previous_session_start_ms(late) == et_ms("2026-11-20 00:00")


TRICKY = [True, False, 0, 1, 1.0, 0.5, -1, 2, 10.0, 10.5, 11.0, 9.0, 1e12, 1e30,
          float("nan"), float("inf"), "1", None, [1], M0, float(M0), M0 + 1000,
          M0 + 60_000, M0 + 61_000, NOW, "AAA", "ZZZ", "X" * 30]  # fmt: skip


@pytest.mark.parametrize("kind", ["A", "AM"])
@pytest.mark.parametrize("field", ["o", "h", "l", "c", "v", "vw", "s", "e", "sym"])
def test_fast_paths_agree_with_the_definition(kind, field):
    """The shortcuts (accept, the assembler's inline check) never accept more."""
    base = sec() if kind == "A" else am()
    for value in TRICKY:
        ev = dict(base, **{field: value})
        val = FeedValidator(SYMS, clock_ms=lambda: NOW)
        expected = val.reason(ev, kind) is None
        assert val.accept(ev, kind, val.window(1000 if kind == "A" else 60_000)) == (
            expected
        ), (field, value)
        asm = BarAssembler(lambda rows: None, validator=FeedValidator(
            SYMS, clock_ms=lambda: NOW))  # fmt: skip
        finite = not isinstance(value, float) or math.isfinite(value)
        asm.feed(orjson.dumps([ev]) if finite else frame_with_nan(ev))
        taken = asm.counts["events_A" if kind == "A" else "events_AM"] == 1
        assert taken == expected, (field, value)


def frame_with_nan(ev) -> bytes:
    """Return a frame with NaN/Infinity literals (orjson writes them as null)."""
    return json.dumps([ev]).encode()

"""Decode fast path: mixed frames, hostile values, out-of-order and re-sent seconds."""

from __future__ import annotations

import json
import math

import orjson
import pytest

from dashapp.store.livebars import LiveBar, LiveBarStore
from ingest.bars import BarAssembler
from ingest.minute_state import MS_PER_MINUTE, minute_session, round4
from ingest.validate import MALFORMED, FeedValidator

M0 = 1_795_530_600_000  # 2026-11-24 14:30 UTC, a minute start
NOW = M0 + 10 * MS_PER_MINUTE


def sec(sym="AAA", s=M0, o=10.0, h=10.1, lo=9.9, c=10.05, v=100, vw=10.0, **extra):
    """Return one per-second aggregate event as Massive sends it."""
    ev = {"ev": "A", "sym": sym, "v": v, "av": 9000, "op": 10.0, "vw": vw,
          "o": o, "c": c, "h": h, "l": lo, "a": 10.0, "z": 5, "s": s,
          "e": s + 1000, "dv": f"{v}.0", "dav": "9000.000000"}  # fmt: skip
    ev.update(extra)
    return ev


def frame(*events) -> bytes:
    return orjson.dumps(list(events))


@pytest.fixture(params=["validated", "unvalidated"])
def asm(request):
    validator = (
        FeedValidator(["AAA", "BBB"], clock_ms=lambda: NOW)
        if request.param == "validated"
        else None
    )
    return BarAssembler(lambda rows: None, LiveBarStore(), validator=validator)


def test_dc01_a_mixed_frame_takes_each_event_its_way(asm):
    no_e = sec("BBB", M0 + 2000)
    del no_e["e"]
    am = dict(sec("AAA", M0 - MS_PER_MINUTE), ev="AM", e=M0)
    status = {"ev": "status", "status": "success", "message": "subscribed to: A.*"}
    statuses = asm.feed(frame(
        sec("AAA", M0), am, status, no_e, {"ev": "T", "sym": "AAA"}, [1, 2], "x",
        sec("AAA", M0 + 1000, h=10.4),
    ))  # fmt: skip
    assert statuses == [status]
    c = asm.counts
    assert (c["events_A"], c["events_AM"], c["status"]) == (3, 1, 1)
    assert (c["unknown"], c["malformed"]) == (1, 2)
    assert sorted(asm.states["AAA"].secs) == [M0, M0 + 1000]
    assert sorted(asm.states["BBB"].secs) == [M0 + 2000]  # no `e` is still valid
    assert asm.states["AAA"].high == 10.4
    assert asm.stream_ms == M0 + 3000


@pytest.mark.parametrize("field", ["o", "h", "l", "c", "vw"])
def test_dc02_a_string_price_with_a_huge_volume_is_malformed(asm, field):
    # Multiplying first would build a 10**12-character string.
    asm.feed(frame(sec(**{field: "ab", "v": 10**12})))
    assert asm.counts["malformed"] == 1 and asm.counts["events_A"] == 0
    assert "AAA" not in asm.states
    if asm.validator is not None:
        assert asm.validator.counts == {MALFORMED: 1}


def test_dc03_seconds_out_of_order_and_late_ones_roll_up_exactly(asm):
    asm.feed(frame(sec("AAA", M0 - 1000)))  # the connection saw M0 begin
    order = [5, 6, 2, 7, 0, 3, 9]
    events = [
        sec("AAA", M0 + k * 1000, o=10 + k / 10, h=11 + k / 10, lo=9 + k / 10,
            c=10.5 + k / 10, v=100 + k, vw=10.2 + k / 10)
        for k in order
    ]  # fmt: skip
    asm.feed(frame(*events[:4]))
    asm.feed(frame(*events[4:], sec("AAA", M0 + MS_PER_MINUTE)))  # next minute
    asm.feed(frame(sec("AAA", M0 + 8000, h=30.0, v=1, vw=20.0)))  # late, for M0
    st = asm.pending[("AAA", M0)]
    by_s = sorted(events, key=lambda e: e["s"])
    assert sorted(st.secs) == sorted([e["s"] for e in events] + [M0 + 8000])
    assert (st.open, st.close) == (by_s[0]["o"], by_s[-1]["c"])
    assert st.high == 30.0 and st.low == by_s[0]["l"]
    assert st.volume == sum(e["v"] for e in events) + 1
    assert type(st.volume) is int
    pv = sum(e["vw"] * e["v"] for e in events) + 20.0
    assert st.vwap() == round4(pv / st.volume)


def test_dc04_a_resent_second_recomputes_from_the_packed_seconds(asm):
    asm.feed(
        frame(*(sec("AAA", M0 + k * 1000, h=10.1 + k, v=10 + k) for k in range(4)))
    )
    asm.feed(frame(sec("AAA", M0 + 3000, h=10.2, v=50)))
    st = asm.states["AAA"]
    assert st.high == 12.1 and st.volume == 10 + 11 + 12 + 50
    assert type(st.volume) is int and asm.counts["resent_seconds"] == 1
    assert st.second(M0 + 3000) == (10.0, 10.2, 9.9, 10.05, 50.0, 500.0)


def test_dc05_a_live_bar_is_the_same_as_one_built_by_its_fields(asm):
    asm.feed(frame(*(sec("AAA", M0 + k * 1000, v=10 + k) for k in range(3))))
    st = asm.states["AAA"]
    bar = st.live_bar(NOW)
    want = LiveBar(*st.row(), False, NOW, minute_session(M0))
    assert bar == want and bar._asdict() == want._asdict()
    assert type(bar) is LiveBar and bar.session == "regular"


def test_dc06_one_clock_reading_gives_both_windows():
    readings = iter([NOW, NOW, NOW, NOW + 7])
    val = FeedValidator(["AAA"], clock_ms=lambda: next(readings))
    a, am = val.windows()
    assert (a, am) == (val.window(1000), val.window(MS_PER_MINUTE))
    assert a[1] - am[1] == MS_PER_MINUTE - 1000
    assert next(readings) == NOW + 7  # windows() read the clock once


TRICKY = [True, False, 0, 1, 1.0, 0.5, -1, 2, 10.0, 10.5, 11.0, 9.0, 1e12, 1e30,
          math.nan, math.inf, "1", None, [1], {"x": 1}, M0 + 1000, float(M0 + 1000),
          M0 + 1500, M0 + 2000, M0 + 60_000, NOW, NOW + 10**9, -(2**63), 2**64,
          "AAA", "ZZZ", "aaa", "X" * 30]  # fmt: skip


@pytest.mark.parametrize("field", ["o", "h", "l", "c", "v", "vw", "s", "e", "sym"])
def test_dc07_the_inline_check_on_a_known_symbol_never_accepts_more(field):
    """With a state for the symbol the inline check runs; it agrees with reason."""
    for value in TRICKY:
        val = FeedValidator(["AAA", "BBB"], clock_ms=lambda: NOW)
        asm = BarAssembler(lambda rows: None, validator=val)
        asm.feed(frame(sec("AAA", M0)))
        ev = dict(sec("AAA", M0 + 1000), **{field: value})
        if field == "s" and isinstance(value, int) and not isinstance(value, bool):
            ev["e"] = value + 1000
        expected = val.reason(ev, "A") is None
        # json writes NaN/Infinity literals (orjson refuses the frame) and
        # integers past 64 bits (orjson reads them as floats).
        asm.feed(json.dumps([ev]).encode())
        assert (asm.counts["events_A"] == 2) == expected, (field, value)

"""The performance shortcuts (issue 16) equal the plain computations they replace.

Snapshot engine caches (lag bases, settled-week rows, settled stage changes) vs
`stages.stage_changes` and a fresh engine on the real slice; the row-major copy and
row counts vs numpy; the once-a-minute live cap vs `live_cap` across opens and
closes; the ETag/Vary headers vs werkzeug's own setters.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from flask import Response

import analytics as A
from analytics._numeric import (
    count_above_window_mean,
    count_rows,
    nan_columns,
    row_cumsum,
    row_major,
    safe_div,
)
from analytics.constants import (
    STAGE_CHANGE_WEEKS,
    STAGE_PV_THRESHOLD,
    STAGE_SLOPE_LAG,
    STAGE_SLOPE_THRESHOLD,
)
from analytics.snapshot_parts import normalise_meta, positions, week_id
from analytics.stage_machine import NO_STAGE, week_inputs
from analytics.stages import ma_slope_pv, stage_changes
from dashapp.api.caching import set_cache_headers
from dashapp.market import asof
from dashapp.market.dataversion import current_live_cap

DATA = Path(__file__).parent / "data"
BENCH = "EQW"


def slice_panels() -> dict[str, pd.DataFrame]:
    """Return the S&P 500 slice's panels with an equal-weight index as benchmark."""
    out = A.panels_from_bars(pd.read_csv(DATA / "sp500_slice_2018-2021_adj.csv.gz"))
    daily = out["close"].pct_change(fill_method=None).mean(axis=1).fillna(0.0)
    index = 100 * (1 + daily).cumprod()
    return {k: v.assign(**{BENCH: index}) for k, v in out.items()}


@pytest.fixture(scope="module")
def panels() -> dict[str, pd.DataFrame]:
    return slice_panels()


def _plain_changes(engine, nw: int, last_stage, left, date) -> pd.DataFrame:
    """The stage changes as the engine computed them before the cache."""
    wk = engine.wk
    first = max(nw - (STAGE_CHANGE_WEEKS - 1), 0)
    hist = np.vstack([wk["hist"][first:nw], last_stage[None, :]])
    trans = np.vstack([wk["transitions"][first:nw], left[None, :]])
    dates = wk["dates"][first:nw].append(pd.DatetimeIndex([date]))
    return stage_changes(hist, trans, dates, engine.symbols)


# Wednesday (the newest week continues the last settled one) and Monday (new week).
@pytest.mark.parametrize("day", ["2020-03-18", "2020-03-23", "2021-04-21"])
def test_cached_stage_changes_equal_plain_stage_changes(panels, day):
    day = pd.Timestamp(day)
    history = {k: v.loc[v.index < day] for k, v in panels.items()}
    engine = A.SnapshotEngine(history, bench_symbol=BENCH)
    row = {k: v.loc[day] for k, v in panels.items()}
    got = engine.update(day, row)["stage_changes"]
    same = week_id(day) == week_id(history["close"].index[-1])
    nw = len(engine.wk["dates"]) - (1 if same else 0)
    state = engine.states["same" if same else "new"]
    # Rebuild the newest week's stage and what it left from the current frame.
    current = engine.update(day, row)["stages"]
    last_stage = current["stage"].fillna(NO_STAGE).to_numpy(np.int64).astype(np.int8)
    changed = current["stage_changed_this_week"].to_numpy(bool)
    left = np.where(changed, state.stage, np.int8(NO_STAGE))
    want = _plain_changes(engine, nw, last_stage, left, day)
    assert len(want) > 0
    pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_repeated_updates_equal_fresh_snapshots(panels):
    """The per-engine caches give the same answer on the 1st and the 3rd update."""
    day = pd.Timestamp("2020-11-25")
    history = {k: v.loc[v.index < day] for k, v in panels.items()}
    engine = A.SnapshotEngine(history, bench_symbol=BENCH)
    rng = np.random.default_rng(3)
    for _ in range(3):
        move = pd.Series(np.exp(rng.normal(0, 0.02, panels["close"].shape[1])))
        move.index = panels["close"].columns
        row = {
            k: v.loc[day] * (1 if k == "volume" else move) for k, v in panels.items()
        }
        got = engine.update(day, row)
        fresh = A.SnapshotEngine(history, bench_symbol=BENCH).update(day, row)
        for key in fresh:
            pd.testing.assert_frame_equal(got[key], fresh[key], check_exact=True)


def test_row_major_and_count_rows_equal_numpy():
    rng = np.random.default_rng(0)
    a = np.asfortranarray(rng.normal(size=(37, 300)))
    a[rng.random(a.shape) < 0.05] = np.nan
    for src in (a, np.ascontiguousarray(a), a[:, :5]):
        out = row_major(src)
        assert out.flags.c_contiguous
        np.testing.assert_array_equal(out, src)
    for mask in (a > 0, np.asfortranarray(a > 0), (a > 0)[:, :10], (a > 0)[:0]):
        got = count_rows(mask)
        want = np.count_nonzero(mask, axis=1).astype(np.float64)
        np.testing.assert_array_equal(got, want)
        assert got.dtype == np.float64
    # Full rows at and past the 16-bit lanes' limit count exactly.
    for width in (65_535, 70_001):
        wide = np.ones((2, width), dtype=bool)
        wide[1, ::2] = False
        np.testing.assert_array_equal(count_rows(wide), [width, width // 2])


def test_window_mean_counts_and_nan_columns_equal_whole_array_forms(panels):
    close = row_major(panels["close"].to_numpy(dtype=np.float64))
    ref = close[-1].copy()
    centred = close - ref
    csum = row_cumsum(centred)
    for w in (1, 20, 50, 200, close.shape[0], close.shape[0] + 1):
        sums = np.subtract(csum[w:], csum[:-w])
        sums /= w
        with np.errstate(invalid="ignore"):
            want = np.count_nonzero(np.greater(centred[w - 1 :], sums), axis=1)
        np.testing.assert_array_equal(count_above_window_mean(centred, csum, w), want)
    volume = panels["volume"].to_numpy(dtype=np.float64)
    odd = volume[:, :4].copy()
    odd[0, 0], odd[1, 0], odd[2, 1] = np.inf, -np.inf, np.inf  # no NaN, NaN sum
    odd[5, 2] = np.nan
    for a in (volume, np.ascontiguousarray(volume), odd, volume[:0]):
        want = np.flatnonzero(np.isnan(a).any(axis=0))
        np.testing.assert_array_equal(nan_columns(a), want)
    assert len(nan_columns(volume)) > 0


# Around the open and the close of a regular day, an early close, a weekend and
# New York midnight.
INSTANTS = [
    "2025-04-03 09:29:59.999",
    "2025-04-03 09:30:00",
    "2025-04-03 09:30:00.001",
    "2025-04-03 15:59:59.999",
    "2025-04-03 16:00:00",
    "2024-11-29 12:59:59",
    "2024-11-29 13:00:00",
    "2025-04-05 12:00",
    "2025-04-03 23:59:59.999",
    "2025-04-04 00:00:00",
]


def test_live_cap_memo_equals_live_cap_at_every_instant():
    for when in INSTANTS + INSTANTS[::-1]:
        with asof.fixed_clock(when) as stamp:
            assert current_live_cap() == asof.live_cap(stamp), when


@pytest.mark.parametrize("vary", [None, "Accept-Encoding"])
def test_cache_headers_equal_werkzeug_setters(vary):
    got, want = Response(b"{}"), Response(b"{}")
    if vary:
        got.headers["Vary"] = want.headers["Vary"] = vary
    set_cache_headers(got, "0123abcd")
    want.set_etag("0123abcd")
    want.headers["Cache-Control"] = "private, max-age=0, must-revalidate"
    want.vary.add("Authorization")
    want.vary.add("Cookie")
    assert list(got.headers.items()) == list(want.headers.items())


def _plain_normalise_meta(meta: pd.DataFrame) -> tuple[list, dict]:
    """The dict-based form normalise_meta replaced."""
    symbols = [str(s) for s in meta["symbol"].tolist()]
    last = {sym: i for i, sym in enumerate(symbols)}
    values = {}
    for c in ("sector", "sub_industry"):
        column = meta[c].tolist() if c in meta else [None] * len(symbols)
        values[c] = [column[i] for i in last.values()]
    return list(last), values


def test_normalise_meta_equals_the_dict_form():
    rng = np.random.default_rng(5)
    for _ in range(200):
        n = int(rng.integers(1, 30))
        meta = pd.DataFrame(
            {
                "symbol": rng.choice(["A", "B", "C", "D", None, "E"], n).tolist(),
                "sector": rng.choice(["x", "y", None], n).tolist(),
            }
        )
        if rng.random() < 0.5:
            meta["sub_industry"] = rng.integers(0, 4, n)
        got, want = normalise_meta(meta), _plain_normalise_meta(meta)
        assert got[0] == want[0]
        for c, values in want[1].items():
            assert [repr(v) for v in got[1][c]] == [repr(v) for v in values]


def test_newest_row_aligns_by_label_whatever_its_index_object(panels):
    day = pd.Timestamp("2021-04-21")
    history = {k: v.loc[v.index < day] for k, v in panels.items()}
    engine = A.SnapshotEngine(history, bench_symbol=BENCH)
    row = panels["close"].loc[day]
    want = row.to_numpy()
    shuffled = row.sample(frac=1.0, random_state=2)
    as_object = row.set_axis(pd.Index(row.index.tolist(), dtype=object))
    for src in (row, shuffled, as_object):
        got = engine._row_values({"close": src}, "close")
        np.testing.assert_array_equal(got, want)


def _plain_week_inputs(pv: np.ndarray, slope: np.ndarray):
    """The np.where form week_inputs replaced."""
    with np.errstate(invalid="ignore"):
        up = (pv > STAGE_PV_THRESHOLD) & (slope > STAGE_SLOPE_THRESHOLD)
        down = (pv < -STAGE_PV_THRESHOLD) & (slope < -STAGE_SLOPE_THRESHOLD)
        untrended = np.where(pv < 0, np.int8(1), np.int8(3))
    base = np.where(up, np.int8(2), np.where(down, np.int8(4), np.int8(0)))
    return base, untrended, ~(np.isnan(pv) | np.isnan(slope))


def test_week_inputs_equal_the_where_form():
    rng = np.random.default_rng(9)
    pv, slope = rng.normal(0, 5, (2, 40, 300))
    for a in (pv, slope):
        a[rng.random(a.shape) < 0.1] = np.nan
        a[rng.random(a.shape) < 0.01] = np.inf
        a[rng.random(a.shape) < 0.01] = -np.inf
    pv[:, :3] = STAGE_PV_THRESHOLD  # on the thresholds
    for got_pv, got_slope in ((pv, slope), (pv[0], slope[0])):
        got = week_inputs(got_pv, got_slope)
        want = _plain_week_inputs(got_pv, got_slope)
        for g, w in zip((got.base, got.untrended, got.has), want, strict=True):
            assert g.dtype == w.dtype
            np.testing.assert_array_equal(g, w)


def test_ma_slope_pv_equals_the_whole_array_form():
    rng = np.random.default_rng(2)
    for weeks in (0, 5, 29, 30, 33, 34, 35, 60):
        close = 50 * np.exp(rng.normal(0, 0.05, (weeks, 40)).cumsum(axis=0))
        close[rng.random(close.shape) < 0.05] = np.nan
        close[:, :2] = 0.0  # MA30 of zero: pv and slope undefined
        ma30, pv, slope = ma_slope_pv(close)
        lagged = np.full(ma30.shape, np.nan)
        lagged[STAGE_SLOPE_LAG:] = ma30[:-STAGE_SLOPE_LAG]
        np.testing.assert_array_equal(pv, safe_div(100.0 * (close - ma30), ma30))
        np.testing.assert_array_equal(slope, 100.0 * (safe_div(ma30, lagged) - 1.0))


def test_positions_equal_a_last_wins_dict():
    names = ["B", "Z", "A", "C", "A"]
    for labels in (["A", "B", "C"], ["A", "B", "A", "C"], []):
        columns = pd.Index(labels, dtype=object)
        last = {c: i for i, c in enumerate(labels)}
        want = [last.get(n, -1) for n in names]
        assert positions(columns, names).tolist() == want

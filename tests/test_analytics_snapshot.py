"""market_snapshot and SnapshotEngine vs the standalone functions, on real data.

The standalone functions are checked against plain-Python references in
test_analytics_reference.py; here the snapshot must agree with them, and the
incremental engine must agree with a fresh full snapshot.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import analytics as A

DATA = Path(__file__).parent / "data"
BENCH = "EQW"
# Stand-ins for sector ETFs: one large member per sector (the slice has no ETFs).
PROXIES = {"XOM": "Energy", "JPM": "Financials", "MSFT": "Information Technology"}
COUNT_COLUMNS = ["advancers", "decliners", "unchanged", "ad_line"]
COUNT_COLUMNS += ["new_highs", "new_lows"]


@pytest.fixture(scope="module")
def meta() -> pd.DataFrame:
    return pd.read_csv(DATA / "sp500_slice_sectors_2021-04.csv")


@pytest.fixture(scope="module")
def panels() -> dict[str, pd.DataFrame]:
    """The real slice plus an equal-weight index column as benchmark."""
    out = A.panels_from_bars(pd.read_csv(DATA / "sp500_slice_2018-2021_adj.csv.gz"))
    daily = out["close"].pct_change(fill_method=None).mean(axis=1).fillna(0.0)
    index = 100 * (1 + daily).cumprod()
    for field, frame in out.items():
        value = np.nan if field == "volume" else index
        out[field] = frame.assign(**{BENCH: value})
    return out


def cut(panels: dict, end: str) -> dict:
    return {k: v.loc[:end] for k, v in panels.items()}


def universe(frame: pd.DataFrame, meta: pd.DataFrame) -> pd.DataFrame:
    return frame[list(meta["symbol"])]


def snapshot(panels: dict, meta: pd.DataFrame) -> dict:
    return A.market_snapshot(panels, meta, bench_symbol=BENCH, sector_etfs=PROXIES)


# Mid-week, Monday (new week), a short holiday week and the last session.
AS_OF = ["2020-03-18", "2020-03-23", "2020-11-27", "2021-04-21"]


@pytest.mark.parametrize("as_of", AS_OF)
def test_snapshot_matches_standalone_functions(panels, meta, as_of):
    sub = cut(panels, as_of)
    snap = snapshot(sub, meta)
    close = universe(sub["close"], meta)
    bench = sub["close"][BENCH]
    ranks = snap["rankings"].set_index("symbol").loc[close.columns]

    rets = A.returns(close)
    for col in rets.columns:
        assert np.array_equal(
            ranks[col].to_numpy(), rets[col].to_numpy(), equal_nan=True
        )
    scores = A.rs_scores(close)
    ratings = A.rs_ratings(scores, A.sessions_available(close))
    assert np.array_equal(ranks["rs_score"], scores, equal_nan=True)
    assert ranks["rs_rating"].astype("Float64").equals(ratings.astype("Float64"))
    assert (ranks["rs_new_high"] == A.rs_new_high(close, bench)).all()

    weekly = A.weekly_bars({k: universe(v, meta) for k, v in sub.items()})
    current, _ = A.weinstein_stages(
        weekly["close"], weekly["volume"], A.weekly_close(bench), with_history=False
    )
    stages = snap["stages"].set_index("symbol").loc[close.columns]
    for col in ("stage", "weeks_in_stage", "prior_stage", "candidate_stage"):
        assert stages[col].astype("Float64").equals(current[col].astype("Float64")), col
    assert (
        stages["stage_changed_this_week"] == current["stage_changed_this_week"]
    ).all()
    for col in ("ma30", "pv", "slope", "mansfield_rs", "volume_ratio"):
        np.testing.assert_allclose(stages[col], current[col], rtol=1e-9, atol=1e-9)
    assert (ranks["stage"].astype("Float64")).equals(current["stage"].astype("Float64"))

    got = snap["breadth"]
    want = A.breadth(
        close,
        universe(sub["high"], meta),
        universe(sub["low"], meta),
        universe(sub["volume"], meta),
    )
    pd.testing.assert_frame_equal(got[COUNT_COLUMNS], want[COUNT_COLUMNS])
    for col in ("pct_above_sma20", "pct_above_sma50", "pct_above_sma200"):
        np.testing.assert_allclose(got[col], want[col], rtol=0, atol=1e-9)
    for col in ("mcclellan_osc", "mcclellan_sum"):
        np.testing.assert_allclose(got[col], want[col], rtol=0, atol=1e-6)
    for col in ("up_volume", "down_volume"):
        np.testing.assert_allclose(got[col], want[col], rtol=1e-12)

    panel = A.breadth_panel(close, universe(sub["open"], meta))
    pd.testing.assert_frame_equal(snap["breadth_panel"], panel)

    rotation = A.rrg(sub["close"][list(PROXIES)], bench, tail=10)
    assert len(snap["rotation"]) == len(rotation) > 0
    np.testing.assert_allclose(
        snap["rotation"][["rs_ratio", "rs_momentum"]],
        rotation[["rs_ratio", "rs_momentum"]],
    )
    assert snap["rotation"]["quadrant"].tolist() == rotation["quadrant"].tolist()

    for key, by in (("sectors", "sector"), ("industries", "sub_industry")):
        want_groups = A.group_ranking(snap["rankings"], None, meta, by=by)
        pd.testing.assert_frame_equal(
            snap[key].reset_index(drop=True), want_groups, check_dtype=False
        )


def test_snapshot_shapes_and_reasons(panels, meta):
    snap = snapshot(panels, meta)
    ranks = snap["rankings"].set_index("symbol")
    assert len(ranks) == 44 and set(A.SECTOR_ETFS).isdisjoint(ranks.index)
    assert ranks.at["VAR", "excluded_reason"] == "no price on the last session"
    assert ranks.at["VTRS", "excluded_reason"] == "fewer than 253 sessions"
    assert ranks["rs_rating"].notna().sum() == 42
    assert snap["rankings"]["rs_rating"].iloc[0] == 99  # sorted best first
    assert len(snap["sectors"]) == 11 and snap["sectors"]["members"].sum() == 44
    assert snap["industries"]["members"].sum() == 43  # VAR has no sub-industry
    info = snap["info"].iloc[0]
    assert info.as_of == pd.Timestamp("2021-04-21") and info.benchmark == BENCH
    assert set(snap["rotation"]["symbol"]) == set(PROXIES)
    changes = snap["stage_changes"]
    assert (changes["from_stage"] != changes["to_stage"]).all()


def perturbed_rows(panels: dict, day: pd.Timestamp, seed: int) -> list[dict]:
    """Return a few plausible variants of one session's row (moves, NaNs, zeros)."""
    rng = np.random.default_rng(seed)
    base = {k: v.loc[day] for k, v in panels.items()}
    rows = [base]
    for _ in range(3):
        move = pd.Series(
            np.exp(rng.normal(0, 0.03, len(base["close"]))), base["close"].index
        )
        row = {k: (v * move if k != "volume" else v * 2) for k, v in base.items()}
        drop = rng.choice(len(move), 3, replace=False)
        for k in row:
            row[k] = row[k].copy()
            row[k].iloc[drop] = np.nan
        rows.append(row)
    return rows


@pytest.mark.parametrize("day", ["2020-03-18", "2020-03-23", "2021-04-21"])
def test_incremental_updates_equal_fresh_snapshots(panels, meta, day):
    day = pd.Timestamp(day)
    history = {k: v.loc[v.index < day] for k, v in panels.items()}
    engine = A.SnapshotEngine(history, meta, bench_symbol=BENCH, sector_etfs=PROXIES)
    for row in perturbed_rows(panels, day, seed=day.day):
        got = engine.update(day, row)
        full = {k: pd.concat([history[k], row[k].to_frame(day).T]) for k in history}
        want = snapshot(full, meta)
        assert set(got) == set(want)
        for key in want:
            pd.testing.assert_frame_equal(got[key], want[key], obj=key)


def test_engine_accepts_arrays_and_rejects_settled_dates(panels, meta):
    day = pd.Timestamp("2021-04-21")
    history = {k: v.loc[v.index < day] for k, v in panels.items()}
    engine = A.SnapshotEngine(history, meta, bench_symbol=BENCH)
    as_arrays = {k: v.loc[day].to_numpy() for k, v in panels.items()}
    as_series = {k: v.loc[day] for k, v in panels.items()}
    a, b = engine.update(day, as_arrays), engine.update(day, as_series)
    pd.testing.assert_frame_equal(a["rankings"], b["rankings"])
    with pytest.raises(ValueError):
        engine.update(pd.Timestamp("2021-04-20"), as_series)
    assert not math.isnan(a["breadth"]["mcclellan_osc"].iloc[-1])

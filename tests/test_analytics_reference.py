"""Each analytics metric vs an independent plain-Python computation on real data.

The references below loop per symbol (and per session) over Python floats, following
DESIGN.md "Analytics methods" literally; they share no code with `analytics`.
Data: tests/data/sp500_slice_2018-2021_adj.csv.gz (44 S&P 500 members, 2018-2021).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import analytics as A

DATA = Path(__file__).parent / "data"
SLICE = DATA / "sp500_slice_2018-2021_adj.csv.gz"
AS_OF = ["2018-12-31", "2019-12-31", "2020-03-23", "2020-08-31", "2021-04-21"]
WINDOWS = (1, 5, 21, 63, 126, 252)


# -- fixtures -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return pd.read_csv(SLICE)


@pytest.fixture(scope="module")
def panels(bars) -> dict[str, pd.DataFrame]:
    return A.panels_from_bars(bars)


@pytest.fixture(scope="module")
def cols(panels) -> dict[str, dict[str, list]]:
    """Plain per-symbol lists of floats (None for no value) for each field."""
    out = {}
    for field, frame in panels.items():
        out[field] = {
            sym: [None if v != v else float(v) for v in frame[sym].tolist()]
            for sym in frame.columns
        }
    return out


@pytest.fixture(scope="module")
def dates(panels) -> list[pd.Timestamp]:
    return list(panels["close"].index)


@pytest.fixture(scope="module")
def bench(cols, dates) -> pd.Series:
    """Equal-weight index of the slice: 100 * running product of mean daily returns."""
    level, values = 100.0, [100.0]
    closes = cols["close"]
    for t in range(1, len(dates)):
        rets = [
            c[t] / c[t - 1] - 1
            for c in closes.values()
            if c[t] is not None and c[t - 1] is not None
        ]
        level = level * (1 + sum(rets) / len(rets))
        values.append(level)
    return pd.Series(values, index=pd.DatetimeIndex(dates), name="EQW")


def is_nan(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def same(a, b) -> bool:
    return (is_nan(a) and is_nan(b)) or a == b


# -- panel and weekly bars ------------------------------------------------------------
def test_panel_matches_long_bars(bars, panels):
    assert panels["close"].shape == (831, 44)
    for row in bars.sample(300, random_state=1).itertuples():
        ts = pd.Timestamp(row.date)
        assert panels["close"].at[ts, row.symbol] == row.close
        assert panels["volume"].at[ts, row.symbol] == row.volume
    assert np.isnan(panels["close"].at[pd.Timestamp("2018-01-02"), "VTRS"])


def ref_weekly(values: list, dates: list, how: str) -> tuple[list, list]:
    weeks: dict[tuple, list] = {}
    order: list[tuple] = []
    last_date: dict[tuple, pd.Timestamp] = {}
    for v, d in zip(values, dates, strict=True):
        key = tuple(d.isocalendar())[:2]
        if key not in weeks:
            weeks[key] = []
            order.append(key)
        weeks[key].append(v)
        last_date[key] = d
    out = []
    for key in order:
        vals = [v for v in weeks[key] if v is not None]
        if not vals:
            out.append(None)
        elif how == "first":
            out.append(vals[0])
        elif how == "last":
            out.append(vals[-1])
        elif how == "max":
            out.append(max(vals))
        elif how == "min":
            out.append(min(vals))
        else:
            out.append(sum(vals))
    return out, [last_date[k] for k in order]


def test_weekly_bars_match_reference(panels, cols, dates):
    weekly = A.weekly_bars(panels)
    hows = {
        "open": "first",
        "high": "max",
        "low": "min",
        "close": "last",
        "volume": "sum",
    }
    for field, how in hows.items():
        for sym in ("AAPL", "VAR", "CARR", "VTRS"):
            ref, wdates = ref_weekly(cols[field][sym], dates, how)
            got = weekly[field][sym].tolist()
            assert list(weekly[field].index) == wdates
            assert all(same(g, r) for g, r in zip(got, ref, strict=True)), (field, sym)


# -- returns and RS rating ------------------------------------------------------------
def ref_return(c: list, t: int, n: int) -> float:
    if t - n < 0 or c[t] is None or c[t - n] is None:
        return math.nan
    return c[t] / c[t - n] - 1


def ref_ytd(c: list, dates: list, t: int) -> float:
    base = None
    for i in range(t + 1):
        if dates[i].year == dates[t].year - 1 and c[i] is not None:
            base = c[i]
    if base is None or c[t] is None:
        return math.nan
    return c[t] / base - 1


def ref_score(c: list, t: int) -> float:
    r63, r126 = ref_return(c, t, 63), ref_return(c, t, 126)
    r189, r252 = ref_return(c, t, 189), ref_return(c, t, 252)
    return 0.4 * r63 + 0.2 * r126 + 0.2 * r189 + 0.2 * r252


def ref_ratings(closes: dict, t: int) -> dict:
    scores = {}
    for sym, c in closes.items():
        sessions = sum(1 for v in c[: t + 1] if v is not None)
        s = ref_score(c, t)
        if sessions >= 253 and not math.isnan(s):
            scores[sym] = s
    n = len(scores)
    out = {}
    for sym, s in scores.items():
        below = sum(1 for v in scores.values() if v < s)
        ties = sum(1 for v in scores.values() if v == s)
        pct = (below + (ties + 1) / 2) / n  # pandas "average" rank / count
        out[sym] = round(pct * 98 + 1)  # Python round: half to even, like numpy
    return out


@pytest.mark.parametrize("as_of", AS_OF)
def test_returns_match_reference(panels, cols, dates, as_of):
    close = panels["close"].loc[:as_of]
    t = len(close) - 1
    got = A.returns(close)
    for sym, c in cols["close"].items():
        for n in WINDOWS:
            assert same(got.at[sym, f"ret_{n}d"], ref_return(c, t, n)), (sym, n)
        assert same(got.at[sym, "ret_ytd"], ref_ytd(c, dates, t)), sym


@pytest.mark.parametrize("as_of", AS_OF)
def test_rs_ratings_exactly_match_reference(panels, cols, as_of):
    close = panels["close"].loc[:as_of]
    t = len(close) - 1
    scores = A.rs_scores(close)
    ratings = A.rs_ratings(scores, A.sessions_available(close))
    ref = ref_ratings(cols["close"], t)
    for sym in close.columns:
        assert same(scores[sym], ref_score(cols["close"][sym], t)), sym
        if sym in ref:
            assert ratings[sym] == ref[sym], sym
        else:
            assert ratings[sym] is pd.NA, sym
    if as_of == "2018-12-31":
        assert ratings.isna().all()  # 251 sessions: nobody has 253
    else:
        assert ratings.notna().sum() == len(ref) >= 35
        assert ratings.max() == 99 and ratings.min() >= 1


def test_rs_line_and_new_high_match_reference(panels, cols, bench):
    close = panels["close"]
    line = A.rs_line(close, bench)
    b = bench.tolist()
    for sym in ("AAPL", "XOM", "VTRS"):
        c = cols["close"][sym]
        for t in (0, 300, 830):
            ref = math.nan if c[t] is None else 100 * c[t] / b[t]
            assert same(line[sym].iloc[t], ref)
    hits = 0
    for end in ("2020-08-31", "2021-04-21", "2020-06-08"):
        sub = close.loc[:end]
        t = len(sub) - 1
        flags = A.rs_new_high(sub, bench)
        for sym, c in cols["close"].items():
            rs = [
                None if v is None else 100 * v / b[i] for i, v in enumerate(c[: t + 1])
            ]
            window = rs[t - 251 : t]
            ok = rs[t] is not None and all(v is not None for v in window)
            ref = bool(ok and rs[t] >= max(window))
            assert bool(flags[sym]) == ref, (end, sym)
            hits += ref
    assert hits > 0


# -- Weinstein stages -----------------------------------------------------------------
def ref_stages(closes: list) -> tuple[list, dict]:
    """Plain Weinstein stage machine on one symbol's weekly closes (DESIGN.md)."""
    ma = []
    for w in range(len(closes)):
        window = closes[w - 29 : w + 1] if w >= 29 else []
        ok = len(window) == 30 and all(v is not None for v in window)
        ma.append(sum(window) / 30 if ok else None)
    stage = prior = None
    last_trend = None
    prev_cand = None
    run_len = run_start = stage_start = 0
    changed = False
    hist = []
    for w, c in enumerate(closes):
        m, m4 = ma[w], (ma[w - 4] if w >= 4 else None)
        if m is None or m4 is None or c is None:
            prev_cand, run_len, changed = None, 0, False
            hist.append(None)
            continue
        pv = 100 * (c - m) / m
        slope = 100 * (m / m4 - 1)
        if pv > 2 and slope > 0.5:
            cand = 2
        elif pv < -2 and slope < -0.5:
            cand = 4
        elif last_trend == 2:
            cand = 3
        elif last_trend == 4:
            cand = 1
        else:
            cand = 1 if pv < 0 else 3
        if cand == prev_cand:
            run_len += 1
        else:
            run_len, run_start = 1, w
        prev_cand = cand
        changed = False
        if run_len >= 2 and cand != stage:
            changed = stage is not None
            prior, stage, stage_start = stage, cand, run_start
            if cand in (2, 4):
                last_trend = cand
        hist.append(stage)
    last = len(closes) - 1
    current = {
        "stage": hist[-1] if hist else None,
        "weeks_in_stage": last - stage_start + 1 if hist and hist[-1] else None,
        "prior_stage": prior if hist and hist[-1] else None,
        "changed": bool(hist and hist[-1] and changed),
    }
    return hist, current


@pytest.mark.parametrize(
    "as_of", ["2019-09-30", "2020-03-23", "2020-06-30", "2021-04-21"]
)
def test_stages_exactly_match_reference(panels, cols, dates, bench, as_of):
    t = sum(1 for d in dates if d <= pd.Timestamp(as_of))
    sub = {f: p.iloc[:t] for f, p in panels.items()}
    weekly = A.weekly_bars(sub)
    current, history = A.weinstein_stages(
        weekly["close"], weekly["volume"], A.weekly_close(bench.iloc[:t])
    )
    seen = set()
    for sym in sub["close"].columns:
        wk, _ = ref_weekly(cols["close"][sym][:t], dates[:t], "last")
        hist, ref = ref_stages(wk)
        got = [None if v is pd.NA else int(v) for v in history[sym].tolist()]
        assert got == hist, sym
        row = current.loc[sym]
        assert same(None if row.stage is pd.NA else row.stage, ref["stage"]), sym
        wis = row.weeks_in_stage
        assert same(None if wis is pd.NA else wis, ref["weeks_in_stage"]), sym
        prior = row.prior_stage
        assert same(None if prior is pd.NA else prior, ref["prior_stage"]), sym
        assert bool(row.stage_changed_this_week) == ref["changed"], sym
        seen.update(v for v in hist if v)
    if as_of == "2021-04-21":
        assert seen == {1, 2, 3, 4}  # the 2020 crash and recovery visit every stage


def test_stage_extras_match_reference(panels, cols, dates, bench):
    weekly = A.weekly_bars(panels)
    bw = A.weekly_close(bench)
    current, _ = A.weinstein_stages(weekly["close"], weekly["volume"], bw)
    b = bw.tolist()
    for sym in ("AAPL", "XOM", "CARR", "VAR"):
        c, _ = ref_weekly(cols["close"][sym], dates, "last")
        v, _ = ref_weekly(cols["volume"][sym], dates, "sum")
        if sym == "VAR":  # delisted: no bar in the last week, so nothing to report
            assert c[-1] is None and v[-1] is None
            extras = ["ma30", "mansfield_rs", "volume_ratio"]
            assert current.loc[sym, extras].isna().all()
            assert current.at[sym, "stage"] is pd.NA
            continue
        ma = sum(c[-30:]) / 30
        assert current.at[sym, "ma30"] == pytest.approx(ma, rel=1e-12)
        rp = [100 * x / y for x, y in zip(c[-52:], b[-52:], strict=True)]
        mansfield = 100 * (rp[-1] / (sum(rp) / 52) - 1)
        assert current.at[sym, "mansfield_rs"] == pytest.approx(mansfield, abs=1e-9)
        ratio = v[-1] / (sum(v[-5:-1]) / 4)
        assert current.at[sym, "volume_ratio"] == pytest.approx(ratio, rel=1e-12)


# -- RRG ------------------------------------------------------------------------------
def ref_rrg(prices: list, bench: list) -> list[tuple]:
    rs = [
        None if p is None or b is None else 100 * p / b
        for p, b in zip(prices, bench, strict=True)
    ]

    def sma(i: int, n: int):
        w = rs[i - n + 1 : i + 1] if i >= n - 1 else []
        return sum(w) / n if len(w) == n and all(v is not None for v in w) else None

    ratio = []
    for i in range(len(rs)):
        s10, s30 = sma(i, 10), sma(i, 30)
        ratio.append(None if s10 is None or s30 is None else 100 * s10 / s30)
    out = []
    for i, r in enumerate(ratio):
        r4 = ratio[i - 4] if i >= 4 else None
        mom = None if r is None or r4 is None else 100 * r / r4
        out.append((r, mom))
    return out


def ref_quadrant(r: float, m: float) -> str:
    if r >= 100:
        return "Leading" if m >= 100 else "Weakening"
    return "Improving" if m >= 100 else "Lagging"


@pytest.mark.parametrize("period", ["weekly", "daily"])
def test_rrg_matches_reference(panels, cols, dates, bench, period):
    syms = ["XOM", "JPM", "AAPL", "NEE", "CARR", "VAR"]
    got = A.rrg(panels["close"][syms], bench, period=period, tail=None)
    b = bench.tolist()
    if period == "weekly":
        b, wdates = ref_weekly(b, dates, "last")
    else:
        wdates = dates
    checked = 0
    for sym in syms:
        p = cols["close"][sym]
        if period == "weekly":
            p, _ = ref_weekly(p, dates, "last")
        ref = ref_rrg(p, b)
        rows = got[got["symbol"] == sym].set_index("date")
        expected = {
            d: rm for d, rm in zip(wdates, ref, strict=True) if rm[1] is not None
        }
        assert set(rows.index) == set(expected), sym
        prev = None
        for d, (r, m) in zip(wdates, ref, strict=True):
            if m is None:
                prev = None
                continue
            row = rows.loc[d]
            assert abs(row.rs_ratio - r) <= 1e-9 and abs(row.rs_momentum - m) <= 1e-9
            assert row.quadrant == ref_quadrant(r, m)
            if prev is not None:
                heading = math.degrees(math.atan2(m - prev[1], r - prev[0])) % 360
                assert row.heading == pytest.approx(heading, abs=1e-6)
            prev = (r, m)
            checked += 1
    assert checked > 100
    quads = set(got["quadrant"])
    assert quads == {"Leading", "Weakening", "Lagging", "Improving"}
    tail = A.rrg(panels["close"][syms], bench, period=period, tail=5)
    assert tail.groupby("symbol").size().max() == 5
    assert set(tail["date"]) <= set(wdates[-5:])


# -- breadth --------------------------------------------------------------------------
def ref_ema(values: list, alpha: float) -> list:
    out, state = [], None
    for v in values:
        if v is not None:
            state = v if state is None else state + alpha * (v - state)
        out.append(state)
    return out


def ref_breadth(cols: dict, n_days: int) -> dict[str, list]:
    closes, highs, lows, vols = (cols[f] for f in ("close", "high", "low", "volume"))
    out = {k: [] for k in ("adv", "dec", "unch", "uv", "dv", "nh", "nl", 20, 50, 200)}
    for t in range(n_days):
        adv = dec = unch = 0
        uv = dv = 0.0
        nh = nl = 0
        above = {20: [0, 0], 50: [0, 0], 200: [0, 0]}
        for sym, c in closes.items():
            v = vols[sym][t] or 0.0
            if t > 0 and c[t] is not None and c[t - 1] is not None:
                if c[t] > c[t - 1]:
                    adv, uv = adv + 1, uv + v
                elif c[t] < c[t - 1]:
                    dec, dv = dec + 1, dv + v
                else:
                    unch += 1
            for n in (20, 50, 200):
                w = c[t - n + 1 : t + 1] if t >= n - 1 else []
                if len(w) == n and all(x is not None for x in w):
                    above[n][1] += 1
                    above[n][0] += c[t] > sum(w) / n
            h, lo = highs[sym], lows[sym]
            if t >= 251:
                hw, lw = h[t - 251 : t], lo[t - 251 : t]
                if h[t] is not None and all(x is not None for x in hw):
                    nh += h[t] >= max(hw)
                if lo[t] is not None and all(x is not None for x in lw):
                    nl += lo[t] <= min(lw)
        for k, val in zip(
            ("adv", "dec", "unch", "uv", "dv", "nh", "nl"),
            (adv, dec, unch, uv, dv, nh, nl),
            strict=True,
        ):
            out[k].append(val)
        for n in (20, 50, 200):
            a, have = above[n]
            out[n].append(100 * a / have if have else None)
    return out


def test_breadth_matches_reference(panels, cols):
    got = A.breadth(panels["close"], panels["high"], panels["low"], panels["volume"])
    n_days = len(got)
    ref = ref_breadth(cols, n_days)
    assert got["advancers"].tolist() == ref["adv"]
    assert got["decliners"].tolist() == ref["dec"]
    assert got["unchanged"].tolist() == ref["unch"]
    assert got["new_highs"].tolist() == ref["nh"]
    assert got["new_lows"].tolist() == ref["nl"]
    ad, line = 0, []
    for a, d in zip(ref["adv"], ref["dec"], strict=True):
        ad += a - d
        line.append(ad)
    assert got["ad_line"].tolist() == line
    assert got["up_volume"].tolist() == pytest.approx(ref["uv"], rel=1e-12)
    assert got["down_volume"].tolist() == pytest.approx(ref["dv"], rel=1e-12)
    for n in (20, 50, 200):
        for g, r in zip(got[f"pct_above_sma{n}"].tolist(), ref[n], strict=True):
            assert (r is None and math.isnan(g)) or g == pytest.approx(r, abs=1e-9)
    ratio = [
        1000 * (a - d) / (a + d) if a + d else None
        for a, d in zip(ref["adv"], ref["dec"], strict=True)
    ]
    fast, slow = ref_ema(ratio, 0.10), ref_ema(ratio, 0.05)
    total = 0.0
    for i, (f, s) in enumerate(zip(fast, slow, strict=True)):
        if f is None:
            assert math.isnan(got["mcclellan_osc"].iloc[i])
            continue
        total += f - s
        assert abs(got["mcclellan_osc"].iloc[i] - (f - s)) <= 1e-6
        assert abs(got["mcclellan_sum"].iloc[i] - total) <= 1e-6
    assert max(ref["nh"]) > 5 and max(ref["nl"]) > 20  # 2020 crash: many new lows


def ref_panel(cols: dict, t: int) -> list[tuple]:
    closes, opens = cols["close"], cols["open"]
    rows = []

    def count(label: str, refs: dict) -> None:
        up = down = total = 0
        for sym, c in closes.items():
            r = refs.get(sym)
            if c[t] is None or r is None:
                continue
            total += 1
            up += c[t] > r
            down += c[t] < r
        rows.append((label, up, down, total))

    def lag(k: int) -> dict:
        return {s: c[t - k] for s, c in closes.items() if t - k >= 0}

    count("day", lag(1))
    count("open", {s: o[t] for s, o in opens.items()})
    for label, k in (("week", 5), ("month", 21), ("quarter", 63), ("half", 126)):
        count(label, lag(k))
    count("year", lag(252))
    for n in (10, 20):
        refs = {}
        for sym, c in closes.items():
            vals = c[: t + 1]
            ema = ref_ema(vals, 2 / (n + 1))[-1]
            if sum(1 for v in vals if v is not None) >= n:
                refs[sym] = ema
        count(f"ema{n}", refs)
    for n in (50, 200):
        refs = {}
        for sym, c in closes.items():
            w = c[t - n + 1 : t + 1] if t >= n - 1 else []
            if len(w) == n and all(v is not None for v in w):
                refs[sym] = sum(w) / n
        count(f"sma{n}", refs)
    return rows


@pytest.mark.parametrize("as_of", ["2020-03-23", "2021-04-21"])
def test_breadth_panel_matches_reference(panels, cols, dates, as_of):
    t = sum(1 for d in dates if d <= pd.Timestamp(as_of)) - 1
    got = A.breadth_panel(panels["close"].iloc[: t + 1], panels["open"].iloc[: t + 1])
    ref = ref_panel(cols, t)
    assert [tuple(r) for r in got[["label", "up", "down", "total"]].to_numpy()] == ref
    assert len(got) == 11
    for row in got.itertuples():
        assert row.pct_up == pytest.approx(100 * row.up / row.total)

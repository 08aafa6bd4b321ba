"""Group ranks and new 52-week highs/lows vs plain per-symbol recalculations.

Data: tests/data/sp500_slice_2018-2021_adj.csv.gz (44 S&P 500 members) with their
GICS sectors and sub-industries (sp500_slice_sectors_2021-04.csv). XLK is added as
the equal-weight index of the slice's Information Technology members (derived from
the same real closes) so the drill-down RRG has a sector ETF to compare against.
"""

from __future__ import annotations

import importlib
import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import analytics
from analytics.group_ranks import rs_scores_at
from analytics.new_highs import new_high_low_flags
from dashapp import market
from dashapp.market import market_state, stage_cache
from dashapp.market.groups import group_members, group_rotation
from tests.auth_helpers import bearer, make_api_app

DATA = Path(__file__).parent / "data"
UNIVERSE = "slice"
# A crash day (many lows), a quiet day and the slice's last session (new highs).
SESSIONS = ("2020-03-16", "2020-11-09", "2021-04-21")
WEIGHTS = ((63, 0.4), (126, 0.2), (189, 0.2), (252, 0.2))
BY = {"sector": "sector", "industry": "sub_industry"}
IT = "Information Technology"
GRID_ID = "groups-grid"


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return pd.read_csv(DATA / "sp500_slice_2018-2021_adj.csv.gz", parse_dates=["date"])


@pytest.fixture(scope="module")
def sectors() -> pd.DataFrame:
    return pd.read_csv(DATA / "sp500_slice_sectors_2021-04.csv")


def _xlk(bars: pd.DataFrame, sectors: pd.DataFrame) -> pd.DataFrame:
    """Return an equal-weight index of the IT members (each rebased to 100)."""
    it = sectors.loc[sectors["sector"] == IT, "symbol"]
    close = bars[bars["symbol"].isin(it)].pivot(
        index="date", columns="symbol", values="close"
    )
    close = close.dropna(axis=1)
    level = (100 * close / close.iloc[0]).mean(axis=1)
    return pd.DataFrame(
        {"symbol": "XLK", "date": level.index, "open": level, "high": level,
         "low": level, "close": level, "volume": 1e6}
    )  # fmt: skip


@pytest.fixture(scope="module")
def app(tmp_path_factory, bars, sectors):
    tmp = tmp_path_factory.mktemp("groups")
    app = make_api_app(tmp, seed=False)
    store = app.server.extensions["tickstock_store"]
    store.upsert_symbols(
        [
            {
                "symbol": r.symbol,
                "name": r.name,
                "kind": "stock",
                "sector": r.sector,
                "sub_industry": None if pd.isna(r.sub_industry) else r.sub_industry,
            }
            for r in sectors.itertuples()
        ]
    )
    store.set_universe(UNIVERSE, sectors["symbol"])
    store.upsert_daily_bars(bars, batch_size=50_000)
    store.upsert_daily_bars(_xlk(bars, sectors))
    market._engines.clear()
    stage_cache.clear()
    return app


@pytest.fixture(scope="module")
def client(app):
    return app.server.test_client(), bearer(app, "gina", "user")


def _get(client, url: str):
    c, headers = client
    return c.get(url, headers=headers)


# ----------------------------------------------------------- plain recalculation
def _calendar(bars: pd.DataFrame) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(sorted(bars["date"].unique()))


def _series(bars: pd.DataFrame, sym: str, field: str, cal) -> list[float]:
    one = bars[bars["symbol"] == sym].set_index("date")[field]
    return [float(v) for v in one.reindex(cal)]


def _plain_score(c: list[float], i: int) -> float:
    total = 0.0
    for k, w in WEIGHTS:
        if i - k < 0 or math.isnan(c[i]) or math.isnan(c[i - k]):
            return math.nan
        total += w * (c[i] / c[i - k] - 1)
    return total


def _plain_ranks(scores: dict[str, float]) -> dict[str, int | None]:
    valid = [s for s in scores.values() if not math.isnan(s)]
    return {
        g: None if math.isnan(s) else 1 + sum(v > s for v in valid)
        for g, s in scores.items()
    }


def _plain_groups(bars, sectors, session: str, by: str) -> dict[str, dict]:
    cal = _calendar(bars)
    t = cal.get_loc(pd.Timestamp(session))
    closes = {s: _series(bars, s, "close", cal) for s in sectors["symbol"]}
    groups: dict[str, list[str]] = {}
    for row in sectors.itertuples():
        name = getattr(row, BY[by])
        if isinstance(name, str) and name:
            groups.setdefault(name, []).append(row.symbol)
    out = {}
    for back, key in ((0, "now"), (5, "week"), (21, "month")):
        means = {}
        for g, syms in groups.items():
            vals = [_plain_score(closes[s], t - back) for s in syms]
            vals = [v for v in vals if not math.isnan(v)]
            means[g] = sum(vals) / len(vals) if vals else math.nan
        for g, r in _plain_ranks(means).items():
            out.setdefault(g, {})[f"rank_{key}"] = r
            out[g][f"score_{key}"] = means[g]
    for g, syms in groups.items():
        have = [s for s in syms if not math.isnan(closes[s][t])]
        scored = [(s, _plain_score(closes[s], t)) for s in syms]
        scored = [(s, v) for s, v in scored if not math.isnan(v)]
        top = sorted(scored, key=lambda p: (-p[1], p[0]))[:3]
        rets = [closes[s][t] / closes[s][t - 21] - 1 for s in syms]
        rets = sorted(r for r in rets if not math.isnan(r))
        out[g].update(
            members=len(have),
            scored=len(scored),
            top=[s for s, _ in top],
            median_ret_21d=float(np.median(rets)) if rets else None,
        )
    return out


def _plain_extremes(bars, session: str, universe: list[str]):
    cal = _calendar(bars)
    t = cal.get_loc(pd.Timestamp(session))
    highs, lows = set(), set()
    for sym in universe:
        h = _series(bars, sym, "high", cal)[t - 251 : t + 1]
        lo = _series(bars, sym, "low", cal)[t - 251 : t + 1]
        if t >= 251 and not any(math.isnan(v) for v in h):
            if h[-1] >= max(h[:-1]):
                highs.add(sym)
        if t >= 251 and not any(math.isnan(v) for v in lo):
            if lo[-1] <= min(lo[:-1]):
                lows.add(sym)
    return highs, lows


# ----------------------------------------------------------- pure functions
def test_rs_scores_at_matches_a_plain_loop(bars):
    close = analytics.panel_from_bars(bars, "close")
    cal = close.index
    for row in (-1, -5, -21, 300):
        got = rs_scores_at(close, row)
        i = row + len(cal) if row < 0 else row
        for sym in close.columns:
            want = _plain_score(_series(bars, sym, "close", cal), i)
            assert got[sym] == pytest.approx(want, nan_ok=True, rel=1e-12), sym
    assert rs_scores_at(close, -len(cal) - 1).isna().all()
    no_rows = rs_scores_at(close.iloc[:0], -5)
    assert no_rows.isna().all() and list(no_rows.index) == list(close.columns)
    assert rs_scores_at(pd.DataFrame(), -5).empty


def test_new_high_low_flags_match_a_plain_loop(bars):
    panels = analytics.panels_from_bars(bars)
    found = 0
    for session in SESSIONS:
        upto = {f: p.loc[:session] for f, p in panels.items()}
        highs, lows = new_high_low_flags(upto["high"], upto["low"])
        want_h, want_l = _plain_extremes(bars, session, list(panels["high"].columns))
        assert set(highs[highs].index) == want_h
        assert set(lows[lows].index) == want_l
        found += len(want_h) + len(want_l)
    assert found > 0
    short = {f: p.iloc[:251] for f, p in panels.items()}
    h, lo = new_high_low_flags(short["high"], short["low"])
    assert not h.any() and not lo.any()


# ----------------------------------------------------------- REST
@pytest.mark.parametrize("by", list(BY))
@pytest.mark.parametrize("session", SESSIONS)
def test_group_ranks_match_a_plain_recalculation(client, bars, sectors, by, session):
    body = _get(client, f"/api/groups?universe={UNIVERSE}&as_of={session}&by={by}")
    assert body.status_code == 200
    body = body.get_json()
    want = _plain_groups(bars, sectors, session, by)
    assert body["session"] == session and body["by"] == by
    assert {r["group"] for r in body["rows"]} == set(want)
    assert [r["rank"] for r in body["rows"]] == sorted(
        (r["rank"] for r in body["rows"]), key=lambda r: (r is None, r)
    )
    for row in body["rows"]:
        w = want[row["group"]]
        assert row["rank"] == w["rank_now"], row["group"]
        assert row["rank_prev_week"] == w["rank_week"], row["group"]
        assert row["rank_prev_month"] == w["rank_month"], row["group"]
        for key, col in (("now", "group_rs_score"),
                         ("week", "group_rs_score_prev_week"),
                         ("month", "group_rs_score_prev_month")):  # fmt: skip
            if math.isnan(w[f"score_{key}"]):
                assert row[col] is None
            else:
                assert row[col] == pytest.approx(w[f"score_{key}"], rel=1e-9)
        assert row["members"] == w["members"]
        assert row["scored"] == w["scored"]
        assert row["top_members"] == w["top"]
        if w["median_ret_21d"] is None:
            assert row["median_ret_21d"] is None
        else:
            assert row["median_ret_21d"] == pytest.approx(w["median_ret_21d"])
    cal = _calendar(bars)
    t = cal.get_loc(pd.Timestamp(session))
    assert body["prior_sessions"] == {
        "prev_week": cal[t - 5].date().isoformat(),
        "prev_month": cal[t - 21].date().isoformat(),
    }


def test_group_pct_stage2_counts_the_rankings_stages(app, client):
    body = _get(client, f"/api/groups?universe={UNIVERSE}&as_of=2021-04-21").get_json()
    with app.server.app_context():
        rankings = market_state(UNIVERSE, "2021-04-21").rankings
    for row in body["rows"]:
        stages = rankings.loc[rankings["sector"] == row["group"], "stage"].dropna()
        want = 100 * (stages == 2).sum() / len(stages) if len(stages) else None
        assert row["pct_stage2"] == pytest.approx(want)


@pytest.mark.parametrize("session", SESSIONS)
def test_new_highs_lists_match_plain_rule_and_breadth_counts(
    client, bars, sectors, session
):
    body = _get(client, f"/api/new-highs?universe={UNIVERSE}&as_of={session}")
    assert body.status_code == 200
    body = body.get_json()
    highs, lows = _plain_extremes(bars, session, list(sectors["symbol"]))
    assert {r["symbol"] for r in body["new_highs"]} == highs
    assert {r["symbol"] for r in body["new_lows"]} == lows
    breadth = _get(client, f"/api/breadth?universe={UNIVERSE}&as_of={session}&days=1")
    last = breadth.get_json()["rows"][-1]
    assert body["counts"] == {
        "new_highs": last["new_highs"],
        "new_lows": last["new_lows"],
    }
    assert len(body["new_highs"]) == last["new_highs"]
    assert len(body["new_lows"]) == last["new_lows"]
    day = bars[bars["date"] == session].set_index("symbol")
    names = sectors.set_index("symbol")
    cal = _calendar(bars)
    t = cal.get_loc(pd.Timestamp(session))
    for row in body["new_highs"] + body["new_lows"]:
        sym = row["symbol"]
        c = _series(bars, sym, "close", cal)
        assert row["close"] == pytest.approx(day.at[sym, "close"])
        assert row["change_pct"] == pytest.approx(100 * (c[t] / c[t - 1] - 1))
        assert row["name"] == names.at[sym, "name"]
        assert row["sector"] == names.at[sym, "sector"]
        assert set(row) == {"symbol", "name", "sector", "close", "change_pct",
                            "rs_rating", "stage"}  # fmt: skip


def test_new_highs_csv_is_one_table_with_a_list_column(client):
    for session in SESSIONS:
        url = f"/api/new-highs?universe={UNIVERSE}&as_of={session}"
        body = _get(client, url).get_json()
        csv = _get(client, url + "&format=csv")
        assert csv.status_code == 200 and csv.mimetype == "text/csv"
        table = pd.read_csv(io.StringIO(csv.get_data(as_text=True)))
        assert list(table.columns) == ["list", "symbol", "name", "sector", "close",
                                       "change_pct", "rs_rating", "stage"]  # fmt: skip
        for name in ("new_highs", "new_lows"):
            rows = table[table["list"] == name]
            assert rows["symbol"].tolist() == [r["symbol"] for r in body[name]]


def test_groups_csv_and_bad_parameters(client):
    url = f"/api/groups?universe={UNIVERSE}&as_of=2021-04-21&by=industry"
    body = _get(client, url).get_json()
    csv = _get(client, url + "&format=csv")
    table = pd.read_csv(io.StringIO(csv.get_data(as_text=True)))
    assert table["group"].tolist() == [r["group"] for r in body["rows"]]
    assert table["top_members"].tolist() == [
        " ".join(r["top_members"]) for r in body["rows"]
    ]
    for bad in ("foo", "SECTOR", "sub_industry", ""):
        r = _get(client, f"/api/groups?universe={UNIVERSE}&by={bad}")
        assert r.status_code == 400, bad
        assert r.get_json()["details"]["parameter"] == "by"
    assert _get(client, "/api/groups?universe=nosuch").status_code == 404
    assert _get(client, "/api/new-highs?universe=nosuch").status_code == 404
    assert _get(client, "/api/new-highs?as_of=1995-01-03").status_code == 422


# ----------------------------------------------------------- pages
def _page(name: str):
    return importlib.import_module(f"pages.{name}")


def _text(value) -> str:
    import json

    import plotly

    return json.dumps(value, cls=plotly.utils.PlotlyJSONEncoder, ensure_ascii=False)


def test_groups_page_renders_ranks_and_drills_down(app, client, sectors):
    groups = _page("groups")
    layout = _text(groups.layout(universe=UNIVERSE, as_of="2021-04-21"))
    for element in ("groups-grid", "groups-group", "groups-rrg", "groups-members-grid"):
        assert element in layout
    body = _get(client, f"/api/groups?universe={UNIVERSE}&as_of=2021-04-21").get_json()
    with app.server.test_request_context():
        status, cols, rows, options, key = groups.refresh_groups(
            1, UNIVERSE, "2021-04-21", "", "sector", None
        )
        assert key and "Could not render" not in _text(status)
        assert [r["group"] for r in rows] == [r["group"] for r in body["rows"]]
        for r, b in zip(rows, body["rows"], strict=True):
            want = (
                None if b["rank_prev_week"] is None else b["rank_prev_week"] - b["rank"]
            )
            assert r["change_week"] == want
        assert {o["value"] for o in options} == {r["group"] for r in body["rows"]}
        title, members, fig, _key = groups.refresh_detail(
            1, UNIVERSE, "2021-04-21", "", "sector", IT, None
        )
        state = market_state(UNIVERSE, "2021-04-21")
        want = state.rankings[state.rankings["sector"] == IT]["symbol"].tolist()
        assert [m["symbol"] for m in members] == want
        assert "XLK" in _text(title)
        points, etf = group_rotation(state, "sector", IT, "2021-04-21", 8)
        assert etf == "XLK" and set(points["symbol"]) == set(want)
        assert {t["name"] for t in fig["data"]} == set(want)
        # The RRG is the shared analytics against the ETF, on weekly bars.
        close = analytics.panel_from_bars(
            app.server.extensions["tickstock_store"].read_daily(
                [*want, "XLK"], end="2021-04-21"
            ),
            "close",
        )
        direct = analytics.rrg(close[want], close["XLK"], period="weekly", tail=8)
        pd.testing.assert_frame_equal(
            points.reset_index(drop=True)[["symbol", "rs_ratio", "rs_momentum"]],
            direct.reset_index(drop=True)[["symbol", "rs_ratio", "rs_momentum"]],
        )
        assert group_members(state, "sector", "").empty
    assert groups.picked_group(GRID_ID, {"rowId": IT}, None) == IT
    assert groups.picked_group(GRID_ID, None, IT) == IT
    assert groups.picked_group("groups-by", {"rowId": IT}, IT) is None


def test_market_page_lists_highs_and_lows(app, client):
    market_page = _page("market")
    hook = _page("_highs_lows")
    assert "market-highs-lows" in _text(market_page.layout())
    body = _get(client, f"/api/new-highs?universe={UNIVERSE}&as_of=2020-03-16")
    body = body.get_json()
    with app.server.test_request_context():
        out = hook.refresh_highs_lows(1, UNIVERSE, "2020-03-16", "", None)
    high_title, high_rows, low_title, low_rows, key = out
    assert key
    assert [r["symbol"] for r in low_rows] == [r["symbol"] for r in body["new_lows"]]
    assert [r["symbol"] for r in high_rows] == [r["symbol"] for r in body["new_highs"]]
    assert low_title == f"New 52-week lows ({len(body['new_lows'])})"
    assert high_title == f"New 52-week highs ({len(body['new_highs'])})"
    assert set(low_rows[0]) <= {"symbol", "name", "close", "change_pct", "rs_rating"}


def test_methodology_states_group_rank_and_new_high_definitions(app):
    about = _text(_page("about").layout())
    assert "Group ranks" in about and "New 52-week highs and lows" in about
    assert "mean of the members' RS scores S" in about
    assert "computed 5 and 21 sessions earlier" in about
    assert "max(high of the prior 251 sessions)" in about

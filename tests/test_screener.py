"""Screener: fields vs a plain per-symbol recalculation on real data, filters, CSV,
400s that name what is allowed, and saved screens isolated per user."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.screener import FIELDS, NUMERIC_OPS, TEXT_OPS
from dashapp.market.screen_query import parse_condition
from tests.auth_helpers import bearer, make_api_app

DATA = Path(__file__).parent / "data"
SESSIONS = ("2021-04-21", "2021-03-01")  # CARR / OTIS: 275 and ~240 sessions
RETURNS = (5, 21, 63, 126, 252)


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return pd.read_csv(DATA / "sp500_slice_2018-2021_adj.csv.gz", parse_dates=["date"])


@pytest.fixture(scope="module")
def sectors() -> pd.DataFrame:
    return pd.read_csv(DATA / "sp500_slice_sectors_2021-04.csv")


@pytest.fixture(scope="module")
def app(tmp_path_factory, bars, sectors):
    tmp = tmp_path_factory.mktemp("screener")
    app = make_api_app(tmp, seed=False)
    store = app.server.extensions["tickstock_store"]
    store.upsert_symbols(
        {"symbol": r.symbol, "name": r.name, "kind": "stock", "sector": r.sector,
         "sub_industry": None if pd.isna(r.sub_industry) else r.sub_industry}
        for r in sectors.itertuples()
    )  # fmt: skip
    store.set_universe("slice", sectors["symbol"])
    store.upsert_daily_bars(bars, batch_size=50_000)
    app.alice = bearer(app, "alice")
    app.bob = bearer(app, "bob", "admin")
    return app


def expected_fields(bars: pd.DataFrame, sectors: pd.DataFrame, day: str):
    """Recompute every price field symbol by symbol with plain pandas."""
    rows = []
    meta = sectors.set_index("symbol")
    for sym, g in bars[bars["date"] <= day].groupby("symbol"):
        g = g.sort_values("date")
        if g["date"].iloc[-1] != pd.Timestamp(day):
            continue  # no price in the session: not screened
        c, n = g["close"].to_numpy(), len(g)
        last50 = g.tail(50)
        sma = {w: g["close"].tail(w).mean() if n >= w else np.nan for w in (50, 200)}
        hi = g["high"].tail(252).max() if n >= 252 else np.nan
        lo = g["low"].tail(252).min() if n >= 252 else np.nan
        avg_vol = last50["volume"].mean() if n >= 50 else np.nan
        row = {
            "symbol": sym,
            "name": meta.loc[sym, "name"],
            "sector": meta.loc[sym, "sector"],
            "close": c[-1],
            "volume": g["volume"].iloc[-1],
            "change_pct": 100 * (c[-1] / c[-2] - 1) if n > 1 else np.nan,
            "avg_volume_50d": avg_vol,
            "avg_dollar_volume_50d": (
                (last50["close"] * last50["volume"]).mean() if n >= 50 else np.nan
            ),
            "rel_volume": g["volume"].iloc[-1] / avg_vol,
            "pct_from_52w_high": 100 * (c[-1] / hi - 1),
            "pct_from_52w_low": 100 * (c[-1] / lo - 1),
            "pct_vs_sma50": 100 * (c[-1] / sma[50] - 1),
            "pct_vs_sma200": 100 * (c[-1] / sma[200] - 1),
        }
        for k in RETURNS:
            row[f"ret_{k}d"] = c[-1] / c[-1 - k] - 1 if n > k else np.nan
        rows.append(row)
    return pd.DataFrame(rows).set_index("symbol")


def get(app, headers=None, **params):
    client = app.server.test_client()
    query = [(k, v) for k, vs in params.items() for v in np.atleast_1d(vs)]
    return client.get("/api/screener", query_string=query, headers=headers or app.alice)


def frame_of(response) -> pd.DataFrame:
    assert response.status_code == 200, response.get_json()
    rows = response.get_json()["rows"]
    return pd.DataFrame(rows, columns=list(FIELDS)).set_index("symbol")


@pytest.mark.parametrize("day", SESSIONS)
def test_sr01_fields_match_plain_recalculation(app, bars, sectors, day):
    body = get(app, universe="slice", as_of=day).get_json()
    ours = frame_of(get(app, universe="slice", as_of=day))
    theirs = expected_fields(bars, sectors, day)
    assert sorted(ours.index) == sorted(theirs.index)
    assert body["screened"] == len(theirs) and body["session"] == day
    for col in theirs.columns:
        left = ours.loc[theirs.index, col]
        if col in ("name", "sector"):
            assert left.tolist() == theirs[col].tolist(), col
            continue
        np.testing.assert_allclose(
            left.astype(float), theirs[col].astype(float), rtol=1e-9, err_msg=col
        )
    # Late listings: fewer than 252 sessions means no 52-week figures.
    short = theirs["pct_from_52w_high"].isna()
    assert (
        short.any() and ours.loc[short[short].index, "pct_from_52w_high"].isna().all()
    )


def test_sr02_rs_and_stage_are_the_market_state_ones(app):
    from dashapp.market import market_state

    with app.server.app_context():
        state = market_state("slice", "2021-04-21")
    ranks = state.rankings.set_index("symbol")
    ours = frame_of(get(app, universe="slice", as_of="2021-04-21"))
    for col in ("rs_score", "rs_rating", "stage", "weeks_in_stage"):
        theirs = ranks.loc[ours.index, col]
        np.testing.assert_allclose(
            ours[col].astype(float), theirs.astype(float), rtol=1e-12, err_msg=col
        )
    assert (ours["industry"] == ranks.loc[ours.index, "sub_industry"]).all()


FILTERS = [
    ["pct_vs_sma50>0", "pct_vs_sma200 > 0"],
    ["change_pct<=-1"],
    ["ret_63d>=0.1", "sector!=Energy"],
    ["pct_from_52w_high >= -5", "avg_dollar_volume_50d>1e9"],
    ['sector="Information Technology"'],
    ["rel_volume>1.2", "pct_from_52w_low<50"],
    ["ret_252d!=0", "symbol=aapl"],
]


@pytest.mark.parametrize("where", FILTERS)
def test_sr03_filters_match_plain_filtering(app, bars, sectors, where):
    day = "2021-04-21"
    theirs = expected_fields(bars, sectors, day)
    keep = pd.Series(True, index=theirs.index)
    for text in where:
        cond = parse_condition(text)
        col = theirs.index.to_series() if cond.field == "symbol" else theirs[cond.field]
        if isinstance(cond.value, str):
            hit = col.str.lower() == cond.value.lower()
            keep &= hit if cond.op == "=" else ~hit & col.notna()
        else:
            ops = {">=": col.ge, "<=": col.le, ">": col.gt, "<": col.lt}
            ops.update({"=": col.eq, "!=": col.ne})
            keep &= ops[cond.op](cond.value) & col.notna()
    expected = set(theirs.index[keep])
    ours = frame_of(get(app, universe="slice", as_of=day, where=where))
    assert set(ours.index) == expected
    assert 0 < len(expected) < len(theirs) or where == FILTERS[-1]


def test_sr04_sort_order_limit(app):
    ours = frame_of(
        get(app, universe="slice", as_of="2021-04-21", sort="pct_vs_sma50", order="asc")
    )
    values = ours["pct_vs_sma50"].dropna().to_numpy()
    assert (np.diff(values) >= 0).all() and ours["pct_vs_sma50"].iloc[-1:].notna().all()
    top = get(app, universe="slice", as_of="2021-04-21", sort="close", limit=3)
    body = top.get_json()
    assert body["count"] == 3 and body["total"] == len(ours)
    assert [r["close"] for r in body["rows"]] == sorted(ours["close"], reverse=True)[:3]


def test_sr05_csv_has_the_fields_and_same_rows(app):
    where = ["pct_vs_sma200>0"]
    as_json = frame_of(get(app, universe="slice", as_of="2021-04-21", where=where))
    response = get(app, universe="slice", as_of="2021-04-21", where=where, format="csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    csv = pd.read_csv(io.StringIO(response.get_data(as_text=True)))
    assert list(csv.columns) == list(FIELDS)
    assert csv["symbol"].tolist() == as_json.index.tolist()
    np.testing.assert_allclose(csv["close"], as_json["close"].astype(float))


@pytest.mark.parametrize(
    ("where", "code", "allowed"),
    [
        ("bogus>=1", "unknown_field", list(FIELDS)),
        ("rs_rating=>90", "unknown_operator", list(NUMERIC_OPS)),
        ("rs_rating~90", "unknown_operator", list(NUMERIC_OPS)),
        ("sector>=Energy", "unknown_operator", list(TEXT_OPS)),
        ("rs_rating", "unknown_operator", list(NUMERIC_OPS)),
    ],
)
def test_sr06_unknown_field_or_operator_names_the_allowed(app, where, code, allowed):
    response = get(app, universe="slice", as_of="2021-04-21", where=[where])
    body = response.get_json()
    assert response.status_code == 400, body
    assert body["error"] == code and body["details"]["allowed"] == allowed
    assert all(name in body["message"] for name in allowed)


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"where": ["close>=abc"]}, 400),
        ({"where": ["close>=1e999"]}, 400),
        ({"where": ["sector=Technology"]}, 400),
        ({"where": ["industry=Not An Industry"]}, 400),
        ({"where": ["close>1"] * 21}, 400),
        ({"sort": "bogus"}, 400),
        ({"order": "up"}, 400),
        ({"limit": "0"}, 400),
        ({"as_of": "2030-01-02"}, 422),
        ({"universe": "nope"}, 404),
    ],
)
def test_sr07_bad_values(app, params, status):
    query = {"universe": "slice", "as_of": "2021-04-21", **params}
    response = get(app, **query)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"]


def test_sr08_unknown_sector_lists_known_ones(app, sectors):
    response = get(app, universe="slice", as_of="2021-04-21", where=["sector=Tech"])
    allowed = response.get_json()["details"]["allowed"]
    assert set(sectors["sector"]) <= set(allowed)


def screens(app, headers):
    client = app.server.test_client()
    response = client.get("/api/screens", headers=headers)
    assert response.status_code == 200
    return {s["name"]: s for s in response.get_json()["screens"]}


def post_screen(app, headers, body):
    client = app.server.test_client()
    return client.post("/api/screens", json=body, headers=headers)


def test_sr09_saved_screens_are_per_user(app):
    leaders = {"where": ["rs_rating>=90", "stage=2"], "sort": "rs_rating"}
    created = post_screen(app, app.alice, {"name": "Leaders", "definition": leaders})
    assert created.status_code == 201, created.get_json()
    mine = created.get_json()
    assert mine["definition"]["where"] == ["rs_rating>=90", "stage=2"]
    bobs = post_screen(app, app.bob, {"name": "Leaders", "definition": {"where": []}})
    assert bobs.status_code == 201
    assert screens(app, app.alice)["Leaders"]["id"] == mine["id"]
    assert screens(app, app.bob)["Leaders"]["id"] == bobs.get_json()["id"]
    assert len(screens(app, app.alice)) == len(screens(app, app.bob)) == 1
    client = app.server.test_client()
    # Bob is an admin: the user API still never reaches Alice's screens.
    gone = client.delete(f"/api/screens/{mine['id']}", headers=app.bob)
    assert gone.status_code == 404
    assert "Leaders" in screens(app, app.alice)
    again = post_screen(
        app, app.alice, {"name": "Leaders", "definition": {"where": ["stage=2"]}}
    )
    assert again.get_json()["replaced"] and again.get_json()["id"] == mine["id"]
    assert screens(app, app.alice)["Leaders"]["definition"]["where"] == ["stage=2"]
    ok = client.delete(f"/api/screens/{mine['id']}", headers=app.alice)
    assert ok.status_code == 200 and "Leaders" not in screens(app, app.alice)
    assert (
        client.delete(f"/api/screens/{mine['id']}", headers=app.alice).status_code
        == 404
    )
    assert "Leaders" in screens(app, app.bob)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"definition": {"where": []}}, "missing_field"),
        ({"name": "x", "definition": {"where": ["bogus>1"]}}, "unknown_field"),
        ({"name": "x", "definition": {"where": "rs_rating>1"}}, "invalid_parameter"),
        ({"name": "x", "definition": {"colour": "red"}}, "unknown_field"),
        ({"name": "", "definition": {}}, "invalid_parameter"),
        ({"name": "x", "definition": {"sort": "bogus"}}, "invalid_parameter"),
    ],
)
def test_sr10_bad_screen_bodies(app, body, code):
    response = post_screen(app, app.alice, body)
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"] == code


def test_sr11_store_isolation(store):
    """Saved screens per user on SQLite and PostgreSQL."""
    from dashapp.store import StoreError

    a = store.create_user("ann", "x", "user")
    b = store.create_user("ben", "x", "admin")
    first, replaced = store.save_screen(a, "s", '{"where": []}', 2)
    assert not replaced and first["created_at"].tzinfo is not None
    store.save_screen(b, "s", "{}", 2)
    assert [s["id"] for s in store.list_screens(a)] == [first["id"]]
    assert not store.delete_screen(b, first["id"])
    _, replaced = store.save_screen(a, "s", '{"where": ["stage=2"]}', 2)
    assert replaced and len(store.list_screens(a)) == 1
    store.save_screen(a, "t", "{}", 2)
    with pytest.raises(StoreError):
        store.save_screen(a, "u", "{}", 2)
    assert store.delete_screen(a, first["id"])
    assert [s["name"] for s in store.list_screens(a)] == ["t"]


def test_sr12_same_table_without_the_snapshot_engine(app):
    """The settled history read from the store equals the engine's arrays."""
    from dashapp.market import _engines
    from dashapp.market import screener as market_screener
    from dashapp.market.session_bars import resolve_request

    with app.server.app_context():
        state, table = market_screener.screener("slice", "2021-04-21")
        request = resolve_request("2021-04-21", None, None, None)
        _engines.clear()
        market_screener._settled.clear()
        from_store = market_screener._table(request, state)
    assert len(table) > 40
    pd.testing.assert_frame_equal(table, from_store, check_exact=False, rtol=1e-12)

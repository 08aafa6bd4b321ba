"""Breadth per GICS sector vs a plain per-member recalculation, and the REST answers.

Real data: the committed slice tests/data/sp500_slice_2018-2021_adj.csv.gz (44 S&P
500 members, all 11 sectors, MIT) with its sectors (ODC-PDDL). The reference loops
over each sector's members with Python floats; it shares no code with `analytics`.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from dashapp.factory import create_app
from dashapp.market import market_state
from dashapp.market.sector_breadth import UnknownSector, sector_breadth
from dashapp.settings import load_settings
from tests.auth_helpers import bearer, seed_bars

DATA = Path(__file__).parent / "data"
AS_OF = "2021-04-21"
LOCAL_COLUMNS = (
    "advancers",
    "decliners",
    "unchanged",
    "pct_above_sma20",
    "pct_above_sma50",
    "pct_above_sma200",
    "new_highs",
    "new_lows",
    "up_volume",
    "down_volume",
)


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return pd.read_csv(DATA / "sp500_slice_2018-2021_adj.csv.gz", parse_dates=["date"])


@pytest.fixture(scope="module")
def sectors() -> pd.DataFrame:
    return pd.read_csv(DATA / "sp500_slice_sectors_2021-04.csv")


def load(store, bars, sectors, universe="slice", members=None):
    store.upsert_symbols(
        [{"symbol": r.symbol, "name": r.name, "kind": "stock", "sector": r.sector}
         for r in sectors.itertuples()]
    )  # fmt: skip
    store.set_universe(universe, members if members is not None else sectors["symbol"])
    store.upsert_daily_bars(bars, batch_size=50_000)


def plain_row(series: dict[str, dict[str, list]], dates: list, t: int) -> dict:
    """Recompute one session's breadth counts of some members, literally."""
    out = dict.fromkeys(LOCAL_COLUMNS, 0.0)
    have = {20: 0, 50: 0, 200: 0}
    above = {20: 0, 50: 0, 200: 0}
    for col in series.values():
        c, h, lo, v = col["close"], col["high"], col["low"], col["volume"]
        if t > 0 and c[t] is not None and c[t - 1] is not None:
            if c[t] > c[t - 1]:
                out["advancers"] += 1
                out["up_volume"] += v[t] or 0.0
            elif c[t] < c[t - 1]:
                out["decliners"] += 1
                out["down_volume"] += v[t] or 0.0
            else:
                out["unchanged"] += 1
        for n in have:
            window = c[t - n + 1 : t + 1] if t >= n - 1 else []
            if len(window) == n and all(x is not None for x in window):
                have[n] += 1
                above[n] += c[t] > sum(window) / n
        prior_h, prior_l = h[t - 251 : t], lo[t - 251 : t]
        if t >= 251 and h[t] is not None and all(x is not None for x in prior_h):
            out["new_highs"] += h[t] >= max(prior_h)
        if t >= 251 and lo[t] is not None and all(x is not None for x in prior_l):
            out["new_lows"] += lo[t] <= min(prior_l)
    for n in have:
        out[f"pct_above_sma{n}"] = 100.0 * above[n] / have[n] if have[n] else None
    return out


def member_lists(bars: pd.DataFrame, members: list[str]) -> tuple[list, dict]:
    dates = sorted(bars["date"].unique())
    out = {}
    for sym in members:
        one = bars[bars["symbol"] == sym].set_index("date").reindex(dates)
        out[sym] = {
            f: [None if pd.isna(x) else float(x) for x in one[f]]
            for f in ("close", "high", "low", "volume")
        }
    return [pd.Timestamp(d) for d in dates], out


def test_sb01_each_sector_matches_plain_recalculation(store, bars, sectors):
    load(store, bars, sectors)
    result = sector_breadth("slice", AS_OF, store=store)
    assert result.sectors == sorted(sectors["sector"].unique())
    assert len(result.sectors) == 11
    for sector, group in sectors.groupby("sector"):
        dates, series = member_lists(bars, sorted(group["symbol"]))
        ours = result.breadth(sector.upper())  # case-insensitive
        pos = {d: i for i, d in enumerate(dates)}
        checked = list(ours.index[::23]) + list(ours.index[-3:])
        for day in checked:
            expected = plain_row(series, dates, pos[day])
            for col in LOCAL_COLUMNS:
                got = ours.loc[day, col]
                want = expected[col]
                if want is None:
                    assert pd.isna(got), (sector, day, col)
                else:
                    assert got == pytest.approx(want, rel=1e-9), (sector, day, col)
        steps = ours["ad_line"].diff().iloc[1:]
        net = (ours["advancers"] - ours["decliners"]).iloc[1:]
        assert (steps == net).all()
        # The table is the last session's row with the member counts.
        row = result.table.set_index("sector").loc[sector]
        assert row["members"] == len(group)
        last = bars[bars["date"] == pd.Timestamp(AS_OF)]
        assert row["with_data"] == int(last["symbol"].isin(group["symbol"]).sum())
        for col in ("advancers", "decliners", "new_highs", "new_lows"):
            assert row[col] == ours[col].iloc[-1]
    assert result.table.set_index("sector").loc["Health Care", "with_data"] == (
        result.table.set_index("sector").loc["Health Care", "members"] - 1
    )  # VAR stopped trading on 2021-04-16


def test_sb02_same_as_market_state_breadth_of_the_members(sqlite_store, bars, sectors):
    energy = sectors.loc[sectors["sector"] == "Energy", "symbol"].tolist()
    load(sqlite_store, bars, sectors)
    sqlite_store.set_universe("energy-only", energy)
    ours = sector_breadth("slice", AS_OF, store=sqlite_store).breadth("Energy")
    theirs = market_state("energy-only", AS_OF, store=sqlite_store).breadth
    pd.testing.assert_frame_equal(ours, theirs, check_exact=False, rtol=1e-9)


def test_sb03_unknown_sector_names_the_allowed_ones(sqlite_store, bars, sectors):
    load(sqlite_store, bars, sectors)
    result = sector_breadth("slice", AS_OF, store=sqlite_store)
    with pytest.raises(UnknownSector) as err:
        result.breadth("Crypto")
    assert err.value.allowed == result.sectors


# -- REST ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def api(tmp_path_factory, bars, sectors):
    tmp = tmp_path_factory.mktemp("sector-api")
    env = {
        "DATABASE_URL": f"sqlite:///{tmp / 'app.db'}",
        "TICKSTOCK_DATA_DIR": str(tmp),
        "INGEST_ENABLED": "false",
        "TICKSTOCK_DEMO_DATA": "false",
        "SECRET_KEY": "test-secret",
        "RATE_LIMIT_USER": "100000/minute",
        "RATE_LIMIT_IP": "100000/minute",
    }
    app = create_app(load_settings(env, env_file=None), ingest=False)
    load(app.server.extensions["tickstock_store"], bars, sectors)
    return app, app.server.test_client(), bearer(app, "sam", "user")


def test_sb04_api_breadth_sector(api, bars, sectors):
    app, client, headers = api
    url = f"/api/breadth?universe=slice&as_of={AS_OF}&days=30"
    r = client.get(url + "&sector=information%20technology", headers=headers)
    assert r.status_code == 200
    body = r.get_json()
    assert body["sector"] == "Information Technology"
    tech = sectors[sectors["sector"] == "Information Technology"]
    assert body["sector_members"]["members"] == len(tech)
    assert body["count"] == 30 and len(body["panel"]) == 11
    with app.server.app_context():
        store = app.server.extensions["tickstock_store"]
        direct = sector_breadth("slice", AS_OF, store=store).breadth(
            "Information Technology"
        )
    assert [row["advancers"] for row in body["rows"]] == direct["advancers"].tail(
        30
    ).tolist()
    whole = client.get(url + "&format=csv", headers=headers)
    part = client.get(url + "&format=csv&sector=Energy", headers=headers)
    assert part.status_code == 200 and part.mimetype == "text/csv"
    frame = pd.read_csv(io.StringIO(part.get_data(as_text=True)))
    assert list(frame.columns) == list(
        pd.read_csv(io.StringIO(whole.get_data(as_text=True))).columns
    )
    assert len(frame) == 30


@pytest.mark.parametrize("sector", ["Crypto", "Energy<script>", "x" * 65])
def test_sb05_api_bad_sector_is_400(api, sector):
    _app, client, headers = api
    r = client.get(f"/api/breadth?universe=slice&sector={sector}", headers=headers)
    assert r.status_code == 400
    body = r.get_json()
    assert body["details"]["parameter"] == "sector"
    if sector == "Crypto":
        assert body["error"] == "unknown_sector"
        assert "Energy" in body["details"]["allowed"]
        assert len(body["details"]["allowed"]) == 11
        assert "Utilities" in body["message"]


def test_sb06_api_sector_table(api, sectors):
    _app, client, headers = api
    r = client.get(
        f"/api/breadth/sectors?universe=slice&as_of={AS_OF}", headers=headers
    )
    assert r.status_code == 200
    body = r.get_json()
    assert body["session"] == AS_OF and body["count"] == 11
    counts = sectors["sector"].value_counts()
    for row in body["rows"]:
        assert row["members"] == counts[row["sector"]]
        assert 0 <= row["pct_above_sma50"] <= 100
    csv = client.get("/api/breadth/sectors?universe=slice&format=csv", headers=headers)
    frame = pd.read_csv(io.StringIO(csv.get_data(as_text=True)))
    assert len(frame) == 11 and "pct_above_sma200" in frame.columns
    bad = client.get("/api/breadth/sectors?universe=nope", headers=headers)
    assert bad.status_code == 404
    old = client.get(
        "/api/breadth/sectors?universe=slice&as_of=1999-01-04", headers=headers
    )
    assert old.status_code == 422


def test_sb07_api_market_regime(tmp_path):
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "TICKSTOCK_DATA_DIR": str(tmp_path),
        "INGEST_ENABLED": "false",
        "TICKSTOCK_DEMO_DATA": "false",
        "SECRET_KEY": "test-secret",
    }
    app = create_app(load_settings(env, env_file=None), ingest=False)
    store = app.server.extensions["tickstock_store"]
    seed_bars(store)
    app.server.config["TICKSTOCK_API_VERSION_TTL"] = 0  # see the new QQQ bars at once
    client, headers = app.server.test_client(), bearer(app)
    r = client.get("/api/market-regime?as_of=2025-03-31", headers=headers)
    assert r.status_code == 200
    body = r.get_json()
    assert [i["symbol"] for i in body["indexes"]] == ["SPY"]  # QQQ / IWM not stored
    spy = body["indexes"][0]
    assert spy["session"] == "2025-03-31" and spy["sessions"] == 300
    assert body["regime"] == spy["regime"] and body["regime"] is not None
    assert body["distribution_days"] == len(body["distribution_dates"])
    assert len(spy["strip"]) == 25
    from analytics.regime import market_regime, regime_summary

    daily = store.read_daily(["SPY"]).set_index("date")
    direct = regime_summary(market_regime(daily["close"], daily["volume"]))
    assert direct["regime"] == spy["regime"]
    assert direct["close_vs_sma50_pct"] == pytest.approx(spy["close_vs_sma50_pct"])
    qqq = store.read_daily(["SPY"]).assign(symbol="QQQ")
    store.upsert_daily_bars(qqq)
    body = client.get("/api/market-regime?as_of=2025-03-31", headers=headers).get_json()
    assert [i["symbol"] for i in body["indexes"]] == ["SPY", "QQQ"]
    csv = client.get("/api/market-regime?format=csv", headers=headers)
    frame = pd.read_csv(io.StringIO(csv.get_data(as_text=True)))
    assert frame["symbol"].tolist() == ["SPY", "QQQ"]
    assert "distribution_dates" in frame.columns
    assert (
        client.get("/api/market-regime?as_of=20x", headers=headers).status_code == 400
    )
    out = client.get("/api/market-regime?as_of=1999-01-04", headers=headers)
    assert out.status_code == 422
    assert client.get("/api/market-regime?bogus=1", headers=headers).status_code == 400

"""Say what is counted: RS universe size, members with data, missing sector ETFs,
stocks-only rankings and the pending stage candidate."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest

import analytics
from analytics.constants import RS_MIN_SESSIONS
from dashapp import market
from dashapp.api.export import EXPORT_COLUMNS, export_frame
from dashapp.cli.export import cmd_export
from dashapp.factory import create_app
from dashapp.market import market_state, stage_cache
from dashapp.settings import load_settings
from dashapp.store.reference import sector_etfs
from tests.auth_helpers import api_env, bearer

END = "2025-03-31"
LONG, SHORT, ETF_SHORT = 300, 100, 20
LONG_STOCKS = ("AAPL", "MSFT", "NVDA", "JPM", "XOM")
SHORT_STOCK = "ABNB"
NO_DATA_ETF, SHORT_ETF = "XLC", "XLRE"


def _series(sym: str, sessions: int, seed: int) -> pd.DataFrame:
    dates = pd.bdate_range(end=END, periods=sessions)
    steps = np.random.default_rng(seed).normal(0.0003, 0.012, sessions)
    close = 100 * np.exp(np.cumsum(steps))
    return pd.DataFrame(
        {"symbol": sym, "date": dates, "open": close, "high": close * 1.01,
         "low": close * 0.99, "close": close, "volume": 1e6}
    )  # fmt: skip


def _bars() -> pd.DataFrame:
    etfs = [s for s in sector_etfs()["symbol"] if s not in (NO_DATA_ETF, SHORT_ETF)]
    frames = [_series(s, LONG, i) for i, s in enumerate((*LONG_STOCKS, "SPY", *etfs))]
    frames += [_series(SHORT_STOCK, SHORT, 91), _series(SHORT_ETF, ETF_SHORT, 92)]
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def counted(tmp_path_factory):
    """Return (app, client, user headers, store) over the seeded bars."""
    tmp = tmp_path_factory.mktemp("counted")
    env = api_env(tmp)
    app = create_app(load_settings(env, env_file=None), ingest=False)
    store = app.server.extensions["tickstock_store"]
    store.upsert_daily_bars(_bars())
    store.set_universe("mix", ["AAPL", "MSFT", "XLK", "XLF"])
    market._engines.clear()
    stage_cache.clear()
    return app, app.server.test_client(), bearer(app, "uma", "user"), env


def test_rs_universe_and_members_in_api_meta(counted):
    _app, client, user, _env = counted
    body = client.get("/api/rankings?limit=1", headers=user).get_json()
    assert body["rs_universe"]["ranked"] == len(LONG_STOCKS)
    assert body["rs_universe"]["min_sessions"] == RS_MIN_SESSIONS
    assert f"ranked among {len(LONG_STOCKS)} names" in body["rs_universe"]["label"]
    full = client.get("/api/rankings?limit=1000", headers=user).get_json()
    rated = [r for r in full["rows"] if r["rs_rating"] is not None]
    assert len(rated) == body["rs_universe"]["ranked"]
    members = body["members"]
    assert members["with_data"] == len(LONG_STOCKS) + 1  # the short one has data
    assert members["total"] == full["total"] > members["with_data"]
    summary = client.get("/api/market-state", headers=user).get_json()
    assert summary["rs_universe"] == body["rs_universe"]
    assert summary["members"] == members


def test_rs_universe_in_export_and_cli(counted, capsys):
    app, _client, _user, env = counted
    with app.server.app_context():
        frame = export_frame(market_state("sp500"), "rankings")
    assert list(frame.columns) == list(EXPORT_COLUMNS["rankings"])
    assert frame.columns[-1] == "rs_ranked_among"
    assert set(frame["rs_ranked_among"]) == {frame["rs_rating"].notna().sum()}
    assert frame["rs_rating"].notna().sum() == len(LONG_STOCKS)
    args = argparse.Namespace(kind="rankings", universe="sp500", as_of=None,
                              format="csv")  # fmt: skip
    assert cmd_export(load_settings(env, env_file=None), args) == 0
    err = capsys.readouterr().err
    assert f"ranked among {len(LONG_STOCKS)} names with ≥ {RS_MIN_SESSIONS}" in err


def test_missing_sector_etfs_listed_with_reason(counted):
    _app, client, user, _env = counted
    body = client.get("/api/sectors/rotation", headers=user).get_json()
    shown = {r["symbol"] for r in body["rows"]}
    missing = {m["symbol"]: m["reason"] for m in body["missing"]}
    assert shown | set(missing) == set(sector_etfs()["symbol"])
    assert not shown & set(missing)
    assert missing[NO_DATA_ETF] == "no price data"
    assert "weekly bars" in missing[SHORT_ETF] and "need 34" in missing[SHORT_ETF]
    assert set(missing) == {NO_DATA_ETF, SHORT_ETF}


def test_rankings_hold_stocks_only_and_etfs_stay_in_rrg(counted):
    _app, client, user, _env = counted
    body = client.get("/api/rankings?universe=mix", headers=user).get_json()
    assert {r["symbol"] for r in body["rows"]} == {"AAPL", "MSFT"}
    assert body["members"]["total"] == 2
    rotation = client.get("/api/sectors/rotation", headers=user).get_json()
    assert {"XLK", "XLF"} <= {r["symbol"] for r in rotation["rows"]}


def test_stages_answer_carries_candidate(counted):
    _app, client, user, _env = counted
    body = client.get("/api/stages?limit=1000", headers=user).get_json()
    row = next(r for r in body["rows"] if r["symbol"] == "AAPL")
    assert row["candidate_stage"] in (1, 2, 3, 4)
    assert row["candidate_weeks"] >= 1
    assert EXPORT_COLUMNS["stages"][-2:] == ("candidate_stage", "candidate_weeks")


def _weekly_path() -> pd.Series:
    """Weekly closes: up 60 weeks (stage 2), flat 45 (stage 3), then one 30% drop."""
    up = 50 * 1.02 ** np.arange(60)
    flat = np.full(45, up[-1])
    close = np.r_[up, flat, flat[-1] * 0.7]
    dates = pd.date_range("2020-01-03", periods=len(close), freq="W-FRI")
    return pd.Series(close, index=dates, name="X")


def _pinned_candidate(close: np.ndarray, last_trend: int) -> int:
    """The pinned candidate rule for the last week of a weekly close array."""
    ma = close[-30:].mean()
    ma_lag = close[-34:-4].mean()
    pv, slope = 100 * (close[-1] - ma) / ma, 100 * (ma / ma_lag - 1)
    if pv > 2 and slope > 0.5:
        return 2
    if pv < -2 and slope < -0.5:
        return 4
    return 3 if last_trend == 2 else 1


def test_candidate_stage_and_weeks_on_a_constructed_case():
    weekly = _weekly_path()
    frame = weekly.to_frame()
    current, hist = analytics.weinstein_stages(frame)
    row = current.loc["X"]
    assert _pinned_candidate(weekly.to_numpy()[:-1], 2) == 3
    assert _pinned_candidate(weekly.to_numpy(), 2) == 4
    assert hist["X"].iloc[-2] == 3  # stage 3 was confirmed during the flat weeks
    assert (row["stage"], row["candidate_stage"], row["candidate_weeks"]) == (3, 4, 1)
    # One more week below: the candidate holds 2 weeks and becomes the stage.
    nxt = pd.Series([weekly.iloc[-1]], [weekly.index[-1] + pd.Timedelta(weeks=1)])
    current2, _ = analytics.weinstein_stages(pd.concat([weekly, nxt]).to_frame("X"))
    row2 = current2.loc["X"]
    assert (row2["stage"], row2["candidate_stage"], row2["candidate_weeks"]) == (
        4,
        4,
        2,
    )
    # A long-held candidate counts every week of its run (not capped at 2).
    prior = analytics.weinstein_stages(frame.iloc[:-1])[0].loc["X"]
    closes = weekly.to_numpy()[:-1]
    run = 0
    while _pinned_candidate(closes[: len(closes) - run], 2) == 3:
        run += 1
    assert (prior["candidate_stage"], prior["candidate_weeks"]) == (3, run)
    assert run > 2


def _text(value) -> str:
    import json

    import plotly

    return json.dumps(value, cls=plotly.utils.PlotlyJSONEncoder, ensure_ascii=False)


def test_pages_show_counts_missing_etfs_and_candidate(counted):
    import importlib

    app, _client, _user, _env = counted
    with app.server.test_request_context():
        rankings = importlib.import_module("pages.rankings")
        sectors = importlib.import_module("pages.sectors")
        stages = importlib.import_module("pages.stages")
        ranked = _text(rankings.build_rankings("sp500", "now")[0])
        rotated = _text(sectors.build_sectors("sp500", "now", "weekly", 10)[0])
        state = market_state("sp500")
        table = stages.stage_table(state)
    total = len(state.rankings)
    assert f"ranked among {len(LONG_STOCKS)} names with ≥ {RS_MIN_SESSIONS}" in ranked
    assert f"{len(LONG_STOCKS) + 1:,} / {total:,} members with data" in ranked
    assert f"{NO_DATA_ETF}: no price data" in rotated and SHORT_ETF in rotated
    pending = table[table["candidate"].notna()]
    staged = state.stages.set_index("symbol")
    for row in pending.itertuples():
        want = staged.loc[row.symbol]
        assert want["candidate_stage"] != want["stage"] or pd.isna(want["stage"])
        label = f"Stage {want['candidate_stage']} candidate · "
        assert row.candidate == label + f"{want['candidate_weeks']} wk"
    same = table[table["candidate"].isna()]["symbol"]
    assert (staged.loc[same, "candidate_stage"] == staged.loc[same, "stage"]).all()

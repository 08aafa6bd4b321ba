"""The Market page's regime panel and the Breadth page's sector picker and table.

Callbacks run as plain functions inside a request context of a real app on a temp
SQLite holding the committed real slice (44 S&P 500 members, 11 sectors) and, for
the regime, a SPY series (the test market's synthetic SPY of `seed_bars`).
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pandas as pd
import plotly
import plotly.graph_objects as go
import pytest

from dashapp.factory import create_app
from dashapp.market import dataversion
from dashapp.market.regime import market_regime
from dashapp.market.sector_breadth import sector_breadth
from dashapp.settings import load_settings
from tests.auth_helpers import seed_bars
from tests.test_sector_breadth import load

DATA = Path(__file__).parent / "data"
AS_OF = "2021-04-21"


def _text(value) -> str:
    return json.dumps(value, cls=plotly.utils.PlotlyJSONEncoder, ensure_ascii=False)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("regime-pages")
    env = {
        "DATABASE_URL": f"sqlite:///{tmp / 'app.db'}",
        "TICKSTOCK_DATA_DIR": str(tmp),
        "INGEST_ENABLED": "false",
        "TICKSTOCK_DEMO_DATA": "false",
        "SECRET_KEY": "test-secret",
    }
    app = create_app(load_settings(env, env_file=None), ingest=False)
    store = app.server.extensions["tickstock_store"]
    bars = pd.read_csv(DATA / "sp500_slice_2018-2021_adj.csv.gz", parse_dates=["date"])
    load(store, bars, pd.read_csv(DATA / "sp500_slice_sectors_2021-04.csv"))
    return app


@pytest.fixture(autouse=True)
def _no_version_memo(monkeypatch):
    monkeypatch.setattr(dataversion, "VERSION_TTL_S", 0.0)


def page(name: str):
    return importlib.import_module(f"pages.{name}")


def test_rp01_breadth_page_sector_picker_and_table(app):
    breadth = page("breadth")
    with app.server.test_request_context():
        out = breadth.refresh_breadth(1, "slice", AS_OF, "", "Energy", None)
        expected = sector_breadth("slice", AS_OF)
    status, panel, chart, options, table, key = out
    assert key and "Energy" in key
    assert [o["value"] for o in options][1:] == expected.sectors
    energy = expected.breadth("Energy")
    adl = go.Figure(chart).data[0]
    assert list(adl.y)[-1] == energy["ad_line"].iloc[-1]
    assert "Energy: " in _text(status) and "members with data" in _text(status)
    text = _text(table)
    for row in expected.table.itertuples():
        assert row.sector in text
        assert f"{row.with_data} / {row.members}" in text
    assert len(json.loads(_text(panel))["props"]["children"][1]["props"]["children"])


def test_rp02_breadth_page_unknown_sector_says_so(app):
    with app.server.test_request_context():
        out = page("breadth").refresh_breadth(1, "slice", AS_OF, "", "Crypto", None)
    assert "Unknown sector" in _text(out[0])
    assert "Utilities" in _text(out[0])


def test_rp03_market_regime_panel_renders_the_answer(tmp_path):
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "TICKSTOCK_DATA_DIR": str(tmp_path),
        "INGEST_ENABLED": "false",
        "TICKSTOCK_DEMO_DATA": "false",
        "SECRET_KEY": "test-secret",
    }
    app = create_app(load_settings(env, env_file=None), ingest=False)
    seed_bars(app.server.extensions["tickstock_store"])
    regime = page("_regime")
    with app.server.test_request_context():
        children = regime.refresh_regime("market|key-1", "2025-03-31", "")
        answer = market_regime("2025-03-31")
    text = _text(children)
    spy = answer["indexes"][0]
    assert "Market regime" in text and spy["regime"] in text
    assert f"{spy['distribution_days']} distribution days" in text
    assert f"{spy['sessions']:,} sessions" in text
    assert text.count("regime-day ") == len(spy["strip"]) == 25
    counting = sum(1 for d in spy["strip"] if d["distribution_day"] and d["counting"])
    assert text.count("regime-distribution") == counting
    market = page("market")
    layout = _text(market.layout())
    assert '"market-regime"' in layout


def test_rp04_methodology_states_the_regime_definition(app):
    with app.server.test_request_context():
        text = _text(page("about").layout())
    assert "Market regime (SPY" in text
    assert "at least 0.2 % below the prior close" in text
    assert "for 25 sessions" in text and "≥ 5 % above its close" in text
    assert "day 4 or later, a close ≥ 1.25 % above" in text
    assert "distribution days ≥ 6 or C ≤ (1 - 8 %)" in text

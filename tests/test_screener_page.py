"""The /screener page: inputs -> conditions, presets, the grid, saved screens."""

from __future__ import annotations

import importlib
import io
import json

import pandas as pd
import plotly
import pytest
from dash.exceptions import PreventUpdate
from flask import g

from analytics.screener import FIELDS
from components.navbar import nav_links
from dashapp.auth.principal import Principal
from dashapp.market import dataversion
from dashapp.settings import load_settings
from tests.auth_helpers import bearer
from tests.test_pages_data import build_app


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("screener_page")
    env = {
        "DATABASE_URL": f"sqlite:///{tmp / 'app.db'}",
        "TICKSTOCK_DATA_DIR": str(tmp),
        "INGEST_ENABLED": "false",
        "TICKSTOCK_DEMO_DATA": "false",
        "SECRET_KEY": "test-secret",
        "RATE_LIMIT_USER": "100000/minute",
    }
    return build_app(load_settings(env, env_file=None))


@pytest.fixture(autouse=True)
def _no_version_memo(monkeypatch):
    monkeypatch.setattr(dataversion, "VERSION_TTL_S", 0.0)


def page():
    return importlib.import_module("pages.screener")


def _text(value) -> str:
    return json.dumps(value, cls=plotly.utils.PlotlyJSONEncoder, ensure_ascii=False)


def as_user(app, name: str, role: str = "user") -> None:
    """Act as `name` in this request context (the page's logged-in user)."""
    store = app.server.extensions["tickstock_store"]
    user = store.get_user(username=name)
    if user is None:
        bearer(app, name, role)
        user = store.get_user(username=name)
    g.principal = Principal(user["id"], name, role, "session")


def test_sp01_layout_has_presets_ranges_and_is_in_the_navbar(app):
    with app.server.test_request_context():
        tree = _text(page().layout())
    for preset in page().PRESETS:
        assert preset in tree
    for field in page().RANGES:
        assert f'"field": "{field}"' in tree
    assert "/screener" in _text(nav_links())


def test_sp02_preset_round_trips_through_the_inputs(app):
    p = page()
    fields = list(p.RANGES)
    preset = "RS ≥ 90 in stage 2"
    mins, maxs, sector, stage, rest, _name = p.screen_inputs(
        "screener-preset", preset, None, {}, fields
    )
    assert mins[fields.index("rs_rating")] == 90 and stage == 2 and rest == []
    where, problems = p.conditions_from_inputs(fields, mins, maxs, sector, stage, rest)
    assert sorted(where) == sorted(p.PRESETS[preset]) and not problems


def test_sp03_grid_shows_what_the_api_serves(app):
    p = page()
    fields = list(p.RANGES)
    mins = [None] * len(fields)
    maxs = [None] * len(fields)
    mins[fields.index("pct_vs_sma50")] = 0
    with app.server.test_request_context():
        where, _line, href = p.build_conditions(
            mins,
            maxs,
            None,
            None,
            [],
            "sp500",
            "now",
            "",
            [{"field": f} for f in fields],
        )
        status, rows, version = p.refresh_screener(1, where, "sp500", "now", "", None)
        assert "Could not render" not in _text(status)
        with pytest.raises(PreventUpdate):
            p.refresh_screener(2, where, "sp500", "now", "", version)
    assert where == ["pct_vs_sma50>=0"]
    client = app.server.test_client()
    response = client.get(href, headers=bearer(app, "csv-reader"))
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    csv = pd.read_csv(io.StringIO(response.get_data(as_text=True)))
    assert list(csv.columns) == list(FIELDS)
    assert sorted(csv["symbol"]) == sorted(r["symbol"] for r in rows)
    assert 0 < len(rows) and all(r["pct_vs_sma50"] >= 0 for r in rows)


def test_sp04_bad_inputs_are_explained_not_sent(app):
    p = page()
    where, problems = p.conditions_from_inputs(
        ["close"], [None], [None], None, None, ["bogus>1", "close>5"]
    )
    assert where == ["close>5"] and "unknown screener field" in problems[0]


def test_sp05_saved_screens_belong_to_the_user(app):
    p = page()
    with app.server.test_request_context():
        as_user(app, "ann")
        options, data, msg, sectors = p.saved_screens_view(
            "screener-save", "Leaders", None, ["rs_rating>=90"], "sp500"
        )
        assert msg.startswith("Saved") and [o["label"] for o in options] == ["Leaders"]
        assert any(o["value"] == "Energy" for o in sectors)
        screen_id = options[0]["value"]
        assert data[str(screen_id)]["where"] == ["rs_rating>=90"]
        loaded = p.screen_inputs("screener-saved", None, screen_id, data, ["rs_rating"])
        assert loaded[0] == [90] and loaded[-1] == "Leaders"
    with app.server.test_request_context():
        as_user(app, "root", "admin")
        options, _data, msg, _ = p.saved_screens_view(
            "screener-delete", None, screen_id, [], "sp500"
        )
        assert options == [] and msg == "Not one of your screens."
    with app.server.test_request_context():
        as_user(app, "ann")
        options, *_ = p.saved_screens_view(None, None, None, [], "sp500")
        assert [o["value"] for o in options] == [screen_id]
        _, _, msg, _ = p.saved_screens_view("screener-save", " ", None, [], "sp500")
        assert msg.startswith("Name the screen")
        options, _, msg, _ = p.saved_screens_view(
            "screener-delete", None, screen_id, [], "sp500"
        )
        assert options == [] and msg == "Deleted."


def test_sp06_methodology_states_the_screener_definitions(app):
    import analytics.screener as S

    with app.server.test_request_context():
        tree = _text(importlib.import_module("pages.about").layout())
    assert "Screener fields" in tree and "change_pct = 100 * R1" in tree
    assert f"last {S.HIGH_LOW_SESSIONS} sessions" in tree
    assert f"last {S.AVG_VOLUME_SESSIONS} sessions" in tree
    assert "pct_vs_sma200 = 100 * (C / SMA200 - 1)" in tree

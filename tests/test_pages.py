"""Page callbacks as plain functions, layouts, and the read-side queries behind them.

Callbacks run inside `app.server.test_request_context()` against a real app on
a temp SQLite holding the test market (`tests/test_pages_data.py`); one test
goes through the Dash HTTP endpoint with a logged-in test client.
"""

from __future__ import annotations

import importlib
import json
import re
import time

import dash
import numpy as np
import pandas as pd
import plotly
import plotly.graph_objects as go
import pytest
from dash.exceptions import PreventUpdate

import analytics
import analytics.constants as C
from components.theme import EMPTY_TEXT
from dashapp.market import dataversion, market_state, queries
from dashapp.settings import load_settings
from dashapp.store import Store
from tests.conftest import needs_postgres, pg_url
from tests.test_pages_data import (  # noqa: F401 (fixtures)
    END,
    MINUTES,
    build_app,
    daily_panel,
    login,
    minute_frame,
    sample_stocks,
)

OWN_PAGES = ("market", "rankings", "sectors", "stages", "breadth", "symbol", "about")


def _settings(path) -> object:
    env = {
        "DATABASE_URL": f"sqlite:///{path / 'app.db'}",
        "TICKSTOCK_DATA_DIR": str(path),
        "INGEST_ENABLED": "false",
        "TICKSTOCK_DEMO_DATA": "false",
        "SECRET_KEY": "test-secret",
    }
    return load_settings(env, env_file=None)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """A read-only app with the test market, shared by this module's tests."""
    return build_app(_settings(tmp_path_factory.mktemp("pages")))


@pytest.fixture(autouse=True)
def _no_version_memo(monkeypatch):
    """Read the data version on every call: these tests write, then poll at once."""
    monkeypatch.setattr(dataversion, "VERSION_TTL_S", 0.0)


@pytest.fixture
def empty_app(settings):
    """An app whose database holds reference data only."""
    return build_app(settings, seeded=False)


def page(name: str):
    """Return a page module (importable only once an app exists: register_page)."""
    return importlib.import_module(f"pages.{name}")


def _text(value) -> str:
    return json.dumps(value, cls=plotly.utils.PlotlyJSONEncoder, ensure_ascii=False)


# Each page's poll callback with its default arguments (version State last).
CALLS = {
    "market": ("refresh_market", (1, "sp500", "now", "", "ret_1d")),
    "rankings": ("refresh_rankings", (1, "sp500", "now", "")),
    "sectors": ("refresh_sectors", (1, "sp500", "now", "", "weekly", 10)),
    "stages": ("refresh_stages", (1, "sp500", "now", "", 2)),
    "breadth": ("refresh_breadth", (1, "sp500", "now", "", "")),
    "symbol": ("refresh_symbol", (1, "sp500", "now", "", "D", "AAPL")),
}


def call(name: str):
    """Return (callback, default args) of a page's poll callback."""
    fn, args = CALLS[name]
    return getattr(page(name), fn), args


def _version(page: str, out: tuple):
    return out[-1]


@pytest.mark.parametrize("page", list(CALLS))
def test_pg01_poll_renders_once_then_skips_until_the_version_moves(app, page):
    fn, args = call(page)
    with app.server.test_request_context():
        first = fn(*args, None)
        version = _version(page, first)
        assert version and "No data yet" not in _text(first[0])
        assert "Could not render" not in _text(first)
        for value in first:
            if isinstance(value, dict) and {"data", "layout"} <= set(value):
                go.Figure(value)  # every property valid for plotly
        with pytest.raises(PreventUpdate):  # same data version: HTTP 204
            fn(*args, version)


def test_pg02_new_bar_moves_the_version_and_rerenders(settings):
    app = build_app(settings)
    store = app.server.extensions["tickstock_store"]
    fn, args = call("rankings")
    with app.server.test_request_context():
        first = fn(*args, None)
        with pytest.raises(PreventUpdate):
            fn(*args, first[-1])
        bar = daily_panel()[lambda d: (d.symbol == "AAPL") & (d.date == d.date.max())]
        store.upsert_daily_bars(bar.assign(close=bar.close * 1.5))
        second = fn(*args, first[-1])
    assert second[-1] != first[-1]
    rows = {r["symbol"]: r for r in second[1]}
    before = {r["symbol"]: r for r in first[1]}
    assert rows["AAPL"]["ret_1d"] == pytest.approx(
        (1 + before["AAPL"]["ret_1d"]) * 1.5 - 1, rel=1e-9
    )


@pytest.mark.parametrize("page", list(CALLS))
def test_pg03_empty_database_shows_the_no_data_state(empty_app, page):
    fn, args = call(page)
    with empty_app.server.test_request_context():
        out = fn(*args, None)
    assert EMPTY_TEXT in _text(out[0]), page


def test_pg04_unknown_symbol_and_bad_universe_are_explained(app):
    with app.server.test_request_context():
        out = page("symbol").refresh_symbol(1, "sp500", "now", "", "D", "NOPE", None)
        assert "Unknown symbol" in _text(out[0]) and "NOPE" in _text(out[3])
        out = page("rankings").refresh_rankings(1, "no-such-universe", "now", "", None)
        assert "Bad request" in _text(out[0]) and "no-such-universe" in _text(out[0])
        assert out[1] is dash.no_update and out[-1] is None


def test_pg05_database_down_shows_an_error_and_keeps_polling(settings):
    app = build_app(settings)
    app.server.extensions["tickstock_store"] = Store(
        "postgresql://postgres@127.0.0.1:1/none"
    )
    for name in CALLS:
        fn, args = call(name)
        with app.server.test_request_context():
            out = fn(*args, None)
        assert "Database unavailable" in _text(out[0]), name
        assert _version(name, out) is None  # retried on the next poll


def test_pg06_intraday_chart_is_patched_with_new_minute_bars(settings):
    app = build_app(settings)
    store = app.server.extensions["tickstock_store"]
    args = (1, "sp500", "now", "", "1m", "AAPL")
    with app.server.test_request_context():
        out = page("symbol").refresh_symbol(*args, None)
        meta = out[-1]
        assert meta["n"] == MINUTES and meta["last_x"] == f"{END} 10:29"
        assert list(go.Figure(out[3]).data[0].x)[-1] == f"{END} 10:29"
        stamps = pd.DatetimeIndex(
            [
                pd.Timestamp(f"{END} {t}").tz_localize("America/New_York")
                for t in ("10:29", "10:30")
            ]
        )
        store.upsert_minute_bars(minute_frame("AAPL", stamps, [150.0, 151.0]))
        patched = page("symbol").refresh_symbol(*args, meta)
    assert patched[0] is dash.no_update
    ops = patched[3].to_plotly_json()["operations"]
    assign = {
        tuple(o["location"]): o["params"]["value"]
        for o in ops
        if o["operation"] == "Assign"
    }
    extend = {
        tuple(o["location"]): o["params"]["value"]
        for o in ops
        if o["operation"] == "Extend"
    }
    assert assign[("data", 0, "close", MINUTES - 1)] == 150.0  # corrected last bar
    assert extend[("data", 0, "x")] == [f"{END} 10:30"]
    assert extend[("data", 0, "close")] == [151.0]
    assert patched[-1]["n"] == MINUTES + 1 and patched[-1]["last_x"] == f"{END} 10:30"


def test_pg07_layouts_take_no_arguments_and_restore_controls_from_the_url(app):
    with app.server.test_request_context():
        for entry in dash.page_registry.values():
            if entry["module"].split(".")[-1] in OWN_PAGES:
                assert entry["layout"]() is not None
        tree = _text(
            page("sectors").layout(
                universe="sectors", as_of="2025-03-14T10:31", tail="7"
            )
        )
        sym = _text(page("symbol").layout(symbol="msft", interval="W"))
    assert '"value": "sectors"' in tree and '"value": "2025-03-14"' in tree
    assert '"value": "10:31"' in tree and '"value": 7' in tree
    assert '"data": "MSFT"' in sym and '"value": "5Y"' in sym  # W: five years


def test_pg08_dash_endpoint_answers_200_then_204_for_an_unchanged_version(app):
    client = app.server.test_client()
    token = login(client)
    ids = [
        {"id": "rankings-status", "property": "children"},
        {"id": "rankings-grid", "property": "rowData"},
        {"id": "rankings-grid", "property": "csvExportParams"},
        {"id": "rankings-version", "property": "data"},
    ]

    def post(version):
        payload = {
            "output": "..rankings-status.children...rankings-grid.rowData..."
            "rankings-grid.csvExportParams...rankings-version.data..",
            "outputs": ids,
            "inputs": [
                {"id": "rankings-poll", "property": "n_intervals", "value": 3},
                {
                    "id": {"page": "rankings", "type": "universe"},
                    "property": "value",
                    "value": "sp500",
                },
                {
                    "id": {"page": "rankings", "type": "asof"},
                    "property": "value",
                    "value": "now",
                },
                {
                    "id": {"page": "rankings", "type": "time"},
                    "property": "value",
                    "value": "",
                },
            ],
            "state": [{"id": "rankings-version", "property": "data", "value": version}],
            "changedPropIds": ["rankings-poll.n_intervals"],
        }
        return client.post(
            "/_dash-update-component", json=payload, headers={"X-CSRFToken": token}
        )

    resp = post(None)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    body = resp.get_json()["response"]
    version = body["rankings-version"]["data"]
    symbols = {r["symbol"] for r in body["rankings-grid"]["rowData"]}
    assert symbols == set(sample_stocks()["symbol"])  # no rows for symbols without data
    assert post(version).status_code == 204


def test_pg09_market_lists_leaders_by_rs_rating_and_no_admin_tables(app):
    with app.server.test_request_context():
        out = page("market").refresh_market(1, "sp500", "now", "", "ret_21d", None)
        layout = _text(page("market").layout())
        rankings = market_state("sp500", "now").rankings
    leaders = _text(out[6])
    rated = rankings.dropna(subset=["rs_rating"])
    top = rated.sort_values(["rs_rating", "rs_score"], ascending=False).head(10)
    shown = re.findall(r'"href": "/symbol/([A-Z.\-]+)"', leaders)
    assert shown == top["symbol"].tolist()
    assert f"of {len(rated):,} ranked names" in leaders
    assert "home-db" not in layout and "home-universes" not in layout  # on /admin
    cards = _text(out[2])
    assert all(f"index-card-{s}" in cards for s in queries.INDEX_SYMBOLS)


def test_pg10_control_options_list_universes_and_sessions_newest_first(app):
    with app.server.test_request_context():
        universes, sessions_ = page("_common").fill_control_options(
            {}, "sp500", "2020-01-02"
        )
    assert {"sp500", "sectors", "index"} <= {o["value"] for o in universes}
    values = [o["value"] for o in sessions_]
    assert values[0] == "now" and values[1] == END.isoformat()
    assert values[1:-1] == sorted(values[1:-1], reverse=True)
    assert values[-1] == "2020-01-02"  # the URL's session stays selectable


def test_pg11_methodology_shows_the_constants_of_the_code(app):
    text = _text(page("about").layout())
    assert page("about").rs_formula() == "S = 0.4*R63 + 0.2*R126 + 0.2*R189 + 0.2*R252"
    assert page("about").rs_formula() in text
    for name in ("RS_WEIGHTS", "STAGE_MA_WEEKS", "MCCLELLAN_FAST_ALPHA", "RRG_LONG"):
        assert f'"{name}"' in text and repr(getattr(C, name)) in text
    assert f"SMA{C.RRG_SHORT}(RS) / SMA{C.RRG_LONG}(RS)" in text
    assert (
        f"pv > {C.STAGE_PV_THRESHOLD:g} and slope > {C.STAGE_SLOPE_THRESHOLD:g}" in text
    )


def test_pg12_symbol_chart_matches_the_analytics(app):
    with app.server.test_request_context():
        chart = queries.symbol_chart("AAPL", "W")
        state_stages = market_state().stages
    daily = daily_panel()
    panels = analytics.panels_from_bars(daily[daily.symbol.isin(["AAPL", "SPY"])])
    weekly = analytics.weekly_bars(panels)
    close_w, bench_w = weekly["close"]["AAPL"], weekly["close"]["SPY"]
    # Mansfield RS written plainly: 100 * (RP / mean of the last 52 RP - 1).
    rp = 100 * close_w / bench_w
    expected = 100 * (rp.iloc[-1] / rp.iloc[-C.MANSFIELD_WEEKS :].mean() - 1)
    assert chart.mansfield.iloc[-1] == pytest.approx(expected, rel=1e-9)
    row = state_stages.set_index("symbol").loc["AAPL"]
    assert chart.figures["mansfield_rs"] == pytest.approx(row["mansfield_rs"], rel=1e-9)
    assert chart.figures["stage"] == row["stage"]
    ma30 = close_w.rolling(C.STAGE_MA_WEEKS).mean()
    assert chart.mas[f"MA {C.STAGE_MA_WEEKS}w"].iloc[-1] == pytest.approx(ma30.iloc[-1])
    last_run = chart.stage_runs[-1]
    assert last_run[2] == row["stage"] and last_run[1] == close_w.index[-1]


def test_pg13_sector_rotation_equals_the_analytics_rrg(app):
    with app.server.test_request_context():
        points = queries.sector_rotation("daily", 5)
        rets = queries.sector_returns()
    daily = daily_panel()
    close = analytics.panel_from_bars(daily, "close")
    etfs = list(C.SECTOR_ETFS)
    expected = analytics.rrg(close[etfs], close["SPY"], period="daily", tail=5)
    pd.testing.assert_frame_equal(
        points.reset_index(drop=True), expected.reset_index(drop=True)
    )
    xlk = close["XLK"]
    assert rets.loc["XLK", "ret_21d"] == pytest.approx(xlk.iloc[-1] / xlk.iloc[-22] - 1)


def test_pg14_index_quotes_use_the_minute_session_for_the_sparkline(app):
    with app.server.test_request_context():
        quotes = {q.symbol: q for q in queries.index_quotes()}
        dated = {q.symbol: q for q in queries.index_quotes("2025-03-14")}
    daily = daily_panel()
    spy = daily[daily.symbol == "SPY"].set_index("date")["close"]
    assert quotes["SPY"].last == spy.iloc[-1]
    assert quotes["SPY"].pct == pytest.approx(spy.iloc[-1] / spy.iloc[-2] - 1)
    assert (
        quotes["SPY"].spark_kind == "intraday" and len(quotes["SPY"].spark) == MINUTES
    )
    assert dated["SPY"].last == spy.loc["2025-03-14"]
    assert (
        dated["SPY"].spark_kind == "daily"
        and dated["SPY"].spark[-1] == dated["SPY"].last
    )


@pytest.mark.parametrize(
    ("when", "session"),
    [
        ("2025-03-28 08:00", "pre"),
        ("2025-03-28 10:00", "regular"),
        ("2025-03-28 17:00", "post"),
        ("2025-03-29 12:00", "closed"),
        ("2025-04-18 12:00", "closed"),  # Good Friday
    ],
)
def test_pg15_market_clock_names_the_session_and_next_open(when, session):
    clock = queries.market_clock(pd.Timestamp(when, tz="America/New_York"))
    assert clock["session"] == session
    if session == "closed":
        nxt = clock["next_open"]
        assert nxt.hour == 9 and nxt.minute == 30 and nxt > clock["now"]
        assert nxt.weekday() == 0  # both closed days above reopen on a Monday


def test_pg16_stage_lists_and_changes_come_from_the_snapshot(app):
    with app.server.test_request_context():
        out = page("stages").refresh_stages(1, "sp500", "now", "", 2, None)
        state = market_state()
    listed, changed = out[4], out[5]
    st = state.stages.set_index("symbol")
    assert {r["symbol"] for r in listed} == set(st.index[st["stage"] == 2])
    assert all(r["stage"] == 2 for r in listed)
    flagged = set(st.index[st["stage_changed_this_week"].astype(bool)])
    assert {r["symbol"] for r in changed} == flagged
    counts = list(go.Figure(out[1]).data[0].y)
    assert counts == [int((st["stage"] == s).sum()) for s in (1, 2, 3, 4)]


def test_pg17_breadth_panel_table_shows_counts_of_the_snapshot(app):
    with app.server.test_request_context():
        out = page("breadth").refresh_breadth(1, "sp500", "now", "", "", None)
        state = market_state()
    text = _text(out[1])
    panel = state.breadth_panel
    assert len(panel) == 11
    day = panel.iloc[0]
    assert page("breadth").PANEL_LABELS["day"] in text
    assert f'"{int(day.up):,}"' in text and f'"{int(day.total):,}"' in text
    adl = go.Figure(out[2]).data[0]
    assert list(adl.y)[-1] == state.breadth["ad_line"].iloc[-1]


def test_pg18_demo_history_is_labelled(settings):
    app = build_app(settings)
    store = app.server.extensions["tickstock_store"]
    store.set_meta("demo_data", json.dumps({"seed": 7}))
    with app.server.test_request_context():
        out = page("rankings").refresh_rankings(1, "sp500", "now", "", None)
    assert "Demo data" in _text(out[0])


def test_pg19_symbol_weekly_chart_has_stage_bands_and_rs(app):
    with app.server.test_request_context():
        out = page("symbol").refresh_symbol(1, "sp500", "now", "", "W", "AAPL", None)
    fig = go.Figure(out[3])
    names = [t.name for t in fig.data]
    assert names[:2] == ["AAPL", "Volume"] and "RS line vs SPY" in names
    assert fig.layout.shapes and all(s.type == "rect" for s in fig.layout.shapes)
    figures_text = _text(out[2])
    assert "RS rating" in figures_text and "Stage" in figures_text
    np.testing.assert_array_equal(np.diff([s.x0 for s in fig.layout.shapes]) > 0, True)


def test_pg20_data_version_is_memoised_briefly_across_polls(settings, monkeypatch):
    monkeypatch.setattr(dataversion, "VERSION_TTL_S", 0.3)
    app = build_app(settings)
    store = app.server.extensions["tickstock_store"]
    calls = []
    real = store.data_version

    def counting():
        calls.append(1)
        return real()

    monkeypatch.setattr(store, "data_version", counting)
    with app.server.test_request_context():
        first = queries.data_version_key()
        for _ in range(50):
            assert queries.data_version_key() == first
        assert len(calls) == 1
        store.upsert_daily_bars(daily_panel().tail(1).assign(close=1.0))
        time.sleep(0.35)
        assert queries.data_version_key() != first
    assert len(calls) == 2


def test_pg21_as_of_a_session_or_a_minute_is_a_time_machine(app):
    rankings = page("rankings")
    with app.server.test_request_context():
        day = rankings.refresh_rankings(1, "sp500", "2025-03-14", "", None)
        minute = rankings.refresh_rankings(1, "sp500", str(END), "10:00", None)
        chart = page("symbol").refresh_symbol(
            1, "sp500", "2025-03-14", "", "D", "AAPL", None
        )
    assert "as of 2025-03-14" in _text(day[0])
    assert day[2]["fileName"] == "rankings-sp500-2025-03-14.csv"
    daily = daily_panel()
    aapl = daily[daily.symbol == "AAPL"].set_index("date")["close"]
    row = next(r for r in day[1] if r["symbol"] == "AAPL")
    assert row["ret_1d"] == pytest.approx(aapl["2025-03-14"] / aapl["2025-03-13"] - 1)
    assert f"as of {END}T10:00" in _text(minute[0])
    assert list(go.Figure(chart[3]).data[0].x)[-1] == "2025-03-14"


def test_pg22_live_in_progress_bar_is_drawn_and_moves_the_version(settings):
    from dashapp.store.livebars import LiveBar, LiveBarStore

    app = build_app(settings)
    live = LiveBarStore()
    app.server.extensions["tickstock_livebars"] = live
    args = (1, "sp500", "now", "", "1m", "AAPL")
    stamp = pd.Timestamp(f"{END} 10:30").tz_localize("America/New_York")
    ms = int(stamp.tz_convert("UTC").timestamp() * 1000)
    with app.server.test_request_context():
        first = page("symbol").refresh_symbol(*args, None)
        key = queries.data_version_key()
        live.publish([LiveBar("AAPL", ms, 1, 2, 0.5, 1.5, 300, None, None, False, ms)])
        assert queries.data_version_key() != key  # a live tick is a new version
        patched = page("symbol").refresh_symbol(*args, first[-1])
        quotes = {q.symbol: q for q in queries.index_quotes()}
    ops = patched[3].to_plotly_json()["operations"]
    extend = {
        tuple(o["location"]): o["params"]["value"]
        for o in ops
        if o["operation"] == "Extend"
    }
    assert extend[("data", 0, "x")] == [f"{END} 10:30"]
    assert extend[("data", 0, "close")] == [1.5]
    assert quotes["SPY"].spark_kind == "intraday"


def test_pg23_views_render_through_the_redis_cache(settings, redis_url):
    app = build_app(settings.replace(redis_url=redis_url))
    assert type(app.server.extensions["tickstock_cache"]).__name__ == "RedisCache"
    for name in CALLS:
        fn, args = call(name)
        with app.server.test_request_context():
            out = fn(*args, None)
        assert _version(name, out), name
        assert "Could not render" not in _text(out[0]), (name, _text(out[0])[:300])


@needs_postgres
def test_pg24_every_page_renders_on_postgresql(settings):
    url = pg_url()
    Store(url).drop_all()
    app = build_app(settings.replace(database_url=url))
    try:
        for name in CALLS:
            fn, args = call(name)
            with app.server.test_request_context():
                out = fn(*args, None)
            text = _text(out[0])
            assert "as of" in text and "Could not render" not in text, (
                name,
                text[:300],
            )
    finally:
        app.server.extensions["tickstock_store"].dispose()


class _Feed:
    """A stand-in for ingest.service.IngestService: its connected flag and status."""

    def __init__(self) -> None:
        self.connected = True

    def status(self) -> dict:
        return {"connected": self.connected, "source": "simulator", "detail": "ok"}


def test_pg25_feed_state_is_shown_and_rerenders_when_it_changes(settings):
    app = build_app(settings)
    feed = _Feed()
    app.server.extensions["tickstock_ingest"] = feed
    fn = page("market").refresh_market
    args = (1, "sp500", "now", "", "ret_1d")
    with app.server.test_request_context():
        first = fn(*args, None)
        assert "Feed connected (simulator)" in _text(first[1])
        with pytest.raises(PreventUpdate):
            fn(*args, first[-1])
        feed.connected = False
        second = fn(*args, first[-1])
        del app.server.extensions["tickstock_ingest"]
        app.server.extensions["tickstock_ingest_error"] = "ValueError: bad universe"
        third = fn(*args, second[-1])
    assert "Feed down" in _text(second[1])
    assert "Feed failed" in _text(third[1]) and "bad universe" in _text(third[1])

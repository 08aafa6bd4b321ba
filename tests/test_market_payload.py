"""The Market page's load payload stays small: a bounded treemap, a byte bound.

The browser's drawing time grows with the treemap's tiles and the callback's
bytes (issue 16), so both are pinned here: on a synthetic 500-name universe
for the treemap, and on the test market for the whole load callback.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import plotly
import plotly.graph_objects as go
import pytest

from components import figures
from tests.test_pages import _settings, page
from tests.test_pages_data import build_app

SECTORS = 11
NAMES = 500
TREEMAP_MAX_BYTES = 25_000  # ~190 tiles; the 500-tile version was ~65 KB
LOAD_MAX_BYTES = 40_000  # the whole Market load callback on the test market


def _size(obj) -> int:
    return len(json.dumps(obj, cls=plotly.utils.PlotlyJSONEncoder))


def _universe(n: int = NAMES) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(3)
    symbols = [f"S{i:03d}" for i in range(n)]
    rankings = pd.DataFrame(
        {
            "symbol": symbols,
            "sector": [f"Sector {i % SECTORS}" for i in range(n)],
            "ret_1d": rng.normal(0.0, 0.015, n),
        }
    )
    return rankings, pd.Series(np.exp(rng.normal(19, 1.2, n)), index=symbols)


def _leaves(trace) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": trace.ids,
            "label": trace.labels,
            "parent": trace.parents,
            "value": trace.values,
            "ret": [c[1] for c in trace.customdata],
            "symbol": [c[0] for c in trace.customdata],
        }
    )


def test_mp01_treemap_draws_the_top_names_per_sector_and_one_tile_for_the_rest():
    rankings, dv = _universe()
    fig = figures.treemap_figure(rankings, dv, "ret_1d")
    tiles = _leaves(go.Figure(fig).data[0])
    low, high = figures.TREEMAP_MIN_NAMES, figures.TREEMAP_MAX_NAMES
    assert len(tiles) <= SECTORS * (high + 2)
    assert _size(fig) < TREEMAP_MAX_BYTES
    sectors, leaves = tiles[tiles.parent == ""], tiles[tiles.parent != ""]
    # Every sector's tiles add up to the sector: no name's $ volume is lost.
    sums = leaves.groupby("parent")["value"].sum()
    for _, sector in sectors.iterrows():
        assert sums[sector.id] == pytest.approx(sector.value, rel=1e-9, abs=len(tiles))
    more = leaves[leaves.id.str.endswith("/+more")]
    assert len(more) == SECTORS and (more.symbol == "").all()
    assert more.label.str.match(r"^\+\d+ more$").all()
    named = leaves[leaves.symbol != ""]
    counts = named.groupby("parent").size()
    assert counts.between(low, high).all()
    # The names drawn are each sector's largest by $ volume, and they stop once
    # they cover TREEMAP_COVER of it (or at the cap).
    frame = rankings.assign(dv=rankings["symbol"].map(dv))
    for sector, group in frame.groupby("sector"):
        k = counts[f"s:{sector}"]
        ordered = group.sort_values("dv", ascending=False)["dv"]
        assert set(named[named.parent == f"s:{sector}"].symbol) == set(
            group.nlargest(k, "dv")["symbol"]
        )
        share = ordered.cumsum() / ordered.sum()
        if low < k < high:
            assert share.iloc[k - 2] < figures.TREEMAP_COVER <= share.iloc[k - 1]


def test_mp01b_rest_tile_of_a_skewed_sector_is_small():
    # One sector of 60 names whose $ volume falls off slowly: the cover rule
    # draws more than the minimum, so the rest tile stays under a quarter.
    n = 60
    symbols = [f"T{i:02d}" for i in range(n)]
    rankings = pd.DataFrame(
        {"symbol": symbols, "sector": "Tech", "ret_1d": np.linspace(-0.02, 0.02, n)}
    )
    dv = pd.Series(1e9 / (1 + np.arange(n)), index=symbols)
    tiles = _leaves(go.Figure(figures.treemap_figure(rankings, dv, "ret_1d")).data[0])
    rest = tiles[tiles.id == "s:Tech/+more"].iloc[0]
    sector = tiles[tiles.parent == ""].iloc[0]
    named = tiles[(tiles.parent != "") & (tiles.symbol != "")]
    assert figures.TREEMAP_MIN_NAMES < len(named) <= figures.TREEMAP_MAX_NAMES
    assert rest.value / sector.value <= 1 - figures.TREEMAP_COVER


def test_mp02_rest_tile_return_is_the_dollar_volume_weighted_mean():
    rankings, dv = _universe(60)
    fig = go.Figure(figures.treemap_figure(rankings, dv, "ret_1d", per_sector=2))
    tiles = _leaves(fig.data[0])
    frame = rankings.assign(dv=rankings["symbol"].map(dv))
    group = frame[frame.sector == "Sector 0"].sort_values("dv", ascending=False)
    rest = group.iloc[2:]
    want = float((rest["ret_1d"] * rest["dv"]).sum() / rest["dv"].sum())
    tile = tiles[tiles.id == "s:Sector 0/+more"].iloc[0]
    assert tile.ret == pytest.approx(want, abs=1e-5)
    assert tile.label == f"+{len(rest)} more"
    # The sector tile still covers all of its names (return and size).
    sector = tiles[tiles.id == "s:Sector 0"].iloc[0]
    full = float((group["ret_1d"] * group["dv"]).sum() / group["dv"].sum())
    assert sector.ret == pytest.approx(full, abs=1e-5)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """A read-only app with the test market."""
    return build_app(_settings(tmp_path_factory.mktemp("payload")))


def test_mp03_market_load_callback_payload_stays_under_a_byte_bound(app, monkeypatch):
    with app.server.test_request_context():
        out = page("market").refresh_market(1, "sp500", "now", "", "ret_1d", None)
    assert _size(out) < LOAD_MAX_BYTES
    treemap = out[5]
    assert len(treemap["data"][0]["ids"]) > 10  # the test market was drawn
    monkeypatch.setattr(figures, "TREEMAP_MIN_NAMES", 1)
    monkeypatch.setattr(figures, "TREEMAP_MAX_NAMES", 1)
    with app.server.test_request_context():
        out = page("market").refresh_market(1, "sp500", "now", "", "ret_5d", None)
    labels = out[5]["data"][0]["labels"]
    assert any(str(label).endswith(" more") for label in labels)

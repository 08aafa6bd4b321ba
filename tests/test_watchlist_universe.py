"""A user's watchlists in the pages' universe picker (`universe=watchlist:NAME`)."""

from __future__ import annotations

from components.controls import DEFAULT_UNIVERSE, clean_universe
from tests.alerts_helpers import make_app
from tests.auth_helpers import login, seed_bars

UNIVERSE = {"page": "rankings", "type": "universe"}
ASOF = {"page": "rankings", "type": "asof"}
SESSION = "2025-03-31"  # the last seeded daily session (only AAPL has minutes)
UNIVERSE_KEY = '{"page":"rankings","type":"universe"}'


def _options(client, universe: str) -> list[dict]:
    """Post the picker-options callback as Dash does when the Rankings page loads."""
    payload = {
        "output": '..{"page":["MATCH"],"type":"universe"}.options...'
        '{"page":["MATCH"],"type":"asof"}.options..',
        "outputs": [
            {"id": UNIVERSE, "property": "options"},
            {"id": ASOF, "property": "options"},
        ],
        "inputs": [{"id": ASOF, "property": "id", "value": ASOF}],
        "state": [
            {"id": UNIVERSE, "property": "value", "value": universe},
            {"id": ASOF, "property": "value", "value": "now"},
        ],
        "changedPropIds": [],
    }
    reply = client.post("/_dash-update-component", json=payload)
    assert reply.status_code == 200, reply.get_data(as_text=True)[:300]
    return reply.get_json()["response"][UNIVERSE_KEY]["options"]


def _rankings(client, universe: str) -> dict:
    """Post the Rankings poll for `universe` and return Dash's response."""
    outputs = [
        {"id": "rankings-status", "property": "children"},
        {"id": "rankings-grid", "property": "rowData"},
        {"id": "rankings-grid", "property": "csvExportParams"},
        {"id": "rankings-version", "property": "data"},
    ]
    payload = {
        "output": "..rankings-status.children...rankings-grid.rowData..."
        "rankings-grid.csvExportParams...rankings-version.data..",
        "outputs": outputs,
        "inputs": [
            {"id": "rankings-poll", "property": "n_intervals", "value": 1},
            {"id": UNIVERSE, "property": "value", "value": universe},
            {"id": ASOF, "property": "value", "value": SESSION},
            {
                "id": {"page": "rankings", "type": "time"},
                "property": "value",
                "value": "",
            },
        ],  # fmt: skip
        "state": [{"id": "rankings-version", "property": "data", "value": None}],
        "changedPropIds": ["rankings-poll.n_intervals"],
    }
    reply = client.post("/_dash-update-component", json=payload)
    assert reply.status_code == 200, reply.get_data(as_text=True)[:300]
    return reply.get_json()["response"]


def _ranked(client, universe: str) -> set[str]:
    """Return the symbols the Rankings grid shows for `universe`."""
    rows = _rankings(client, universe)["rankings-grid"]["rowData"]
    return {r["symbol"] for r in rows}


def test_wu01_universe_specs_with_watchlists_pass_and_junk_falls_back():
    assert clean_universe("Watchlist:Core") == "watchlist:core"
    assert clean_universe("sp500+watchlist:core") == "sp500+watchlist:core"
    for junk in ("watchlist:", "core list", "x" * 65, "a:b", "watchlist:a;b"):
        assert clean_universe(junk) == DEFAULT_UNIVERSE


def test_wu02_picker_offers_only_your_watchlists_and_pages_rank_them(tmp_path):
    app = make_app(tmp_path)
    store = app.server.extensions["tickstock_store"]
    seed_bars(store)
    ann = login(app.server.test_client(), app, "ann")
    bob = login(app.server.test_client(), app, "bob")
    ann_id = store.get_user(username="ann")["id"]
    store.put_watchlist(ann_id, "core", ["AAPL", "MSFT", "NVDA"])

    values = [o["value"] for o in _options(ann, DEFAULT_UNIVERSE)]
    assert values[0] == "watchlist:core" and DEFAULT_UNIVERSE in values
    assert "watchlist:core" not in [o["value"] for o in _options(bob, "sp500")]
    assert _ranked(ann, "watchlist:core") == {"AAPL", "MSFT", "NVDA"}
    other = _rankings(bob, "watchlist:core")  # not bob's list: no rows, a reason
    assert "rankings-grid" not in other
    assert "unknown universe: watchlist:core" in str(other["rankings-status"])
    store.put_watchlist(ann_id, "core", ["AAPL", "JPM"])  # same data version
    assert _ranked(ann, "watchlist:core") == {"AAPL", "JPM"}

"""The Alerts page and the navbar bell, through Dash's callback endpoint."""

from __future__ import annotations

from tests.alerts_helpers import make_app
from tests.auth_helpers import bearer, login, seed_bars
from tests.test_auth import routing_payload

OUTPUTS = ("alerts-status", "alerts-events", "alerts-table", "watchlists-table")
BUTTONS = ("alerts-add", "alerts-delete", "watchlists-save", "watchlists-delete")
STATES = (
    ("alerts-symbol", "value"),
    ("alerts-condition", "value"),
    ("alerts-value", "value"),
    ("alerts-delete-id", "value"),
    ("watchlists-name", "value"),
    ("watchlists-symbols", "value"),
)


def _press(client, button, **values):
    """Post the page callback as Dash does when `button` is clicked."""
    payload = {
        "output": ".." + "...".join(f"{o}.children" for o in OUTPUTS) + "..",
        "outputs": [{"id": o, "property": "children"} for o in OUTPUTS],
        "inputs": [{"id": "alerts-poll", "property": "n_intervals", "value": 0}]
        + [
            {"id": b, "property": "n_clicks", "value": 1 if b == button else None}
            for b in BUTTONS
        ],
        "state": [
            {"id": i, "property": p, "value": values.get(i.split("-", 1)[1])}
            for i, p in STATES
        ],
        "changedPropIds": [f"{button}.n_clicks"],
    }
    reply = client.post("/_dash-update-component", json=payload)
    assert reply.status_code == 200, reply.get_data(as_text=True)[:300]
    return reply.get_data(as_text=True)


def test_ap01_page_creates_and_lists_only_your_alerts_and_lists(tmp_path):
    app = make_app(tmp_path)
    store = app.server.extensions["tickstock_store"]
    seed_bars(store)
    ann = login(app.server.test_client(), app, "ann")
    bob = login(app.server.test_client(), app, "bob")
    page = ann.post("/_dash-update-component", json=routing_payload("/alerts"))
    assert page.status_code == 200 and "alerts-add" in page.get_data(as_text=True)
    home = ann.post("/_dash-update-component", json=routing_payload("/"))
    assert home.status_code == 200
    assert "nav-alerts-count" in ann.get("/_dash-layout").get_data(as_text=True)

    text = _press(ann, "alerts-add", symbol="aapl", condition="price_above", value="1")
    assert "armed" in text and "AAPL" in text
    assert "needs a value" in _press(ann, "alerts-add", symbol="MSFT", value="",
                                     condition="price_below")  # fmt: skip
    text = _press(ann, "watchlists-save", name="Core", symbols="aapl, msft")
    assert "watchlist:core" in text and "AAPL MSFT" in text
    mine = store.get_user(username="ann")["id"]
    assert [a["symbol"] for a in store.list_alerts(mine)] == ["AAPL"]
    other = _press(bob, "alerts-poll")
    assert "AAPL MSFT" not in other and "price_above" not in other
    alert_id = store.list_alerts(mine)[0]["id"]
    assert "no alert" in _press(bob, "alerts-delete", **{"delete-id": str(alert_id)})
    assert "deleted" in _press(ann, "alerts-delete", **{"delete-id": str(alert_id)})
    assert store.list_alerts(mine) == []


def test_ap02_bell_count_is_unseen_events_and_the_page_marks_them_seen(tmp_path):
    app = make_app(tmp_path)
    store = app.server.extensions["tickstock_store"]
    seed_bars(store)
    client = login(app.server.test_client(), app, "ann")
    uid = store.get_user(username="ann")["id"]
    alert = store.create_alert(uid, "AAPL", "price_above", 1.0)
    event = {"alert_id": alert["id"], "user_id": uid, "symbol": "AAPL",
             "condition": "price_above", "value": 1.0, "observed": 2.0,
             "previous": 0.5, "bar_ts": None, "origin": "real",
             "delivery": "none"}  # fmt: skip
    store.apply_alert_round([], [event, event])
    assert client.get("/api/alerts/events?limit=1").get_json()["unseen"] == 2
    headers = bearer(app, "bob")
    assert client.get("/api/alerts/events", headers=headers).get_json()["unseen"] == 0
    _press(client, "alerts-poll")
    assert client.get("/api/alerts/events?limit=1").get_json()["unseen"] == 0

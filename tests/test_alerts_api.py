"""Watchlists and alerts over the REST API: bad values, and per-user isolation
with two users' tokens (an admin's token included)."""

from __future__ import annotations

import pytest

from dashapp.market.alert_eval import AlertEvaluator
from tests.alerts_helpers import make_app
from tests.auth_helpers import bearer, seed_bars


@pytest.fixture(scope="module")
def two_users(tmp_path_factory):
    """Return (app, client, ann's headers, bob's headers, an admin's headers)."""
    app = make_app(tmp_path_factory.mktemp("alerts_api"))
    seed_bars(app.server.extensions["tickstock_store"])
    ann, bob = bearer(app, "ann", "user"), bearer(app, "bob", "user")
    return app, app.server.test_client(), ann, bob, bearer(app, "root", "admin")


def test_aa01_watchlist_crud_and_bad_values(two_users):
    _app, client, ann, _bob, _admin = two_users
    made = client.post(
        "/api/watchlists",
        json={"name": "Tech", "symbols": ["aapl", "MSFT"]},
        headers=ann,
    )
    assert made.status_code == 201
    assert made.get_json()["name"] == "tech" and made.get_json()["symbols"] == [
        "AAPL",
        "MSFT",
    ]
    again = client.post(
        "/api/watchlists", json={"name": "tech", "symbols": []}, headers=ann
    )
    assert again.status_code == 409
    bad = [
        ({"name": "x y", "symbols": []}, 400),
        ({"name": "ok", "symbols": ["NOT A TICKER"]}, 400),
        ({"name": "ok", "symbols": ["ZZZZQ"]}, 422),
        ({"name": "ok"}, 400),
    ]
    for body, status in bad:
        assert (
            client.post("/api/watchlists", json=body, headers=ann).status_code == status
        )
    put = client.put("/api/watchlists/tech", json={"symbols": ["NVDA"]}, headers=ann)
    assert put.status_code == 200 and put.get_json()["symbols"] == ["NVDA"]
    renamed = client.put(
        "/api/watchlists/tech", json={"name": "chips", "symbols": ["NVDA"]}, headers=ann
    )
    assert renamed.get_json()["name"] == "chips"
    names = [
        w["name"] for w in client.get("/api/watchlists", headers=ann).get_json()["rows"]
    ]
    assert names == ["chips"]
    assert client.delete("/api/watchlists/chips", headers=ann).status_code == 200
    assert client.delete("/api/watchlists/chips", headers=ann).status_code == 404


def test_aa02_alert_bad_values_are_refused(two_users):
    _app, client, ann, _bob, _admin = two_users
    cases = [
        ({"symbol": "AAPL", "condition": "price_above"}, 422),
        ({"symbol": "AAPL", "condition": "price_above", "value": -5}, 422),
        ({"symbol": "AAPL", "condition": "rs_rating_above", "value": 100}, 422),
        ({"symbol": "AAPL", "condition": "stage_change", "value": 7}, 422),
        ({"symbol": "AAPL", "condition": "price_sideways", "value": 1}, 400),
        ({"symbol": "AAPL", "condition": "price_above", "value": "10"}, 400),
        ({"symbol": "ZZZZQ", "condition": "price_above", "value": 10}, 422),
        ({"symbol": "AAPL", "condition": "price_above", "value": 1, "x": 1}, 400),
    ]
    for body, status in cases:
        got = client.post("/api/alerts", json=body, headers=ann)
        assert got.status_code == status, (body, got.get_json())
    ok = client.post(
        "/api/alerts", json={"symbol": "aapl", "condition": "new_52w_high"}, headers=ann
    )
    assert ok.status_code == 201 and ok.get_json()["armed"] is True
    assert (
        client.delete(f"/api/alerts/{ok.get_json()['id']}", headers=ann).status_code
        == 200
    )
    hook = client.put("/api/me/webhook", json={"url": "ftp://x"}, headers=ann)
    assert hook.status_code == 400


def test_aa03_users_never_see_or_change_each_others_lists_and_alerts(two_users):
    app, client, ann, bob, admin = two_users
    store = app.server.extensions["tickstock_store"]
    client.post(
        "/api/watchlists",
        json={"name": "mine", "symbols": ["AAPL", "MSFT"]},
        headers=ann,
    )
    alert = client.post(
        "/api/alerts",
        json={"symbol": "AAPL", "condition": "price_above", "value": 1},
        headers=ann,
    ).get_json()
    for other in (bob, admin):
        assert client.get("/api/watchlists", headers=other).get_json()["count"] == 0
        assert client.get("/api/alerts", headers=other).get_json()["count"] == 0
        assert (
            client.delete(f"/api/alerts/{alert['id']}", headers=other).status_code
            == 404
        )
        assert client.delete("/api/watchlists/mine", headers=other).status_code == 404
        gone = client.get("/api/rankings?universe=watchlist:mine", headers=other)
        assert gone.status_code == 404
    # Bob's own list of the same name: each token sees its own members.
    client.put("/api/watchlists/mine", json={"symbols": ["XOM"]}, headers=bob)
    a = client.get("/api/rankings?universe=watchlist:mine", headers=ann)
    b = client.get("/api/rankings?universe=watchlist:mine", headers=bob)
    assert sorted(r["symbol"] for r in a.get_json()["rows"]) == ["AAPL", "MSFT"]
    assert [r["symbol"] for r in b.get_json()["rows"]] == ["XOM"]
    assert a.headers["ETag"] != b.headers["ETag"]
    # The state names whose list it is (caches keyed by it stay per user).
    assert a.get_json()["universe"].startswith("watchlist:mine@u")
    assert a.get_json()["universe"] != b.get_json()["universe"]
    # An edited list gets a new ETag and new members.
    client.put("/api/watchlists/mine", json={"symbols": ["JPM", "XOM"]}, headers=bob)
    b2 = client.get("/api/rankings?universe=watchlist:mine", headers=bob)
    assert b2.headers["ETag"] != b.headers["ETag"]
    assert [r["symbol"] for r in b2.get_json()["rows"]] == ["JPM", "XOM"]
    syms = client.get("/api/symbols?universe=watchlist:mine", headers=bob).get_json()
    assert [r["symbol"] for r in syms["rows"]] == ["JPM", "XOM"]
    # Fired events and webhooks are per user too.
    client.put("/api/me/webhook", json={"url": "http://127.0.0.1:9/x"}, headers=ann)
    assert client.get("/api/me/webhook", headers=bob).get_json()["configured"] is False
    # Ann's alert last saw a price below its level: the next round fires it.
    store.apply_alert_round(
        [{"id": alert["id"], "armed": True, "last_observed": 0.5}], []
    )
    fired = AlertEvaluator(app.server, store).evaluate()
    assert [e["alert_id"] for e in fired] == [alert["id"]]
    ann_events = client.get("/api/alerts/events", headers=ann).get_json()
    assert ann_events["count"] == ann_events["unseen"] == 1
    assert ann_events["rows"][0]["symbol"] == "AAPL"
    assert (
        ann_events["rows"][0]["observed"] > 1 and "user_id" not in ann_events["rows"][0]
    )
    for other in (bob, admin):
        events = client.get("/api/alerts/events", headers=other).get_json()
        assert events["count"] == events["unseen"] == 0


def test_aa10_every_universe_endpoint_takes_a_watchlist(two_users):
    _app, client, ann, bob, _admin = two_users
    client.put("/api/watchlists/tech", json={"symbols": ["AAPL", "MSFT"]}, headers=ann)
    paths = ("/api/market-state", "/api/rankings", "/api/screener", "/api/groups")
    paths += ("/api/new-highs", "/api/breadth", "/api/breadth/sectors", "/api/stages")
    for path in paths:
        mine = client.get(f"{path}?universe=watchlist:tech", headers=ann)
        assert mine.status_code == 200, (path, mine.get_json())
        theirs = client.get(f"{path}?universe=watchlist:tech", headers=bob)
        assert theirs.status_code == 404, path
    table = client.get("/api/breadth/sectors?universe=watchlist:tech", headers=ann)
    members = {r["sector"]: r["members"] for r in table.get_json()["rows"]}
    assert sum(members.values()) == 2

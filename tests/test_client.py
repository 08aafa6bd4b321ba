"""The notebook client: DataFrames over a live threaded server, and URL shapes."""

from __future__ import annotations

import threading

import pandas as pd
import pytest
from werkzeug.serving import make_server

from dashapp.client import ApiError, Client
from tests.alerts_helpers import make_app
from tests.auth_helpers import bearer, seed_bars


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """Serve a seeded app on a loopback port; return (app, base URL, token)."""
    app = make_app(tmp_path_factory.mktemp("client"))
    seed_bars(app.server.extensions["tickstock_store"])
    token = bearer(app, "quant", "user")["Authorization"].split(" ", 1)[1]
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}", token
    server.shutdown()


def test_cl01_rankings_match_the_api_rows(live):
    app, url, token = live
    frame = Client(url, token).rankings(limit=500)
    raw = app.server.test_client().get(
        "/api/rankings?limit=500", headers={"Authorization": f"Bearer {token}"}
    )
    rows = raw.get_json()["rows"]
    assert list(frame["symbol"]) == [r["symbol"] for r in rows]
    assert frame["rs_rating"].dtype.kind == "f" and frame["ret_1d"].dtype.kind == "f"
    expect = [float("nan") if r["ret_1d"] is None else r["ret_1d"] for r in rows]
    assert frame["ret_1d"].tolist() == pytest.approx(expect, nan_ok=True)
    assert frame.attrs["universe"] == "sp500" and "session" in frame.attrs


def test_cl02_bars_parse_times_daily_and_minute(live):
    app, url, token = live
    client = Client(url, token)
    daily = client.bars("AAPL", "1d", limit=30)
    store = app.server.extensions["tickstock_store"]
    stored = store.read_daily(["AAPL"]).tail(30)
    assert pd.api.types.is_datetime64_any_dtype(daily["time"])
    assert list(daily["time"].dt.date) == list(pd.to_datetime(stored["date"]).dt.date)
    assert daily["close"].tolist() == pytest.approx(stored["close"].tolist())
    minute = client.bars("AAPL", "1min", limit=10)
    assert str(minute["time"].dt.tz) == "UTC" and len(minute) == 10
    assert minute["time"].is_monotonic_increasing


def test_cl03_errors_raise_with_the_api_code(live):
    _app, url, token = live
    with pytest.raises(ApiError) as bad:
        Client(url, token).bars("ZZZZQ")
    assert bad.value.status == 404 and bad.value.code == "unknown_symbol"
    with pytest.raises(ApiError) as denied:
        Client(url, "not-a-token").rankings()
    assert denied.value.status == 401


class Recorder:
    """A transport that records calls and answers a canned body."""

    def __init__(self, body):
        self.body, self.calls = body, []

    def __call__(self, method, path, params):
        import json

        self.calls.append((method, path, params))
        return 200, json.dumps(self.body).encode()


def test_cl04_screener_groups_regime_url_shapes_and_parsing():
    rows = [
        {"symbol": "AAPL", "rs_rating": 91, "stage": 2, "pct_from_52w_high": -3.5},
        {"symbol": "MSFT", "rs_rating": 85, "stage": 2, "pct_from_52w_high": None},
    ]
    rec = Recorder({"count": 2, "rows": rows, "session": "2025-03-31"})
    frame = Client("http://x", "t", transport=rec).screener(
        where=["rs_rating>=80", "stage=2"], limit=5
    )
    assert rec.calls == [
        (
            "GET",
            "/api/screener",
            {
                "where": ["rs_rating>=80", "stage=2"],
                "universe": "sp500",
                "as_of": "now",
                "limit": 5,
            },
        )
    ]
    assert frame["pct_from_52w_high"].dtype.kind == "f"
    assert frame["pct_from_52w_high"].isna().tolist() == [False, True]
    assert frame.attrs["session"] == "2025-03-31"

    rec = Recorder({"count": 1, "rows": [{"group": "Energy", "rank": 1}], "by": "x"})
    Client("http://x", "t", transport=rec).groups(by="sub_industry")
    assert rec.calls[0][1] == "/api/groups"
    assert rec.calls[0][2]["by"] == "sub_industry"

    body = {
        "as_of": "now",
        "indexes": [
            {"symbol": "SPY", "regime": "correction", "session": "2025-03-31",
             "distribution_days": 6, "follow_through_day": None},
        ],
    }  # fmt: skip
    rec = Recorder(body)
    regime = Client("http://x", "t", transport=rec).regime()
    assert rec.calls[0][1:] == ("/api/market-regime", {"as_of": "now"})
    assert regime.loc[0, "regime"] == "correction"
    assert pd.api.types.is_datetime64_any_dtype(regime["session"])
    assert regime["distribution_days"].dtype.kind in "iu"

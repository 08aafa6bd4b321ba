"""REST API: data, formats, ETags, admin actions, auth matrix, hostile input."""

from __future__ import annotations

import csv
import io
import time
from urllib.parse import quote

import pandas as pd
import pytest

from dashapp import auth
from dashapp.api.export import EXPORT_COLUMNS, export_frame
from dashapp.api.spec import REGISTRY
from dashapp.market import market_state
from tests.auth_helpers import SEED_MINUTES, bearer, login, make_api_app


def make_app(tmp, **extra):
    """Build an app on a temp SQLite file with seeded bars."""
    return make_api_app(tmp, **extra)


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    """Return (app, client, user headers, admin headers, revoked headers)."""
    app = make_app(tmp_path_factory.mktemp("api"))
    user = bearer(app, "ursula", "user")
    admin = bearer(app, "ada", "admin")
    revoked = bearer(app, "rex", "user")
    store = app.server.extensions["tickstock_store"]
    rex_token = next(t for t in store.list_tokens() if t["user"] == "rex")
    auth.revoke_token(store, rex_token["id"])
    return app, app.server.test_client(), user, admin, revoked


# ----------------------------------------------------------------- ticks, bars
def test_ap01_ticks_recent_shape_order_since_limit(api):
    _app, client, user, _admin, _rev = api
    body = client.get("/api/ticks/recent?symbol=aapl&limit=5", headers=user).get_json()
    assert body["symbol"] == "AAPL" and body["count"] == 5 == len(body["ticks"])
    first = body["ticks"][0]
    assert set(first) == {
        "symbol",
        "timestamp",
        "open",
        "high",
        "low",
        "close",
        "volume",
    }
    newest = pd.Timestamp("2025-04-01 13:30", tz="UTC") + pd.Timedelta(
        minutes=SEED_MINUTES - 1
    )
    assert first["timestamp"] == newest.timestamp()
    stamps = [t["timestamp"] for t in body["ticks"]]
    assert stamps == sorted(stamps, reverse=True) and stamps[0] - stamps[1] == 60
    since = int(stamps[2])  # strictly after: the two newer bars only
    later = client.get(f"/api/ticks/recent?symbol=AAPL&since={since}", headers=user)
    assert [t["timestamp"] for t in later.get_json()["ticks"]] == stamps[:2]
    full = client.get("/api/ticks/recent?symbol=AAPL&limit=1000", headers=user)
    assert full.get_json()["count"] == SEED_MINUTES
    none = client.get("/api/ticks/recent?symbol=MSFT", headers=user).get_json()
    assert none == {"symbol": "MSFT", "count": 0, "demo_data": False, "ticks": []}
    for bad in ("limit=0", "limit=1001", "since=-1", "limit=abc", "since=1.5"):
        response = client.get(f"/api/ticks/recent?symbol=AAPL&{bad}", headers=user)
        assert response.status_code == 400, bad
    text = client.get("/api/ticks/recent?symbol=AAPL&limit=3&format=csv", headers=user)
    rows = list(csv.DictReader(io.StringIO(text.get_data(as_text=True))))
    assert text.mimetype == "text/csv" and len(rows) == 3
    assert float(rows[0]["timestamp"]) == newest.timestamp()


def test_ap02_bars_daily_weekly_minute(api):
    app, client, user, _admin, _rev = api
    store = app.server.extensions["tickstock_store"]
    daily = store.read_daily(["MSFT"])
    body = client.get("/api/bars/MSFT?limit=3", headers=user).get_json()
    assert [b["time"] for b in body["bars"]] == [
        d.strftime("%Y-%m-%d") for d in daily["date"].tail(3)
    ]
    assert body["bars"][-1]["close"] == pytest.approx(daily["close"].iloc[-1])
    ranged = client.get(
        "/api/bars/MSFT?start=2025-03-03&end=2025-03-07", headers=user
    ).get_json()
    assert [b["time"][-2:] for b in ranged["bars"]] == ["03", "04", "05", "06", "07"]
    weekly = client.get("/api/bars/MSFT?timeframe=1w&limit=2", headers=user).get_json()
    week = daily[daily["date"].between("2025-03-24", "2025-03-28")]
    assert weekly["bars"][0]["time"] == "2025-03-28"
    assert weekly["bars"][0]["high"] == pytest.approx(week["high"].max())
    assert weekly["bars"][0]["volume"] == pytest.approx(week["volume"].sum())
    assert weekly["bars"][0]["open"] == pytest.approx(week["open"].iloc[0])
    minute = client.get("/api/bars/AAPL?timeframe=1min&limit=2", headers=user)
    times = [b["time"] for b in minute.get_json()["bars"]]
    assert times == ["2025-04-01T15:28:00Z", "2025-04-01T15:29:00Z"]
    empty = client.get(
        "/api/bars/MSFT?start=2025-03-07&end=2025-03-03", headers=user
    ).get_json()
    assert empty["count"] == 0
    missing = client.get("/api/bars/ZZZZ", headers=user)
    assert (
        missing.status_code == 404 and missing.get_json()["error"] == "unknown_symbol"
    )


def test_ap03_symbols_and_universes(api):
    _app, client, user, _admin, _rev = api
    found = client.get("/api/symbols?search=micro&universe=sp500", headers=user)
    symbols = [r["symbol"] for r in found.get_json()["rows"]]
    assert "MSFT" in symbols and all(s.isupper() for s in symbols)
    prefix = client.get("/api/symbols?search=AAP", headers=user).get_json()["rows"]
    assert prefix[0]["symbol"] == "AAPL" and prefix[0]["sector"]
    unis = client.get("/api/universes", headers=user).get_json()["rows"]
    by_name = {u["name"]: u for u in unis}
    assert by_name["sectors"]["members"] == 11 and by_name["sectors"]["with_data"] == 11
    unknown = client.get("/api/symbols?universe=nope", headers=user)
    assert (
        unknown.status_code == 404 and unknown.get_json()["error"] == "unknown_universe"
    )


# ----------------------------------------------------------------- market state
@pytest.mark.parametrize("kind", ["rankings", "stages", "breadth"])
def test_ap04_csv_matches_cli_export(api, kind):
    app, client, user, _admin, _rev = api
    path = {"rankings": "/api/rankings", "stages": "/api/stages"}.get(
        kind, "/api/breadth"
    )
    extra = "days=5000" if kind == "breadth" else "limit=1000"
    response = client.get(f"{path}?format=csv&{extra}", headers=user)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    got = pd.read_csv(io.StringIO(response.get_data(as_text=True)))
    assert list(got.columns) == list(EXPORT_COLUMNS[kind])
    with app.server.app_context():
        state = market_state("sp500")
        want = export_frame(state, kind)
    key = "date" if kind == "breadth" else "symbol"
    want = pd.read_csv(io.StringIO(want.to_csv(index=False)))
    got, want = (f.sort_values(key).reset_index(drop=True) for f in (got, want))
    assert len(got) == len(want) > 0
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


def test_ap05_rankings_filters_sort_limit(api):
    _app, client, user, _admin, _rev = api
    body = client.get("/api/rankings?limit=1000", headers=user).get_json()
    rated = [r for r in body["rows"] if r["rs_rating"] is not None]
    assert rated and [r["rs_rating"] for r in rated] == sorted(
        (r["rs_rating"] for r in rated), reverse=True
    )
    assert body["total"] == body["count"] and body["data_version"]
    tech = client.get(
        "/api/rankings?sector=information%20technology&limit=1000", headers=user
    ).get_json()
    assert tech["rows"] and {r["sector"] for r in tech["rows"]} == {
        "Information Technology"
    }
    asc = client.get("/api/rankings?sort=symbol&order=asc&limit=3", headers=user)
    symbols = [r["symbol"] for r in asc.get_json()["rows"]]
    assert symbols == sorted(symbols) and len(symbols) == 3
    stage = next(r["stage"] for r in body["rows"] if r["stage"] is not None)
    only = client.get(f"/api/rankings?stage={int(stage)}&limit=1000", headers=user)
    assert {r["stage"] for r in only.get_json()["rows"]} == {stage}
    bad = client.get("/api/rankings?sector=Moon%20Rocks", headers=user)
    assert bad.status_code == 404 and "Energy" in bad.get_json()["details"]["allowed"]


def test_ap06_rotation_weekly_daily_tail_and_summary(api):
    _app, client, user, _admin, _rev = api
    weekly = client.get("/api/sectors/rotation?tail=3", headers=user).get_json()
    per_symbol = pd.DataFrame(weekly["rows"]).groupby("symbol").size()
    assert len(per_symbol) == 11 and set(per_symbol) == {3}
    daily = client.get("/api/sectors/rotation?period=daily&tail=2", headers=user)
    rows = daily.get_json()["rows"]
    assert {r["quadrant"] for r in rows} <= {
        "Leading",
        "Weakening",
        "Lagging",
        "Improving",
    }
    assert len(rows) == 22
    summary = client.get("/api/market-state?universe=SP500", headers=user).get_json()
    assert summary["universe"] == "sp500" and summary["session"] == "2025-04-01"
    assert summary["excluded"] == len(summary["excluded_symbols"]) > 0
    past = client.get("/api/market-state?as_of=2025-03-14", headers=user).get_json()
    assert past["session"] == "2025-03-14" and past["as_of"] == "2025-03-14"
    minute = client.get(
        "/api/market-state?as_of=2025-04-01T10:00", headers=user
    ).get_json()
    utc = client.get(
        "/api/market-state?as_of=2025-04-01T14:00Z", headers=user
    ).get_json()
    assert minute["as_of"] == utc["as_of"] == "2025-04-01T10:00"
    assert minute["intraday"] and minute["session"] == "2025-04-01"


# ----------------------------------------------------------------- caching
def test_ap07_etag_304_and_new_data_changes_etag(tmp_path):
    app = make_app(tmp_path)
    app.server.config["TICKSTOCK_API_VERSION_TTL"] = 0  # see every write at once
    headers = bearer(app, "ursula", "user")
    client = app.server.test_client()
    first = client.get("/api/ticks/recent?symbol=AAPL", headers=headers)
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"].startswith("private")
    again = client.get(
        "/api/ticks/recent?symbol=AAPL", headers={**headers, "If-None-Match": etag}
    )
    assert again.status_code == 304 and again.headers["ETag"] == etag and not again.data
    other = client.get("/api/ticks/recent?symbol=AAPL&limit=5", headers=headers)
    assert other.headers["ETag"] != etag
    store = app.server.extensions["tickstock_store"]
    store.upsert_minute_bars(
        [{"symbol": "AAPL", "ts": pd.Timestamp("2025-04-01 16:00", tz="UTC"),
          "open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5, "volume": 10.0}]
    )  # fmt: skip
    fresh = client.get(
        "/api/ticks/recent?symbol=AAPL", headers={**headers, "If-None-Match": etag}
    )
    assert fresh.status_code == 200 and fresh.headers["ETag"] != etag
    assert fresh.get_json()["ticks"][0]["close"] == 1.5
    admin = client.get("/api/admin/users", headers=bearer(app, "ada", "admin"))
    assert admin.headers["Cache-Control"] == "no-store" and "ETag" not in admin.headers


# ----------------------------------------------------------------- admin API
def test_ap08_admin_users_tokens_universes_jobs(tmp_path):
    app = make_app(tmp_path)
    admin = bearer(app, "ada", "admin")
    client = app.server.test_client()
    store = app.server.extensions["tickstock_store"]
    created = client.post(
        "/api/admin/users",
        json={"username": "bob", "password": "Maple-Orbit-Violin-4", "role": "user"},
        headers=admin,
    )
    assert created.status_code == 201 and created.get_json()["role"] == "user"
    assert "password_hash" not in created.get_json()
    dup = client.post(
        "/api/admin/users",
        json={"username": "bob", "password": "Maple-Orbit-Violin-4"},
        headers=admin,
    )
    assert dup.status_code == 409
    weak = client.post(
        "/api/admin/users", json={"username": "carl", "password": "password1234"},
        headers=admin,
    )  # fmt: skip
    assert weak.status_code == 422 and weak.get_json()["error"] == "weak_password"
    patched = client.patch(
        "/api/admin/users/bob", json={"role": "admin", "disabled": True}, headers=admin
    )
    assert patched.get_json()["role"] == "admin" and patched.get_json()["disabled"]
    assert (
        client.patch("/api/admin/users/ghost", json={}, headers=admin).status_code
        == 404
    )
    issued = client.post(
        "/api/admin/tokens", json={"name": "robot", "user": "ada"}, headers=admin
    ).get_json()
    robot = {"Authorization": f"Bearer {issued['token']}"}
    assert client.get("/api/me", headers=robot).status_code == 200
    listed = client.get("/api/admin/tokens", headers=admin).get_json()["tokens"]
    assert issued["token"] not in str(listed)
    revoked = client.delete(f"/api/admin/tokens/{issued['id']}", headers=admin)
    assert revoked.status_code == 200
    assert client.get("/api/me", headers=robot).status_code == 401
    assert client.delete("/api/admin/tokens/999", headers=admin).status_code == 404
    put = client.put(
        "/api/admin/universes/Mine",
        json={"symbols": ["aapl", "MSFT", "brk.b"], "label": "my picks"},
        headers=admin,
    )
    assert put.get_json() == {"name": "mine", "members": 3}
    assert store.universe_symbols("mine") == ["AAPL", "BRK.B", "MSFT"]
    builtin = client.put("/api/admin/universes/sp500", json={"symbols": ["A"]},
                         headers=admin)  # fmt: skip
    assert builtin.status_code == 409
    assert client.delete("/api/admin/universes/mine", headers=admin).status_code == 200
    assert client.delete("/api/admin/universes/mine", headers=admin).status_code == 404
    outside = client.post(
        "/api/admin/jobs", json={"kind": "import", "path": "/etc/passwd"}, headers=admin
    )
    assert (
        outside.status_code == 422 and "data directory" in outside.get_json()["message"]
    )
    bad_file = tmp_path / "bad.csv"
    bad_file.write_text(
        "symbol,date,open,high,low,close,volume\nAAPL,notadate,1,1,1,1,1\n"
    )
    job = client.post(
        "/api/admin/jobs", json={"kind": "import", "path": "bad.csv"}, headers=admin
    )
    assert job.status_code == 202
    job_id = job.get_json()["id"]
    for _ in range(100):
        state = client.get(f"/api/admin/jobs/{job_id}", headers=admin).get_json()
        if state["status"] in ("done", "failed"):
            break
        time.sleep(0.05)
    assert state["status"] in ("done", "failed") and state["finished_at"]
    listed = client.get("/api/admin/jobs", headers=admin).get_json()["jobs"]
    assert listed[0]["id"] == job_id
    assert client.get("/api/admin/jobs/abc123", headers=admin).status_code == 404
    ingest = client.get("/api/admin/ingest", headers=admin).get_json()
    assert ingest == {"available": False}


# ----------------------------------------------------------------- auth matrix
def _matrix_requests():
    """Yield (method, url, json body, expected admin status) for every endpoint."""
    examples = {
        "/api/bars/{symbol}": "/api/bars/MSFT",
        "/api/admin/users/{username}": "/api/admin/users/ursula",
        "/api/admin/tokens/{token_id}": "/api/admin/tokens/999999",
        "/api/admin/universes/{name}": "/api/admin/universes/matrix",
        "/api/admin/jobs/{job_id}": "/api/admin/jobs/abc",
        "/api/screens/{screen_id}": "/api/screens/999999",
        "/api/alerts/{alert_id}": "/api/alerts/999999",
        "/api/watchlists/{name}": "/api/watchlists/matrix",
    }
    bodies = {
        ("post", "/api/admin/users"): (
            {"username": "matrix", "password": "Amber-Falcon-Quill-2"}, 201),
        ("patch", "/api/admin/users/{username}"): ({"role": "user"}, 200),
        ("post", "/api/admin/tokens"): ({"name": "matrix"}, 201),
        ("delete", "/api/admin/tokens/{token_id}"): (None, 404),
        ("put", "/api/admin/universes/{name}"): ({"symbols": ["AAPL"]}, 200),
        ("delete", "/api/admin/universes/{name}"): (None, 200),
        ("post", "/api/admin/jobs"): ({"kind": "import", "path": "none.csv"}, 422),
        ("get", "/api/admin/jobs/{job_id}"): (None, 404),
        ("get", "/api/ticks/recent"): (None, 200),
        ("post", "/api/screens"): ({"name": "matrix", "definition": {}}, 201),
        ("delete", "/api/screens/{screen_id}"): (None, 404),
        ("post", "/api/alerts"): (
            {"symbol": "AAPL", "condition": "price_above", "value": 1}, 201),
        ("delete", "/api/alerts/{alert_id}"): (None, 404),
        ("put", "/api/me/webhook"): ({"url": "http://127.0.0.1:9/hook"}, 200),
        ("post", "/api/watchlists"): ({"name": "matrix", "symbols": ["AAPL"]}, 201),
        ("put", "/api/watchlists/{name}"): ({"symbols": ["AAPL"]}, 200),
    }  # fmt: skip
    order = ["get", "post", "put", "patch", "delete"]
    for ep in sorted(REGISTRY, key=lambda e: (e.path, order.index(e.method))):
        url = examples.get(ep.path, ep.path)
        if ep.path == "/api/ticks/recent":
            url += "?symbol=AAPL"
        body, status = bodies.get((ep.method, ep.path), (None, 200))
        yield ep.method, url, body, status, ep.admin


MATRIX = list(_matrix_requests())
PAGES = [
    ("get", "/", 302, 200),
    ("get", "/admin", 302, 200),
    ("get", "/api/openapi.json", 401, 200),
    ("get", "/api/docs", 401, 200),
    ("get", "/health", 200, 200),
    ("get", "/ready", 200, 200),
    ("get", "/login", 200, 200),
    ("get", "/assets/tickstock-auth.js", 200, 200),
    ("get", "/api/no-such-endpoint", 401, 404),
]


def test_ap09_auth_matrix(tmp_path):
    app = make_app(tmp_path)
    client = app.server.test_client()
    who = {
        "anonymous": {},
        "user": bearer(app, "ursula", "user"),
        "admin": bearer(app, "ada", "admin"),
        "revoked": bearer(app, "rex", "user"),
    }
    store = app.server.extensions["tickstock_store"]
    auth.revoke_token(
        store, next(t["id"] for t in store.list_tokens() if t["user"] == "rex")
    )
    failures = []
    for method, url, body, admin_status, admin_only in MATRIX:
        for role, headers in who.items():
            if role == "admin":
                expected = admin_status
            elif role == "user":
                expected = 403 if admin_only else admin_status
            else:
                expected = 401
            response = client.open(
                url, method=method.upper(), json=body, headers=headers
            )
            if response.status_code != expected:
                failures.append((role, method, url, response.status_code, expected))
            if response.status_code >= 400:
                assert set(response.get_json()) == {"error", "message", "details"}
    for method, url, anonymous, logged_in in PAGES:
        for role, headers in who.items():
            expected = logged_in if role in ("user", "admin") else anonymous
            if url.startswith("/api/") or role in ("anonymous", "revoked"):
                pass
            if not url.startswith("/api/") and role in ("user", "admin"):
                # Bearer tokens authenticate /api only; pages need a session.
                expected = anonymous
            response = client.open(url, method=method.upper(), headers=headers)
            if response.status_code != expected:
                failures.append((role, method, url, response.status_code, expected))
    session = login(app.server.test_client(), app, "ursula", "user")
    for method, url, _anonymous, logged_in in PAGES:
        status = session.open(url, method=method.upper()).status_code
        if status != logged_in:
            failures.append(("session", method, url, status, logged_in))
    assert not failures


# ----------------------------------------------------------------- hostile input
# Invalid for every parameter, whatever its type.
HOSTILE = [
    "' OR 1=1 --",
    "1; DROP TABLE users",
    "<script>alert(1)</script>",
    "A" * 10_240,
    "AAPL\x00",
    "AAPL\n",
    "../../etc/passwd",
]
HOSTILE_NUMBERS = ["-1", "99999999999999999999999", "1e309", "NaN", "0x10", "1_0"]
HOSTILE_DATES = ["2025-02-30", "0000-00-00", "2025-13-01", "yesterday", "1800-01-01"]


def hostile_values(kind: str) -> list[str]:
    """Return the hostile values for a parameter kind."""
    if kind in ("integer", "number"):
        return HOSTILE + HOSTILE_NUMBERS
    if kind in ("date", "datetime", "as_of"):
        return HOSTILE + HOSTILE_DATES
    return HOSTILE


def _snapshot(store):
    stats = store.table_stats()[["table", "rows"]]
    users = [(u["username"], u["role"], u["disabled"]) for u in store.list_users()]
    tokens = [(t["id"], t["revoked_at"]) for t in store.list_tokens()]
    return stats.to_dict("records"), users, tokens, store.list_universes().to_dict()


def test_ap10_hostile_inputs_give_4xx_and_change_nothing(tmp_path):
    app = make_app(tmp_path)
    admin = bearer(app, "ada", "admin")
    client = app.server.test_client()
    store = app.server.extensions["tickstock_store"]
    before = _snapshot(store)
    problems = []
    for ep in REGISTRY:
        if ep.method != "get":
            continue
        for param in ep.params:
            for value in hostile_values(param.kind):
                if param.location == "path":
                    base = ep.path.replace("{" + param.name + "}", "VALUE")
                    url = base.replace("VALUE", quote(value, safe=""))
                    query = {"symbol": "AAPL"} if "ticks" in ep.path else {}
                else:
                    url = ep.path.replace("{symbol}", "AAPL").replace("{job_id}", "ab")
                    query = {param.name: value}
                    if "ticks" in ep.path and param.name != "symbol":
                        query["symbol"] = "AAPL"
                response = client.get(url, query_string=query, headers=admin)
                if not 400 <= response.status_code < 500:
                    problems.append((url, param.name, value[:20], response.status_code))
    bodies = [
        ("post", "/api/admin/users", {"username": v, "password": v}) for v in HOSTILE
    ] + [
        ("post", "/api/admin/tokens", {"name": v, "user": v}) for v in HOSTILE
    ] + [
        ("put", "/api/admin/universes/x", {"symbols": [v]}) for v in HOSTILE
    ] + [
        ("patch", "/api/admin/users/ada", {"role": v}) for v in HOSTILE
    ] + [
        ("post", "/api/admin/jobs", {"kind": "import", "path": v}) for v in HOSTILE
    ]  # fmt: skip
    for method, url, body in bodies:
        response = client.open(url, method=method.upper(), json=body, headers=admin)
        if not 400 <= response.status_code < 500:
            problems.append((url, str(body)[:40], response.status_code))
    for raw in (b"{not json", b"[1, 2]", b'{"username": {"$ne": 1}}', b"\x00\xff"):
        response = client.post(
            "/api/admin/users", data=raw, content_type="application/json", headers=admin
        )
        if response.status_code != 400:
            problems.append(("raw body", raw, response.status_code))
    form = client.post("/api/admin/users", data={"username": "x"}, headers=admin)
    assert form.status_code == 415
    assert not problems, problems[:10]
    assert _snapshot(store) == before


def test_ap11_errors_are_json_with_details(api):
    _app, client, user, _admin, _rev = api
    unknown = client.get("/api/rankings?colour=red", headers=user)
    assert unknown.status_code == 400
    assert unknown.get_json()["details"]["unknown"] == ["colour"]
    twice = client.get("/api/ticks/recent?symbol=A&symbol=B", headers=user)
    assert (
        twice.status_code == 400
        and twice.get_json()["details"]["parameter"] == "symbol"
    )
    wrong_method = client.delete("/api/rankings", headers=user)
    assert wrong_method.status_code == 405 and "GET" in wrong_method.headers["Allow"]
    missing = client.get("/api/nothing/here", headers=user)
    assert missing.status_code == 404 and missing.get_json()["error"] == "not_found"
    empty = client.get("/api/rankings?format=", headers=user)
    assert empty.status_code == 400


def test_ap12_openapi_and_docs_page(api):
    _app, client, user, _admin, _rev = api
    spec = client.get("/api/openapi.json", headers=user).get_json()
    assert spec["openapi"].startswith("3.")
    assert {ep.path for ep in REGISTRY} == set(spec["paths"])
    ticks = spec["paths"]["/api/ticks/recent"]["get"]
    limit = next(p for p in ticks["parameters"] if p["name"] == "limit")
    assert limit["schema"]["minimum"] == 1 and limit["schema"]["maximum"] == 1000
    docs = client.get("/api/docs", headers=user)
    page = docs.get_data(as_text=True)
    assert docs.mimetype == "text/html" and "/api/ticks/recent" in page
    assert "<script" not in page and "http://" not in page and "https://" not in page


def test_ap13_version_is_reread_after_its_ttl(tmp_path):
    app = make_app(tmp_path)
    app.server.config["TICKSTOCK_API_VERSION_TTL"] = 0.2
    headers = bearer(app, "ursula", "user")
    client = app.server.test_client()
    url = "/api/ticks/recent?symbol=AAPL&limit=1"
    before = client.get(url, headers=headers).get_json()["ticks"][0]["close"]
    app.server.extensions["tickstock_store"].upsert_minute_bars(
        [{"symbol": "AAPL", "ts": pd.Timestamp("2025-04-01 16:00", tz="UTC"),
          "open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5, "volume": 10.0}]
    )  # fmt: skip
    time.sleep(0.25)
    after = client.get(url, headers=headers).get_json()["ticks"][0]["close"]
    assert before != 1.5 and after == 1.5

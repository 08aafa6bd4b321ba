"""Issue 16's lean request path: rate-limit hook, caches, Flask trims, port check."""

from __future__ import annotations

import errno
import socket
import time

import pandas as pd
import pytest
from flask import Flask, g
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter

from dashapp import auth
from dashapp.api import caching, ratelimit
from dashapp.api.lean import LeanSessionInterface, memoise_ensure_sync
from dashapp.auth import tokens
from dashapp.gunicorn_conf import ensure_port_free
from tests.auth_helpers import bearer, make_api_app

TICKS = "/api/ticks/recent?symbol=AAPL&limit=5"


class FlakyStorage(MemoryStorage):
    """Memory storage that fails like an unreachable Redis while `down` is set."""

    STORAGE_SCHEME = ["tickstock-flaky"]
    down = False

    def incr(self, key, expiry, amount=1):
        """Count a hit, or fail while down."""
        if self.down:
            raise ConnectionError("storage down")
        return super().incr(key, expiry, amount)

    def check(self) -> bool:
        """Report whether the storage answers."""
        return not self.down


class _Limiter:
    def __init__(self, storage) -> None:
        self.limiter = FixedWindowRateLimiter(storage)


def _statuses(limit: ratelimit.ApiRateLimit, n: int, path: str = "/api/me") -> list:
    app = Flask(__name__)
    out = []
    for _ in range(n):
        with app.test_request_context(path, environ_base={"REMOTE_ADDR": "10.1.1.1"}):
            g.principal = None  # anonymous: both budgets key on the IP
            answer = limit.check()
            out.append(200 if answer is None else answer.status_code)
    return out


def test_fp01_api_budget_is_enforced_per_user_with_429_shape(tmp_path):
    app = make_api_app(tmp_path, RATE_LIMIT_USER="3/minute", RATE_LIMIT_IP="50/minute")
    client = app.server.test_client()
    alice = bearer(app, "alice")
    assert [client.get(TICKS, headers=alice).status_code for _ in range(3)] == [200] * 3
    refused = client.get(TICKS, headers=alice)
    assert refused.status_code == 429 and refused.get_json()["error"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["X-RateLimit-Limit"] == "3"
    assert client.get(TICKS, headers=bearer(app, "bob")).status_code == 200
    assert client.get("/health").status_code == 200  # outside /api: never counted


def test_fp02_storage_outage_falls_back_to_memory_and_still_limits(monkeypatch):
    storage = FlakyStorage()
    limit = ratelimit.ApiRateLimit(
        _Limiter(storage), "3/minute", "100/minute", fallback=True
    )
    assert _statuses(limit, 2) == [200, 200]
    storage.down = True
    # In memory the budget starts again: 3 more, then refused.
    assert _statuses(limit, 4) == [200, 200, 200, 429]
    storage.down = False
    monkeypatch.setattr(ratelimit, "STORAGE_RECHECK_S", 0.0)
    # Back on the shared storage, which had counted 2 of 3.
    assert _statuses(limit, 2) == [200, 429]


def test_fp03_storage_outage_without_fallback_lets_requests_pass():
    storage = FlakyStorage()
    storage.down = True
    limit = ratelimit.ApiRateLimit(_Limiter(storage), "1/minute", "1/minute")
    assert _statuses(limit, 3) == [200, 200, 200]


def test_fp04_budgets_checked_shortest_window_first_and_outside_api_skipped():
    limit = ratelimit.ApiRateLimit(
        _Limiter(MemoryStorage()), "100/hour;2/second", "5/minute"
    )
    windows = [item.GRANULARITY.seconds for item, _scope, _key in limit.budgets]
    assert windows == sorted(windows) and windows[0] == 1
    assert _statuses(limit, 5, path="/health") == [200] * 5


def test_fp05_new_data_version_invalidates_cached_body_within_the_ttl(tmp_path):
    app = make_api_app(tmp_path)
    client = app.server.test_client()
    headers = bearer(app, "ursula")
    first = client.get(TICKS, headers=headers)
    cached = client.get(TICKS, headers=headers)
    assert cached.data == first.data and cached.headers["ETag"] == first.headers["ETag"]
    store = app.server.extensions["tickstock_store"]
    newest = pd.Timestamp(first.get_json()["ticks"][0]["timestamp"], unit="s", tz="UTC")
    store.upsert_minute_bars(
        [{"symbol": "AAPL", "ts": newest + pd.Timedelta(minutes=1), "open": 1.0,
          "high": 2.0, "low": 0.5, "close": 1.25, "volume": 10.0}]
    )  # fmt: skip
    time.sleep(caching.VERSION_TTL_S + 0.05)
    fresh = client.get(TICKS, headers=headers)
    assert fresh.headers["ETag"] != first.headers["ETag"]
    assert fresh.get_json()["ticks"][0]["close"] == 1.25


def test_fp06_token_revoked_elsewhere_stops_within_the_cache_ttl(tmp_path, monkeypatch):
    monkeypatch.setattr(tokens, "TOKEN_CACHE_SECONDS", 0.5)
    app = make_api_app(tmp_path)
    client = app.server.test_client()
    headers = bearer(app, "tess")
    assert client.get(TICKS, headers=headers).status_code == 200
    store = app.server.extensions["tickstock_store"]
    store.revoke_token(store.list_tokens()[0]["id"])  # as another worker would
    assert client.get(TICKS, headers=headers).status_code == 200  # cached here
    time.sleep(0.6)
    assert client.get(TICKS, headers=headers).status_code == 401
    again = bearer(app, "tess")
    assert client.get(TICKS, headers=again).status_code == 200
    auth.revoke_token(store, store.list_tokens()[-1]["id"])  # here: at once
    assert client.get(TICKS, headers=again).status_code == 401


def test_fp07_bearer_requests_get_no_cookies_and_sessions_still_work(tmp_path):
    from tests.auth_helpers import login

    app = make_api_app(tmp_path)
    assert isinstance(app.server.session_interface, LeanSessionInterface)
    client = app.server.test_client()
    answer = client.get(TICKS, headers=bearer(app, "ivy"))
    assert answer.status_code == 200 and "Set-Cookie" not in answer.headers
    browser = app.server.test_client()
    login(browser, app, "ivy")
    assert browser.get("/api/me").get_json()["via"] == "session"


def test_fp08_ensure_sync_is_memoised_and_bounded(monkeypatch):
    from dashapp.api import lean

    server = Flask(__name__)
    calls = []
    original = server.ensure_sync
    monkeypatch.setattr(server, "ensure_sync", lambda f: calls.append(f) or original(f))
    memoise_ensure_sync(server)

    def view() -> str:
        return "ok"

    assert server.ensure_sync(view) is view and server.ensure_sync(view) is view
    assert calls == [view]
    monkeypatch.setattr(lean, "ENSURE_SYNC_MEMO_MAX", 2)
    for i in range(5):
        server.ensure_sync(lambda i=i: i)
    assert len(calls) == 6  # each new function asked once, the memo stays small


def test_fp09_port_in_use_is_refused_free_port_accepted():
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(OSError) as info:
            ensure_port_free("127.0.0.1", port)
        assert info.value.errno == errno.EADDRINUSE
    ensure_port_free("127.0.0.1", port)  # released: free again


def test_fp10_unknown_api_paths_spend_the_ip_budget(tmp_path):
    app = make_api_app(tmp_path, seed=False, RATE_LIMIT_IP="2/minute")
    client = app.server.test_client()
    assert [client.get("/api/no-such-thing").status_code for _ in range(2)] == [
        401,
        401,
    ]
    assert client.get("/api/no-such-thing").status_code == 429
    assert client.get("/health").status_code == 200

"""Log a Flask test client in through the real login form (session + CSRF).

Everything except /health, /ready, the login page and static assets needs a login,
so tests that render pages or run Dash callbacks log in first:

    client = app.server.test_client()
    login(client, app)              # a `user`; login(client, app, role="admin")

After `login`, every request of the client carries the `X-CSRFToken` header, as
Dash's renderer does in a browser.
"""

from __future__ import annotations

from dashapp import auth

TEST_PASSWORD = "Quartz-Meadow-Lantern-7"


def ensure_user(app, username: str = "tester", role: str = auth.USER) -> str:
    """Create the user (with TEST_PASSWORD) unless it exists; return its name."""
    store = app.server.extensions["tickstock_store"]
    if store.get_user(username=username) is None:
        auth.create_user(store, username, TEST_PASSWORD, role)
    return username


def csrf_of(client) -> str:
    """Return the CSRF token the server gave this client (loading /login if needed)."""
    cookie = client.get_cookie(auth.CSRF_COOKIE)
    if cookie is None:
        client.get(auth.LOGIN_PATH)
        cookie = client.get_cookie(auth.CSRF_COOKIE)
    return cookie.value


def login(client, app, username: str = "tester", role: str = auth.USER):
    """Log `client` in as a user of `role` and send CSRF headers from now on."""
    ensure_user(app, username, role)
    response = client.post(
        auth.LOGIN_POST,
        data={
            "username": username,
            "password": TEST_PASSWORD,
            auth.CSRF_FIELD: csrf_of(client),
        },
    )
    assert response.status_code == 303, response.status_code
    assert "error" not in response.headers["Location"], response.headers["Location"]
    client.environ_base["HTTP_X_CSRFTOKEN"] = client.get_cookie(auth.CSRF_COOKIE).value
    return client


def bearer(app, username: str = "tester", role: str = auth.USER) -> dict[str, str]:
    """Return an Authorization header with a fresh API token of a user of `role`."""
    ensure_user(app, username, role)
    store = app.server.extensions["tickstock_store"]
    _id, token = auth.issue_token(store, username, f"test-{username}")
    return {"Authorization": f"Bearer {token}"}


SEED_SYMBOLS = (
    "AAPL", "MSFT", "NVDA", "JPM", "XOM", "SPY", "XLK", "XLF", "XLE", "XLV", "XLY",
    "XLP", "XLI", "XLB", "XLU", "XLRE", "XLC",
)  # fmt: skip
SEED_MINUTES = 120


def seed_bars(store, sessions: int = 300) -> None:
    """Store deterministic daily bars for SEED_SYMBOLS and 2 hours of AAPL minutes."""
    import numpy as np
    import pandas as pd

    dates = pd.bdate_range(end="2025-03-31", periods=sessions)
    rng = np.random.default_rng(7)
    frames = []
    for i, sym in enumerate(SEED_SYMBOLS):
        steps = rng.normal(0.0005 * (i % 5 - 2), 0.015, sessions)
        close = 100 * np.exp(np.cumsum(steps))
        frames.append(
            pd.DataFrame(
                {
                    "symbol": sym,
                    "date": dates,
                    "open": close * 0.995,
                    "high": close * 1.01,
                    "low": close * 0.985,
                    "close": close,
                    "volume": 1e6 + i,
                }
            )
        )
    store.upsert_daily_bars(pd.concat(frames, ignore_index=True))
    ts = pd.date_range("2025-04-01 13:30", periods=SEED_MINUTES, freq="min", tz="UTC")
    minutes = pd.DataFrame(
        {
            "symbol": "AAPL",
            "ts": ts,
            "open": 100.0,
            "high": 101.5,
            "low": 99.5,
            "close": np.linspace(100, 101, SEED_MINUTES),
            "volume": 1000.0,
        }
    )
    store.upsert_minute_bars(minutes)


def api_env(tmp, **extra: str) -> dict[str, str]:
    """Return the settings environment of an in-process test app on temp SQLite."""
    return {
        "DATABASE_URL": f"sqlite:///{tmp / 'app.db'}",
        "TICKSTOCK_DATA_DIR": str(tmp),
        "INGEST_ENABLED": "false",
        "TICKSTOCK_DEMO_DATA": "false",
        "SECRET_KEY": "test-secret",
        "RATE_LIMIT_USER": "100000/minute",
        "RATE_LIMIT_IP": "100000/minute",
        **extra,
    }


def make_api_app(tmp, *, seed: bool = True, **extra: str):
    """Build an app (no ingest) on temp SQLite, with the seeded bars unless told not."""
    from dashapp.factory import create_app
    from dashapp.settings import load_settings

    app = create_app(load_settings(api_env(tmp, **extra), env_file=None), ingest=False)
    if seed:
        seed_bars(app.server.extensions["tickstock_store"])
    return app

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

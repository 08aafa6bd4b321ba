"""Authentication: passwords, login/lockout, sessions, CSRF, tokens, roles, CLI."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from sqlalchemy import text

from dashapp import auth
from dashapp.cli import main as cli_main
from dashapp.factory import create_app
from tests.auth_helpers import TEST_PASSWORD, bearer, csrf_of, ensure_user, login

ROUTING = ".._pages_content.children..._pages_store.data.."


def routing_payload(pathname: str) -> dict:
    """Return the body Dash's page router posts for `pathname`."""
    return {
        "output": ROUTING,
        "outputs": [
            {"id": "_pages_content", "property": "children"},
            {"id": "_pages_store", "property": "data"},
        ],
        "inputs": [
            {"id": "_pages_location", "property": "pathname", "value": pathname},
            {"id": "_pages_location", "property": "search", "value": ""},
        ],
        "state": [],
        "changedPropIds": ["_pages_location.pathname"],
    }


@pytest.fixture
def app(settings):
    """Return a fresh app on a temp SQLite database."""
    return create_app(settings, ingest=False)


@pytest.fixture
def store(app):
    """Return the app's store."""
    return app.server.extensions["tickstock_store"]


def post_login(client, username, password, csrf=None):
    """Post the login form; return the response."""
    token = csrf_of(client) if csrf is None else csrf
    return client.post(
        auth.LOGIN_POST,
        data={"username": username, "password": password, auth.CSRF_FIELD: token},
    )


# ----------------------------------------------------------------- passwords
@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short-Pw1!", "at least 12"),
        ("password1234", "too common"),
        ("Password1234!", "too common"),
        ("123456789012", "too common"),
        ("qwertyuiop123", "too common"),
        ("aaaaaaaaaaaaaaa", "distinct"),
        ("abababababababab", "distinct"),
        ("alice-Harbour-Sky-9", "username"),
        ("x" * 1025, "at most"),
        ("Nul\x00Byte-Password-7", "NUL"),
    ],
)
def test_au01_password_policy_rejects(password, reason):
    problem = auth.password_problem(password, username="alice")
    assert problem is not None and reason in problem


def test_au02_password_hash_is_argon2id_and_verifies():
    digest = auth.hash_password("Harbour-Sky-Lantern-9")
    assert digest.startswith("$argon2id$")
    assert auth.verify_password(digest, "Harbour-Sky-Lantern-9")
    assert not auth.verify_password(digest, "Harbour-Sky-Lantern-8")
    assert not auth.verify_password("not-a-hash", "Harbour-Sky-Lantern-9")
    with pytest.raises(auth.PasswordRejected):
        auth.hash_password("letmein")


# ----------------------------------------------------------------- login
def test_au03_pages_redirect_to_login_and_login_works(app):
    client = app.server.test_client()
    response = client.get("/rankings?universe=sp500")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/rankings%3Funiverse%3Dsp500"
    assert client.get("/login").status_code == 200
    ensure_user(app, "alice")
    response = post_login(client, "alice", TEST_PASSWORD)
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    me = client.get("/api/me").get_json()
    assert me == {"username": "alice", "role": "user", "via": "session"}


def test_au04_login_rejects_open_redirect(app):
    client = app.server.test_client()
    ensure_user(app, "alice")
    for target in (
        "https://evil.example/",
        "//evil.example",
        "/\\evil",
        "javascript:x",
    ):
        response = client.post(
            auth.LOGIN_POST,
            data={
                "username": "alice",
                "password": TEST_PASSWORD,
                "next": target,
                auth.CSRF_FIELD: csrf_of(client),
            },
        )
        assert response.status_code == 303 and response.headers["Location"] == "/"


def test_au05_wrong_password_and_unknown_user_fail_alike(app):
    client = app.server.test_client()
    ensure_user(app, "alice")
    wrong = post_login(client, "alice", "Wrong-Password-123")
    unknown = post_login(client, "nobody", "Wrong-Password-123")
    for response in (wrong, unknown):
        assert response.status_code == 303
        assert response.headers["Location"].startswith("/login?error=failed")
    assert client.get("/api/me").status_code == 401


def test_au06_lockout_after_repeated_failures(app, store, settings):
    client = app.server.test_client()
    ensure_user(app, "alice")
    for _ in range(settings.login_max_failures):
        response = post_login(client, "alice", "Wrong-Password-1")
        assert "error=failed" in response.headers["Location"]
    user = store.get_user(username="alice")
    assert user["locked_until"] is not None and user["locked_until"] > auth.utcnow()
    # Even the right password is refused while locked.
    response = post_login(client, "alice", TEST_PASSWORD)
    assert "error=failed" in response.headers["Location"]
    assert client.get("/api/me").status_code == 401
    # Once the lock has expired, the right password works and clears the counter.
    store.update_user(user["id"], locked_until=auth.utcnow() - dt.timedelta(seconds=1))
    response = post_login(client, "alice", TEST_PASSWORD)
    assert response.headers["Location"] == "/"
    assert store.get_user(username="alice")["failed_logins"] == 0


def test_au07_disabled_user_cannot_log_in_and_sessions_end(app, store):
    client = login(app.server.test_client(), app, "alice")
    assert client.get("/api/me").status_code == 200
    auth.set_disabled(store, "alice", True)
    assert client.get("/api/me").status_code == 401
    other = app.server.test_client()
    assert (
        "error=failed" in post_login(other, "alice", TEST_PASSWORD).headers["Location"]
    )


# ----------------------------------------------------------------- sessions
def test_au08_logout_invalidates_session_server_side(app):
    client = login(app.server.test_client(), app, "alice")
    stolen = client.get_cookie(auth.SESSION_COOKIE).value
    csrf = client.get_cookie(auth.CSRF_COOKIE).value
    assert client.get("/api/me").status_code == 200
    response = client.post(auth.LOGOUT_POST, headers={auth.CSRF_HEADER: csrf})
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    # Replaying the old (validly signed) cookie does not work any more.
    replay = app.server.test_client()
    replay.set_cookie(auth.SESSION_COOKIE, stolen)
    assert replay.get("/api/me").status_code == 401
    assert replay.get("/").status_code == 302


def test_au09_session_rotates_at_login(app, store):
    client = app.server.test_client()
    client.get("/login")
    before = client.get_cookie(auth.SESSION_COOKIE).value
    csrf_before = client.get_cookie(auth.CSRF_COOKIE).value
    login(client, app, "alice")
    assert client.get_cookie(auth.SESSION_COOKIE).value != before
    assert client.get_cookie(auth.CSRF_COOKIE).value != csrf_before
    # Logging in again revokes the previous server-side session.
    first = client.get_cookie(auth.SESSION_COOKIE).value
    login(client, app, "alice")
    replay = app.server.test_client()
    replay.set_cookie(auth.SESSION_COOKIE, first)
    assert replay.get("/api/me").status_code == 401
    with store.engine.connect() as conn:
        states = conn.execute(
            text("SELECT revoked_at IS NULL FROM auth_sessions ORDER BY created_at")
        ).scalars()
        assert list(map(bool, states)) == [False, True]


def test_au10_cookie_flags(app, settings):
    client = app.server.test_client()
    client.get("/login")
    ensure_user(app, "alice")
    response = post_login(client, "alice", TEST_PASSWORD)
    cookies = response.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith(auth.SESSION_COOKIE))
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
    assert "Secure" not in session_cookie
    secure_app = create_app(settings.replace(secure_cookies=True), ingest=False)
    secure_client = secure_app.server.test_client()
    secure_client.get("/login", base_url="https://localhost")
    ensure_user(secure_app, "alice")
    response = secure_client.post(
        auth.LOGIN_POST,
        base_url="https://localhost",
        data={
            "username": "alice",
            "password": TEST_PASSWORD,
            auth.CSRF_FIELD: secure_client.get_cookie(
                auth.CSRF_COOKIE, domain="localhost"
            ).value,
        },
    )
    cookies = response.headers.getlist("Set-Cookie")
    assert all("Secure" in c for c in cookies)


@pytest.mark.parametrize("column", ["last_seen_at", "created_at"])
def test_au11_idle_and_absolute_timeouts(app, store, settings, column):
    client = login(app.server.test_client(), app, "alice")
    assert client.get("/api/me").status_code == 200
    limit = (
        dt.timedelta(minutes=settings.session_idle_minutes)
        if column == "last_seen_at"
        else dt.timedelta(hours=settings.session_max_hours)
    )
    old = auth.utcnow() - limit - dt.timedelta(minutes=1)
    with store.engine.begin() as conn:
        from dashapp.store import auth_sessions

        conn.execute(auth_sessions.update().values({column: old}))
    # The edit stands in for time passing; the row this process cached for
    # SESSION_CACHE_SECONDS would have expired by then.
    auth.sessions.clear_session_cache()
    assert client.get("/api/me").status_code == 401
    assert client.get("/").status_code == 302
    # The next login prunes sessions past the absolute timeout.
    if column == "created_at":
        login(app.server.test_client(), app, "alice")
        with store.engine.connect() as conn:
            count = conn.execute(text("SELECT count(*) FROM auth_sessions")).scalar()
        assert count == 1


# ----------------------------------------------------------------- CSRF
def test_au12_csrf_rejections(app):
    client = app.server.test_client()
    ensure_user(app, "alice")
    # Login form without (or with a wrong) token: refused, no session.
    response = post_login(client, "alice", TEST_PASSWORD, csrf="forged")
    assert (
        response.status_code == 303 and "error=expired" in response.headers["Location"]
    )
    assert client.get("/api/me").status_code == 401
    # A logged-in session's state-changing requests need the header.
    login(client, app, "alice", role="user")
    client.environ_base.pop("HTTP_X_CSRFTOKEN")
    payload = routing_payload("/admin")
    response = client.post("/_dash-update-component", json=payload)
    assert response.status_code == 403 and response.get_json()["error"] == "csrf_failed"
    response = client.post(
        "/_dash-update-component", json=payload, headers={auth.CSRF_HEADER: "wrong"}
    )
    assert response.status_code == 403
    good = client.get_cookie(auth.CSRF_COOKIE).value
    response = client.post(
        "/_dash-update-component", json=payload, headers={auth.CSRF_HEADER: good}
    )
    assert response.status_code == 200
    # Logout without the token does not log out.
    assert client.post(auth.LOGOUT_POST).status_code == 403
    assert client.get("/api/me").status_code == 200


def test_au13_anonymous_callbacks_only_route_the_login_page(app):
    client = app.server.test_client()
    client.get("/login")
    headers = {auth.CSRF_HEADER: client.get_cookie(auth.CSRF_COOKIE).value}
    ok = client.post(
        "/_dash-update-component", json=routing_payload("/login"), headers=headers
    )
    assert ok.status_code == 200 and "login-form" in ok.get_data(as_text=True)
    for path in ("/", "/admin", "/rankings"):
        denied = client.post(
            "/_dash-update-component", json=routing_payload(path), headers=headers
        )
        assert denied.status_code == 401
    # A non-routing callback that merely mentions a public pathname is refused.
    crafted = {
        "output": "admin-users-table.children",
        "outputs": {"id": "admin-users-table", "property": "children"},
        "inputs": [{"id": "x", "property": "pathname", "value": "/login"}],
        "changedPropIds": ["x.pathname"],
    }
    response = client.post("/_dash-update-component", json=crafted, headers=headers)
    assert response.status_code == 401
    response = client.post("/_dash-update-component", data="not json", headers=headers)
    assert response.status_code == 401


# ----------------------------------------------------------------- roles
def test_au14_admin_page_and_callbacks_need_admin(app):
    user = login(app.server.test_client(), app, "alice", role="user")
    body = user.post("/_dash-update-component", json=routing_payload("/admin"))
    assert body.status_code == 200
    assert "admin-forbidden" in body.get_data(as_text=True)
    admin = login(app.server.test_client(), app, "root", role="admin")
    body = admin.post("/_dash-update-component", json=routing_payload("/admin"))
    assert "admin-users-table" in body.get_data(as_text=True)
    refresh = {
        "output": "..admin-users-table.children...admin-tokens-table.children..."
        "admin-universes-table.children...admin-jobs-table.children..."
        "admin-ingest.children..",
        "outputs": [
            {"id": i, "property": "children"}
            for i in (
                "admin-users-table",
                "admin-tokens-table",
                "admin-universes-table",
                "admin-jobs-table",
                "admin-ingest",
            )
        ],
        "inputs": [{"id": "admin-poll", "property": "n_intervals", "value": 1}]
        + [
            {"id": i, "property": "children", "value": None}
            for i in (
                "admin-user-result",
                "admin-token-result",
                "admin-universe-result",
                "admin-job-result",
            )
        ],
        "changedPropIds": ["admin-poll.n_intervals"],
    }
    assert user.post("/_dash-update-component", json=refresh).status_code == 204
    response = admin.post("/_dash-update-component", json=refresh)
    assert response.status_code == 200 and "root" in response.get_data(as_text=True)


def test_au15_navbar_shows_admin_link_only_to_admins(app):
    payload = {
        "output": "..nav-role-links.children...nav-user.children..",
        "outputs": [
            {"id": "nav-role-links", "property": "children"},
            {"id": "nav-user", "property": "children"},
        ],
        "inputs": [{"id": "nav-location", "property": "pathname", "value": "/"}],
        "changedPropIds": ["nav-location.pathname"],
    }
    user = login(app.server.test_client(), app, "alice", role="user")
    as_user = user.post("/_dash-update-component", json=payload).get_json()
    assert as_user["response"]["nav-role-links"]["children"] == []
    assert "alice" in json.dumps(as_user["response"]["nav-user"])
    admin = login(app.server.test_client(), app, "root", role="admin")
    as_admin = admin.post("/_dash-update-component", json=payload).get_json()
    links = json.dumps(as_admin["response"]["nav-role-links"]["children"])
    assert '"href": "/admin"' in links and "root" in json.dumps(as_admin)
    anonymous = app.server.test_client()
    anonymous.get("/login")
    csrf = {auth.CSRF_HEADER: anonymous.get_cookie(auth.CSRF_COOKIE).value}
    as_anon = anonymous.post("/_dash-update-component", json=payload, headers=csrf)
    assert as_anon.get_json()["response"]["nav-role-links"]["children"] == []
    # The static navbar never links role-restricted pages.
    layout = admin.get("/_dash-layout").get_data(as_text=True)
    assert '"/admin"' not in layout


def test_au16_role_change_applies_to_live_session(app, store):
    client = login(app.server.test_client(), app, "alice", role="admin")
    assert client.get("/api/admin/users").status_code == 200
    ensure_user(app, "root", role="admin")
    auth.set_role(store, "alice", "user")
    assert client.get("/api/admin/users").status_code == 403


def test_au17_last_admin_cannot_be_removed(store):
    auth.create_user(store, "root", TEST_PASSWORD, "admin")
    with pytest.raises(auth.AuthError, match="last enabled admin"):
        auth.set_role(store, "root", "user")
    with pytest.raises(auth.AuthError, match="last enabled admin"):
        auth.set_disabled(store, "root", True)


# ----------------------------------------------------------------- tokens
def test_au18_tokens_hashed_scoped_and_revocable(app, store):
    headers = bearer(app, "alice", "user")
    token = headers["Authorization"].split()[1]
    with store.engine.connect() as conn:
        stored = conn.execute(text("SELECT token_hash FROM api_tokens")).scalar_one()
    assert stored == auth.hash_token(token) and token not in stored
    client = app.server.test_client()
    assert client.get("/api/me", headers=headers).get_json()["via"] == "token"
    assert client.get("/api/admin/users", headers=headers).status_code == 403
    token_id = store.list_tokens()[0]["id"]
    assert auth.revoke_token(store, token_id)
    response = client.get("/api/me", headers=headers)
    assert (
        response.status_code == 401 and response.get_json()["error"] == "invalid_token"
    )
    for bad in ("Bearer ", "Bearer nope", "Basic abc", f"Token {token}"):
        assert client.get("/api/me", headers={"Authorization": bad}).status_code == 401
    # A bearer token is an API credential only: pages still want a session.
    assert client.get("/", headers=headers).status_code == 302


def test_au19_token_needs_no_csrf_and_sets_no_cookie(app):
    headers = bearer(app, "root", "admin")
    client = app.server.test_client()
    response = client.post("/api/admin/tokens", json={"name": "ci"}, headers=headers)
    assert response.status_code == 201
    assert response.get_json()["token"].startswith(auth.TOKEN_PREFIX)
    assert not response.headers.getlist("Set-Cookie")


# ----------------------------------------------------------------- first admin, CLI
def test_au20_first_admin_from_env(settings):
    app = create_app(
        settings.replace(admin_password="Cobalt-River-Anchor-5"), ingest=False
    )
    store = app.server.extensions["tickstock_store"]
    assert [u["username"] for u in store.list_users()] == ["admin"]
    client = app.server.test_client()
    response = post_login(client, "admin", "Cobalt-River-Anchor-5")
    assert response.headers["Location"] == "/"
    # A second start with another password changes nothing.
    create_app(settings.replace(admin_password="Other-River-Anchor-6"), ingest=False)
    assert len(store.list_users()) == 1


def test_au21_weak_admin_password_creates_nobody(settings):
    app = create_app(settings.replace(admin_password="password1234"), ingest=False)
    assert app.server.extensions["tickstock_store"].list_users() == []


def run_cli(monkeypatch, settings, argv, stdin=""):
    """Run `tickstock ARGV` against the test database; return (code, out, err)."""
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("TICKSTOCK_DATA_DIR", settings.data_dir)
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    monkeypatch.setattr("sys.stderr", err)
    with pytest.raises(SystemExit) as exit_info:
        cli_main(argv)
    return exit_info.value.code, out.getvalue(), err.getvalue()


def test_au22_cli_users_and_tokens(monkeypatch, settings, tmp_path):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_cli(
        monkeypatch, settings, ["users", "add", "ops", "--role", "admin"],
        "Granite-Pelican-Oar-3\n",
    )  # fmt: skip
    assert code == 0 and "created" in out
    code, _, err = run_cli(
        monkeypatch, settings, ["users", "add", "bob"], "password1234\n"
    )
    assert code == 1 and "too common" in err
    code, _, _ = run_cli(
        monkeypatch, settings, ["users", "add", "bob"], TEST_PASSWORD + "\n"
    )
    assert code == 0
    code, out, _ = run_cli(monkeypatch, settings, ["users", "list"])
    assert "ops" in out and "bob" in out and "admin" in out
    assert run_cli(monkeypatch, settings, ["users", "set-role", "bob", "admin"])[0] == 0
    assert run_cli(monkeypatch, settings, ["users", "disable", "bob"])[0] == 0
    assert "disabled" in run_cli(monkeypatch, settings, ["users", "list"])[1]
    assert run_cli(monkeypatch, settings, ["users", "enable", "bob"])[0] == 0
    code, _, _ = run_cli(
        monkeypatch,
        settings,
        ["users", "reset-password", "bob"],
        "Velvet-Comet-Ridge-8\n",
    )
    assert code == 0
    code, out, _ = run_cli(
        monkeypatch, settings, ["tokens", "add", "ci", "--user", "ops"]
    )
    token = out.strip()
    assert code == 0 and token.startswith(auth.TOKEN_PREFIX)
    code, out, _ = run_cli(monkeypatch, settings, ["tokens", "list"])
    assert "ci" in out and token not in out and "active" in out
    app = create_app(settings, ingest=False)
    client = app.server.test_client()
    me = client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert me["username"] == "ops" and me["role"] == "admin"
    assert run_cli(monkeypatch, settings, ["tokens", "revoke", "1"])[0] == 0
    assert "revoked" in run_cli(monkeypatch, settings, ["tokens", "list"])[1]
    assert run_cli(monkeypatch, settings, ["tokens", "revoke", "99"])[0] == 1
    response = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert run_cli(monkeypatch, settings, ["users", "disable", "ghost"])[0] == 1
    # Audit trail: the JSON dump of users never contains password hashes.
    users = json.dumps(
        app.server.extensions["tickstock_store"].list_users(), default=str
    )
    assert "argon2" not in users


@pytest.mark.postgres
def test_au23_sessions_tokens_lockout_on_postgres(settings):
    from tests.conftest import TEST_DATABASE_URL, pg_url

    if not TEST_DATABASE_URL:
        pytest.skip("TEST_DATABASE_URL not set (no PostgreSQL)")
    from dashapp.store import Store

    url = pg_url()
    Store(url).drop_all()
    app = create_app(settings.replace(database_url=url), ingest=False)
    store = app.server.extensions["tickstock_store"]
    client = login(app.server.test_client(), app, "alice", role="admin")
    assert client.get("/api/me").get_json()["via"] == "session"
    csrf = client.get_cookie(auth.CSRF_COOKIE).value
    client.post(auth.LOGOUT_POST, headers={auth.CSRF_HEADER: csrf})
    assert client.get("/api/me").status_code == 401
    headers = bearer(app, "bob", "user")
    assert app.server.test_client().get("/api/me", headers=headers).status_code == 200
    auth.revoke_token(store, store.list_tokens()[0]["id"])
    assert app.server.test_client().get("/api/me", headers=headers).status_code == 401
    for _ in range(settings.login_max_failures):
        post_login(app.server.test_client(), "alice", "Wrong-Password-1")
    assert store.get_user(username="alice")["locked_until"] > auth.utcnow()
    store.set_meta("job:a_1", "{}")
    store.set_meta("jobXa_1", "{}")  # LIKE wildcards in the prefix are escaped
    assert store.list_meta("job:a_") == {"job:a_1": "{}"}
    store.drop_all()
    store.dispose()


def test_au40_session_cache_is_cleared_here_and_expires_for_other_workers(
    tmp_path, monkeypatch
):
    import time

    from dashapp.auth import sessions
    from tests.auth_helpers import login, make_api_app

    monkeypatch.setattr(sessions, "SESSION_CACHE_SECONDS", 0.5)
    app = make_api_app(tmp_path, seed=False)
    store = app.server.extensions["tickstock_store"]
    client = app.server.test_client()
    login(client, app, "cara")
    assert client.get("/api/me").status_code == 200
    user_id = store.get_user(username="cara")["id"]
    store.revoke_sessions(user_id=user_id)  # as another worker's logout would
    assert client.get("/api/me").status_code == 200  # this worker's cached row
    time.sleep(0.6)
    assert client.get("/api/me").status_code == 401
    login(client, app, "cara")
    assert client.get("/api/me").status_code == 200
    auth.set_disabled(store, "cara", True)  # in this process: at once
    assert client.get("/api/me").status_code == 401

"""Security headers, CSP, CORS, rate limits (429 + Retry-After), and a real browser."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil

import pytest

from dashapp import auth
from dashapp.factory import create_app
from tests.auth_helpers import TEST_PASSWORD, bearer, csrf_of, ensure_user

CHROMEDRIVER = shutil.which("chromedriver")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def inline_scripts(html: str) -> list[str]:
    """Return the bodies of executable inline <script> elements."""
    html = re.sub(r"<!--.*?-->", "", html, flags=re.S)
    found = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>(.*?)</script>", html, re.S)
    return [body for attrs, body in found if "application/json" not in attrs]


def directive(csp: str, name: str) -> list[str]:
    """Return the sources of one CSP directive."""
    for part in csp.split(";"):
        words = part.split()
        if words and words[0] == name:
            return words[1:]
    return []


def test_se01_csp_allows_exactly_dash_inline_scripts(settings):
    app = create_app(settings, ingest=False)
    client = app.server.test_client()
    for path in ("/login", "/login"):  # Dash adds a script on the first request
        response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    scripts = directive(csp, "script-src")
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts
    bodies = inline_scripts(response.get_data(as_text=True))
    assert any("DashRenderer" in b for b in bodies)
    for body in bodies:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in scripts, body[:80]
    assert directive(csp, "frame-ancestors") == ["'none'"]
    assert directive(csp, "object-src") == ["'none'"]
    assert directive(csp, "connect-src") == ["'self'"]
    for sheet in app.config.external_stylesheets:
        href = sheet if isinstance(sheet, str) else sheet["href"]
        if href.startswith("http"):
            origin = "/".join(href.split("/")[:3])
            assert origin in directive(csp, "style-src")


def test_se02_security_headers_everywhere(settings):
    app = create_app(settings, ingest=False)
    client = app.server.test_client()
    headers = bearer(app, "ursula")
    for path, extra in (("/health", {}), ("/login", {}), ("/api/universes", headers)):
        response = client.get(path, headers=extra)
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert "Strict-Transport-Security" not in response.headers
    secure = client.get("/health", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    on = create_app(settings.replace(secure_cookies=True), ingest=False)
    assert "Strict-Transport-Security" in on.server.test_client().get("/health").headers


def test_se03_cors_only_for_configured_origins(settings):
    app = create_app(
        settings.replace(cors_origins=("https://notebook.example",)), ingest=False
    )
    client = app.server.test_client()
    headers = bearer(app, "ursula")
    allowed = client.get(
        "/api/universes", headers={**headers, "Origin": "https://notebook.example"}
    )
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://notebook.example"
    assert "Origin" in allowed.headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in allowed.headers
    denied = client.get(
        "/api/universes", headers={**headers, "Origin": "https://evil.example"}
    )
    assert "Access-Control-Allow-Origin" not in denied.headers
    preflight = client.options(
        "/api/rankings",
        headers={
            "Origin": "https://notebook.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "Authorization",
        },
    )
    assert preflight.status_code == 200
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    assert "GET" in preflight.headers["Access-Control-Allow-Methods"]
    page = client.get("/login", headers={"Origin": "https://notebook.example"})
    assert "Access-Control-Allow-Origin" not in page.headers
    none = create_app(settings, ingest=False).server.test_client()
    response = none.options(
        "/api/rankings",
        headers={
            "Origin": "https://notebook.example",
            "Access-Control-Request-Method": "GET",
        },
    )
    assert "Access-Control-Allow-Origin" not in response.headers


def assert_429(response):
    """Check the rate-limit answer: JSON error shape and Retry-After."""
    assert response.status_code == 429
    body = response.get_json()
    assert body["error"] == "rate_limited" and set(body) == {
        "error",
        "message",
        "details",
    }
    retry = int(response.headers["Retry-After"])
    assert 1 <= retry <= 61 and body["details"]["retry_after"] == retry


def test_se04_rate_limit_per_user_429_with_retry_after(settings):
    app = create_app(
        settings.replace(rate_limit_user="3/minute", rate_limit_ip="100/minute"),
        ingest=False,
    )
    client = app.server.test_client()
    alice, bob = bearer(app, "alice"), bearer(app, "bob")
    for _ in range(3):
        assert client.get("/api/universes", headers=alice).status_code == 200
    assert_429(client.get("/api/universes", headers=alice))
    assert_429(client.get("/api/me", headers=alice))  # the limit is per user
    # Another user (same IP) still has a budget; /health is never limited.
    assert client.get("/api/universes", headers=bob).status_code == 200
    assert client.get("/health").status_code == 200


def test_se05_rate_limit_per_ip_and_for_anonymous(settings):
    app = create_app(
        settings.replace(rate_limit_user="100/minute", rate_limit_ip="4/minute"),
        ingest=False,
    )
    client = app.server.test_client()
    users = [bearer(app, f"user{i}") for i in range(3)]
    statuses = [
        client.get("/api/me", headers=users[i % 3]).status_code for i in range(4)
    ]
    assert statuses == [200] * 4
    assert_429(client.get("/api/me", headers=users[0]))
    other_ip = client.get(
        "/api/me", headers=users[0], environ_base={"REMOTE_ADDR": "10.9.8.7"}
    )
    assert other_ip.status_code == 200
    # Anonymous guessing counts against the IP too.
    fresh = create_app(settings.replace(rate_limit_ip="2/minute"), ingest=False)
    anon = fresh.server.test_client()
    assert [anon.get("/api/me").status_code for _ in range(2)] == [401, 401]
    assert_429(anon.get("/api/me"))


def test_se06_login_is_rate_limited_per_ip(settings):
    app = create_app(settings.replace(rate_limit_login="3/minute"), ingest=False)
    client = app.server.test_client()
    ensure_user(app, "alice")
    for _ in range(3):
        response = client.post(
            auth.LOGIN_POST,
            data={
                "username": "alice",
                "password": "nope",
                auth.CSRF_FIELD: csrf_of(client),
            },
        )
        assert response.status_code == 303
    blocked = client.post(
        auth.LOGIN_POST,
        data={
            "username": "alice",
            "password": TEST_PASSWORD,
            auth.CSRF_FIELD: csrf_of(client),
        },
    )
    assert_429(blocked)
    assert client.get("/login").status_code == 200  # viewing the form is not limited


@pytest.mark.redis
def test_se07_rate_limits_shared_through_redis(settings, redis_url):
    import redis

    limited = settings.replace(redis_url=redis_url, rate_limit_user="2/minute")
    first = create_app(limited, ingest=False)
    second = create_app(limited, ingest=False)  # another worker, same database
    headers = bearer(first, "alice")
    assert first.server.test_client().get("/api/me", headers=headers).status_code == 200
    assert (
        second.server.test_client().get("/api/me", headers=headers).status_code == 200
    )
    assert_429(first.server.test_client().get("/api/me", headers=headers))
    keys = redis.Redis.from_url(redis_url).keys("*tickstock-rl*")
    assert keys


def test_se08_errors_leak_no_stack_traces(settings):
    app = create_app(settings, ingest=False)
    client = app.server.test_client()
    headers = bearer(app, "ursula")
    for path in ("/api/bars/%00", "/api/rankings?as_of=2025-99-99", "/api/nope"):
        text = client.get(path, headers=headers).get_data(as_text=True)
        assert "Traceback" not in text and "sqlalchemy" not in text.lower()


# ----------------------------------------------------------------- real browser
def _require_browser() -> None:
    want = os.environ.get("TEST_BROWSER", "")
    if want == "0":
        pytest.skip("browser tests disabled (TEST_BROWSER=0)")
    if not CHROMEDRIVER:
        if want == "1":
            pytest.fail("TEST_BROWSER=1 but chromedriver is not on PATH")
        pytest.skip("chromedriver not found (apt-get install chromium chromium-driver)")


@pytest.fixture
def browser():
    """Yield a DashComposite driving headless Chromium."""
    _require_browser()
    from dash.testing.application_runners import ThreadedRunner
    from dash.testing.composite import DashComposite
    from selenium.webdriver.chrome.options import Options

    options = Options()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--window-size=1280,800"):  # fmt: skip
        options.add_argument(arg)
    if CHROMIUM:
        options.binary_location = CHROMIUM
    with ThreadedRunner() as server:
        with DashComposite(
            server=server, browser="Chrome", headless=True, options=[options],
            percy_run=False, wait_timeout=20,
        ) as composite:  # fmt: skip
            yield composite


@pytest.mark.browser
@pytest.mark.slow
def test_se09_browser_login_callbacks_admin_logout(browser, settings):
    app = create_app(settings, ingest=False)
    ensure_user(app, "root", auth.ADMIN)
    browser.start_server(app, navigate=False)
    driver = browser.driver
    driver.get(f"{browser.server.url}/admin")
    browser._wait_for(lambda d: "/login" in d.current_url, 20, "no login redirect")
    browser.wait_for_element("#login-username").send_keys("root")
    field = browser.wait_for_element("#login-password")
    field.send_keys(TEST_PASSWORD)
    field.submit()
    browser._wait_for(
        lambda d: d.current_url.endswith("/admin"), 20, "no redirect back"
    )
    # Server callbacks ran (CSRF header sent by Dash's renderer from the cookie):
    browser.wait_for_contains_text("#nav-user", "root", timeout=20)
    browser.wait_for_contains_text("#admin-users-table", "root", timeout=20)
    assert browser.find_element("#nav-role-links").text.strip() == "Admin"
    # Create a user from the admin page (a state-changing callback).
    browser.find_element("#admin-user-name").send_keys("newbie")
    browser.find_element("#admin-user-password").send_keys("Saffron-Glacier-Owl-6")
    browser.find_element("#admin-user-apply").click()
    browser.wait_for_contains_text(
        "#admin-user-result", "create: newbie done", timeout=20
    )
    assert app.server.extensions["tickstock_store"].get_user(username="newbie")
    logs = [e["message"] for e in browser.get_logs() if e.get("level") == "SEVERE"]
    csp = [m for m in logs if "Content Security Policy" in m or "violates" in m]
    assert csp == []
    # Log out through the navbar: back on the login page, the session is dead.
    browser.find_element("#nav-user-menu").click()
    browser.wait_for_element("#nav-logout").click()
    browser._wait_for(
        lambda d: "/login" in d.current_url, 20, "logout did not redirect"
    )
    driver.get(f"{browser.server.url}/admin")
    browser._wait_for(lambda d: "/login" in d.current_url, 20, "session still alive")

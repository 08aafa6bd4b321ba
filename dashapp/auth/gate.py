"""The request gatekeeper: dash-auth `Auth` with sessions, bearer tokens and CSRF.

Browser users log in on `/login`; REST consumers send `Authorization: Bearer
tst_...` on `/api`. Roles are dash-auth groups (`session["user"]["groups"]`),
so dash-auth's `protected` and `protected_callback(groups=["admin"])` work on
pages. Anonymous requests get a 401 (API, XHR) or go to the login page.
"""

from __future__ import annotations

import logging
from urllib.parse import quote, urlsplit

import dash
from dash_auth.auth import Auth
from dash_auth.public_routes import get_public_callbacks, get_public_routes
from flask import Response, g, redirect, request

from dashapp.auth.responses import json_error
from dashapp.auth.sessions import csrf_ok, current_principal, set_csrf_cookie

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
LOGIN_PATH = "/login"
LOGIN_POST = "/auth/login"
LOGOUT_POST = "/auth/logout"
DASH_CALLBACK_PATH = "/_dash-update-component"
DASH_SHELL_PATHS = frozenset({"/_dash-layout", "/_dash-dependencies"})
PAGES_LOCATION = "_pages_location"
PAGES_ROUTING_OUTPUT = ".._pages_content.children..._pages_store.data.."
PUBLIC_ROUTES = [
    LOGIN_PATH,
    LOGIN_POST,
    LOGOUT_POST,
    "/health",
    "/ready",
    "/assets/<path:path>",
    "/_favicon.ico",
]
# Callbacks an anonymous visitor of the login page may run (navbar user menu).
PUBLIC_CALLBACK_OUTPUTS = ("..nav-role-links.children...nav-user.children..",)
ALWAYS_OPEN = frozenset({"/health", "/ready"})


def safe_next(target: str | None) -> str:
    """Return a same-site relative path to go to after login ("/" otherwise)."""
    if not target or not isinstance(target, str) or len(target) > 2048:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/"):
        return "/"
    if target.startswith("//") or "\\" in target or any(ord(c) < 32 for c in target):
        return "/"
    if parts.path in (LOGIN_PATH, LOGIN_POST, LOGOUT_POST):
        return "/"
    return target


class SessionAuth(Auth):
    """dash-auth `Auth` with server-side sessions, bearer tokens, roles and CSRF."""

    def __init__(self, app: dash.Dash) -> None:
        super().__init__(app, public_routes=list(PUBLIC_ROUTES))

    def _protect(self) -> None:
        """Install one before_request hook: resolve the user, CSRF, then access."""
        self.app.server.before_request(self.gate)
        self.app.server.after_request(set_csrf_cookie)

    def gate(self) -> Response | None:
        """Allow the request, or answer 401/403/redirect."""
        if request.path in ALWAYS_OPEN and request.method in SAFE_METHODS:
            return None  # health checks: no session, no database
        if request.method == "OPTIONS" and request.path.startswith("/api/"):
            return None  # CORS preflight: answered by the security module
        principal = current_principal()
        if getattr(g, "bearer_attempt", False) and principal is None:
            return json_error(
                401, "invalid_token", "the bearer token is unknown or revoked"
            )
        # CSRF guards what a cookie can do: requests of a logged-in session and
        # the login form itself (login CSRF). Anonymous requests are refused below.
        needs_csrf = request.path == LOGIN_POST or (
            principal is not None and principal.via == "session"
        )
        if request.method not in SAFE_METHODS and needs_csrf and not csrf_ok():
            return self.csrf_failure()
        if principal is not None or self.is_public():
            return None
        return self.login_request()

    def is_public(self) -> bool:
        """Return whether the request may be served without a login."""
        routes = get_public_routes(self.app)
        if request.path == DASH_CALLBACK_PATH:
            return self._public_callback()
        if request.path.startswith("/_dash-"):
            # The shell layout, callback graph and component bundles that the
            # login page needs; none carries data.
            shell = request.path in DASH_SHELL_PATHS or request.path.startswith(
                "/_dash-component-suites/"
            )
            return shell and request.method in SAFE_METHODS
        return bool(routes.test(request.path))

    def _public_callback(self) -> bool:
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("output"), str):
            return False
        output = body["output"]
        if output in get_public_callbacks(self.app):
            return True
        if output in PUBLIC_CALLBACK_OUTPUTS:
            return True
        if output != PAGES_ROUTING_OUTPUT:
            return False
        # The page router may run anonymously only to render a public page.
        inputs = body.get("inputs")
        pathname = None
        for item in inputs if isinstance(inputs, list) else []:
            if (
                isinstance(item, dict)
                and item.get("id") == PAGES_LOCATION
                and item.get("property") == "pathname"
            ):
                pathname = item.get("value")
        return isinstance(pathname, str) and pathname == LOGIN_PATH

    def is_authorized(self) -> bool:
        """Return whether the request comes from a logged-in user or valid token."""
        return current_principal() is not None

    def login_request(self) -> Response:
        """Answer an anonymous request: 401 JSON for API/XHR, else go to login."""
        if request.path.startswith("/api"):
            response = json_error(401, "unauthorized", "log in or send a bearer token")
            response.headers["WWW-Authenticate"] = 'Bearer realm="tickstock"'
            return response
        if request.method not in SAFE_METHODS or request.path.startswith("/_dash-"):
            return json_error(401, "unauthorized", "your session has ended: log in")
        target = request.full_path if request.query_string else request.path
        return redirect(f"{LOGIN_PATH}?next={quote(safe_next(target), safe='/')}")

    def csrf_failure(self) -> Response:
        """Answer a state-changing request without a valid CSRF token."""
        log.warning("CSRF check failed: %s %s", request.method, request.path)
        if request.path == LOGIN_POST:
            return redirect(f"{LOGIN_PATH}?error=expired", code=303)
        return json_error(
            403, "csrf_failed", "missing or wrong CSRF token; reload the page"
        )

"""Authentication and authorization: session login, API tokens, roles, CSRF.

* Browser users log in on `/login` (a plain HTML form posting to `/auth/login`).
  A login creates a server-side session row (`auth_sessions`, keyed by the SHA-256
  of a random id kept in Flask's signed cookie), so logout, disabling a user and
  the idle / absolute timeouts take effect on the server, not only in the cookie.
* REST consumers send `Authorization: Bearer tst_...` on `/api`; tokens are random
  256-bit strings stored as SHA-256 hashes and carry their owner's role.
* Roles are dash-auth groups (`session["user"]["groups"]`), so dash-auth's
  `protected` and `protected_callback(groups=["admin"])` work on pages.
* CSRF: every state-changing request authenticated by the session cookie must carry
  the session's CSRF token, as the `X-CSRFToken` header (Dash's renderer sends it
  from the `_csrf_token` cookie on every callback) or a `csrf_token` form field.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any
from urllib.parse import quote, urlsplit

import dash
import orjson
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from dash import Input, Output, dcc, no_update
from dash_auth.auth import Auth
from dash_auth.public_routes import get_public_callbacks, get_public_routes
from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    has_request_context,
    redirect,
    request,
    session,
)

from dashapp.settings import Settings
from dashapp.store import ROLES, Store, StoreError, utcnow

log = logging.getLogger(__name__)
audit = logging.getLogger("tickstock.audit")

ADMIN = "admin"
USER = "user"
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
MIN_DISTINCT_CHARS = 5
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
TOKEN_NAME_RE = re.compile(r"^[A-Za-z0-9_ .@-]{1,64}$")
TOKEN_PREFIX = "tst_"
TOKEN_RE = re.compile(r"^tst_[A-Za-z0-9_-]{43}$")
TOKEN_BYTES = 32
SESSION_ID_BYTES = 32
CSRF_BYTES = 32
CSRF_COOKIE = "_csrf_token"
CSRF_HEADER = "X-CSRFToken"
CSRF_FIELD = "csrf_token"
SESSION_COOKIE = "tickstock_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# Write last-seen times at most this often: the idle timeout is in minutes, and a
# write per Dash poll would serialise every reader behind the database writer.
TOUCH_SECONDS = 60
# A token look-up is cached this long per process; a revocation made in this
# process clears the cache at once, one made in another worker applies within it.
TOKEN_CACHE_SECONDS = 5.0
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
LOGIN_FAILED = "Login failed: wrong username or password, or the account is locked."

# argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): about
# 0.1-0.2 s per check on a small server; stored hashes carry their parameters,
# and a login re-hashes a password whose parameters differ.
ARGON2_TIME_COST = 2
ARGON2_MEMORY_KIB = 19_456
ARGON2_PARALLELISM = 1
_hasher = PasswordHasher(
    time_cost=ARGON2_TIME_COST,
    memory_cost=ARGON2_MEMORY_KIB,
    parallelism=ARGON2_PARALLELISM,
)
_DUMMY_HASH = _hasher.hash("tickstock-timing-equaliser")
_token_cache: dict[tuple[str, str], tuple[float, Principal | None]] = {}
_token_cache_lock = threading.Lock()
_token_touched: dict[int, float] = {}


class PasswordRejected(ValueError):
    """A password does not meet the password policy."""


class AuthError(ValueError):
    """A user or token operation cannot be done (unknown name, bad input...)."""


@dataclass(frozen=True)
class Principal:
    """Who is making the request and how they proved it."""

    user_id: int
    username: str
    role: str
    via: str  # "session" or "token"
    token_id: int | None = None

    @property
    def is_admin(self) -> bool:
        """Return whether the principal has the admin role."""
        return self.role == ADMIN

    @property
    def rate_key(self) -> str:
        """Return the rate-limit key for this principal."""
        return f"user:{self.user_id}"


# ----------------------------------------------------------------- passwords
@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """Return the shipped list of common passwords and password stems."""
    text = resources.files("dashapp.store.refdata").joinpath("common_passwords.txt")
    lines = text.read_text(encoding="utf-8").splitlines()
    return frozenset(
        line.strip().lower() for line in lines if line.strip() and line[0] != "#"
    )


def password_problem(password: str, username: str | None = None) -> str | None:
    """Return why a password is not acceptable, or None when it is."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        return f"password must have at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"password must have at most {MAX_PASSWORD_LENGTH} characters"
    if "\x00" in password:
        return "password must not contain NUL characters"
    lowered = password.lower()
    stem = lowered.strip("0123456789!@#$%^&*()_+-=.,;:?~ ")
    common = common_passwords()
    if lowered in common or stem in common or not stem:
        return "password is too common"
    if len(set(lowered)) < MIN_DISTINCT_CHARS:
        return "password has too few distinct characters"
    if username and len(username) >= 3 and username.lower() in lowered:
        return "password must not contain the username"
    return None


def hash_password(password: str, username: str | None = None) -> str:
    """Return the argon2id hash of an acceptable password (else PasswordRejected)."""
    problem = password_problem(password, username)
    if problem:
        raise PasswordRejected(problem)
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Return whether `password` matches the stored argon2 hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# ----------------------------------------------------- users and API tokens
def validate_username(username: str) -> str:
    """Return the username if it is well formed, else raise AuthError."""
    if not isinstance(username, str) or not USERNAME_RE.fullmatch(username):
        raise AuthError(
            "username must be 1-64 characters: letters, digits, _ . @ - "
            "(starting with a letter or digit)"
        )
    return username


def create_user(store: Store, username: str, password: str, role: str = USER) -> int:
    """Create a user with a checked, argon2id-hashed password; return its id."""
    validate_username(username)
    if role not in ROLES:
        raise AuthError(f"role must be one of {', '.join(ROLES)}")
    password_hash = hash_password(password, username)
    try:
        user_id = store.create_user(username, password_hash, role)
    except StoreError as exc:
        raise AuthError(str(exc)) from None
    audit.info("audit: user created: %s (role %s)", username, role)
    return user_id


def require_user(store: Store, username: str) -> dict[str, Any]:
    """Return the user row for a name, or raise AuthError."""
    user = store.get_user(username=username)
    if user is None:
        raise AuthError(f"no user named {username!r}")
    return user


def set_password(store: Store, username: str, password: str) -> None:
    """Replace a user's password, unlock the account and end its sessions."""
    user = require_user(store, username)
    store.update_user(
        user["id"],
        password_hash=hash_password(password, username),
        failed_logins=0,
        locked_until=None,
    )
    store.revoke_sessions(user_id=user["id"])
    audit.info("audit: password reset: %s", username)


def set_role(store: Store, username: str, role: str) -> None:
    """Change a user's role (never leaving the app without an enabled admin)."""
    if role not in ROLES:
        raise AuthError(f"role must be one of {', '.join(ROLES)}")
    user = require_user(store, username)
    if user["role"] == ADMIN and role != ADMIN and not user["disabled"]:
        _ensure_other_admin(store)
    store.update_user(user["id"], role=role)
    clear_token_cache()
    audit.info("audit: role changed: %s -> %s", username, role)


def set_disabled(store: Store, username: str, disabled: bool) -> None:
    """Disable (ending its sessions) or enable a user."""
    user = require_user(store, username)
    if disabled and user["role"] == ADMIN and not user["disabled"]:
        _ensure_other_admin(store)
    store.update_user(
        user["id"], disabled=disabled, **({} if disabled else {"failed_logins": 0})
    )
    if disabled:
        store.revoke_sessions(user_id=user["id"])
    clear_token_cache()
    audit.info("audit: user %s: %s", "disabled" if disabled else "enabled", username)


def _ensure_other_admin(store: Store) -> None:
    if store.count_users(role=ADMIN) <= 1:
        raise AuthError("refusing: this is the last enabled admin")


def hash_token(token: str) -> str:
    """Return the SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(store: Store, username: str, name: str) -> tuple[int, str]:
    """Create an API token for a user; return (id, the token shown only once)."""
    if not isinstance(name, str) or not TOKEN_NAME_RE.fullmatch(name):
        raise AuthError("token name must be 1-64 letters, digits, spaces, _ . @ -")
    user = require_user(store, username)
    token = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    token_id = store.create_token(user["id"], name, hash_token(token))
    audit.info("audit: token issued: #%s %r for %s", token_id, name, username)
    return token_id, token


def revoke_token(store: Store, token_id: int) -> bool:
    """Revoke a token by id (effective at once in this process)."""
    found = store.revoke_token(token_id)
    clear_token_cache()
    if found:
        audit.info("audit: token revoked: #%s", token_id)
    return found


def clear_token_cache() -> None:
    """Forget cached token look-ups (after a revocation or role change)."""
    with _token_cache_lock:
        _token_cache.clear()


def token_principal(store: Store, token: str) -> Principal | None:
    """Return the principal for a bearer token, or None if unknown/revoked."""
    if not TOKEN_RE.fullmatch(token):
        return None
    digest = hash_token(token)
    key = (store.url, digest)
    now = time.monotonic()
    with _token_cache_lock:
        hit = _token_cache.get(key)
    if hit is not None and hit[0] > now:
        principal = hit[1]
    else:
        row = store.token_principal(digest)
        principal = None
        if row and row["revoked_at"] is None and not row["disabled"]:
            principal = Principal(
                row["user_id"], row["username"], row["role"], "token", row["token_id"]
            )
        with _token_cache_lock:
            _token_cache[key] = (now + TOKEN_CACHE_SECONDS, principal)
    if principal is not None and principal.token_id is not None:
        last = _token_touched.get(principal.token_id, 0.0)
        if now - last > TOUCH_SECONDS:
            _token_touched[principal.token_id] = now
            store.touch_token(principal.token_id)
    return principal


def ensure_first_admin(store: Store, settings: Settings) -> bool:
    """Create user `admin` from TICKSTOCK_ADMIN_PASSWORD when there is no user."""
    if not settings.admin_password or store.count_users() > 0:
        return False
    try:
        create_user(store, "admin", settings.admin_password, ADMIN)
    except (PasswordRejected, AuthError) as exc:
        log.error("TICKSTOCK_ADMIN_PASSWORD not used: %s", exc)
        return False
    log.info("created the first admin user 'admin' from TICKSTOCK_ADMIN_PASSWORD")
    return True


# ------------------------------------------------------------------ sessions
def _store() -> Store:
    return current_app.extensions["tickstock_store"]


def _settings() -> Settings:
    return current_app.extensions["tickstock_settings"]


def _session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def session_principal() -> Principal | None:
    """Return the principal of the request's login session, enforcing timeouts."""
    session_id = session.get("sid")
    if not isinstance(session_id, str):
        return None
    store, settings = _store(), _settings()
    digest = _session_hash(session_id)
    row = store.get_session(digest)
    now = utcnow()
    problem = None
    if row is None or row["revoked_at"] is not None:
        problem = "revoked"
    elif row["disabled"]:
        problem = "user disabled"
    elif now - row["last_seen_at"] > dt.timedelta(
        minutes=settings.session_idle_minutes
    ):
        problem = "idle timeout"
    elif now - row["created_at"] > dt.timedelta(hours=settings.session_max_hours):
        problem = "absolute timeout"
    if problem:
        if row is not None and row["revoked_at"] is None:
            store.revoke_sessions(session_hash=digest)
            log.info("session of %s ended: %s", row["username"], problem)
        _forget_login()
        return None
    if (now - row["last_seen_at"]).total_seconds() > TOUCH_SECONDS:
        store.touch_session(digest)
    user = {"email": row["username"], "username": row["username"]}
    user["groups"] = [row["role"]]
    if session.get("user") != user:
        session["user"] = user
    return Principal(row["user_id"], row["username"], row["role"], "session")


def _forget_login() -> None:
    session.pop("sid", None)
    session.pop("user", None)


def start_session(user: dict[str, Any]) -> None:
    """Rotate the Flask session and bind it to a new server-side login session."""
    old = session.get("sid")
    if isinstance(old, str):
        _store().revoke_sessions(session_hash=_session_hash(old))
    session.clear()
    session_id = secrets.token_urlsafe(SESSION_ID_BYTES)
    store = _store()
    # Sessions past the absolute timeout are dead whatever their state: drop them.
    store.prune_sessions(utcnow() - dt.timedelta(hours=_settings().session_max_hours))
    store.create_session(_session_hash(session_id), user["id"], client_ip())
    session.permanent = True
    session["sid"] = session_id
    session["csrf"] = secrets.token_urlsafe(CSRF_BYTES)
    session["user"] = {
        "email": user["username"],
        "username": user["username"],
        "groups": [user["role"]],
    }


def end_session() -> None:
    """Revoke the request's login session on the server and clear the cookie."""
    session_id = session.get("sid")
    if isinstance(session_id, str):
        _store().revoke_sessions(session_hash=_session_hash(session_id))
        audit.info("audit: logout: %s", (session.get("user") or {}).get("username"))
    session.clear()


def client_ip() -> str:
    """Return the client address of the request."""
    return request.remote_addr or "unknown"


def current_principal() -> Principal | None:
    """Return the authenticated principal of this request (resolving it once)."""
    if not has_request_context():
        return None
    if "principal" not in g:
        g.principal = _resolve_principal()
    return g.principal


def _resolve_principal() -> Principal | None:
    header = request.headers.get("Authorization", "")
    if header and request.path.startswith("/api/"):
        scheme, _, value = header.partition(" ")
        g.bearer_attempt = True
        if scheme.lower() != "bearer" or not value.strip():
            return None
        return token_principal(_store(), value.strip())
    return session_principal()


# ---------------------------------------------------------------------- CSRF
def csrf_token() -> str:
    """Return the session's CSRF token, creating it when missing."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(CSRF_BYTES)
        session["csrf"] = token
    return token


def csrf_ok() -> bool:
    """Return whether the request carries the session's CSRF token."""
    expected = session.get("csrf")
    if not isinstance(expected, str):
        return False
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.mimetype in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        sent = request.form.get(CSRF_FIELD)
    return isinstance(sent, str) and hmac.compare_digest(sent, expected)


def set_csrf_cookie(response: Response) -> Response:
    """Mirror the session's CSRF token into the cookie Dash's renderer reads."""
    if getattr(g, "bearer_attempt", False):
        return response  # API clients with tokens get no cookies
    token = session.get("csrf")
    if token is None and response.mimetype == "text/html":
        token = csrf_token()
    if token and request.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(
            CSRF_COOKIE,
            token,
            secure=_settings().secure_cookies,
            httponly=False,  # Dash's renderer reads it to send X-CSRFToken
            samesite="Lax",
            path="/",
        )
    return response


# ---------------------------------------------------------- request gatekeeper
def json_error(status: int, code: str, message: str, **details: Any) -> Response:
    """Return the API error shape {"error", "message", "details"} with a status."""
    body = orjson.dumps({"error": code, "message": message, "details": details})
    return Response(body, status=status, mimetype="application/json")


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


# ---------------------------------------------------------- login / logout
bp = Blueprint("auth", __name__)


@bp.post(LOGIN_POST)
def login() -> Response:
    """Check the login form; start a fresh session or count the failure."""
    username = request.form.get("username", "")
    password = request.form.get("password", "")
    target = safe_next(request.form.get("next"))
    if authenticate(username, password) is None:
        return redirect(
            f"{LOGIN_PATH}?error=failed&next={quote(target, safe='/')}", code=303
        )
    return redirect(target, code=303)


def authenticate(username: str, password: str) -> dict[str, Any] | None:
    """Verify credentials with lockout; start a session and return the user."""
    store, settings = _store(), _settings()
    ok_input = (
        isinstance(username, str)
        and USERNAME_RE.fullmatch(username)
        and isinstance(password, str)
        and 0 < len(password) <= MAX_PASSWORD_LENGTH
    )
    user = store.get_user(username=username) if ok_input else None
    if user is None:
        verify_password(_DUMMY_HASH, password or "x")  # same cost as a real check
        audit.info(
            "audit: login failed: unknown user %r from %s", username[:64], client_ip()
        )
        return None
    locked = user["locked_until"] is not None and user["locked_until"] > utcnow()
    valid = verify_password(user["password_hash"], password)
    if user["disabled"] or locked or not valid:
        if not locked and not user["disabled"]:
            state = store.record_login_failure(
                user["id"],
                settings.login_max_failures,
                dt.timedelta(minutes=settings.login_lockout_minutes),
            )
            if state["locked_until"] is not None:
                audit.warning("audit: account locked: %s", username)
        reason = (
            "disabled" if user["disabled"] else ("locked" if locked else "password")
        )
        audit.info(
            "audit: login failed: %s (%s) from %s", username, reason, client_ip()
        )
        return None
    updates: dict[str, Any] = {"failed_logins": 0, "locked_until": None}
    if _hasher.check_needs_rehash(user["password_hash"]):
        updates["password_hash"] = _hasher.hash(password)
    store.update_user(user["id"], **updates)
    start_session(user)
    audit.info("audit: login: %s from %s", username, client_ip())
    return user


@bp.post(LOGOUT_POST)
def logout() -> Response:
    """End the session on the server and go back to the login page."""
    end_session()
    return redirect(LOGIN_PATH, code=303)


# ----------------------------------------------------- navbar user menu
def role_pages(role: str | None) -> list[dict[str, Any]]:
    """Return registered pages restricted by `roles` that `role` may see."""
    pages = [
        p
        for p in dash.page_registry.values()
        if p.get("roles") and role in p["roles"] and p.get("nav", True)
    ]
    return sorted(pages, key=lambda p: p.get("order", 99))


@dash.callback(
    Output("nav-role-links", "children"),
    Output("nav-user", "children"),
    Input("nav-location", "pathname"),
)
def nav_user_menu(_pathname: str | None):
    """Show role-restricted page links and the user menu to a logged-in user."""
    import dash_bootstrap_components as dbc

    principal = current_principal()
    if principal is None:
        return [], []
    links = [
        dbc.NavItem(dbc.NavLink(p["name"], href=p["relative_path"], active="exact"))
        for p in role_pages(principal.role)
    ]
    menu = dbc.DropdownMenu(
        [
            dbc.DropdownMenuItem(f"Role: {principal.role}", header=True),
            dbc.DropdownMenuItem("Log out", id="nav-logout", n_clicks=0),
        ],
        label=principal.username,
        nav=True,
        align_end=True,
        id="nav-user-menu",
    )
    return links, [menu, dcc.Location(id="nav-auth-location", refresh=True)]


@dash.callback(
    Output("nav-auth-location", "href"),
    Input("nav-logout", "n_clicks"),
    prevent_initial_call=True,
)
def nav_logout(n_clicks: int | None):
    """End the session from the navbar and load the login page."""
    if not n_clicks:
        return no_update
    end_session()
    return LOGIN_PATH


def install_auth(app: dash.Dash, settings: Settings) -> SessionAuth:
    """Configure the session cookie, register login routes and the gatekeeper."""
    server = app.server
    server.config.update(
        SESSION_COOKIE_NAME=SESSION_COOKIE,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=settings.session_max_hours),
        SESSION_REFRESH_EACH_REQUEST=False,
    )
    server.register_blueprint(bp)
    auth = SessionAuth(app)
    server.extensions["tickstock_auth"] = auth
    return auth

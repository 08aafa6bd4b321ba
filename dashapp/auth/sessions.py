"""Login sessions and CSRF: who the request's cookie or bearer token belongs to.

A login creates a server-side session row (`auth_sessions`, keyed by the SHA-256
of a random id kept in Flask's signed cookie), so logout, disabling a user and
the idle / absolute timeouts take effect on the server, not only in the cookie.
Every state-changing request authenticated by the session cookie must carry the
session's CSRF token, as the `X-CSRFToken` header (Dash's renderer sends it from
the `_csrf_token` cookie on every callback) or a `csrf_token` form field.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
import threading
import time
from typing import Any

from flask import Response, current_app, g, has_request_context, request, session

from dashapp.auth.principal import TOUCH_SECONDS, Principal
from dashapp.auth.tokens import token_principal
from dashapp.settings import Settings
from dashapp.store import Store, utcnow

log = logging.getLogger(__name__)
audit = logging.getLogger("tickstock.audit")

SESSION_ID_BYTES = 32
CSRF_BYTES = 32
CSRF_COOKIE = "_csrf_token"
CSRF_HEADER = "X-CSRFToken"
CSRF_FIELD = "csrf_token"
SESSION_COOKIE = "tickstock_session"
# A live session's row is cached this long per process (a poll every second from
# many tabs would otherwise read it each time); a revocation, password, role or
# disable change made in this process clears the cache at once, one made in
# another worker applies within it.
SESSION_CACHE_SECONDS = 2.0

_session_cache: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}
_session_cache_lock = threading.Lock()


def app_store() -> Store:
    """Return the store of the app serving the request."""
    return current_app.extensions["tickstock_store"]


def app_settings() -> Settings:
    """Return the settings of the app serving the request."""
    return current_app.extensions["tickstock_settings"]


def _session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def session_principal() -> Principal | None:
    """Return the principal of the request's login session, enforcing timeouts."""
    session_id = session.get("sid")
    if not isinstance(session_id, str):
        return None
    store, settings = app_store(), app_settings()
    digest = _session_hash(session_id)
    row = _session_row(store, digest)
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
        _forget_session_row(store, digest)
        if row is not None and row["revoked_at"] is None:
            store.revoke_sessions(session_hash=digest)
            log.info("session of %s ended: %s", row["username"], problem)
        _forget_login()
        return None
    if (now - row["last_seen_at"]).total_seconds() > TOUCH_SECONDS:
        store.touch_session(digest)
        _forget_session_row(store, digest)
    user = {"email": row["username"], "username": row["username"]}
    user["groups"] = [row["role"]]
    if session.get("user") != user:
        session["user"] = user
    return Principal(row["user_id"], row["username"], row["role"], "session")


def clear_session_cache() -> None:
    """Forget cached session rows (after a revocation, role or password change)."""
    with _session_cache_lock:
        _session_cache.clear()


def _session_row(store: Store, digest: str) -> Any:
    """Return the stored session row, from the short per-process cache if fresh."""
    key = (store.url, digest)
    now = time.monotonic()
    with _session_cache_lock:
        hit = _session_cache.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    row = store.get_session(digest)
    if row is not None and row["revoked_at"] is None and not row["disabled"]:
        with _session_cache_lock:
            _session_cache[key] = (now + SESSION_CACHE_SECONDS, dict(row))
    return row


def _forget_session_row(store: Store, digest: str) -> None:
    with _session_cache_lock:
        _session_cache.pop((store.url, digest), None)


def _forget_login() -> None:
    session.pop("sid", None)
    session.pop("user", None)


def start_session(user: dict[str, Any]) -> None:
    """Rotate the Flask session and bind it to a new server-side login session."""
    old = session.get("sid")
    if isinstance(old, str):
        app_store().revoke_sessions(session_hash=_session_hash(old))
        clear_session_cache()
    session.clear()
    session_id = secrets.token_urlsafe(SESSION_ID_BYTES)
    store = app_store()
    # Sessions past the absolute timeout are dead whatever their state: drop them.
    store.prune_sessions(
        utcnow() - dt.timedelta(hours=app_settings().session_max_hours)
    )
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
        app_store().revoke_sessions(session_hash=_session_hash(session_id))
        clear_session_cache()
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
        return token_principal(app_store(), value.strip())
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
            secure=app_settings().secure_cookies,
            httponly=False,  # Dash's renderer reads it to send X-CSRFToken
            samesite="Lax",
            path="/",
        )
    return response

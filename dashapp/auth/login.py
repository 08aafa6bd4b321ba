"""The login and logout routes, credential checks with lockout, and `install_auth`."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from urllib.parse import quote

import dash
from flask import Blueprint, Response, redirect, request

from dashapp.auth.gate import (
    LOGIN_PATH,
    LOGIN_POST,
    LOGOUT_POST,
    SessionAuth,
    safe_next,
)
from dashapp.auth.passwords import (
    MAX_PASSWORD_LENGTH,
    rehash_if_outdated,
    verify_for_timing,
    verify_password,
)
from dashapp.auth.sessions import (
    SESSION_COOKIE,
    app_settings,
    app_store,
    client_ip,
    end_session,
    start_session,
)
from dashapp.auth.users import USERNAME_RE
from dashapp.settings import Settings
from dashapp.store import utcnow

audit = logging.getLogger("tickstock.audit")

LOGIN_FAILED = "Login failed: wrong username or password, or the account is locked."

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
    store, settings = app_store(), app_settings()
    ok_input = (
        isinstance(username, str)
        and USERNAME_RE.fullmatch(username)
        and isinstance(password, str)
        and 0 < len(password) <= MAX_PASSWORD_LENGTH
    )
    user = store.get_user(username=username) if ok_input else None
    if user is None:
        verify_for_timing(password or "x")  # same cost as a real check
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
    rehashed = rehash_if_outdated(user["password_hash"], password)
    if rehashed is not None:
        updates["password_hash"] = rehashed
    store.update_user(user["id"], **updates)
    start_session(user)
    audit.info("audit: login: %s from %s", username, client_ip())
    return user


@bp.post(LOGOUT_POST)
def logout() -> Response:
    """End the session on the server and go back to the login page."""
    end_session()
    return redirect(LOGIN_PATH, code=303)


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

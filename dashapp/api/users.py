"""Users: `/admin/users` (list, create, update) and `/me`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from dashapp import auth
from dashapp.api.blueprint import current_actor, endpoint
from dashapp.api.params import STR
from dashapp.api.responses import json_response
from dashapp.api.spec import ApiError, Param
from dashapp.market.context import current_store

log = logging.getLogger(__package__)
USER = {
    "type": "object",
    "required": ["id", "username", "role", "disabled"],
    "properties": {
        "id": {"type": "integer"},
        "username": {"type": "string"},
        "role": {"type": "string", "enum": ["admin", "user"]},
        "disabled": {"type": "boolean"},
        "failed_logins": {"type": "integer"},
        "locked_until": STR,
        "created_at": STR,
    },
}


def _user_json(user: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in user.items() if k != "password_hash"}
    for key in ("locked_until", "created_at"):
        value = out.get(key)
        out[key] = value.isoformat() if value is not None else None
    return out


def auth_call(func: Callable[..., Any], *args: Any) -> Any:
    """Call an auth function; answer its refusals as 404, 409 or 422."""
    try:
        return func(*args)
    except auth.PasswordRejected as exc:
        raise ApiError(422, "weak_password", str(exc)) from None
    except auth.AuthError as exc:
        message = str(exc)
        if message.startswith("no user"):
            raise ApiError(404, "unknown_user", message) from None
        if "already exists" in message:
            raise ApiError(409, "conflict", message) from None
        raise ApiError(422, "rejected", message) from None


P_USERNAME = Param(
    "username",
    "string",
    "User name.",
    required=True,
    max_length=64,
    pattern=auth.USERNAME_RE.pattern,
)


@endpoint(
    "/admin/users",
    "List users.",
    admin=True,
    tag="admin",
    response={
        "type": "object",
        "properties": {"users": {"type": "array", "items": USER}},
    },
)
def admin_users():
    """Return every user (no password hashes)."""
    return {"users": [_user_json(u) for u in current_store().list_users()]}


@endpoint(
    "/admin/users",
    "Create a user.",
    methods=("POST",),
    admin=True,
    tag="admin",
    body=(
        P_USERNAME,
        Param(
            "password",
            "string",
            "At least 12 characters, not a common password.",
            required=True,
            max_length=auth.MAX_PASSWORD_LENGTH,
        ),
        Param("role", "enum", "Role.", default="user", choices=("admin", "user")),
    ),
    response=USER,
    statuses=(201, 409, 415, 422),
)
def admin_create_user(username: str, password: str, role: str):
    """Create a user with a checked password."""
    store = current_store()
    auth_call(auth.create_user, store, username, password, role)
    log.info("audit: %s created user %s", current_actor(), username)
    return json_response(_user_json(store.get_user(username=username)), status=201)


@endpoint(
    "/admin/users/<username>",
    "Change a user's role, disable/enable, reset password.",
    methods=("PATCH",),
    admin=True,
    tag="admin",
    params=(replace(P_USERNAME, location="path"),),
    body=(
        Param("role", "enum", "New role.", choices=("admin", "user")),
        Param("disabled", "boolean", "Disable (true) or enable (false)."),
        Param(
            "password", "string", "New password.", max_length=auth.MAX_PASSWORD_LENGTH
        ),
    ),
    response=USER,
    statuses=(404, 415, 422),
)
def admin_update_user(username: str, role, disabled, password):
    """Apply the given changes to one user."""
    store = current_store()
    auth_call(auth.require_user, store, username)
    if password is not None:
        auth_call(auth.set_password, store, username, password)
    if role is not None:
        auth_call(auth.set_role, store, username, role)
    if disabled is not None:
        auth_call(auth.set_disabled, store, username, disabled)
    log.info("audit: %s updated user %s", current_actor(), username)
    return _user_json(store.get_user(username=username))


@endpoint(
    "/me",
    "Who you are (user, role, authentication method).",
    tag="auth",
    response={
        "type": "object",
        "required": ["username", "role", "via"],
        "properties": {
            "username": {"type": "string"},
            "role": {"type": "string"},
            "via": {"type": "string"},
        },
    },
)
def me():
    """Return the authenticated principal."""
    principal = auth.current_principal()
    return {
        "username": principal.username,
        "role": principal.role,
        "via": principal.via,
    }

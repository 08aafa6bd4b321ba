"""API tokens: `/admin/tokens` (list, issue) and `/admin/tokens/<id>` (revoke)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from dashapp import auth
from dashapp.api.blueprint import current_actor, endpoint
from dashapp.api.params import STR
from dashapp.api.responses import json_response
from dashapp.api.spec import ApiError, Param
from dashapp.api.users import auth_call
from dashapp.market.context import current_store

log = logging.getLogger(__package__)
TOKEN = {
    "type": "object",
    "required": ["id", "name", "user"],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "user": {"type": "string"},
        "created_at": STR,
        "last_used_at": STR,
        "revoked_at": STR,
    },
}


def _token_json(token: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in token.items()
    }


@endpoint(
    "/admin/tokens",
    "List API tokens (never the tokens themselves).",
    admin=True,
    tag="admin",
    response={
        "type": "object",
        "properties": {"tokens": {"type": "array", "items": TOKEN}},
    },
)
def admin_tokens():
    """Return every API token's metadata."""
    return {"tokens": [_token_json(t) for t in current_store().list_tokens()]}


@endpoint(
    "/admin/tokens",
    "Issue an API token (shown once).",
    methods=("POST",),
    admin=True,
    tag="admin",
    body=(
        Param(
            "name",
            "string",
            "Label.",
            required=True,
            max_length=64,
            pattern=auth.TOKEN_NAME_RE.pattern,
        ),
        Param(
            "user",
            "string",
            "Owner (default: you).",
            max_length=64,
            pattern=auth.USERNAME_RE.pattern,
        ),
    ),
    response={
        "type": "object",
        "required": ["id", "token"],
        "properties": {"id": {"type": "integer"}, "token": {"type": "string"}},
    },
    statuses=(201, 404, 415, 422),
)
def admin_issue_token(name: str, user: str | None):
    """Create a token for a user; the response is the only time it is shown."""
    owner = user or current_actor()
    token_id, token = auth_call(auth.issue_token, current_store(), owner, name)
    log.info("audit: %s issued token #%s for %s", current_actor(), token_id, owner)
    return json_response({"id": token_id, "token": token, "user": owner}, status=201)


@endpoint(
    "/admin/tokens/<int:token_id>",
    "Revoke an API token.",
    methods=("DELETE",),
    admin=True,
    tag="admin",
    params=(
        Param(
            "token_id",
            "integer",
            "Token id.",
            required=True,
            minimum=1,
            maximum=2**31 - 1,
            location="path",
        ),
    ),
    response={"type": "object", "properties": {"revoked": {"type": "integer"}}},
    statuses=(404,),
)
def admin_revoke_token(token_id: int):
    """Revoke a token by id."""
    if not auth.revoke_token(current_store(), token_id):
        raise ApiError(404, "unknown_token", f"no token #{token_id}")
    log.info("audit: %s revoked token #%s", current_actor(), token_id)
    return {"revoked": token_id}

"""Watchlists: `/watchlists` (list, create) and `/watchlists/<name>` (put, delete).

Every watchlist belongs to the calling user: nobody (admins included) sees or
changes another user's lists here. Names are case-insensitive (stored lower
case) and usable as `universe=watchlist:NAME` wherever a universe is accepted.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from flask import request

from dashapp import auth
from dashapp.api.blueprint import current_actor, endpoint
from dashapp.api.params import STR
from dashapp.api.responses import json_response
from dashapp.api.spec import ApiError, Param
from dashapp.market.context import current_store

log = logging.getLogger(__package__)
NAME_PATTERN = r"^[A-Za-z0-9_\-]{1,64}$"
MAX_WATCHLISTS = 100
MAX_SYMBOLS = 1_000
WATCHLIST = {
    "type": "object",
    "required": ["name", "symbols", "count"],
    "properties": {
        "name": {"type": "string"},
        "symbols": {"type": "array", "items": {"type": "string"}},
        "count": {"type": "integer"},
        "universe": {"type": "string"},
        "created_at": STR,
        "updated_at": STR,
    },
}
P_NAME = Param("name", "string", "Watchlist name.", required=True, pattern=NAME_PATTERN)
P_SYMBOLS = Param(
    "symbols", "string_list", "Tickers.", required=True, max_items=MAX_SYMBOLS
)


def user_id() -> int:
    """Return the calling user's id (every view here runs authenticated)."""
    return auth.current_principal().user_id


def check_known(symbols: Sequence[str]) -> None:
    """Answer 422 when a ticker is neither a known symbol nor has daily bars."""
    if not symbols:
        return
    store = current_store()
    known = set(store.symbols_frame(list(symbols))["symbol"])
    missing = sorted(set(symbols) - known)
    if missing:
        missing = sorted(set(missing) - set(store.latest_daily(missing)["symbol"]))
    if missing:
        raise ApiError(
            422,
            "unknown_symbol",
            f"unknown symbol(s): {', '.join(missing[:10])}",
            symbols=missing[:50],
        )


def _json(item: dict[str, Any]) -> dict[str, Any]:
    out = dict(item)
    out["universe"] = f"watchlist:{item['name']}"
    for key in ("created_at", "updated_at"):
        out[key] = out[key].isoformat() if out.get(key) is not None else None
    return out


@endpoint(
    "/watchlists",
    "Your watchlists with their symbols.",
    tag="watchlists",
    response={
        "type": "object",
        "required": ["count", "rows"],
        "properties": {
            "count": {"type": "integer"},
            "rows": {"type": "array", "items": WATCHLIST},
        },
    },
)
def list_watchlists():
    """Return the caller's watchlists."""
    rows = [_json(w) for w in current_store().list_watchlists(user_id())]
    return {"count": len(rows), "rows": rows}


@endpoint(
    "/watchlists",
    "Create a watchlist.",
    methods=("POST",),
    tag="watchlists",
    body=(P_NAME, P_SYMBOLS),
    response=WATCHLIST,
    statuses=(201, 409, 415, 422),
)
def create_watchlist(name: str, symbols: list[str]):
    """Create a watchlist (409 when the name is taken)."""
    store, key = current_store(), name.lower()
    if store.get_watchlist(user_id(), key) is not None:
        raise ApiError(409, "conflict", f"watchlist {key!r} already exists")
    if len(store.list_watchlists(user_id())) >= MAX_WATCHLISTS:
        raise ApiError(422, "too_many", f"at most {MAX_WATCHLISTS} watchlists")
    check_known(symbols)
    item, _created = store.put_watchlist(user_id(), key, symbols)
    log.info("audit: %s created watchlist %s", current_actor(), key)
    return json_response(_json(item), status=201)


P_PATH_NAME = Param(
    "name", "string", "Watchlist name.", True, pattern=NAME_PATTERN, location="path"
)


@endpoint(
    "/watchlists/<name>",
    "Create or replace a watchlist; a body `name` other than the path renames it.",
    methods=("PUT",),
    tag="watchlists",
    params=(P_PATH_NAME,),
    body=(P_SYMBOLS, Param("name", "string", "New name.", pattern=NAME_PATTERN)),
    response=WATCHLIST,
    statuses=(409, 415, 422),
)
def put_watchlist(name: str | None, symbols: list[str]):
    """Create or replace (or rename) a watchlist."""
    # The body's `name` shadows the path's in the keyword arguments.
    store, uid = current_store(), user_id()
    key = str(request.view_args["name"]).lower()
    target = (name or key).lower()
    if target != key and store.get_watchlist(uid, target) is not None:
        raise ApiError(409, "conflict", f"watchlist {target!r} already exists")
    existing = store.get_watchlist(uid, key)
    if existing is None and len(store.list_watchlists(uid)) >= MAX_WATCHLISTS:
        raise ApiError(422, "too_many", f"at most {MAX_WATCHLISTS} watchlists")
    check_known(symbols)
    item, _created = store.put_watchlist(uid, target, symbols)
    if target != key and existing is not None:
        store.delete_watchlist(uid, key)
    log.info("audit: %s set watchlist %s", current_actor(), target)
    return _json(item)


@endpoint(
    "/watchlists/<name>",
    "Delete a watchlist.",
    methods=("DELETE",),
    tag="watchlists",
    params=(P_PATH_NAME,),
    response={"type": "object", "properties": {"deleted": {"type": "string"}}},
    statuses=(404,),
)
def delete_watchlist(name: str):
    """Delete one of the caller's watchlists."""
    key = name.lower()
    if not current_store().delete_watchlist(user_id(), key):
        raise ApiError(404, "unknown_watchlist", f"no watchlist {key!r}")
    log.info("audit: %s deleted watchlist %s", current_actor(), key)
    return {"deleted": key}

"""Universes: `/universes` (list) and `/admin/universes/<name>` (put, delete)."""

from __future__ import annotations

import logging

from dashapp.api.blueprint import current_actor, endpoint
from dashapp.api.params import table_schema
from dashapp.api.responses import csv_response, records
from dashapp.api.spec import ApiError, Param
from dashapp.market.context import current_store
from dashapp.store import StoreError

log = logging.getLogger(__package__)
P_UNIVERSE_NAME = Param(
    "name",
    "string",
    "Universe name.",
    required=True,
    max_length=64,
    pattern=r"^[A-Za-z0-9_\-]{1,64}$",
    location="path",
)


@endpoint(
    "/universes",
    "Universes with member counts and how many members have daily data.",
    response=table_schema(),
    tabular=True,
    cached=True,
)
def universes(format: str):  # noqa: A002
    """Return every universe."""
    frame = current_store().list_universes()
    if len(frame):
        frame["builtin"] = frame["builtin"].astype(bool)
    if format == "csv":
        return csv_response(frame, "universes")
    return {"count": len(frame), "rows": records(frame)}


@endpoint(
    "/admin/universes/<name>",
    "Create or replace a user-defined universe.",
    methods=("PUT",),
    admin=True,
    tag="admin",
    params=(P_UNIVERSE_NAME,),
    body=(
        Param("symbols", "string_list", "Member tickers.", required=True),
        Param("label", "string", "Description.", max_length=200, pattern=r"^[^\x00]*$"),
    ),
    response={
        "type": "object",
        "properties": {"name": {"type": "string"}, "members": {"type": "integer"}},
    },
    statuses=(409, 415),
)
def admin_put_universe(name: str, symbols: list[str], label: str | None):
    """Create or replace a universe with exactly these members."""
    store = current_store()
    key = name.lower()
    existing = store.list_universes()
    builtin = existing[(existing["name"] == key) & existing["builtin"].astype(bool)]
    if len(builtin):
        raise ApiError(409, "builtin_universe", f"universe {key!r} is built in")
    count = store.set_universe(key, symbols, label=label)
    log.info("audit: %s set universe %s (%s members)", current_actor(), key, count)
    return {"name": key, "members": count}


@endpoint(
    "/admin/universes/<name>",
    "Delete a user-defined universe.",
    methods=("DELETE",),
    admin=True,
    tag="admin",
    params=(P_UNIVERSE_NAME,),
    response={"type": "object", "properties": {"deleted": {"type": "string"}}},
    statuses=(404, 409),
)
def admin_delete_universe(name: str):
    """Delete a universe that is not built in."""
    try:
        found = current_store().delete_universe(name)
    except StoreError as exc:
        raise ApiError(409, "builtin_universe", str(exc)) from None
    if not found:
        raise ApiError(404, "unknown_universe", f"no universe {name.lower()!r}")
    log.info("audit: %s deleted universe %s", current_actor(), name.lower())
    return {"deleted": name.lower()}

"""Screener: `/screener` (filter the field table) and the user's saved `/screens`.

`where=FIELD OP VALUE` is repeatable and ANDed. Fields and operators are those
of `analytics.screener`; an unknown one is a 400 naming the allowed ones.
Saved screens belong to the calling user only (admins included).
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from analytics.screener import (
    FIELDS,
    NUMERIC_OPS,
    TEXT_FIELDS,
    TEXT_OPS,
    Condition,
    apply_conditions,
    sort_rows,
)
from dashapp.api.blueprint import current_actor, endpoint
from dashapp.api.market import STATE_META, _state, _state_meta
from dashapp.api.params import MAX_ROWS, P_AS_OF, P_UNIVERSE, STR, table_schema
from dashapp.api.responses import csv_response, json_response, records
from dashapp.api.spec import ApiError, Param
from dashapp.market.context import current_store
from dashapp.market.screen_query import (
    CONDITION_PATTERN,
    MAX_CONDITIONS,
    MAX_TEXT_VALUE,
    ScreenerError,
    parse_condition,
)
from dashapp.market.screener import (
    SCREEN_NAME_PATTERN,
    ScreenLimitError,
    delete_my_screen,
    my_screens,
    save_my_screen,
)
from dashapp.market.screener import screener as screen

log = logging.getLogger(__package__)
DEFAULT_SORT = "rs_rating"
CONDITION_MAX_LENGTH = 32 + MAX_TEXT_VALUE


def _condition(raw: str) -> Condition:
    try:
        return parse_condition(raw)
    except ScreenerError as exc:
        raise ApiError(
            400, exc.code, str(exc), parameter="where", **exc.details
        ) from None


WHERE_HELP = (
    "`FIELD OP VALUE`, repeatable (ANDed). Fields: "
    + ", ".join(FIELDS)
    + f". Operators: {' '.join(NUMERIC_OPS)} (text fields {', '.join(TEXT_FIELDS)}: "
    + f"{' '.join(TEXT_OPS)}, case-insensitive). Returns ret_* are fractions; "
    "*_pct and pct_* are percent."
)
P_WHERE = Param(
    "where",
    "text_list",
    WHERE_HELP,
    max_length=CONDITION_MAX_LENGTH,
    pattern=CONDITION_PATTERN,
    max_items=MAX_CONDITIONS,
    parse=_condition,
)
P_SORT = Param("sort", "enum", "Sort field.", default=DEFAULT_SORT, choices=FIELDS)
P_ORDER = Param("order", "enum", "Sort order.", default="desc", choices=("asc", "desc"))
P_LIMIT = Param(
    "limit", "integer", "Maximum rows.", default=MAX_ROWS, minimum=1, maximum=MAX_ROWS
)
ROW_SCHEMA = {"type": "object", "additionalProperties": True}


@endpoint(
    "/screener",
    "Screen a universe: rows meeting every `where` condition, sorted.",
    params=(P_UNIVERSE, P_AS_OF, P_WHERE, P_SORT, P_ORDER, P_LIMIT),
    response=table_schema(
        ROW_SCHEMA,
        **STATE_META,
        total={"type": "integer"},
        screened={"type": "integer"},
        where={"type": "array", "items": {"type": "string"}},
        fields={"type": "array", "items": {"type": "string"}},
    ),
    tabular=True,
    cached=True,
    statuses=(404, 422, 503),
)
def screener(universe, as_of, where, sort, order, limit, format):  # noqa: A002
    """Return the symbols of a universe that meet every condition."""
    state = _state(universe, as_of)  # the API's 404 / 422 / 503 answers
    try:
        state, table = screen(universe, None if as_of == "now" else as_of)
    except Exception as exc:
        from dashapp.ops.failsoft import note_db_error

        if note_db_error(exc):
            raise
        log.exception("screener failed for %s at %s", universe, as_of)
        raise ApiError(
            503, "analytics_unavailable", "the screener could not be computed"
        ) from None
    _check_text_values(table, where)
    rows = sort_rows(apply_conditions(table, where), sort, order)
    total = len(rows)
    rows = rows.head(limit)
    if format == "csv":
        return csv_response(rows.reindex(columns=list(FIELDS)), "screener")
    return {
        **_state_meta(state),
        "screened": len(table),
        "where": [c.text() for c in where],
        "fields": list(FIELDS),
        "total": total,
        "count": len(rows),
        "rows": records(rows),
    }


def _check_text_values(table: pd.DataFrame, where: list[Condition]) -> None:
    """Refuse a sector or industry that the universe and reference data do not know."""
    from dashapp.store.reference import sp500

    reference = sp500()
    for cond in where:
        if cond.field not in ("sector", "industry"):
            continue
        column = "sub_industry" if cond.field == "industry" else "sector"
        known = set(table[cond.field].dropna()) if len(table) else set()
        if column in reference:
            known |= set(reference[column].dropna())
        if cond.value.lower() not in {str(k).lower() for k in known}:
            raise ApiError(
                400,
                "invalid_value",
                f"no GICS {cond.field} {cond.value!r}",
                parameter="where",
                field=cond.field,
                allowed=sorted(str(k) for k in known),
            )


# ------------------------------------------------------------ saved screens
BOOL = {"type": "boolean"}
SCREEN = {
    "type": "object",
    "required": ["id", "name", "definition"],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "definition": {"type": "object"},
        "created_at": STR,
    },
}
DEFINITION_FIELDS = (
    P_WHERE,
    Param("sort", "enum", "Sort field.", choices=FIELDS),
    Param("order", "enum", "Sort order.", choices=("asc", "desc")),
    Param("limit", "integer", "Maximum rows.", minimum=1, maximum=MAX_ROWS),
    Param("universe", "universe", "Universe the screen was built on."),
)


def _definition_json(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"where": [c.text() for c in values.get("where") or []]}
    out.update({k: v for k, v in values.items() if k != "where" and v is not None})
    return out


@endpoint(
    "/screens",
    "List your saved screens.",
    response={
        "type": "object",
        "required": ["screens"],
        "properties": {"screens": {"type": "array", "items": SCREEN}},
    },
)
def list_screens():
    """Return the calling user's saved screens."""
    return {"screens": my_screens(current_store())}


@endpoint(
    "/screens",
    "Save a screen (a screen with the same name of yours is replaced).",
    methods=("POST",),
    body=(
        Param(
            "name",
            "string",
            "Screen name.",
            required=True,
            max_length=64,
            pattern=SCREEN_NAME_PATTERN,
        ),
        Param(
            "definition",
            "object",
            "`where` conditions (as for /api/screener), sort, order, limit, universe.",
            required=True,
            fields=DEFINITION_FIELDS,
        ),
    ),
    response={
        **SCREEN,
        "properties": {**SCREEN["properties"], "replaced": {"type": "boolean"}},
    },
    statuses=(201, 409),
)
def save_screen(name: str, definition: dict[str, Any]):
    """Create or replace one of your screens by name."""
    try:
        screen, replaced = save_my_screen(
            current_store(), name.strip(), _definition_json(definition)
        )
    except ScreenLimitError as exc:
        raise ApiError(409, "too_many_screens", str(exc)) from None
    log.info("audit: %s saved screen %r", current_actor(), name)
    return json_response({**screen, "replaced": replaced}, status=201)


@endpoint(
    "/screens/<int:screen_id>",
    "Delete one of your saved screens.",
    methods=("DELETE",),
    params=(
        Param(
            "screen_id",
            "integer",
            "Screen id.",
            required=True,
            minimum=1,
            maximum=2**31 - 1,
            location="path",
        ),
    ),
    response={"type": "object", "properties": {"deleted": {"type": "integer"}}},
    statuses=(404,),
)
def delete_screen(screen_id: int):
    """Delete a screen of yours (404 for anyone else's)."""
    if not delete_my_screen(current_store(), screen_id):
        raise ApiError(404, "unknown_screen", f"you have no screen #{screen_id}")
    return {"deleted": screen_id}

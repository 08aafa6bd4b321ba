"""Shared request parameters, limits and JSON-schema pieces of the REST API."""

from __future__ import annotations

from typing import Any

from dashapp.api.spec import Param

MAX_ROWS = 1_000
DEFAULT_UNIVERSE = "sp500"

# ------------------------------------------------------------ shared params
P_FORMAT = Param(
    "format", "enum", "Response format.", default="json", choices=("json", "csv")
)
P_UNIVERSE = Param(
    "universe",
    "universe",
    "Universe name (case-insensitive; `a+b` = union; `watchlist:NAME` = yours).",
    default=DEFAULT_UNIVERSE,
)
P_AS_OF = Param(
    "as_of",
    "as_of",
    "`now`, a session `YYYY-MM-DD`, or a minute `YYYY-MM-DDTHH:MM` (New York time "
    "unless an offset such as `Z` or `-04:00` follows).",
    default="now",
)
P_LIMIT_ROWS = Param(
    "limit", "integer", "Maximum rows.", default=MAX_ROWS, minimum=1, maximum=MAX_ROWS
)
P_STAGE = Param(
    "stage", "integer", "Only this Weinstein stage (1-4).", minimum=1, maximum=4
)

# ------------------------------------------------------------ JSON schemas
NUM = {"type": "number", "nullable": True}
STR = {"type": "string", "nullable": True}
INT = {"type": "integer", "nullable": True}
ROW = {"type": "object", "additionalProperties": True}


def table_schema(row: dict[str, Any] = ROW, **extra: Any) -> dict[str, Any]:
    """Return the schema of a `{"count": n, "rows": [...]}` answer plus `extra`."""
    props = {"count": {"type": "integer"}, "rows": {"type": "array", "items": row}}
    props.update(extra)
    return {"type": "object", "required": ["count", "rows"], "properties": props}

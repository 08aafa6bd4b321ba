"""`/symbols`: search symbols by ticker prefix or name, optionally in a universe."""

from __future__ import annotations

from dataclasses import replace

from dashapp.api.blueprint import endpoint
from dashapp.api.params import P_LIMIT_ROWS, table_schema
from dashapp.api.responses import csv_response, records
from dashapp.api.spec import ApiError, Param
from dashapp.market.context import current_store
from dashapp.market.universe import universe_members


def _members(universe: str | None) -> list[str] | None:
    if universe is None:
        return None
    try:
        return universe_members(current_store(), universe)
    except KeyError as exc:
        raise ApiError(
            404, "unknown_universe", str(exc.args[0]), universe=universe
        ) from None


@endpoint(
    "/symbols",
    "Search symbols by ticker prefix or name, optionally within a universe.",
    params=(
        Param(
            "search",
            "string",
            "Ticker prefix or part of the name.",
            max_length=64,
            pattern=r"^[A-Za-z0-9 &,.'\-]*$",
        ),
        Param("universe", "universe", "Only members of this universe."),
        replace(P_LIMIT_ROWS, default=100),
    ),
    response=table_schema(),
    tabular=True,
    cached=True,
    statuses=(404,),
)
def symbols(search: str | None, universe: str | None, limit: int, format: str):  # noqa: A002
    """Return matching symbols with name, kind and GICS sector."""
    frame = current_store().search_symbols(search, _members(universe), limit)
    if format == "csv":
        return csv_response(frame, "symbols")
    return {"count": len(frame), "rows": records(frame)}

"""Breadth per GICS sector: `/api/breadth?sector=` and the sector x breadth table.

`/api/breadth?sector=Energy` answers the universe's breadth series restricted to
that sector's members (same columns, same windows); `/api/breadth/sectors` answers
one row per sector for the as-of session (% above SMA 20/50/200, new highs / lows,
advancers / decliners, member counts).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from flask import Response

from dashapp.api.blueprint import endpoint
from dashapp.api.export import EXPORT_COLUMNS
from dashapp.api.market_call import market_call
from dashapp.api.params import INT, NUM, P_AS_OF, P_UNIVERSE, table_schema
from dashapp.api.responses import csv_response, records
from dashapp.api.spec import ApiError, Param

SECTOR_PATTERN = r"^[A-Za-z &,.\-]{1,64}$"
P_SECTOR = Param(
    "sector",
    "string",
    "Only the members of this GICS sector of the universe (case-insensitive); an "
    "unknown sector is answered 400 with the allowed sectors.",
    max_length=64,
    pattern=SECTOR_PATTERN,
)
SECTOR_META = {
    "sector": {"type": "string"},
    "sector_members": {"type": "object"},
}
TABLE_ROW = {
    "type": "object",
    "properties": {
        "sector": {"type": "string"},
        "members": {"type": "integer"},
        "with_data": {"type": "integer"},
        "pct_above_sma20": NUM,
        "pct_above_sma50": NUM,
        "pct_above_sma200": NUM,
        "new_highs": INT,
        "new_lows": INT,
        "advancers": INT,
        "decliners": INT,
        "unchanged": INT,
    },
}


def _sector_breadth(universe: str, as_of: str):
    from dashapp.market.sector_breadth import sector_breadth

    return market_call(sector_breadth, universe, as_of, "the sector breadth")


def _member_counts(table: pd.DataFrame, sector: str) -> dict[str, Any]:
    row = table.loc[table["sector"] == sector]
    members = int(row["members"].iloc[0]) if len(row) else 0
    with_data = int(row["with_data"].iloc[0]) if len(row) else 0
    return {
        "members": members,
        "with_data": with_data,
        "label": f"{with_data} / {members} {sector} members with data",
    }


def sector_breadth_answer(
    state: Any, sector: str, days: int, fmt: str, meta: dict[str, Any]
) -> Response | dict[str, Any]:
    """Answer `/api/breadth?sector=`: the sector members' breadth series and panel."""
    from dashapp.market.sector_breadth import UnknownSector

    result = _sector_breadth(state.universe, state.as_of)
    try:
        name = result.resolve(sector)
    except UnknownSector as exc:
        raise ApiError(
            400,
            "unknown_sector",
            f"{exc}; allowed: {', '.join(exc.allowed) or 'none'}",
            parameter="sector",
            allowed=exc.allowed,
        ) from None
    frame = result.series[name].tail(days).rename_axis("date").reset_index()
    contract = list(EXPORT_COLUMNS["breadth"])
    if fmt == "csv":
        return csv_response(frame.reindex(columns=contract), "breadth")
    panel = result.panels.get(name, pd.DataFrame())
    return {
        **meta,
        "sector": name,
        "sector_members": _member_counts(result.table, name),
        "count": len(frame),
        "rows": records(frame),
        "panel": records(panel),
    }


@endpoint(
    "/breadth/sectors",
    "Sector x breadth table of a universe for the as-of session: % above SMA "
    "20/50/200, new highs / lows, advancers / decliners and member counts.",
    params=(P_UNIVERSE, P_AS_OF),
    response=table_schema(
        TABLE_ROW,
        universe={"type": "string"},
        as_of={"type": "string"},
        session={"type": "string", "nullable": True},
        data_version={"type": "string"},
        demo_data={"type": "boolean"},
    ),
    tabular=True,
    cached=True,
    statuses=(404, 422, 503),
)
def breadth_sectors(universe: str, as_of: str, format: str):  # noqa: A002
    """Return one row per sector of the universe for the as-of session."""
    from dashapp.market.context import current_store
    from dashapp.store.origin import fake_origins

    result = _sector_breadth(universe, as_of)
    table = result.table
    if format == "csv":
        return csv_response(table, "breadth-sectors")
    return {
        "universe": result.universe,
        "as_of": result.as_of,
        "session": result.session.isoformat() if result.session else None,
        "data_version": result.version,
        "demo_data": bool(fake_origins(current_store())),
        "count": len(table),
        "rows": records(table),
    }

"""Group ranks (`/groups`) and new 52-week highs and lows (`/new-highs`).

Both answer from the shared market state of a universe at an as-of, like the
other market endpoints (`universe`, `as_of`, `format=csv`, ETag caching).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from analytics.group_ranks import RANK_COLUMNS
from analytics.new_highs import LIST_COLUMNS, LISTS
from dashapp.api.blueprint import endpoint
from dashapp.api.market import STATE_META, _state, _state_meta
from dashapp.api.params import P_AS_OF, P_UNIVERSE, ROW, table_schema
from dashapp.api.responses import csv_response, records
from dashapp.api.spec import Param
from dashapp.market.groups import GROUP_BY, rank_groups
from dashapp.market.highs_lows import list_highs_lows

NEW_HIGH_RULE = (
    "new high: the session's high >= the max of the prior 251 sessions' highs; "
    "new low: the session's low <= the min of the prior 251 lows (all 251 present)"
)
GROUP_RULE = (
    "group score = mean RS score S of the members with one; rank 1 = highest "
    "(ties share the lowest rank); previous ranks: the same 5 / 21 sessions earlier"
)
OBJ = {"type": "object"}
ROWS = {"type": "array", "items": ROW}


@endpoint(
    "/groups",
    "Sector or GICS sub-industry ranks by the mean RS score of their members.",
    params=(
        P_UNIVERSE,
        P_AS_OF,
        Param(
            "by",
            "enum",
            "Group by GICS sector or sub-industry.",
            default="sector",
            choices=GROUP_BY,
        ),
    ),
    response=table_schema(**STATE_META, by={"type": "string"}, rule={"type": "string"}),
    tabular=True,
    cached=True,
    statuses=(404, 422, 503),
)
def groups(universe: str, as_of: str, by: str, format: str):  # noqa: A002
    """Return one row per group: rank, score, previous ranks, members, leaders."""
    state = _state(universe, as_of)
    view = rank_groups(state, by)
    table = view.table
    if format == "csv":
        flat = table.assign(top_members=table["top_members"].map(" ".join))
        return csv_response(flat.reindex(columns=RANK_COLUMNS), f"groups-{by}")
    return {
        **_state_meta(state),
        **view.meta(),
        "rule": GROUP_RULE,
        "count": len(table),
        "rows": records(table),
    }


@endpoint(
    "/new-highs",
    "Names at a new 52-week high or low in the as-of session (the breadth rule).",
    params=(P_UNIVERSE, P_AS_OF),
    response={
        "type": "object",
        "required": list(LISTS),
        "properties": {
            **STATE_META,
            "new_highs": ROWS,
            "new_lows": ROWS,
            "counts": OBJ,
            "rule": {"type": "string"},
        },
    },
    tabular=True,
    cached=True,
    statuses=(404, 422, 503),
)
def new_highs(universe: str, as_of: str, format: str) -> Any:  # noqa: A002
    """Return the new 52-week highs and lows with close, change and RS rating."""
    state = _state(universe, as_of)
    found = list_highs_lows(state, as_of)
    if format == "csv":
        parts = [
            found.lists[name].reindex(columns=LIST_COLUMNS).assign(list=name)
            for name in LISTS
        ]
        table = pd.concat(parts, ignore_index=True)
        return csv_response(table[["list", *LIST_COLUMNS]], "new-highs")
    return {
        **_state_meta(state),
        "rule": NEW_HIGH_RULE,
        "counts": found.counts(),
        **{name: records(found.lists[name]) for name in LISTS},
    }

"""Market-state endpoints: summary, rankings, sector rotation, stages, breadth.

Each answers from the shared market state (`dashapp.market`) of a universe at
an as-of; the tables follow the export contract of `dashapp.api.export`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pandas as pd
from flask import Response

from dashapp.api.blueprint import endpoint
from dashapp.api.export import EXPORT_COLUMNS, export_frame
from dashapp.api.market_call import market_call
from dashapp.api.params import (
    DEFAULT_UNIVERSE,
    P_AS_OF,
    P_LIMIT_ROWS,
    P_STAGE,
    P_UNIVERSE,
    ROW,
    STR,
    table_schema,
)
from dashapp.api.responses import csv_response, records
from dashapp.api.sector_breadth import P_SECTOR, SECTOR_META, sector_breadth_answer
from dashapp.api.spec import ApiError, Param
from dashapp.market.context import current_store
from dashapp.market.counts import counted_meta, rotation_missing

RANKING_SORTS = (
    "rs_rating",
    "rs_score",
    "ret_1d",
    "ret_5d",
    "ret_21d",
    "ret_63d",
    "ret_126d",
    "ret_252d",
    "ret_ytd",
    "symbol",
    "sector",
    "stage",
)
SECTOR_PATTERN = r"^[A-Za-z &,.\-]{1,64}$"
STATE_META = {
    "universe": {"type": "string"},
    "as_of": {"type": "string"},
    "session": STR,
    "data_version": {"type": "string"},
    "demo_data": {"type": "boolean"},
    "session_closed": {"type": "boolean"},
    "excluded": {"type": "integer"},
    "rs_universe": {"type": "object"},
    "members": {"type": "object"},
}


def _state(universe: str, as_of: str):
    from dashapp.market import market_state

    return market_call(market_state, universe, as_of, "the market state")


def _state_meta(state) -> dict[str, Any]:
    return {
        "universe": state.universe,
        "as_of": state.as_of,
        "session": state.session.isoformat() if state.session else None,
        "data_version": state.version,
        "demo_data": bool(state.demo),
        "session_closed": bool(getattr(state, "closed", True)),
        "excluded": int(len(state.excluded)),
        **counted_meta(state),
    }


def _table(state, kind: str) -> tuple[pd.DataFrame, list[str]]:
    """Return (contract columns + extra columns, the contract column names)."""

    contract = export_frame(state, kind)
    frame = getattr(state, kind)
    frame = pd.DataFrame() if frame is None else frame
    key = "date" if kind == "breadth" else "symbol"
    if key not in frame.columns and len(frame):
        frame = frame.rename_axis(frame.index.name or key).reset_index()
    extras = frame[[c for c in frame.columns if c not in EXPORT_COLUMNS[kind]]]
    if len(extras) == len(contract) and len(extras.columns):
        contract = pd.concat([contract, extras.reset_index(drop=True)], axis=1)
    return contract, list(EXPORT_COLUMNS[kind])


def _tabular(
    frame: pd.DataFrame, contract: list[str], fmt: str, name: str, meta: dict[str, Any]
) -> Response | dict[str, Any]:
    if fmt == "csv":
        return csv_response(frame.reindex(columns=contract), name)
    return {**meta, "count": len(frame), "rows": records(frame)}


@endpoint(
    "/market-state",
    "Headline market state of a universe (breadth, stage counts, exclusions).",
    params=(P_UNIVERSE, P_AS_OF),
    response={"type": "object", "properties": STATE_META, "required": ["universe"]},
    cached=True,
    statuses=(404, 422, 503),
)
def market_state_summary(universe: str, as_of: str):
    """Return the summary of the market state."""
    state = _state(universe, as_of)
    summary = {**state.summary(), **counted_meta(state)}
    summary["excluded_symbols"] = records(state.excluded)
    return summary


@endpoint(
    "/rankings",
    "RS rankings (IBD-style rating 1-99) with returns and stage.",
    params=(
        P_UNIVERSE,
        P_AS_OF,
        Param(
            "sector",
            "string",
            "Only this GICS sector.",
            max_length=64,
            pattern=SECTOR_PATTERN,
        ),
        P_STAGE,
        Param(
            "sort", "enum", "Sort column.", default="rs_rating", choices=RANKING_SORTS
        ),
        Param("order", "enum", "Sort order.", default="desc", choices=("asc", "desc")),
        replace(P_LIMIT_ROWS, default=100),
    ),
    response=table_schema(**STATE_META, total={"type": "integer"}),
    tabular=True,
    cached=True,
    statuses=(404, 422, 503),
)
def rankings(universe, as_of, sector, stage, sort, order, limit, format):  # noqa: A002
    """Return the ranking table, filtered and sorted."""
    state = _state(universe, as_of)
    frame, contract = _table(state, "rankings")
    if sector is not None:
        known = (
            {s.lower(): s for s in frame["sector"].dropna().unique()}
            if len(frame)
            else {}
        )
        from dashapp.store.reference import sp500

        known.update({s.lower(): s for s in sp500()["sector"].unique()})
        if sector.lower() not in known:
            raise ApiError(
                404,
                "unknown_sector",
                f"no GICS sector {sector!r}",
                allowed=sorted(known.values()),
            )
        frame = frame[frame["sector"].str.lower() == sector.lower()]
    if stage is not None:
        frame = frame[frame["stage"] == stage]
    total = len(frame)
    if sort in frame.columns and len(frame):
        frame = frame.sort_values(
            sort, ascending=order == "asc", na_position="last", kind="stable"
        )
    frame = frame.head(limit)
    return _tabular(
        frame, contract, format, "rankings", {**_state_meta(state), "total": total}
    )


@endpoint(
    "/sectors/rotation",
    "Relative rotation (RRG) of the 11 sector ETFs vs SPY, with tails.",
    params=(
        Param(
            "period",
            "enum",
            "Bar period.",
            default="weekly",
            choices=("weekly", "daily"),
        ),
        Param(
            "tail",
            "integer",
            "Points per symbol (newest).",
            default=8,
            minimum=1,
            maximum=52,
        ),
        P_AS_OF,
    ),
    response=table_schema(
        **STATE_META,
        period={"type": "string"},
        missing={"type": "array", "items": {"type": "object"}},
    ),
    tabular=True,
    cached=True,
    statuses=(422, 503),
)
def rotation(period: str, tail: int, as_of: str, format: str):  # noqa: A002
    """Return RRG points (rs_ratio, rs_momentum, quadrant) per sector ETF."""
    state = _state(DEFAULT_UNIVERSE, as_of)
    frame, contract = _table(state, "rotation")
    if period == "daily":
        frame = _daily_rotation(state)
    if len(frame) and "date" in frame.columns:
        frame = frame.sort_values(["symbol", "date"]).groupby("symbol").tail(tail)
    meta = {**_state_meta(state), "period": period}
    meta["missing"] = rotation_missing(current_store(), frame, state.session, period)
    return _tabular(frame.reset_index(drop=True), contract, format, "rotation", meta)


def _daily_rotation(state) -> pd.DataFrame:
    """Compute the daily RRG of the sector ETFs with the shared analytics."""
    from analytics.rrg import rrg
    from dashapp.store.reference import BENCHMARK, sector_etfs

    etfs = list(sector_etfs()["symbol"])
    end = state.session
    start = None if end is None else end - dt.timedelta(days=200)
    bars = current_store().read_daily([*etfs, BENCHMARK], start=start, end=end)
    if bars.empty:
        return pd.DataFrame(
            columns=["symbol", "date", "rs_ratio", "rs_momentum", "quadrant"]
        )
    close = bars.pivot(index="date", columns="symbol", values="close").sort_index()
    if BENCHMARK not in close.columns:
        return pd.DataFrame(
            columns=["symbol", "date", "rs_ratio", "rs_momentum", "quadrant"]
        )
    bench = close.pop(BENCHMARK)
    frame = rrg(close, bench, period="daily", tail=None)
    frame["date"] = pd.to_datetime(frame["date"]).dt.strftime("%Y-%m-%d")
    return frame


@endpoint(
    "/stages",
    "Weinstein stage per symbol with weeks in stage, MA30, slope, Mansfield RS.",
    params=(P_UNIVERSE, P_AS_OF, P_STAGE, P_LIMIT_ROWS),
    response=table_schema(**STATE_META),
    tabular=True,
    cached=True,
    statuses=(404, 422, 503),
)
def stages(universe: str, as_of: str, stage: int | None, limit: int, format: str):  # noqa: A002
    """Return the stage table of a universe."""
    state = _state(universe, as_of)
    frame, contract = _table(state, "stages")
    if stage is not None and len(frame):
        frame = frame[frame["stage"] == stage]
    return _tabular(frame.head(limit), contract, format, "stages", _state_meta(state))


@endpoint(
    "/breadth",
    "Market breadth series of a universe (A/D, % above SMAs, highs/lows, McClellan).",
    params=(
        P_UNIVERSE,
        P_AS_OF,
        Param(
            "days",
            "integer",
            "Newest sessions kept.",
            default=252,
            minimum=1,
            maximum=5_000,
        ),
        P_SECTOR,
    ),
    response=table_schema(
        **STATE_META, **SECTOR_META, panel={"type": "array", "items": ROW}
    ),
    tabular=True,
    cached=True,
    statuses=(404, 422, 503),
)
def breadth(
    universe: str,
    as_of: str,
    days: int,
    sector: str | None,
    format: str,  # noqa: A002
):
    """Return the breadth series and the 11-row breadth panel."""
    state = _state(universe, as_of)
    if sector is not None:
        meta = _state_meta(state)
        return sector_breadth_answer(state, sector, days, format, meta)
    frame, contract = _table(state, "breadth")
    frame = frame.tail(days).reset_index(drop=True)
    if format == "csv":
        return csv_response(frame.reindex(columns=contract), "breadth")
    panel = state.breadth_panel
    panel = panel.reset_index() if panel is not None and len(panel) else pd.DataFrame()
    return {
        **_state_meta(state),
        "count": len(frame),
        "rows": records(frame),
        "panel": records(panel),
    }

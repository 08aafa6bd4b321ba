"""Market regime endpoint: SPY's regime (and QQQ / IWM when stored) at an as-of.

The answer carries SPY's fields at the top level and every index, SPY first, in
`indexes` (a list of the same objects with their `symbol`). With `format=csv`
there is one row per index (distribution dates joined by spaces).
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from dashapp.api.blueprint import endpoint
from dashapp.api.params import INT, NUM, P_AS_OF, STR
from dashapp.api.responses import csv_response
from dashapp.api.spec import ApiError
from dashapp.ops.failsoft import note_db_error

log = logging.getLogger(__package__)

DATES = {"type": "array", "items": {"type": "string"}}
REGIME = {
    **STR,
    "description": "`confirmed uptrend`, `uptrend under pressure` or `correction` "
    "(null before the first session with an SMA200).",
}
STRIP_DAY = {
    "type": "object",
    "properties": {
        "date": {"type": "string"},
        "change_pct": NUM,
        "higher_volume": {"type": "boolean"},
        "distribution_day": {"type": "boolean"},
        "counting": {"type": "boolean"},
        "follow_through_day": {"type": "boolean"},
    },
}
INDEX_FIELDS = {
    "symbol": {"type": "string"},
    "session": STR,
    "sessions": {"type": "integer"},
    "regime": REGIME,
    "distribution_days": {"type": "integer"},
    "distribution_dates": DATES,
    "follow_through_day": STR,
    "rally_day": INT,
    "regime_since": STR,
    "close": NUM,
    "close_vs_ema21_pct": NUM,
    "close_vs_sma50_pct": NUM,
    "close_vs_sma200_pct": NUM,
    "strip": {"type": "array", "items": STRIP_DAY},
    "reason": STR,
}
INDEX = {
    "type": "object",
    "required": ["symbol", "regime", "distribution_days", "sessions"],
    "properties": INDEX_FIELDS,
}
META = {
    "as_of": {"type": "string"},
    "intraday": {"type": "boolean"},
    "session_closed": {"type": "boolean"},
    "data_version": {"type": "string"},
    "demo_data": {"type": "boolean"},
    "data_origins": {"type": "array", "items": {"type": "string"}},
    "session": STR,
    "indexes": {"type": "array", "items": INDEX},
}
CSV_COLUMNS = [c for c in INDEX_FIELDS if c not in ("strip",)]


def _regime(as_of: str) -> dict[str, Any]:
    from dashapp.market import AsOfOutOfRange, BadRequest
    from dashapp.market.regime import market_regime

    try:
        return market_regime(None if as_of == "now" else as_of)
    except AsOfOutOfRange as exc:
        first, last = (d.isoformat() if d else None for d in (exc.first, exc.last))
        raise ApiError(
            422, exc.code, str(exc), parameter="as_of", first=first, last=last
        ) from None
    except BadRequest as exc:
        raise ApiError(400, "invalid_parameter", str(exc), parameter="as_of") from None
    except Exception as exc:  # never answer 500 for an analytics failure
        if note_db_error(exc):
            raise  # answered 503 database_unavailable by dashapp.ops.failsoft
        log.exception("market regime failed at %s", as_of)
        raise ApiError(
            503, "analytics_unavailable", "the market regime could not be computed"
        ) from None


@endpoint(
    "/market-regime",
    "Market regime of SPY (QQQ / IWM when stored): distribution days, "
    "follow-through day, close vs EMA21 / SMA50 / SMA200.",
    params=(P_AS_OF,),
    response={
        "type": "object",
        "required": ["as_of", "indexes", "regime", "distribution_days"],
        "properties": {**META, **INDEX_FIELDS},
    },
    tabular=True,
    cached=True,
    statuses=(422, 503),
)
def market_regime(as_of: str, format: str):  # noqa: A002
    """Return the regime of each index with the sessions it was computed from."""
    answer = _regime(as_of)
    indexes = answer["indexes"]
    if format == "csv":
        rows = [
            {**i, "distribution_dates": " ".join(i["distribution_dates"])}
            for i in indexes
        ]
        frame = pd.DataFrame(rows).reindex(columns=CSV_COLUMNS)
        return csv_response(frame, "market-regime")
    spy = {k: v for k, v in indexes[0].items() if k != "session"}
    return {**answer, **spy}

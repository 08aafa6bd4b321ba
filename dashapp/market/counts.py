"""Say what is counted: RS universe size, members with data, sector ETFs left out.

Every count an analyst sees next to a table says over which names it was taken:
the RS rating ranks only names with at least `RS_MIN_SESSIONS` sessions, the
universe's members are shown as "with data / total", and a sector ETF that is not
in the rotation graph is listed with the reason.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analytics.constants import (
    REASON_NO_DATA,
    REASON_STALE,
    RRG_LONG,
    RRG_MOMENTUM_LAG,
    RS_MIN_SESSIONS,
)
from analytics.stage_history import week_ids
from dashapp.store import Store
from dashapp.store.reference import BENCHMARK, sector_etfs

STOCK_KIND = "stock"
RRG_MIN_BARS = RRG_LONG + RRG_MOMENTUM_LAG
NO_DATA_REASONS = (REASON_NO_DATA, REASON_STALE)


def stock_meta(meta: pd.DataFrame) -> pd.DataFrame:
    """Keep the stocks of a symbols frame (ETFs are tagged and never ranked)."""
    if meta is None or meta.empty or "kind" not in meta:
        return meta
    kind = meta["kind"].fillna(STOCK_KIND).astype(str).str.lower()
    return meta.loc[kind == STOCK_KIND].reset_index(drop=True)


def rs_universe(rankings: pd.DataFrame | None) -> dict[str, Any]:
    """Return how many names the RS rating was ranked among, with its label."""
    ranked = 0
    if rankings is not None and len(rankings) and "rs_rating" in rankings:
        ranked = int(rankings["rs_rating"].notna().sum())
    return {
        "ranked": ranked,
        "min_sessions": RS_MIN_SESSIONS,
        "label": f"ranked among {ranked} names with ≥ {RS_MIN_SESSIONS} sessions",
    }


def member_counts(rankings: pd.DataFrame | None) -> dict[str, Any]:
    """Return the universe's stocks with a price in the as-of session / all of them."""
    total = 0 if rankings is None else len(rankings)
    with_data = total
    if total and "excluded_reason" in rankings:
        with_data = int((~rankings["excluded_reason"].isin(NO_DATA_REASONS)).sum())
    return {
        "with_data": with_data,
        "total": total,
        "label": f"{with_data} / {total} with data",
    }


def counted_meta(state: Any) -> dict[str, Any]:
    """Return the counts a market-state answer carries in its meta."""
    rankings = state.frames.get("rankings")
    return {"rs_universe": rs_universe(rankings), "members": member_counts(rankings)}


def rotation_missing(
    store: Store, shown: pd.DataFrame | None, session: Any, period: str = "weekly"
) -> list[dict[str, str]]:
    """List every sector ETF missing from the rotation graph with the reason."""
    symbols = list(sector_etfs()["symbol"])
    present = set() if shown is None or shown.empty else set(shown["symbol"])
    missing = [s for s in symbols if s not in present]
    if not missing:
        return []
    if session is None:
        return [{"symbol": s, "reason": REASON_NO_DATA} for s in missing]
    bars = store.read_daily([*missing, BENCHMARK], end=session)
    if BENCHMARK not in set(bars["symbol"]):
        reason = f"benchmark {BENCHMARK} has no price data"
        return [{"symbol": s, "reason": reason} for s in missing]
    out = []
    for sym in missing:
        dates = bars.loc[bars["symbol"] == sym, "date"]
        out.append({"symbol": sym, "reason": _missing_reason(dates, session, period)})
    return out


def _missing_reason(dates: pd.Series, session: Any, period: str) -> str:
    if dates.empty:
        return REASON_NO_DATA
    count = len(dates) if period == "daily" else len(np.unique(week_ids(dates)))
    if count < RRG_MIN_BARS:
        unit = "daily" if period == "daily" else "weekly"
        return (
            f"{count} {unit} bars: RS-Ratio and RS-Momentum need {RRG_MIN_BARS} "
            f"(SMA{RRG_LONG} + {RRG_MOMENTUM_LAG} bars of momentum)"
        )
    if pd.Timestamp(dates.max()).date() < pd.Timestamp(session).date():
        return f"{REASON_STALE} (last price {pd.Timestamp(dates.max()).date()})"
    return "no valid RS-Ratio / RS-Momentum point in the tail"

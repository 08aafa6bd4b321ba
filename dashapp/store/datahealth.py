"""Data health: what the stored daily history is made of and where it looks wrong.

Per symbol: its sources (with rows and date range each), the date range,
sessions missing against the XNYS calendar, rescalings applied (import
reconciliations and splits, from `data_adjustments`), day moves over 35 %
that look like unadjusted splits, and whether it is stale (its newest bar is
more than STALE_SESSIONS sessions older than the newest session in the store).
Served by `tickstock data-health`, `GET /api/admin/data-health` and the admin
page. All SQL lives in dashapp.store.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pandas as pd

from dashapp.store.core import Store

BIG_MOVE = 0.35
STALE_SESSIONS = 5
CALENDAR_START = "1990-01-01"
RESCALE_KINDS = ("price", "volume", "split")
# Common split ratios; a move within SPLIT_MATCH of one looks like a split.
SPLIT_RATIOS = (2, 3, 4, 5, 6, 7, 8, 10, 12, 15, 20, 25, 30, 40, 50)
SPLIT_MATCH = 0.06  # the split day moves too
COLUMNS = (
    "symbol",
    "sources",
    "first",
    "last",
    "rows",
    "missing_sessions",
    "rescalings",
    "flags",
    "suspect_moves",
    "sessions_behind",
    "stale",
)


@functools.lru_cache(maxsize=1)
def _sessions() -> np.ndarray:
    """Return XNYS session dates (datetime64[D]) from CALENDAR_START."""
    import exchange_calendars as xcals

    cal = xcals.get_calendar("XNYS", start=CALENDAR_START)
    return cal.sessions.to_numpy().astype("datetime64[D]")


def sessions_between(first: Any, last: Any) -> int:
    """Return how many XNYS sessions lie in [first, last] (weekdays past the end)."""
    days = _sessions()
    lo = np.datetime64(pd.Timestamp(first).date(), "D")
    hi = np.datetime64(pd.Timestamp(last).date(), "D")
    count = int(np.searchsorted(days, hi, "right") - np.searchsorted(days, lo, "left"))
    if hi > days[-1]:
        count += int(np.busday_count(max(lo, days[-1] + 1), hi + 1))
    return count


def split_like(prev_close: float, close: float) -> str | None:
    """Return "N-for-1"/"1-for-N" when a day's move matches a split ratio."""
    move = close / prev_close
    for ratio in SPLIT_RATIOS:
        if abs(move * ratio - 1) <= SPLIT_MATCH:
            return f"1-for-{ratio:g} forward split"
        if abs(move / ratio - 1) <= SPLIT_MATCH:
            return f"{ratio:g}-for-1 reverse split"
    return None


def _day(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else str(pd.Timestamp(value).date())


def _adjustment_json(row: pd.Series) -> dict[str, Any]:
    return {
        "symbol": row["symbol"],
        "kind": row["kind"],
        "factor": None if pd.isna(row["factor"]) else float(row["factor"]),
        "applied_to_start": _day(row["applied_to_start"]),
        "applied_to_end": _day(row["applied_to_end"]),
        "sessions": None if pd.isna(row["sessions"]) else int(row["sessions"]),
        "reason": row["reason"],
        "created_at": _day(row["created_at"]),
    }


def adjustment_label(row: dict[str, Any]) -> str:
    """Return an adjustment as `kind xFACTOR start..end` for reports."""
    span = ""
    if row["applied_to_start"] or row["applied_to_end"]:
        span = f" {row['applied_to_start'] or '…'}..{row['applied_to_end']}"
    return f"{row['kind']} x{row['factor']:.6g}{span}"


def data_health(store: Store) -> dict[str, Any]:
    """Return the data-health report: per-symbol rows plus adjustments and moves."""
    spans = store.daily_source_spans()
    adjustments = [_adjustment_json(r) for _i, r in store.list_adjustments().iterrows()]
    moves = store.daily_big_moves(BIG_MOVE)
    moves["move_pct"] = (100 * (moves["close"] / moves["prev_close"] - 1)).round(2)
    newest = spans["last"].max() if len(spans) else None
    pairs = list(zip(moves["prev_close"], moves["close"], strict=True))
    by_symbol: dict[str, list[dict[str, Any]]] = {}
    for item in adjustments:
        by_symbol.setdefault(item["symbol"], []).append(item)
    move_counts = moves["symbol"].value_counts()
    rows = []
    for symbol, group in spans.groupby("symbol", sort=True):
        first, last = group["first"].min(), group["last"].max()
        count = int(group["rows"].sum())
        mine = by_symbol.get(symbol, [])
        behind = max(sessions_between(last, newest) - 1, 0)
        sources = ", ".join(
            f"{src or 'unknown'}: {n} ({_day(a)}..{_day(b)})"
            for src, n, a, b in group[["source", "rows", "first", "last"]].itertuples(
                index=False
            )
        )
        rows.append(
            {
                "symbol": symbol,
                "sources": sources,
                "first": _day(first),
                "last": _day(last),
                "rows": count,
                "missing_sessions": max(sessions_between(first, last) - count, 0),
                "rescalings": "; ".join(
                    adjustment_label(a) for a in mine if a["kind"] in RESCALE_KINDS
                ),
                # A re-imported file flags the same overlap again: list it once.
                "flags": "; ".join(
                    dict.fromkeys(
                        adjustment_label(a)
                        for a in mine
                        if a["kind"] not in RESCALE_KINDS
                    )
                ),
                "suspect_moves": int(move_counts.get(symbol, 0)),
                "sessions_behind": behind,
                "stale": behind > STALE_SESSIONS,
            }
        )
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return {
        "newest_session": _day(newest),
        "count": len(frame),
        "summary": {
            "symbols": len(frame),
            "with_missing_sessions": int((frame["missing_sessions"] > 0).sum()),
            "rescaled": int((frame["rescalings"] != "").sum()),
            "flagged": int((frame["flags"] != "").sum()),
            "with_suspect_moves": int((frame["suspect_moves"] > 0).sum()),
            "split_like_moves": int(
                sum(split_like(p, c) is not None for p, c in pairs)
            ),
            "stale": int(frame["stale"].sum()),
        },
        "rows": frame.to_dict("records"),
        "adjustments": adjustments,
        "suspect_moves": [
            {
                "symbol": m.symbol,
                "date": _day(m.date),
                "prev_close": float(m.prev_close),
                "close": float(m.close),
                "move_pct": float(m.move_pct),
                "looks_like": split_like(float(m.prev_close), float(m.close)),
            }
            for m in moves.itertuples(index=False)
        ],
    }


def health_frame(report: dict[str, Any]) -> pd.DataFrame:
    """Return the per-symbol rows of a report as a frame (CSV, tables)."""
    return pd.DataFrame(report["rows"], columns=list(COLUMNS))


def issues_frame(report: dict[str, Any]) -> pd.DataFrame:
    """Return only the symbols with something to look at."""
    frame = health_frame(report)
    notable = (
        (frame["missing_sessions"] > 0)
        | (frame["rescalings"] != "")
        | (frame["flags"] != "")
        | (frame["suspect_moves"] > 0)
        | frame["stale"]
    )
    return frame[notable].reset_index(drop=True)


# --------------------------------------------------------------------- CLI

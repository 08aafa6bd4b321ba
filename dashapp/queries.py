"""Read-side queries for pages and the REST API (no SQL here: it calls the store)."""

from __future__ import annotations

import pandas as pd

from dashapp.context import current_store

TABLE_LABELS = {
    "ohlcv_1min": "Minute bars",
    "ohlcv_daily": "Daily bars",
    "symbols": "Symbols",
    "universes": "Universes",
    "users": "Users",
    "error_log": "Logged errors",
}


def database_overview() -> pd.DataFrame:
    """Return what the database holds: rows, symbols, newest bar, per table."""
    stats = current_store().table_stats()
    stats["label"] = stats["table"].map(TABLE_LABELS)
    stats["newest"] = stats["newest"].map(lambda v: "" if pd.isna(v) else str(v)[:19])
    return stats[["label", "table", "rows", "symbols", "newest"]]


def universes_overview() -> pd.DataFrame:
    """Return universes with member counts and members that have daily data."""
    return current_store().list_universes()

"""What the database holds and what the controls offer: tables, universes, sessions.

Also whether the data shown is generated (demo / simulated) rather than real.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from dashapp.market.context import current_store
from dashapp.market.dataversion import cached, current_data_version
from dashapp.store.origin import fake_origins
from dashapp.store.reference import BENCHMARK, sector_etfs

TABLE_LABELS = {
    "ohlcv_1min": "Minute bars",
    "ohlcv_daily": "Daily bars",
    "symbols": "Symbols",
    "universes": "Universes",
    "users": "Users",
    "error_log": "Logged errors",
}
SESSIONS_LOOKBACK_DAYS = 3 * 365


def database_overview() -> pd.DataFrame:
    """Return what the database holds: rows, symbols, newest bar, per table."""
    stats = current_store().table_stats()
    stats["label"] = stats["table"].map(TABLE_LABELS)
    stats["newest"] = stats["newest"].map(lambda v: "" if pd.isna(v) else str(v)[:19])
    return stats[["label", "table", "rows", "symbols", "newest"]]


def universes_overview() -> pd.DataFrame:
    """Return universes with member counts and members that have daily data."""
    return current_store().list_universes()


def database_overview_cached() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (database_overview, universes_overview), computed once per version."""
    version = current_data_version().key
    return cached(
        f"q:overview:{version}", lambda: (database_overview(), universes_overview())
    )


def _members_label(row: Any) -> str:
    """Return "with data / total" members of a universe row (total alone if unknown)."""
    with_data = getattr(row, "with_data", None)
    if with_data is None or pd.isna(with_data):
        return f"{int(row.members)}"
    return f"{int(with_data)}/{int(row.members)} with data"


def universe_options() -> list[dict[str, str]]:
    """Return dropdown options for every universe ("sp500 · 503")."""

    def compute() -> list[dict[str, str]]:
        frame = current_store().list_universes()
        return [
            {"label": f"{r.name} · {_members_label(r)}", "value": r.name}
            for r in frame.itertuples()
        ]

    return cached(f"q:universes:{current_data_version().key}", compute)


def stored_sessions(limit: int = 400) -> list[str]:
    """Return stored sessions (dates with a SPY or sector ETF bar), newest first."""

    def compute() -> list[str]:
        newest = current_data_version().newest_daily
        if newest is None:
            return []
        start = newest - dt.timedelta(days=SESSIONS_LOOKBACK_DAYS)
        probe = [BENCHMARK, *sector_etfs()["symbol"]]
        bars = current_store().read_daily(probe, start=start, end=newest)
        dates = pd.DatetimeIndex(bars["date"].unique()).sort_values(ascending=False)
        return [d.date().isoformat() for d in dates[:limit]]

    return cached(f"q:sessions:{current_data_version().key}", compute)


def is_demo() -> bool:
    """Return True when what is shown derives from demo or simulated bars."""
    return bool(data_origins())


def data_origins() -> list[str]:
    """Return the generated origins stored ("demo", "simulated"), if any."""
    return fake_origins(current_store())


def session_stored(day: str) -> bool:
    """Tell whether any daily bar is stored for a date (however far back)."""
    try:
        when = dt.date.fromisoformat(str(day))
    except ValueError:
        return False
    return not current_store().read_daily(None, start=when, end=when).empty

"""Bar origins in the store: the v3 migration and removing demo/simulated bars.

Kept beside `dashapp.store` (which calls it) so the origin rules live in one
place: see `dashapp.store.origin` for the four origins.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import text

from dashapp.store.origin import (
    DEMO,
    FAKE_ORIGINS,
    IMPORTED,
    MASSIVE,
    SIMULATED,
    SIMULATED_KEY,
)

log = logging.getLogger(__name__)

DEMO_META_KEYS = ("demo_data", "demo_data_info")
BAR_TABLES = ("ohlcv_daily", "ohlcv_1min")


def delete_fake_bars(store: Any) -> int:
    """Delete demo and simulated bars from both bar tables; clear their flags."""
    total = 0
    # Generated minute bars always come with a flag; skipping the scan keeps
    # imports into a big real minute table cheap.
    tables = BAR_TABLES if fake_origins(store) else BAR_TABLES[:1]
    with store.engine.begin() as conn:
        for table in tables:
            n = conn.execute(
                text(f"DELETE FROM {table} WHERE source IN (:a, :b)"),
                {"a": FAKE_ORIGINS[0], "b": FAKE_ORIGINS[1]},
            ).rowcount
            total += max(0, n or 0)
            if n:
                store._bump_seq(conn, table)
        conn.execute(
            text("DELETE FROM app_meta WHERE key IN (:a, :b, :c)"),
            {"a": DEMO_META_KEYS[0], "b": DEMO_META_KEYS[1], "c": SIMULATED_KEY},
        )
    if total:
        log.info("real data loaded: removed %d demo/simulated bars", total)
    return total


def fake_origins(store: Any) -> list[str]:
    """Return which generated origins are stored: "demo", "simulated" or none."""
    out = []
    if _truthy(store.get_meta(DEMO_META_KEYS[0])):
        out.append(DEMO)
    if _truthy(store.get_meta(SIMULATED_KEY)):
        out.append(SIMULATED)
    return out


def _truthy(value: str | None) -> bool:
    return bool(value) and value.strip().lower() not in ("0", "false", "no")


def has_real_bars(store: Any) -> bool:
    """Tell whether any imported or Massive bar is stored (daily or minute)."""
    with store.engine.connect() as conn:
        for table in BAR_TABLES:
            hit = conn.execute(
                text(f"SELECT 1 FROM {table} WHERE source IN (:a, :b) LIMIT 1"),
                {"a": IMPORTED, "b": MASSIVE},
            ).first()
            if hit is not None:
                return True
    return False

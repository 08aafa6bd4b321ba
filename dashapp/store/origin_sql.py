"""Bar origins in the store: the v3 migration and removing demo/simulated bars.

Kept beside `dashapp.store` (which calls it) so the origin rules live in one
place: see `dashapp.store.origin` for the four origins.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from dashapp.store.origin import (
    DEMO,
    FAKE_ORIGINS,
    IMPORTED,
    LEGACY_ORIGINS,
    MASSIVE,
    SIMULATED,
    SIMULATED_KEY,
)

log = logging.getLogger(__name__)

DEMO_META_KEYS = ("demo_data", "demo_data_info")
BAR_TABLES = ("ohlcv_daily", "ohlcv_1min")


def migrate_origins(conn: Connection) -> None:
    """Add ohlcv_1min.source and map stored labels to the four origins (v3)."""
    if not inspect(conn).has_table("ohlcv_1min"):
        return  # created with the column by create_all
    cols = {c["name"] for c in inspect(conn).get_columns("ohlcv_1min")}
    if "source" not in cols:
        conn.execute(text("ALTER TABLE ohlcv_1min ADD COLUMN source VARCHAR(16)"))
    known = {k: v for k, v in LEGACY_ORIGINS.items() if k != v}
    for label, origin in known.items():
        conn.execute(
            text("UPDATE ohlcv_daily SET source = :o WHERE source = :l"),
            {"o": origin, "l": label},
        )
    conn.execute(
        text(
            "UPDATE ohlcv_daily SET source = :o WHERE source IS NULL "
            "OR source NOT IN ('demo', 'simulated', 'imported', 'massive')"
        ),
        {"o": IMPORTED},
    )
    # Minute bars had no origin: a demo store's came from the simulator.
    demo = (
        inspect(conn).has_table("app_meta")
        and conn.execute(text("SELECT 1 FROM app_meta WHERE key = 'demo_data'")).first()
    )
    minute_origin = SIMULATED if demo else MASSIVE
    conn.execute(
        text("UPDATE ohlcv_1min SET source = :o WHERE source IS NULL"),
        {"o": minute_origin},
    )
    if demo:
        # EOD roll-ups of simulated minutes were labelled demo before v3.
        _set_meta(conn, SIMULATED_KEY, "1")
    log.info("migrated schema -> v3 (bar origins; minute bars: %s)", minute_origin)


def _set_meta(conn: Connection, key: str, value: str) -> None:
    conn.execute(
        text(
            "INSERT INTO app_meta (key, value) VALUES (:k, :v) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        ),
        {"k": key, "v": value},
    )


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

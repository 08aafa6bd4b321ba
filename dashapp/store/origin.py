"""Where a stored bar came from: exactly one of four origins, and what is stored.

`demo` (generated history), `simulated` (the built-in Massive simulator),
`imported` (files) and `massive` (the real feed or its REST API). Demo and
simulated bars never coexist with real ones: real data arriving removes them
(`Store.delete_fake_bars`). The functions at the end ask a store which origins
it holds.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

DEMO = "demo"
SIMULATED = "simulated"
IMPORTED = "imported"
MASSIVE = "massive"
ORIGINS = (DEMO, SIMULATED, IMPORTED, MASSIVE)
FAKE_ORIGINS = (DEMO, SIMULATED)
REAL_ORIGINS = (IMPORTED, MASSIVE)
# Labels older versions stored in ohlcv_daily.source (anything else was a file).
LEGACY_ORIGINS = {
    "demo": DEMO,
    "simulator": SIMULATED,
    "simulated": SIMULATED,
    "eod": MASSIVE,
    "backfill": MASSIVE,
    "massive": MASSIVE,
    "import": IMPORTED,
    "imported": IMPORTED,
}
# app_meta flag set while simulated bars are stored (demo history has its own).
SIMULATED_KEY = "simulated_data"
DEMO_META_KEYS = ("demo_data", "demo_data_info")
# The bar tables, in the order they are checked and cleaned.
ORIGIN_TABLES = ("ohlcv_daily", "ohlcv_1min")


def origin_of(label: str | None) -> str:
    """Return the origin a stored source label stands for (files by default)."""
    return LEGACY_ORIGINS.get((label or "").strip().lower(), IMPORTED)


def is_fake(origin: str | None) -> bool:
    """Tell whether an origin is generated (demo or simulated), not market data."""
    return origin in FAKE_ORIGINS


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
        for table in ORIGIN_TABLES:
            hit = conn.execute(
                text(f"SELECT 1 FROM {table} WHERE source IN (:a, :b) LIMIT 1"),
                {"a": IMPORTED, "b": MASSIVE},
            ).first()
            if hit is not None:
                return True
    return False

"""Where a stored bar came from: exactly one of four origins.

`demo` (generated history), `simulated` (the built-in Massive simulator),
`imported` (files) and `massive` (the real feed or its REST API). Demo and
simulated bars never coexist with real ones: real data arriving removes them.
"""

from __future__ import annotations

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


def origin_of(label: str | None) -> str:
    """Return the origin a stored source label stands for (files by default)."""
    return LEGACY_ORIGINS.get((label or "").strip().lower(), IMPORTED)


def is_fake(origin: str | None) -> bool:
    """Tell whether an origin is generated (demo or simulated), not market data."""
    return origin in FAKE_ORIGINS

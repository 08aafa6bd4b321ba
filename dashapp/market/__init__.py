"""The read side: market state, page queries and the snapshot cache.

`market_state(universe, as_of)` (in `dashapp.market.state`) is what every view,
the REST API, the CLI export and notebooks read. The page queries live in
their own modules (`overview`, `clock`, `bars`, `quotes`, `sectors`,
`stage_weeks`, `symbol_chart`); `queries` gathers them under one name.
Submodules import each other by their real home, never this package.
"""

from __future__ import annotations

from dashapp.market.asof import MARKET_TZ, AsOfOutOfRange, BadRequest, parse_as_of
from dashapp.market.state import (
    BREADTH_WARMUP_CALENDAR_DAYS,
    ENGINE_CACHE_ENTRIES,
    HISTORY_CALENDAR_DAYS,
    SNAPSHOT_FRAMES,
    STALE_REASONS,
    MarketState,
    _engines,
    market_state,
)

__all__ = [
    "BREADTH_WARMUP_CALENDAR_DAYS",
    "ENGINE_CACHE_ENTRIES",
    "HISTORY_CALENDAR_DAYS",
    "MARKET_TZ",
    "SNAPSHOT_FRAMES",
    "STALE_REASONS",
    "AsOfOutOfRange",
    "BadRequest",
    "MarketState",
    "_engines",
    "market_state",
    "parse_as_of",
]

"""Read-side queries for pages and the REST API, gathered under one name.

Each lives in the module of its responsibility (no SQL there either: they call
the store); this module only re-exports them for `queries.name` callers.
"""

from __future__ import annotations

from dashapp.market.bars import session_minutes
from dashapp.market.clock import feed_status, freshness, market_clock
from dashapp.market.dataversion import VERSION_TTL_S, cached, data_version_key
from dashapp.market.overview import (
    data_origins,
    database_overview,
    database_overview_cached,
    is_demo,
    session_stored,
    stored_sessions,
    universe_options,
    universes_overview,
)
from dashapp.market.quotes import INDEX_SYMBOLS, IndexQuote, dollar_volume, index_quotes
from dashapp.market.rotation import sector_rotation
from dashapp.market.sectors import sector_returns
from dashapp.market.stage_weeks import stage_history
from dashapp.market.symbol_chart import (
    INTERVALS,
    SymbolChart,
    intraday_frame,
    intraday_session,
    intraday_since,
    mansfield_series,
    symbol_chart,
    symbol_info,
)

__all__ = [
    "INDEX_SYMBOLS",
    "INTERVALS",
    "VERSION_TTL_S",
    "IndexQuote",
    "SymbolChart",
    "cached",
    "data_version_key",
    "database_overview",
    "database_overview_cached",
    "dollar_volume",
    "feed_status",
    "freshness",
    "index_quotes",
    "intraday_frame",
    "intraday_session",
    "intraday_since",
    "data_origins",
    "is_demo",
    "session_stored",
    "market_clock",
    "mansfield_series",
    "sector_returns",
    "sector_rotation",
    "session_minutes",
    "stage_history",
    "stored_sessions",
    "symbol_chart",
    "symbol_info",
    "universe_options",
    "universes_overview",
]

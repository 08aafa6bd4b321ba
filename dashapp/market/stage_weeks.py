"""The Stages page's weeks x symbols stage history over settled sessions."""

from __future__ import annotations

from typing import Any

import pandas as pd

from dashapp.market.bars import settled_end
from dashapp.market.context import current_store
from dashapp.market.dataversion import cached, current_data_version
from dashapp.market.stage_cache import stage_history_table
from dashapp.market.universe import has_watchlist, scoped_universe

STAGE_HISTORY_WEEKS = 80  # shown on the Stages page; warm-up is the whole history


def stage_history(universe: str = "sp500", as_of: Any = None) -> pd.DataFrame:
    """Return the weeks x symbols stage history of a universe over settled sessions.

    Computed once per daily-data version: the week in progress comes from the
    snapshot (see `pages.stages`).
    """
    end = settled_end(as_of)
    if end is None:
        return pd.DataFrame()
    version = current_data_version().daily_seq
    scope, members = "", None
    if has_watchlist(universe):  # the caller's own list: resolved now, scoped key
        scope, members = scoped_universe(current_store(), universe)

    def compute() -> pd.DataFrame:
        # The whole-history run the market state continues from (same cache entry).
        store = current_store()
        dv = store.data_version()
        names = store.universe_symbols(universe) if members is None else members
        key = f"{dv.daily_seq}-{dv.newest_daily}"
        return stage_history_table(store, names, key, end, STAGE_HISTORY_WEEKS)

    return cached(f"q:stage-history:{universe}{scope}:{end}:d{version}", compute)

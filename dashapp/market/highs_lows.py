"""New 52-week highs and lows of a universe at an as-of: the breadth row's names.

The flags are the market state's `new_52w_high` / `new_52w_low`, the very values
the breadth row's `new_highs` / `new_lows` count, so the lists always agree with
the counts. The close is the as-of session's bar, read the way the market state
reads it (`session_bars.session_row`), for the listed symbols only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from analytics.new_highs import LISTS, highs_lows_lists
from dashapp.market.context import current_store
from dashapp.market.session_bars import resolve_request, session_row
from dashapp.market.state import MarketState, market_state
from dashapp.store import Store


@dataclass
class HighsLows:
    """The two lists of one universe at one as-of, and the breadth counts."""

    state: MarketState
    lists: dict[str, pd.DataFrame]

    def counts(self) -> dict[str, int | None]:
        """Return the breadth row's new_highs / new_lows of the as-of session."""
        breadth = self.state.frames.get("breadth")
        if breadth is None or breadth.empty:
            return dict.fromkeys(LISTS)
        last = breadth.iloc[-1]
        return {k: int(last[k]) for k in LISTS}


def _closes(
    store: Store, symbols: list[str], state: MarketState, as_of: Any, live: Any
) -> pd.Series | None:
    """Return the as-of session's close of `symbols` (None if the session moved)."""
    if not symbols:
        return None
    req = resolve_request(as_of, store, None, live)
    session, row, _intraday = session_row(
        store, symbols, req.dv, req.res.ts, req.res.is_minute, req.live, req.res.session
    )
    if session != state.session or row is None or row.empty or "close" not in row:
        return None
    return row["close"].astype(float)


def highs_lows(
    universe: str,
    as_of: Any = None,
    *,
    store: Store | None = None,
    cache: Any = None,
    live: Any = None,
) -> HighsLows:
    """Return the new 52-week highs and lows of a universe at `as_of`."""
    store = store or current_store()
    state = market_state(universe, as_of, store=store, cache=cache, live=live)
    return list_highs_lows(state, as_of, store=store, live=live)


def list_highs_lows(
    state: MarketState, as_of: Any = None, *, store: Store | None = None, live=None
) -> HighsLows:
    """Return the new highs and lows of an already computed market state."""
    store = store or current_store()
    rankings = state.rankings
    flagged = pd.Series(False, index=rankings.index)
    for col in ("new_52w_high", "new_52w_low"):
        if col in rankings:
            flagged |= rankings[col].fillna(False).astype(bool)
    symbols = rankings.loc[flagged, "symbol"].tolist() if len(rankings) else []
    close = _closes(store, symbols, state, as_of, live)
    names = None
    if symbols:
        meta = store.symbols_frame(symbols)
        names = meta.set_index("symbol")["name"] if len(meta) else None
    return HighsLows(state=state, lists=highs_lows_lists(rankings, close, names))

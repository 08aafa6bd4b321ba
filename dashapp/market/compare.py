"""Compare up to four symbols on the Symbol page: closes indexed to 100.

Every line is divided by its own close at the first point where all the
compared symbols have a close, so the lines start together at 100.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

import analytics
from dashapp.market.bars import daily_with_today, minute_session, recent_minutes
from dashapp.market.symbol_chart import history_days, intraday_frame, range_spec

MAX_COMPARE = 4
INDEX_BASE = 100.0


def normalise_to_first_common(closes: pd.DataFrame) -> pd.DataFrame:
    """Return closes x 100 / close at the first row where every column has one.

    Rows before that point are dropped; an empty frame comes back when the
    columns never share a row.
    """
    if closes.empty:
        return closes.iloc[0:0]
    common = closes.dropna(how="any")
    if common.empty:
        return closes.iloc[0:0]
    first = common.index[0]
    shown = closes.loc[first:]
    return INDEX_BASE * shown / common.iloc[0]


def _minute_closes(symbols: list[str], sessions: int, as_of: Any) -> pd.DataFrame:
    session, until = minute_session(as_of)
    if session is None:
        return pd.DataFrame(columns=symbols)
    bars = recent_minutes(symbols, session, sessions, until)
    frames = {}
    for sym, rows in bars.groupby("symbol"):
        frame = intraday_frame(rows)
        frames[sym] = frame.set_index("x")["close"]
    return pd.DataFrame(frames).sort_index().reindex(columns=symbols)


def _daily_closes(
    symbols: list[str], interval: str, keep: int | None, as_of: Any
) -> pd.DataFrame:
    bars = daily_with_today(symbols, as_of, history_days(interval, keep))
    panels = analytics.panels_from_bars(bars)
    if interval == "W":
        panels = analytics.weekly_bars(panels)
    close = panels["close"].reindex(columns=symbols)
    close = close.dropna(how="all")
    close.index = pd.DatetimeIndex(close.index).strftime("%Y-%m-%d")
    return close if keep is None else close.tail(keep)


def compare_closes(
    symbols: Sequence[str], range_key: Any, as_of: Any = None
) -> pd.DataFrame:
    """Return the symbols' closes over a range preset, indexed to 100 together.

    The index holds the chart's x labels (YYYY-MM-DD, or YYYY-MM-DD HH:MM in
    New York time for the minute ranges); columns are the symbols in order, all
    NaN for a symbol without a bar in the range.
    """
    names = list(dict.fromkeys(s for s in symbols if s))[: MAX_COMPARE + 1]
    if not names:
        return pd.DataFrame()
    interval, keep = range_spec(range_key)
    if interval == "1m":
        closes = _minute_closes(names, int(keep or 1), as_of)
    else:
        closes = _daily_closes(names, interval, keep, as_of)
    # A symbol without any bar in the range is reported, not allowed to blank the rest.
    priced = closes.dropna(axis=1, how="all")
    return normalise_to_first_common(priced).reindex(columns=names)

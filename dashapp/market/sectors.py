"""The Sectors page's sector-ETF returns (the RRG is `dashapp.market.rotation`)."""

from __future__ import annotations

from typing import Any

import pandas as pd

import analytics
from dashapp.market.bars import (
    daily_with_today,
    settled_daily,
    settled_end,
)
from dashapp.market.dataversion import cached, current_data_version
from dashapp.store.reference import BENCHMARK, sector_etfs

SECTOR_HISTORY_DAYS = 460  # 252 sessions + YTD base; RRG needs 60 weeks at most


def _close_panel(bars: pd.DataFrame) -> pd.DataFrame:
    return analytics.panel_from_bars(bars, "close")


def _sector_closes(as_of: Any) -> pd.DataFrame:
    """Return the close panel of the sector ETFs and SPY at `as_of`.

    The settled part is pivoted once per daily-data version; a new minute only
    appends the running session's row.
    """
    symbols = [*sector_etfs()["symbol"], BENCHMARK]
    end = settled_end(as_of)
    if end is None:
        return pd.DataFrame()
    version = current_data_version().daily_seq
    settled = cached(
        f"q:sector-panel:{end}:d{version}",
        lambda: _close_panel(settled_daily(symbols, end, SECTOR_HISTORY_DAYS)),
    )
    bars = daily_with_today(symbols, as_of, 0)
    today = bars[bars["date"] > pd.Timestamp(end)]
    if today.empty:
        return settled
    row = today.set_index("symbol")["close"].astype(float)
    row = row.reindex(settled.columns).to_frame(pd.Timestamp(today["date"].iloc[0])).T
    return pd.concat([settled, row])


def sector_returns(as_of: Any = None) -> pd.DataFrame:
    """Return returns over every window of the 11 sector ETFs (index = ETF)."""
    close = _sector_closes(as_of)
    present = [s for s in sector_etfs()["symbol"] if s in close]
    if close.empty or not present:
        return pd.DataFrame()
    return analytics.returns(close[present]).dropna(how="all")


def sector_names() -> dict[str, str]:
    """Return the sector name of each sector ETF ("XLK" -> "Technology")."""
    etfs = sector_etfs()
    return dict(zip(etfs["symbol"], etfs["sector"], strict=True))

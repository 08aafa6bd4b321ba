"""TickStock analytics: pure, vectorised market-state functions over price panels.

A panel is a DataFrame indexed by session date (sorted DatetimeIndex) with one column
per symbol. Every function here is free of I/O and returns a defined (possibly null)
result for short, gappy, empty or single-symbol inputs. The methods are the pinned
ones of DESIGN.md ("Analytics methods"); each module's docstring states the exact
conventions (rounding, windows, stage confirmation, breadth rows).

Notebook example::

    import pandas as pd
    import analytics as A

    bars = pd.read_csv("daily.csv")  # symbol, date, open, high, low, close, volume
    panels = A.panels_from_bars(bars)
    close = panels["close"]
    ratings = A.rs_ratings(A.rs_scores(close), A.sessions_available(close))
    weekly = A.weekly_bars(panels)
    stages, history = A.weinstein_stages(
        weekly["close"], weekly["volume"], weekly["close"]["SPY"]
    )
    snap = A.market_snapshot(panels, meta)  # meta: symbol, sector, sub_industry
    snap["rankings"].head()

For live data, build `A.SnapshotEngine(history_panels, meta)` once per session and
call `engine.update(today, {"close": last_prices, ...})` for every refresh.
"""

from analytics.breadth import breadth, breadth_panel
from analytics.constants import (
    BREADTH_SMA_WINDOWS,
    MCCLELLAN_FAST_ALPHA,
    MCCLELLAN_SLOW_ALPHA,
    NEW_HIGH_LOOKBACK,
    RETURN_WINDOWS,
    RRG_LONG,
    RRG_MOMENTUM_LAG,
    RRG_SHORT,
    RS_MIN_SESSIONS,
    RS_WEIGHTS,
    SECTOR_ETFS,
    STAGE_CONFIRM_WEEKS,
    STAGE_MA_WEEKS,
)
from analytics.groups import group_ranking
from analytics.panel import panel_from_bars, panels_from_bars, weekly_bars, weekly_close
from analytics.returns import (
    returns,
    rs_line,
    rs_new_high,
    rs_ratings,
    rs_scores,
    sessions_available,
)
from analytics.rrg import rrg, rrg_latest
from analytics.snapshot import (
    RANKING_COLUMNS,
    SNAPSHOT_KEYS,
    SnapshotEngine,
    market_snapshot,
)
from analytics.stages import weinstein_stages

__all__ = [
    "BREADTH_SMA_WINDOWS",
    "MCCLELLAN_FAST_ALPHA",
    "MCCLELLAN_SLOW_ALPHA",
    "NEW_HIGH_LOOKBACK",
    "RANKING_COLUMNS",
    "RETURN_WINDOWS",
    "RRG_LONG",
    "RRG_MOMENTUM_LAG",
    "RRG_SHORT",
    "RS_MIN_SESSIONS",
    "RS_WEIGHTS",
    "SECTOR_ETFS",
    "SNAPSHOT_KEYS",
    "STAGE_CONFIRM_WEEKS",
    "STAGE_MA_WEEKS",
    "SnapshotEngine",
    "breadth",
    "breadth_panel",
    "group_ranking",
    "market_snapshot",
    "panel_from_bars",
    "panels_from_bars",
    "returns",
    "rrg",
    "rrg_latest",
    "rs_line",
    "rs_new_high",
    "rs_ratings",
    "rs_scores",
    "sessions_available",
    "weekly_bars",
    "weekly_close",
    "weinstein_stages",
]

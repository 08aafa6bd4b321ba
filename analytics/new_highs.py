"""New 52-week highs and lows: the breadth rule, per symbol, as two lists.

The rule is the one the breadth counts use (`analytics.breadth`): a symbol makes a
new high when today's high >= the max of the prior 251 sessions' highs (a
252-session window with today) and a new low when today's low <= the min of the
prior 251 lows; it counts only with today's value and all 251 prior values.

`highs_lows_lists` turns per-symbol flags (the snapshot's `new_52w_high` /
`new_52w_low`, which are what the breadth row counts) into the two lists: new
highs by RS rating (highest first), new lows by RS rating (lowest first), ties
and unrated names by symbol.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.constants import NEW_HIGH_LOOKBACK, PERCENT

LIST_COLUMNS = [
    "symbol",
    "name",
    "sector",
    "close",
    "change_pct",
    "rs_rating",
    "stage",
]
LISTS = ("new_highs", "new_lows")


def new_high_low_flags(
    high: pd.DataFrame, low: pd.DataFrame
) -> tuple[pd.Series, pd.Series]:
    """Return (new high, new low) flags per symbol at the panels' last session."""
    cols = high.columns.copy()
    t = high.shape[0]
    if t <= NEW_HIGH_LOOKBACK:
        none = pd.Series(np.zeros(len(cols), dtype=bool), index=cols)
        return none.rename("new_high"), none.copy().rename("new_low")
    h = high.to_numpy(dtype=np.float64)
    lo = low.reindex(index=high.index, columns=cols).to_numpy(dtype=np.float64)
    window = slice(t - 1 - NEW_HIGH_LOOKBACK, t - 1)
    with np.errstate(invalid="ignore"):
        # np.max / np.min propagate NaN: a gap in the window means no signal.
        is_high = h[-1] >= np.max(h[window], axis=0)
        is_low = lo[-1] <= np.min(lo[window], axis=0)
    return (
        pd.Series(is_high, index=cols, name="new_high"),
        pd.Series(is_low, index=cols, name="new_low"),
    )


def _flag(rankings: pd.DataFrame, column: str) -> np.ndarray:
    if column not in rankings:
        return np.zeros(len(rankings), dtype=bool)
    return rankings[column].fillna(False).to_numpy(dtype=bool)


def _sorted(frame: pd.DataFrame, strongest_first: bool) -> pd.DataFrame:
    rating = pd.to_numeric(frame["rs_rating"], errors="coerce").astype(float)
    key = -rating if strongest_first else rating
    order = np.lexsort(
        (frame["symbol"].to_numpy(dtype=object), key.fillna(np.inf).to_numpy())
    )
    return frame.iloc[order].reset_index(drop=True)


def highs_lows_lists(
    rankings: pd.DataFrame,
    close: pd.Series | None = None,
    names: pd.Series | None = None,
) -> dict[str, pd.DataFrame]:
    """Return {"new_highs": rows, "new_lows": rows} with the LIST_COLUMNS.

    `rankings` carries symbol, sector, ret_1d, rs_rating, stage and the flags
    `new_52w_high` / `new_52w_low`; `close` and `names` are indexed by symbol.
    `change_pct` = 100 * ret_1d.
    """
    if rankings is None or rankings.empty or "symbol" not in rankings:
        empty = pd.DataFrame({c: [] for c in LIST_COLUMNS})
        return {k: empty.copy() for k in LISTS}
    symbols = rankings["symbol"]
    base = pd.DataFrame(
        {
            "symbol": symbols.to_numpy(dtype=object),
            "name": _lookup(names, symbols, object),
            "sector": rankings.get("sector", pd.Series(None, index=rankings.index))
            .astype(object)
            .to_numpy(),
            "close": _lookup(close, symbols, np.float64),
            "change_pct": PERCENT
            * pd.to_numeric(rankings.get("ret_1d"), errors="coerce").to_numpy(float),
            "rs_rating": rankings.get("rs_rating").to_numpy(dtype=object),
            "stage": rankings.get("stage").to_numpy(dtype=object),
        }
    )
    base["rs_rating"] = pd.array(base["rs_rating"].tolist(), dtype="Int64")
    base["stage"] = pd.array(base["stage"].tolist(), dtype="Int64")
    highs = base.loc[_flag(rankings, "new_52w_high")]
    lows = base.loc[_flag(rankings, "new_52w_low")]
    return {
        "new_highs": _sorted(highs, strongest_first=True),
        "new_lows": _sorted(lows, strongest_first=False),
    }


def _lookup(values: pd.Series | None, symbols: pd.Series, dtype) -> np.ndarray:
    if values is None:
        return np.full(len(symbols), None if dtype is object else np.nan, dtype=dtype)
    picked = values.reindex(symbols.to_numpy(dtype=object))
    if dtype is object:
        return picked.astype(object).where(picked.notna(), None).to_numpy(dtype=object)
    return pd.to_numeric(picked, errors="coerce").to_numpy(dtype=np.float64)

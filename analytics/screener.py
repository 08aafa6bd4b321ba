"""Screener fields over a daily price panel, and `FIELD OP VALUE` filters on them.

Price fields (DESIGN.md "Screener fields"), each over the symbol's own last N
sessions up to and including the as-of session (null with fewer than N):

* `change_pct = 100 * R1`,
* `pct_from_52w_high = 100 * (C / max(H over the last 252 sessions) - 1)`,
  `pct_from_52w_low = 100 * (C / min(L over the last 252 sessions) - 1)`,
* `pct_vs_sma50 = 100 * (C / SMA50 - 1)`, `pct_vs_sma200 = 100 * (C / SMA200 - 1)`,
* `avg_volume_50d` = mean volume of the last 50 sessions, `avg_dollar_volume_50d` =
  mean of `C * V` over them, `rel_volume = volume / avg_volume_50d`.

Returns (`ret_5d .. ret_252d`, fractions), RS score / rating and the stage come
from the market-state rankings unchanged. A condition on a field that is null
for a row never matches that row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

HIGH_LOW_SESSIONS = 252
SMA_WINDOWS: tuple[int, ...] = (50, 200)
AVG_VOLUME_SESSIONS = 50
PERCENT = 100.0

TEXT_FIELDS: tuple[str, ...] = ("symbol", "name", "sector", "industry")
NUMERIC_FIELDS: tuple[str, ...] = (
    "close",
    "change_pct",
    "volume",
    "avg_volume_50d",
    "avg_dollar_volume_50d",
    "rel_volume",
    "rs_score",
    "rs_rating",
    "ret_5d",
    "ret_21d",
    "ret_63d",
    "ret_126d",
    "ret_252d",
    "stage",
    "weeks_in_stage",
    "pct_from_52w_high",
    "pct_from_52w_low",
    "pct_vs_sma50",
    "pct_vs_sma200",
)
FIELDS: tuple[str, ...] = (
    "symbol",
    "name",
    "sector",
    "industry",
    *NUMERIC_FIELDS,
)
NUMERIC_OPS: tuple[str, ...] = (">=", "<=", ">", "<", "=", "!=")
TEXT_OPS: tuple[str, ...] = ("=", "!=")
PRICE_FIELDS: tuple[str, ...] = (
    "close",
    "volume",
    "avg_volume_50d",
    "avg_dollar_volume_50d",
    "rel_volume",
    "pct_from_52w_high",
    "pct_from_52w_low",
    "pct_vs_sma50",
    "pct_vs_sma200",
)


@dataclass(frozen=True)
class Condition:
    """One `FIELD OP VALUE` filter."""

    field: str
    op: str
    value: float | str

    def text(self) -> str:
        """Return the condition in its canonical `field op value` form."""
        value = self.value
        shown = f"{value:.15g}" if isinstance(value, float) else value
        return f"{self.field}{self.op}{shown}"


def _compare(values: pd.Series, op: str, value: float | str) -> np.ndarray:
    """Return the rows where `values op value` holds (never where null)."""
    if isinstance(value, str):
        text = values.astype(object).where(values.notna(), None)
        lowered = np.array(
            [None if v is None else str(v).lower() for v in text], dtype=object
        )
        present = np.array([v is not None for v in lowered], dtype=bool)
        equal = lowered == value.lower()
        return present & (equal if op == "=" else ~equal)
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    with np.errstate(invalid="ignore"):
        result = {
            ">=": numbers >= value,
            "<=": numbers <= value,
            ">": numbers > value,
            "<": numbers < value,
            "=": numbers == value,
            "!=": numbers != value,
        }[op]
    return result & ~np.isnan(numbers)


def apply_conditions(frame: pd.DataFrame, conditions: list[Condition]) -> pd.DataFrame:
    """Return the rows of `frame` that meet every condition (AND)."""
    if frame.empty or not conditions:
        return frame
    keep = np.ones(len(frame), dtype=bool)
    for cond in conditions:
        if cond.field not in frame.columns:
            return frame.iloc[:0]
        keep &= _compare(frame[cond.field], cond.op, cond.value)
    return frame.loc[keep]


def sort_rows(frame: pd.DataFrame, field: str, order: str) -> pd.DataFrame:
    """Sort by one field (nulls last, ties by symbol)."""
    if frame.empty or field not in frame.columns:
        return frame
    by = [field] if field == "symbol" else [field, "symbol"]
    ascending = [order == "asc"] + [True] * (len(by) - 1)
    key = None
    if field in TEXT_FIELDS:
        key = _text_key
    return frame.sort_values(
        by, ascending=ascending, na_position="last", kind="stable", key=key
    )


def _text_key(values: pd.Series) -> pd.Series:
    return values.str.lower() if values.dtype == object else values


def _last_sessions(valid: np.ndarray, n: int) -> np.ndarray:
    """Mark each column's last `n` valid rows."""
    from_end = np.cumsum(valid[::-1], axis=0)[::-1]
    return valid & (from_end <= n)


def _window_stat(
    values: np.ndarray, window: np.ndarray, enough: np.ndarray, how: str
) -> np.ndarray:
    """Return max / min / mean of `values` over each column's window (NaN if short)."""
    present = window & ~np.isnan(values)
    count = present.sum(axis=0)
    if how == "mean":
        total = np.where(present, values, 0.0).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = total / count
    else:
        fill = -np.inf if how == "max" else np.inf
        picked = np.where(present, values, fill)
        out = picked.max(axis=0) if how == "max" else picked.min(axis=0)
    return np.where(enough & (count > 0), out, np.nan)


def _pct(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = numerator / denominator
    ratio[~np.isfinite(ratio)] = np.nan
    return PERCENT * (ratio - 1.0)


def price_fields(panels: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Compute the price fields at the panel's last row, one row per symbol.

    `panels` maps close / high / low / volume to date x symbol frames (ascending
    dates, the as-of session last). Symbols without a close on the last row get
    nulls: they did not trade in the session.
    """
    close = panels.get("close")
    if close is None or close.empty:
        return pd.DataFrame(columns=PRICE_FIELDS, index=pd.Index([], name="symbol"))
    symbols = pd.Index(close.columns, name="symbol")

    def field(name: str) -> np.ndarray:
        panel = panels.get(name)
        if panel is None:
            return np.full(close.shape, np.nan)
        return panel.reindex(index=close.index, columns=close.columns).to_numpy(
            dtype=np.float64, na_value=np.nan
        )

    c = close.to_numpy(dtype=np.float64, na_value=np.nan)
    high, low, vol = field("high"), field("low"), field("volume")
    valid = ~np.isnan(c)
    traded = valid[-1]
    count = valid.sum(axis=0)
    last = np.where(traded, c[-1], np.nan)
    out: dict[str, np.ndarray] = {
        "close": last,
        "volume": np.where(traded, vol[-1], np.nan),
    }

    def stat(values: np.ndarray, n: int, how: str) -> np.ndarray:
        return _window_stat(
            values, _last_sessions(valid, n), traded & (count >= n), how
        )

    avg_vol = stat(vol, AVG_VOLUME_SESSIONS, "mean")
    out["avg_volume_50d"] = avg_vol
    out["avg_dollar_volume_50d"] = stat(c * vol, AVG_VOLUME_SESSIONS, "mean")
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = out["volume"] / avg_vol
    out["rel_volume"] = np.where(np.isfinite(rel), rel, np.nan)
    out["pct_from_52w_high"] = _pct(last, stat(high, HIGH_LOW_SESSIONS, "max"))
    out["pct_from_52w_low"] = _pct(last, stat(low, HIGH_LOW_SESSIONS, "min"))
    for n in SMA_WINDOWS:
        out[f"pct_vs_sma{n}"] = _pct(last, stat(c, n, "mean"))
    return pd.DataFrame(out, index=symbols).reindex(columns=list(PRICE_FIELDS))


def screener_table(
    rankings: pd.DataFrame, prices: pd.DataFrame, names: pd.Series | None = None
) -> pd.DataFrame:
    """Join rankings (returns, RS, stage) with the price fields into the field table.

    Only symbols with a close in the as-of session are kept.
    """
    if rankings is None or rankings.empty or prices is None or prices.empty:
        return pd.DataFrame(columns=list(FIELDS))
    ranked = rankings.drop_duplicates("symbol").set_index("symbol")
    ranked = ranked[ranked.index.isin(prices.index)]
    symbols = ranked.index
    picked = prices.reindex(symbols)
    columns: dict[str, Any] = {
        "symbol": symbols.to_numpy(dtype=object),
        "name": (
            names.reindex(symbols).to_numpy(dtype=object)
            if names is not None
            else np.full(len(symbols), None, dtype=object)
        ),
        "sector": ranked.get("sector"),
        "industry": ranked.get("sub_industry"),
        "change_pct": PERCENT * pd.to_numeric(ranked.get("ret_1d"), errors="coerce"),
    }
    for col in NUMERIC_FIELDS:
        if col in PRICE_FIELDS:
            columns[col] = picked[col].to_numpy()
        elif col not in columns and col in ranked.columns:
            columns[col] = ranked[col].array
    table = pd.DataFrame(
        {k: v.array if isinstance(v, pd.Series) else v for k, v in columns.items()}
    )
    table = table[table["close"].notna().to_numpy()].reset_index(drop=True)
    return table.reindex(columns=list(FIELDS))

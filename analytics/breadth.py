"""Market breadth per session and the classic 11-row breadth panel.

Definitions (all "in sessions" of the panel, counting real symbols):

* advancers / decliners / unchanged: close vs the previous session's close, among
  symbols with both closes; the first session has no prior close, so all are 0.
  `ad_line` is the running sum of advancers - decliners.
* `pct_above_smaN` = 100 * (symbols with close > SMA_N) / (symbols with a valid SMA_N);
  an SMA needs N closes with no gap ending that session (null when no symbol has one).
* `new_highs`: high >= max of the prior 251 sessions' highs; `new_lows`: low <= min of
  the prior 251 lows. A symbol counts only with all 251 prior values and today's.
* McClellan: ratio = 1000 * (A - D) / (A + D) (missing when A + D = 0); EMA19 and
  EMA39 with alpha 0.10 and 0.05, each seeded with the first ratio; a missing ratio
  holds the EMAs; `mcclellan_osc` = EMA19 - EMA39; `mcclellan_sum` = running sum of
  the oscillator.
* up_volume / down_volume: total volume of advancers / decliners (missing volume = 0).

The 11-row panel compares, for each symbol with both values: day = close vs previous
close; open = close vs today's open; week/month/quarter/half/year = close vs the close
5/21/63/126/252 sessions earlier; EMA10/EMA20 = close vs its EMA (alpha 2/(n+1), seeded
with the symbol's first close, gaps skipped, needs n closes); SMA50/SMA200 = close vs
its SMA. "up" means strictly above, "down" strictly below; total counts symbols with
both values, so unchanged = total - up - down; pct_up = 100 * up / total.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics._numeric import (
    NAN,
    ArrayInfo,
    count_above_window_mean,
    count_rows,
    ema_last,
    ema_series,
    ema_update,
    nan_columns,
    prior_extreme,
    row_cumsum,
    safe_div,
    tail_sums,
    window_mean_from,
)
from analytics.constants import (
    BREADTH_SMA_WINDOWS,
    MCCLELLAN_FAST_ALPHA,
    MCCLELLAN_SCALE,
    MCCLELLAN_SLOW_ALPHA,
    NEW_HIGH_LOOKBACK,
    PANEL_CHANGE_WINDOWS,
    PANEL_EMA_WINDOWS,
    PANEL_SMA_WINDOWS,
    PERCENT,
)

BREADTH_COLUMNS = [
    "advancers",
    "decliners",
    "unchanged",
    "ad_line",
    *[f"pct_above_sma{n}" for n in BREADTH_SMA_WINDOWS],
    "new_highs",
    "new_lows",
    "mcclellan_osc",
    "mcclellan_sum",
    "up_volume",
    "down_volume",
]
INT_COLUMNS = (
    "advancers",
    "decliners",
    "unchanged",
    "ad_line",
    "new_highs",
    "new_lows",
)
PANEL_COLUMNS = ["label", "up", "down", "total", "pct_up"]
COUNT_KEYS = (
    "advancers",
    "decliners",
    "unchanged",
    "up_volume",
    "down_volume",
    "new_highs",
    "new_lows",
    *[f"above{w}" for w in BREADTH_SMA_WINDOWS],
    *[f"have{w}" for w in BREADTH_SMA_WINDOWS],
)


def ema_alpha(n: int) -> float:
    """Return the smoothing factor 2 / (n + 1) of an n-period EMA."""
    return 2.0 / (n + 1)


def mcclellan_ratio(adv: np.ndarray, dec: np.ndarray) -> np.ndarray:
    """Return 1000 * (A - D) / (A + D), NaN where A + D = 0."""
    return safe_div(MCCLELLAN_SCALE * (adv - dec), adv + dec)


def mcclellan(adv: np.ndarray, dec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (oscillator, summation index) from advancer and decliner counts."""
    ratio = mcclellan_ratio(adv, dec)
    osc = ema_series(ratio, MCCLELLAN_FAST_ALPHA) - ema_series(
        ratio, MCCLELLAN_SLOW_ALPHA
    )
    summ = np.where(np.isnan(osc), NAN, np.cumsum(np.where(np.isnan(osc), 0.0, osc)))
    return osc, summ


def _count_rows(mask: np.ndarray) -> np.ndarray:
    return count_rows(mask)


def sma_above_counts(info: ArrayInfo, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (symbols above their SMA, symbols with an SMA) for rows window-1.. .

    Compares close - ref with (window sum of close - ref) / window, i.e. close > SMA
    on values centred on the last row (see ArrayInfo.centred).
    """
    n = info.a.shape[1]
    centred = info.centred[0]
    sums = np.subtract(info.csum[window:], info.csum[:-window])
    sums /= window
    above = np.greater(centred[window - 1 :], sums)
    full = info.full_windows(window)
    if full is None:
        return _count_rows(above), np.full(len(above), float(n))
    above &= full
    return _count_rows(above), _count_rows(full)


def _clean_sma_counts(
    close: np.ndarray, dirty: np.ndarray, windows: tuple[int, ...]
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Like sma_above_counts over the columns without NaN; `dirty` columns count 0.

    Their reference is NaN, so every centred value, sum and comparison of a dirty
    column is NaN / False without a masking pass over the whole panel.
    """
    ref = close[-1].copy()
    ref[dirty] = NAN
    centred = close - ref
    csum = row_cumsum(centred)
    clean = float(close.shape[1] - len(dirty))
    out = {}
    for w in windows:
        above = count_above_window_mean(centred, csum, w)
        out[w] = (above, np.full(len(above), clean))
    return out


def advance_decline(
    close: np.ndarray, volume: np.ndarray, dirty: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Return advancers, decliners, unchanged and up/down volume for rows 1.. .

    With `dirty` given, those columns are left out (counted separately); otherwise
    every pair of valid closes counts.
    """
    n = close.shape[1]
    diff = np.subtract(close[1:], close[:-1])
    if dirty is not None:
        diff[:, dirty] = NAN
    with np.errstate(invalid="ignore"):
        up = diff > 0
        down = diff < 0
    adv, dec = _count_rows(up), _count_rows(down)
    if dirty is None:
        pairs = n - _count_rows(np.isnan(diff))
    else:
        pairs = float(n - len(dirty))
    vol = volume[1:]
    gaps = nan_columns(vol)
    if len(gaps):
        vol = vol.copy(order="K")
        vol[:, gaps] = np.nan_to_num(vol[:, gaps], nan=0.0)

    rows_contiguous = vol.strides[-1] == vol.itemsize

    def weighted(mask: np.ndarray) -> np.ndarray:
        # Match the mask's memory layout to the volume panel's (often column-major).
        mask = mask if rows_contiguous else np.asfortranarray(mask)
        return np.einsum("ij,ij->i", vol, mask, dtype=np.float64, casting="unsafe")

    return {
        "advancers": adv,
        "decliners": dec,
        "unchanged": pairs - adv - dec,
        "up_volume": weighted(up),
        "down_volume": weighted(down),
    }


def _masked_counts(close: np.ndarray, volume: np.ndarray) -> dict[str, np.ndarray]:
    """Return A/D and SMA counts of columns with gaps, masking NaN explicitly."""
    t = close.shape[0]
    info = ArrayInfo(close)
    out = {k: np.zeros(t) for k in COUNT_KEYS}
    if t > 1:
        for key, values in advance_decline(close, volume).items():
            out[key][1:] = values
    for w in BREADTH_SMA_WINDOWS:
        if t >= w:
            out[f"above{w}"][w - 1 :], out[f"have{w}"][w - 1 :] = sma_above_counts(
                info, w
            )
    return out


def breadth_counts(
    close: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    volume: np.ndarray,
    nan: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Return per-session counts and volumes, additive over disjoint symbol sets.

    Columns without any NaN are counted in whole-panel passes; the few with NaN
    (late listings, gaps) are counted separately with explicit masks.
    """
    t, n = close.shape
    out = {k: np.zeros(t) for k in COUNT_KEYS}
    if t == 0 or n == 0:
        return out
    close = np.ascontiguousarray(close)  # the row-wise kernels want row-major
    nan = np.isnan(close) if nan is None else nan
    dirty = np.flatnonzero(nan.any(axis=0))
    if t > 1:
        for key, values in advance_decline(close, volume, dirty).items():
            out[key][1:] = values
    windows = tuple(w for w in BREADTH_SMA_WINDOWS if t >= w)
    if windows:
        for w, (above, have) in _clean_sma_counts(close, dirty, windows).items():
            out[f"above{w}"][w - 1 :], out[f"have{w}"][w - 1 :] = above, have
    if len(dirty):
        part = _masked_counts(close[:, dirty], volume[:, dirty])
        for k in COUNT_KEYS:
            out[k] += part[k]
    lb = NEW_HIGH_LOOKBACK
    if t > lb:
        # NaN-propagating window extremes: a gap in the window means no signal.
        hi = prior_extreme(high, lb, np.maximum)
        lo = prior_extreme(low, lb, np.minimum)
        with np.errstate(invalid="ignore"):
            out["new_highs"][lb:] = _count_rows(high[lb:] >= hi)
            out["new_lows"][lb:] = _count_rows(low[lb:] <= lo)
    return out


def breadth_columns(counts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Turn per-session counts into the breadth columns (ratios, A/D, McClellan)."""
    out = {k: counts[k] for k in ("advancers", "decliners", "unchanged")}
    out["ad_line"] = np.cumsum(counts["advancers"] - counts["decliners"])
    for w in BREADTH_SMA_WINDOWS:
        out[f"pct_above_sma{w}"] = safe_div(
            PERCENT * counts[f"above{w}"], counts[f"have{w}"]
        )
    for k in ("new_highs", "new_lows", "up_volume", "down_volume"):
        out[k] = counts[k]
    out["mcclellan_osc"], out["mcclellan_sum"] = mcclellan(
        counts["advancers"], counts["decliners"]
    )
    return out


def breadth_arrays(
    close: np.ndarray, high: np.ndarray, low: np.ndarray, volume: np.ndarray
) -> dict[str, np.ndarray]:
    """Compute the per-session breadth columns from (session x symbol) arrays."""
    return breadth_columns(breadth_counts(close, high, low, volume))


def breadth_frame(cols: dict[str, np.ndarray], index: pd.Index) -> pd.DataFrame:
    """Wrap breadth columns in a DataFrame indexed by date with integer counts."""
    data = {
        c: cols[c].astype(np.int64) if c in INT_COLUMNS else cols[c]
        for c in BREADTH_COLUMNS
    }
    return pd.DataFrame(data, index=pd.DatetimeIndex(index, name="date"))


def aligned_array(frame: pd.DataFrame | None, like: pd.DataFrame) -> np.ndarray:
    """Return frame's values aligned to `like` (all NaN when frame is None)."""
    if frame is None:
        return np.full(like.shape, NAN)
    if frame.index.equals(like.index) and frame.columns.equals(like.columns):
        return frame.to_numpy(dtype=np.float64)
    aligned = frame.reindex(index=like.index, columns=like.columns)
    return aligned.to_numpy(dtype=np.float64)


def breadth(
    close: pd.DataFrame,
    high: pd.DataFrame | None = None,
    low: pd.DataFrame | None = None,
    volume: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Return per-session breadth of the panel's symbols (see module docstring)."""
    a = close.to_numpy(dtype=np.float64)
    cols = breadth_arrays(
        a,
        aligned_array(high, close),
        aligned_array(low, close),
        aligned_array(volume, close),
    )
    return breadth_frame(cols, close.index)


def panel_table(last: np.ndarray, rows: list[tuple[str, np.ndarray]]) -> pd.DataFrame:
    """Count up/down/total per panel row from the last closes and reference values."""
    out = []
    last_ok = ~np.isnan(last)
    for label, ref in rows:
        with np.errstate(invalid="ignore"):
            up = int(np.count_nonzero(last > ref))
            down = int(np.count_nonzero(last < ref))
        total = int(np.count_nonzero(last_ok & ~np.isnan(ref)))
        pct = PERCENT * up / total if total else NAN
        out.append((label, up, down, total, pct))
    return pd.DataFrame(out, columns=PANEL_COLUMNS)


def panel_references(
    history: np.ndarray,
    last: np.ndarray,
    last_open: np.ndarray | None,
    emas: dict[int, np.ndarray],
    smas: dict[int, np.ndarray] | None = None,
    columns: np.ndarray | None = None,
) -> list[tuple[str, np.ndarray]]:
    """Return (label, reference per symbol) for the 11 rows given the prior sessions.

    `history` holds the sessions before the last one (optionally wider than `last`,
    with `columns` selecting the symbols), `emas` the EMA10/EMA20 values including
    the last session (NaN where not yet valid), `smas` optional precomputed
    SMA50/SMA200 values at the last session (required with `columns`).
    """
    t, n = history.shape[0], last.shape[0]
    blank = np.full(n, NAN)

    def lag(k: int) -> np.ndarray:
        if not 0 < k <= t:
            return blank
        return history[t - k] if columns is None else history[t - k][columns]

    rows: list[tuple[str, np.ndarray]] = [("day", lag(1))]
    rows.append(("open", blank if last_open is None else last_open))
    rows += [(label, lag(k)) for label, k in PANEL_CHANGE_WINDOWS]
    rows += [(f"ema{k}", emas[k]) for k in PANEL_EMA_WINDOWS]
    smas = smas or {}
    for k in PANEL_SMA_WINDOWS:
        if k in smas:
            sma = smas[k]
        else:
            sums, ref = tail_sums(history, k)
            sma = window_mean_from(sums, ref, last, k)
        rows.append((f"sma{k}", sma))
    return rows


def panel_emas(close: np.ndarray) -> dict[int, np.ndarray]:
    """Return EMA10 and EMA20 at the last row (NaN below n valid closes).

    Computed as the EMA over the prior rows plus one update step, exactly the way
    the snapshot engine adds its newest session.
    """
    alphas = tuple(ema_alpha(k) for k in PANEL_EMA_WINDOWS)
    states, count = ema_last(close[:-1], alphas)
    last = close[-1]
    count = count + ~np.isnan(last)
    return {
        k: np.where(count >= k, ema_update(states[i], last, alphas[i]), NAN)
        for i, k in enumerate(PANEL_EMA_WINDOWS)
    }


def breadth_panel(
    close: pd.DataFrame, opens: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Return the classic 11-row breadth panel at the panel's last session."""
    a = np.ascontiguousarray(close.to_numpy(dtype=np.float64))
    n = a.shape[1]
    if a.shape[0] == 0:
        blank = np.full(n, NAN)
        rows = panel_references(
            np.zeros((0, n)), blank, None, dict.fromkeys(PANEL_EMA_WINDOWS, blank)
        )
        return panel_table(blank, rows)
    o = None if opens is None else aligned_array(opens, close)[-1]
    rows = panel_references(a[:-1], a[-1], o, panel_emas(a))
    return panel_table(a[-1], rows)

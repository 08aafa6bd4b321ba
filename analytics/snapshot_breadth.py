"""The snapshot engine's breadth: settled counts, and the newest session's row.

The settled sessions' counts (`breadth_counts`, about a third of a full snapshot on
a large panel) run as a `Job`, in the worker thread on large panels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics._numeric import NAN, ema_update, window_mean_from
from analytics.breadth import (
    breadth_columns,
    breadth_counts,
    ema_alpha,
    mcclellan_ratio,
    panel_references,
    panel_table,
)
from analytics.constants import (
    BREADTH_SMA_WINDOWS,
    MCCLELLAN_FAST_ALPHA,
    MCCLELLAN_SLOW_ALPHA,
    PANEL_EMA_WINDOWS,
    PANEL_SMA_WINDOWS,
    PERCENT,
)
from analytics.snapshot_parts import THREAD_MIN_VALUES, WORK_FIELDS, Job, ema_scalar


def _settled_counts(fields: list[np.ndarray], nan: np.ndarray, outside: np.ndarray):
    """Return breadth counts of the working columns minus the non-universe ones."""
    counts = breadth_counts(*fields, nan=nan)
    if len(outside):
        other = breadth_counts(*(a[:, outside] for a in fields))
        counts = {k: v - other[k] for k, v in counts.items()}
    return counts


class BreadthParts:
    """Snapshot engine part: the newest session's breadth row and breadth panel."""

    def _start_breadth(self) -> None:
        """Start counting the settled sessions' breadth (joined by _settle_breadth)."""
        fields = [self.arr[f] for f in WORK_FIELDS]
        args = (fields, self.info.nan, self.uout)
        self.bcols = None
        threaded = fields[0].size >= THREAD_MIN_VALUES
        self._counts = Job(_settled_counts, *args, threaded=threaded)

    def _settle_breadth(self, row: dict) -> None:
        """Finish the settled breadth once, then the newest row's running columns."""
        if self.bcols is None:
            self.bcols = bcols = breadth_columns(self._counts.result())
            ratio = mcclellan_ratio(bcols["advancers"], bcols["decliners"])
            self.mc_fast = self.mc_slow = NAN
            for v in ratio.tolist():
                self.mc_fast = ema_scalar(self.mc_fast, v, MCCLELLAN_FAST_ALPHA)
                self.mc_slow = ema_scalar(self.mc_slow, v, MCCLELLAN_SLOW_ALPHA)
            t = len(self.index)
            osc = bcols["mcclellan_osc"]
            self.mc_sum_raw = float(np.nansum(osc)) if t else 0.0
            self.ad_last = float(bcols["ad_line"][-1]) if t else 0.0
        adv, dec = row["advancers"], row["decliners"]
        row["ad_line"] = self.ad_last + (adv - dec)
        ratio = float(mcclellan_ratio(np.float64(adv), np.float64(dec)))
        fast = ema_scalar(self.mc_fast, ratio, MCCLELLAN_FAST_ALPHA)
        slow = ema_scalar(self.mc_slow, ratio, MCCLELLAN_SLOW_ALPHA)
        osc = fast - slow
        row["mcclellan_osc"] = osc
        row["mcclellan_sum"] = NAN if osc != osc else self.mc_sum_raw + osc

    def _breadth_row(self, xw: dict, xu: dict) -> tuple[dict, dict, dict]:
        c, t = self.arr["close"], len(self.index)
        xc = xu["close"]
        prev = self._u(c[-1]) if t else np.full(len(xc), NAN)
        diff = (xc - prev)[None, :]
        with np.errstate(invalid="ignore"):
            up, down = diff > 0, diff < 0
        adv = float(np.count_nonzero(up))
        dec = float(np.count_nonzero(down))
        vol = np.nan_to_num(xu["volume"], nan=0.0)[None, :]
        row = {
            "advancers": adv,
            "decliners": dec,
            "unchanged": float(np.count_nonzero(~np.isnan(diff))) - adv - dec,
            "up_volume": float(np.einsum("ij,ij->i", vol, up.astype(np.float64))[0]),
            "down_volume": float(
                np.einsum("ij,ij->i", vol, down.astype(np.float64))[0]
            ),
        }
        flags, smas = {}, {}
        for w in sorted({*BREADTH_SMA_WINDOWS, *PANEL_SMA_WINDOWS}):
            sums, ref = self.tail[w]
            smas[w] = sma = window_mean_from(sums, ref, xc, w)
            valid = ~np.isnan(sma)
            with np.errstate(invalid="ignore"):
                above = xc > sma
            if w in BREADTH_SMA_WINDOWS:
                have = np.count_nonzero(valid)
                pct = PERCENT * np.count_nonzero(above) / have if have else NAN
                row[f"pct_above_sma{w}"] = pct
                flags[f"above_sma{w}"] = (above, ~valid)
        with np.errstate(invalid="ignore"):
            new_high = xu["high"] >= self.hi_prior
            new_low = xu["low"] <= self.lo_prior
        row["new_highs"], row["new_lows"] = float(new_high.sum()), float(new_low.sum())
        flags["new_52w_high"] = (new_high, np.zeros_like(new_high))
        flags["new_52w_low"] = (new_low, np.zeros_like(new_low))
        return row, flags, smas

    def _panel(self, x: dict, smas: dict) -> pd.DataFrame:
        xc = x["close"]
        emas = {}
        valid = self.ema_count + ~np.isnan(xc)
        for i, k in enumerate(PANEL_EMA_WINDOWS):
            state = ema_update(self.ema_states[i], xc, ema_alpha(k))
            emas[k] = np.where(valid >= k, state, NAN)
        refs = panel_references(
            self.arr["close"], xc, x["open"], emas, smas, columns=self.usel
        )
        return panel_table(xc, refs)

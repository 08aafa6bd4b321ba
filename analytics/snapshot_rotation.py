"""The snapshot engine's rotation: settled RRG bars once, the newest bar per update."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.panel import weekly_arrays
from analytics.rrg import rrg, rrg_frame
from analytics.snapshot_parts import week_id


class RotationParts:
    """Snapshot engine part: RRG tails of the sector ETFs against the benchmark."""

    def _prepare_rotation(self) -> None:
        """Cache the settled bars of the rotation symbols and the benchmark."""
        self.rot_names = np.asarray(self.rot_symbols, dtype=object)
        if not self.has_bench or not self.rot_symbols:
            return
        arrays = {"close": self.rot_close, "bench": self.bench[:, None]}
        if self.rrg_period == "daily":
            self.rot_bars = {"same": (arrays, self.index), "new": (arrays, self.index)}
            return
        weekly, dates = weekly_arrays(arrays, self.index)
        last = slice(0, max(len(dates) - 1, 0))
        self.rot_bars = {
            "same": ({k: v[last] for k, v in weekly.items()}, dates[last]),
            "new": (weekly, dates),
        }

    def _rotation(self, date: pd.Timestamp, close_all: np.ndarray) -> pd.DataFrame:
        if not self.has_bench or not self.rot_symbols:
            empty = pd.DatetimeIndex([], name="date")
            return rrg(pd.DataFrame(index=empty), pd.Series(dtype=float), tail=0)
        t = len(self.index)
        weekly = self.rrg_period == "weekly"
        same = weekly and bool(t) and week_id(date) == week_id(self.index[-1])
        base, dates = self.rot_bars["same" if same else "new"]
        newest = {"close": close_all[None, 1:], "bench": close_all[None, :1]}
        if same:
            rows = slice(self.last_week_start, t)
            merged = {
                "close": np.vstack([self.rot_close[rows], newest["close"]]),
                "bench": np.vstack([self.bench[rows, None], newest["bench"]]),
            }
            days = pd.DatetimeIndex([date] * len(merged["close"]))
            newest, _ = weekly_arrays(merged, days)
        prices = np.vstack([base["close"], newest["close"]])
        bench = np.append(base["bench"], newest["bench"][:, 0])
        when = dates.append(pd.DatetimeIndex([date]))
        return rrg_frame(self.rot_names, when, prices, bench, self.rrg_tail)

"""The snapshot engine's rankings: rows in rating order, reasons, groups and info."""

from __future__ import annotations

from collections import Counter
from functools import partial

import numpy as np
import pandas as pd

from analytics._numeric import NAN
from analytics.constants import (
    REASON_MISSING_LAG,
    REASON_NO_DATA,
    REASON_SHORT_HISTORY,
    REASON_STALE,
    RS_MIN_SESSIONS,
)
from analytics.groups import group_codes, group_tables
from analytics.returns import rating_array
from analytics.snapshot_parts import (
    META_COLUMNS,
    RANKING_COLUMNS,
    as_float,
    column_array,
    pad,
)
from analytics.stage_machine import NO_STAGE


class RankingParts:
    """Snapshot engine part: ranking rows, exclusion reasons, group tables, info."""

    def _prepare_rows(self) -> None:
        """Cache the ranking rows (universe, then symbols without data) and groups."""
        rows = [*self.symbols.tolist(), *self.missing]
        self.row_symbols = np.asarray(rows, dtype=object)
        self.row_meta = {}
        # One lookup per row shared by the columns; -1 picks the trailing None.
        at = self.meta_rows
        for c in META_COLUMNS:
            values = np.empty(len(self.meta_values[c]) + 1, dtype=object)
            values[:-1] = self.meta_values[c]
            self.row_meta[c] = values[at]
        self.row_groups = {c: group_codes(self.row_meta[c]) for c in META_COLUMNS}
        self.row_name_rank = np.argsort(np.argsort(self.row_symbols, kind="stable"))
        self.name_rank = self.row_name_rank[: len(self.symbols)]

    def _rankings(
        self, per: dict, stage: dict, flags: dict
    ) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
        """Return (rankings sorted by rating, {sector/sub_industry: group table})."""
        m = len(self.missing)
        rating_i, rating_na = rating_array(per["rs_score"], per["sessions"])
        rating_v = np.where(rating_na, NAN, rating_i.astype(np.float64))
        reasons = self._reasons(per, rating_na)
        stage_na = stage["stage"] == NO_STAGE
        floats = {
            k: pad(per[k], m, NAN) for k in RANKING_COLUMNS if k.startswith("ret_")
        }
        # (values, null mask or None) per column, gathered in rating order below.
        pad_mask = partial(pad, extra=m, fill=True)
        raw: dict[str, tuple[np.ndarray, np.ndarray | None]] = {
            "symbol": (self.row_symbols, None),
            "sector": (self.row_meta["sector"], None),
            "sub_industry": (self.row_meta["sub_industry"], None),
            "rs_score": (pad(per["rs_score"], m, NAN), None),
            "rs_rating": (pad(rating_i, m, 0), pad_mask(rating_na)),
            **{k: (v, None) for k, v in floats.items()},
            "stage": (pad(stage["stage"].astype(np.int64), m, 0), pad_mask(stage_na)),
            "weeks_in_stage": (
                pad(np.where(stage_na, 0, stage["weeks"]).astype(np.int64), m, 0),
                pad_mask(stage_na),
            ),
            "rs_new_high": (pad(per["rs_new_high"], m, False), None),
            **{
                k: (pad(v & ~mask, m, False), pad_mask(mask))
                for k, (v, mask) in flags.items()
                if k.startswith("above_sma")
            },
            "new_52w_high": (pad(flags["new_52w_high"][0], m, False), None),
            "new_52w_low": (pad(flags["new_52w_low"][0], m, False), None),
            "sessions": (pad(per["sessions"].astype(np.int64), m, 0), None),
            "excluded_reason": (pad(reasons, m, REASON_NO_DATA), None),
        }
        order = np.lexsort(
            (
                self.row_name_rank,
                -np.nan_to_num(raw["rs_score"][0], nan=-np.inf),
                -pad(np.nan_to_num(rating_v, nan=-1.0), m, -1.0),
            )
        )
        frame = pd.DataFrame(
            {
                c: column_array(v[order], None if k is None else k[order])
                for c, (v, k) in raw.items()
            },
            copy=False,
        )
        flag_values = {
            k: pad(as_float(v, mask), m, NAN)
            for k, (v, mask) in flags.items()
            if k.startswith("above_sma")
        }
        groups = group_tables(
            self.row_groups,
            pad(rating_v, m, NAN),
            pad(as_float(stage["stage"], stage_na), m, NAN),
            floats,
            flag_values,
        )
        return frame, groups

    def _reasons(self, per: dict, unrated: np.ndarray) -> np.ndarray:
        sessions = per["sessions"]
        reasons = np.full(len(self.symbols), None, dtype=object)
        # Later assignments win: the most basic reason is reported.
        reasons[unrated & np.isnan(per["rs_score"])] = REASON_MISSING_LAG
        reasons[unrated & (sessions < RS_MIN_SESSIONS)] = REASON_SHORT_HISTORY
        reasons[unrated & np.isnan(per["close"])] = REASON_STALE
        reasons[sessions == 0] = REASON_NO_DATA
        return reasons

    def _info(self, date: pd.Timestamp | None, rankings: pd.DataFrame) -> pd.DataFrame:
        reasons = rankings["excluded_reason"].to_numpy(dtype=object)
        counts = Counter(reasons[reasons != None].tolist())  # noqa: E711 (elementwise)
        rated = len(reasons) - sum(counts.values())
        return pd.DataFrame(
            {
                "as_of": [date],
                "symbols": [len(rankings)],
                "rated": [rated],
                "excluded": [sum(counts.values())],
                "excluded_by_reason": [dict(sorted(counts.items()))],
                "benchmark": [self.bench_symbol if self.has_bench else None],
                "sessions": [len(self.index) + (date is not None)],
            }
        )

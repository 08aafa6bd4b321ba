"""Market-state snapshot: every metric for a universe at its newest session.

`SnapshotEngine(history, ...)` does the heavy work once over the settled sessions
(everything before the newest one); `engine.update(date, row)` then adds the newest,
still changing session (for example today's live prices) in a few milliseconds and
may be called again and again for the same date. `market_snapshot(panels, ...)` is
exactly `SnapshotEngine(panels[:-1]).update(last date, panels[-1])`, so the full and
the incremental path cannot disagree.

Universe: the symbols listed in `meta` (in the panel or not: those without data are
listed with a reason); with no meta, every panel column except the benchmark and the
sector ETFs. Rankings, stages and breadth cover the universe; rotation covers the
sector ETFs present in the panel against the benchmark (`sector_etfs`, default the
11 SPDR ETFs). Columns outside the universe are not copied out: per-symbol results
are computed on the whole panel and selected, and breadth counts subtract them.

Keys of the result (all DataFrames):

* `rankings`: one row per universe symbol, best RS rating first: symbol, sector,
  sub_industry, rs_score, rs_rating (Int64), ret_1d .. ret_252d, ret_ytd, stage,
  weeks_in_stage (Int64), rs_new_high, above_sma20/50/200 (boolean, null without an
  SMA), new_52w_high, new_52w_low, sessions, excluded_reason (null when rated;
  otherwise "no price data", "no price on the last session", "fewer than 253
  sessions" or "missing price at a required lag").
* `stages`: symbol plus the columns of `weinstein_stages` (current week).
* `stage_changes`: confirmed stage changes of the last 13 weeks (symbol, date,
  from_stage, to_stage), by date then symbol.
* `rotation`: RRG tails (symbol, date, rs_ratio, rs_momentum, quadrant, heading).
* `breadth`: per session, the columns of `breadth`.
* `breadth_panel`: the 11-row panel of `breadth_panel`.
* `sectors`, `industries`: `group_ranking` by sector and by sub_industry, with
  pct_above_sma20/50/200 per group.
* `info`: one row: as_of, symbols, rated, excluded, excluded_by_reason (dict),
  benchmark (null when absent), sessions.
"""

from collections.abc import Mapping

import numpy as np
import pandas as pd

from analytics._numeric import (
    NAN,
    ArrayInfo,
    ema_last,
    nested_tail_sums,
    row_major,
    safe_div,
    scaled_ratio_rows,
)
from analytics.breadth import (
    BREADTH_COLUMNS,
    breadth_frame,
    breadth_panel,
    ema_alpha,
)
from analytics.constants import (
    BREADTH_SMA_WINDOWS,
    DEFAULT_BENCHMARK,
    NEW_HIGH_LOOKBACK,
    PANEL_EMA_WINDOWS,
    PANEL_SMA_WINDOWS,
    RETURN_WINDOWS,
    RRG_DEFAULT_TAIL,
    RS_LINE_SCALE,
    RS_WEIGHTS,
    SECTOR_ETFS,
)
from analytics.returns import return_column
from analytics.rrg import rrg
from analytics.snapshot_breadth import BreadthParts
from analytics.snapshot_parts import (
    RANKING_COLUMNS,
    ROW_FIELDS,
    RS_PRIOR,
    WORK_FIELDS,
    field_array,
    normalise_meta,
    positions,
    session_date,
)
from analytics.snapshot_rankings import RankingParts
from analytics.snapshot_rotation import RotationParts
from analytics.snapshot_stages import StageParts
from analytics.stage_history import StageHistory
from analytics.stage_machine import StageState
from analytics.stages import current_frame, stage_changes

__all__ = ["RANKING_COLUMNS", "SNAPSHOT_KEYS", "SnapshotEngine", "market_snapshot"]

SNAPSHOT_KEYS = (
    "rankings",
    "stages",
    "stage_changes",
    "rotation",
    "breadth",
    "breadth_panel",
    "sectors",
    "industries",
    "info",
)


class SnapshotEngine(RankingParts, StageParts, BreadthParts, RotationParts):
    """Precompute everything that depends only on settled sessions; add the newest."""

    def __init__(
        self,
        history: dict[str, pd.DataFrame],
        meta: pd.DataFrame | None = None,
        bench_symbol: str = DEFAULT_BENCHMARK,
        sector_etfs: dict[str, str] | None = None,
        rrg_period: str = "weekly",
        rrg_tail: int | None = RRG_DEFAULT_TAIL,
        stage_history: StageHistory | None = None,
    ) -> None:
        close = history.get("close")
        if close is None:
            close = pd.DataFrame(index=pd.DatetimeIndex([], name="date"))
        self.index = pd.DatetimeIndex(close.index, name="date")
        self.meta_symbols, self.meta_values = normalise_meta(meta)
        self.bench_symbol = bench_symbol
        self.sector_etfs = dict(SECTOR_ETFS if sector_etfs is None else sector_etfs)
        self.rrg_period, self.rrg_tail = rrg_period, rrg_tail
        self.stage_history = stage_history
        columns = [str(c) for c in close.columns.tolist()]
        self.columns = pd.Index(columns, dtype=object)
        self._labels = close.columns  # as given (self.columns holds them as str)
        if self.meta_symbols:
            listed = np.asarray(self.meta_symbols, dtype=object)
            found = positions(self.columns, self.meta_symbols)
            symbols, in_panel = listed[found >= 0], found[found >= 0]
            self.missing = listed[found < 0].tolist()
            # Meta row of each ranking row (the universe, then those without data).
            self.meta_rows = np.append(
                np.flatnonzero(found >= 0), np.flatnonzero(found < 0)
            )
        else:
            skip = {bench_symbol, *self.sector_etfs}
            symbols = [s for s in columns if s not in skip]
            in_panel = positions(self.columns, symbols)
            self.missing = []
            self.meta_rows = np.full(len(symbols), -1, dtype=np.intp)
        self.symbols = pd.Index(np.asarray(symbols, dtype=object), name="symbol")
        outside = np.ones(len(columns), dtype=bool)
        outside[in_panel] = False
        if outside.sum() <= len(symbols):
            # Work on the whole panel (no copies); subtract outside columns from counts.
            self.take, self.usel, self.uout = None, in_panel, np.flatnonzero(outside)
        else:
            self.take, self.usel = in_panel, np.arange(len(symbols))
            self.uout = np.zeros(0, dtype=np.intp)
        t = len(self.index)
        self.arr: dict[str, np.ndarray] = {}
        full_close = field_array(close, close.columns, self.columns, t)
        for f in WORK_FIELDS:
            full = (
                full_close
                if f == "close"
                else field_array(history.get(f), close.columns, self.columns, t)
            )
            self.arr[f] = full if self.take is None else full[:, self.take]
        # Row-wise kernels need row-major closes; pandas panels are column-major.
        self.arr["close"] = row_major(self.arr["close"])
        extra = positions(self.columns, [bench_symbol, *self.sector_etfs])
        self.has_bench = bool(extra[0] >= 0)
        self.bench = full_close[:, extra[0]] if self.has_bench else None
        rot = extra[1:] >= 0
        self.rot_symbols = [
            s for s, ok in zip(self.sector_etfs, rot, strict=True) if ok
        ]
        self.rot_close = full_close[:, extra[1:][rot]]
        # Benchmark then rotation columns of a newest row (-1: the NaN appended).
        self.extra_pos = np.append(extra[:1], extra[1:][rot])
        self._known_indexes: list[pd.Index] = []
        self._ytd_cache: dict[int, np.ndarray] = {}
        self._lag_cache: dict[int, np.ndarray] = {}
        self._prepare_rows()
        self._prepare()
        self._prepare_rotation()

    # -- settled sessions -------------------------------------------------------------
    def _u(self, values: np.ndarray) -> np.ndarray:
        """Select the universe columns (last axis) of a working-width array."""
        return values[..., self.usel]

    def _prepare(self) -> None:
        c, t = self.arr["close"], len(self.index)
        self.info = ArrayInfo(c)
        self.sessions = self._u(self.info.valid_count).astype(np.int64)
        self._start_breadth()  # joined in update(); see snapshot_breadth
        n = len(self.symbols)
        if t >= NEW_HIGH_LOOKBACK:
            self.hi_prior = self._u(
                np.max(self.arr["high"][-NEW_HIGH_LOOKBACK:], axis=0)
            )
            self.lo_prior = self._u(
                np.min(self.arr["low"][-NEW_HIGH_LOOKBACK:], axis=0)
            )
        else:
            self.hi_prior = self.lo_prior = np.full(n, NAN)
        if self.has_bench and t >= RS_PRIOR:
            rs = scaled_ratio_rows(c, self.bench, RS_PRIOR, RS_LINE_SCALE)
            self.rs_prior = self._u(np.max(rs, axis=0))
        else:
            self.rs_prior = np.full(n, NAN)
        self.tail = {
            w: (self._u(sums), self._u(ref))
            for w, (sums, ref) in nested_tail_sums(
                c, sorted({*BREADTH_SMA_WINDOWS, *PANEL_SMA_WINDOWS})
            ).items()
        }
        alphas = tuple(ema_alpha(k) for k in PANEL_EMA_WINDOWS)
        missing = t - self.info.valid_count
        states, count = ema_last(c, alphas, self.info.nan, missing)
        self.ema_states, self.ema_count = self._u(states), self._u(count)
        self._prepare_weeks()

    def _ytd(self, year: int) -> np.ndarray:
        """Return each universe symbol's last close in `year - 1` (cached per year)."""
        if year not in self._ytd_cache:
            c = self.arr["close"]
            # Same as ytd_base over the previous year's rows, without copying them.
            rows = np.flatnonzero(self.index.year.to_numpy() == year - 1)
            if len(rows) == 0:
                base = np.full(c.shape[1], NAN)
            else:
                block = c[rows[0] : rows[-1] + 1]
                base = block[-1].copy()
                gaps = np.flatnonzero(np.isnan(base))
                if len(gaps):
                    sub = block[:, gaps]
                    seen = ~np.isnan(sub)
                    last = sub.shape[0] - 1 - np.argmax(seen[::-1], axis=0)
                    picked = sub[last, np.arange(len(gaps))]
                    base[gaps] = np.where(seen.any(axis=0), picked, NAN)
            self._ytd_cache[year] = self._u(base)
        return self._ytd_cache[year]

    def _lag_base(self, k: int) -> np.ndarray | None:
        """Return the universe closes k sessions before the newest (None: too short)."""
        t = len(self.index)
        if not 0 < k <= t:
            return None
        if k not in self._lag_cache:
            self._lag_cache[k] = self._u(self.arr["close"][t - k])
        return self._lag_cache[k]

    # -- newest session -------------------------------------------------------------
    def update(self, date, row) -> dict[str, pd.DataFrame]:
        """Return the snapshot with `row` (field -> per-symbol values) on `date`."""
        date = session_date(date)
        if len(self.index) and date <= self.index[-1]:
            raise ValueError(f"{date.date()} is not after the last settled session")
        full = {f: self._row_values(row, f) for f in ROW_FIELDS}
        xw = {f: v if self.take is None else v[self.take] for f, v in full.items()}
        xu = {f: self._u(v) for f, v in xw.items()}
        close_all = np.append(full["close"], NAN)[self.extra_pos]
        xb = close_all[0] if self.has_bench else NAN
        per = self._per_symbol(date, xu, xb)
        current, stage, changes = self._stages(date, xu, xb)
        breadth_row, flags, smas = self._breadth_row(xw, xu)
        rankings, groups = self._rankings(per, stage, flags)
        rotation, panel = self._rotation(date, close_all), self._panel(xu, smas)
        self._settle_breadth(breadth_row)  # the settled sessions' counts, joined last
        full_index = self.index.append(pd.DatetimeIndex([date]))
        bcols = {k: np.append(self.bcols[k], breadth_row[k]) for k in BREADTH_COLUMNS}
        return {
            "rankings": rankings,
            "stages": current.reset_index(),
            "stage_changes": changes,
            "rotation": rotation,
            "breadth": breadth_frame(bcols, full_index),
            "breadth_panel": panel,
            "sectors": groups["sector"],
            "industries": groups["sub_industry"],
            "info": self._info(date, rankings),
        }

    def _row_values(self, row, field: str) -> np.ndarray:
        """Return one field of the newest row aligned to the history's columns.

        `row` maps field -> Series indexed by symbol (or an array already in the
        history's column order); a DataFrame indexed by symbol also works.
        """
        src = row.get(field) if isinstance(row, Mapping | pd.DataFrame) else None
        n = len(self.columns)
        if src is None:
            return np.full(n, NAN)
        if isinstance(src, np.ndarray) and src.shape == (n,):
            return src.astype(np.float64, copy=False)
        src = pd.Series(src)
        if not any(src.index is known for known in self._known_indexes):
            # The history's own labels first: same dtype, so a fast comparison.
            same = src.index.equals(self._labels) or src.index.equals(self.columns)
            if not same:
                return src.reindex(self.columns).to_numpy(dtype=np.float64)
            self._known_indexes = [src.index, *self._known_indexes[:7]]
        return src.to_numpy(dtype=np.float64)

    def empty_snapshot(self) -> dict[str, pd.DataFrame]:
        """Return the snapshot of a panel without sessions (every symbol: no data)."""
        n = len(self.symbols)
        blank = np.full(n, NAN)
        none = np.zeros(n, dtype=bool)
        per = {k: blank for k in RANKING_COLUMNS if k.startswith("ret_")}
        per.update(
            rs_score=blank,
            close=blank,
            sessions=np.zeros(n, np.int64),
            rs_new_high=none,
        )
        masked = (none, ~none)
        flags = {f"above_sma{w}": masked for w in BREADTH_SMA_WINDOWS}
        flags.update(new_52w_high=masked, new_52w_low=masked)
        stage = {"stage": np.zeros(n, np.int64), "weeks": np.zeros(n, np.int64)}
        rankings, groups = self._rankings(per, stage, flags)
        values = dict.fromkeys(
            ("ma30", "pv", "slope", "mansfield_rs", "volume_ratio"), blank
        )
        current = current_frame(
            stage["stage"], StageState.empty(n), values, self.symbols
        )
        idx = pd.DatetimeIndex([], name="date")
        empty_hist = np.zeros((0, n), np.int64)
        return {
            "rankings": rankings,
            "stages": current.reset_index(),
            "stage_changes": stage_changes(empty_hist, empty_hist, idx, self.symbols),
            "rotation": rrg(pd.DataFrame(index=idx), pd.Series(dtype=float)),
            "breadth": breadth_frame({c: np.zeros(0) for c in BREADTH_COLUMNS}, idx),
            "breadth_panel": breadth_panel(
                pd.DataFrame(index=idx, columns=self.symbols)
            ),
            "sectors": groups["sector"],
            "industries": groups["sub_industry"],
            "info": self._info(None, rankings),
        }

    def _per_symbol(
        self, date: pd.Timestamp, x: dict, xb: float
    ) -> dict[str, np.ndarray]:
        xc, n = x["close"], len(self.symbols)
        returns: dict[int, np.ndarray] = {}

        def lag_return(k: int) -> np.ndarray:
            if k not in returns:
                base = self._lag_base(k)
                returns[k] = (
                    np.full(n, NAN) if base is None else safe_div(xc, base) - 1.0
                )
            return returns[k]

        out = {return_column(k): lag_return(k) for k in RETURN_WINDOWS}
        out["ret_ytd"] = safe_div(xc, self._ytd(date.year)) - 1.0
        score = np.zeros(n)
        for i, (k, w) in enumerate(RS_WEIGHTS):
            term = w * lag_return(k)
            score = term if i == 0 else score + term
        out["rs_score"] = score
        out["sessions"] = self.sessions + ~np.isnan(xc)
        out["close"] = xc
        rs_t = safe_div(RS_LINE_SCALE * xc, np.float64(xb))
        with np.errstate(invalid="ignore"):
            out["rs_new_high"] = rs_t >= self.rs_prior
        return out


def market_snapshot(
    panels: dict[str, pd.DataFrame],
    meta: pd.DataFrame | None = None,
    bench_symbol: str = DEFAULT_BENCHMARK,
    sector_etfs: dict[str, str] | None = None,
    rrg_period: str = "weekly",
    rrg_tail: int | None = RRG_DEFAULT_TAIL,
) -> dict[str, pd.DataFrame]:
    """Compute rankings, stages, rotation, breadth and groups at the last session."""
    close = panels.get("close")
    if close is None or close.shape[0] == 0:
        engine = SnapshotEngine(
            panels, meta, bench_symbol, sector_etfs, rrg_period, rrg_tail
        )
        return engine.empty_snapshot()
    history = {f: p.iloc[:-1] for f, p in panels.items()}
    last = {f: p.iloc[-1] for f, p in panels.items()}
    engine = SnapshotEngine(
        history, meta, bench_symbol, sector_etfs, rrg_period, rrg_tail
    )
    return engine.update(close.index[-1], last)

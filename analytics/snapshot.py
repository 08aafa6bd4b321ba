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

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from functools import partial

import numpy as np
import pandas as pd

from analytics._numeric import (
    NAN,
    ArrayInfo,
    ema_last,
    ema_update,
    safe_div,
    tail_sums,
    window_mean_from,
)
from analytics.breadth import (
    BREADTH_COLUMNS,
    breadth_columns,
    breadth_counts,
    breadth_frame,
    breadth_panel,
    ema_alpha,
    mcclellan_ratio,
    panel_references,
    panel_table,
)
from analytics.constants import (
    BREADTH_SMA_WINDOWS,
    DEFAULT_BENCHMARK,
    MCCLELLAN_FAST_ALPHA,
    MCCLELLAN_SLOW_ALPHA,
    NEW_HIGH_LOOKBACK,
    PANEL_EMA_WINDOWS,
    PANEL_SMA_WINDOWS,
    PERCENT,
    REASON_MISSING_LAG,
    REASON_NO_DATA,
    REASON_SHORT_HISTORY,
    REASON_STALE,
    RETURN_WINDOWS,
    RRG_DEFAULT_TAIL,
    RS_LINE_SCALE,
    RS_MIN_SESSIONS,
    RS_NEW_HIGH_WINDOW,
    RS_WEIGHTS,
    SECTOR_ETFS,
    STAGE_CHANGE_WEEKS,
    STAGE_MA_WEEKS,
    STAGE_SLOPE_LAG,
    VOLUME_RATIO_WEEKS,
)
from analytics.groups import group_codes, group_tables
from analytics.panel import week_bounds, weekly_arrays
from analytics.returns import rating_array, return_column, ytd_base
from analytics.rrg import rrg, rrg_frame
from analytics.stage_history import StageHistory, settled_run
from analytics.stages import (
    MANSFIELD_WEEKS,
    NO_STAGE,
    StageState,
    current_frame,
    ma_slope_pv,
    run_stage_machine,
    stage_changes,
    stage_step,
    week_inputs,
)

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
RANKING_COLUMNS = [
    "symbol",
    "sector",
    "sub_industry",
    "rs_score",
    "rs_rating",
    *[return_column(n) for n in RETURN_WINDOWS],
    "ret_ytd",
    "stage",
    "weeks_in_stage",
    "rs_new_high",
    *[f"above_sma{n}" for n in BREADTH_SMA_WINDOWS],
    "new_52w_high",
    "new_52w_low",
    "sessions",
    "excluded_reason",
]
META_COLUMNS = ("sector", "sub_industry")
WORK_FIELDS = ("close", "high", "low", "volume")
ROW_FIELDS = ("open", *WORK_FIELDS)
RS_PRIOR = RS_NEW_HIGH_WINDOW - 1
STAGE_TAIL_WEEKS = MANSFIELD_WEEKS  # enough weekly history for MA30, slope, SMA52
VOLUME_TAIL_WEEKS = VOLUME_RATIO_WEEKS + 1


def _normalise_meta(meta: pd.DataFrame | None) -> tuple[list[str], dict[str, list]]:
    """Return (symbols in first-seen order, {column: values}); later duplicates win."""
    if meta is None or len(meta) == 0 or "symbol" not in meta:
        return [], {c: [] for c in META_COLUMNS}
    symbols = [str(s) for s in meta["symbol"].tolist()]
    last = {sym: i for i, sym in enumerate(symbols)}
    rows = list(last.values())
    values = {}
    for c in META_COLUMNS:
        column = meta[c].tolist() if c in meta else [None] * len(symbols)
        values[c] = [column[i] for i in rows]
    return list(last), values


def _field_array(
    panel: pd.DataFrame | None, like: pd.Index, columns: pd.Index, rows: int
) -> np.ndarray:
    """Return a field panel as a float array whose columns follow `columns`.

    `like` is the close panel's own column index (same labels as `columns`, which
    holds them as strings); panels sharing it are used as they are.
    """
    if panel is None:
        return np.full((rows, len(columns)), NAN)
    if not (panel.columns is like or panel.columns.equals(like)):
        names = pd.Index([str(c) for c in panel.columns.tolist()], dtype=object)
        panel = panel.set_axis(names, axis=1).reindex(columns=columns)
    return panel.to_numpy(dtype=np.float64)


def _session_date(value) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    if ts.tz is not None:
        ts = ts.tz_localize(None)
    return ts.normalize()


def _week_id(ts: pd.Timestamp) -> int:
    days = int(ts.to_datetime64().astype("datetime64[D]").astype(np.int64))
    return (days + 3) // 7  # ISO weeks start on Monday; 1970-01-01 was a Thursday


def _select_state(state: StageState, columns: np.ndarray) -> StageState:
    names = [f for f in StageState.__dataclass_fields__ if f != "week"]
    return StageState(*(getattr(state, f)[columns] for f in names), week=state.week)


def _ema_scalar(state: float, value: float, alpha: float) -> float:
    # Same arithmetic as _numeric.ema_series, one step.
    if value != value:
        return state
    return value if state != state else state + alpha * (value - state)


def _pad(values: np.ndarray, extra: int, fill) -> np.ndarray:
    if extra == 0:
        return values
    return np.concatenate([values, np.full(extra, fill, dtype=values.dtype)])


def _column(values: np.ndarray, null: np.ndarray | None):
    """Wrap a gathered column: nullable Int64/boolean with a mask, objects as-is."""
    if null is not None:
        if values.dtype == bool:
            return pd.arrays.BooleanArray(values, null)
        return pd.arrays.IntegerArray(values, null)
    if values.dtype == object:
        return pd.Series(values, dtype=object, copy=False)
    return values


def _as_float(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.where(mask, NAN, np.asarray(values, dtype=np.float64))


class SnapshotEngine:
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
        self.meta_symbols, self.meta_values = _normalise_meta(meta)
        self.bench_symbol = bench_symbol
        self.sector_etfs = dict(SECTOR_ETFS if sector_etfs is None else sector_etfs)
        self.rrg_period, self.rrg_tail = rrg_period, rrg_tail
        self.stage_history = stage_history
        columns = [str(c) for c in close.columns.tolist()]
        self.columns = pd.Index(columns, dtype=object)
        self.pos = pos = {sym: i for i, sym in enumerate(columns)}
        if self.meta_symbols:
            listed = self.meta_symbols
            symbols = [s for s in listed if s in pos]
            self.missing = [s for s in listed if s not in pos]
        else:
            skip = {bench_symbol, *self.sector_etfs}
            symbols = [s for s in columns if s not in skip]
            self.missing = []
        self.symbols = pd.Index(np.asarray(symbols, dtype=object), name="symbol")
        in_panel = np.fromiter((pos[s] for s in symbols), np.intp, len(symbols))
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
        full_close = _field_array(close, close.columns, self.columns, t)
        for f in WORK_FIELDS:
            full = (
                full_close
                if f == "close"
                else _field_array(history.get(f), close.columns, self.columns, t)
            )
            self.arr[f] = full if self.take is None else full[:, self.take]
        # Row-wise kernels need row-major closes; pandas panels are column-major.
        self.arr["close"] = np.ascontiguousarray(self.arr["close"])
        self.has_bench = bench_symbol in pos
        self.bench = full_close[:, pos[bench_symbol]] if self.has_bench else None
        self.rot_symbols = [s for s in self.sector_etfs if s in pos]
        self.rot_close = full_close[:, [pos[s] for s in self.rot_symbols]]
        self._known_indexes: list[pd.Index] = []
        self._ytd_cache: dict[int, np.ndarray] = {}
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
        fields = [self.arr[f] for f in WORK_FIELDS]
        counts = breadth_counts(*fields)
        if len(self.uout):
            outside = breadth_counts(*(a[:, self.uout] for a in fields))
            counts = {k: v - outside[k] for k, v in counts.items()}
        self.bcols = breadth_columns(counts)
        ratio = mcclellan_ratio(self.bcols["advancers"], self.bcols["decliners"])
        self.mc_fast = self.mc_slow = NAN
        for v in ratio.tolist():
            self.mc_fast = _ema_scalar(self.mc_fast, v, MCCLELLAN_FAST_ALPHA)
            self.mc_slow = _ema_scalar(self.mc_slow, v, MCCLELLAN_SLOW_ALPHA)
        osc = self.bcols["mcclellan_osc"]
        self.mc_sum_raw = float(np.nansum(osc)) if t else 0.0
        self.ad_last = float(self.bcols["ad_line"][-1]) if t else 0.0
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
            tail = c[-RS_PRIOR:]
            rs = safe_div(RS_LINE_SCALE * tail, self.bench[-RS_PRIOR:, None])
            self.rs_prior = self._u(np.max(rs, axis=0))
        else:
            self.rs_prior = np.full(n, NAN)
        self.tail = {}
        for w in sorted({*BREADTH_SMA_WINDOWS, *PANEL_SMA_WINDOWS}):
            sums, ref = tail_sums(c, w)
            self.tail[w] = (self._u(sums), self._u(ref))
        alphas = tuple(ema_alpha(k) for k in PANEL_EMA_WINDOWS)
        states, count = ema_last(c, alphas, self.info.nan)
        self.ema_states, self.ema_count = self._u(states), self._u(count)
        self._prepare_weeks()

    def _prepare_weeks(self) -> None:
        bench = self.bench if self.has_bench else np.full(len(self.index), NAN)
        arrays = {"close": self.arr["close"], "bench": bench[:, None]}
        weekly, self.wk_index = weekly_arrays(arrays, self.index)
        starts, _ = week_bounds(self.index)
        # Volume is only needed for the volume ratio of the newest week.
        recent = 0
        if len(starts):
            recent = int(starts[max(len(starts) - VOLUME_TAIL_WEEKS, 0)])
        vol, _ = weekly_arrays(
            {"volume": self.arr["volume"][recent:]}, self.index[recent:]
        )
        self.last_week_start = int(starts[-1]) if len(starts) else 0
        _, pv, slope = ma_slope_pv(weekly["close"])
        keep = min(max(STAGE_TAIL_WEEKS, STAGE_CHANGE_WEEKS) + 1, len(self.wk_index))
        run = self._long_run(pv, slope, keep) or run_stage_machine(pv, slope)
        n = len(self.symbols)
        if len(self.wk_index) == 0:
            run.state = run.before_last = StageState.empty(self.arr["close"].shape[1])
        # Everything the newest week needs, cut to the recent weeks and the universe.
        u = self._u
        self.wk = {
            "close": u(weekly["close"][-keep:]),
            "bench": weekly["bench"][-keep:, 0],
            "volume": u(vol["volume"]) if len(vol["volume"]) else np.zeros((0, n)),
            "hist": u(run.hist[-keep:]),
            "transitions": u(run.transitions[-keep:]),
            "dates": self.wk_index[-keep:],
        }
        self.states = {
            "same": _select_state(run.before_last, self.usel),
            "new": _select_state(run.state, self.usel),
        }
        self.week_parts = {
            case: self._week_parts(case == "same") for case in self.states
        }

    def _long_run(self, pv: np.ndarray, slope: np.ndarray, keep: int):
        """Continue the whole-history stage run up to the window's last week."""
        if self.stage_history is None or len(self.wk_index) == 0:
            return None
        working = self.columns if self.take is None else self.columns[self.take]
        return settled_run(
            self.stage_history, working, self.wk_index, pv[-1], slope[-1], keep
        )

    def _week_parts(self, same: bool) -> dict[str, np.ndarray]:
        """Precompute the settled-week parts of MA30, slope, Mansfield and volume ratio.

        The newest week is the only one that changes; `same` means it continues the
        last settled week (which is then replaced), otherwise it starts a new week.
        """
        wk = self.wk
        nw = len(wk["dates"]) - (1 if same else 0)
        close, bench = wk["close"][:nw], wk["bench"][:nw]
        n = close.shape[1]
        ma_sums, ma_ref = tail_sums(close, STAGE_MA_WEEKS)
        # MA30 of the week STAGE_SLOPE_LAG weeks before the newest one: settled.
        lag_end = nw - STAGE_SLOPE_LAG  # index of that week among the settled ones
        lagged = np.full(n, NAN)
        if lag_end >= STAGE_MA_WEEKS - 1:
            window = close[lag_end - STAGE_MA_WEEKS + 1 : lag_end + 1]
            sums, ref = tail_sums(window[:-1], STAGE_MA_WEEKS)
            lagged = window_mean_from(sums, ref, window[-1], STAGE_MA_WEEKS)
        rp = safe_div(RS_LINE_SCALE * close, bench[:, None])
        rp_sums, rp_ref = tail_sums(rp, MANSFIELD_WEEKS)
        volume = wk["volume"][: len(wk["volume"]) - (1 if same else 0)]
        prior = np.full(n, NAN)
        if len(volume) >= VOLUME_RATIO_WEEKS:
            prior = volume[-VOLUME_RATIO_WEEKS:].sum(axis=0) / VOLUME_RATIO_WEEKS
        return {
            "ma_sums": ma_sums,
            "ma_ref": ma_ref,
            "lagged": lagged,
            "rp_sums": rp_sums,
            "rp_ref": rp_ref,
            "prior_volume": prior,
        }

    def _ytd(self, year: int) -> np.ndarray:
        if year not in self._ytd_cache:
            jan1 = pd.DatetimeIndex([pd.Timestamp(year=year, month=1, day=1)])
            c = self.arr["close"]
            padded = np.vstack([c[-1:], np.full((1, c.shape[1]), NAN)])
            # ytd_base only reads the rows of the previous year: pass those only.
            years = self.index.year.to_numpy()
            rows = np.flatnonzero(years == year - 1)
            block = c[rows[0] : rows[-1] + 1] if len(rows) else padded[:0]
            idx = self.index[rows[0] : rows[-1] + 1] if len(rows) else self.index[:0]
            base = ytd_base(np.vstack([block, padded[1:]]), idx.append(jan1))
            self._ytd_cache[year] = self._u(base)
        return self._ytd_cache[year]

    # -- newest session -------------------------------------------------------------
    def update(self, date, row) -> dict[str, pd.DataFrame]:
        """Return the snapshot with `row` (field -> per-symbol values) on `date`."""
        date = _session_date(date)
        if len(self.index) and date <= self.index[-1]:
            raise ValueError(f"{date.date()} is not after the last settled session")
        full = {f: self._row_values(row, f) for f in ROW_FIELDS}
        xw = {f: v if self.take is None else v[self.take] for f, v in full.items()}
        xu = {f: self._u(v) for f, v in xw.items()}
        extra = [self.pos.get(s) for s in [self.bench_symbol, *self.rot_symbols]]
        close_all = np.array([NAN if i is None else full["close"][i] for i in extra])
        xb = close_all[0] if self.has_bench else NAN
        per = self._per_symbol(date, xu, xb)
        current, stage, changes = self._stages(date, xu, xb)
        breadth_row, flags, smas = self._breadth_row(xw, xu)
        full_index = self.index.append(pd.DatetimeIndex([date]))
        bcols = {k: np.append(self.bcols[k], breadth_row[k]) for k in BREADTH_COLUMNS}
        rankings, groups = self._rankings(per, stage, flags)
        return {
            "rankings": rankings,
            "stages": current.reset_index(),
            "stage_changes": changes,
            "rotation": self._rotation(date, close_all),
            "breadth": breadth_frame(bcols, full_index),
            "breadth_panel": self._panel(xu, smas),
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
            if not src.index.equals(self.columns):
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
        c, t = self.arr["close"], len(self.index)
        xc, n = x["close"], len(self.symbols)

        def lag_return(k: int) -> np.ndarray:
            if not 0 < k <= t:
                return np.full(n, NAN)
            return safe_div(xc, self._u(c[t - k])) - 1.0

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
            "ad_line": self.ad_last + (adv - dec),
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
        ratio = float(mcclellan_ratio(np.float64(adv), np.float64(dec)))
        fast = _ema_scalar(self.mc_fast, ratio, MCCLELLAN_FAST_ALPHA)
        slow = _ema_scalar(self.mc_slow, ratio, MCCLELLAN_SLOW_ALPHA)
        osc = fast - slow
        row["mcclellan_osc"] = osc
        row["mcclellan_sum"] = NAN if osc != osc else self.mc_sum_raw + osc
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

    def _stages(self, date: pd.Timestamp, xu: dict, xb: float):
        t = len(self.index)
        same = bool(t) and _week_id(date) == _week_id(self.index[-1])
        wk = self.wk
        nw = len(wk["dates"]) - (1 if same else 0)
        state = self.states["same" if same else "new"]
        xc, xv = xu["close"][None, :], xu["volume"][None, :]
        xbench = np.array([[xb]])
        if same:
            rows = slice(self.last_week_start, t)
            bench = np.full((t, 1), NAN)[rows]
            if self.has_bench:
                bench = self.bench[rows, None]
            merged = {
                "close": np.vstack([self._u(self.arr["close"][rows]), xc]),
                "volume": np.vstack([self._u(self.arr["volume"][rows]), xv]),
                "bench": np.vstack([bench, xbench]),
            }
        else:
            merged = {"close": xc, "volume": xv, "bench": xbench}
        days = pd.DatetimeIndex([date] * merged["close"].shape[0])
        last, _ = weekly_arrays(merged, days)
        parts_w = self.week_parts["same" if same else "new"]
        close_w, bench_w = last["close"][0], last["bench"][0, 0]
        ma30 = window_mean_from(
            parts_w["ma_sums"], parts_w["ma_ref"], close_w, STAGE_MA_WEEKS
        )
        pv = safe_div(PERCENT * (close_w - ma30), ma30)
        slope = PERCENT * (safe_div(ma30, parts_w["lagged"]) - 1.0)
        mansfield = np.full(len(close_w), NAN)
        if self.has_bench:
            rp = safe_div(RS_LINE_SCALE * close_w, np.float64(bench_w))
            sma = window_mean_from(
                parts_w["rp_sums"], parts_w["rp_ref"], rp, MANSFIELD_WEEKS
            )
            mansfield = PERCENT * (safe_div(rp, sma) - 1.0)
        parts = week_inputs(pv, slope)
        new = stage_step(state, parts.base, parts.untrended, parts.has)
        last_stage = np.where(parts.has, new.stage, np.int8(NO_STAGE))
        values = {
            "ma30": ma30,
            "pv": pv,
            "slope": slope,
            "mansfield_rs": mansfield,
            "volume_ratio": safe_div(last["volume"][0], parts_w["prior_volume"]),
        }
        current = current_frame(last_stage, new, values, self.symbols)
        stage = {"stage": last_stage, "weeks": new.week - new.stage_start + 1}
        first = max(nw - (STAGE_CHANGE_WEEKS - 1), 0)
        hist = np.vstack([wk["hist"][first:nw], last_stage[None, :]])
        left = np.where(new.changed, state.stage, np.int8(NO_STAGE))
        trans = np.vstack([wk["transitions"][first:nw], left[None, :]])
        dates = wk["dates"][first:nw].append(pd.DatetimeIndex([date]))
        changes = stage_changes(hist, trans, dates, self.symbols, self.name_rank)
        return current, stage, changes

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
        same = weekly and bool(t) and _week_id(date) == _week_id(self.index[-1])
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

    def _prepare_rows(self) -> None:
        """Cache the ranking rows (universe, then symbols without data) and groups."""
        rows = [*self.symbols.tolist(), *self.missing]
        where = {sym: i for i, sym in enumerate(self.meta_symbols)}
        self.row_symbols = np.asarray(rows, dtype=object)
        self.row_meta = {}
        for c in META_COLUMNS:
            values = self.meta_values[c]
            picked = [values[where[r]] if r in where else None for r in rows]
            self.row_meta[c] = np.asarray(picked, dtype=object)
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
            k: _pad(per[k], m, NAN) for k in RANKING_COLUMNS if k.startswith("ret_")
        }
        # (values, null mask or None) per column, gathered in rating order below.
        pad_mask = partial(_pad, extra=m, fill=True)
        raw: dict[str, tuple[np.ndarray, np.ndarray | None]] = {
            "symbol": (self.row_symbols, None),
            "sector": (self.row_meta["sector"], None),
            "sub_industry": (self.row_meta["sub_industry"], None),
            "rs_score": (_pad(per["rs_score"], m, NAN), None),
            "rs_rating": (_pad(rating_i, m, 0), pad_mask(rating_na)),
            **{k: (v, None) for k, v in floats.items()},
            "stage": (_pad(stage["stage"].astype(np.int64), m, 0), pad_mask(stage_na)),
            "weeks_in_stage": (
                _pad(np.where(stage_na, 0, stage["weeks"]).astype(np.int64), m, 0),
                pad_mask(stage_na),
            ),
            "rs_new_high": (_pad(per["rs_new_high"], m, False), None),
            **{
                k: (_pad(v & ~mask, m, False), pad_mask(mask))
                for k, (v, mask) in flags.items()
                if k.startswith("above_sma")
            },
            "new_52w_high": (_pad(flags["new_52w_high"][0], m, False), None),
            "new_52w_low": (_pad(flags["new_52w_low"][0], m, False), None),
            "sessions": (_pad(per["sessions"].astype(np.int64), m, 0), None),
            "excluded_reason": (_pad(reasons, m, REASON_NO_DATA), None),
        }
        order = np.lexsort(
            (
                self.row_name_rank,
                -np.nan_to_num(raw["rs_score"][0], nan=-np.inf),
                -_pad(np.nan_to_num(rating_v, nan=-1.0), m, -1.0),
            )
        )
        frame = pd.DataFrame(
            {
                c: _column(v[order], None if k is None else k[order])
                for c, (v, k) in raw.items()
            },
            copy=False,
        )
        flag_values = {
            k: _pad(_as_float(v, mask), m, NAN)
            for k, (v, mask) in flags.items()
            if k.startswith("above_sma")
        }
        groups = group_tables(
            self.row_groups,
            _pad(rating_v, m, NAN),
            _pad(_as_float(stage["stage"], stage_na), m, NAN),
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

"""Market-state snapshot: every metric for a universe at its newest session.

`SnapshotEngine(history, ...)` does the heavy work once over the settled sessions
(everything before the newest one); `engine.update(date, row)` then adds the newest,
still changing session (for example today's live prices) in a few milliseconds.
`market_snapshot(panels, ...)` is exactly
`SnapshotEngine(panels[:-1]).update(last date, panels[-1])`, so the full and the
incremental path cannot disagree.

Universe: the symbols listed in `meta` (in the panel or not: those without data are
listed with a reason); with no meta, every panel column except the benchmark and the
sector ETFs. Rankings, stages and breadth cover the universe; rotation covers the
sector ETFs present in the panel against the benchmark.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from analytics._numeric import (
    NAN,
    ArrayInfo,
    ema_last,
    ema_update,
    safe_div,
    window_mean_last,
)
from analytics.breadth import (
    BREADTH_COLUMNS,
    breadth_arrays,
    breadth_frame,
    breadth_panel,
    ema_alpha,
    mcclellan_ratio,
    panel_references,
    panel_table,
)
from analytics.constants import (
    BAR_FIELDS,
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
)
from analytics.groups import group_ranking
from analytics.panel import week_bounds, weekly_arrays
from analytics.returns import return_column, rs_ratings, ytd_base
from analytics.rrg import rrg
from analytics.stages import (
    MANSFIELD_WEEKS,
    NO_STAGE,
    StageState,
    current_frame,
    ma_slope_pv,
    mansfield_last,
    run_stage_machine,
    stage_changes,
    stage_inputs_last,
    stage_step,
    volume_ratio_last,
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
RS_PRIOR = RS_NEW_HIGH_WINDOW - 1


def _normalise_meta(meta: pd.DataFrame | None) -> pd.DataFrame:
    cols = {c: pd.Series(dtype=object) for c in META_COLUMNS}
    if meta is None or len(meta) == 0 or "symbol" not in meta:
        return pd.DataFrame(cols, index=pd.Index([], name="symbol"))
    out = pd.DataFrame(
        index=pd.Index(meta["symbol"].astype(str).to_numpy(), name="symbol")
    )
    for c in META_COLUMNS:
        out[c] = meta[c].to_numpy(dtype=object) if c in meta else None
    return out[~out.index.duplicated(keep="last")]


def _select(panel: pd.DataFrame | None, columns: pd.Index, rows: int) -> np.ndarray:
    if panel is None:
        return np.full((rows, len(columns)), NAN)
    if panel.columns.equals(columns):
        return panel.to_numpy(dtype=np.float64)
    return panel.reindex(columns=columns).to_numpy(dtype=np.float64)


def _row_values(row, field: str, symbols: pd.Index) -> np.ndarray:
    if isinstance(row, pd.DataFrame):
        src = row[field] if field in row else None
    else:
        src = row.get(field) if isinstance(row, Mapping) else None
    if src is None:
        return np.full(len(symbols), NAN)
    src = pd.Series(src)
    if src.index.equals(symbols):
        return src.to_numpy(dtype=np.float64)
    return src.reindex(symbols).to_numpy(dtype=np.float64)


def _session_date(value) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    if ts.tz is not None:
        ts = ts.tz_localize(None)
    return ts.normalize()


def _week_id(ts: pd.Timestamp) -> int:
    days = int(ts.to_datetime64().astype("datetime64[D]").astype(np.int64))
    return (days + 3) // 7  # ISO weeks start on Monday; 1970-01-01 was a Thursday


def _ema_scalar(state: float, value: float, alpha: float) -> float:
    # Same arithmetic as _numeric.ema_series, one step.
    if value != value:
        return state
    return value if state != state else state + alpha * (value - state)


def missing_rows(symbols: list[str], meta: pd.DataFrame) -> pd.DataFrame:
    """Return ranking rows for symbols that have no price data at all."""
    k = len(symbols)
    info = meta.reindex(symbols)
    nulls = np.full(k, NAN)

    def ints() -> pd.arrays.IntegerArray:
        return pd.arrays.IntegerArray(np.zeros(k, np.int64), np.ones(k, bool))

    def bools() -> pd.arrays.BooleanArray:
        return pd.arrays.BooleanArray(np.zeros(k, bool), np.ones(k, bool))

    data: dict[str, object] = {
        "symbol": np.asarray(symbols, dtype=object),
        "sector": info["sector"].to_numpy(dtype=object),
        "sub_industry": info["sub_industry"].to_numpy(dtype=object),
    }
    for c in RANKING_COLUMNS[3:]:
        if c in ("rs_rating", "stage", "weeks_in_stage"):
            data[c] = ints()
        elif c.startswith("above_sma"):
            data[c] = bools()
        elif c in ("rs_new_high", "new_52w_high", "new_52w_low"):
            data[c] = np.zeros(k, dtype=bool)
        elif c == "sessions":
            data[c] = np.zeros(k, dtype=np.int64)
        elif c == "excluded_reason":
            data[c] = np.full(k, REASON_NO_DATA, dtype=object)
        else:
            data[c] = nulls
    return pd.DataFrame(data)


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
    ) -> None:
        close = history.get("close")
        if close is None:
            close = pd.DataFrame(index=pd.DatetimeIndex([], name="date"))
        self.index = pd.DatetimeIndex(close.index, name="date")
        self.meta = _normalise_meta(meta)
        self.bench_symbol = bench_symbol
        self.sector_etfs = dict(SECTOR_ETFS if sector_etfs is None else sector_etfs)
        self.rrg_period, self.rrg_tail = rrg_period, rrg_tail
        columns = pd.Index(close.columns.astype(str))
        if len(self.meta):
            listed = self.meta.index
            self.symbols = pd.Index(
                [s for s in listed if s in set(columns)], name="symbol"
            )
            self.missing = [s for s in listed if s not in set(columns)]
        else:
            skip = {bench_symbol, *self.sector_etfs}
            self.symbols = pd.Index(
                [s for s in columns if s not in skip], name="symbol"
            )
            self.missing = []
        close = close.set_axis(columns, axis=1)
        t = len(self.index)
        self.arr = {}
        for f in BAR_FIELDS:
            panel = close if f == "close" else history.get(f)
            if panel is not None and f != "close":
                panel = panel.set_axis(pd.Index(panel.columns.astype(str)), axis=1)
            self.arr[f] = _select(panel, self.symbols, t)
        self.has_bench = bench_symbol in set(columns)
        self.bench = (
            close[bench_symbol].to_numpy(np.float64) if self.has_bench else None
        )
        self.rot_symbols = [s for s in self.sector_etfs if s in set(columns)]
        self.rot_close = close[self.rot_symbols].to_numpy(np.float64)
        self._ytd_cache: dict[int, np.ndarray] = {}
        self._prepare()

    # -- settled sessions -------------------------------------------------------------
    def _prepare(self) -> None:
        c, t, n = self.arr["close"], len(self.index), len(self.symbols)
        self.info = ArrayInfo(c)
        self.sessions = self.info.valid_count.astype(np.int64)
        vol = self.arr["volume"]
        self.bcols = breadth_arrays(c, self.arr["high"], self.arr["low"], vol)
        ratio = mcclellan_ratio(self.bcols["advancers"], self.bcols["decliners"])
        self.mc_fast = self.mc_slow = NAN
        for v in ratio.tolist():
            self.mc_fast = _ema_scalar(self.mc_fast, v, MCCLELLAN_FAST_ALPHA)
            self.mc_slow = _ema_scalar(self.mc_slow, v, MCCLELLAN_SLOW_ALPHA)
        osc = self.bcols["mcclellan_osc"]
        self.mc_sum_raw = (
            float(np.cumsum(np.where(np.isnan(osc), 0.0, osc))[-1]) if t else 0.0
        )
        self.ad_last = float(self.bcols["ad_line"][-1]) if t else 0.0
        if t >= NEW_HIGH_LOOKBACK:
            self.hi_prior = np.max(self.arr["high"][-NEW_HIGH_LOOKBACK:], axis=0)
            self.lo_prior = np.min(self.arr["low"][-NEW_HIGH_LOOKBACK:], axis=0)
        else:
            self.hi_prior = self.lo_prior = np.full(n, NAN)
        if self.has_bench and t >= RS_PRIOR:
            rs = safe_div(RS_LINE_SCALE * c[-RS_PRIOR:], self.bench[-RS_PRIOR:, None])
            self.rs_prior = np.max(rs, axis=0)
        else:
            self.rs_prior = np.full(n, NAN)
        self.emas = {k: ema_last(c, ema_alpha(k), self.info) for k in PANEL_EMA_WINDOWS}
        self._prepare_weeks()

    def _prepare_weeks(self) -> None:
        c, n = self.arr["close"], len(self.symbols)
        bench = self.bench if self.has_bench else np.full(len(self.index), NAN)
        arrays = {"close": c, "volume": self.arr["volume"], "bench": bench[:, None]}
        weekly, self.wk_index = weekly_arrays(arrays, self.index)
        weekly = {k: (v if k != "bench" else v[:, 0]) for k, v in weekly.items()}
        self.wk = weekly
        starts, _ = week_bounds(self.index)
        self.last_week_start = int(starts[-1]) if len(starts) else 0
        _, pv, slope = ma_slope_pv(weekly["close"])
        self.run = run_stage_machine(pv, slope)
        if len(self.wk_index) == 0:
            self.run.state = self.run.before_last = StageState.empty(n)

    def _ytd(self, year: int) -> np.ndarray:
        if year not in self._ytd_cache:
            idx = self.index.append(
                pd.DatetimeIndex([pd.Timestamp(year=year, month=1, day=1)])
            )
            padded = np.vstack(
                [self.arr["close"], np.full((1, len(self.symbols)), NAN)]
            )
            self._ytd_cache[year] = ytd_base(padded, idx)
        return self._ytd_cache[year]

    # -- newest session -------------------------------------------------------------
    def update(self, date, row) -> dict[str, pd.DataFrame]:
        """Return the snapshot with `row` (field -> per-symbol values) on `date`."""
        date = _session_date(date)
        if len(self.index) and date <= self.index[-1]:
            raise ValueError(f"{date.date()} is not after the last settled session")
        x = {f: _row_values(row, f, self.symbols) for f in BAR_FIELDS}
        close_all = _row_values(
            row, "close", pd.Index([self.bench_symbol, *self.rot_symbols])
        )
        xb = close_all[0] if self.has_bench else NAN
        per = self._per_symbol(date, x, xb)
        stages, changes = self._stages(date, x, xb)
        breadth_row, flags, smas = self._breadth_row(x)
        full_index = self.index.append(pd.DatetimeIndex([date]))
        bcols = {k: np.append(self.bcols[k], breadth_row[k]) for k in BREADTH_COLUMNS}
        rankings = self._rankings(per, stages, flags)
        out = {
            "rankings": rankings,
            "stages": stages.reset_index(),
            "stage_changes": changes,
            "rotation": self._rotation(full_index, close_all),
            "breadth": breadth_frame(bcols, full_index),
            "breadth_panel": self._panel(x, smas),
            "sectors": group_ranking(rankings, None, self._meta_frame(), by="sector"),
            "industries": group_ranking(
                rankings, None, self._meta_frame(), by="sub_industry"
            ),
        }
        out["info"] = self._info(date, rankings)
        return out

    def empty_snapshot(self) -> dict[str, pd.DataFrame]:
        """Return the snapshot of a panel without sessions (every symbol: no data)."""
        rankings = missing_rows([*self.symbols, *self.missing], self.meta)
        none = pd.DatetimeIndex([], name="date")
        stages = current_frame(
            np.zeros(0, np.int64),
            StageState.empty(0),
            dict.fromkeys(
                ("ma30", "pv", "slope", "mansfield_rs", "volume_ratio"), np.zeros(0)
            ),
            pd.Index([], name="symbol"),
        )
        out = {
            "rankings": rankings,
            "stages": stages.reset_index(),
            "stage_changes": stage_changes(
                np.zeros((0, 0), np.int64),
                np.zeros((0, 0), np.int64),
                none,
                pd.Index([]),
            ),
            "rotation": rrg(pd.DataFrame(index=none), pd.Series(dtype=float)),
            "breadth": breadth_frame({c: np.zeros(0) for c in BREADTH_COLUMNS}, none),
            "breadth_panel": breadth_panel(pd.DataFrame(index=none)),
            "sectors": group_ranking(rankings, None, self._meta_frame(), by="sector"),
            "industries": group_ranking(
                rankings, None, self._meta_frame(), by="sub_industry"
            ),
        }
        out["info"] = self._info(None, rankings)
        return out

    def _meta_frame(self) -> pd.DataFrame:
        return self.meta.reset_index()

    def _per_symbol(
        self, date: pd.Timestamp, x: dict, xb: float
    ) -> dict[str, np.ndarray]:
        c, t = self.arr["close"], len(self.index)
        xc = x["close"]
        n = len(self.symbols)

        def lag_return(k: int) -> np.ndarray:
            return safe_div(xc, c[t - k]) - 1.0 if 0 < k <= t else np.full(n, NAN)

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

    def _breadth_row(self, x: dict) -> tuple[dict, dict, dict]:
        c, t = self.arr["close"], len(self.index)
        xc, n = x["close"], len(self.symbols)
        prev = c[-1] if t else np.full(n, NAN)
        d = (xc - prev)[None, :]
        with np.errstate(invalid="ignore"):
            up, down = d > 0, d < 0
        adv = float(np.count_nonzero(up))
        dec = float(np.count_nonzero(down))
        vol = np.where(np.isnan(x["volume"]), 0.0, x["volume"])[None, :]
        row = {
            "advancers": adv,
            "decliners": dec,
            "unchanged": float(np.count_nonzero(~np.isnan(d))) - adv - dec,
            "ad_line": self.ad_last + (adv - dec),
            "up_volume": float(np.einsum("ij,ij->i", vol, up.astype(np.float64))[0]),
            "down_volume": float(
                np.einsum("ij,ij->i", vol, down.astype(np.float64))[0]
            ),
        }
        flags, smas = {}, {}
        for w in sorted({*BREADTH_SMA_WINDOWS, *PANEL_SMA_WINDOWS}):
            smas[w] = sma = window_mean_last(c, xc, w)
            valid = ~np.isnan(sma)
            with np.errstate(invalid="ignore"):
                above = xc > sma
            if w in BREADTH_SMA_WINDOWS:
                have = np.count_nonzero(valid)
                pct = PERCENT * np.count_nonzero(above) / have if have else NAN
                row[f"pct_above_sma{w}"] = pct
                flags[f"above_sma{w}"] = pd.arrays.BooleanArray(above, ~valid)
        with np.errstate(invalid="ignore"):
            new_high = x["high"] >= self.hi_prior
            new_low = x["low"] <= self.lo_prior
        row["new_highs"], row["new_lows"] = float(new_high.sum()), float(new_low.sum())
        flags["new_52w_high"], flags["new_52w_low"] = new_high, new_low
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
        for k, (state, count) in self.emas.items():
            new_state = ema_update(state, xc, ema_alpha(k))
            emas[k] = np.where(count + ~np.isnan(xc) >= k, new_state, NAN)
        refs = panel_references(self.arr["close"], xc, x["open"], emas, smas)
        return panel_table(xc, refs)

    def _stages(self, date: pd.Timestamp, x: dict, xb: float):
        n, t = len(self.symbols), len(self.index)
        same = bool(t) and _week_id(date) == _week_id(self.index[-1])
        wk = self.wk
        nw = len(self.wk_index) - (1 if same else 0)
        state = self.run.before_last if same else self.run.state
        xc, xv = x["close"], x["volume"]
        if same:
            rows = slice(self.last_week_start, t)
            part = {
                "close": self.arr["close"][rows],
                "volume": self.arr["volume"][rows],
                "bench": (
                    self.bench[rows] if self.has_bench else np.full(t, NAN)[rows]
                )[:, None],
            }
            merged = {
                "close": np.vstack([part["close"], xc[None, :]]),
                "volume": np.vstack([part["volume"], xv[None, :]]),
                "bench": np.vstack([part["bench"], [[xb]]]),
            }
        else:
            merged = {
                "close": xc[None, :],
                "volume": xv[None, :],
                "bench": np.array([[xb]]),
            }
        days = pd.DatetimeIndex([date] * merged["close"].shape[0])
        last, _ = weekly_arrays(merged, days)
        keep = max(MANSFIELD_WEEKS, 40) - 1
        close_tail = np.vstack([wk["close"][:nw][-keep:], last["close"]])
        vol_tail = np.vstack([wk["volume"][:nw][-keep:], last["volume"]])
        bench_tail = np.append(wk["bench"][:nw][-keep:], last["bench"][:, 0])
        ma30, pv, slope = stage_inputs_last(close_tail)
        parts = week_inputs(pv, slope)
        new = stage_step(state, parts.base, parts.untrended, parts.has)
        last_stage = np.where(parts.has, new.stage, NO_STAGE)
        values = {
            "ma30": ma30,
            "pv": pv,
            "slope": slope,
            "mansfield_rs": mansfield_last(
                close_tail, bench_tail if self.has_bench else None
            ),
            "volume_ratio": volume_ratio_last(vol_tail, n),
        }
        current = current_frame(last_stage, new, values, self.symbols)
        lo = max(nw - (STAGE_CHANGE_WEEKS - 1), 0)
        hist = np.vstack([self.run.hist[lo:nw], last_stage[None, :]])
        trans = np.vstack(
            [
                self.run.transitions[lo:nw],
                np.where(new.changed, state.stage, NO_STAGE)[None, :],
            ]
        )
        dates = self.wk_index[lo:nw].append(pd.DatetimeIndex([date]))
        return current, stage_changes(hist, trans, dates, self.symbols)

    def _rotation(
        self, full_index: pd.DatetimeIndex, close_all: np.ndarray
    ) -> pd.DataFrame:
        if not self.has_bench or not self.rot_symbols:
            return rrg(pd.DataFrame(index=full_index), pd.Series(dtype=float), tail=0)
        prices = pd.DataFrame(
            np.vstack([self.rot_close, close_all[1:][None, :]]),
            index=full_index,
            columns=self.rot_symbols,
        )
        bench = pd.Series(np.append(self.bench, close_all[0]), index=full_index)
        return rrg(prices, bench, period=self.rrg_period, tail=self.rrg_tail)

    def _rankings(self, per: dict, stages: pd.DataFrame, flags: dict) -> pd.DataFrame:
        sym = self.symbols
        scores = pd.Series(per["rs_score"], index=sym)
        sessions = pd.Series(per["sessions"], index=sym)
        rating = rs_ratings(scores, sessions)
        meta = self.meta.reindex(sym)
        frame = pd.DataFrame(
            {
                "symbol": np.asarray(sym, dtype=object),
                "sector": meta["sector"].to_numpy(dtype=object),
                "sub_industry": meta["sub_industry"].to_numpy(dtype=object),
                "rs_score": per["rs_score"],
                "rs_rating": rating.array,
                **{k: per[k] for k in RANKING_COLUMNS if k.startswith("ret_")},
                "stage": stages["stage"].array,
                "weeks_in_stage": stages["weeks_in_stage"].array,
                "rs_new_high": per["rs_new_high"],
                **flags,
                "sessions": per["sessions"],
            }
        )
        frame["excluded_reason"] = self._reasons(per, rating)
        if self.missing:
            frame = pd.concat([frame, self._missing_rows()], ignore_index=True)
        frame = frame[RANKING_COLUMNS]
        order = np.lexsort(
            (
                frame["symbol"].to_numpy(dtype=object),
                -np.nan_to_num(frame["rs_score"].to_numpy(np.float64), nan=-np.inf),
                -frame["rs_rating"].to_numpy(dtype=np.float64, na_value=-1.0),
            )
        )
        return frame.iloc[order].reset_index(drop=True)

    def _reasons(self, per: dict, rating: pd.Series) -> np.ndarray:
        sessions = per["sessions"]
        unrated = rating.isna().to_numpy()
        reasons = np.full(len(self.symbols), None, dtype=object)
        # Later assignments win: the most basic reason is reported.
        reasons[unrated & np.isnan(per["rs_score"])] = REASON_MISSING_LAG
        reasons[unrated & (sessions < RS_MIN_SESSIONS)] = REASON_SHORT_HISTORY
        reasons[unrated & np.isnan(per["close"])] = REASON_STALE
        reasons[sessions == 0] = REASON_NO_DATA
        return reasons

    def _missing_rows(self) -> pd.DataFrame:
        return missing_rows(self.missing, self.meta)

    def _info(self, date: pd.Timestamp, rankings: pd.DataFrame) -> pd.DataFrame:
        reasons = rankings["excluded_reason"].value_counts()
        return pd.DataFrame(
            {
                "as_of": [date],
                "symbols": [len(rankings)],
                "rated": [int(rankings["rs_rating"].notna().sum())],
                "excluded": [int(rankings["excluded_reason"].notna().sum())],
                "excluded_by_reason": [reasons.to_dict()],
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

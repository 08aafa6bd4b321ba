"""The snapshot engine's stages: settled weeks once, the newest week per update."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics._numeric import NAN, safe_div, tail_sums, window_mean_from
from analytics.constants import (
    PERCENT,
    RS_LINE_SCALE,
    STAGE_CHANGE_WEEKS,
    STAGE_MA_WEEKS,
    STAGE_SLOPE_LAG,
    VOLUME_RATIO_WEEKS,
)
from analytics.panel import week_bounds, weekly_arrays
from analytics.snapshot_parts import (
    STAGE_TAIL_WEEKS,
    VOLUME_TAIL_WEEKS,
    select_state,
    week_id,
)
from analytics.stage_history import settled_run
from analytics.stage_machine import (
    NO_STAGE,
    StageState,
    run_stage_machine,
    stage_step,
    week_inputs,
)
from analytics.stages import MANSFIELD_WEEKS, current_frame, ma_slope_pv, stage_changes


class StageParts:
    """Snapshot engine part: Weinstein stages of the newest week."""

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
        self._week_rows: dict[str, np.ndarray] | None = None
        self._changes_cache: dict[tuple[int, int], dict] = {}
        self.symbol_names = np.asarray(self.symbols, dtype=object)
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
            "same": select_state(run.before_last, self.usel),
            "new": select_state(run.state, self.usel),
        }
        # Settled-week parts per case, computed on the first update that needs them.
        self.week_parts: dict[str, dict[str, np.ndarray]] = {}

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

    def _settled_week(self) -> dict[str, np.ndarray]:
        """Return the settled sessions of the last week (universe), cut out once."""
        if self._week_rows is None:
            t = len(self.index)
            rows = slice(self.last_week_start, t)
            bench = np.full((t, 1), NAN)[rows]
            if self.has_bench:
                bench = self.bench[rows, None]
            self._week_rows = {
                "close": self._u(self.arr["close"][rows]),
                "volume": self._u(self.arr["volume"][rows]),
                "bench": bench,
            }
        return self._week_rows

    def _stages(self, date: pd.Timestamp, xu: dict, xb: float):
        t = len(self.index)
        same = bool(t) and week_id(date) == week_id(self.index[-1])
        wk = self.wk
        nw = len(wk["dates"]) - (1 if same else 0)
        state = self.states["same" if same else "new"]
        xc, xv = xu["close"][None, :], xu["volume"][None, :]
        xbench = np.array([[xb]])
        if same:
            settled = self._settled_week()
            merged = {
                "close": np.vstack([settled["close"], xc]),
                "volume": np.vstack([settled["volume"], xv]),
                "bench": np.vstack([settled["bench"], xbench]),
            }
        else:
            merged = {"close": xc, "volume": xv, "bench": xbench}
        days = pd.DatetimeIndex([date] * merged["close"].shape[0])
        last, _ = weekly_arrays(merged, days)
        case = "same" if same else "new"
        if case not in self.week_parts:
            self.week_parts[case] = self._week_parts(same)
        parts_w = self.week_parts[case]
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
        left = np.where(new.changed, state.stage, np.int8(NO_STAGE))
        changes = self._changes(nw, last_stage, left, date)
        return current, stage, changes

    def _changes(
        self, nw: int, last_stage: np.ndarray, left: np.ndarray, date: pd.Timestamp
    ) -> pd.DataFrame:
        """Return `stage_changes` of the recent settled weeks plus the newest one.

        The settled weeks' changes are found and ordered once per case; the newest
        week's follow them (it is the latest date), ordered by symbol name.
        """
        first = max(nw - (STAGE_CHANGE_WEEKS - 1), 0)
        if self.name_rank is None or len(self.symbols) == 0:
            wk = self.wk
            hist = np.vstack([wk["hist"][first:nw], last_stage[None, :]])
            trans = np.vstack([wk["transitions"][first:nw], left[None, :]])
            dates = wk["dates"][first:nw].append(pd.DatetimeIndex([date]))
            return stage_changes(hist, trans, dates, self.symbols, self.name_rank)
        settled = self._settled_changes(first, nw)
        cols = np.flatnonzero(left)
        cols = cols[np.argsort(self.name_rank[cols], kind="stable")]
        weeks = np.concatenate([settled["weeks"], np.full(len(cols), nw - first)])
        names = np.concatenate([settled["names"], self.symbol_names[cols]])
        dates = settled["dates"].append(pd.DatetimeIndex([date]))
        from_stage = np.concatenate([settled["from"], left[cols]])
        to_stage = np.concatenate([settled["to"], last_stage[cols]])
        return pd.DataFrame(
            {
                "symbol": pd.Series(names, dtype=object),
                "date": pd.DatetimeIndex(dates)[weeks],
                "from_stage": from_stage.astype(np.int64),
                "to_stage": to_stage.astype(np.int64),
            }
        )

    def _settled_changes(self, first: int, nw: int) -> dict:
        """Return the ordered stage changes of settled weeks first..nw-1 (cached)."""
        key = (first, nw)
        if key not in self._changes_cache:
            wk = self.wk
            trans, hist = wk["transitions"][first:nw], wk["hist"][first:nw]
            weeks, cols = np.nonzero(trans)
            order = np.lexsort((self.name_rank[cols], weeks))
            weeks, cols = weeks[order], cols[order]
            self._changes_cache[key] = {
                "weeks": weeks,
                "names": self.symbol_names[cols],
                "from": trans[weeks, cols],
                "to": hist[weeks, cols],
                "dates": wk["dates"][first:nw],
            }
        return self._changes_cache[key]

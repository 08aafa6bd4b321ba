"""Weinstein stage classification on weekly bars.

Method (this text is what the methodology page shows):

* Weekly bars are ISO weeks, Monday to Sunday (`weekly_bars`): close = the last close
  of the week, dated by the week's last session. The current week may be partial.
* `MA30` = simple mean of the last 30 weekly closes (all 30 must exist);
  `pv = 100 * (C - MA30) / MA30`; `slope = 100 * (MA30_t / MA30_{t-4} - 1)`.
  A week "has enough history" when both pv and slope exist, i.e. from the 34th
  weekly close of the symbol in the data given.
* Candidate stage of a week with enough history: 2 if `pv > 2` and `slope > 0.5`;
  4 if `pv < -2` and `slope < -0.5`; otherwise 3 if the last confirmed trending stage
  (2 or 4, confirmed in an earlier week) was 2, 1 if it was 4, and, with no trending
  stage confirmed yet, 1 if `pv < 0` else 3.
* Confirmation: a run is a stretch of consecutive weeks with the same candidate.
  When a run reaches 2 weeks and its candidate differs from the current stage, the
  candidate becomes the stage in that (second) week. A one-week blip changes
  nothing. With no stage yet, the first run of 2 weeks confirms the first stage;
  normally that is the first 2 weeks with enough history, which therefore only
  establish the starting stage: the first week shows no stage, and the confirmation
  is not reported as a change (`stage_changed_this_week` false, `prior_stage` null).
* `weeks_in_stage` counts weeks from the first week of the run that became the stage
  up to and including the current week: 2 in the week a stage is confirmed, 3 the
  week after, and so on; one-week blips inside the stage do not reset it.
* A week without enough history (for example, a week with no close at all) has no
  candidate: it breaks the current run, keeps the confirmed stage in memory and
  shows no stage (null) for that week; `weeks_in_stage` keeps counting calendar
  weeks of the panel.
* Stages depend on where the data starts (the machine starts at the first week with
  enough history), so give it at least 1.5-2 years of daily history for stable
  labels.
* `mansfield_rs = 100 * (RP / SMA52(RP) - 1)` with `RP = 100 * C / B` on weekly
  closes (B = the benchmark, SPY by default).
* `volume_ratio` = this week's volume / mean weekly volume of the prior 4 weeks
  (null when that mean is 0 or any of those weeks is missing).
* `prior_stage` is the stage that the current stage replaced (null for the first);
  `candidate_stage` is this week's candidate (a pending change shows here first) and
  `candidate_weeks` how many consecutive weeks it has been the candidate, this week
  included (a stage 3 with a stage 4 candidate of 1 week: one more week confirms 4).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics._numeric import NAN, ArrayInfo, safe_div, window_mean_last
from analytics.constants import (
    MANSFIELD_WEEKS,
    PERCENT,
    RS_LINE_SCALE,
    STAGE_MA_WEEKS,
    STAGE_SLOPE_LAG,
    VOLUME_RATIO_WEEKS,
)
from analytics.stage_machine import NO_STAGE, StageState, run_stage_machine

STAGE_COLUMNS = [
    "stage",
    "weeks_in_stage",
    "ma30",
    "pv",
    "slope",
    "mansfield_rs",
    "volume_ratio",
    "stage_changed_this_week",
    "prior_stage",
    "candidate_stage",
    "candidate_weeks",
]
CHANGE_COLUMNS = ["symbol", "date", "from_stage", "to_stage"]


def ma_slope_pv(close: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (MA30, pv, slope) for every week of a weekly close array."""
    ma30 = ArrayInfo(close).rolling_mean(STAGE_MA_WEEKS)
    # MA30 is NaN before its first full window, and so are pv and slope there.
    first = STAGE_MA_WEEKS - 1
    pv = np.full(ma30.shape, NAN)
    slope = np.full(ma30.shape, NAN)
    ma, lag = ma30[first:], first + STAGE_SLOPE_LAG
    pv[first:] = safe_div(PERCENT * (close[first:] - ma), ma)
    if len(ma30) > lag:
        slope[lag:] = PERCENT * (
            safe_div(ma30[lag:], ma30[first:-STAGE_SLOPE_LAG]) - 1.0
        )
    return ma30, pv, slope


def mansfield_last(close: np.ndarray, bench: np.ndarray | None) -> np.ndarray:
    """Return Mansfield RS 100 * (RP / SMA52(RP) - 1) at the last week."""
    n = close.shape[1]
    if bench is None or close.shape[0] < MANSFIELD_WEEKS:
        return np.full(n, NAN)
    rp = safe_div(
        RS_LINE_SCALE * close[-MANSFIELD_WEEKS:], bench[-MANSFIELD_WEEKS:, None]
    )
    sma = window_mean_last(rp[:-1], rp[-1], MANSFIELD_WEEKS)
    return PERCENT * (safe_div(rp[-1], sma) - 1.0)


def volume_ratio_last(volume: np.ndarray | None, n: int) -> np.ndarray:
    """Return this week's volume / mean volume of the prior 4 weeks."""
    if volume is None or volume.shape[0] < VOLUME_RATIO_WEEKS + 1:
        return np.full(n, NAN)
    prior = window_mean_last(volume[:-2], volume[-2], VOLUME_RATIO_WEEKS)
    return safe_div(volume[-1], prior)


def _nullable(values: np.ndarray, mask: np.ndarray) -> pd.arrays.IntegerArray:
    data = np.where(mask, values, 0).astype(np.int64)
    return pd.arrays.IntegerArray(data, ~np.asarray(mask, dtype=bool))


def current_frame(
    last_stage: np.ndarray,
    state: StageState,
    values: dict[str, np.ndarray],
    symbols: pd.Index,
) -> pd.DataFrame:
    """Assemble the per-symbol current stage frame from the last week's values."""
    has = last_stage != NO_STAGE
    pending = state.candidate != NO_STAGE
    weeks = state.week - state.stage_start + 1
    frame = pd.DataFrame(
        {
            "stage": _nullable(last_stage, has),
            "weeks_in_stage": _nullable(weeks, has),
            "ma30": values["ma30"],
            "pv": values["pv"],
            "slope": values["slope"],
            "mansfield_rs": values["mansfield_rs"],
            "volume_ratio": values["volume_ratio"],
            "stage_changed_this_week": has & state.changed,
            "prior_stage": _nullable(state.prior, has & (state.prior != NO_STAGE)),
            "candidate_stage": _nullable(state.candidate, pending),
            "candidate_weeks": _nullable(state.week - state.run_start + 1, pending),
        },
        index=pd.Index(symbols, name="symbol"),
    )
    return frame


def history_frame(
    hist: np.ndarray, index: pd.DatetimeIndex, symbols: pd.Index
) -> pd.DataFrame:
    """Return the weeks x symbols stage history as Int64 with NA for no stage."""
    data = {
        j: pd.arrays.IntegerArray(hist[:, j].astype(np.int64), hist[:, j] == NO_STAGE)
        for j in range(len(symbols))
    }
    frame = pd.DataFrame(data, index=pd.DatetimeIndex(index, name="date"))
    frame.columns = pd.Index(symbols, name="symbol")
    return frame


def stage_changes(
    hist: np.ndarray,
    transitions: np.ndarray,
    index: pd.DatetimeIndex,
    symbols: pd.Index,
    name_rank: np.ndarray | None = None,
) -> pd.DataFrame:
    """Return one row per confirmed stage change: symbol, date, from/to stage.

    Sorted by date, then symbol (`name_rank`, if given, is each symbol's position
    in name order, which spares sorting strings).
    """
    weeks, cols = np.nonzero(transitions)
    names = np.asarray(symbols, dtype=object)[cols]
    key = names if name_rank is None else name_rank[cols]
    order = np.lexsort((key, weeks))
    weeks, cols, names = weeks[order], cols[order], names[order]
    return pd.DataFrame(
        {
            "symbol": pd.Series(names, dtype=object),
            "date": pd.DatetimeIndex(index)[weeks],
            "from_stage": transitions[weeks, cols].astype(np.int64),
            "to_stage": hist[weeks, cols].astype(np.int64),
        }
    )


def weinstein_stages(
    weekly_close: pd.DataFrame,
    weekly_volume: pd.DataFrame | None = None,
    bench_weekly_close: pd.Series | None = None,
    with_history: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Classify Weinstein stages; return (current by symbol, weeks x symbols history).

    With `with_history=False` the history frame is empty (building a wide Int64 frame
    costs ~35 ms per 1,000 symbols).
    """
    symbols = weekly_close.columns
    index = pd.DatetimeIndex(weekly_close.index)
    close = weekly_close.to_numpy(dtype=np.float64)
    n = close.shape[1]
    if close.shape[0] == 0 or n == 0:
        blank = np.full(n, NAN)
        values = dict.fromkeys(
            ("ma30", "pv", "slope", "mansfield_rs", "volume_ratio"), blank
        )
        current = current_frame(
            np.zeros(n, np.int64), StageState.empty(n), values, symbols
        )
        return current, history_frame(
            np.zeros((len(index), n), np.int64), index, symbols
        )
    volume = None
    if weekly_volume is not None:
        volume = weekly_volume.reindex(index=index, columns=symbols).to_numpy(
            dtype=np.float64
        )
    bench = None
    if bench_weekly_close is not None:
        bench = bench_weekly_close.reindex(index).to_numpy(dtype=np.float64)
    ma30, pv, slope = ma_slope_pv(close)
    run = run_stage_machine(pv, slope)
    hist, state = run.hist, run.state
    values = {
        "ma30": ma30[-1],
        "pv": pv[-1],
        "slope": slope[-1],
        "mansfield_rs": mansfield_last(close, bench),
        "volume_ratio": volume_ratio_last(volume, n),
    }
    current = current_frame(hist[-1], state, values, symbols)
    if not with_history:
        hist = hist[:0]
        index = index[:0]
    return current, history_frame(hist, index, symbols)

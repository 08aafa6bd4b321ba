"""Whole-history Weinstein stage runs, computed once and reused by every snapshot.

`weinstein_stages` only sees the weeks it is given, so a snapshot built on a
bounded window would cap `weeks_in_stage` at the window's length. A
`StageHistory` runs the pinned stage machine (analytics.stages) over every stored
weekly close once and keeps the machine's state after every week; a snapshot
engine working on a recent window then continues from the exact state of its
last settled week (`settled_run`), so stages and `weeks_in_stage` are those of
the full history while the engine stays bounded.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from analytics.stage_machine import (
    NO_STAGE,
    MachineRun,
    StageState,
    stage_step,
    week_inputs,
)
from analytics.stages import ma_slope_pv

STATE_FIELDS = tuple(f.name for f in fields(StageState) if f.name != "week")
# The ISO week of a day: 1970-01-01 was a Thursday, +3 makes weeks start Monday.
WEEK_SHIFT_DAYS = 3
DAYS_PER_WEEK = 7


def week_ids(dates: pd.DatetimeIndex | np.ndarray) -> np.ndarray:
    """Return the ISO week number (Monday start, counted from 1970) of each date."""
    days = np.asarray(dates, dtype="datetime64[D]").astype(np.int64)
    return (days + WEEK_SHIFT_DAYS) // DAYS_PER_WEEK


def weekly_close_from_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Pivot (symbol, date, close) rows, one per symbol and week, to weeks x symbols.

    Each week is labelled by its last date over all symbols, as `weekly_arrays`
    labels it by the panel's last session of the week.
    """
    if rows is None or len(rows) == 0:
        return pd.DataFrame(index=pd.DatetimeIndex([], name="date"), dtype=np.float64)
    days = rows["date"].to_numpy(dtype="datetime64[D]")
    weeks, row_week = np.unique(week_ids(days), return_inverse=True)
    label = np.full(len(weeks), np.iinfo(np.int64).min)
    np.maximum.at(label, row_week, days.astype(np.int64))
    codes, symbols = pd.factorize(rows["symbol"].astype(str), sort=True)
    close = np.full((len(weeks), len(symbols)), np.nan)
    close[row_week, codes] = rows["close"].to_numpy(dtype=np.float64)
    index = pd.DatetimeIndex(label.astype("datetime64[D]"), name="date")
    return pd.DataFrame(close, index=index, columns=pd.Index(symbols, name="symbol"))


@dataclass
class StageHistory:
    """The stage machine run over all weeks: per-week stage, change and state."""

    symbols: pd.Index
    dates: pd.DatetimeIndex
    week_ids: np.ndarray
    hist: np.ndarray
    transitions: np.ndarray
    states: dict[str, np.ndarray]

    def state_after(self, week: int, columns: np.ndarray) -> StageState:
        """Return the machine state after week `week` (-1: before any) for columns.

        `columns` are positions in `symbols`; -1 marks a symbol without history.
        """
        n = len(columns)
        if week < 0:
            return StageState.empty(n)
        known = columns >= 0
        picked = np.where(known, columns, 0)
        values = {}
        for name in STATE_FIELDS:
            row = self.states[name][week][picked]
            values[name] = np.where(known, row, np.zeros(1, dtype=row.dtype))
        return StageState(**values, week=week)


def build_stage_history(weekly_close: pd.DataFrame) -> StageHistory:
    """Run the pinned stage machine over every week of a weeks x symbols close."""
    close = weekly_close.to_numpy(dtype=np.float64)
    weeks, n = close.shape
    _, pv, slope = ma_slope_pv(close)
    parts = week_inputs(pv, slope)
    hist = np.zeros((weeks, n), dtype=np.int8)
    transitions = np.zeros((weeks, n), dtype=np.int8)
    empty = StageState.empty(n)
    states = {
        name: np.empty((weeks, n), dtype=getattr(empty, name).dtype)
        for name in STATE_FIELDS
    }
    state = empty
    for w in range(weeks):
        before = state
        state = stage_step(state, parts.base[w], parts.untrended[w], parts.has[w])
        hist[w] = np.where(parts.has[w], state.stage, NO_STAGE)
        transitions[w] = np.where(state.changed, before.stage, NO_STAGE)
        for name in STATE_FIELDS:
            states[name][w] = getattr(state, name)
    index = pd.DatetimeIndex(weekly_close.index, name="date")
    return StageHistory(
        symbols=pd.Index(weekly_close.columns.astype(str)),
        dates=index,
        week_ids=week_ids(index),
        hist=hist,
        transitions=transitions,
        states=states,
    )


def settled_run(
    history: StageHistory,
    symbols: pd.Index,
    dates: pd.DatetimeIndex,
    pv_last: np.ndarray,
    slope_last: np.ndarray,
    keep: int,
) -> MachineRun | None:
    """Return the machine run of a window's weekly bars, continued from `history`.

    `dates` are the window's week labels (its last week may end before the stored
    week does: then that partial week is stepped from the state of the week
    before, with the window's own `pv_last` / `slope_last`). Only the last `keep`
    weeks of `hist` / `transitions` are returned. None when the window's last
    week is not in `history`.
    """
    if len(dates) == 0:
        return None
    last_id = int(week_ids(dates[-1:])[0])
    j = int(np.searchsorted(history.week_ids, last_id))
    if j >= len(history.week_ids) or history.week_ids[j] != last_id:
        return None
    lookup = pd.Index(history.symbols).get_indexer(pd.Index(symbols).astype(str))
    before = history.state_after(j - 1, lookup)
    first = max(j + 1 - keep, 0)

    def tail(values: np.ndarray, stop: int) -> np.ndarray:
        known = lookup >= 0
        rows = values[first:stop][:, np.where(known, lookup, 0)]
        return np.where(known, rows, np.int8(NO_STAGE))

    if history.dates[j] == dates[-1]:
        state = history.state_after(j, lookup)
        return MachineRun(
            tail(history.hist, j + 1), tail(history.transitions, j + 1), state, before
        )
    parts = week_inputs(pv_last, slope_last)
    state = stage_step(before, parts.base, parts.untrended, parts.has)
    row = np.where(parts.has, state.stage, np.int8(NO_STAGE))
    left = np.where(state.changed, before.stage, np.int8(NO_STAGE))
    hist = np.vstack([tail(history.hist, j), row[None, :].astype(np.int8)])
    trans = np.vstack([tail(history.transitions, j), left[None, :].astype(np.int8)])
    return MachineRun(hist, trans, state, before)

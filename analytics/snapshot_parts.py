"""Shared pieces of the snapshot engine: ranking columns, field arrays, small steps."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from analytics._numeric import NAN
from analytics.constants import (
    BREADTH_SMA_WINDOWS,
    RETURN_WINDOWS,
    RS_NEW_HIGH_WINDOW,
    VOLUME_RATIO_WEEKS,
)
from analytics.returns import return_column
from analytics.stage_machine import StageState
from analytics.stages import MANSFIELD_WEEKS

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
# Panels with at least this many values (sessions x symbols) count their settled
# breadth in the worker thread while the engine prepares the rest: numpy releases
# the GIL in its loops, so on two cores most of that time is hidden. (Only numpy
# work overlaps well: beside pure-Python work such as building DataFrames, the
# worker waits for the GIL at every step and runs ~2.5x slower.)
THREAD_MIN_VALUES = 200_000
_worker_lock = threading.Lock()
_worker: dict[str, Any] = {}  # "pool" and its one "thread", created on first use


def _executor() -> ThreadPoolExecutor:
    """Return the snapshot worker pool (one thread), new after a fork."""
    with _worker_lock:
        thread = _worker.get("thread")
        # A forked child (gunicorn worker) inherits the pool but not its thread,
        # which then reads as not alive: jobs would wait for ever, so start anew.
        if thread is None or not thread.is_alive():
            pool = ThreadPoolExecutor(1, thread_name_prefix="snapshot")
            _worker.update(
                pool=pool, thread=pool.submit(threading.current_thread).result()
            )
        return _worker["pool"]


class Job:
    """Run a function now, or in the snapshot worker thread; `result` joins it."""

    def __init__(self, fn: Callable[..., Any], *args: Any, threaded: bool) -> None:
        self._future = _executor().submit(fn, *args) if threaded else None
        self._value = None if threaded else fn(*args)

    def result(self) -> Any:
        """Return the function's value (its exception re-raised), waiting once."""
        if self._future is not None:
            future, self._future = self._future, None
            self._value = future.result()
        return self._value


def normalise_meta(meta: pd.DataFrame | None) -> tuple[list[str], dict[str, list]]:
    """Return (symbols in first-seen order, {column: values}); later duplicates win."""
    if meta is None or len(meta) == 0 or "symbol" not in meta:
        return [], {c: [] for c in META_COLUMNS}
    symbols = np.asarray([str(s) for s in meta["symbol"].tolist()], dtype=object)
    codes, firsts = pd.factorize(symbols)  # codes number symbols by first sight
    # Each symbol's last row: its first row in the reversed codes.
    _, from_end = np.unique(codes[::-1], return_index=True)
    rows = len(codes) - 1 - from_end
    values = {}
    for c in META_COLUMNS:
        column = meta[c].tolist() if c in meta else [None] * len(symbols)
        values[c] = np.asarray(column, dtype=object)[rows].tolist()
    return firsts.tolist(), values


def positions(columns: pd.Index, names: list[str]) -> np.ndarray:
    """Return each name's position in `columns` (-1 if absent; last of duplicates)."""
    if columns.is_unique:
        return columns.get_indexer(pd.Index(names, dtype=object)).astype(np.intp)
    last = {c: i for i, c in enumerate(columns.tolist())}
    return np.fromiter((last.get(n, -1) for n in names), np.intp, len(names))


def field_array(
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


def session_date(value: Any) -> pd.Timestamp:
    """Return `value` as a naive midnight timestamp (its session date)."""
    ts = pd.Timestamp(value)
    if ts.tz is not None:
        ts = ts.tz_localize(None)
    return ts.normalize()


def week_id(ts: pd.Timestamp) -> int:
    """Return the number of the ISO week (Monday-based) that `ts` falls in."""
    days = int(ts.to_datetime64().astype("datetime64[D]").astype(np.int64))
    return (days + 3) // 7  # ISO weeks start on Monday; 1970-01-01 was a Thursday


def select_state(state: StageState, columns: np.ndarray) -> StageState:
    """Return the stage-machine state of the given columns only."""
    names = [f for f in StageState.__dataclass_fields__ if f != "week"]
    return StageState(*(getattr(state, f)[columns] for f in names), week=state.week)


def ema_scalar(state: float, value: float, alpha: float) -> float:
    """Advance an EMA by one value (a missing value leaves it as it is)."""
    # Same arithmetic as _numeric.ema_series, one step.
    if value != value:
        return state
    return value if state != state else state + alpha * (value - state)


def pad(values: np.ndarray, extra: int, fill: Any) -> np.ndarray:
    """Append `extra` copies of `fill` to `values`."""
    if extra == 0:
        return values
    return np.concatenate([values, np.full(extra, fill, dtype=values.dtype)])


def column_array(values: np.ndarray, null: np.ndarray | None) -> Any:
    """Wrap a gathered column: nullable Int64/boolean with a mask, objects as-is."""
    if null is not None:
        if values.dtype == bool:
            return pd.arrays.BooleanArray(values, null)
        return pd.arrays.IntegerArray(values, null)
    if values.dtype == object:
        return pd.Series(values, dtype=object, copy=False)
    return values


def as_float(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Return `values` as floats with NaN where `mask` is set."""
    return np.where(mask, NAN, np.asarray(values, dtype=np.float64))

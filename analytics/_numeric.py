"""Vectorised numpy kernels over (time, symbol) arrays; NaN means "no value".

Accumulations along the time axis are written as a Python loop over rows of whole
symbol vectors: numpy's own `cumsum(axis=0)` / `accumulate(axis=0)` walk each column
with a stride and are several times slower on a wide row-major panel. pandas hands
out column-major arrays (`DataFrame.to_numpy()` of a float block), so the heavy
callers convert the close panel to row-major once; kernels that also see other
fields (`prior_extreme`) copy the few rows they accumulate to row-major first.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

NAN = np.nan


def as_2d(values: np.ndarray) -> np.ndarray:
    """Return a float64 (time, symbol) array (a view when already one)."""
    arr = np.asarray(values, dtype=np.float64)
    return arr[:, None] if arr.ndim == 1 else arr


def shift(a: np.ndarray, n: int) -> np.ndarray:
    """Shift rows down by n (value at t is a[t-n]); vacated rows are NaN."""
    out = np.full(a.shape, NAN)
    if n < a.shape[0]:
        out[n:] = a[: a.shape[0] - n]
    return out


def safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Divide elementwise, NaN where the denominator is 0 or NaN."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.true_divide(num, den)
    den = np.asarray(den)
    if np.ndim(out) == 0:
        return out if den != 0 else NAN
    bad = np.broadcast_to(den == 0, out.shape)
    if bad.any():
        out = np.where(bad, NAN, out)
    return out


TRANSPOSE_BLOCK = 128  # columns copied per step by row_major (fits the CPU cache)


def row_major(a: np.ndarray) -> np.ndarray:
    """Return a C-contiguous copy of a 2-D array (itself when it already is one).

    Copies column-major input in blocks of columns, which keeps both sides of the
    transposing copy in cache (about 1.5x faster than np.ascontiguousarray).
    """
    if a.ndim != 2 or a.flags.c_contiguous:
        return np.ascontiguousarray(a)
    out = np.empty(a.shape, dtype=a.dtype)
    for j in range(0, a.shape[1], TRANSPOSE_BLOCK):
        out[:, j : j + TRANSPOSE_BLOCK] = a[:, j : j + TRANSPOSE_BLOCK]
    return out


COUNT_DTYPE_MAX = np.iinfo(np.uint16).max


def count_rows(mask: np.ndarray) -> np.ndarray:
    """Return the number of True values in each row of a 2-D bool array, as floats."""
    # 0/1 bytes summed in 16-bit lanes: one vectorised call (2x a per-row loop,
    # 6x count_nonzero(axis=1), one GIL round trip); long rows take 32 bits.
    dtype = np.uint16 if mask.shape[-1] <= COUNT_DTYPE_MAX else np.uint32
    return mask.view(np.uint8).sum(axis=-1, dtype=dtype).astype(np.float64)


ROW_CHUNK = 32  # rows per step of the chunked kernels (a chunk stays in L2 cache)


def count_above_window_mean(
    centred: np.ndarray, csum: np.ndarray, window: int
) -> np.ndarray:
    """Count, per row r >= window-1, columns where centred[r] > their window mean.

    The mean of the window ending at row r is (csum[r+1] - csum[r+1-window]) /
    window (`csum` from row_cumsum). Same operations as the whole-array form
    (subtract, divide, compare), done a few rows at a time in reused buffers;
    NaN compares False.
    """
    rows = centred.shape[0] - window + 1
    if rows <= 0:
        return np.zeros(0)
    out = np.empty(rows)
    buf = np.empty((min(ROW_CHUNK, rows), centred.shape[1]))
    flags = np.empty(buf.shape, dtype=bool)
    for start in range(0, rows, ROW_CHUNK):
        stop = min(start + ROW_CHUNK, rows)
        sums, above = buf[: stop - start], flags[: stop - start]
        np.subtract(csum[window + start : window + stop], csum[start:stop], out=sums)
        sums /= window
        with np.errstate(invalid="ignore"):
            np.greater(centred[window - 1 + start : window - 1 + stop], sums, out=above)
        out[start:stop] = count_rows(above)
    return out


def nan_columns(a: np.ndarray) -> np.ndarray:
    """Return the indices of the columns of a 2-D array holding a NaN.

    A column sum is NaN when the column holds one, so only the columns whose sum
    is NaN (a NaN, or +inf and -inf) are checked element by element.
    """
    with np.errstate(invalid="ignore"):
        candidates = np.flatnonzero(np.isnan(a.sum(axis=0)))
    if len(candidates) == 0:
        return candidates
    return candidates[np.isnan(a[:, candidates]).any(axis=0)]


def row_accumulate(a: np.ndarray, op: np.ufunc) -> np.ndarray:
    """Return the running op (np.add, np.maximum, ...) down the rows of a 2-D array."""
    out = np.empty_like(a)
    if a.shape[0]:
        out[0] = a[0]
    for i in range(1, a.shape[0]):
        op(out[i - 1], a[i], out=out[i])
    return out


def row_cumsum(a: np.ndarray) -> np.ndarray:
    """Return cumulative sums with a leading zero row: out[i] = a[:i].sum(axis=0)."""
    out = np.empty((a.shape[0] + 1, *a.shape[1:]), dtype=a.dtype)
    out[0] = 0
    for i in range(a.shape[0]):
        np.add(out[i], a[i], out=out[i + 1])
    return out


class ArrayInfo:
    """A (time, symbol) float array with lazily computed NaN bookkeeping."""

    def __init__(self, a: np.ndarray) -> None:
        self.a = as_2d(a)
        self.nan = np.isnan(self.a)
        self.any_nan = bool(self.nan.any())

    @cached_property
    def valid_count(self) -> np.ndarray:
        """Number of valid values per column."""
        return self.a.shape[0] - np.count_nonzero(self.nan, axis=0)

    @cached_property
    def last_nan(self) -> np.ndarray:
        """Row index of the last NaN at or before each row (-1 if none)."""
        rows = np.arange(self.a.shape[0], dtype=np.int32)[:, None]
        return row_accumulate(np.where(self.nan, rows, np.int32(-1)), np.maximum)

    def full_windows(self, window: int) -> np.ndarray | None:
        """Return bool rows w-1.. : window ending there is all valid; None = all are."""
        if not self.any_nan:
            return None
        ends = np.arange(window - 1, self.a.shape[0], dtype=np.int32)[:, None]
        return self.last_nan[window - 1 :] <= ends - window

    @cached_property
    def centred(self) -> tuple[np.ndarray, np.ndarray]:
        """Return (a - ref with NaN as 0, ref) where ref is the last row (0 if NaN)."""
        last = self.a[-1] if self.a.shape[0] else np.zeros(self.a.shape[1])
        ref = np.where(np.isnan(last), 0.0, last)
        diff = self.a - ref
        if self.any_nan:
            np.copyto(diff, 0.0, where=self.nan)
        return diff, ref

    @cached_property
    def csum(self) -> np.ndarray:
        """Cumulative sums of the centred values (leading zero row)."""
        return row_cumsum(self.centred[0])

    def window_sums(self, window: int) -> np.ndarray:
        """Return centred sums over windows ending at rows window-1.. (masked later)."""
        return self.csum[window:] - self.csum[:-window]

    def rolling_mean(self, window: int) -> np.ndarray:
        """Return the trailing mean; NaN unless all `window` values are valid."""
        t = self.a.shape[0]
        out = np.full(self.a.shape, NAN)
        if window <= 0 or t < window:
            return out
        ref = self.centred[1]
        mean = self.window_sums(window) / window + ref
        full = self.full_windows(window)
        out[window - 1 :] = mean if full is None else np.where(full, mean, NAN)
        return out


def rolling_mean(a: np.ndarray, window: int) -> np.ndarray:
    """Return the trailing `window`-row mean; NaN unless all values are valid."""
    return ArrayInfo(a).rolling_mean(window)


def window_mean_last(tail: np.ndarray, x: np.ndarray, window: int) -> np.ndarray:
    """Return the mean of the window ending with row x after the rows `tail`.

    Uses the last `window - 1` rows of tail; NaN when any value is missing or the
    history is short. Centred on x, so a window of identical values is exact.
    """
    if window <= 0 or tail.shape[0] < window - 1:
        return np.full(x.shape, NAN)
    block = np.empty((window, x.shape[0]))
    np.subtract(tail[tail.shape[0] - (window - 1) :], x, out=block[:-1])
    np.subtract(x, x, out=block[-1])
    return block.sum(axis=0) / window + x


def tail_sums(history: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (sum of the last window-1 rows minus ref, ref = the last row).

    With `window_mean_from` this gives the SMA of a window that ends with one more,
    not yet known row. NaN when a row is missing or the history is short.
    """
    n = history.shape[1]
    if window <= 0 or history.shape[0] < window - 1:
        return np.full(n, NAN), np.zeros(n)
    if window == 1 or history.shape[0] == 0:
        return np.zeros(n), np.zeros(n)
    ref = history[-1]
    tail = history[history.shape[0] - (window - 1) :]
    return (tail - ref).sum(axis=0), ref.copy()


def nested_tail_sums(
    history: np.ndarray, windows: list[int]
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Return `tail_sums(history, w)` for each window, centring the rows only once.

    Every window shares the reference (the last row), so the centred block of the
    longest window holds the shorter ones as its last rows; each sum runs over the
    same rows in the same order as tail_sums, so the results are identical.
    """
    t = history.shape[0]
    shared = [w for w in windows if w > 1 and t >= w - 1 and t > 0]
    out = {w: tail_sums(history, w) for w in windows if w not in shared}
    if shared:
        ref = history[-1]
        longest = max(shared)
        centred = history[t - (longest - 1) :] - ref
        for w in shared:
            out[w] = (centred[centred.shape[0] - (w - 1) :].sum(axis=0), ref.copy())
    return {w: out[w] for w in windows}


def scaled_ratio_rows(
    a: np.ndarray, den: np.ndarray, rows: int, scale: float
) -> np.ndarray:
    """Return safe_div(scale * a[-rows:], den[-rows:, None]) with one temporary."""
    out = np.multiply(a[a.shape[0] - rows :], scale)
    den = den[den.shape[0] - rows :, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        np.true_divide(out, den, out=out)
    zero = den[:, 0] == 0
    if zero.any():
        out[zero] = NAN
    return out


def window_mean_from(
    sums: np.ndarray, ref: np.ndarray, x: np.ndarray, window: int
) -> np.ndarray:
    """Return the SMA of a window = the rows summarised by `tail_sums` plus row x.

    Exact when every value equals x (the sums and the correction are then 0).
    """
    with np.errstate(invalid="ignore"):
        return (sums + (window - 1) * (ref - x)) / window + x


def prior_extreme(a: np.ndarray, lookback: int, op: np.ufunc) -> np.ndarray:
    """Return op-extreme of rows t-lookback..t-1 for each row t >= lookback.

    The result has one row per t in lookback..T-1. Any NaN in a window gives NaN.
    Windows are handled in groups of at most `lookback` that share a middle block,
    so each input row is touched about twice.
    """
    t, n = a.shape
    out = np.empty((max(t - lookback, 0), n))  # row-major: built row by row
    first = lookback
    while first < t:
        last = min(first + lookback - 1, t - 1)
        s0, s1 = first - lookback, last - lookback  # window starts in this group
        # left[k]: rows s0+k .. first-1; right[k]: rows first .. first+k.
        left = np.empty((s1 - s0 + 1, n))
        middle = op.reduce(a[s1:first], axis=0, out=left[-1])  # shared by all
        if s1 > s0:
            op(_accumulate(a[s0:s1][::-1], op)[::-1], middle, out=left[:-1])
        right = _accumulate(a[first:last], op)
        block = out[first - lookback : last - lookback + 1]
        block[0] = left[0]
        if len(right):
            op(left[1:], right, out=block[1:])
        first = last + 1
    return out


def _accumulate(a: np.ndarray, op: np.ufunc) -> np.ndarray:
    """Running op down the rows, choosing the fast kernel for the memory layout."""
    if a.shape[0] == 0:
        return np.empty((0, *a.shape[1:]))
    if a.ndim == 2 and a.strides[-1] != a.itemsize:
        # Column-major blocks: a row-major copy of the block then whole-row steps
        # beats a per-column accumulate.
        a = row_major(a)
    return row_accumulate(a, op)


def ema_weights(alpha: float, t: int) -> np.ndarray:
    """Return w with EMA_{t-1} = sum_k w_k x_k for the recurrence seeded with x_0."""
    decay = (1.0 - alpha) ** np.arange(t - 1, -1, -1, dtype=np.float64)
    w = alpha * decay
    w[0] = decay[0]
    return w


def _gappy_weights(steps: np.ndarray, seed: np.ndarray, alpha: float) -> np.ndarray:
    """Return per-column EMA weights (T x D) for columns with NaN: NaN rows weigh 0.

    Skipping NaN inputs makes the EMA the plain recurrence over each column's valid
    values, so a valid value of rank r among m gets alpha * (1 - alpha)^(m-1-r) and
    the first one (the seed) (1 - alpha)^(m-1). `steps` holds m-1-r for valid
    values and -1 for NaN; the powers come from one table of (1 - alpha)^k.
    """
    table = (1.0 - alpha) ** np.arange(steps.shape[0], dtype=np.int64)
    power = table[np.maximum(steps, 0)]
    w = np.where(steps >= 0, alpha * power, 0.0)
    w[seed] = power[seed]
    return w


def ema_last(
    a: np.ndarray,
    alphas: tuple[float, ...],
    nan: np.ndarray | None = None,
    missing: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return (EMA state per alpha after the last row, valid inputs per column).

    Each EMA is seeded with the column's first valid value and skips NaN inputs,
    evaluated in closed form sum_k w_k x_k (one matrix product for the columns
    without NaN), centred on the last value so that a constant column gives its
    value exactly.
    """
    t, n = a.shape
    k = len(alphas)
    if t == 0:
        return np.full((k, n), NAN), np.zeros(n, dtype=np.int64)
    nan = np.isnan(a) if nan is None else nan
    if missing is None:  # NaN count per column (callers may know it already)
        missing = np.count_nonzero(nan, axis=0)
    dirty = np.flatnonzero(missing)
    ref = a[-1]
    # Columns with NaN go through the same product (each output column depends on
    # its own input column only) and are replaced below, so they are not cleaned.
    centred = a - ref
    weights = np.stack([ema_weights(al, t) for al in alphas])
    with np.errstate(invalid="ignore"):
        state = weights @ centred + ref
    if len(dirty):
        sub = a[:, dirty]
        sub_nan = nan[:, dirty]
        pos = np.maximum(np.argmax(sub_nan[::-1] == 0, axis=0), 0)
        sub_ref = np.where(
            missing[dirty] < t, sub[t - 1 - pos, np.arange(len(dirty))], 0.0
        )
        centred_sub = np.where(sub_nan, 0.0, sub - sub_ref)
        valid = ~sub_nan
        rank = np.cumsum(valid, axis=0) - 1
        steps = np.where(valid, rank[-1] - rank, -1)
        seed = valid & (rank == 0)
        for i, al in enumerate(alphas):
            w = _gappy_weights(steps, seed, al)
            value = np.einsum("tj,tj->j", w, centred_sub) + sub_ref
            state[i, dirty] = np.where(missing[dirty] < t, value, NAN)
    return state, (t - missing).astype(np.int64)


def ema_update(state: np.ndarray, x: np.ndarray, alpha: float) -> np.ndarray:
    """Return the EMA state after one more row (seed where unseeded, skip NaN)."""
    seeded = np.where(np.isnan(state), x, state)
    upd = seeded + alpha * (x - seeded)
    return np.where(np.isnan(x), seeded, upd)


def ema_series(x: np.ndarray, alpha: float) -> np.ndarray:
    """Return the EMA of a 1-D series seeded with its first value; NaN-skipping."""
    out = np.full(x.shape[0], NAN)
    state = NAN
    for i, v in enumerate(np.asarray(x, dtype=np.float64).tolist()):
        if v == v:
            state = v if state != state else state + alpha * (v - state)
        out[i] = state
    return out

"""Validate imported bar rows; repair two known vendor glitches.

A row is rejected for a missing or unparseable value, a non-positive
open/close, a volume outside 0..1e12, high < low, a high/low that misses the
open/close by more than 0.5%, a duplicate key, a date in the future or a
weekend date (never a session). Two vendor glitches found in the real files
are repaired instead (and listed as repairs; `--strict` rejects them): a
high/low of 0 (a missing print) and a high/low that misses the open/close by
at most 0.5% (a rounding slip); both are widened to bracket the open and close.

Adjusted closes: the store keeps adjusted prices (DESIGN "Storage"). When a
daily file has an adjusted close, open/high/low/close are multiplied by
`adj_close / close` and volume by `close / adj_close` (so dollar volume is
unchanged and split days do not jump); `--raw` keeps prices as traded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dashapp.store import BAR_FIELDS
from ingest.history_dates import parse_when
from ingest.history_read import DAILY, MARKET_TZ, MINUTE
from ingest.validate import MAX_VOLUME

# Bracket misses up to this fraction of the price are rounding slips (repaired).
REPAIR_TOLERANCE = 0.005
SATURDAY = 5  # pandas day_of_week; a weekend date is never an exchange session
FUTURE_SLACK = pd.Timedelta(minutes=5)  # the feed's bound on bar times
ADJUST_DECIMALS = 6
MAX_SYMBOL_LEN = 24


@dataclass(frozen=True)
class Problem:
    """One rejected or repaired row: its line number and what was wrong."""

    line: int
    message: str


@dataclass
class FileReport:
    """What validating one file found."""

    path: str
    kind: str
    rows: int = 0
    rejects: list[Problem] = field(default_factory=list)
    repairs: list[Problem] = field(default_factory=list)
    adjusted: bool = False
    symbols: int = 0
    first: Any = None
    last: Any = None

    @property
    def accepted(self) -> int:
        """Return how many rows passed validation."""
        return self.rows - len(self.rejects)


# -------------------------------------------------------------- validation
class _Collector:
    """Collect rejects and repairs as (row position, message) pairs."""

    def __init__(self, n: int) -> None:
        self.bad = np.zeros(n, dtype=bool)
        self.rejects: list[tuple[np.ndarray, Callable[[int], str]]] = []
        self.repairs: list[tuple[np.ndarray, Callable[[int], str]]] = []

    def reject(self, mask: np.ndarray, message: Callable[[int], str]) -> None:
        mask = np.asarray(mask, dtype=bool) & ~self.bad
        if mask.any():
            self.rejects.append((np.flatnonzero(mask), message))
            self.bad |= mask

    def repair(self, mask: np.ndarray, message: Callable[[int], str]) -> None:
        mask = np.asarray(mask, dtype=bool) & ~self.bad
        if mask.any():
            self.repairs.append((np.flatnonzero(mask), message))

    def problems(self, which: str, line_of: Callable[[int], int]) -> list[Problem]:
        out = [
            Problem(line_of(int(i)), message(int(i)))
            for rows, message in getattr(self, which)
            for i in rows
        ]
        return sorted(out, key=lambda p: p.line)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return repr(value) if isinstance(value, str) else str(value)


def _numbers(frame: pd.DataFrame, col: str, out: _Collector) -> np.ndarray:
    raw = frame[col]
    if pd.api.types.is_bool_dtype(raw):
        raw = raw.astype(object)
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
    missing = raw.isna().to_numpy()
    out.reject(missing, lambda i: f"missing {col}")
    bad = ~np.isfinite(values) & ~missing
    out.reject(bad, lambda i: f"bad number in {col}: {_fmt(raw.iloc[i])}")
    return values


def _symbols(frame: pd.DataFrame, out: _Collector) -> np.ndarray:
    codes, uniques = pd.factorize(frame["symbol"], use_na_sentinel=True)
    clean = np.array([str(u).strip().upper() for u in uniques], dtype=object)
    values = np.where(codes >= 0, clean[np.maximum(codes, 0)], "")
    empty = values == ""
    out.reject(empty, lambda i: "missing symbol")
    long = np.array([len(s) > MAX_SYMBOL_LEN for s in clean], dtype=bool)
    too_long = np.zeros(len(values), dtype=bool) if not len(long) else long[codes]
    out.reject(too_long & (codes >= 0), lambda i: f"symbol too long: {values[i]!r}")
    return values


def _when(frame: pd.DataFrame, kind: str, tz: str, out: _Collector) -> pd.Series:
    values = frame["when"]
    if "time_of_day" in frame:
        values = frame["when"].astype(str) + " " + frame["time_of_day"].astype(str)
    parsed = parse_when(values, kind, tz)
    missing = values.isna().to_numpy()
    out.reject(missing, lambda i: "missing date" if kind == DAILY else "missing time")
    bad = parsed.isna().to_numpy() & ~missing
    label = "date" if kind == DAILY else "timestamp"
    out.reject(bad, lambda i: f"unparseable {label}: {_fmt(values.iloc[i])}")
    if kind == MINUTE:
        ns = pd.DatetimeIndex(parsed).as_unit("ns").asi8
        off = (ns % 60_000_000_000 != 0) & parsed.notna().to_numpy()
        out.reject(off, lambda i: f"timestamp not on a whole minute: {parsed.iloc[i]}")
        late = (parsed > pd.Timestamp.now(tz="UTC") + FUTURE_SLACK).to_numpy()
        out.reject(late, lambda i: f"timestamp in the future: {parsed.iloc[i]}")
    else:
        today = pd.Timestamp.now(tz=MARKET_TZ).tz_localize(None).normalize()
        late = (parsed > today).to_numpy()
        out.reject(late, lambda i: f"date in the future: {parsed.iloc[i].date()}")
        weekend = (parsed.dt.day_of_week >= SATURDAY).to_numpy()
        out.reject(weekend, lambda i: f"weekend date: {parsed.iloc[i].date()}")
    return parsed


def _check_prices(p: dict[str, np.ndarray], strict: bool, out: _Collector) -> None:
    o, h, lo, c, v = (p[k] for k in BAR_FIELDS)
    for name in ("open", "close"):
        out.reject(p[name] <= 0, lambda i, n=name: f"non-positive {n}: {_fmt(p[n][i])}")
    for name in ("high", "low"):
        out.reject(p[name] < 0, lambda i, n=name: f"negative {n}: {_fmt(p[n][i])}")
    out.reject(v < 0, lambda i: f"negative volume: {_fmt(v[i])}")
    out.reject(v > MAX_VOLUME, lambda i: f"volume above {MAX_VOLUME:g}: {_fmt(v[i])}")
    top = np.maximum(o, c)
    bottom = np.minimum(o, c)
    zero_h, zero_lo = h == 0, lo == 0
    real_h = np.where(zero_h, top, h)
    real_lo = np.where(zero_lo, bottom, lo)
    out.reject(
        real_h < real_lo,
        lambda i: f"high < low (high={_fmt(h[i])}, low={_fmt(lo[i])})",
    )
    with np.errstate(divide="ignore", invalid="ignore"):  # rows already rejected
        high_miss = (top - real_h) / top
        low_miss = (real_lo - bottom) / bottom
    out.reject(
        high_miss > REPAIR_TOLERANCE,
        lambda i: f"high {_fmt(h[i])} below max(open, close) {_fmt(top[i])}",
    )
    out.reject(
        low_miss > REPAIR_TOLERANCE,
        lambda i: f"low {_fmt(lo[i])} above min(open, close) {_fmt(bottom[i])}",
    )
    slips = (zero_h | zero_lo | (high_miss > 0) | (low_miss > 0)) & ~out.bad

    def describe(i: int) -> str:
        new_h, new_lo = max(h[i], top[i]), min(real_lo[i], bottom[i])
        parts = []
        if new_h != h[i]:
            parts.append(f"high {_fmt(h[i])} -> {_fmt(new_h)}")
        if new_lo != lo[i]:
            parts.append(f"low {_fmt(lo[i])} -> {_fmt(new_lo)}")
        return "repaired " + ", ".join(parts)

    if strict:
        out.reject(slips, lambda i: describe(i).replace("repaired", "would repair"))
    else:
        out.repair(slips, describe)
        p["high"] = np.where(slips, np.maximum(h, top), h)
        p["low"] = np.where(slips, np.minimum(real_lo, bottom), lo)


def _duplicates(
    symbols: np.ndarray,
    when: pd.Series,
    out: _Collector,
    line_of: Callable[[int], int],
) -> None:
    codes, _uniques = pd.factorize(symbols)
    ticks = pd.DatetimeIndex(when).as_unit("s").asi8
    # Daily dates are whole days, minute bars whole minutes: both fit in 32 bits.
    unit = 86_400 if when.dt.tz is None else 60
    keys = pd.Series((codes.astype(np.int64) << 32) | ((ticks // unit) & 0xFFFFFFFF))
    dup = keys.duplicated(keep=False).to_numpy() & ~out.bad
    if not dup.any():
        return
    rows = np.flatnonzero(dup)
    firsts: dict[int, int] = {}
    later = np.zeros(len(keys), dtype=bool)
    for pos, key in zip(rows, keys.to_numpy()[rows], strict=True):
        if key in firsts:
            later[pos] = True
        else:
            firsts[key] = pos

    def message(i: int) -> str:
        stamp = when.iloc[i]
        shown = stamp.date() if when.dt.tz is None else stamp
        first = firsts[keys.iloc[i]]
        return f"duplicate key {symbols[i]} {shown} (first on line {line_of(first)})"

    out.reject(later, message)


def _nullable_int(values: np.ndarray) -> pd.api.extensions.ExtensionArray:
    finite = np.isfinite(values)
    ints = np.where(finite, np.round(np.where(finite, values, 0)), 0).astype(np.int64)
    return pd.arrays.IntegerArray(ints, ~finite)


def validate(
    frame: pd.DataFrame,
    kind: str,
    *,
    adjust: bool = True,
    strict: bool = False,
    tz: str = MARKET_TZ,
    lines: np.ndarray | None = None,
    path: str = "",
) -> tuple[pd.DataFrame, FileReport]:
    """Validate canonical rows; return (valid bars ready to store, report)."""
    if lines is None:
        lines = np.arange(2, len(frame) + 2)

    def line_of(i: int) -> int:
        return int(lines[i])

    out = _Collector(len(frame))
    symbols = _symbols(frame, out)
    when = _when(frame, kind, tz, out)
    prices = {c: _numbers(frame, c, out) for c in BAR_FIELDS}
    _check_prices(prices, strict, out)
    adjusted = False
    if kind == DAILY and adjust and "adj_close" in frame:
        adj = _numbers(frame, "adj_close", out)
        out.reject(adj <= 0, lambda i: f"non-positive adj_close: {_fmt(adj[i])}")
        factor = np.where(
            out.bad, 1.0, adj / np.where(prices["close"] > 0, prices["close"], 1)
        )
        for col in ("open", "high", "low", "close"):
            prices[col] = np.round(prices[col] * factor, ADJUST_DECIMALS)
        prices["volume"] = prices["volume"] / factor
        adjusted = True
    key_col = "date" if kind == DAILY else "ts"
    _duplicates(symbols, when, out, line_of)
    good = ~out.bad
    bars = pd.DataFrame(
        {"symbol": symbols[good], key_col: when.array[good]}
        | {col: prices[col][good] for col in BAR_FIELDS}
    )
    if kind == MINUTE:
        for col in ("vwap", "trades"):
            if col in frame:
                values = pd.to_numeric(frame[col], errors="coerce").to_numpy()[good]
                bars[col] = values if col == "vwap" else _nullable_int(values)
    report = FileReport(
        path=path,
        kind=kind,
        rows=len(frame),
        rejects=out.problems("rejects", line_of),
        repairs=out.problems("repairs", line_of),
        adjusted=adjusted,
        symbols=int(pd.Series(bars["symbol"]).nunique()),
        first=bars[key_col].min() if len(bars) else None,
        last=bars[key_col].max() if len(bars) else None,
    )
    return bars, report

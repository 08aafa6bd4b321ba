"""File import of daily and minute bars: CSV, CSV.gz and Parquet in long format.

`tickstock import-daily FILE...` and `tickstock import-minute FILE...` read one
row per (symbol, date|timestamp), auto-detect the columns, validate every row
and write all files' rows only when every row of every file is valid (or
`--skip-bad` drops the rejected rows). Rejects are reported with their line
number (CSV: the header is line 1; Parquet: row 1 is the first row).

Columns (case and spaces ignored): symbol|ticker|sym (or `--symbol` for
single-symbol files), date|timestamp|datetime|time|ts (or separate date and
time columns for minute files), open, high, low, close, volume, and optionally
adjusted_close|adj_close, vwap, trades. Massive-style short names
(`T,o,h,l,c,v,t,vw,n`) work too. Other columns are ignored.

Adjusted closes: the store keeps adjusted prices (DESIGN "Storage"). When a
daily file has an adjusted close, open/high/low/close are multiplied by
`adj_close / close` and volume by `close / adj_close` (so dollar volume is
unchanged and split days do not jump); `--raw` keeps prices as traded.

Timestamps: epoch numbers (s, ms, us or ns by magnitude) and ISO strings with
an offset are exact; naive minute times are read in `--tz` (default
America/New_York, the exchange clock) and stored as the UTC bar start. Daily
dates keep the calendar date as written (epoch values use the New York date).

Validation: a row is rejected for a missing or unparseable value, a
non-positive open/close, a volume outside 0..1e12, high < low, a high/low that
misses the open/close by more than 0.5%, a duplicate key, a date in the future
or a weekend date (never a session). Two vendor glitches found
in the real files are repaired instead (and listed as repairs; `--strict`
rejects them): a high/low of 0 (a missing print) and a high/low that misses the
open/close by at most 0.5% (a rounding slip); both are widened to bracket the
open and close.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import re
import sys
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dashapp.store import BAR_FIELDS, Store
from ingest.validate import MAX_VOLUME

log = logging.getLogger(__name__)

DAILY, MINUTE = "daily", "minute"
MARKET_TZ = "America/New_York"
PARQUET_SUFFIXES = (".parquet", ".pq")
COMPRESSION = {".gz": "gzip", ".bz2": "bz2", ".zip": "zip", ".xz": "xz", ".zst": "zstd"}
# Bracket misses up to this fraction of the price are rounding slips (repaired).
REPAIR_TOLERANCE = 0.005
SATURDAY = 5  # pandas day_of_week; a weekend date is never an exchange session
FUTURE_SLACK = pd.Timedelta(minutes=5)  # the feed's bound on bar times
ADJUST_DECIMALS = 6
MAX_SYMBOL_LEN = 24
MAX_SOURCE_LEN = 16
DEFAULT_SHOW = 20
CSV_CHUNK_ROWS = 200_000
PROGRESS_MIN_BYTES = 2_000_000
NA_STRINGS = ["", "nan", "NaN", "NAN", "NA", "N/A", "n/a", "null", "NULL", "None"]
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
HAS_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")

# Normalised header -> canonical column; the first match wins.
ALIASES: dict[str, tuple[str, ...]] = {
    "symbol": ("symbol", "ticker", "sym", "ticker_symbol", "code"),
    "open": ("open", "open_price", "o"),
    "high": ("high", "high_price", "h"),
    "low": ("low", "low_price", "l"),
    "close": ("close", "close_price", "c"),
    "volume": ("volume", "vol", "v"),
    "adj_close": ("adjusted_close", "adj_close", "adjclose", "adj_close_price"),
    "vwap": ("vwap", "vw"),
    "trades": ("trades", "transactions", "n"),
}
WHEN_ALIASES = {
    DAILY: ("date", "day", "trade_date", "datetime", "timestamp", "time", "ts", "t"),
    MINUTE: ("timestamp", "datetime", "ts", "time", "date", "t", "bar_start"),
}
# Massive uses case to tell the ticker (T) from the time (t).
CASE_SENSITIVE = {"T": "symbol", "t": "when"}


class HistoryError(RuntimeError):
    """A file cannot be imported at all (unreadable, empty, wrong columns)."""


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


@dataclass
class ImportResult:
    """The outcome of one import command."""

    reports: list[FileReport]
    written: int = 0
    committed: bool = False
    demo_replaced: int = 0
    reconciled: list[Any] = field(default_factory=list)


# ----------------------------------------------------------------- reading
def _norm(name: str) -> str:
    return re.sub(r"[\s\-./]+", "_", str(name).strip().lower()).strip("_")


def detect_columns(columns: Sequence[str], kind: str) -> dict[str, str]:
    """Map canonical names (symbol, when, open, ...) to the file's column names."""
    found: dict[str, str] = {}
    for raw in columns:
        target = CASE_SENSITIVE.get(str(raw).strip())
        if target and target not in found:
            found[target] = raw
    normalised = {}
    for raw in columns:
        normalised.setdefault(_norm(raw), raw)
    for canon, names in ALIASES.items():
        if canon in found:
            continue
        hit = next((normalised[n] for n in names if n in normalised), None)
        if hit is not None and hit not in found.values():
            found[canon] = hit
    stamps = ("timestamp", "datetime", "ts", "t", "bar_start")
    split = kind == MINUTE and {"date", "time"} <= set(normalised)
    if split and "when" not in found and not any(n in normalised for n in stamps):
        # Separate date and time-of-day columns (common in minute exports).
        found["when"], found["time_of_day"] = normalised["date"], normalised["time"]
    if "when" not in found:
        hit = next((normalised[n] for n in WHEN_ALIASES[kind] if n in normalised), None)
        if hit is not None and hit not in found.values():
            found["when"] = hit
    return found


def _missing_message(path: Path, columns: Sequence[str], missing: list[str]) -> str:
    shown = ", ".join(map(str, columns)) or "(none)"
    wanted = {
        "symbol": "symbol/ticker (or --symbol)",
        "when": "date/timestamp/datetime",
    }
    names = ", ".join(wanted.get(m, m) for m in missing)
    return f"{path}: missing column(s) {names}; found: {shown}"


def _check_readable(path: Path) -> None:
    if not path.is_file():
        raise HistoryError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise HistoryError(f"{path}: empty file (0 bytes)")


def _is_parquet(path: Path) -> bool:
    return path.suffix.lower() in PARQUET_SUFFIXES


def _read_header(path: Path) -> list[str]:
    if _is_parquet(path):
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    try:
        return list(pd.read_csv(path, nrows=0).columns)
    except pd.errors.EmptyDataError:
        raise HistoryError(f"{path}: empty file (no header)") from None
    except (OSError, EOFError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise HistoryError(f"{path}: cannot read: {_reason(exc)}") from None


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    if "gzip" in text.lower() or isinstance(exc, EOFError):
        return f"not a valid gzip file ({text})"
    return text


def _read_csv(
    path: Path, mapping: dict[str, str], tick: Callable[[int], None]
) -> pd.DataFrame:
    usecols = list(dict.fromkeys(mapping.values()))
    text_cols = [mapping["symbol"]] if "symbol" in mapping else []
    na = {c: NA_STRINGS for c in usecols if c not in text_cols}
    na.update({c: [] for c in text_cols})
    chunks = []
    with open(path, "rb") as raw:
        reader = pd.read_csv(
            raw,
            usecols=usecols,
            dtype={c: str for c in text_cols},
            keep_default_na=False,
            na_values=na,
            compression=COMPRESSION.get(path.suffix.lower()),
            chunksize=CSV_CHUNK_ROWS,
            skip_blank_lines=False,
        )
        done = 0
        for chunk in reader:
            chunks.append(chunk)
            tick(raw.tell() - done)
            done = raw.tell()
    if not chunks:
        return pd.DataFrame(columns=usecols)
    return pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]


def read_file(
    path: str | Path,
    kind: str,
    symbol: str | None = None,
    tick: Callable[[int], None] | None = None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Read a bar file; return (frame with canonical names, line number per row)."""
    path = Path(path)
    _check_readable(path)
    header = _read_header(path)
    mapping = detect_columns(header, kind)
    needed = ["symbol", "when", *BAR_FIELDS]
    missing = [c for c in needed if c not in mapping and not (c == "symbol" and symbol)]
    if missing:
        raise HistoryError(_missing_message(path, header, missing))
    tick = tick or (lambda _n: None)
    try:
        if _is_parquet(path):
            import pyarrow.parquet as pq

            table = pq.read_table(path, columns=list(dict.fromkeys(mapping.values())))
            frame = table.to_pandas()
            tick(path.stat().st_size)
        else:
            frame = _read_csv(path, mapping, tick)
    except HistoryError:
        raise
    except Exception as exc:  # pandas/pyarrow raise many kinds on corrupt input
        raise HistoryError(f"{path}: cannot read: {_reason(exc)}") from None
    out = pd.DataFrame({canon: frame[col] for canon, col in mapping.items()})
    if symbol and "symbol" in out:
        raise HistoryError(f"{path}: --symbol given but the file has a symbol column")
    first_line = 1 if _is_parquet(path) else 2
    lines = np.arange(first_line, first_line + len(out))
    # Blank lines are not rows; keep the others' line numbers exact.
    blank = (out.isna() | out.eq("")).all(axis=1).to_numpy()
    if blank.any():
        out, lines = out.loc[~blank].reset_index(drop=True), lines[~blank]
    if "symbol" not in out:
        out["symbol"] = symbol
    if out.empty:
        raise HistoryError(f"{path}: no data rows")
    return out, lines


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


def _epoch_unit(values: np.ndarray) -> str:
    biggest = np.nanmax(np.abs(values)) if len(values) else 0
    for unit, limit in (("s", 1e11), ("ms", 1e14), ("us", 1e17)):
        if biggest < limit:
            return unit
    return "ns"


def _parse_strings_daily(text: pd.Series) -> pd.Series:
    iso = text.str.match(ISO_DATE).fillna(False).to_numpy(dtype=bool)
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[s]")
    if iso.any():
        parsed[iso] = pd.to_datetime(
            text[iso].str.slice(0, 10), format="%Y-%m-%d", errors="coerce"
        ).astype("datetime64[s]")
    rest = ~iso & text.notna().to_numpy()
    if rest.any():
        parsed[rest] = pd.to_datetime(
            text[rest], format="mixed", errors="coerce"
        ).astype("datetime64[s]")
    return parsed


def _parse_strings_minute(text: pd.Series, tz: str) -> pd.Series:
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us, UTC]")
    stripped = text.str.strip()
    aware = stripped.str.contains(HAS_OFFSET).fillna(False).to_numpy(dtype=bool)
    if aware.any():
        parsed[aware] = pd.to_datetime(
            stripped[aware], utc=True, format="ISO8601", errors="coerce"
        ).astype("datetime64[us, UTC]")
    naive = ~aware & stripped.notna().to_numpy()
    if naive.any():
        local = pd.to_datetime(stripped[naive], format="mixed", errors="coerce")
        parsed[naive] = (
            local.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
            .dt.tz_convert("UTC")
            .astype("datetime64[us, UTC]")
        )
    return parsed


def parse_when(values: pd.Series, kind: str, tz: str = MARKET_TZ) -> pd.Series:
    """Parse dates (daily: naive midnight) or bar starts (minute: UTC); NaT if bad."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values.to_numpy(dtype=np.float64)
        stamps = pd.to_datetime(numbers, unit=_epoch_unit(numbers), utc=True)
        series = pd.Series(stamps, index=values.index)
        if kind == DAILY:
            local = series.dt.tz_convert(MARKET_TZ).dt.tz_localize(None)
            return local.dt.normalize().astype("datetime64[s]")
        return series.astype("datetime64[us, UTC]")
    if isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(
        values
    ):
        series = values
        if kind == DAILY:
            if series.dt.tz is not None:
                series = series.dt.tz_convert(MARKET_TZ).dt.tz_localize(None)
            return series.dt.normalize().astype("datetime64[s]")
        if series.dt.tz is None:
            series = series.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
        return series.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
    # Few distinct dates/times per file: parse each once, then fan out.
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    text = pd.Series(
        [
            u.isoformat() if isinstance(u, dt.date | dt.datetime) else str(u)
            for u in uniques
        ],
        dtype="string",
    )
    if kind == DAILY:
        parsed = _parse_strings_daily(text)
    else:
        parsed = _parse_strings_minute(text, tz)
    out = parsed.iloc[np.maximum(codes, 0)].set_axis(values.index)
    return out.where(codes >= 0) if (codes < 0).any() else out


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


def load_file(
    path: str | Path,
    kind: str,
    *,
    adjust: bool = True,
    strict: bool = False,
    tz: str = MARKET_TZ,
    symbol: str | None = None,
    tick: Callable[[int], None] | None = None,
) -> tuple[pd.DataFrame, FileReport]:
    """Read and validate one file; raise HistoryError when it cannot be read."""
    frame, lines = read_file(path, kind, symbol=symbol, tick=tick)
    return validate(
        frame, kind, adjust=adjust, strict=strict, tz=tz, lines=lines, path=str(path)
    )


# ------------------------------------------------------------------ import
def replace_demo(store: Store) -> int:
    """Delete demo and simulated bars (real data arrived); return rows deleted."""
    return store.delete_fake_bars()


def import_files(
    store: Store,
    paths: Sequence[str | Path],
    kind: str,
    *,
    skip_bad: bool = False,
    source: str = "import",
    adjust: bool = True,
    strict: bool = False,
    tz: str = MARKET_TZ,
    symbol: str | None = None,
    progress: Any = None,
) -> ImportResult:
    """Validate every file, then write them all (nothing if any row is bad)."""
    if kind not in (DAILY, MINUTE):
        raise ValueError(f"kind must be {DAILY!r} or {MINUTE!r}")
    loaded: list[tuple[pd.DataFrame, FileReport]] = []
    for path in paths:
        size = Path(path).stat().st_size if Path(path).is_file() else 0
        tick = _task(progress, f"read {Path(path).name}", size)
        loaded.append(
            load_file(
                path,
                kind,
                adjust=adjust,
                strict=strict,
                tz=tz,
                symbol=symbol,
                tick=tick,
            )
        )
    result = ImportResult(reports=[r for _b, r in loaded])
    if any(r.rejects for r in result.reports) and not skip_bad:
        return result
    if kind == DAILY:
        loaded, result.reconciled = reconcile_loaded(store, loaded)
    total = sum(len(b) for b, _r in loaded)
    tick = _task(progress, "write", total)
    for bars, _report in loaded:
        if bars.empty:
            continue
        store.ensure_symbols(pd.unique(bars["symbol"]).tolist())
        if kind == DAILY:
            result.written += store.bulk_upsert_daily(
                bars, source=source, progress=tick
            )
        else:
            result.written += store.bulk_upsert_minute(bars, progress=tick)
    result.committed = True
    store.record_adjustments([r.as_row() for r in result.reconciled])
    if result.written:
        result.demo_replaced = replace_demo(store)
    return result


def reconcile_loaded(
    store: Store, loaded: list[tuple[pd.DataFrame, FileReport]]
) -> tuple[list[tuple[pd.DataFrame, Any]], list[Any]]:
    """Reconcile validated daily frames with stored history (see ingest.reconcile).

    Returns the frames to write (the files' reconciled rows, then the stored rows
    rescaled to the newer basis, which keep their source) and what was done.
    """
    from ingest.reconcile import reconcile_batch

    frames = [bars for bars, _report in loaded]
    names = sorted({s for bars in frames for s in pd.unique(bars["symbol"])})
    stored = store.read_daily(names) if names else store.read_daily([])
    batch = reconcile_batch(stored, frames)
    out: list[tuple[pd.DataFrame, Any]] = [
        (bars, report) for bars, (_old, report) in zip(batch.files, loaded, strict=True)
    ]
    if len(batch.stored_updates):
        updates = batch.stored_updates
        updates["source"] = updates["source"].fillna("import")
        out.append((updates, None))
    return out, batch.reconciliations


def _task(progress: Any, label: str, total: int) -> Callable[[int], None]:
    if progress is None:
        return lambda _n: None
    task = progress.add_task(label, total=total)
    return lambda n: progress.advance(task, n)


# --------------------------------------------------------------------- CLI
def _progress(paths: Sequence[str]) -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    console = Console(stderr=True)
    big = sum(Path(p).stat().st_size for p in paths if Path(p).is_file())
    if not console.is_terminal or big < PROGRESS_MIN_BYTES:
        return nullcontext(None)
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def _print_report(report: FileReport, show: int, skip_bad: bool) -> None:
    span = ""
    if report.first is not None:
        fmt = (lambda t: str(pd.Timestamp(t).date())) if report.kind == DAILY else str
        span = f", {fmt(report.first)} .. {fmt(report.last)}"
    adj = ", adjusted by adj_close/close" if report.adjusted else ""
    print(
        f"{report.path}: {report.rows:,} rows, {report.accepted:,} valid, "
        f"{report.symbols:,} symbols{span}{adj}"
    )
    for title, items in (("repaired", report.repairs), ("rejected", report.rejects)):
        if not items:
            continue
        verb = "skipped" if title == "rejected" and skip_bad else title
        print(f"  {len(items):,} row(s) {verb}:")
        for p in items[:show]:
            print(f"    line {p.line}: {p.message}")
        if len(items) > show:
            print(f"    ... and {len(items) - show:,} more")


def run_import(settings: Any, args: argparse.Namespace, kind: str) -> int:
    """Import files from the CLI; return the process exit code."""
    from dashapp.factory import prepare_store

    source = args.source if kind == DAILY else "import"
    if kind == DAILY and (
        not source or len(source) > MAX_SOURCE_LEN or source == "demo"
    ):
        print(
            f"tickstock: --source must be 1..{MAX_SOURCE_LEN} chars, not 'demo'",
            file=sys.stderr,
        )
        return 2
    store = prepare_store(settings)
    try:
        with _progress(args.files) as progress:
            result = import_files(
                store,
                args.files,
                kind,
                skip_bad=args.skip_bad,
                source=source,
                adjust=not getattr(args, "raw", False),
                strict=args.strict,
                tz=getattr(args, "tz", MARKET_TZ),
                symbol=args.symbol,
                progress=progress,
            )
    except HistoryError as exc:
        print(f"tickstock: {exc}", file=sys.stderr)
        print("nothing committed", file=sys.stderr)
        return 1
    finally:
        store.dispose()
    for report in result.reports:
        _print_report(report, args.show, args.skip_bad)
    if not result.committed:
        bad = sum(len(r.rejects) for r in result.reports)
        print(
            f"{bad:,} invalid row(s): nothing committed (use --skip-bad to drop them)"
        )
        return 1
    table = "ohlcv_daily" if kind == DAILY else "ohlcv_1min"
    print(f"wrote {result.written:,} rows into {table}")
    if result.demo_replaced:
        print(
            f"removed {result.demo_replaced:,} demo/simulated bars "
            "(real history loaded)"
        )
    for item in result.reconciled:
        print(f"reconciled {item.describe()}")
    return 0


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help="CSV, CSV.gz or Parquet")
    p.add_argument(
        "--skip-bad", action="store_true", help="drop invalid rows, import the rest"
    )
    p.add_argument(
        "--strict", action="store_true", help="reject rows that would be repaired"
    )
    p.add_argument(
        "--symbol", default=None, help="symbol for files without a symbol column"
    )
    p.add_argument(
        "--show", type=int, default=DEFAULT_SHOW, help="problems listed per file"
    )


def add_cli(subparsers: Any) -> None:
    """Register `import-daily` and `import-minute`."""
    p = subparsers.add_parser("import-daily", help="import daily bars from files")
    _common(p)
    p.add_argument("--source", default="import", help="label stored with each row")
    p.add_argument(
        "--raw",
        action="store_true",
        help="ignore adjusted closes (store prices as traded)",
    )
    p.set_defaults(func=lambda s, a: run_import(s, a, DAILY))
    p = subparsers.add_parser("import-minute", help="import minute bars from files")
    _common(p)
    p.add_argument(
        "--tz", default=MARKET_TZ, help="zone of timestamps without an offset"
    )
    p.set_defaults(func=lambda s, a: run_import(s, a, MINUTE))

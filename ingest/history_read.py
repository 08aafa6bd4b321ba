"""Read daily and minute bar files (CSV, CSV.gz, Parquet) into canonical columns.

Columns (case and spaces ignored): symbol|ticker|sym (or `--symbol` for
single-symbol files), date|timestamp|datetime|time|ts (or separate date and
time columns for minute files), open, high, low, close, volume, and optionally
adjusted_close|adj_close, vwap, trades. Massive-style short names
(`T,o,h,l,c,v,t,vw,n`) work too. Other columns are ignored. Line numbers are
kept per row (CSV: the header is line 1; Parquet: row 1 is the first row).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from dashapp.store import BAR_FIELDS

DAILY, MINUTE = "daily", "minute"
MARKET_TZ = "America/New_York"
PARQUET_SUFFIXES = (".parquet", ".pq")
COMPRESSION = {".gz": "gzip", ".bz2": "bz2", ".zip": "zip", ".xz": "xz", ".zst": "zstd"}
CSV_CHUNK_ROWS = 200_000
NA_STRINGS = ["", "nan", "NaN", "NAN", "NA", "N/A", "n/a", "null", "NULL", "None"]

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

"""Tell database outages from bad rows, and keep bad bar rows aside.

The writer must never mistake one poison row for a database outage (spilling
and retrying it forever), nor an outage for bad rows (quarantining good bars).
`classify` sorts a write error into:

* `OUTAGE`: connection, timeout and lock errors; the batch is spilled and
  retried once the database answers;
* `DATA`: the rows themselves (integrity, value too long, wrong type, a
  timestamp out of range); the batch is split in halves until each bad row is
  alone (`split_write`), the good rows are written and the bad ones quarantined;
* `UNKNOWN`: anything else; split like data, but when no row of the batch can
  be written at all it is treated as an outage (a missing table is not a bad
  row).

`Quarantine` stores rejected rows in the `rejected_bars` table, or appends
them to `rejected-<date>.jsonl` in the spill directory when the database
cannot take even that.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson
import psycopg
from sqlalchemy import exc as sa_exc

log = logging.getLogger(__name__)

OUTAGE, DATA, UNKNOWN = "outage", "data", "unknown"
REJECTED_PREFIX = "rejected-"
REJECTED_SUFFIX = ".jsonl"
SYMBOL_MAX_LEN = 24
ERROR_TEXT_MAX = 500
LOG_FIRST = 5
_OUTAGE_TYPES = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    sqlite3.OperationalError,
    sqlite3.InterfaceError,
    OSError,  # ConnectionError, TimeoutError, disk I/O
)
_DATA_TYPES = (
    sa_exc.IntegrityError,
    sa_exc.DataError,
    psycopg.IntegrityError,
    psycopg.DataError,
    sqlite3.IntegrityError,
    sqlite3.DataError,
    ValueError,
    TypeError,
    ArithmeticError,
    LookupError,
)
_NUMERIC = (2, 3, 4, 5, 6)  # open, high, low, close, volume (NOT NULL)
_NULLABLE_NUMERIC = (7, 8)  # vwap, trades


def _chain(exc: BaseException) -> list[BaseException]:
    """Return exc with its wrapped DBAPI error, causes and contexts."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        cur = todo.pop(0)
        if cur is None or any(cur is s for s in seen) or len(seen) > 10:
            continue
        seen.append(cur)
        todo.extend([getattr(cur, "orig", None), cur.__cause__, cur.__context__])
    return seen


def classify(exc: BaseException) -> str:
    """Return OUTAGE, DATA or UNKNOWN for an error raised by a bar write."""
    chain = _chain(exc)
    if getattr(exc, "connection_invalidated", False):
        return OUTAGE
    # The outermost recognised class decides: SQLAlchemy's wrapper names the
    # kind of the DBAPI error it wraps.
    for err in chain:
        if isinstance(err, _OUTAGE_TYPES):
            return OUTAGE
        if isinstance(err, _DATA_TYPES):
            return DATA
    return UNKNOWN


def describe(exc: BaseException) -> str:
    """Return a one-line `Type: message` for an error (bounded length)."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"[:ERROR_TEXT_MAX]


def _is_number(x: Any) -> bool:
    return (type(x) is float or type(x) is int) and x == x  # NaN != NaN


def row_problem(row: Sequence[Any]) -> str | None:
    """Return why a row breaks the `ohlcv_1min` schema, or None.

    Only for databases that do not enforce their column types (SQLite keeps a
    30-character symbol or a string price as given); PostgreSQL checks itself.
    """
    try:
        sym, ts = row[0], row[1]
        if type(sym) is not str or not 0 < len(sym) <= SYMBOL_MAX_LEN:
            return f"symbol not text of 1..{SYMBOL_MAX_LEN} characters"
        if type(ts) is not int:
            return "timestamp is not integer epoch milliseconds"
        if not all(_is_number(row[i]) for i in _NUMERIC):
            return "open/high/low/close/volume not all numbers"
        if not all(row[i] is None or _is_number(row[i]) for i in _NULLABLE_NUMERIC):
            return "vwap/trades not numbers"
    except (IndexError, TypeError):
        return "row has the wrong shape"
    return None


_NUM = frozenset((int, float))
_NUM_OR_NONE = frozenset((int, float, type(None)))


def _all_well_formed(rows: Sequence[Sequence[Any]]) -> bool:
    """Tell whether every row has the schema's shape (column-wise, C speed)."""
    try:
        if set(map(len, rows)) != {9}:
            return False
        cols = list(zip(*rows, strict=True))
        if set(map(type, cols[0])) != {str} or set(map(type, cols[1])) != {int}:
            return False
        lengths = set(map(len, cols[0]))
        if min(lengths) < 1 or max(lengths) > SYMBOL_MAX_LEN:
            return False
        # bool is not int here: type() is exact, so True fails the test.
        if not set().union(*(map(type, c) for c in cols[2:7])) <= _NUM:
            return False
        return set().union(*(map(type, c) for c in cols[7:])) <= _NUM_OR_NONE
    except (TypeError, ValueError):
        return False


def screen(rows: Sequence[Sequence[Any]]) -> list[tuple[Sequence[Any], str]]:
    """Return (row, reason) of the rows `row_problem` objects to."""
    if not rows or _all_well_formed(rows):
        return []
    return [(r, why) for r in rows if (why := row_problem(r)) is not None]


class OutageDuringSplit(Exception):
    """The database went away while a batch was being split."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(describe(cause))
        self.cause = cause


def split_write(
    write: Callable[[list[Sequence[Any]]], Any],
    rows: list[Sequence[Any]],
    error: BaseException,
) -> tuple[int, list[tuple[Sequence[Any], str]]]:
    """Write what can be written of a failing batch; return (written, bad rows).

    `rows` failed as a whole with `error`; halves are written recursively
    until each bad row is alone. Raises OutageDuringSplit when a write fails
    like an outage (what was written stays written: upserts are idempotent),
    or when no row at all could be written and the error was UNKNOWN.
    """
    bad: list[tuple[Sequence[Any], str]] = []
    written = 0

    def attempt(chunk: list[Sequence[Any]], failure: BaseException) -> None:
        nonlocal written
        if len(chunk) == 1:
            bad.append((chunk[0], describe(failure)))
            return
        mid = len(chunk) // 2
        for part in (chunk[:mid], chunk[mid:]):
            try:
                write(part)
            except Exception as exc:  # classified below
                if classify(exc) == OUTAGE:
                    raise OutageDuringSplit(exc) from exc
                attempt(part, exc)
            else:
                written += len(part)

    attempt(list(rows), error)
    if not written and classify(error) == UNKNOWN:
        raise OutageDuringSplit(error)
    return written, bad


def _ts_of(value: Any) -> dt.datetime | None:
    if type(value) is not int:
        return None
    try:
        return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=value)
    except (OverflowError, ValueError):
        return None


def _text(value: Any) -> str:
    """Return value as text PostgreSQL accepts (no NUL characters)."""
    return str(value).replace("\x00", "\\x00")


def _raw(row: Sequence[Any]) -> str:
    try:
        return orjson.dumps(list(row), default=repr).decode()
    except (TypeError, orjson.JSONEncodeError):
        return repr(row)[:10_000]


class Quarantine:
    """Keep rejected bar rows in `rejected_bars`, or in a file when that fails."""

    def __init__(self, store: Any, directory: str | Path) -> None:
        self.store = store
        self.dir = Path(directory)
        self.rows = 0
        self.file_rows = 0
        self.last_reason: str | None = None
        self._lock = threading.Lock()

    def put(self, bad: Sequence[tuple[Sequence[Any], str]], source: str) -> int:
        """Store bad (row, reason) pairs; return how many were kept."""
        if not bad:
            return 0
        records = [
            {
                "symbol": None if row is None or not len(row) else _text(row[0]),
                "ts": _ts_of(row[1]) if len(row) > 1 else None,
                "raw": _raw(row),
                "reason": _text(reason),
                "source": source,
            }
            for row, reason in bad
        ]
        with self._lock:
            before = self.rows
            self.rows += len(records)
            self.last_reason = records[-1]["reason"]
        for n, rec in enumerate(records[: max(0, LOG_FIRST - before)], before + 1):
            log.warning(
                "quarantined bar row #%d (%s): %s %.300s",
                n,
                rec["reason"],
                source,
                rec["raw"],
            )
        try:
            self.store.insert_rejected_bars(records)
        except Exception as exc:  # the database will not take them: keep a file
            log.warning("rejected_bars not writable (%s); using a file", describe(exc))
            self._to_file(records)
        return len(records)

    def _to_file(self, records: list[dict[str, Any]]) -> None:
        now = dt.datetime.now(dt.UTC)
        path = self.dir / f"{REJECTED_PREFIX}{now:%Y%m%d}{REJECTED_SUFFIX}"
        lines = b"".join(
            orjson.dumps(
                {
                    **r,
                    "ts": None if r["ts"] is None else r["ts"].isoformat(),
                    "rejected_at": now.isoformat(),
                }
            )
            + b"\n"
            for r in records
        )
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            with open(path, "ab") as fh:
                fh.write(lines)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            log.error("cannot keep %d rejected rows: %s", len(records), exc)
            return
        with self._lock:
            self.file_rows += len(records)

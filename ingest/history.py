"""File import of daily and minute bars: CSV, CSV.gz and Parquet in long format.

`tickstock import-daily FILE...` and `tickstock import-minute FILE...` (the
commands live in `dashapp.cli.history`) read one row per (symbol,
date|timestamp), auto-detect the columns (`ingest.history_read`), validate
every row (`ingest.history_validation`) and write all files' rows only when
every row of every file is valid (or `--skip-bad` drops the rejected rows).
Rejects are reported with their line number (CSV: the header is line 1;
Parquet: row 1 is the first row).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from dashapp.store import Store
from ingest.history_read import DAILY, MARKET_TZ, MINUTE, read_file
from ingest.history_validation import FileReport, validate
from ingest.progress import progress_task


@dataclass
class ImportResult:
    """The outcome of one import command."""

    reports: list[FileReport]
    written: int = 0
    committed: bool = False
    demo_replaced: int = 0
    reconciled: list[Any] = field(default_factory=list)


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
        tick = progress_task(progress, f"read {Path(path).name}", size)
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
    tick = progress_task(progress, "write", total)
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

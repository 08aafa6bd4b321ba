"""`tickstock import-daily`, `import-minute` and `backfill`: load history.

The file import (`ingest.history`) validates every row of every file and
commits all or nothing (unless `--skip-bad`); the backfill
(`ingest.history_backfill`) fetches daily and minute bars from the Massive
REST API. Both print what they did and show a progress bar on a terminal.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pandas as pd

from ingest.history import import_files
from ingest.history_backfill import BackfillError, backfill
from ingest.history_read import DAILY, MARKET_TZ, MINUTE, HistoryError
from ingest.history_validation import FileReport

MAX_SOURCE_LEN = 16
DEFAULT_SHOW = 20
PROGRESS_MIN_BYTES = 2_000_000


def _progress(*, elapsed: bool, enough: bool = True) -> Any:
    """Return a transient progress bar on stderr (a no-op off a terminal)."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    if not console.is_terminal or not enough:
        return nullcontext(None)
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn() if elapsed else TimeRemainingColumn(),
        console=console,
        transient=True,
    )


def _import_progress(paths: Sequence[str]) -> Any:
    """Return the import's progress bar, shown only for large inputs."""
    big = sum(Path(p).stat().st_size for p in paths if Path(p).is_file())
    return _progress(elapsed=True, enough=big >= PROGRESS_MIN_BYTES)


# ------------------------------------------------------------------ import
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
        with _import_progress(args.files) as progress:
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


def _add_import_cli(subparsers: Any) -> None:
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


# ---------------------------------------------------------------- backfill
def cmd_backfill(settings: Any, args: argparse.Namespace) -> int:
    """Run the backfill from the CLI and print what it did."""
    from dashapp.factory import prepare_store

    try:
        end = dt.date.fromisoformat(args.end) if args.end else None
    except ValueError:
        print(f"tickstock: --end {args.end!r} is not YYYY-MM-DD", file=sys.stderr)
        return 2
    store = prepare_store(settings)
    try:
        with _progress(elapsed=False) as progress:
            report = backfill(
                store,
                settings,
                args.days,
                symbols=args.symbols,
                universe=args.universe,
                minute=args.minute,
                end=end,
                progress=progress,
            )
    except BackfillError as exc:
        print(f"tickstock: {exc}", file=sys.stderr)
        return 1
    finally:
        store.dispose()
    s = report.sessions
    print(f"sessions {s[0]} .. {s[-1]} ({len(s)})")
    print(
        f"daily: {report.daily_fetched} fetched, {report.daily_skipped} already "
        f"stored, {report.daily_rows:,} bars written"
    )
    if args.minute:
        print(
            f"minute: {report.minute_symbol_days:,} symbol-days fetched, "
            f"{report.minute_skipped:,} already stored, {report.minute_rows:,} bars"
        )
    if report.retries:
        print(
            f"retried {report.retries} request(s), {report.rate_limited} rate-limited"
        )
    if report.demo_replaced:
        print(
            f"removed {report.demo_replaced:,} demo/simulated bars "
            "(real history loaded)"
        )
    for line in report.splits.lines() if report.splits else ():
        print(line)
    if report.failed:
        print(f"failed: {', '.join(report.failed)}", file=sys.stderr)
        return 1
    return 0


def _add_backfill_cli(subparsers: Any) -> None:
    """Register `tickstock backfill`."""
    p = subparsers.add_parser(
        "backfill", help="fetch history from the Massive REST API"
    )
    p.add_argument("--days", type=int, required=True, help="sessions to cover")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--symbols", default=None, help="comma-separated symbols")
    who.add_argument("--universe", default=None, help="universe (a+b = union, * = all)")
    p.add_argument("--minute", action="store_true", help="also fetch minute bars")
    p.add_argument("--end", default=None, help="last session YYYY-MM-DD")
    p.set_defaults(func=cmd_backfill)


def add_cli(subparsers: Any) -> None:
    """Register `import-daily`, `import-minute` and `backfill`."""
    _add_import_cli(subparsers)
    _add_backfill_cli(subparsers)

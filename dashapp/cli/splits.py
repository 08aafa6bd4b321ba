"""`tickstock splits`: fetch stock splits from Massive and adjust stored history."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Any

from dashapp.store import Store
from ingest.history_backfill import (
    BackfillError,
    BackfillReport,
    Retrying,
    make_client,
)
from ingest.splits import sync_splits

CLI_ATTEMPTS = 3


def cmd_splits(settings: Any, args: argparse.Namespace) -> int:
    """Fetch and apply splits from the CLI; print what was applied."""
    try:
        since = dt.date.fromisoformat(args.since) if args.since else None
    except ValueError:
        print(f"tickstock: --since {args.since!r} is not YYYY-MM-DD", file=sys.stderr)
        return 2
    symbols = None
    if args.symbols:
        symbols = sorted({s.strip().upper() for s in args.symbols.split(",")} - {""})
    store = Store(settings.database_url)
    store.init_schema()
    try:
        if since is None:
            cov = store.daily_coverage()
            since = cov["first"].min().date() if len(cov) else dt.date.today()
        call = Retrying(BackfillReport(), attempts=CLI_ATTEMPTS)
        report = sync_splits(store, make_client(settings), since, symbols, call)
    except BackfillError as exc:
        print(f"tickstock: {exc}", file=sys.stderr)
        return 1
    finally:
        store.dispose()
    for line in report.lines():
        print(line)
    return 0


def add_cli(subparsers: Any) -> None:
    """Register `tickstock splits`."""
    p = subparsers.add_parser(
        "splits", help="fetch stock splits from Massive and adjust stored history"
    )
    p.add_argument(
        "--since", default=None, help="execution dates from YYYY-MM-DD (default: all)"
    )
    p.add_argument("--symbols", default=None, help="comma-separated symbols")
    p.set_defaults(func=cmd_splits)

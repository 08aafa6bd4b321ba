"""`tickstock eod`: roll one session's regular-hours minute bars up into daily bars."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Any

import pandas as pd

from ingest.eod import last_closed_session, rollup_session


def cmd_eod(settings: Any, args: argparse.Namespace) -> int:
    """Roll up one session's minute bars (default: the last closed session)."""
    from dashapp.factory import prepare_store

    try:
        day = (
            dt.date.fromisoformat(args.date)
            if args.date
            else last_closed_session(grace=pd.Timedelta(0))
        )
    except ValueError:
        print(f"tickstock: --date {args.date!r} is not YYYY-MM-DD", file=sys.stderr)
        return 2
    store = prepare_store(settings)
    try:
        result = rollup_session(store, day, force=args.force)
    except ValueError as exc:
        print(f"tickstock: {exc}", file=sys.stderr)
        return 2
    finally:
        store.dispose()
    if not result.symbols:
        print(f"{day}: no regular-session minute bars stored; nothing to roll up")
        return 0
    print(
        f"{day}: {result.symbols} symbols rolled up: {result.written} written, "
        f"{result.unchanged} unchanged, {result.kept} kept (imported/backfilled"
        f"{'' if args.force else '; --force replaces them'})"
    )
    return 0


def add_cli(subparsers: Any) -> None:
    """Register `tickstock eod`."""
    p = subparsers.add_parser(
        "eod", help="roll regular-session minute bars up into daily bars"
    )
    p.add_argument("--date", default=None, help="session date YYYY-MM-DD")
    p.add_argument(
        "--force", action="store_true", help="also replace imported/backfilled rows"
    )
    p.set_defaults(func=cmd_eod)

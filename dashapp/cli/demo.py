"""`tickstock demo`: generate (or regenerate) labelled demo daily history."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from typing import Any

from ingest.demo import (
    DEFAULT_SEED,
    DEFAULT_SESSIONS,
    MIN_SESSIONS,
    demo_info,
    write_demo,
)


def cmd_demo(settings: Any, args: argparse.Namespace) -> int:
    """Generate (or regenerate) demo history."""
    from dashapp.factory import prepare_store

    try:
        end = dt.date.fromisoformat(args.end) if args.end else None
    except ValueError:
        print(f"tickstock: --end {args.end!r} is not YYYY-MM-DD", file=sys.stderr)
        return 2
    if args.sessions < MIN_SESSIONS:
        print(f"tickstock: --sessions must be >= {MIN_SESSIONS}", file=sys.stderr)
        return 2
    store = prepare_store(settings)
    try:
        newest = store.data_version().newest_daily
        real = newest is not None and demo_info(store) is None
        if real and not args.force:
            print(
                "tickstock: the database holds real daily history; demo data would "
                "mix with it (use --force)",
                file=sys.stderr,
            )
            return 1
        started = time.perf_counter()
        rows = write_demo(store, args.sessions, args.seed, end)
        info = demo_info(store) or {}
    finally:
        store.dispose()
    print(
        f"demo history: {rows:,} rows, {info.get('symbols')} symbols, "
        f"{info.get('start')} .. {info.get('end')} (seed {args.seed}) "
        f"in {time.perf_counter() - started:.1f} s"
    )
    return 0


def add_cli(subparsers: Any) -> None:
    """Register `tickstock demo`."""
    p = subparsers.add_parser("demo", help="generate labelled demo daily history")
    p.add_argument("--sessions", type=int, default=DEFAULT_SESSIONS)
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--end", default=None, help="last session YYYY-MM-DD")
    p.add_argument("--force", action="store_true", help="even over real history")
    p.set_defaults(func=cmd_demo)

"""`tickstock data-health`: print the data-health report (text, JSON or CSV)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import pandas as pd

from dashapp.store import Store
from dashapp.store.datahealth import (
    BIG_MOVE,
    adjustment_label,
    data_health,
    health_frame,
    issues_frame,
)


def _print_text(report: dict[str, Any], everything: bool) -> None:
    summary = report["summary"]
    print(
        f"{summary['symbols']} symbols, newest session {report['newest_session']}: "
        f"{summary['with_missing_sessions']} with missing sessions, "
        f"{summary['rescaled']} rescaled, {summary['flagged']} flagged, "
        f"{summary['with_suspect_moves']} with moves over {BIG_MOVE:.0%} "
        f"({summary['split_like_moves']} split-like), "
        f"{summary['stale']} stale"
    )
    frame = health_frame(report) if everything else issues_frame(report)
    if len(frame):
        with pd.option_context("display.max_colwidth", 80, "display.width", 250):
            print(frame.to_string(index=False))
    for a in report["adjustments"]:
        print(f"adjustment {a['symbol']} {adjustment_label(a)}: {a['reason']}")
    for m in report["suspect_moves"]:
        like = f", looks like a {m['looks_like']}" if m["looks_like"] else ""
        print(
            f"suspect move {m['symbol']} {m['date']}: {m['prev_close']:g} -> "
            f"{m['close']:g} ({m['move_pct']:+.1f} %{like})"
        )


def cmd_data_health(settings: Any, args: argparse.Namespace) -> int:
    """Print the data-health report (text, JSON or CSV)."""
    store = Store(settings.database_url)
    store.init_schema()
    try:
        report = data_health(store)
    finally:
        store.dispose()
    if args.format == "json":
        json.dump(report, sys.stdout, indent=1, default=str)
        print()
    elif args.format == "csv":
        health_frame(report).to_csv(sys.stdout, index=False)
    else:
        _print_text(report, args.all)
    return 0


def add_cli(subparsers: Any) -> None:
    """Register `tickstock data-health`."""
    p = subparsers.add_parser(
        "data-health",
        help="report daily-data sources, gaps, rescalings, suspect jumps, staleness",
    )
    p.add_argument("--format", choices=("text", "json", "csv"), default="text")
    p.add_argument(
        "--all", action="store_true", help="list every symbol (text), not only issues"
    )
    p.set_defaults(func=cmd_data_health)

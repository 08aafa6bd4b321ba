"""The `tickstock simulate` command: run the simulator in the foreground."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from pathlib import Path
from typing import Any

import pandas as pd

from ingest.simulator.facade import FAST, Simulator
from ingest.simulator.splits import parse_split_arg
from ingest.synthetic import HOURS_MODES

CLI_FAST_MINUTES = 390  # one regular session


def _symbols_arg(value: str | None) -> list[str] | int | None:
    """Parse --symbols: a comma list, @file (one per line), or a count N."""
    if not value or value == "default":
        return None
    if value.isdigit():
        return int(value)
    if value.startswith("@"):
        lines = Path(value[1:]).read_text().split()
        return [s.strip().upper() for s in lines if s.strip()]
    return [s.strip().upper() for s in value.split(",") if s.strip()]


def add_cli(subparsers: Any) -> argparse.ArgumentParser:
    """Register `tickstock simulate` (sets func(settings, args) -> int)."""
    p = subparsers.add_parser(
        "simulate",
        help="run the Massive market-data simulator (WebSocket + REST on one port)",
        description="Serve the real Massive protocol on loopback from a synthetic "
        "market or a replayed minute-bar CSV.",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    p.add_argument(
        "--symbols",
        default=None,
        help="comma list, @file, a count N of synthetic tickers, or "
        "'default' (S&P 500 + sector and index ETFs)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--speed", default="1", help="1 = real time, N = N x, or 'fast'")
    p.add_argument("--start", default=None, help="simulated start (ISO, ET if naive)")
    p.add_argument(
        "--hours",
        choices=HOURS_MODES,
        default="all",
        help="which minutes trade (default all: a 24/7 demo)",
    )
    p.add_argument("--replay", default=None, help="minute-bar CSV to replay")
    p.add_argument("--daily", default=None, help="daily-bar CSV served over REST")
    p.add_argument(
        "--api-key",
        dest="api_keys",
        action="append",
        default=None,
        help="accepted key (repeatable; default: any non-empty key)",
    )
    p.add_argument(
        "--minutes",
        type=int,
        default=None,
        help="fast mode: minutes to emit once a client subscribed",
    )
    p.add_argument(
        "--split",
        dest="splits",
        action="append",
        type=parse_split_arg,
        default=None,
        metavar="TICKER:YYYY-MM-DD:FROM:TO",
        help="a split in the script (repeatable); e.g. AAPL:2026-11-18:1:4",
    )
    p.set_defaults(func=_cli_command)
    return p


def _cli_command(settings: Any, args: argparse.Namespace) -> int:
    return run_cli(args)


def simulator_from_args(args: argparse.Namespace) -> Simulator:
    """Build a Simulator from parsed `tickstock simulate` arguments."""
    daily = pd.read_csv(args.daily) if args.daily else None
    return Simulator(
        _symbols_arg(args.symbols),
        seed=args.seed,
        speed=args.speed,
        start=args.start,
        hours=args.hours,
        replay=args.replay,
        daily=daily,
        api_keys=args.api_keys,
        host=args.host,
        port=args.port,
        splits=getattr(args, "splits", None),
    )


def run_cli(args: argparse.Namespace) -> int:
    """Run the simulator in the foreground until SIGINT/SIGTERM."""
    sim = simulator_from_args(args)
    asyncio.run(_serve_cli(sim, args.minutes))
    return 0


async def _serve_cli(sim: Simulator, minutes: int | None) -> None:
    await sim.astart()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, sim._stop_event.set)
    print(
        f"Massive simulator: feed {sim.feed} (ws {sim.ws_url}), REST {sim.rest_url}, "
        f"{len(sim.symbols)} symbols, speed {sim.speed or FAST}",
        flush=True,
    )
    if sim.is_fast:
        asyncio.create_task(_fast_cli(sim, minutes))
    await sim.serve_forever()


async def _fast_cli(sim: Simulator, minutes: int | None) -> None:
    await sim.await_subscribers(1, "AM", timeout=float("inf"))
    if minutes is None and not sim._replay:
        minutes = CLI_FAST_MINUTES
    sent = await sim.aadvance(minutes)
    print(f"emitted {sent} minutes", flush=True)

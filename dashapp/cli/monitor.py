"""`tickstock monitor`: watch the error and monitoring channels in the terminal."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console
from rich.live import Live

from dashapp.ops.monitor import EXIT_NO_REDIS, MonitorState, watch
from dashapp.settings import Settings


def cmd_monitor(settings: Settings, args: argparse.Namespace) -> int:
    """Run the terminal monitor (live view, or a summary with --plain)."""
    console = Console()
    if not settings.redis_url:
        console.print("tickstock monitor needs REDIS_URL (the channels live in Redis)")
        return EXIT_NO_REDIS
    state = MonitorState(
        settings.redis_error_channel, settings.redis_monitoring_channel
    )
    try:
        if args.plain:
            watch(settings, state, duration=args.duration)
        else:
            with Live(state.render(), console=console, refresh_per_second=4) as live:
                watch(
                    settings,
                    state,
                    duration=args.duration,
                    on_tick=lambda: live.update(state.render()),
                )
    except KeyboardInterrupt:
        pass
    if args.plain:
        console.print(state.render())
    return 0


def add_cli(subparsers: Any) -> None:
    """Register `tickstock monitor`."""
    p = subparsers.add_parser(
        "monitor", help="watch the error and monitoring channels in the terminal"
    )
    p.add_argument(
        "--duration", type=float, default=0.0, help="stop after N seconds (0: Ctrl-C)"
    )
    p.add_argument(
        "--plain", action="store_true", help="no live view: print a summary at the end"
    )
    p.set_defaults(func=cmd_monitor)

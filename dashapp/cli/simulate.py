"""`tickstock simulate`: run the built-in Massive simulator in the foreground."""

from __future__ import annotations

from typing import Any

from ingest.simulator.cli import add_cli as add_simulator_parser


def add_cli(subparsers: Any) -> None:
    """Register `tickstock simulate` with the simulator's own options."""
    add_simulator_parser(subparsers)

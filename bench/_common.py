"""Helpers shared by the benchmarks (not a benchmark: run_all skips it)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SP500_DAILY = "daily/sp500_etfs_daily_2020-07-27_2025-04-04_iexvol.csv.gz"


def shared_data() -> Path:
    """Return the real-data folder: TICKSTOCK_SHARED_DATA, else ../shared/data."""
    return Path(os.environ.get("TICKSTOCK_SHARED_DATA") or ROOT.parent / "shared/data")


def sp500_daily() -> Path:
    """Return the S&P 500 + ETFs daily CSV.gz of the shared data folder."""
    return shared_data() / SP500_DAILY

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


PG_ADMIN_URL = (
    os.environ.get("BENCH_DATABASE_URL")
    or os.environ.get("TEST_DATABASE_URL")
    or "postgresql://postgres@127.0.0.1:5432/postgres"
)


def pg_scratch(name: str) -> str:
    """Create an empty scratch database `name` beside PG_ADMIN_URL; return its URL.

    Raises when the server is unreachable (callers report and skip).
    """
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as c:
        c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        c.execute(f"CREATE DATABASE {name}")
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def pg_unreachable(exc: Exception) -> str:
    """Return the skip reason of a PostgreSQL figure, and print it once."""
    reason = f"PostgreSQL unreachable: {type(exc).__name__}: {exc}".strip()
    print(f"PostgreSQL skipped: {reason}")
    return reason


def pg_drop(name: str) -> None:
    """Drop the scratch database `name`."""
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

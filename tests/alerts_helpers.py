"""Shared pieces of the alert tests: an app on SQLite or PostgreSQL, real minutes."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd

from dashapp.factory import create_app
from dashapp.settings import load_settings
from dashapp.store import Store
from tests.conftest import pg_url

DATA = Path(__file__).parent / "data"
MINUTES = DATA / "spy_dia_1min_2019-12-23_24.csv.gz"
REPLAY_DAY = "2019-12-24"
PRIOR_DAY = "2019-12-23"


def app_env(tmp, kind: str = "sqlite") -> dict[str, str]:
    """Return the environment of a test app on SQLite or this process's PG schema."""
    url = f"sqlite:///{tmp / 'app.db'}" if kind == "sqlite" else pg_url()
    return {
        "DATABASE_URL": url,
        "TICKSTOCK_DATA_DIR": str(tmp),
        "INGEST_ENABLED": "false",
        "TICKSTOCK_DEMO_DATA": "false",
        "SECRET_KEY": "test-secret",
        "RATE_LIMIT_USER": "100000/minute",
        "RATE_LIMIT_IP": "100000/minute",
    }


def make_app(tmp, kind: str = "sqlite", fresh: bool = True):
    """Build an app without ingest (the tests drive the evaluator themselves).

    On PostgreSQL a fresh app starts from empty tables; `fresh=False` reopens.
    """
    if kind != "sqlite" and fresh:
        store = Store(pg_url())
        store.drop_all()
        store.dispose()
    return create_app(load_settings(app_env(tmp, kind), env_file=None), ingest=False)


def real_minutes(symbol: str = "SPY") -> pd.DataFrame:
    """Return the committed real 1-minute bars of `symbol` (UTC `ts`)."""
    with gzip.open(MINUTES, "rt") as fh:
        frame = pd.read_csv(fh)
    frame = frame[frame["symbol"] == symbol].copy()
    frame["ts"] = pd.to_datetime(frame.pop("datetime"), utc=True)
    return frame.sort_values("ts", ignore_index=True)


def session_of(frame: pd.DataFrame, day: str) -> pd.DataFrame:
    """Return the rows of one New York session."""
    local = frame["ts"].dt.tz_convert("America/New_York").dt.date.astype(str)
    return frame[local == day].reset_index(drop=True)


def daily_from_minutes(frame: pd.DataFrame, day: str) -> pd.DataFrame:
    """Roll one session's real minutes up into its daily bar."""
    rows = frame
    return pd.DataFrame(
        {
            "symbol": [rows["symbol"].iloc[0]],
            "date": [pd.Timestamp(day)],
            "open": [rows["open"].iloc[0]],
            "high": [rows["high"].max()],
            "low": [rows["low"].min()],
            "close": [rows["close"].iloc[-1]],
            "volume": [rows["volume"].sum()],
        }
    )


def upward_crossings(closes, level: float) -> int:
    """Count closes above `level` right after one at or below it (plain loop)."""
    count = 0
    for before, now in zip(closes[:-1], closes[1:], strict=True):
        if before <= level < now:
            count += 1
    return count


def downward_crossings(closes, level: float) -> int:
    """Count closes below `level` right after one at or above it (plain loop)."""
    count = 0
    for before, now in zip(closes[:-1], closes[1:], strict=True):
        if before >= level > now:
            count += 1
    return count

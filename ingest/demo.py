"""Deterministic demo history: a realistic, labelled daily market for a fresh install.

A fresh `make run` has no data, yet rankings need 253 sessions and stages 30+
weeks. `ensure_demo_history` fills an empty database with 320 XNYS sessions
ending at the previous session for every reference symbol (S&P 500, the 11
sector ETFs, the index ETFs), stored with source 'demo' and the `demo_data`
app_meta flag set so the UI can label it. Loading real history (file import,
REST backfill) deletes it. The live simulator continues from `last_closes`.

The generator is `ingest.generate` (the model in `daily_model`, the bars in
`daily_bars`), shared with the synthetic feed; this module stores its output
and keeps the label.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from typing import Any

import pandas as pd

from dashapp.store import DEMO_KEY, Store
from ingest.generate.daily_bars import DEFAULT_SEED, MIN_SESSIONS, generate_demo
from ingest.generate.universe import Universe, reference_universe

__all__ = [
    "DEFAULT_SEED",
    "DEFAULT_SESSIONS",
    "DEMO_FLAG",
    "DEMO_INFO_KEY",
    "DEMO_SOURCE",
    "MIN_SESSIONS",
    "DemoUniverse",
    "demo_info",
    "demo_sessions",
    "ensure_demo_history",
    "generate_demo",
    "last_closes",
    "reference_universe",
    "write_demo",
]

log = logging.getLogger(__name__)

DEMO_SOURCE = "demo"
DEMO_FLAG = "1"  # app_meta[DEMO_KEY]; readers test `== "1"`
DEMO_INFO_KEY = "demo_data_info"  # JSON: seed, sessions, start, end, symbols
DEFAULT_SESSIONS = 320
DemoUniverse = Universe  # the name the demo's callers know


def demo_info(store: Store) -> dict[str, Any] | None:
    """Return the demo flag's details (None when the data is not demo data)."""
    if store.get_meta(DEMO_KEY) != DEMO_FLAG:
        return None
    try:
        return json.loads(store.get_meta(DEMO_INFO_KEY) or "{}")
    except ValueError:
        return {}


def demo_sessions(sessions: int, end: dt.date | None = None) -> list[dt.date]:
    """Return `sessions` XNYS sessions ending at `end` (default: the previous one)."""
    from ingest.eod import market_today, previous_session, sessions_back

    end = end or previous_session(market_today())
    return sessions_back(end, sessions)


def write_demo(
    store: Store,
    sessions: int = DEFAULT_SESSIONS,
    seed: int = DEFAULT_SEED,
    end: dt.date | None = None,
) -> int:
    """Replace any demo history with a freshly generated one; return rows written."""
    started = time.perf_counter()
    days = demo_sessions(sessions, end)
    bars = generate_demo(days, seed=seed)
    store.delete_daily(DEMO_SOURCE)
    store.ensure_symbols(pd.unique(bars["symbol"]).tolist())
    rows = store.bulk_upsert_daily(bars, source=DEMO_SOURCE)
    info = {
        "seed": seed,
        "sessions": len(days),
        "start": days[0].isoformat(),
        "end": days[-1].isoformat(),
        "symbols": int(bars["symbol"].nunique()),
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    store.set_meta(DEMO_INFO_KEY, json.dumps(info))
    store.set_meta(DEMO_KEY, DEMO_FLAG)
    log.info(
        "demo history: %d rows, %d symbols, %s .. %s in %.1f s",
        rows,
        info["symbols"],
        info["start"],
        info["end"],
        time.perf_counter() - started,
    )
    return rows


def ensure_demo_history(store: Store, settings: Any, now: Any = None) -> bool:
    """Generate demo history when the database has no daily bars (or stale demo)."""
    if not getattr(settings, "demo_data", False):
        return False
    from dashapp.store.origin import has_real_bars
    from ingest.eod import market_today, previous_session

    newest = store.data_version().newest_daily
    info = demo_info(store)
    if info is None and (newest is not None or has_real_bars(store)):
        return False  # real history (daily or minute): never touch it
    end = previous_session(market_today(now))
    if info is not None and info.get("end", "") >= end.isoformat():
        return False
    write_demo(store, end=end)
    return True


def last_closes(store: Store) -> dict[str, float]:
    """Return each symbol's latest daily close (what the simulator continues from)."""
    latest = store.latest_daily()
    return dict(zip(latest["symbol"], latest["close"].astype(float), strict=True))

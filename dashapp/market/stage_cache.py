"""Whole-history stage runs per daily data version (in-process, shared by engines).

The snapshot engine reads a bounded recent window of daily bars; the Weinstein
stage machine needs every stored week (`weeks_in_stage` counts the whole run).
Its weekly closes are rolled up in SQL and the machine runs once per
(daily data version, symbol set); every engine of that version then continues
from it (`analytics.stage_history`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from analytics.stage_history import (
    StageHistory,
    build_stage_history,
    weekly_close_from_rows,
)
from analytics.stage_machine import NO_STAGE
from dashapp.market.cache import LocalCache
from dashapp.market.counts import stock_meta
from dashapp.store import Store
from dashapp.store.reference import BENCHMARK, sector_etfs

STAGE_HISTORY_ENTRIES = 4

_histories = LocalCache(max_entries=STAGE_HISTORY_ENTRIES)


def _symbols_key(symbols: Sequence[str]) -> str:
    joined = ",".join(sorted(symbols)).encode()
    return hashlib.blake2b(joined, digest_size=12).hexdigest()


def stage_history(store: Store, symbols: Sequence[str], version: str) -> StageHistory:
    """Return the stage machine run over every stored week of `symbols` (cached)."""
    key = f"{store.url}:{version}:{_symbols_key(symbols)}"

    def compute() -> StageHistory:
        rows = store.read_weekly_closes(list(symbols))
        return build_stage_history(weekly_close_from_rows(rows))

    return _histories.get_or_compute(key, compute)


def clear() -> None:
    """Drop every cached stage history (benchmarks and tests of cold start)."""
    _histories.clear()


def market_symbols(members: Sequence[str]) -> list[str]:
    """Return the symbols a market state reads: members, benchmark, sector ETFs."""
    return sorted(set(members) | {BENCHMARK} | set(sector_etfs()["symbol"]))


def stage_history_table(
    store: Store, members: Sequence[str], version: str, end: Any, weeks: int
) -> pd.DataFrame:
    """Return the last `weeks` settled weeks x stock members of whole-history stages.

    A week is settled when its last stored session is on or before `end`; NaN is
    no stage. The values are those of the market state (same cached run).
    """
    history = stage_history(store, market_symbols(members), version)
    rows = np.flatnonzero(history.dates <= pd.Timestamp(end))[-weeks:]
    stocks = stock_meta(store.symbols_frame(list(members)))
    names = [s for s in stocks["symbol"] if s in set(history.symbols)]
    cols = history.symbols.get_indexer(names)
    values = history.hist[rows][:, cols].astype(np.float64)
    values[values == NO_STAGE] = np.nan
    index = pd.DatetimeIndex(history.dates[rows], name="date")
    return pd.DataFrame(values, index=index, columns=pd.Index(names, name="symbol"))

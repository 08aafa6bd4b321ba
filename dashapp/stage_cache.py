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

from analytics.stage_history import (
    StageHistory,
    build_stage_history,
    weekly_close_from_rows,
)
from dashapp.cache import LocalCache
from dashapp.store import Store

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

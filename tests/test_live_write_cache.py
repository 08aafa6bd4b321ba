"""SQLite live writes: the held connection's page cache follows the batch width."""

from __future__ import annotations

import pytest

from dashapp.store import Store
from dashapp.store.live_writes import (
    SQLITE_LIVE_CACHE_KIB,
    SQLITE_LIVE_CACHE_KIB_PER_SYMBOL,
    SQLITE_LIVE_CACHE_MIN_KIB,
    live_cache_kib,
)

M0 = 1_795_530_600_000


def rows(symbols: int, minute: int = M0) -> list[tuple]:
    """Return one minute of bars for `symbols` symbols."""
    return [
        (f"S{i:05d}", minute, 10.0, 10.5, 9.5, 10.2, 100 + i, 10.1, None)
        for i in range(symbols)
    ]


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'live.db'}")
    s.init_schema()
    yield s
    s.dispose()


def cache_kib(store: Store) -> int:
    """Return the live connection's page cache size in KiB."""
    return -store._live_conn.exec_driver_sql("PRAGMA cache_size").scalar()


def test_lc01_cache_is_sized_from_the_widest_batch(store):
    store.upsert_minute_tuples(rows(10))
    assert cache_kib(store) == SQLITE_LIVE_CACHE_MIN_KIB
    wide = SQLITE_LIVE_CACHE_MIN_KIB // SQLITE_LIVE_CACHE_KIB_PER_SYMBOL + 100
    store.upsert_minute_tuples(rows(wide, M0 + 60_000))
    assert cache_kib(store) == wide * SQLITE_LIVE_CACHE_KIB_PER_SYMBOL
    store.upsert_minute_tuples(rows(10, M0 + 120_000))  # never shrinks
    assert cache_kib(store) == wide * SQLITE_LIVE_CACHE_KIB_PER_SYMBOL
    assert len(store.read_minute(["S00000"])) == 3


def test_lc02_cache_size_has_a_floor_and_a_cap():
    assert live_cache_kib(0) == SQLITE_LIVE_CACHE_MIN_KIB
    assert live_cache_kib(11_000) == SQLITE_LIVE_CACHE_KIB
    assert live_cache_kib(10**6) == SQLITE_LIVE_CACHE_KIB


def test_lc03_a_new_live_connection_keeps_the_grown_size(store):
    wide = SQLITE_LIVE_CACHE_MIN_KIB // SQLITE_LIVE_CACHE_KIB_PER_SYMBOL + 50
    store.upsert_minute_tuples(rows(wide))
    store._drop_live_conn()
    store.upsert_minute_tuples(rows(5, M0 + 60_000))
    assert cache_kib(store) == wide * SQLITE_LIVE_CACHE_KIB_PER_SYMBOL

"""Storage: the one package that owns the schema and every SQL statement.

Works the same on SQLite (embedded default: WAL, foreign keys on) and PostgreSQL
(psycopg 3). On PostgreSQL with the `timescaledb` extension available,
`ohlcv_1min` becomes a hypertable. Bar upserts replace on conflict, never add:
Massive re-sends corrected bars and imports may be re-run.

`Store` (dashapp.store.core) is composed of one part per responsibility:
schema and migrations, app_meta, bar writes (row by row, live, bulk), bar
reads, adjustments and splits, the symbol catalog, accounts, and logs. This
module re-exports the names callers import from `dashapp.store`; new code may
import them from their real home.
"""

from __future__ import annotations

from dashapp.store.bar_writes import DEFAULT_BATCH_SIZE
from dashapp.store.base import StoreError, make_engine, utcnow
from dashapp.store.bulk import (
    BULK_CHUNK_ROWS,
    BULK_REINDEX_ROWS,
    BULK_SQLITE_CACHE_KIB,
    PG_LOCK_TIMEOUT_MS,
)
from dashapp.store.core import Store
from dashapp.store.live_writes import (
    LIVE_BATCH_ROWS,
    LIVE_PARALLEL_MAX,
    LIVE_PARALLEL_MIN_ROWS,
    SQLITE_LIVE_CACHE_KIB,
)
from dashapp.store.meta import DataVersion
from dashapp.store.schema import (
    BAR_FIELDS,
    BAR_TABLES,
    DAILY_COLUMNS,
    DAILY_SEQ_KEY,
    DATA_SEQ_KEY,
    DEMO_KEY,
    LIVE_COLUMNS,
    MINUTE_COLUMNS,
    ROLES,
    SCHEMA_VERSION,
    SQLITE_TS_FORMAT,
    Double,
    api_tokens,
    app_meta,
    auth_sessions,
    corporate_actions,
    data_adjustments,
    error_log,
    metadata,
    ohlcv_1min,
    ohlcv_daily,
    rejected_bars,
    schema_version,
    symbols,
    universe_members,
    universes,
    users,
)

__all__ = [
    "BAR_FIELDS",
    "BAR_TABLES",
    "BULK_CHUNK_ROWS",
    "BULK_REINDEX_ROWS",
    "BULK_SQLITE_CACHE_KIB",
    "DAILY_COLUMNS",
    "DAILY_SEQ_KEY",
    "DATA_SEQ_KEY",
    "DEFAULT_BATCH_SIZE",
    "DEMO_KEY",
    "LIVE_BATCH_ROWS",
    "LIVE_COLUMNS",
    "LIVE_PARALLEL_MAX",
    "LIVE_PARALLEL_MIN_ROWS",
    "MINUTE_COLUMNS",
    "PG_LOCK_TIMEOUT_MS",
    "ROLES",
    "SCHEMA_VERSION",
    "SQLITE_LIVE_CACHE_KIB",
    "SQLITE_TS_FORMAT",
    "DataVersion",
    "Double",
    "Store",
    "StoreError",
    "api_tokens",
    "app_meta",
    "auth_sessions",
    "corporate_actions",
    "data_adjustments",
    "error_log",
    "make_engine",
    "metadata",
    "ohlcv_1min",
    "ohlcv_daily",
    "rejected_bars",
    "schema_version",
    "symbols",
    "universe_members",
    "universes",
    "users",
    "utcnow",
]

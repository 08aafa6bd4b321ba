"""Create the schema and upgrade older databases in place, without losing data.

On PostgreSQL with the `timescaledb` extension available, `ohlcv_1min`
becomes a hypertable.
"""

from __future__ import annotations

import logging

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from dashapp.store.base import StoreBase, StoreError, utcnow
from dashapp.store.meta import write_meta
from dashapp.store.origin import (
    IMPORTED,
    LEGACY_ORIGINS,
    MASSIVE,
    SIMULATED,
    SIMULATED_KEY,
)
from dashapp.store.schema import SCHEMA_VERSION, metadata, schema_version

log = logging.getLogger(__name__)


class SchemaMixin(StoreBase):
    """Schema creation, versioning and migrations."""

    def init_schema(self) -> int:
        """Create or upgrade the schema without losing data; return the version."""
        with self.engine.begin() as conn:
            existing = set(inspect(conn).get_table_names())
            current = self._read_schema_version(conn) if existing else None
            if current is not None and current > SCHEMA_VERSION:
                raise StoreError(
                    f"database schema v{current} is newer than this app "
                    f"(v{SCHEMA_VERSION}); upgrade TickStock"
                )
            if current is not None and current < SCHEMA_VERSION:
                self._migrate(conn, current)
            metadata.create_all(conn, checkfirst=True)
            self._write_schema_version(conn, SCHEMA_VERSION)
        if not self.is_sqlite:
            self.hypertable = self._try_hypertable()
        return SCHEMA_VERSION

    def _read_schema_version(self, conn: Connection) -> int | None:
        if not inspect(conn).has_table("schema_version"):
            # Tables from before versioning existed: treat as v1.
            return 1 if inspect(conn).has_table("ohlcv_daily") else None
        row = conn.execute(text("SELECT max(version) FROM schema_version")).first()
        return row[0] if row else None

    def _write_schema_version(self, conn: Connection, version: int) -> None:
        conn.execute(schema_version.delete())
        conn.execute(
            schema_version.insert().values(id=1, version=version, updated_at=utcnow())
        )

    def _migrate(self, conn: Connection, current: int) -> None:
        """Apply in-place migrations from `current` up to SCHEMA_VERSION."""
        if current < 2:
            cols = {c["name"] for c in inspect(conn).get_columns("ohlcv_daily")}
            if "source" not in cols:
                conn.execute(
                    text("ALTER TABLE ohlcv_daily ADD COLUMN source VARCHAR(16)")
                )
            log.info("migrated schema v%s -> v2 (ohlcv_daily.source)", current)
        if current < 3:
            migrate_origins(conn)

    def _try_hypertable(self) -> bool:
        try:
            with self.engine.begin() as conn:
                available = conn.execute(
                    text(
                        "SELECT 1 FROM pg_available_extensions "
                        "WHERE name = 'timescaledb'"
                    )
                ).first()
                if not available:
                    return False
                conn.execute(text("CREATE EXTENSION IF NOT EXISTS timescaledb"))
                conn.execute(
                    text(
                        "SELECT create_hypertable('ohlcv_1min', 'ts', "
                        "if_not_exists => TRUE, migrate_data => TRUE)"
                    )
                )
            log.info("ohlcv_1min is a TimescaleDB hypertable")
            return True
        except Exception as exc:  # extension present but not loadable
            log.warning("timescaledb available but not usable: %s", exc)
            return False

    def schema_version(self) -> int | None:
        """Return the stored schema version (None when uninitialised)."""
        with self.engine.connect() as conn:
            if not inspect(conn).has_table("schema_version"):
                return None
            return self._read_schema_version(conn)

    def drop_all(self) -> None:
        """Drop every TickStock table (tests only)."""
        metadata.drop_all(self.engine)
        with self.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS schema_version"))


def migrate_origins(conn: Connection) -> None:
    """Add ohlcv_1min.source and map stored labels to the four origins (v3)."""
    if not inspect(conn).has_table("ohlcv_1min"):
        return  # created with the column by create_all
    cols = {c["name"] for c in inspect(conn).get_columns("ohlcv_1min")}
    if "source" not in cols:
        conn.execute(text("ALTER TABLE ohlcv_1min ADD COLUMN source VARCHAR(16)"))
    known = {k: v for k, v in LEGACY_ORIGINS.items() if k != v}
    for label, origin in known.items():
        conn.execute(
            text("UPDATE ohlcv_daily SET source = :o WHERE source = :l"),
            {"o": origin, "l": label},
        )
    conn.execute(
        text(
            "UPDATE ohlcv_daily SET source = :o WHERE source IS NULL "
            "OR source NOT IN ('demo', 'simulated', 'imported', 'massive')"
        ),
        {"o": IMPORTED},
    )
    # Minute bars had no origin: a demo store's came from the simulator.
    demo = (
        inspect(conn).has_table("app_meta")
        and conn.execute(text("SELECT 1 FROM app_meta WHERE key = 'demo_data'")).first()
    )
    minute_origin = SIMULATED if demo else MASSIVE
    conn.execute(
        text("UPDATE ohlcv_1min SET source = :o WHERE source IS NULL"),
        {"o": minute_origin},
    )
    if demo:
        # EOD roll-ups of simulated minutes were labelled demo before v3.
        write_meta(conn, SIMULATED_KEY, "1")
    log.info("migrated schema -> v3 (bar origins; minute bars: %s)", minute_origin)

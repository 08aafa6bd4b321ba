"""Shared fixtures: stores on SQLite and real PostgreSQL, Redis URL, settings."""

from __future__ import annotations

import os
import socket

import pytest

from dashapp.settings import Settings, load_settings
from dashapp.store import Store

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")

needs_postgres = pytest.mark.skipif(
    not TEST_DATABASE_URL, reason="TEST_DATABASE_URL not set (no PostgreSQL)"
)
needs_redis = pytest.mark.skipif(
    not TEST_REDIS_URL, reason="TEST_REDIS_URL not set (no Redis)"
)
STORE_KINDS = [
    "sqlite",
    pytest.param("postgres", marks=[needs_postgres, pytest.mark.postgres]),
]


def free_port() -> int:
    """Return a free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


PG_SCHEMA = f"tickstock_test_{os.getpid()}"


def pg_url() -> str:
    """Return TEST_DATABASE_URL bound to this test process's own schema.

    Each pytest process gets a private PostgreSQL schema (search_path), so test
    runs and parallel workers never see each other's tables.
    """
    import sqlalchemy

    engine = sqlalchemy.create_engine(
        TEST_DATABASE_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    )
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text(f"CREATE SCHEMA IF NOT EXISTS {PG_SCHEMA}"))
    engine.dispose()
    sep = "&" if "?" in TEST_DATABASE_URL else "?"
    return f"{TEST_DATABASE_URL}{sep}options=-csearch_path%3D{PG_SCHEMA}"


@pytest.fixture(scope="session", autouse=True)
def _drop_pg_schema():
    """Drop this process's PostgreSQL test schema at the end of the session."""
    yield
    if TEST_DATABASE_URL:
        import sqlalchemy

        engine = sqlalchemy.create_engine(
            TEST_DATABASE_URL.replace("postgresql://", "postgresql+psycopg://", 1)
        )
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        engine.dispose()


@pytest.fixture(scope="module", autouse=True)
def _fresh_market_caches():
    """Start each test module with empty process-wide market caches.

    They are keyed by universe, session and data version, which two test
    databases with the same bars share; one process serves one database in
    production.
    """
    from dashapp.market import regime, screener, stage_cache, state

    for cache in (state._engines, stage_cache._histories):
        cache.clear()
    for cache in (screener._settled, regime._settled):
        cache.clear()


def make_store(kind: str, tmp_path) -> Store:
    """Return a freshly initialised, empty store of the given kind."""
    if kind == "sqlite":
        store = Store(f"sqlite:///{tmp_path / 'test.db'}")
    else:
        store = Store(pg_url())
        store.drop_all()
    store.init_schema()
    return store


@pytest.fixture(params=STORE_KINDS)
def store(request, tmp_path):
    """Yield an empty initialised store: SQLite and (when configured) PostgreSQL."""
    s = make_store(request.param, tmp_path)
    yield s
    s.dispose()


@pytest.fixture
def sqlite_store(tmp_path):
    """Yield an empty initialised SQLite store."""
    s = make_store("sqlite", tmp_path)
    yield s
    s.dispose()


@pytest.fixture
def pg_store(tmp_path):
    """Yield an empty initialised PostgreSQL store (skips without PostgreSQL)."""
    if not TEST_DATABASE_URL:
        pytest.skip("TEST_DATABASE_URL not set (no PostgreSQL)")
    s = make_store("postgres", tmp_path)
    yield s
    s.dispose()


@pytest.fixture
def redis_url():
    """Return the test Redis URL (skips without Redis) after flushing its DB."""
    if not TEST_REDIS_URL:
        pytest.skip("TEST_REDIS_URL not set (no Redis)")
    import redis

    client = redis.Redis.from_url(TEST_REDIS_URL)
    client.flushdb()
    client.close()
    return TEST_REDIS_URL


@pytest.fixture
def settings(tmp_path) -> Settings:
    """Return settings for an app on a temp SQLite file, no ingest, no demo data."""
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "TICKSTOCK_DATA_DIR": str(tmp_path),
        "INGEST_ENABLED": "false",
        "TICKSTOCK_DEMO_DATA": "false",
        "SECRET_KEY": "test-secret",
    }
    return load_settings(env, env_file=None)

"""A throwaway redis-server on a free port that tests may kill and restart."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis

from tests.conftest import free_port

START_TIMEOUT_S = 5.0

needs_redis_server = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="redis-server not on PATH"
)


class RedisServer:
    """Run `redis-server` without persistence on loopback; stop and start it."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """Return the server's URL (database 0)."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        """Start the server and wait until it answers PING."""
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                client.ping()
                client.close()
                return self
            except redis.ConnectionError:
                time.sleep(0.02)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def kill(self) -> None:
        """Kill the server abruptly (SIGKILL), as a crash would."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(5)
            self.proc = None

    def client(self) -> redis.Redis:
        """Return a plain client for assertions."""
        return redis.Redis(port=self.port, socket_connect_timeout=0.5)


@pytest.fixture
def redis_server():
    """Yield a running throwaway redis-server (skips without the binary)."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server not on PATH")
    server = RedisServer().start()
    yield server
    server.kill()


ISOLATED_DB = 14


@pytest.fixture
def isolated_redis_url():
    """Return TEST_REDIS_URL on database 14 (skips without Redis).

    The shared `redis_url` fixture flushes database 15 at the start of every test
    that uses it, so under pytest-xdist a long test there can lose its keys to a
    neighbour. Tests that keep state for seconds (locks, cache entries) use this
    database instead, under unique key prefixes, and never flush it.
    """
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("TEST_REDIS_URL not set (no Redis)")
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{ISOLATED_DB}"))

"""Redis-backed cache: shared values, one computation per version across
processes, degrade-and-recover when Redis goes away (real Redis servers)."""

from __future__ import annotations

import logging
import multiprocessing as mp
import threading
import time
import uuid

import pandas as pd
import pytest
import redis

from dashapp.market.cache import LocalCache, RedisCache
from tests.cache_poller import poll_versions
from tests.redis_server import isolated_redis_url, redis_server  # noqa: F401

PROCESSES = 4
THREADS_PER_PROCESS = 8
RETRY_S = 0.2
RECOVER_TIMEOUT_S = 5.0


@pytest.fixture
def redis_url(isolated_redis_url):  # noqa: F811
    """Use Redis database 14 here: database 15 is flushed by neighbouring tests."""
    return isolated_redis_url


def _prefix() -> str:
    return f"test:{uuid.uuid4().hex[:8]}:"


def test_ca01_make_cache_picks_backend(settings, redis_url):
    from dashapp.factory import make_cache

    assert isinstance(make_cache(settings), LocalCache)
    cache = make_cache(settings.replace(redis_url=redis_url))
    assert isinstance(cache, RedisCache)
    assert cache.prefix == "tickstock:cache:"


def test_ca02_values_shared_between_instances(redis_url):
    prefix = _prefix()
    a, b = RedisCache(redis_url, prefix=prefix), RedisCache(redis_url, prefix=prefix)
    frame = pd.DataFrame({"symbol": ["AAPL", "MSFT"], "rs": [97, 88]})
    a.set("market:sp500:now:v1", frame)
    got = b.get("market:sp500:now:v1")
    pd.testing.assert_frame_equal(got, frame)
    assert b.get("market:sp500:now:v1") is got  # second read: in-process layer
    stats = b.stats()
    assert (stats["redis_hits"], stats["local_hits"], stats["misses"]) == (1, 1, 0)
    assert stats["hit_rate"] == 1.0 and stats["backend"] == "redis"
    assert b.get("absent", "dflt") == "dflt" and b.stats()["misses"] == 1
    assert redis.Redis.from_url(redis_url).pttl(f"{prefix}market:sp500:now:v1") > 0
    a.clear()
    assert RedisCache(redis_url, prefix=prefix).get("market:sp500:now:v1") is None


def test_ca03_one_computation_per_version_across_processes(redis_url):
    ctx = mp.get_context("spawn")
    prefix, counter = _prefix(), f"test:computes:{uuid.uuid4().hex}"
    keys = ["market:sp500:now:v1", "market:sp500:now:v2"]
    ready, results = ctx.Queue(), ctx.Queue()
    go = [ctx.Event() for _ in keys]
    args = (redis_url, prefix, keys, THREADS_PER_PROCESS, counter, ready, go, results)
    procs = [ctx.Process(target=poll_versions, args=args) for _ in range(PROCESSES)]
    for p in procs:
        p.start()
    try:
        for i, key in enumerate(keys):
            for _ in procs:
                ready.get(timeout=30)
            go[i].set()
            outs = [results.get(timeout=30) for _ in procs]
            values = [v for _i, out, _c in outs for v in out]
            assert values == [key] * (PROCESSES * THREADS_PER_PROCESS)
            assert sum(c for _i, _out, c in outs) == i + 1  # cumulative per process
    finally:
        for p in procs:
            p.join(10)
            if p.is_alive():
                p.kill()
    client = redis.Redis.from_url(redis_url)
    assert int(client.get(counter)) == len(keys)  # one computation per version
    client.delete(counter)


def test_ca04_waiter_takes_over_when_lock_holder_died(redis_url):
    prefix = _prefix()
    cache = RedisCache(redis_url, prefix=prefix)
    client = redis.Redis.from_url(redis_url)
    # A process took the compute lock and crashed: the lock expires on its own.
    client.set(f"{prefix}lock:k", "dead-holder", px=400)
    started = time.monotonic()
    assert cache.get_or_compute("k", lambda: 7) == 7
    assert 0.3 < time.monotonic() - started < 3.0
    assert cache.stats()["computes"] == 1


def test_ca05_unreadable_entry_is_recomputed(redis_url, caplog):
    prefix = _prefix()
    redis.Redis.from_url(redis_url).set(f"{prefix}k", b"not a pickle")
    cache = RedisCache(redis_url, prefix=prefix)
    with caplog.at_level(logging.WARNING, "dashapp.market.cache"):
        assert cache.get_or_compute("k", lambda: "fresh") == "fresh"
    assert "unreadable" in caplog.text
    assert RedisCache(redis_url, prefix=prefix).get("k") == "fresh"


def _wait_status(cache, want, timeout=RECOVER_TIMEOUT_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cache.status()[0] == want:
            return True
        time.sleep(0.05)
    return False


def test_ca06_degrades_logs_once_and_recovers(redis_server, caplog):  # noqa: F811
    cache = RedisCache(redis_server.url, prefix="c:", retry_seconds=RETRY_S)
    cache.set("k1", "one")
    assert cache.status() == ("ok", "redis reachable")
    redis_server.kill()
    with caplog.at_level(logging.INFO, "dashapp.market.cache"):
        computed = [cache.get_or_compute(f"k{i}", lambda i=i: i) for i in range(2, 40)]
        assert computed == list(range(2, 40))
        assert cache.get("k1") == "one"  # still served from the in-process layer
        time.sleep(RETRY_S * 1.5)
        assert cache.get_or_compute("k40", lambda: 40) == 40  # a failed probe
        status, detail = cache.status()
        assert status == "degraded" and "in-process" in detail
        assert cache.stats()["degraded"] is True
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "unavailable" in warnings[0].getMessage()
        redis_server.start()  # same port, empty: as after a crash and restart
        assert _wait_status(cache, "ok"), cache.status()
    assert any("reachable again" in r.getMessage() for r in caplog.records)
    assert cache.get_or_compute("k41", lambda: 41) == 41
    stored = redis.Redis(port=redis_server.port).get("c:k41")
    assert stored is not None  # writes reach the restarted Redis again
    assert cache.stats()["outages"] == 1


@pytest.mark.parametrize("backend", ["local", "redis"])
def test_ca07_same_interface_single_flight_threads(backend, redis_url):
    cache = (
        LocalCache() if backend == "local" else RedisCache(redis_url, prefix=_prefix())
    )
    calls = []

    def compute():
        calls.append(1)
        time.sleep(0.1)
        return "v"

    threads = [
        threading.Thread(target=cache.get_or_compute, args=("k", compute))
        for _ in range(20)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    stats = cache.stats()
    assert stats["hits"] == 19 and stats["misses"] == 1
    assert set(stats) >= {"backend", "hits", "misses", "hit_rate", "entries"}

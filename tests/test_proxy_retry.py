"""Production edges: client addresses through trusted proxies, rate-limit keys
under REDIS_KEY_PREFIX, and Massive's Retry-After honoured by the REST clients."""

from __future__ import annotations

import time
import uuid
from types import SimpleNamespace

import pytest

from dashapp.factory import create_app

FORWARDED = "203.0.113.7"
OTHER = "198.51.100.9"
RETRY_AFTER_S = 2


def _statuses(app, forwarded: list[str]) -> list[int]:
    client = app.server.test_client()
    return [
        client.get("/api/me", headers={"X-Forwarded-For": ip}).status_code
        for ip in forwarded
    ]


def test_pr01_trusted_proxy_sets_the_rate_limited_client(settings):
    limited = settings.replace(trusted_proxies=1, rate_limit_ip="2/minute")
    app = create_app(limited, ingest=False)
    codes = _statuses(app, [FORWARDED, FORWARDED, FORWARDED, OTHER])
    assert codes[2] == 429  # the third request of the forwarded client
    assert 429 not in codes[:2] and codes[3] != 429  # another client is not limited


def test_pr02_without_trusted_proxies_forwarded_for_is_ignored(settings):
    limited = settings.replace(trusted_proxies=0, rate_limit_ip="2/minute")
    app = create_app(limited, ingest=False)
    # Three different claimed clients from one socket address: one budget.
    codes = _statuses(app, [FORWARDED, OTHER, "192.0.2.1"])
    assert codes[2] == 429 and 429 not in codes[:2]


@pytest.mark.redis
def test_pr03_rate_limit_keys_live_under_the_redis_prefix(settings, redis_url):
    import redis

    prefix = f"test:{uuid.uuid4().hex[:8]}:"
    limited = settings.replace(
        redis_url=redis_url, redis_key_prefix=prefix, rate_limit_ip="5/minute"
    )
    app = create_app(limited, ingest=False)
    _statuses(app, [FORWARDED])
    client = redis.Redis.from_url(redis_url)
    keys = [k.decode() for k in client.keys("*LIMITER*")]
    assert keys and all(k.startswith(prefix) for k in keys), keys


@pytest.fixture
def sim():
    from ingest.simulator import Simulator

    simulator = Simulator(["AAA"], seed=4, speed="fast")
    simulator.start()
    simulator.advance(3)
    yield simulator
    simulator.stop()


def _span_ms(sim) -> tuple[int, int]:
    ts = sim.ground_truth()["ts"]
    return int(ts.min().value // 1_000_000), int(ts.max().value // 1_000_000)


def test_pr04_gap_backfill_waits_what_retry_after_says(sim):
    from ingest.backfill import GapBackfiller

    start, end = _span_ms(sim)
    backfiller = GapBackfiller(
        "k", sim.rest_url, lambda rows: None, backoff_first_s=0.01, attempts=3
    )
    sim.fail_rest(1, 429, retry_after=RETRY_AFTER_S)
    began = time.monotonic()
    rows = backfiller.fetch("AAA", start, end)
    took = time.monotonic() - began
    assert len(rows) == len(sim.ground_truth())
    assert backfiller.stats["rate_limited"] == 1
    assert RETRY_AFTER_S <= took < RETRY_AFTER_S + 1.5  # not the 10 ms backoff


def test_pr05_history_backfill_waits_what_retry_after_says(sim):
    from ingest.history_backfill import BackfillReport, Retrying, make_client

    start, end = _span_ms(sim)
    client = make_client(
        SimpleNamespace(massive_api_key="k", massive_rest_url=sim.rest_url)
    )
    waits: list[float] = []
    call = Retrying(BackfillReport(), attempts=3, first_delay=0.01, sleep=waits.append)
    sim.fail_rest(1, 429, retry_after=RETRY_AFTER_S)
    aggs = call(lambda: list(client.list_aggs("AAA", 1, "minute", start, end)))
    assert len(aggs) == len(sim.ground_truth())
    assert waits == [RETRY_AFTER_S], (waits, sim.rest_log)
    sim.fail_rest(1, 503)  # no Retry-After: the jittered backoff applies
    call(lambda: list(client.list_aggs("AAA", 1, "minute", start, end)))
    assert len(waits) == 2 and 0 < waits[1] <= 0.01, (waits, sim.rest_log)

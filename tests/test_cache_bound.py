"""Historical as_of snapshots are bounded per universe, in-process and in Redis."""

from __future__ import annotations

import uuid

import pandas as pd
import redis

from dashapp.factory import create_app
from dashapp.market.cache import LocalCache, RedisCache
from dashapp.market.cachebound import HISTORICAL_PER_GROUP, historical_group
from tests.auth_helpers import bearer, seed_bars

MANY = 3 * HISTORICAL_PER_GROUP
APP_BOUND = 3
APP_DATES = 7


def _market_key(universe: str, day: int, version: str = "v1") -> str:
    date = (pd.Timestamp("2024-01-01") + pd.Timedelta(days=day)).date()
    return f"market:{universe}:{date}:{version}"


def test_cb01_keys_are_grouped_by_universe_and_now_is_not_bounded():
    assert historical_group("market:sp500:2025-03-14:7-x-y") == "market:sp500"
    assert historical_group("market:sp500:2025-03-14T10:31:7-x") == "market:sp500"
    assert historical_group("market:sp500:now:7-x-y") is None
    assert historical_group("rrg:weekly:8:2025-03-14:SPY:XLK:7") == "rrg"
    assert historical_group("rrg:weekly:8:now:SPY:XLK:7") is None
    view = "view:rankings|as_of=2025-03-14&universe=sp500|7-x"
    assert historical_group(view) == "view:rankings:sp500"
    assert historical_group("view:rankings|as_of=now&universe=sp500|7-x") is None
    assert historical_group("universes:7") is None


def test_cb02_local_cache_keeps_at_most_the_bound_per_universe():
    cache = LocalCache(max_entries=10_000)
    for day in range(MANY):
        cache.get_or_compute(_market_key("sp500", day), lambda: "x" * 1000)
        cache.set(_market_key("sectors", day), "y")
    for n in range(MANY):  # live entries: one per data version, not bounded here
        cache.set(f"market:sp500:now:v{n}", "z")
    keys = list(cache._data)
    for universe in ("sp500", "sectors"):
        held = [k for k in keys if k.startswith(f"market:{universe}:20")]
        assert len(held) == HISTORICAL_PER_GROUP
        assert _market_key(universe, MANY - 1) in held  # the newest stay
        assert _market_key(universe, 0) not in held
    assert sum(k.startswith("market:sp500:now:") for k in keys) == MANY
    assert cache.bound.sizes()["market:sp500"] == HISTORICAL_PER_GROUP


def test_cb03_redis_cache_bounds_historical_entries_and_shortens_their_ttl(redis_url):
    prefix = f"test:{uuid.uuid4().hex[:8]}:cache:"
    cache = RedisCache(redis_url, prefix=prefix, ttl_seconds=3600)
    client = redis.Redis.from_url(redis_url)
    for day in range(MANY):
        cache.get_or_compute(_market_key("sp500", day), lambda: "x" * 1000)
    cache.set("market:sp500:now:v1", "live")
    stored = [k.decode() for k in client.scan_iter(f"{prefix}market:sp500:20*")]
    assert len(stored) == HISTORICAL_PER_GROUP
    assert f"{prefix}{_market_key('sp500', MANY - 1)}" in stored
    assert client.zcard(f"{prefix}bound:market:sp500") == HISTORICAL_PER_GROUP
    assert client.pttl(stored[0]) <= 900_000  # short TTL for history
    assert client.pttl(f"{prefix}market:sp500:now:v1") > 900_000
    # The in-process layer in front of Redis is bounded the same way.
    local = [k for k in cache.local._data if k.startswith("market:sp500:20")]
    assert len(local) == HISTORICAL_PER_GROUP


def test_cb04_api_requests_for_many_dates_stay_within_the_bound(settings, redis_url):
    tag = uuid.uuid4().hex[:8]
    app = create_app(
        settings.replace(redis_url=redis_url, redis_key_prefix=f"t{tag}:"),
        ingest=False,
    )
    try:
        store = app.server.extensions["tickstock_store"]
        seed_bars(store)
        cache = app.server.extensions["tickstock_cache"]
        cache.local.bound.per_group = APP_BOUND
        cache._bounded.per_group = APP_BOUND
        headers = bearer(app)
        client = app.server.test_client()
        dates = pd.bdate_range(end="2025-03-31", periods=APP_DATES)
        for date in dates:
            resp = client.get(
                f"/api/market-state?universe=sp500&as_of={date.date()}",
                headers=headers,
            )
            assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
        local = [k for k in cache.local._data if historical_group(k) == "market:sp500"]
        assert len(local) == APP_BOUND
        rclient = redis.Redis.from_url(redis_url)
        stored = list(rclient.scan_iter(f"t{tag}:cache:market:sp500:20*"))
        assert len(stored) == APP_BOUND
    finally:
        app.server.extensions["tickstock_observability"].stop()

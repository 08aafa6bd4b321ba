"""Live bars shared through Redis: a process that does not ingest shows the
ingester's in-progress bars, updates within a fraction of a second, and drops
them once the ingester is gone."""

from __future__ import annotations

import time
import uuid

import pytest
import redis

from dashapp.factory import create_app
from dashapp.ops.livebars_shared import PUSH_EVERY_S, TTL_MS, SharedLiveBarStore
from dashapp.store.livebars import LiveBar
from tests.redis_server import isolated_redis_url  # noqa: F401

MINUTE_MS = 1_796_400_000_000
SHARE_WITHIN_S = 1.0


@pytest.fixture
def redis_url(isolated_redis_url):  # noqa: F811
    return isolated_redis_url


def _bar(symbol: str, close: float, volume: float, final: bool = False) -> LiveBar:
    return LiveBar(
        symbol, MINUTE_MS, 10.0, max(10.0, close), min(10.0, close), close,
        volume, 10.1, None, final, MINUTE_MS + 5_000, "regular",
    )  # fmt: skip


def _until(predicate, timeout: float) -> float | None:
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if predicate():
            return time.monotonic() - began
        time.sleep(0.01)
    return None


def test_ls01_follower_reads_the_leaders_bars_and_their_updates(redis_url):
    prefix = f"test:{uuid.uuid4().hex[:8]}:"
    leader = SharedLiveBarStore(redis.Redis.from_url(redis_url), prefix)
    reader = SharedLiveBarStore(redis.Redis.from_url(redis_url), prefix)
    try:
        assert len(reader) == 0
        leader.publish([_bar("AAA", 10.5, 100), _bar("BBB", 9.5, 50)])
        took = _until(lambda: reader.bars() == leader.bars(), SHARE_WITHIN_S)
        assert took is not None, reader.bars()
        assert reader.version == leader.version
        assert reader.snapshot().equals(leader.snapshot())

        leader.publish([_bar("AAA", 10.7, 180)])  # the minute goes on
        took = _until(lambda: reader.get("AAA") == leader.get("AAA"), SHARE_WITHIN_S)
        assert took is not None and reader.get("AAA").volume == 180
        assert reader.get("BBB") == leader.get("BBB")  # unchanged, still there
        assert reader.newest_ts() == MINUTE_MS
        time.sleep(TTL_MS / 1000 + 0.5)  # a quiet market: no new bars for a while
        assert reader.bars() == leader.bars()  # the living leader keeps them
    finally:
        leader.stop()
    # The ingester died: its bars vanish with the TTL instead of lingering.
    gone = _until(lambda: len(reader) == 0, TTL_MS / 1000 + 2 * PUSH_EVERY_S + 1)
    assert gone is not None


def test_ls02_apps_with_redis_share_live_bars_between_workers(settings, redis_url):
    prefix = f"test:{uuid.uuid4().hex[:8]}:"
    shared = settings.replace(redis_url=redis_url, redis_key_prefix=prefix)
    ingesting = create_app(shared, ingest=False)
    serving = create_app(shared, ingest=False)
    mine = ingesting.server.extensions["tickstock_livebars"]
    theirs = serving.server.extensions["tickstock_livebars"]
    try:
        mine.publish([_bar("AAA", 11.0, 300)])
        took = _until(lambda: theirs.bars() == mine.bars(), SHARE_WITHIN_S)
        assert took is not None
    finally:
        mine.stop()


def test_ls03_without_redis_live_bars_stay_in_process(settings):
    from dashapp.ops.livebars_shared import make_livebars

    store = make_livebars(settings)
    assert not isinstance(store, SharedLiveBarStore)
    assert (
        "tickstock_livebars" not in create_app(settings, ingest=False).server.extensions
    )


def test_ls04_a_reader_started_a_millisecond_later_still_sees_the_bars(redis_url):
    prefix = f"test:{uuid.uuid4().hex[:8]}:"
    leader = SharedLiveBarStore(redis.Redis.from_url(redis_url), prefix)
    reader = SharedLiveBarStore(redis.Redis.from_url(redis_url), prefix)
    reader._version = leader._version + 1  # its clock-based start, 1 ms on
    try:
        assert len(reader) == 0
        leader.publish([_bar("AAA", 10.5, 100)])  # the leader's version + 1
        took = _until(lambda: reader.bars() == leader.bars(), SHARE_WITHIN_S)
        assert took is not None, reader.bars()
    finally:
        leader.stop()

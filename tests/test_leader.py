"""Leader lock: one leader, handover on release, takeover within 2x TTL after a
crash, step-down when the key is taken, no step-down during a Redis outage."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid

import pytest
import redis

from dashapp.ops.leader import FileLeaderLock, LeaderElector, RedisLeaderLock
from dashapp.ops.redisconn import redis_client
from tests.redis_server import isolated_redis_url, redis_server  # noqa: F401

TTL_S = 1.0


@pytest.fixture
def redis_url(isolated_redis_url):  # noqa: F811
    """Use Redis database 14 here: database 15 is flushed by neighbouring tests."""
    return isolated_redis_url


class Recorder:
    """Collect election callbacks in order, thread-safely."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.events: list[str] = []
        self.lock = threading.Lock()

    def elected(self) -> None:
        with self.lock:
            self.events.append("elected")

    def demoted(self) -> None:
        with self.lock:
            self.events.append("demoted")


def _elector(url: str, key: str, name: str, ttl: float = TTL_S):
    rec = Recorder(name)
    lock = RedisLeaderLock(
        redis_client(url), key, f"{name}:{uuid.uuid4().hex[:6]}", ttl * 1000
    )
    elector = LeaderElector(
        lock, ttl_seconds=ttl, on_elected=rec.elected, on_demoted=rec.demoted
    )
    return elector, rec


def _wait(predicate, timeout: float, step: float = 0.01) -> float | None:
    """Return seconds until predicate() held, or None on timeout."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(step)
    return None


def test_le01_exactly_one_leader_and_handover_on_release(redis_url):
    key = f"test:{uuid.uuid4().hex}:leader"
    (a, ra), (b, rb) = _elector(redis_url, key, "a"), _elector(redis_url, key, "b")
    a.start()
    assert _wait(lambda: a.is_leader, 2)
    b.start()
    time.sleep(TTL_S)  # several renewal rounds: b must stay a follower
    assert (a.is_leader, b.is_leader) == (True, False)
    assert redis.Redis.from_url(redis_url).get(key).decode() == a.lock.owner
    assert a.status()[1].startswith("leader") and a.lock.owner in b.status()[1]
    a.stop()  # graceful: runs on_demoted and deletes the key
    assert ra.events == ["elected", "demoted"]
    took = _wait(lambda: b.is_leader, 2 * TTL_S)
    assert took is not None and took < TTL_S  # one poll, no expiry to wait for
    _wait(lambda: rb.events == ["elected"], 1)
    assert rb.events == ["elected"]
    b.stop()


def test_le02_takeover_within_two_ttl_after_crash(redis_url):
    ttl = 2.0  # slack for loaded CI machines: the bound is 2 x ttl
    key = f"test:{uuid.uuid4().hex}:leader"
    (a, _ra), (b, rb) = (
        _elector(redis_url, key, "a", ttl),
        _elector(redis_url, key, "b", ttl),
    )
    a.start()
    assert _wait(lambda: a.is_leader, 2)
    b.start()
    time.sleep(0.1)
    a.stop(release=False)  # a crash: nothing renews, nothing deletes
    crashed = time.monotonic()
    assert _wait(lambda: b.is_leader, 3 * ttl) is not None
    assert time.monotonic() - crashed < 2 * ttl
    # is_leader flips before the on_elected callback has run: wait for it.
    assert _wait(lambda: rb.events[:1] == ["elected"], 2) is not None
    b.stop()


def test_le03_steps_down_when_another_instance_holds_the_key(redis_url):
    key = f"test:{uuid.uuid4().hex}:leader"
    a, ra = _elector(redis_url, key, "a")
    a.start()
    assert _wait(lambda: a.is_leader, 2)
    redis.Redis.from_url(redis_url).set(key, "intruder", px=10_000)
    assert _wait(lambda: not a.is_leader, 2 * TTL_S) is not None
    _wait(lambda: ra.events == ["elected", "demoted"], 1)
    assert ra.events == ["elected", "demoted"]
    a.stop()
    assert redis.Redis.from_url(redis_url).get(key) == b"intruder"  # not ours


def test_le04_leader_keeps_leading_through_a_redis_outage(redis_server):  # noqa: F811
    a, ra = _elector(redis_server.url, "leader", "a")
    a.start()
    assert _wait(lambda: a.is_leader, 2)
    redis_server.kill()
    time.sleep(2 * TTL_S)  # longer than the TTL: the key is gone with the server
    assert a.is_leader and ra.events == ["elected"]
    redis_server.start()  # empty: the renewal re-takes the key
    owner = a.lock.owner.encode()
    assert _wait(lambda: redis_server.client().get("leader") == owner, 2 * TTL_S)
    assert a.is_leader and ra.events == ["elected"]
    a.stop()


HOLD_FLOCK = """
import sys, time
from dashapp.ops.leader import FileLeaderLock
lock = FileLeaderLock(sys.argv[1], "child")
assert lock.acquire()
print("held", flush=True)
time.sleep(60)
"""


def test_le05_file_lock_one_holder_per_host_freed_when_holder_dies(tmp_path):
    path = tmp_path / "ingest.leader.lock"
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD_FLOCK, str(path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "held"
        mine = FileLeaderLock(path, "parent")
        assert not mine.acquire() and mine.holder() == "child"
        child.kill()
        child.wait(5)
        assert mine.acquire() and mine.holder() == "parent"
        other = FileLeaderLock(path, "other")
        assert not other.acquire()
        mine.release()
        assert other.acquire()
        other.release()
    finally:
        child.kill()

"""Benchmark the market-state cache on Redis (loopback) with real S&P 500 data.

1. Hit path of a market-state read (target p99 <= 1 ms): the in-process layer
   in front of Redis (every read after a worker's first), the Redis fetch
   itself (a worker's first read of a version: GET + unpickle), and the whole
   `market_state()` call on a hit (adds the data-version and universe queries).
2. One computation per data version: 50 poller threads spread over 5 cache
   instances (5 "workers", separate in-process layers) read the snapshot while
   the data version changes; count the computations per version (target 1).

Data: the last ~460 sessions of `../shared/data/daily/sp500_etfs_daily_*.csv.gz`
loaded into a temporary SQLite store. Redis: REDIS_URL when set, else a
private loopback `redis-server` (else redis://127.0.0.1:6379/15).
Run: `.venv/bin/python bench/bench_cache.py [--quick]`.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import flask  # noqa: E402

from bench._common import sp500_daily  # noqa: E402
from dashapp.market import market_state  # noqa: E402
from dashapp.market.cache import RedisCache  # noqa: E402
from dashapp.store import Store  # noqa: E402
from dashapp.store.reference import load_reference  # noqa: E402

DATA = sp500_daily()  # TICKSTOCK_SHARED_DATA, else ../shared/data
SESSIONS = 460
UNIVERSE = "sp500"
HIT_TARGET_MS = 1.0
HIT_READS = 20_000
REDIS_READS = 300
FULL_READS = 1_000
WORKERS = 5
POLLERS = 50
VERSIONS = 3
POLL_PAUSE_S = (0.0, 0.03)
VERSION_HOLD_S = 1.0


@contextlib.contextmanager
def redis_url():
    """Yield REDIS_URL, else a private loopback redis-server, else local DB 15.

    A private server by default: test runs flush the shared test database,
    which would look like extra computations here.
    """
    if os.environ.get("REDIS_URL") or not shutil.which("redis-server"):
        yield os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
        return
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
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
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url)
        for _ in range(200):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.02)
        yield url
    finally:
        proc.kill()
        proc.wait(5)


def build_store(tmp: Path, sessions: int) -> Store:
    """Return a SQLite store with the newest `sessions` of real daily bars."""
    frame = pd.read_csv(DATA)
    keep = sorted(frame["date"].unique())[-sessions:]
    frame = frame[frame["date"].isin(keep)]
    store = Store(f"sqlite:///{tmp / 'bench.db'}")
    store.init_schema()
    load_reference(store)
    store.upsert_daily_bars(frame)
    return store


def percentiles_ms(seconds: list[float]) -> tuple[float, float]:
    """Return (median, p99) in milliseconds."""
    arr = np.asarray(seconds) * 1000.0
    return float(np.median(arr)), float(np.percentile(arr, 99))


def read(store: Store, cache: RedisCache):
    """Read the live market state through `cache` (app context for extensions)."""
    return market_state(UNIVERSE, store=store, cache=cache)


def bench_hits(store: Store, url: str, prefix: str, quick: bool) -> list[tuple]:
    """Time the hit paths; return table rows."""
    rows = []
    cache = RedisCache(url, prefix=prefix)
    started = time.perf_counter()
    state = read(store, cache)
    compute_s = time.perf_counter() - started
    key = f"market:{UNIVERSE}:now:{state.version}"
    n = HIT_READS // (10 if quick else 1)
    timings = []
    for _ in range(n):
        t0 = time.perf_counter()
        cache.get_or_compute(key, lambda: None)
        timings.append(time.perf_counter() - t0)
    med, p99 = percentiles_ms(timings)
    rows.append(("hit, in-process layer (get_or_compute)", med, p99, HIT_TARGET_MS))
    cold = RedisCache(url, prefix=prefix)
    timings = []
    for _ in range(REDIS_READS // (10 if quick else 1)):
        cold.local.clear()
        t0 = time.perf_counter()
        cold.get_or_compute(key, lambda: None)
        timings.append(time.perf_counter() - t0)
    med, p99 = percentiles_ms(timings)
    rows.append(("hit, Redis fetch + unpickle (1st read/worker)", med, p99, None))
    timings = []
    for _ in range(FULL_READS // (10 if quick else 1)):
        t0 = time.perf_counter()
        read(store, cache)
        timings.append(time.perf_counter() - t0)
    med, p99 = percentiles_ms(timings)
    rows.append(("market_state() on a hit (+ version query)", med, p99, None))
    rows.append(("miss: one snapshot computation", compute_s * 1000, None, None))
    return rows


def bench_pollers(store: Store, url: str, prefix: str, versions: int) -> dict:
    """Run 50 pollers over 5 caches while the data version changes; count work."""
    caches = [RedisCache(url, prefix=prefix) for _ in range(WORKERS)]
    seen: list[set[str]] = [set() for _ in range(POLLERS)]
    reads = [0] * POLLERS
    stop = threading.Event()
    errors: list[str] = []

    def poll(i: int) -> None:
        rng = random.Random(i)
        cache = caches[i % WORKERS]
        with flask.Flask(f"poller{i}").app_context():
            while not stop.is_set():
                try:
                    seen[i].add(read(store, cache).version)
                    reads[i] += 1
                except Exception as exc:  # report, keep polling
                    errors.append(f"{type(exc).__name__}: {exc}")
                time.sleep(rng.uniform(*POLL_PAUSE_S))

    threads = [threading.Thread(target=poll, args=(i,)) for i in range(POLLERS)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    spy = store.read_daily(["SPY"]).tail(1)
    produced = []
    for v in range(versions):
        version = store.data_version().key
        produced.append(version)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not all(
            any(version in s for s in seen_i) for seen_i in seen
        ):
            time.sleep(0.01)
        time.sleep(VERSION_HOLD_S)
        if v < versions - 1:
            store.upsert_daily_bars(spy)  # same bar again: a new data version
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    computes = sum(c.stats()["computes"] for c in caches)
    waits = sum(c.stats()["waits"] for c in caches)
    redis_errors = sum(c.stats()["errors"] for c in caches)
    return {
        "versions": len(set().union(*seen)),
        "pollers": POLLERS,
        "workers": WORKERS,
        "reads": sum(reads),
        "computations": computes,
        "waited for another worker": waits,
        "errors": len(errors),
        "redis errors (fell back to local)": redis_errors,
        "seconds": elapsed,
    }


def main(argv: list[str] | None = None) -> dict:
    """Run both benchmarks, print the tables and return the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer reads/sessions")
    args = parser.parse_args(argv if argv is not None else [])
    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    with redis_url() as url, tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        store = build_store(Path(tmp), SESSIONS)
        print(
            f"loaded {store.table_stats().iloc[1]['rows']:,} daily bars "
            f"in {time.perf_counter() - t0:.1f} s; Redis {url}"
        )
        with flask.Flask("bench").app_context():
            hit_rows = bench_hits(store, url, prefix, args.quick)
        print(
            f"\n{'cache read (' + UNIVERSE + ' market state)':<48} "
            f"{'median ms':>10} {'p99 ms':>9} {'target':>8} {'p99/target':>11}"
        )
        for name, med, p99, target in hit_rows:
            p99_s = f"{p99:9.3f}" if p99 is not None else f"{'':>9}"
            tgt = f"{target:8.1f}" if target else f"{'—':>8}"
            ratio = (
                f"{p99 / target:11.3f}" if target and p99 is not None else f"{'':>11}"
            )
            print(f"{name:<48} {med:10.3f} {p99_s} {tgt} {ratio}")
        # A fresh prefix: the first version must be computed by the pollers too.
        poll_prefix = f"{prefix}pollers:"
        result = bench_pollers(store, url, poll_prefix, 1 if args.quick else VERSIONS)
        per_version = result["computations"] / result["versions"]
        print(f"\n{'concurrent pollers':<34} {'value':>10}")
        for name, value in result.items():
            shown = f"{value:10.1f}" if isinstance(value, float) else f"{value:10d}"
            print(f"{name:<34} {shown}")
        print(
            f"{'computations per version':<34} {per_version:10.2f}  (target 1, "
            f"ratio {per_version:.2f})"
        )
        RedisCache(url, prefix=prefix).clear()
        store.dispose()
    met = hit_rows[0][2] <= HIT_TARGET_MS and per_version == 1.0
    print("\ntargets met" if met else "\nTARGET MISSED")
    out = {}
    keys = ("cache_hit_local", "cache_hit_redis", "market_state_hit")
    for key, (_name, med, p99, _target) in zip(keys, hit_rows, strict=False):
        out[f"{key}_ms"], out[f"{key}_p99_ms"] = med, p99
    out["cache_miss_compute_ms"] = hit_rows[3][1]
    out["cache_computations_per_version"] = per_version
    out["cache_poller_errors"] = result["errors"]
    return out


if __name__ == "__main__":
    main(sys.argv[1:])

"""Child-process body for the cross-process cache tests (kept import-light)."""

from __future__ import annotations

import threading
import time
from typing import Any

import redis

from dashapp.market.cache import RedisCache

COMPUTE_S = 0.3


def poll_versions(
    url: str,
    prefix: str,
    keys: list[str],
    threads: int,
    counter: str,
    ready: Any,
    go: Any,
    results: Any,
) -> None:
    """Read each key from `threads` threads through one cache, after `go[i]`."""
    cache = RedisCache(url, prefix=prefix)
    client = redis.Redis.from_url(url)

    for i, key in enumerate(keys):

        def compute(key: str = key) -> dict[str, Any]:
            client.incr(counter)
            time.sleep(COMPUTE_S)
            return {"key": key, "payload": list(range(1000))}

        out: list[str] = []

        def read(key: str = key, compute: Any = compute, out: list = out) -> None:
            out.append(cache.get_or_compute(key, compute)["key"])

        workers = [threading.Thread(target=read) for _ in range(threads)]
        ready.put(i)
        go[i].wait(60)
        for t in workers:
            t.start()
        for t in workers:
            t.join()
        results.put((i, out, cache.stats()["computes"]))

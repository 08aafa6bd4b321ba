"""Redis clients for TickStock: short timeouts, no hidden retries.

Every Redis user (cache, pub/sub, leader lock, monitor) degrades on its own
when Redis is away, so a client must fail fast instead of retrying with backoff
inside a web request.
"""

from __future__ import annotations

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

SOCKET_TIMEOUT_S = 0.5
CONNECT_TIMEOUT_S = 0.5
# Errors that mean "Redis is not there" rather than "this command is wrong".
UNAVAILABLE = (redis.ConnectionError, redis.TimeoutError, OSError)


def redis_client(
    url: str,
    *,
    socket_timeout: float | None = SOCKET_TIMEOUT_S,
    decode_responses: bool = False,
) -> redis.Redis:
    """Return a fail-fast Redis client for `url` (bytes replies unless asked)."""
    return redis.Redis.from_url(
        url,
        socket_timeout=socket_timeout,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        retry=Retry(NoBackoff(), 0),
        decode_responses=decode_responses,
        health_check_interval=0,
    )

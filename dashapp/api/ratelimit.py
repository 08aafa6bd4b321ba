"""The shared /api budgets (per user or token owner, and per client IP) in one hook.

flask-limiter resolved the blueprint's shared limits anew on every request
(exemption scopes, blueprint inheritance, its request context), about a third
of a cached `/api/ticks/recent` answer (issue 16). The budgets are fixed at
start-up, so this hook hits them directly through the limiter's own strategy
and storage: the same fixed windows, the same storage keys
(`tickstock-rl/<key>/<scope>`, in Redis when `REDIS_URL` is set) and the same
429 answer. Every request under /api/ counts, unknown paths and the OpenAPI
document included (flask-limiter counted matched API views only), so probing
for endpoints spends the IP budget too. flask-limiter still guards the login
form.

A storage error (Redis down) falls back to in-process counters when Redis is
configured, re-trying the storage every `STORAGE_RECHECK_S`; without a fallback
the request passes (an outage must not take the API down).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

from flask import Response, request
from flask_limiter import Limiter
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter, RateLimiter

from dashapp import auth

log = logging.getLogger(__name__)

API_PREFIX = "/api/"
LIMITER_PREFIX = "tickstock-rl"
USER_SCOPE = "api-user"
IP_SCOPE = "api-ip"
STORAGE_RECHECK_S = 5.0


def user_or_ip_key() -> str:
    """Return the rate-limit key: the authenticated user, else the client IP."""
    principal = auth.current_principal()
    return principal.rate_key if principal is not None else f"ip:{auth.client_ip()}"


def ip_key() -> str:
    """Return the rate-limit key of the client IP."""
    return f"ip:{auth.client_ip()}"


def rate_limited_response(item: RateLimitItem | str, reset_at: float) -> Response:
    """Return the 429 answer: JSON error shape, Retry-After and X-RateLimit-*."""
    retry_after = max(1, math.ceil(reset_at - time.time()))
    limit = str(item)
    response = auth.json_error(
        429,
        "rate_limited",
        f"too many requests: limit {limit}",
        limit=limit,
        retry_after=retry_after,
    )
    response.headers["Retry-After"] = str(retry_after)
    if isinstance(item, RateLimitItem):
        response.headers["X-RateLimit-Limit"] = str(item.amount)
        response.headers["X-RateLimit-Remaining"] = "0"
        response.headers["X-RateLimit-Reset"] = str(int(reset_at))
    return response


class ApiRateLimit:
    """Every /api request hits the user budget and the IP budget (shortest first)."""

    def __init__(
        self, limiter: Limiter, user_rate: str, ip_rate: str, *, fallback: bool = False
    ) -> None:
        budgets: list[tuple[RateLimitItem, str, Callable[[], str]]] = [
            *((item, USER_SCOPE, user_or_ip_key) for item in parse_many(user_rate)),
            *((item, IP_SCOPE, ip_key) for item in parse_many(ip_rate)),
        ]
        # Shortest window first, stop at the first breach (as flask-limiter does).
        self.budgets = sorted(budgets, key=lambda budget: budget[0])
        self.strategy: RateLimiter = limiter.limiter
        self.fallback: RateLimiter | None = None
        if fallback:  # shared storage (Redis): count in memory while it is down
            self.fallback = FixedWindowRateLimiter(MemoryStorage())
        self._dead_since: float | None = None
        self._lock = threading.Lock()

    def check(self) -> Response | None:
        """Count this request; answer 429 when a budget is spent (before_request)."""
        if not request.path.startswith(API_PREFIX):
            return None
        strategy = self._current_strategy()
        try:
            return self._hit(strategy)
        except Exception:
            if self.fallback is None or strategy is self.fallback:
                log.exception("rate-limit storage failed; request not limited")
                return None
            log.warning("rate-limit storage unreachable: counting in memory")
            with self._lock:
                self._dead_since = time.monotonic()
            return self._hit(self.fallback)

    def _hit(self, strategy: RateLimiter) -> Response | None:
        for item, scope, key_func in self.budgets:
            args = (LIMITER_PREFIX, key_func(), scope)
            if not strategy.hit(item, *args):
                log.info("ratelimit %s (%s) exceeded on %s", item, args[1], scope)
                reset_at = strategy.get_window_stats(item, *args).reset_time
                return rate_limited_response(item, reset_at)
        return None

    def _current_strategy(self) -> RateLimiter:
        if self._dead_since is None:
            return self.strategy
        with self._lock:
            due = time.monotonic() - self._dead_since >= STORAGE_RECHECK_S
            if due:
                self._dead_since = time.monotonic()
        if due and self._storage_ok():
            log.info("rate-limit storage recovered")
            self._dead_since = None
            return self.strategy
        return self.fallback or self.strategy

    def _storage_ok(self) -> bool:
        try:
            return bool(self.strategy.storage.check())
        except Exception:
            return False

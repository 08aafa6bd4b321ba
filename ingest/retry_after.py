"""Honour the `Retry-After` header of Massive's 429 / 503 answers.

The official REST client raises `BadResponse` with the body only, so the
header is lost by the time our retry loop sees the error. `watch_retry_after`
wraps the client's connection pool to remember, per thread, the wait the last
refused answer asked for; `take_retry_after` returns it (capped) once.
"""

from __future__ import annotations

import email.utils
import threading
import time
from typing import Any

from urllib3.exceptions import MaxRetryError, ResponseError
from urllib3.util.retry import Retry

RETRY_STATUSES = frozenset({429, 503})
MAX_RETRY_AFTER_S = 120.0

_last = threading.local()


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Return the seconds a `Retry-After` value asks for (seconds or HTTP date)."""
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


class _RecordingPool:
    """A urllib3 pool proxy that notes Retry-After of refused answers."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool

    def request(self, *args: Any, **kwargs: Any) -> Any:
        """Send the request; remember the wait a 429/503 answer asks for."""
        # Our callers retry themselves (the clients are built with retries=0):
        # get the refused answer back instead of urllib3's MaxRetryError.
        kwargs.setdefault("retries", Retry(total=0, raise_on_status=False))
        _last.wait = None  # a connection error must not reuse an older answer
        resp = self._pool.request(*args, **kwargs)
        if resp.status not in RETRY_STATUSES:
            _last.wait = None
            return resp
        _last.wait = parse_retry_after(resp.headers.get("Retry-After"))
        resp.drain_conn()
        # The error urllib3 raises itself for these statuses with retries=0.
        url = args[1] if len(args) > 1 else kwargs.get("url", "")
        reason = ResponseError(
            ResponseError.SPECIFIC_ERROR.format(status_code=resp.status)
        )
        raise MaxRetryError(None, url, reason)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)


def watch_retry_after(client: Any) -> Any:
    """Make a massive RESTClient record Retry-After headers; return it."""
    pool = getattr(client, "client", None)
    if pool is not None and not isinstance(pool, _RecordingPool):
        client.client = _RecordingPool(pool)
    return client


def take_retry_after() -> float | None:
    """Return (and forget) the wait the last refused answer on this thread asked."""
    wait = getattr(_last, "wait", None)
    _last.wait = None
    return wait


def retry_wait(backoff_s: float) -> float:
    """Return the server's Retry-After when it gave one, else `backoff_s`."""
    wait = take_retry_after()
    return backoff_s if wait is None else wait

"""The official Massive REST client as the loaders use it, and its error kinds.

Both REST loaders (`ingest.backfill` for live gaps, `ingest.history_backfill`
for bulk history) turn the client's own retries off and retry themselves with
jittered backoff, honouring `Retry-After` (`ingest.retry_after`).
"""

from __future__ import annotations

import re
from typing import Any

from ingest.retry_after import watch_retry_after

# Errors that never fix themselves: retrying only gets the key blocked.
FATAL_STATUS = ("401", "403", "NOT_AUTHORIZED", "Unknown API Key")


def rest_client(
    api_key: str,
    base: str,
    *,
    connect_timeout: float,
    read_timeout: float,
    **options: Any,
) -> Any:
    """Return the official RESTClient with its retries off and Retry-After watched."""
    from massive import RESTClient

    return watch_retry_after(
        RESTClient(
            api_key=api_key,
            base=base,
            retries=0,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            **options,
        )
    )


_URL = re.compile(r"\S+://\S+")


def _error_text(exc: BaseException) -> str:
    # Without URLs: a port (":40313") or a timestamp in the path may hold "403".
    return _URL.sub("", f"{type(exc).__name__} {exc}")


def _names(text: str, code: str) -> bool:
    """Tell whether `text` holds `code` as a word (a number alone, not inside one)."""
    return re.search(rf"(?<!\w){re.escape(code)}(?!\w)", text) is not None


def is_fatal(exc: BaseException, codes: tuple[str, ...] = FATAL_STATUS) -> bool:
    """Tell whether a REST error names one of the fatal `codes` (bad key, denied)."""
    text = _error_text(exc)
    return any(_names(text, code) for code in codes)


def is_rate_limited(exc: BaseException) -> bool:
    """Tell whether a REST error is a rate limit (429, too many requests)."""
    text = _error_text(exc)
    lower = text.lower()
    # Massive: "You've exceeded the maximum requests per minute, ..." (no URL
    # needed); urllib3's "Max retries exceeded" alone is any refused answer.
    return (
        _names(text, "429")
        or "too many requests" in lower
        or "exceeded the maximum requests" in lower
    )

"""The official Massive REST client as the loaders use it, and its error kinds.

Both REST loaders (`ingest.backfill` for live gaps, `ingest.history_backfill`
for bulk history) turn the client's own retries off and retry themselves with
jittered backoff, honouring `Retry-After` (`ingest.retry_after`).
"""

from __future__ import annotations

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


def is_fatal(exc: BaseException, codes: tuple[str, ...] = FATAL_STATUS) -> bool:
    """Tell whether a REST error names one of the fatal `codes` (bad key, denied)."""
    text = str(exc)
    return any(code in text for code in codes)


def is_rate_limited(exc: BaseException) -> bool:
    """Tell whether a REST error is a rate limit (429, too many requests)."""
    text = f"{type(exc).__name__} {exc}"
    return "429" in text or "too many" in text.lower() or "exceeded" in text

"""The data version pages key their views by, and the app cache they render through.

Everything heavier than a primary-key lookup is cached per data version through
the app cache (`cached`), so N browser tabs polling the same view cost one
computation per new bar, not one per tab.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from typing import Any

from dashapp.market.asof import live_cap, now, parse_as_of
from dashapp.market.context import current_store, extension
from dashapp.store import DataVersion

VERSION_TTL_S = 0.25
_VERSION_MEMO: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
NS_PER_MINUTE = 60_000_000_000
_cap_memo: tuple[int, tuple] = (-1, ())


def current_data_version() -> DataVersion:
    """Return the store's data version, re-read at most every VERSION_TTL_S.

    Every poll of every tab asks for it; a short memo turns N polls per second
    into a few queries per second, and a new bar still shows on the next poll.
    """
    store = current_store()
    now = time.monotonic()
    hit = _VERSION_MEMO.get(store)
    if hit is not None and now - hit[0] < VERSION_TTL_S:
        return hit[1]
    version = store.data_version()
    _VERSION_MEMO[store] = (now, version)
    return version


def data_version_key(as_of: Any = None) -> str:
    """Return the data version the market state for `as_of` is keyed by."""
    key = current_data_version().key
    live = extension("livebars")
    label, _ts, _minute = parse_as_of(as_of)
    if label == "now" and live is not None:
        key += f"-live{live.version}"
    if label == "now":
        cap, open_now = current_live_cap()  # "now" moves at the open and the close
        key += f"-{cap}{'o' if open_now else 'c'}"
    return key


def current_live_cap() -> tuple:
    """Return `live_cap()` for the current minute, computed once per minute.

    Opens, closes and dates change on whole minutes, so the cap of any instant
    equals the cap of its minute; a pinned test clock is honoured the same way.
    """
    global _cap_memo
    at = now()
    minute = at.value // NS_PER_MINUTE
    memo = _cap_memo
    if memo[0] != minute:
        memo = _cap_memo = (minute, live_cap(at))
    return memo[1]


def cached(key: str, compute: Callable[[], Any]) -> Any:
    """Return `compute()` through the app cache (shared by every session)."""
    cache = extension("cache")
    if cache is None:
        return compute()
    return cache.get_or_compute(key, compute)

"""Exponential backoff with jitter, shared by the stream client and REST loaders."""

from __future__ import annotations

import random


def backoff_delay(attempt: int, first_s: float, cap_s: float) -> float:
    """Return the wait before retry `attempt` (0-based): exponential, jittered."""
    base = min(cap_s, first_s * 2**attempt)
    return base / 2 + random.uniform(0, base / 2)

"""The Massive WebSocket protocol as the stream client speaks it.

What to connect to (`StreamConfig`), the channels and bounded subscribe
messages, the status events of the handshake, and the two ways a session is
refused: `AuthFailed` (never retried) and `HandshakeError` (retried).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

DEFAULT_MAX_FRAME_BYTES = 16 * 2**20
SUBSCRIBE_MAX_CHANNELS = 1_000
SUBSCRIBE_MAX_BYTES = 32 * 1024


class AuthFailed(RuntimeError):
    """The server rejected the API key (do not retry)."""


class HandshakeError(RuntimeError):
    """The server refused the session for a reason worth retrying."""


@dataclass
class StreamConfig:
    """What to connect to and how to behave."""

    url: str
    api_key: str
    symbols: Sequence[str] | None  # None: the whole market (`AM.*`)
    seconds: bool = False  # also subscribe `A.` per-second aggregates
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES
    handshake_timeout_s: float = 10.0
    backoff_first_s: float = 1.0
    backoff_cap_s: float = 60.0
    stable_after_s: float = 30.0
    gap_wait_s: float = 90.0
    publish_every_s: float = 0.25
    expire_every_s: float = 1.0
    ping_interval_s: float | None = 20.0
    max_queue_frames: int = 64

    def channels(self) -> list[str]:
        """Return every channel to subscribe (`AM.X`, and `A.X` when seconds)."""
        kinds = ["AM", "A"] if self.seconds else ["AM"]
        if self.symbols is None:
            return [f"{k}.*" for k in kinds]
        return [f"{k}.{s}" for k in kinds for s in self.symbols]


def subscribe_frames(channels: Sequence[str], action: str = "subscribe") -> list[bytes]:
    """Return subscribe messages, each at most SUBSCRIBE_MAX_* channels/bytes."""
    frames: list[bytes] = []
    chunk: list[str] = []
    size = 0
    for channel in channels:
        if chunk and (
            len(chunk) >= SUBSCRIBE_MAX_CHANNELS
            or size + len(channel) + 1 > SUBSCRIBE_MAX_BYTES
        ):
            frames.append(orjson.dumps({"action": action, "params": ",".join(chunk)}))
            chunk, size = [], 0
        chunk.append(channel)
        size += len(channel) + 1
    if chunk:
        frames.append(orjson.dumps({"action": action, "params": ",".join(chunk)}))
    return frames


def status_events(frame: Any) -> list[dict]:
    """Return the status events of a handshake frame (HandshakeError if no array)."""
    events = orjson.loads(frame)
    if not isinstance(events, list):
        raise HandshakeError(f"unexpected frame during handshake: {str(frame)[:200]}")
    return [e for e in events if isinstance(e, dict) and e.get("ev") == "status"]

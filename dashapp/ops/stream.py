"""Channel messages for the live stream page: a ring buffer fed by a subscriber.

Every instance runs one subscriber thread on the error and monitoring channels
and keeps the newest messages in a `StreamBuffer`; the `/streaming` page polls
it. Without Redis the publishers feed the buffer directly, so the page still
shows this instance's own records.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

import orjson

log = logging.getLogger(__name__)

DEFAULT_CAPACITY = 1000
GET_MESSAGE_TIMEOUT_S = 0.2
RECONNECT_MIN_S = 0.2
RECONNECT_MAX_S = 5.0
PUBSUB_SOCKET_TIMEOUT_S = 5.0


class StreamBuffer:
    """A thread-safe ring of channel messages, newest last, with sequence numbers."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._items: deque[dict[str, Any]] = deque(maxlen=capacity)
        self._lock = threading.Lock()
        self._seq = itertools.count(1)
        self._health: dict[str, dict[str, Any]] = {}
        self.counts: dict[tuple[str, str], int] = {}

    def add(self, channel: str, data: Any) -> dict[str, Any]:
        """Append one message (a decoded JSON object or raw text)."""
        if not isinstance(data, dict):
            data = {"message": str(data)}
        kind = str(data.get("type") or data.get("level") or "message")
        entry = {
            "seq": 0,
            "received": time.time(),
            "channel": channel,
            "kind": kind,
            "data": data,
        }
        with self._lock:
            entry["seq"] = next(self._seq)
            self._items.append(entry)
            self.counts[(channel, kind)] = self.counts.get((channel, kind), 0) + 1
            if kind == "health" and data.get("instance_id"):
                self._health[str(data["instance_id"])] = entry
        return entry

    def add_raw(self, channel: str, payload: bytes | str) -> dict[str, Any]:
        """Decode a pub/sub payload (JSON when possible) and append it."""
        try:
            data = orjson.loads(payload)
        except orjson.JSONDecodeError:
            text = (
                payload.decode(errors="replace")
                if isinstance(payload, bytes)
                else payload
            )
            data = {"message": text}
        return self.add(channel, data)

    def latest(
        self,
        limit: int = 200,
        channels: Sequence[str] | None = None,
        kinds: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Return up to `limit` messages, newest first, optionally filtered."""
        with self._lock:
            items = list(self._items)
        out = []
        for entry in reversed(items):
            if channels is not None and entry["channel"] not in channels:
                continue
            if kinds is not None and entry["kind"] not in kinds:
                continue
            out.append(entry)
            if len(out) >= limit:
                break
        return out

    def health_records(self, max_age_s: float | None = None) -> list[dict[str, Any]]:
        """Return the newest health record of each instance (optionally recent only)."""
        now = time.time()
        with self._lock:
            entries = list(self._health.values())
        return [
            e for e in entries if max_age_s is None or now - e["received"] <= max_age_s
        ]

    @property
    def last_seq(self) -> int:
        """Return the sequence number of the newest message (0 when empty)."""
        with self._lock:
            return self._items[-1]["seq"] if self._items else 0

    def __len__(self) -> int:
        return len(self._items)


class StreamSubscriber:
    """Subscribe to channels in a daemon thread and feed a StreamBuffer; reconnect."""

    def __init__(self, url: str, channels: Sequence[str], buffer: StreamBuffer) -> None:
        self.url = url
        self.channels = list(channels)
        self.buffer = buffer
        self.received = 0
        self.connected = False
        self._down_since: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    def start(self) -> StreamSubscriber:
        """Start the subscriber thread."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="tickstock-stream-sub", daemon=True
            )
            self._thread._tickstock_obs = True  # type: ignore[attr-defined]
            self._thread.start()
        return self

    def wait_subscribed(self, timeout: float = 5.0) -> bool:
        """Block until subscribed (tests and startup); return True on success."""
        return self._ready.wait(timeout)

    def stop(self) -> None:
        """Stop the thread (it exits within one poll)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(2 * GET_MESSAGE_TIMEOUT_S + 1)

    def status(self) -> tuple[str, str]:
        """Return ("ok" | "degraded", detail) for the readiness endpoint."""
        if self.connected:
            return "ok", f"subscribed to {', '.join(self.channels)}"
        return "degraded", "pub/sub subscriber not connected; reconnecting"

    def _run(self) -> None:
        from dashapp.ops.redisconn import UNAVAILABLE, redis_client

        delay = RECONNECT_MIN_S
        while not self._stop.is_set():
            client = redis_client(self.url, socket_timeout=PUBSUB_SOCKET_TIMEOUT_S)
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(*self.channels)
                self._connected()
                delay = RECONNECT_MIN_S
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=GET_MESSAGE_TIMEOUT_S)
                    if message and message.get("type") == "message":
                        channel = message["channel"]
                        if isinstance(channel, bytes):
                            channel = channel.decode()
                        self.buffer.add_raw(channel, message["data"])
                        self.received += 1
            except UNAVAILABLE as exc:
                self._disconnected(exc)
            except Exception as exc:  # a bad frame must not end the subscriber
                log.warning("stream subscriber error: %s: %s", type(exc).__name__, exc)
                self._disconnected(exc)
            finally:
                try:
                    pubsub.close()
                    client.close()
                except Exception:
                    pass
            self._stop.wait(delay)
            delay = min(delay * 2, RECONNECT_MAX_S)

    def _connected(self) -> None:
        self.connected = True
        self._ready.set()
        if self._down_since is not None:
            log.info(
                "stream subscriber reconnected after %.1f s",
                time.time() - self._down_since,
            )
            self._down_since = None

    def _disconnected(self, exc: BaseException) -> None:
        self.connected = False
        if self._down_since is None:
            self._down_since = time.time()
            log.warning(
                "stream subscriber lost Redis (%s); reconnecting", type(exc).__name__
            )

"""Publish JSON on the Redis channels from background threads marked as ours.

`publish` never blocks. Threads started through `ObsWorker` are marked, so the
log handlers do not re-publish their own records (no feedback loop).
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import orjson

from dashapp.ops.stream import StreamBuffer

log = logging.getLogger(__name__)

PUBLISH_QUEUE_MAX = 10_000
RETRY_MIN_S = 0.2
RETRY_MAX_S = 5.0


def utc_iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="milliseconds")


def is_obs_thread() -> bool:
    """Return True inside our own worker threads (their logs must not loop back)."""
    return getattr(threading.current_thread(), "_tickstock_obs", False)


def to_json(data: Any) -> bytes:
    return orjson.dumps(data, default=str, option=orjson.OPT_NON_STR_KEYS)


class ObsWorker:
    """A daemon thread marked as ours (its own log records are not re-published)."""

    def __init__(self, name: str, target: Callable[[], None]) -> None:
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=target, name=name, daemon=True)
        self.thread._tickstock_obs = True  # type: ignore[attr-defined]

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self.stop_event.set()
        if self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join(timeout)


class ChannelPublisher:
    """Publish JSON messages on Redis channels from a background thread.

    `publish` never blocks. While Redis is unreachable, messages marked `keep`
    (errors) wait in the bounded queue and go out when it is back; others
    (health records, stale by then) are dropped.
    """

    def __init__(self, url: str | None, local: StreamBuffer | None = None) -> None:
        self.url = url
        self.local = local
        self.published = 0
        self.dropped = 0
        self.sent: Counter[str] = Counter()  # per channel
        self.degraded = False
        self._queue: queue.Queue = queue.Queue(maxsize=PUBLISH_QUEUE_MAX)
        self._worker = ObsWorker("tickstock-publisher", self._run)
        self._started = False

    def start(self) -> None:
        """Start the publishing thread (only needed with Redis)."""
        if self.url and not self._started:
            self._started = True
            self._worker.start()

    def stop(self) -> None:
        """Stop publishing (pending messages are dropped)."""
        try:
            self._queue.put_nowait(None)
        except queue.Full:
            pass
        self._worker.stop()

    def publish(self, channel: str, data: dict[str, Any], keep: bool = False) -> None:
        """Queue one message; without Redis hand it to the local buffer."""
        if not self.url:
            if self.local is not None:
                self.local.add(channel, data)
            self.published += 1
            self.sent[channel] += 1
            return
        try:
            self._queue.put_nowait((channel, to_json(data), keep))
        except queue.Full:
            self.dropped += 1

    def status(self) -> tuple[str, str]:
        """Return ("ok" | "degraded", detail)."""
        if self.degraded:
            return (
                "degraded",
                f"publisher cannot reach Redis ({self._queue.qsize()} queued)",
            )
        return "ok", f"{self.published} published, {self.dropped} dropped"

    def _run(self) -> None:
        from dashapp.ops.redisconn import UNAVAILABLE, redis_client

        client = redis_client(self.url)
        delay = RETRY_MIN_S
        while not self._worker.stop_event.is_set():
            item = self._queue.get()
            if item is None:
                return
            channel, payload, keep = item
            while not self._worker.stop_event.is_set():
                try:
                    client.publish(channel, payload)
                except UNAVAILABLE as exc:
                    self._down(exc)
                    if not keep:
                        self.dropped += 1
                        break
                    self._worker.stop_event.wait(delay)
                    delay = min(delay * 2, RETRY_MAX_S)
                    continue
                self.published += 1
                self.sent[channel] += 1
                delay = RETRY_MIN_S
                if self.degraded:
                    self.degraded = False
                    log.info("publisher reached Redis again")
                break

    def _down(self, exc: BaseException) -> None:
        if not self.degraded:
            self.degraded = True
            log.warning(
                "publisher cannot reach Redis (%s); queueing errors", type(exc).__name__
            )

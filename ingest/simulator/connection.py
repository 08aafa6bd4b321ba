"""One WebSocket client: its subscriptions and its outgoing frame queue."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping

import numpy as np
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from ingest.simulator.protocol import (
    DATA_EVENTS,
    MSG_SLOW_CONSUMER,
    ORDERLY_CLOSE,
    status_frame,
)

SLOW_CONSUMER_GRACE = 10.0
_CLOSE = object()
_STATUS = b'[{"ev":"status"'


class Connection:
    """One client connection: its subscriptions and its outgoing frame queue."""

    def __init__(self, ws: ServerConnection, queue_frames: int) -> None:
        self.ws = ws
        self.queue: asyncio.Queue = asyncio.Queue(queue_frames)
        self.subs: dict[str, set[str]] = {ev: set() for ev in DATA_EVENTS}
        self.want: dict[str, np.ndarray | bool | None] = dict.fromkeys(DATA_EVENTS)
        self.other_subs: set[str] = set()
        self.closed = False
        self.slow = False
        self.final: list[tuple[bytes, bool]] = []
        self.writer: asyncio.Task | None = None

    def reindex(self, index: Mapping[str, int]) -> None:
        """Recompute which symbol indices this connection receives per event."""
        for ev in DATA_EVENTS:
            subs = self.subs[ev]
            if "*" in subs:
                self.want[ev] = True
                continue
            idx = sorted(index[s] for s in subs if s in index)
            self.want[ev] = np.array(idx, dtype=np.int64) if idx else None

    async def push(
        self, frames: Iterable[bytes], block: bool, text: bool = True
    ) -> bool:
        """Queue frames; without `block` a full queue marks a slow consumer."""
        for frame in frames:
            if self.closed:
                return False
            if block:
                await self.queue.put((frame, text))
                continue
            try:
                self.queue.put_nowait((frame, text))
            except asyncio.QueueFull:
                self.slow_consumer()
                return False
        return True

    def slow_consumer(self) -> None:
        """Drop buffered data (statuses stay), say why, close (as the real feed)."""
        kept = [item for item in self.discard_queue() if item[0].startswith(_STATUS)]
        self.final = [*kept, (status_frame("slow_consumer", MSG_SLOW_CONSUMER), True)]
        self.queue.put_nowait(_CLOSE)
        self.closed = True
        self.slow = True
        # A socket nobody reads would keep the writer waiting forever.
        loop = asyncio.get_running_loop()
        loop.call_later(SLOW_CONSUMER_GRACE, self.ws.transport.abort)

    def discard_queue(self) -> list:
        """Empty the queue (unblocks producers waiting on it); return what it held."""
        items = []
        while True:
            try:
                items.append(self.queue.get_nowait())
            except asyncio.QueueEmpty:
                return [i for i in items if i is not _CLOSE]
            self.queue.task_done()

    async def write_loop(self) -> None:
        """Send queued frames in order until the connection closes."""
        while True:
            item = await self.queue.get()
            try:
                if item is _CLOSE:
                    for data, text in self.final:
                        await self.ws.send(data, text=text)
                    await self.ws.close(ORDERLY_CLOSE, "slow consumer")
                    return
                data, text = item
                await self.ws.send(data, text=text)
            except ConnectionClosed:
                self.closed = True
                self.discard_queue()
                return
            finally:
                self.queue.task_done()

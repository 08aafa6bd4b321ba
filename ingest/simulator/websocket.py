"""The WebSocket feed: handshake, auth, subscribe, and `A`/`AM` delivery."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import numpy as np
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request

from ingest.simulator.connection import Connection
from ingest.simulator.encoding import frames_from_pieces, mix_into_frames
from ingest.simulator.protocol import (
    DATA_EVENTS,
    FRAME_AUTH_FAILED,
    FRAME_AUTH_OK,
    FRAME_CONNECTED,
    KNOWN_EVENTS,
    MSG_AUTH_TIMEOUT,
    MSG_MAX_CONNECTIONS,
    MSG_NOT_AUTHED,
    ORDERLY_CLOSE,
    WS_PATH,
    parse_client_message,
    status_frame,
)
from ingest.simulator.rest import json_response, request_id


class WebSocketServer:
    """Serve `/stocks` and deliver events to subscribers (mixed into `Simulator`).

    Works on the facade's connection state (`_conns`, `_pending`,
    `_sub_counts`, `_mix_ins`) and answers plain HTTP through its `_rest`.
    """

    async def _deliver(
        self,
        ev: str,
        sym_idx: np.ndarray,
        encode: Callable[[np.ndarray | None], np.ndarray],
        block: bool,
    ) -> None:
        """Send events to every connection subscribed to them, in frames."""
        every: list[bytes] | None = None
        extra = self._mix_ins.pop(ev, None) if self._mix_ins else None
        for conn in list(self._conns):
            want = conn.want[ev]
            if want is None or conn.closed:
                continue
            if want is True:
                if every is None:
                    every = frames_from_pieces(encode(None), self.frame_events)
                frames, count = every, len(sym_idx)
            else:
                sel = np.flatnonzero(np.isin(sym_idx, want))
                if not len(sel):
                    continue
                frames, count = (
                    frames_from_pieces(encode(sel), self.frame_events),
                    len(sel),
                )
            if extra is not None:
                frames = mix_into_frames(frames, *extra)
            if await conn.push(frames, block):
                self._stats[f"events_{ev}"] += count
                self._stats["frames"] += len(frames)
            elif conn.slow:
                self._stats["slow_consumers"] += 1
                self._conns.discard(conn)
                self._count_subscribers()

    async def adrain(self, timeout: float = 10.0) -> bool:
        """Wait until every queued frame was written to its socket."""
        conns = [c for c in self._conns if not c.closed]
        if not conns:
            return True
        try:
            await asyncio.wait_for(
                asyncio.gather(*(c.queue.join() for c in conns)), timeout
            )
        except TimeoutError:
            return False
        return True

    def drain(self, timeout: float = 10.0) -> bool:
        """Block until every queued frame was written (False on timeout)."""
        return self._call(self.adrain(timeout), timeout + 1)

    def wait_for_subscribers(
        self, count: int = 1, ev: str = "AM", timeout: float = 10.0
    ) -> bool:
        """Block until `count` connections subscribed to `ev` (A or AM)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._sub_counts.get(ev, 0) >= count:
                return True
            time.sleep(0.01)
        return False

    async def await_subscribers(
        self, count: int = 1, ev: str = "AM", timeout: float = 10.0
    ) -> bool:
        """Wait (async) until `count` connections subscribed to `ev`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._sub_counts.get(ev, 0) < count:
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    def connection_count(self) -> int:
        """Return the number of authenticated connections."""
        return len(self._conns)

    def _process_request(self, connection: ServerConnection, request: Request):
        """Let WebSocket upgrades to /stocks through; answer anything else as REST."""
        upgrade = request.headers.get("Upgrade", "")
        if "websocket" in upgrade.lower():
            if urlsplit(request.path).path.rstrip("/") == WS_PATH:
                return None
            return json_response(
                404,
                {
                    "status": "NOT_FOUND",
                    "request_id": request_id(),
                    "message": "Not Found",
                },
            )
        return self._rest.handle(request)

    async def _handle(self, ws: ServerConnection) -> None:
        conn = Connection(ws, self.queue_frames)
        self._pending.add(conn)
        try:
            await ws.send(FRAME_CONNECTED, text=True)
            if not await self._authenticate(conn):
                return
            self._pending.discard(conn)
            self._conns.add(conn)
            conn.writer = asyncio.create_task(conn.write_loop())
            async for message in ws:
                await self._on_message(conn, message)
        except ConnectionClosed:
            pass
        finally:
            conn.closed = True
            conn.discard_queue()
            self._pending.discard(conn)
            self._conns.discard(conn)
            self._count_subscribers()
            if conn.writer is not None:
                conn.writer.cancel()

    async def _authenticate(self, conn: Connection) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.auth_timeout
        while True:
            try:
                raw = await asyncio.wait_for(
                    conn.ws.recv(), max(deadline - loop.time(), 0)
                )
            except TimeoutError:
                await conn.ws.send(
                    status_frame("auth_timeout", MSG_AUTH_TIMEOUT), text=True
                )
                await conn.ws.close(ORDERLY_CLOSE, "auth timeout")
                return False
            msg = parse_client_message(raw)
            if msg is None or msg.get("action") != "auth":
                await conn.ws.send(status_frame("error", MSG_NOT_AUTHED), text=True)
                continue
            if not self.key_ok(msg.get("params")):
                self._stats["auth_failed"] += 1
                await conn.ws.send(FRAME_AUTH_FAILED, text=True)
                await conn.ws.close(ORDERLY_CLOSE, "authentication failed")
                return False
            if (
                self.max_connections is not None
                and len(self._conns) >= self.max_connections
            ):
                await conn.ws.send(
                    status_frame("max_connections", MSG_MAX_CONNECTIONS), text=True
                )
                await conn.ws.close(ORDERLY_CLOSE, "max connections")
                return False
            await conn.ws.send(FRAME_AUTH_OK, text=True)
            return True

    async def _on_message(self, conn: Connection, raw: str | bytes) -> None:
        msg = parse_client_message(raw)
        if msg is None:
            await conn.push([status_frame("error", "invalid message")], block=True)
            return
        action, params = msg.get("action"), msg.get("params")
        if action in ("subscribe", "unsubscribe"):
            if not isinstance(params, str):
                await conn.push(
                    [status_frame("error", "params must be a string")], True
                )
                return
            frames = self._change_subscriptions(conn, action, params)
            await conn.push(frames, block=True)
        elif action == "auth":
            await conn.push(
                [status_frame("error", "already authenticated")], block=True
            )
        else:
            await conn.push([status_frame("error", f"unknown action: {action}")], True)

    def _change_subscriptions(
        self, conn: Connection, action: str, params: str
    ) -> list[bytes]:
        frames = []
        adding = action == "subscribe"
        for channel in (c.strip() for c in params.split(",")):
            if not channel:
                continue
            ev, _, sym = channel.partition(".")
            if not sym or ev not in KNOWN_EVENTS:
                frames.append(status_frame("error", f"invalid channel: {channel}"))
                continue
            target = conn.subs[ev] if ev in conn.subs else conn.other_subs
            item = sym if ev in conn.subs else channel
            if adding:
                target.add(item)
                frames.append(status_frame("success", f"subscribed to: {channel}"))
            else:
                target.discard(item)
                frames.append(status_frame("success", f"unsubscribed to: {channel}"))
        conn.reindex(self._index)
        self._count_subscribers()
        return frames

    def _count_subscribers(self) -> None:
        self._sub_counts = {
            ev: sum(1 for c in self._conns if c.subs[ev] and not c.closed)
            for ev in DATA_EVENTS
        }

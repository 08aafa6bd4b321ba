"""Massive WebSocket client: handshake, subscribe, read forever, reconnect.

One asyncio task reads frames and hands each to `BarAssembler.feed` (decode +
roll-up, no I/O); finished bars go to the writer's queue, which never blocks.
The protocol, as the real server speaks it:

1. server: `[{"ev":"status","status":"connected",...}]`
2. client: `{"action":"auth","params":KEY}`; server: `auth_success`, or
   `auth_failed` (we stop for good: a wrong key never fixes itself, and
   hammering the server with it gets the account blocked), `auth_timeout`,
   `max_connections` or `error` (we reconnect with backoff);
3. client: `{"action":"subscribe","params":"AM.AAPL,AM.MSFT,..."}` in frames of
   bounded size; server acks each channel with `success`;
4. server: JSON arrays of `A`/`AM`/status events until the connection drops.

Reconnects back off exponentially with jitter (first retry within a second,
capped at a minute, reset once a connection stayed up), re-subscribe the full
set, and report the gap: from the newest `AM` minute before the drop to the
first `AM` minute after it (inclusive on both ends, since a drop can split a
minute's burst), which the service backfills over REST.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import orjson
from websockets.asyncio.client import connect
from websockets.exceptions import (
    ConnectionClosed,
    InvalidHandshake,
    InvalidURI,
    WebSocketException,
)

from ingest.backoff import backoff_delay
from ingest.bars import BarAssembler
from ingest.minute_state import MS_PER_MINUTE
from ingest.stream_protocol import (
    AuthFailed,
    HandshakeError,
    StreamConfig,
    status_events,
    subscribe_frames,
)

log = logging.getLogger(__name__)

CLOSE_TOO_BIG = 1009
LOOPBACK = ("127.0.0.1", "localhost", "::1")
RATE_WINDOW_S = 10.0


class StreamClient:
    """Reads the Massive feed into a BarAssembler, reconnecting forever."""

    def __init__(
        self,
        config: StreamConfig,
        assembler: BarAssembler,
        on_gap: Callable[[int, int], Any] | None = None,
        initial_gap_from_ms: int | None = None,
    ) -> None:
        self.config = config
        self.assembler = assembler
        self.on_gap = on_gap
        self.state = "idle"
        self.connected = False
        self.auth_failed = False
        self.last_error: str | None = None
        self.last_close_code: int | None = None
        self.stats = {
            "connects": 0,
            "reconnects": 0,
            "disconnects": 0,
            "handshake_failures": 0,
            "oversized_frames": 0,
            "status_errors": 0,
            "subscribed_acks": 0,
            "gaps": 0,
        }
        self.attempt = 0
        self._gap_from: int | None = initial_gap_from_ms
        self._streaming_since: float | None = None
        self._rate_marks: list[tuple[float, int, int]] = []
        self._stream_anchor = (0, time.monotonic())
        self._ws: Any = None

    # ------------------------------------------------------------- clock
    def stream_now_ms(self) -> int:
        """Return the stream clock: newest event time, advanced by wall time since."""
        stream_ms = self.assembler.stream_ms
        anchor_ms, anchor_mono = self._stream_anchor
        if stream_ms != anchor_ms:
            self._stream_anchor = (stream_ms, time.monotonic())
            return stream_ms
        if not stream_ms:
            return int(time.time() * 1000)
        return stream_ms + int((time.monotonic() - anchor_mono) * 1000)

    # --------------------------------------------------------------- run
    async def run(self, stop: asyncio.Event) -> None:
        """Connect, stream and reconnect until `stop` is set or auth fails."""
        ticker = asyncio.create_task(self._tick_forever(stop))
        try:
            while not stop.is_set():
                began = time.monotonic()
                try:
                    await self._session(stop)
                except AuthFailed as exc:
                    self._auth_failed(str(exc))
                    return
                except (
                    OSError,
                    TimeoutError,
                    ConnectionClosed,
                    InvalidHandshake,
                    InvalidURI,
                    WebSocketException,
                    HandshakeError,
                    orjson.JSONDecodeError,
                ) as exc:
                    self._disconnected(exc)
                except Exception as exc:  # a bug must not end ingest for good
                    log.exception("unexpected error in the stream session")
                    self._disconnected(exc)
                finally:
                    self.connected = False
                    self._ws = None
                if stop.is_set():
                    break
                if time.monotonic() - began >= self.config.stable_after_s:
                    self.attempt = 0
                delay = backoff_delay(
                    self.attempt, self.config.backoff_first_s, self.config.backoff_cap_s
                )
                self.attempt += 1
                self.state = "backoff"
                log.info("reconnecting in %.2fs (attempt %d)", delay, self.attempt)
                try:
                    await asyncio.wait_for(stop.wait(), delay)
                except TimeoutError:
                    pass
        finally:
            self.state = "auth_failed" if self.auth_failed else "stopped"
            ticker.cancel()
            await asyncio.gather(ticker, return_exceptions=True)
            self.assembler.publish(self.stream_now_ms())

    def _auth_failed(self, message: str) -> None:
        self.auth_failed = True
        self.last_error = message
        self.state = "auth_failed"
        log.error(
            "Massive rejected the API key (%s); live ingest stopped. "
            "Check MASSIVE_API_KEY and restart.",
            message,
        )

    def _disconnected(self, exc: BaseException) -> None:
        was_streaming = self.state == "streaming"
        self.stats["disconnects"] += 1
        code = None
        if isinstance(exc, ConnectionClosed):
            close = exc.rcvd or exc.sent
            code = close.code if close is not None else None
            if exc.sent is not None and exc.sent.code == CLOSE_TOO_BIG:
                self.stats["oversized_frames"] += 1
                log.warning(
                    "a frame exceeded %d bytes; reconnecting",
                    self.config.max_frame_bytes,
                )
        if not was_streaming:  # refused or dropped before the subscription
            self.stats["handshake_failures"] += 1
        self.last_close_code = code
        self.last_error = f"{type(exc).__name__}: {exc}"[:300]
        level = logging.WARNING if was_streaming else logging.INFO
        log.log(level, "Massive connection lost (%s)", self.last_error)
        if was_streaming:
            self._note_gap()

    def _note_gap(self) -> None:
        """Remember where the gap starts: the newest AM minute received."""
        asm = self.assembler
        start = asm.last_am_minute
        if start is None and asm.stream_ms:
            start = asm.stream_ms - asm.stream_ms % MS_PER_MINUTE - MS_PER_MINUTE
        if start is None:
            return
        self._gap_from = start if self._gap_from is None else min(self._gap_from, start)

    async def _session(self, stop: asyncio.Event) -> None:
        cfg = self.config
        self.state = "connecting"
        host = urlsplit(cfg.url).hostname or ""
        async with connect(
            cfg.url,
            max_size=cfg.max_frame_bytes,
            max_queue=cfg.max_queue_frames,
            open_timeout=cfg.handshake_timeout_s,
            ping_interval=cfg.ping_interval_s,
            ping_timeout=cfg.ping_interval_s,
            close_timeout=2,
            proxy=None if host in LOOPBACK else True,
            user_agent_header="TickStock ingest",
        ) as ws:
            self._ws = ws
            await self._handshake(ws)
            if self.stats["connects"]:
                self.stats["reconnects"] += 1
            self.stats["connects"] += 1
            self.assembler.connection_reset()
            for frame in subscribe_frames(cfg.channels()):
                await ws.send(frame.decode())
            self.connected = True
            self.state = "streaming"
            self._streaming_since = time.monotonic()
            log.info(
                "streaming %s from %s (%s)",
                "whole market"
                if cfg.symbols is None
                else f"{len(cfg.symbols)} symbols",
                cfg.url,
                "AM+A" if cfg.seconds else "AM",
            )
            feed = self.assembler.feed
            async for message in ws:
                statuses = feed(message)
                if statuses:
                    self._on_status(statuses)
                if self._gap_from is not None:
                    self._maybe_backfill(False)
                if stop.is_set():
                    await ws.close()
                    return
            if not stop.is_set():
                # A clean close (1000/1001: slow consumer, server restart) ends
                # the iteration without an exception; it is still a drop.
                raise ws.protocol.close_exc

    async def _handshake(self, ws: Any) -> None:
        cfg = self.config
        self.state = "authenticating"
        await self._expect(ws, "connected", cfg.handshake_timeout_s)
        await ws.send(orjson.dumps({"action": "auth", "params": cfg.api_key}).decode())
        await self._expect(ws, "auth_success", cfg.handshake_timeout_s)

    async def _expect(self, ws: Any, wanted: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise HandshakeError(f"no {wanted!r} status within {timeout:.0f}s")
            frame = await asyncio.wait_for(ws.recv(), left)
            for status in status_events(frame):
                kind, message = status.get("status"), status.get("message", "")
                if kind == wanted or (
                    # The spec's example greets with "success"; the server says
                    # "connected". Accept both.
                    wanted == "connected" and kind == "success" and "onnect" in message
                ):
                    return
                if kind == "auth_failed":
                    raise AuthFailed(message or "auth_failed")
                if kind in ("auth_timeout", "max_connections", "error"):
                    self.stats["status_errors"] += 1
                    if kind == "max_connections":
                        log.error("Massive: %s (another client uses this key)", message)
                    raise HandshakeError(f"{kind}: {message}")
                log.info("Massive status during handshake: %s %s", kind, message)

    def _on_status(self, statuses: list[dict]) -> None:
        for status in statuses:
            kind, message = status.get("status"), status.get("message", "")
            if kind == "success":
                self.stats["subscribed_acks"] += 1
            elif kind == "auth_failed":
                raise AuthFailed(message or "auth_failed")
            elif kind in ("error", "max_connections", "auth_timeout"):
                self.stats["status_errors"] += 1
                log.warning("Massive status %s: %s", kind, message)
            else:
                log.info("Massive status %s: %s", kind, message)

    # ---------------------------------------------------------- backfill
    def _maybe_backfill(self, timed_out: bool) -> None:
        """Report the gap once the first AM minute after reconnect is known."""
        start = self._gap_from
        if start is None:
            return
        # The first minute newer than the gap's start that arrived on this
        # connection; earlier ones are re-sent corrections of old minutes.
        first = self.assembler.newest_am_since_connect
        if first is not None and first <= start:
            first = None
        if first is None and not timed_out:
            return
        if first is None:
            now = self.stream_now_ms()
            end = now - now % MS_PER_MINUTE - MS_PER_MINUTE
        else:
            end = first
        self._gap_from = None
        if end < start:
            return
        self.stats["gaps"] += 1
        if self.on_gap is not None:
            self.on_gap(start, end)

    # ------------------------------------------------------------ ticker
    async def _tick_forever(self, stop: asyncio.Event) -> None:
        cfg = self.config
        next_expire = 0.0
        while not stop.is_set():
            now_mono = time.monotonic()
            now_ms = self.stream_now_ms()
            self.assembler.publish(now_ms)
            if now_mono >= next_expire:
                next_expire = now_mono + cfg.expire_every_s
                self.assembler.expire(now_ms)
                self._sample_rate(now_mono)
                self._check_gap_timeout(now_mono)
            try:
                await asyncio.wait_for(stop.wait(), cfg.publish_every_s)
            except TimeoutError:
                pass
        await self.close()

    def _check_gap_timeout(self, now_mono: float) -> None:
        if (
            self._gap_from is not None
            and self.state == "streaming"
            and self._streaming_since is not None
            and now_mono - self._streaming_since >= self.config.gap_wait_s
        ):
            self._maybe_backfill(True)

    def _sample_rate(self, now_mono: float) -> None:
        counts = self.assembler.counts
        total = counts["events_A"] + counts["events_AM"]
        marks = self._rate_marks
        marks.append((now_mono, total, counts["events_AM"]))
        while len(marks) > 2 and now_mono - marks[0][0] > RATE_WINDOW_S:
            marks.pop(0)

    def events_per_second(self) -> float:
        """Return the event rate (A + AM) over the last ~10 seconds."""
        return self._rate(1)

    def bars_per_minute(self) -> float:
        """Return the AM bar rate over the last ~10 seconds, per minute."""
        return self._rate(2) * 60

    def _rate(self, column: int) -> float:
        marks = list(self._rate_marks)
        if len(marks) < 2 or marks[-1][0] <= marks[0][0]:
            return 0.0
        return (marks[-1][column] - marks[0][column]) / (marks[-1][0] - marks[0][0])

    async def close(self) -> None:
        """Close the current connection (the run loop then sees `stop`)."""
        ws = self._ws
        if ws is not None:
            await ws.close()

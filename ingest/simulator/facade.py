"""The Simulator: one loopback server for the Massive WebSocket feed and REST."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import threading
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from websockets.asyncio.server import serve

from ingest.simulator.aggregates import BarQueries, DailyHistory
from ingest.simulator.clock import SessionClock
from ingest.simulator.connection import Connection
from ingest.simulator.encoding import EventEncoder
from ingest.simulator.faults import FaultInjection
from ingest.simulator.minutes import DayState, Minute
from ingest.simulator.protocol import DATA_EVENTS, WS_PATH
from ingest.simulator.rest import RestApi
from ingest.simulator.splits import normalise_script, unadjust_daily
from ingest.simulator.truth import GroundTruth
from ingest.simulator.websocket import WebSocketServer
from ingest.synthetic import (
    CALENDAR,
    HOURS_MODES,
    ReplayMarket,
    SyntheticMarket,
    default_universe,
    et_datetime,
    make_symbols,
    to_epoch_ms,
)

log = logging.getLogger("ingest.simulator")

DEFAULT_FRAME_EVENTS = 1000
DEFAULT_QUEUE_FRAMES = 20_000
REST_LOG_SIZE = 10_000
WRITE_LIMIT = 2**20
CLOSE_TIMEOUT = 2.0
FAST = "fast"


def _parse_speed(speed: float | str | None) -> float | None:
    if speed is None or speed == FAST or speed == float("inf"):
        return None
    value = float(speed)
    if value <= 0:
        raise ValueError("speed must be > 0 or 'fast'")
    return value


class Simulator(SessionClock, WebSocketServer, FaultInjection, BarQueries):
    """A loopback Massive server: WebSocket feed and REST on one port.

    speed: 1.0 = real time (A each second, AM right after each minute);
    N = N x accelerated; "fast" = nothing moves until `advance()` is called,
    which emits minutes as fast as the clients read them.
    """

    def __init__(
        self,
        symbols: Sequence[str] | int | None = None,
        *,
        seed: int = 0,
        sectors: Mapping[str, str | None] | None = None,
        last_close: Mapping[str, float] | None = None,
        adv: Mapping[str, float] | None = None,
        etfs: Collection[str] | None = None,
        otc_symbols: Collection[str] = (),
        speed: float | str | None = 1.0,
        start: Any = None,
        hours: str = "all",
        replay: str | Path | pd.DataFrame | None = None,
        daily: pd.DataFrame | None = None,
        volume_scale: float = 1.0,
        backfill_minutes: int = 0,
        api_keys: Collection[str] | None = None,
        auth_timeout: float = 10.0,
        max_connections: int | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        frame_events: int = DEFAULT_FRAME_EVENTS,
        queue_frames: int = DEFAULT_QUEUE_FRAMES,
        compression: str | None = None,
        retain_minutes: int | None = None,
        decimal_volumes: bool = False,
        splits: Iterable[Mapping[str, Any]] | None = None,
    ) -> None:
        if hours not in HOURS_MODES:
            raise ValueError(f"hours must be one of {HOURS_MODES}")
        self.seed = int(seed)
        self.speed = _parse_speed(speed)
        self.hours = hours
        self.host, self.port = host, int(port)
        self.frame_events = int(frame_events)
        self.auth_timeout = float(auth_timeout)
        self.max_connections = max_connections
        self.compression = compression
        self.queue_frames = int(queue_frames)
        self._api_keys = frozenset(api_keys) if api_keys is not None else None
        # The split script; daily history before each split is served unadjusted.
        self.splits = normalise_script(splits)
        self._daily = (
            DailyHistory(unadjust_daily(daily, self.splits))
            if daily is not None
            else None
        )
        self._start_ms = to_epoch_ms(start) if start is not None else None
        self._replay = replay is not None
        self._market = self._make_market(
            symbols, replay, sectors, last_close, adv, etfs, volume_scale
        )
        self.symbols: list[str] = list(self._market.symbols)
        self._index = {s: i for i, s in enumerate(self.symbols)}
        self._sym_array = np.array(self.symbols, dtype=object)
        self._otc = frozenset(otc_symbols)
        self._encoder = EventEncoder(self.symbols, self._otc, decimal_volumes)
        self._day = DayState(len(self.symbols))
        self._truth = GroundTruth(self.symbols, retain_minutes)
        self._rest = RestApi(self)
        self._backfill_minutes = int(backfill_minutes)
        self._wall_locked = self.speed == 1.0 and start is None and not self._replay
        self._gen_ms: int | None = None
        self._prepared: collections.deque[Minute] = collections.deque()
        self._lock = threading.Lock()
        self._rest_faults: collections.deque[tuple[int, int]] = collections.deque()
        self.rest_log: collections.deque[tuple[str, int]] = collections.deque(
            maxlen=REST_LOG_SIZE
        )
        self._stats: collections.Counter = collections.Counter()
        self._conns: set[Connection] = set()
        self._mix_ins: dict[str, tuple[list, list]] = {}
        self._pending: set[Connection] = set()
        self._sub_counts: dict[str, int] = dict.fromkeys(DATA_EVENTS, 0)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server = None
        self._tasks: list[asyncio.Task] = []
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._stop_event: asyncio.Event | None = None
        self._emit_lock: asyncio.Lock | None = None
        self._clock_anchor = (0.0, 0)
        self._next_first: int | None = None
        self._playing: Minute | None = None
        self.finished = threading.Event()

    # ---------------------------------------------------------------- set-up

    def _make_market(self, symbols, replay, sectors, last_close, adv, etfs, scale):
        if replay is not None:
            syms = list(symbols) if isinstance(symbols, Sequence) and symbols else None
            return ReplayMarket(replay, seed=self.seed, symbols=syms)
        if isinstance(symbols, int):
            symbols = make_symbols(symbols)
        if not symbols:
            universe = default_universe()
            symbols = list(universe)
            sectors = {**universe, **(sectors or {})}
        start_day = et_datetime(self._first_minute_hint()).date()
        if self._daily is not None:
            last_close = {**self._daily.last_closes(start_day), **(last_close or {})}
            adv = {**self._daily.average_volume(start_day), **(adv or {})}
        return SyntheticMarket(
            list(symbols),
            seed=self.seed,
            sectors=sectors,
            last_close=last_close,
            adv=adv,
            etfs=etfs,
            volume_scale=scale,
        )

    def _first_minute_hint(self) -> int:
        if self._start_ms is not None:
            return self._start_ms
        return int(time.time() * 1000)

    # ------------------------------------------------------------- lifecycle

    @property
    def feed(self) -> str:
        """Return `host:port`, the `feed` argument of the official WebSocketClient."""
        return f"{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        """Return the WebSocket URL (`ws://host:port/stocks`)."""
        return f"ws://{self.host}:{self.port}{WS_PATH}"

    @property
    def rest_url(self) -> str:
        """Return the REST base URL (`http://host:port`)."""
        return f"http://{self.host}:{self.port}"

    @property
    def is_fast(self) -> bool:
        """Tell whether the clock only moves on `advance()`."""
        return self.speed is None

    def start(self, timeout: float = 30.0) -> int:
        """Serve from a background thread; return the bound port.

        After `stop()` it may be started again: same port, same market, the
        ground truth kept (a server that went away and came back).
        """
        if self._thread is not None:
            raise RuntimeError("simulator already started")
        self._ready.clear()
        self._startup_error = None
        self._thread = threading.Thread(
            target=self._thread_main, name="massive-sim", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("simulator did not start")
        if self._startup_error is not None:
            raise RuntimeError("simulator failed to start") from self._startup_error
        return self.port

    def _thread_main(self) -> None:
        async def main() -> None:
            try:
                await self.astart()
            except BaseException as exc:  # noqa: BLE001 - reported to start()
                self._startup_error = exc
                self._ready.set()
                return
            self._ready.set()
            await self.serve_forever()

        asyncio.run(main())

    def stop(self, timeout: float = 10.0) -> None:
        """Close every connection and the server; join the background thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if thread.is_alive() and self._stop_event is not None:
            loop.call_soon_threadsafe(self._stop_event.set)
        thread.join(timeout)
        self._thread = None

    def __enter__(self) -> Simulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def astart(self) -> int:
        """Start serving on the running event loop; return the bound port."""
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        self._emit_lock = asyncio.Lock()
        # Load the exchange calendar now, not on the loop while clients connect.
        CALENDAR.is_regular(self._initial_minute() or int(time.time() * 1000))
        self._backfill()
        self._server = await serve(
            self._handle,
            self.host,
            self.port,
            process_request=self._process_request,
            compression=self.compression,
            max_size=2**20,
            write_limit=WRITE_LIMIT,
            close_timeout=CLOSE_TIMEOUT,
            logger=_quiet_logger(),
        )
        self.port = self._server.sockets[0].getsockname()[1]
        if not self.is_fast:
            self._tasks.append(asyncio.create_task(self._run_clock()))
        log.info(
            "Massive simulator on ws://%s:%s%s and %s (%d symbols, speed %s)",
            self.host,
            self.port,
            WS_PATH,
            self.rest_url,
            len(self.symbols),
            self.speed or FAST,
        )
        return self.port

    async def serve_forever(self) -> None:
        """Serve until `stop()` (or `astop()`), then shut down."""
        assert self._stop_event is not None
        await self._stop_event.wait()
        await self.astop()

    async def astop(self) -> None:
        """Stop the clock and close every connection (code 1001) and the server."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self._playing is not None:
            # The market traded that minute even though the server went away.
            self._truth.add(self._playing)
            self._playing = None
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
            self._server = None
        if self._stop_event is not None:
            self._stop_event.set()

    def _call(self, coro, timeout: float | None = None):
        if self._loop is None:
            coro.close()
            raise RuntimeError("simulator not started")
        fut = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return fut.result(timeout)

    # -------------------------------------------------------- ground truth

    def ground_truth(
        self, start: Any = None, end: Any = None, symbols: Collection[str] | None = None
    ) -> pd.DataFrame:
        """Return every AM bar emitted: symbol, ts, OHLC, volume, vwap, trades."""
        return self._truth.frame(start, end, symbols)

    def stats(self) -> dict[str, int]:
        """Return counters: connections, minutes, events, frames, REST requests."""
        return {
            "connections": len(self._conns),
            "minutes": self._stats["minutes"],
            "events_A": self._stats["events_A"],
            "events_AM": self._stats["events_AM"],
            "frames": self._stats["frames"],
            "auth_failed": self._stats["auth_failed"],
            "rest_requests": self._stats["rest"],
            "corrections": self._stats["corrections"],
            "slow_consumers": self._stats["slow_consumers"],
            "drops": self._stats["drops"],
        }

    @property
    def wall_clock(self) -> bool:
        """Tell whether simulated time is the wall clock (real time, no start)."""
        return self._wall_locked

    def set_api_keys(self, keys: Collection[str] | None) -> None:
        """Accept only these keys (None: any non-empty key) on WebSocket and REST."""
        self._api_keys = frozenset(keys) if keys is not None else None

    def key_ok(self, key: Any) -> bool:
        """Tell whether an API key is accepted."""
        return (
            isinstance(key, str)
            and bool(key)
            and (self._api_keys is None or key in self._api_keys)
        )

    def _log_rest(self, path: str, status: int) -> None:
        self._stats["rest"] += 1
        self.rest_log.append((path, status))


def _quiet_logger() -> logging.Logger:
    """Return a logger for websockets that hides per-request INFO lines."""
    logger = logging.getLogger("ingest.simulator.websockets")
    logger.setLevel(logging.WARNING)
    return logger

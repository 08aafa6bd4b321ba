"""Live ingest service: stream client + bar assembler + writer + gap backfill.

`start_service(settings, store)` starts everything in daemon threads and
returns the `IngestService` (app.py keeps it in
`app.server.extensions["tickstock_ingest"]`). With no `MASSIVE_API_KEY` it
first starts the built-in Massive simulator in-process (real-time clock, the
ingest universe, starting prices from the newest stored daily closes) and
ingests from it over the real protocol, so a fresh install shows live bars.
The simulator only runs over demo data or an empty store unless
`TICKSTOCK_SIMULATOR=true` (`ingest.feed_origin`); otherwise the service runs
no feed (`no_feed` says why). A real Massive feed removes demo and simulated
bars when it starts; every bar is stored with its origin.

Threads: `tickstock-ingest` (asyncio: socket reader, roll-up, timers),
`tickstock-writer` (the only one that writes bars), `tickstock-backfill`
(REST gap fills), plus the simulator's own thread when it runs in-process.
`tickstock ingest` (`dashapp.cli.ingest`) runs the same service in the
foreground; `ingest.service_health` reports on it.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dashapp.settings import Settings
from dashapp.store.livebars import LiveBarStore
from ingest import sessions
from ingest.backfill import GapBackfiller
from ingest.bars import DEFAULT_GRACE_MS, BarAssembler
from ingest.feed_origin import anchor_daily, mark_feed_origin, simulator_decision
from ingest.minute_state import MS_PER_MINUTE
from ingest.service_health import ServiceHealth
from ingest.stream import StreamClient
from ingest.stream_protocol import StreamConfig
from ingest.validate import FeedValidator, wall_ms
from ingest.writer import BarWriter

log = logging.getLogger(__name__)

SECONDS_AUTO_MAX_SYMBOLS = 500
SIMULATOR_API_KEY = "tickstock-simulator"
SPILL_DIRNAME = "ingest-spill"
SHUTDOWN_BUDGET_S = 10.0
INITIAL_BACKFILL_MAX_MINUTES = 24 * 60
TICKER_RE = re.compile(r"^[A-Z][A-Z0-9.\-]{0,9}$")


@dataclass
class IngestOptions:
    """Tunables; the defaults are for production, tests shrink the timings."""

    grace_ms: int = DEFAULT_GRACE_MS
    backoff_first_s: float = 1.0
    backoff_cap_s: float = 60.0
    stable_after_s: float = 30.0
    gap_wait_s: float = 90.0
    handshake_timeout_s: float = 10.0
    max_frame_bytes: int | None = None
    publish_every_s: float = 0.25
    max_queue_rows: int | None = None
    batch_rows: int | None = None
    backfill_workers: int = 4
    backfill_backoff_first_s: float = 0.5
    initial_backfill_max_minutes: int = INITIAL_BACKFILL_MAX_MINUTES
    spill_dir: str | None = None
    simulator: dict[str, Any] = field(default_factory=dict)
    # The clock feed timestamps are checked against (epoch ms; tests that
    # drive a simulator ahead of real time pass its clock).
    feed_clock_ms: Callable[[], int] | None = None


def resolve_symbols(spec: str, store: Any) -> list[str] | None:
    """Return the symbols INGEST_UNIVERSE names (None = the whole market)."""
    text = (spec or "").strip()
    if text == "*":
        return None
    if "," in text:
        return sorted({s.strip().upper() for s in text.split(",") if s.strip()})
    try:
        return store.universe_symbols(text)
    except KeyError:
        if TICKER_RE.match(text.upper()):
            return [text.upper()]
        raise ValueError(
            f"INGEST_UNIVERSE={spec!r}: no such universe (use a universe name, "
            "a comma list of symbols, or *)"
        ) from None


def wants_seconds(mode: str, symbols: list[str] | None) -> bool:
    """Tell whether to subscribe per-second `A` aggregates too."""
    mode = (mode or "auto").lower()
    if mode == "true":
        return True
    if mode == "false":
        return False
    return symbols is not None and len(symbols) <= SECONDS_AUTO_MAX_SYMBOLS


class IngestService(ServiceHealth):
    """Owns the live-ingest threads; `health()` and `ready_check()` report on them."""

    def __init__(
        self,
        settings: Settings,
        store: Any,
        *,
        livebars: LiveBarStore | None = None,
        options: IngestOptions | None = None,
        simulator: Any = None,
        symbols: list[str] | None | str = "settings",
        ws_url: str | None = None,
        rest_url: str | None = None,
        api_key: str | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.options = options or IngestOptions()
        self.livebars = livebars if livebars is not None else LiveBarStore()
        self.simulator = simulator
        self._own_simulator = False
        self._symbols_arg = symbols
        self._ws_url = ws_url
        self._rest_url = rest_url
        self._api_key = api_key
        self.symbols: list[str] | None = None
        self.source = "massive"
        self.writer: BarWriter | None = None
        self.assembler: BarAssembler | None = None
        self.backfiller: GapBackfiller | None = None
        self.client: StreamClient | None = None
        self.validator: FeedValidator | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._started = threading.Event()
        self._stopped = False
        self.started_at: float | None = None
        self.no_feed: str | None = None  # why no feed runs (simulator not allowed)

    # ---------------------------------------------------------------- start
    def start(self) -> IngestService:
        """Start the simulator (if needed), writer, backfill and stream threads."""
        opts = self.options
        if self._symbols_arg == "settings":
            self.symbols = resolve_symbols(self.settings.ingest_universe, self.store)
        else:
            self.symbols = self._symbols_arg  # type: ignore[assignment]
        sessions.warm()  # load the calendar now, not on the reader's first bar
        if not self._feed_allowed():
            return self
        url, rest, key = self._endpoints()
        origin = "simulated" if self.source == "simulator" else "massive"
        mark_feed_origin(self.store, origin)
        spill_dir = Path(opts.spill_dir or Path(self.settings.data_dir) / SPILL_DIRNAME)
        writer_kw: dict[str, Any] = {}
        if opts.max_queue_rows:
            writer_kw["max_queue_rows"] = opts.max_queue_rows
        if opts.batch_rows:
            writer_kw["batch_rows"] = opts.batch_rows
        self.writer = BarWriter(
            self.store, spill_dir, source=origin, **writer_kw
        ).start()
        self.validator = FeedValidator(self.symbols, clock_ms=self._feed_clock())
        self.assembler = BarAssembler(
            self.writer.submit, self.livebars, opts.grace_ms, self.validator
        )
        self.backfiller = GapBackfiller(
            key,
            rest,
            self.writer.submit,
            workers=opts.backfill_workers,
            backoff_first_s=opts.backfill_backoff_first_s,
        ).start()
        seconds = wants_seconds(self.settings.ingest_seconds, self.symbols)
        config = StreamConfig(
            url=url,
            api_key=key,
            symbols=self.symbols,
            seconds=seconds,
            handshake_timeout_s=opts.handshake_timeout_s,
            backoff_first_s=opts.backoff_first_s,
            backoff_cap_s=opts.backoff_cap_s,
            stable_after_s=opts.stable_after_s,
            gap_wait_s=opts.gap_wait_s,
            publish_every_s=opts.publish_every_s,
        )
        if opts.max_frame_bytes:
            config.max_frame_bytes = opts.max_frame_bytes
        self.client = StreamClient(
            config, self.assembler, self._on_gap, self._initial_gap_from()
        )
        self._thread = threading.Thread(
            target=self._thread_main, name="tickstock-ingest", daemon=True
        )
        self._thread.start()
        self._started.wait(5)
        self.started_at = time.time()
        atexit.register(self.stop)
        return self

    def _feed_allowed(self) -> bool:
        """Tell whether a feed may run; without one, record why (no live feed)."""
        s = self.settings
        if self._ws_url or s.massive_api_key or self.simulator is not None:
            return True
        allowed, why = simulator_decision(getattr(s, "simulator", "auto"), self.store)
        if not allowed:
            self.source = "none"
            self.no_feed = why
            log.info("no live feed: %s", why)
        return allowed

    def _endpoints(self) -> tuple[str, str, str]:
        s = self.settings
        if self._ws_url:
            self.source = "custom"
            return (
                self._ws_url,
                self._rest_url or s.massive_rest_url,
                self._api_key or "x",
            )
        if s.massive_api_key:
            return s.massive_ws_url, s.massive_rest_url, s.massive_api_key
        if self.simulator is None:
            self.simulator = self._make_simulator()
            self._own_simulator = True
            self.simulator.start()
        self.source = "simulator"
        log.info(
            "no MASSIVE_API_KEY: ingesting from the built-in simulator at %s",
            self.simulator.ws_url,
        )
        return self.simulator.ws_url, self.simulator.rest_url, SIMULATOR_API_KEY

    def _feed_clock(self) -> Callable[[], int]:
        """Return the clock feed timestamps are validated against."""
        if self.options.feed_clock_ms is not None:
            return self.options.feed_clock_ms
        sim = self.simulator
        if self._own_simulator and sim is not None and not sim.wall_clock:
            # The built-in simulator runs on its own clock (accelerated, or
            # from a chosen start): its bars are checked against that clock.
            return lambda: int(sim.now().value // 1_000_000)
        return wall_ms

    def _make_simulator(self) -> Any:
        from ingest.simulator import Simulator

        kwargs: dict[str, Any] = {"speed": 1.0, "seed": 0}
        daily = anchor_daily(self.store, self.symbols)
        if daily is not None and len(daily):
            kwargs["daily"] = daily
        kwargs.update(self.options.simulator)
        return Simulator(self.symbols, **kwargs)

    def _initial_gap_from(self) -> int | None:
        """Return where to backfill from at start: the newest stored minute."""
        try:
            if self.symbols is None:
                newest = self.store.data_version().newest_minute
            else:
                frame = self.store.read_minute(self.symbols, limit=1, newest_first=True)
                newest = frame["ts"].iloc[0] if len(frame) else None
        except Exception as exc:
            log.warning("could not read the newest stored minute: %s", exc)
            return None
        if newest is None:
            return None
        newest_ms = int(newest.value // 1_000_000)
        now_ms = int(time.time() * 1000)
        oldest_ok = now_ms - self.options.initial_backfill_max_minutes * MS_PER_MINUTE
        # Over a weekend or a holiday the last session lies more than a day back:
        # its tail is still worth fetching, so the cap reaches its pre-open.
        last = sessions.last_session_start(now_ms)
        if last is not None:
            oldest_ok = min(oldest_ok, int(last.value // 1_000_000))
        return max(newest_ms, oldest_ok - oldest_ok % MS_PER_MINUTE)

    def _thread_main(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop_event = asyncio.Event()
            self._started.set()
            assert self.client is not None
            await self.client.run(self._stop_event)

        try:
            asyncio.run(main())
        except Exception:
            log.exception("live ingest loop crashed")
        finally:
            self._started.set()

    def _on_gap(self, start_ms: int, end_ms: int) -> None:
        assert self.assembler is not None and self.backfiller is not None
        symbols = self.symbols
        if symbols is None:
            symbols = sorted(self.assembler.am_symbols)
        self.backfiller.schedule(symbols, start_ms, end_ms, "gap")

    # ----------------------------------------------------------------- stop
    def stop(self, timeout: float = SHUTDOWN_BUDGET_S) -> bool:
        """Stop streaming, flush live bars and the queue; return True when flushed."""
        if self._stopped:
            return True
        self._stopped = True
        atexit.unregister(self.stop)
        deadline = time.monotonic() + timeout
        loop, event = self._loop, self._stop_event
        if loop is not None and event is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:
                pass
        if self._thread is not None:
            self._thread.join(max(0.0, min(3.0, deadline - time.monotonic())))
        if self.backfiller is not None:
            self.backfiller.stop(timeout=0.5)
        flushed = True
        if self.assembler is not None and self.writer is not None:
            if self._thread is None or not self._thread.is_alive():
                # The minute in progress too: a follower's AM bar replaces it.
                self.writer.submit(self.assembler.drain(include_open=True))
            left = max(0.5, deadline - time.monotonic() - 0.5)
            flushed = self.writer.stop(timeout=left)
        if self._own_simulator and self.simulator is not None:
            self.simulator.stop(timeout=max(0.1, deadline - time.monotonic()))
        log.info("live ingest stopped (%s)", "flushed" if flushed else "spilled")
        return flushed


def start_service(settings: Settings, store: Any, **kwargs: Any) -> IngestService:
    """Start live ingest in daemon threads and return the running service."""
    return IngestService(settings, store, **kwargs).start()

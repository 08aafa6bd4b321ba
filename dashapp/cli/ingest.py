"""`tickstock ingest`: run live ingest in the foreground under the leader lock.

The same service `tickstock serve` co-starts (`ingest.service`), gated by
`dashapp.leadership.GatedIngest` so only one instance ingests; a follower
logs who leads and writes nothing. `--replay-spill` only writes spilled bars
back to the database.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import signal
import threading
import time
from pathlib import Path
from typing import Any

from dashapp.settings import Settings
from dashapp.store.origin import SIMULATED_KEY
from ingest.service import SPILL_DIRNAME, IngestService, start_service
from ingest.writer import BarWriter

# Status lines keep the logger name they were always logged under.
log = logging.getLogger("ingest.service")


def install_signal_handlers(service: IngestService) -> bool:
    """Make SIGTERM/SIGINT stop the service gracefully (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        return False

    def handler(signum: int, _frame: Any) -> None:
        log.info("signal %s: stopping live ingest", signal.Signals(signum).name)
        service.stop()
        raise SystemExit(0)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)
    return True


# --------------------------------------------------------------------- CLI
def add_cli(subparsers: Any) -> None:
    """Register `tickstock ingest`."""
    p = subparsers.add_parser(
        "ingest",
        help="stream live minute bars from Massive (or the simulator) into the DB",
        description="Run live ingest in the foreground until SIGINT/SIGTERM. "
        "Without MASSIVE_API_KEY it ingests from the built-in simulator.",
    )
    p.add_argument("--universe", default=None, help="override INGEST_UNIVERSE")
    p.add_argument(
        "--seconds",
        choices=("auto", "true", "false"),
        default=None,
        help="override INGEST_SECONDS",
    )
    p.add_argument(
        "--duration", type=float, default=None, help="stop after N seconds (testing)"
    )
    p.add_argument(
        "--replay-spill",
        action="store_true",
        help="only write spilled bars back to the database, then exit",
    )
    p.add_argument(
        "--status-every",
        type=float,
        default=60.0,
        help="log a health line every N seconds (0: never)",
    )
    p.set_defaults(func=cmd_ingest)


def cmd_ingest(settings: Settings, args: argparse.Namespace) -> int:
    """Run live ingest in the foreground; exit 0 on a signal, 1 on a bad API key."""
    from dashapp.factory import prepare_store

    changes = {}
    if args.universe:
        changes["ingest_universe"] = args.universe
    if args.seconds:
        changes["ingest_seconds"] = args.seconds
    settings = dataclasses.replace(settings, **changes)
    store = prepare_store(settings)
    if args.replay_spill:
        return _replay_spill(settings, store)
    from dashapp.leadership import GatedIngest

    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())

    no_feed: list[str] = []

    def announce(service: IngestService) -> None:
        if service.no_feed:
            print(f"tickstock ingest: no live feed: {service.no_feed}", flush=True)
            no_feed.append(service.no_feed)
            stop.set()
            return
        print(
            f"leader: ingesting {settings.ingest_universe} from "
            f"{service.health()['url']} ({service.source}) into "
            f"{settings.database_url}",
            flush=True,
        )

    gated = GatedIngest(settings, store, start_service, on_started=announce).begin()
    started = time.monotonic()
    next_status = started + (args.status_every or float("inf"))
    seen_leader: str | None = ""
    try:
        while not stop.wait(0.2):
            service = gated.service
            if service is not None and service.client is not None:
                if service.client.auth_failed:
                    gated.stop()
                    print("tickstock: Massive rejected MASSIVE_API_KEY", flush=True)
                    return 1
            elif gated.elector.is_leader:
                seen_leader = ""
            else:
                leader = gated.leader()
                if leader != seen_leader:
                    seen_leader = leader
                    print(
                        f"follower: {leader or 'nobody'} leads ingest; waiting "
                        "(writing nothing)",
                        flush=True,
                    )
            if args.duration and time.monotonic() - started >= args.duration:
                break
            if time.monotonic() >= next_status:
                next_status += args.status_every
                _log_status(gated)
    except KeyboardInterrupt:
        pass
    stopped = gated.stop()
    return 0 if stopped and not no_feed else 1


def _log_status(gated: Any) -> None:
    service = gated.service
    if service is None:
        log.info("ingest %s", gated.status())
        return
    h = service.health()
    log.info(
        "ingest %s: %s, %.0f ev/s, queue %s, newest %s, reconnects %s",
        gated.status(),
        h["state"],
        h["events_per_s"],
        h["queue_rows"],
        h["newest_bar"],
        h["reconnects"],
    )


def _replay_spill(settings: Settings, store: Any) -> int:
    spill_dir = Path(settings.data_dir) / SPILL_DIRNAME
    # Spilled bars came from this install's feed: the simulator unless a key is set.
    simulated = not settings.massive_api_key and store.get_meta(SIMULATED_KEY)
    origin = "simulated" if simulated else "massive"
    writer = BarWriter(store, spill_dir, source=origin).start()
    pending = writer.stats["spill_pending_rows"]
    ok = writer.wait_idle(timeout=3600)
    writer.stop()
    print(f"replayed {writer.stats['replayed_rows']} of {pending} spilled bar rows")
    return 0 if ok else 1

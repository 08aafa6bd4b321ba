"""Graceful stop of a serving process: flush ingest, hand leadership over, exit.

The development server (`tickstock serve`, the `make run` mode) dies on
SIGTERM without running `atexit` hooks, so the ingest leader would neither
flush its open bars nor release the leader key, and a follower would wait
out the lock TTL. Gunicorn workers call `stop_background` from `worker_exit`.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def stop_background(server: Any) -> None:
    """Stop ingest leadership (flush, release the key) and observability threads."""
    extensions = getattr(server, "extensions", None) or {}
    elector = extensions.get("tickstock_leader")
    if elector is not None:
        elector.stop()
    obs = extensions.get("tickstock_observability")
    if obs is not None:
        obs.stop()


def install_graceful_shutdown(server: Any) -> bool:
    """Make SIGTERM/SIGINT stop background work, then exit (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        return False
    stopping = threading.Event()

    def handler(signum: int, _frame: Any) -> None:
        if stopping.is_set():
            return
        stopping.set()
        log.info("signal %s: stopping", signal.Signals(signum).name)
        stop_background(server)
        raise SystemExit(0)

    for sig in STOP_SIGNALS:
        signal.signal(sig, handler)
    return True

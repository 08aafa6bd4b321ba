"""Health, readiness and status of the live-ingest service.

Mixed into `ingest.service.IngestService`: `status()` is the short feed status
the UI shows, `health()` the figures for /ready and monitoring, and
`ready_check()` the verdict ("ok", "degraded" or "fail") with its reason.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from ingest import sessions
from ingest.minute_state import MS_PER_MINUTE

STALE_BAR_S = 180.0


class ServiceHealth:
    """Status, health and readiness reports of IngestService."""

    def wait_streaming(self, timeout: float = 10.0) -> bool:
        """Block until the client is subscribed and streaming."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.client is not None and self.client.state == "streaming":
                return True
            if self.client is not None and self.client.auth_failed:
                return False
            time.sleep(0.01)
        return False

    @property
    def connected(self) -> bool:
        """Tell whether the feed is connected and subscribed."""
        return self.client is not None and self.client.connected

    def status(self) -> dict[str, Any]:
        """Return a short feed status for the UI: connected, state and detail."""
        level, detail = self.ready_check()
        state = self.client.state if self.client is not None else "not started"
        if self.no_feed:
            state = "no feed"
        return {
            "connected": self.connected,
            "ok": level == "ok",
            "state": state,
            "source": self.source,
            "detail": detail,
            "rejected_events": self.validator.rejected if self.validator else 0,
            "quarantined_rows": self.writer.stats["quarantined_rows"]
            if self.writer
            else 0,
        }

    def health(self) -> dict[str, Any]:
        """Return the health figures for /ready and monitoring."""
        client, asm, writer = self.client, self.assembler, self.writer
        if client is None or asm is None or writer is None:
            state = "no feed" if self.no_feed else "not started"
            return {"state": state, "connected": False, "source": self.source}
        now = time.time()
        stream_now = client.stream_now_ms()
        w = writer.health()
        newest = writer.newest_written_ts
        return {
            "state": client.state,
            "connected": client.connected,
            "source": self.source,
            "url": client.config.url,
            "symbols": "*" if self.symbols is None else len(self.symbols),
            "seconds": client.config.seconds,
            "session": sessions.session_of(int(now * 1000)),
            "events_per_s": round(client.events_per_second(), 1),
            "bars_per_min": round(client.bars_per_minute(), 1),
            "events": dict(asm.counts),
            "rejected": dict(self.validator.counts) if self.validator else {},
            "unknown_kinds": dict(asm.unknown_kinds),
            "last_event_age_s": {
                feed: None if at is None else round(now - at, 3)
                for feed, at in asm.last_wall.items()
            },
            "newest_bar": None
            if newest is None
            else dt.datetime.fromtimestamp(newest / 1000, dt.UTC).isoformat(),
            "last_bar_age_s": None
            if newest is None
            else round((stream_now - newest - MS_PER_MINUTE) / 1000, 3),
            "reconnects": client.stats["reconnects"],
            "stream": dict(client.stats),
            "last_error": client.last_error,
            "queue_rows": w["queue_rows"],
            "write_p50_ms": w["write_p50_ms"],
            "write_p99_ms": w["write_p99_ms"],
            "spilled_rows": w["spilled_rows"],
            "writer": w,
            "backfill": self.backfiller.health() if self.backfiller else None,
            "live_bars": len(self.livebars),
        }

    def ready_check(self) -> tuple[str, str]:
        """Return ("ok"|"degraded"|"fail", detail) for the /ready endpoint."""
        client, writer = self.client, self.writer
        if self.no_feed:
            return "ok", f"no live feed: {self.no_feed}"
        if client is None or writer is None:
            return "fail", "ingest not started"
        if client.auth_failed:
            return "fail", "Massive rejected MASSIVE_API_KEY; ingest stopped"
        if (
            self._thread is not None
            and not self._thread.is_alive()
            and not self._stopped
        ):
            return "fail", "ingest loop is not running"
        w = writer.health()
        if not w["db_ok"]:
            return "degraded", (
                f"database down ({w['last_error']}); "
                f"{w['spill_pending_rows']} bars spilled"
            )
        if not client.connected:
            return (
                "degraded",
                f"reconnecting ({client.state}, attempt {client.attempt})",
            )
        last_am = client.assembler.last_wall.get("AM")
        session = sessions.session_of(int(time.time() * 1000))
        if self.source != "simulator" and session != sessions.CLOSED:
            since = last_am if last_am is not None else self.started_at
            quiet = time.time() - (since or time.time())
            if quiet > STALE_BAR_S:
                return "degraded", f"no minute bars for {int(quiet)}s in {session}"
        what = "all" if self.symbols is None else len(self.symbols)
        return "ok", f"streaming {what} symbols ({session}){_bad_data_note(self, w)}"


def _bad_data_note(service: Any, writer_health: dict[str, Any]) -> str:
    """Return '; N bad rows quarantined, M feed events rejected' or ''."""
    parts = []
    if writer_health.get("quarantined_rows"):
        parts.append(f"{writer_health['quarantined_rows']} bad rows quarantined")
    if service.validator is not None and service.validator.rejected:
        parts.append(f"{service.validator.rejected} feed events rejected")
    return "; " + ", ".join(parts) if parts else ""

"""`tickstock monitor`: a terminal view of the error and monitoring channels.

Shows message counts per channel and event type, message rates, the last
error, every instance's latest health record and an overall verdict, refreshed
live with rich. `--duration N --plain` prints one summary and exits (scripts).
"""

from __future__ import annotations

import time
from collections import Counter, deque
from typing import Any

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from dashapp.settings import Settings

RATE_WINDOW_S = 60.0
ERROR_WINDOW_S = 60.0
STALE_INTERVALS = 3
DEFAULT_INTERVAL_S = 5.0
POLL_S = 0.2
RECONNECT_S = 1.0
EXIT_NO_REDIS = 2
VERDICT_STYLES = {
    "ok": "bold green",
    "degraded": "bold yellow",
    "fail": "bold red",
    "stale": "bold red",
    "no data": "dim",
}


class MonitorState:
    """What the monitor has seen: counts, rates, last error, instance health."""

    def __init__(self, error_channel: str, monitoring_channel: str) -> None:
        self.error_channel = error_channel
        self.monitoring_channel = monitoring_channel
        self.counts: Counter[tuple[str, str]] = Counter()
        self.arrivals: dict[str, deque[float]] = {}
        self.last_error: dict[str, Any] | None = None
        self.last_error_at: float | None = None
        self.instances: dict[str, tuple[float, dict[str, Any]]] = {}
        self.connected = False
        self.started = time.time()

    def feed(self, channel: str, data: Any, now: float | None = None) -> None:
        """Account for one message received on `channel`."""
        now = time.time() if now is None else now
        if not isinstance(data, dict):
            data = {"message": str(data)}
        kind = str(data.get("type") or data.get("level") or "message")
        self.counts[(channel, kind)] += 1
        self.arrivals.setdefault(channel, deque()).append(now)
        if channel == self.error_channel:
            self.last_error, self.last_error_at = data, now
        elif kind == "health" and data.get("instance_id"):
            self.instances[str(data["instance_id"])] = (now, data)

    def rates(self, now: float | None = None) -> dict[str, float]:
        """Return messages per second per channel over the last minute."""
        now = time.time() if now is None else now
        window = min(RATE_WINDOW_S, max(now - self.started, 1e-9))
        out = {}
        for channel, times in self.arrivals.items():
            while times and times[0] < now - RATE_WINDOW_S:
                times.popleft()
            out[channel] = len(times) / window
        return out

    def fresh_instances(self, now: float | None = None) -> dict[str, dict[str, Any]]:
        """Return instances whose latest health record is recent enough."""
        now = time.time() if now is None else now
        fresh = {}
        for name, (seen, rec) in self.instances.items():
            interval = float(rec.get("interval_s") or DEFAULT_INTERVAL_S)
            if now - seen <= STALE_INTERVALS * interval:
                fresh[name] = rec
        return fresh

    def verdict(self, now: float | None = None) -> tuple[str, str]:
        """Return the overall health verdict and why."""
        now = time.time() if now is None else now
        if not self.instances:
            return "no data", "no health record received yet"
        fresh = self.fresh_instances(now)
        if not fresh:
            return "stale", "no instance reported within 3 intervals"
        statuses = {rec.get("status") for rec in fresh.values()}
        if "fail" in statuses:
            return "fail", "an instance reports fail"
        leaders = [n for n, rec in fresh.items() if rec.get("role") == "leader"]
        wants_ingest = any(rec.get("ingest_enabled") for rec in fresh.values())
        if wants_ingest and not leaders:
            return "degraded", "no ingest leader"
        if len(leaders) > 1:
            return "degraded", f"{len(leaders)} ingest leaders"
        if "degraded" in statuses:
            return "degraded", "an instance reports degraded"
        if self.last_error_at is not None and now - self.last_error_at < ERROR_WINDOW_S:
            return "degraded", "errors in the last minute"
        return "ok", f"{len(fresh)} instance(s) healthy"

    def render(self, now: float | None = None) -> Group:
        """Return the rich view of the current state."""
        now = time.time() if now is None else now
        verdict, why = self.verdict(now)
        head = Text.assemble(
            ("TickStock monitor  ", "bold"),
            (verdict.upper(), VERDICT_STYLES.get(verdict, "")),
            f"  {why}",
            ("" if self.connected else "  (Redis disconnected, retrying)", "red"),
        )
        counts = Table(title="Messages", expand=False)
        for col in ("channel", "event type", "count"):
            counts.add_column(col, justify="right" if col == "count" else "left")
        for (channel, kind), n in sorted(self.counts.items()):
            counts.add_row(channel, kind, str(n))
        rates = Table(title="Rates (last minute)")
        rates.add_column("channel")
        rates.add_column("msg/s", justify="right")
        for channel, rate in sorted(self.rates(now).items()):
            rates.add_row(channel, f"{rate:.2f}")
        return Group(
            head, counts, rates, self._instances_table(now), self._error_panel(now)
        )

    def _instances_table(self, now: float) -> Table:
        table = Table(title="Instances")
        cols = (
            "instance",
            "role",
            "status",
            "age s",
            "events/s",
            "last bar s",
            "queue",
            "cache hit",
            "REST p99 ms",
            "sessions",
        )
        for col in cols:
            table.add_column(col, no_wrap=col == "instance")
        for name, (seen, rec) in sorted(self.instances.items()):
            hit = rec.get("cache_hit_rate")
            table.add_row(
                name,
                str(rec.get("role")),
                str(rec.get("status")),
                f"{now - seen:.1f}",
                _num(rec.get("ingest_events_per_s")),
                _num(rec.get("last_bar_age_s")),
                _num(rec.get("queue_depth")),
                "—" if hit is None else f"{100 * hit:.0f}%",
                _num(rec.get("rest_p99_ms")),
                _num(rec.get("active_sessions")),
            )
        return table

    def _error_panel(self, now: float) -> Panel:
        if self.last_error is None:
            return Panel("none", title="Last error")
        err = self.last_error
        age = now - (self.last_error_at or now)
        text = (
            f"{err.get('ts', '')}  {err.get('level', '')}  {err.get('source', '')}\n"
            f"{err.get('message', '')}\n({age:.0f} s ago)"
        )
        return Panel(text, title="Last error", border_style="red")


def _num(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return str(value)


def _decode(payload: Any) -> Any:
    import orjson

    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        return (
            payload.decode(errors="replace") if isinstance(payload, bytes) else payload
        )


def watch(
    settings: Settings,
    state: MonitorState,
    *,
    duration: float = 0.0,
    on_tick: Any = None,
) -> None:
    """Subscribe to both channels and feed `state` until `duration` elapses."""
    from dashapp.ops.redisconn import UNAVAILABLE, redis_client

    deadline = time.monotonic() + duration if duration > 0 else None
    channels = [settings.redis_error_channel, settings.redis_monitoring_channel]
    while deadline is None or time.monotonic() < deadline:
        client = redis_client(settings.redis_url, socket_timeout=5.0)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(*channels)
            state.connected = True
            while deadline is None or time.monotonic() < deadline:
                msg = pubsub.get_message(timeout=POLL_S)
                if msg and msg.get("type") == "message":
                    channel = msg["channel"]
                    if isinstance(channel, bytes):
                        channel = channel.decode()
                    state.feed(channel, _decode(msg["data"]))
                if on_tick is not None:
                    on_tick()
        except UNAVAILABLE:
            state.connected = False
            if on_tick is not None:
                on_tick()
            time.sleep(RECONNECT_S)
        finally:
            pubsub.close()
            client.close()

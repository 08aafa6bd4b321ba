"""Live stream: raw messages of the error and monitoring channels, plus health tiles.

A server-side subscriber (dashapp.ops.stream) keeps the newest channel messages in
a ring buffer; this page polls it. Newest first, filter by channel and level,
pause to read. Login is required (the auth gate protects every page that is
not explicitly public).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html

from components.grid_columns import text_col
from components.grid_dense import grid_ids, grid_toolbar
from components.grids import data_grid
from dashapp.market.context import current_settings, extension
from pages._common import register_dense_grid

dash.register_page(
    __name__,
    path="/streaming",
    name="Streaming",
    order=90,
    title="TickStock — Live stream",
)

MAX_ROWS = 200
DEFAULT_POLL_MS = 5000
STALE_INTERVALS = 3
LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "health")
LEVEL_COLORS = {
    "CRITICAL": "danger",
    "ERROR": "danger",
    "WARNING": "warning",
    "INFO": "info",
    "health": "secondary",
}
STATUS_COLORS = {"ok": "success", "degraded": "warning", "fail": "danger"}


def _poll_ms() -> int:
    try:
        return int(current_settings().poll_seconds * 1000)
    except (RuntimeError, KeyError):  # outside a request (page import)
        return DEFAULT_POLL_MS


def _channels() -> tuple[str, str]:
    try:
        s = current_settings()
        return s.redis_error_channel, s.redis_monitoring_channel
    except (RuntimeError, KeyError):
        return "tickstock:errors", "tickstock:monitoring"


def layout(**_kwargs: Any) -> html.Div:
    """Return the page skeleton; the poll callback fills it."""
    errors, monitoring = _channels()
    controls = dbc.Row(
        [
            dbc.Col(
                dbc.Checklist(
                    id="streaming-channels",
                    options=[
                        {"label": errors, "value": errors},
                        {"label": monitoring, "value": monitoring},
                    ],
                    value=[errors, monitoring],
                    inline=True,
                    switch=True,
                ),
                md="auto",
            ),
            dbc.Col(
                dcc.Dropdown(
                    id="streaming-levels",
                    options=[{"label": lv, "value": lv} for lv in LEVELS],
                    value=[],
                    multi=True,
                    placeholder="All levels",
                ),
                md=4,
            ),
            dbc.Col(
                dbc.Switch(id="streaming-pause", label="Pause", value=False),
                md="auto",
            ),
            dbc.Col(html.Small(id="streaming-status", className="text-muted"), md=True),
        ],
        className="g-3 align-items-center mb-3",
    )
    return html.Div(
        [
            html.H2("Live stream", className="h4"),
            html.Div(id="streaming-tiles", className="mb-3"),
            controls,
            grid_toolbar("streaming", MESSAGE_COLUMNS),
            html.Div(id="streaming-messages", children="Waiting for messages…"),
            dcc.Store(id=grid_ids("streaming")["sink"]),
            dcc.Store(id="streaming-pause-seq"),
            dcc.Interval(id="streaming-poll", interval=_poll_ms()),
        ]
    )


# ------------------------------------------------------------------ tiles
def _fmt(value: Any, unit: str = "", digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.{digits}f}{unit}"
    return f"{value}{unit}"


def _tile(title: str, rows: list[tuple[str, str]], status: str | None) -> dbc.Col:
    header = [html.Span(title)]
    if status:
        header.append(
            dbc.Badge(
                status, color=STATUS_COLORS.get(status, "secondary"), className="ms-2"
            )
        )
    body = html.Table(
        [
            html.Tr([html.Td(k, className="text-muted pe-3"), html.Td(v)])
            for k, v in rows
        ],
        className="small mb-0",
    )
    return dbc.Col(dbc.Card([dbc.CardHeader(header), dbc.CardBody(body)]), md=6, xl=3)


def _leader_record(
    own: dict[str, Any] | None, interval: float
) -> dict[str, Any] | None:
    if own is not None and own.get("role") == "leader":
        return own
    buffer = extension("stream")
    if buffer is None:
        return None
    recent = buffer.health_records(max_age_s=STALE_INTERVALS * interval)
    leaders = [e["data"] for e in recent if e["data"].get("role") == "leader"]
    return leaders[0] if leaders else None


def health_tiles() -> dbc.Row:
    """Return ingest, database, cache and instance tiles from the health records."""
    obs = extension("observability")
    own = obs.monitoring.last if obs is not None else None
    interval = obs.settings.monitoring_interval if obs is not None else 5.0
    lead = _leader_record(own, interval) or {}
    own = own or {}
    buffer = extension("stream")
    instances = (
        buffer.health_records(max_age_s=STALE_INTERVALS * interval) if buffer else []
    )
    ingest_status = None
    if lead:
        ingest_status = "ok" if lead.get("ingest_connected") else "degraded"
    tiles = [
        _tile(
            "Ingest",
            [
                ("leader", lead.get("instance_id") or "none seen"),
                ("connected", _fmt(lead.get("ingest_connected"))),
                ("events/s", _fmt(lead.get("ingest_events_per_s"))),
                ("bars/min", _fmt(lead.get("bars_per_min"))),
                ("queue depth", _fmt(lead.get("queue_depth"))),
                ("reconnects", _fmt(lead.get("reconnects"))),
                ("spilled rows", _fmt(lead.get("spilled_rows"))),
            ],
            ingest_status,
        ),
        _tile(
            "Database",
            [
                ("reachable", _fmt(own.get("db_ok"))),
                ("last bar age", _fmt(own.get("last_bar_age_s"), " s")),
                ("write p50", _fmt(lead.get("db_write_p50_ms"), " ms")),
                ("write p99", _fmt(lead.get("db_write_p99_ms"), " ms")),
            ],
            None if not own else ("ok" if own.get("db_ok") else "fail"),
        ),
        _tile(
            "Cache & REST",
            [
                ("backend", _fmt(own.get("cache_backend"))),
                ("hit rate", _fmt(_pct(own.get("cache_hit_rate")), " %")),
                (
                    "REST p50 / p99",
                    _pair(own.get("rest_p50_ms"), own.get("rest_p99_ms")),
                ),
                ("active sessions", _fmt(own.get("active_sessions"))),
            ],
            None if not own else ("degraded" if own.get("cache_degraded") else "ok"),
        ),
        _tile(
            "Instances",
            [
                (
                    str(e["data"].get("instance_id")),
                    f"{e['data'].get('role')} · {e['data'].get('status')}",
                )
                for e in instances
            ]
            or [("this instance", own.get("instance_id") or "—")],
            own.get("status"),
        ),
    ]
    return dbc.Row(tiles, className="g-3")


def _pct(value: Any) -> float | None:
    return None if value is None else 100.0 * float(value)


def _pair(a: Any, b: Any) -> str:
    return f"{_fmt(a, digits=2)} / {_fmt(b, ' ms', digits=2)}"


# --------------------------------------------------------------- messages
def _summary(entry: dict[str, Any]) -> tuple[str, str]:
    data = entry["data"]
    if entry["kind"] == "health":
        text = (
            f"{data.get('role')} · {data.get('status')} · "
            f"events/s {_fmt(data.get('ingest_events_per_s'))} · "
            f"last bar {_fmt(data.get('last_bar_age_s'), ' s')} · "
            f"cache hit {_fmt(_pct(data.get('cache_hit_rate')), ' %')} · "
            f"sessions {_fmt(data.get('active_sessions'))}"
        )
        return str(data.get("instance_id", "")), text
    return str(data.get("source", "")), str(data.get("message", ""))


MESSAGE_GRID = "streaming-table"
LEVEL_CLASSES = {
    f"level-{LEVEL_COLORS[k]}": {"function": f"params.value == '{k}'"} for k in LEVELS
}
MESSAGE_COLUMNS = [
    text_col(field="received", headerName="Received (UTC)", width=120),
    text_col(field="channel", headerName="Channel", width=170),
    text_col(
        field="level", headerName="Level", width=100, cellClassRules=LEVEL_CLASSES
    ),
    text_col(field="source", headerName="Source", width=170),
    text_col(
        field="message",
        headerName="Message",
        flex=1,
        minWidth=260,
        tooltipField="message",
    ),
]


def message_records(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return one grid row per channel message, newest first."""
    rows = []
    for entry in entries:
        source, text = _summary(entry)
        received = dt.datetime.fromtimestamp(entry["received"], dt.UTC)
        rows.append(
            {
                "seq": str(entry["seq"]),  # AG Grid row ids are strings
                "received": received.strftime("%H:%M:%S.%f")[:-3],
                "channel": entry["channel"],
                "level": entry["kind"],
                "source": source,
                "message": text,
            }
        )
    return rows


def message_rows(entries: list[dict[str, Any]]) -> html.Div:
    """Render channel messages as a dense grid, newest first."""
    if not entries:
        return html.Div("No messages yet.", className="text-muted")
    # Only the grid is re-rendered each poll (same id: AG Grid keeps its sort,
    # filters and hidden columns); the toolbar stays in the layout.
    return data_grid(
        MESSAGE_GRID,
        MESSAGE_COLUMNS,
        row_data=message_records(entries),
        row_id="seq",
        height="max(320px, calc(100vh - 420px))",
        localeText={"noRowsToShow": "No messages yet"},
        csvExportParams={"fileName": "streaming-messages.csv", "allColumns": False},
    )


@callback(
    Output("streaming-pause-seq", "data"),
    Input("streaming-pause", "value"),
)
def toggle_pause(paused: bool) -> int | None:
    """Remember the newest message when pausing; forget it when resuming."""
    buffer = extension("stream")
    if not paused or buffer is None:
        return None
    return buffer.last_seq


@callback(
    Output("streaming-messages", "children"),
    Output("streaming-tiles", "children"),
    Output("streaming-status", "children"),
    Input("streaming-poll", "n_intervals"),
    Input("streaming-channels", "value"),
    Input("streaming-levels", "value"),
    Input("streaming-pause-seq", "data"),
)
def refresh_stream(_n, channels, levels, pause_seq):
    """Render the newest messages (filtered, frozen while paused) and the tiles."""
    buffer = extension("stream")
    if buffer is None:
        note = dbc.Alert("The stream buffer is not running.", color="warning")
        return note, health_tiles(), ""
    entries = buffer.latest(
        limit=MAX_ROWS + (0 if pause_seq is None else len(buffer)),
        channels=channels or [],
        kinds=levels or None,
    )
    if pause_seq is not None:
        entries = [e for e in entries if e["seq"] <= pause_seq][:MAX_ROWS]
    counts = ", ".join(
        f"{ch} {kind}: {n}" for (ch, kind), n in sorted(buffer.counts.items())
    )
    status = f"{len(buffer)} buffered" + (" · paused" if pause_seq is not None else "")
    if counts:
        status += f" · {counts}"
    return message_rows(entries), health_tiles(), status


register_dense_grid(
    "streaming", MESSAGE_COLUMNS, grid_id=MESSAGE_GRID, url_key=None, link_symbol=False
)

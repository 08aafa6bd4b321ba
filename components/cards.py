"""Cards, badges and states: index cards, stat tiles, status line, alerts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from components.theme import (
    DOWN,
    EMPTY_TEXT,
    FLAT,
    UP,
    change_color,
    fmt_compact,
    fmt_num,
    fmt_pct,
    is_missing,
)

SPARK_W, SPARK_H = 140, 36
SVG_NS = "http://www.w3.org/2000/svg"
SESSION_COLORS = {
    "regular": "success",
    "pre": "info",
    "post": "info",
    "closed": "secondary",
}
SESSION_LABELS = {
    "regular": "Market open",
    "pre": "Pre-market",
    "post": "After hours",
    "closed": "Market closed",
}


def sparkline_src(
    values: Sequence[float], width: int = SPARK_W, height: int = SPARK_H
) -> str:
    """Return an SVG data URI drawing `values` as a line (cheaper than a plot)."""
    vals = [float(v) for v in values if not is_missing(v)]
    if len(vals) < 2:
        return "data:image/svg+xml," + quote(
            f"<svg xmlns='{SVG_NS}' width='{width}' height='{height}'/>"
        )
    lo, hi = min(vals), max(vals)
    span = (hi - lo) or 1.0
    step = (width - 2) / (len(vals) - 1)
    points = " ".join(
        f"{1 + i * step:.1f},{1 + (height - 2) * (1 - (v - lo) / span):.1f}"
        for i, v in enumerate(vals)
    )
    color = UP if vals[-1] > vals[0] else DOWN if vals[-1] < vals[0] else FLAT
    svg = (
        f"<svg xmlns='{SVG_NS}' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' preserveAspectRatio='none'>"
        f"<polyline fill='none' stroke='{color}' stroke-width='1.6' "
        f"vector-effect='non-scaling-stroke' points='{points}'/></svg>"
    )
    return "data:image/svg+xml," + quote(svg)


def index_card(quote_: Any) -> dbc.Card:
    """Return one index card: symbol, last, change, sparkline."""
    color = change_color(quote_.change)
    change = (
        "—"
        if is_missing(quote_.change)
        else f"{quote_.change:+,.2f} ({fmt_pct(quote_.pct, 2)})"
    )
    kind = (
        "today" if quote_.spark_kind == "intraday" else f"{len(quote_.spark)} sessions"
    )
    return dbc.Card(
        dbc.CardBody(
            [
                html.Div(
                    [
                        dcc.Link(
                            html.B(quote_.symbol), href=f"/symbol/{quote_.symbol}"
                        ),
                        html.Small(kind, className="text-body-secondary"),
                    ],
                    className="d-flex justify-content-between",
                ),
                html.Div(fmt_num(quote_.last), className="fs-4 fw-semibold"),
                html.Div(change, style={"color": color}, className="small"),
                html.Img(
                    src=sparkline_src(quote_.spark),
                    className="sparkline mt-1",
                    alt=f"{quote_.symbol} {kind}",
                ),
            ],
            className="py-2",
        ),
        className="index-card h-100",
        id=f"index-card-{quote_.symbol}",
    )


def stat_tile(
    title: str, value: str, detail: Any = None, color: str | None = None
) -> dbc.Card:
    """Return a small titled number with an optional detail line."""
    return dbc.Card(
        dbc.CardBody(
            [
                html.Div(title, className="small text-body-secondary"),
                html.Div(
                    value,
                    className="fs-4 fw-semibold",
                    style={"color": color} if color else None,
                ),
                html.Div(detail, className="small") if detail is not None else None,
            ],
            className="py-2",
        ),
        className="h-100 stat-tile",
    )


def ad_progress(adv: int, dec: int, unch: int) -> dbc.Progress:
    """Return a stacked bar of advancers / unchanged / decliners."""
    total = max(adv + dec + unch, 1)
    return dbc.Progress(
        [
            dbc.Progress(value=100 * adv / total, color="success", bar=True),
            dbc.Progress(value=100 * unch / total, color="secondary", bar=True),
            dbc.Progress(value=100 * dec / total, color="danger", bar=True),
        ],
        style={"height": "6px"},
        className="mt-1",
    )


def breadth_tiles(last: dict | None) -> list:
    """Return tiles for A/D, new highs/lows, McClellan and up/down volume."""
    last = last or {}
    if not last:
        return [dbc.Col(empty_state("No breadth yet"), width=12)]
    adv = int(last.get("advancers") or 0)
    dec = int(last.get("decliners") or 0)
    unch = int(last.get("unchanged") or 0)
    nh = int(last.get("new_highs") or 0)
    nl = int(last.get("new_lows") or 0)
    osc = last.get("mcclellan_osc")
    summ = last.get("mcclellan_sum")
    up_vol = float(last.get("up_volume") or 0.0)
    down_vol = float(last.get("down_volume") or 0.0)
    ratio = up_vol / down_vol if down_vol else None
    tiles = [
        stat_tile(
            "Advancers − decliners",
            f"{adv - dec:+,}",
            [
                html.Span(f"{adv:,} up · {dec:,} down · {unch:,} unch"),
                ad_progress(adv, dec, unch),
            ],
            change_color(adv - dec),
        ),
        stat_tile(
            "New 52-wk highs − lows",
            f"{nh - nl:+,}",
            f"{nh:,} highs · {nl:,} lows",
            change_color(nh - nl),
        ),
        stat_tile(
            "McClellan oscillator",
            fmt_num(osc, 1),
            f"Summation {fmt_num(summ, 0)}",
            change_color(osc),
        ),
        stat_tile(
            "Up / down volume",
            "—" if ratio is None else f"{ratio:.2f}×",
            f"{fmt_compact(up_vol)} up · {fmt_compact(down_vol)} down",
            None if ratio is None else change_color(ratio - 1),
        ),
    ]
    return [dbc.Col(t, xs=12, sm=6, className="mb-2") for t in tiles]


def session_badge(clock: dict) -> list:
    """Return the market session badge and the next-open text."""
    session = clock.get("session", "closed")
    items = [
        dbc.Badge(
            SESSION_LABELS[session], color=SESSION_COLORS[session], className="me-2"
        )
    ]
    nxt = clock.get("next_open")
    if session in ("closed", "pre", "post") and nxt is not None:
        items.append(html.Small(f"next open {nxt:%a %b %d %H:%M} ET", className="me-3"))
    return items


def freshness_line(fresh: dict) -> list:
    """Return badges for data age, feed state and demo data."""
    feed = fresh.get("feed", {})
    if feed.get("failed"):
        text, color = "Feed failed", "danger"
    elif not feed.get("running"):
        text, color = "Feed off", "secondary"
    elif feed.get("connected"):
        source = feed.get("source")
        text, color = "Feed connected" + (f" ({source})" if source else ""), "success"
    else:
        text, color = "Feed down", "danger"
    feed_badge = dbc.Badge(
        text, color=color, className="me-2", title=feed.get("detail") or text
    )
    daily = fresh.get("newest_daily")
    items = [feed_badge]
    if daily and not feed.get("running") and not feed.get("failed"):
        items.append(
            html.Small(
                f"Last session {daily} · no live feed", className="me-2 no-feed-line"
            )
        )
    elif daily:
        items.append(html.Small(f"newest session {daily}", className="me-2"))
    origins = fresh.get("origins") or (["demo"] if fresh.get("demo") else [])
    return [*origin_badges(origins), *items]


def origin_badges(origins: Any) -> list:
    """Return a "Demo data" and/or "Simulated feed" badge for generated origins."""
    out = []
    if "demo" in origins:
        out.append(demo_badge())
    if "simulated" in origins:
        out.append(
            dbc.Badge(
                "Simulated feed",
                color="warning",
                text_color="dark",
                className="me-2 simulated-badge",
                title="Minute bars from the built-in simulator, not real prices",
            )
        )
    return out


def demo_badge() -> dbc.Badge:
    """Return the "Demo data" badge every page shows over generated history."""
    return dbc.Badge(
        "Demo data",
        color="warning",
        text_color="dark",
        className="me-2 demo-badge",
        title="Generated history, not real prices",
    )


def snapshot_line(state: Any, demo: bool | None = None) -> list:
    """Return the as-of / universe / excluded summary of a market state."""
    items = []
    if getattr(state, "demo", False) if demo is None else demo:
        items.extend(origin_badges(getattr(state, "origins", None) or ["demo"]))
    session = getattr(state, "session", None)
    label = state.as_of
    if state.as_of == "now" and session is not None:
        closed = getattr(state, "closed", False)
        label = f"last session {session} (closed)" if closed else "live"
        session = None
    items.append(
        html.Small(
            f"{state.universe} · as of {label}"
            + (f" (session {session})" if session else "")
            + f" · {state.symbols:,} symbols",
            className="me-2",
        )
    )
    excluded = getattr(state, "excluded", None)
    if excluded is not None and len(excluded):
        reasons = excluded["reason"].str.split(":").str[0].value_counts()
        detail = ", ".join(f"{n} {r}" for r, n in reasons.items())
        items.append(
            html.Small(
                f"· {len(excluded):,} excluded ({detail})",
                className="text-body-secondary me-2",
                title="Symbols without a price in the as-of session",
            )
        )
    return items


def empty_state(message: str = EMPTY_TEXT, **kwargs: Any) -> dbc.Alert:
    """Return the shared "no data yet" notice."""
    return dbc.Alert(
        [
            html.I(className="bi bi-hourglass-split me-2"),
            dcc.Markdown(message, className="d-inline-block mb-0"),
        ],
        color="light",
        className="empty-state d-flex align-items-center",
        **kwargs,
    )


def error_state(
    exc: BaseException | str, what: str = "Database unavailable"
) -> dbc.Alert:
    """Return an error notice that names the failure without a stack trace."""
    detail = exc if isinstance(exc, str) else f"{type(exc).__name__}: {str(exc)[:160]}"
    return dbc.Alert(
        [
            html.I(className="bi bi-exclamation-triangle me-2"),
            html.B(what),
            html.Span(f" — {detail}"),
        ],
        color="danger",
        className="error-state",
    )


def key_figures(figs: dict, rating: Any = None, rs_new_high: Any = None) -> dbc.Row:
    """Return the symbol page's key figures as a row of small tiles."""
    stage = figs.get("stage")
    stage_text = "—" if is_missing(stage) else f"Stage {int(stage)}"
    weeks = figs.get("weeks_in_stage")
    items = [
        (
            "Last",
            fmt_num(figs.get("last")),
            f"{fmt_num(figs.get('change'))} ({fmt_pct(figs.get('pct'), 2)})",
            change_color(figs.get("change")),
        ),
        (
            "RS rating",
            "—" if is_missing(rating) else f"{int(rating)}",
            "RS line at new high" if rs_new_high else None,
            None,
        ),
        (
            "Weinstein",
            stage_text,
            None if is_missing(weeks) else f"{int(weeks)} weeks in stage",
            None,
        ),
        (
            "Price vs MA30",
            fmt_num(figs.get("pv"), 1)
            + ("%" if not is_missing(figs.get("pv")) else ""),
            f"MA30 slope {fmt_num(figs.get('slope'), 2)}%",
            change_color(figs.get("pv")),
        ),
        (
            "Mansfield RS",
            fmt_num(figs.get("mansfield_rs"), 1),
            f"Volume ratio {fmt_num(figs.get('volume_ratio'), 2)}",
            change_color(figs.get("mansfield_rs")),
        ),
        (
            "52-week range",
            f"{fmt_num(figs.get('low_52w'))} – {fmt_num(figs.get('high_52w'))}",
            f"{fmt_pct(figs.get('from_high'))} from high",
            None,
        ),
    ]
    return dbc.Row(
        [
            dbc.Col(stat_tile(t, v, d, c), xs=6, md=4, xl=2, className="mb-2")
            for t, v, d, c in items
        ],
        className="g-2",
    )


def frame_records(frame: pd.DataFrame) -> list[dict]:
    """Return JSON-safe row dicts (NaN/NA -> None) for grids and tables."""
    if frame is None or frame.empty:
        return []
    clean = frame.astype(object).where(frame.notna(), None)
    return clean.to_dict("records")

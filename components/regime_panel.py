"""The market-regime panel: regime badge, distribution days, 25-session strip.

`regime_card()` is the empty card a page places; `regime_body(answer)` renders the
answer of `dashapp.market.regime.market_regime` (one block per index, SPY first).
The strip shows the last 25 sessions oldest first: a distribution day that still
counts is a filled red box, one that no longer counts (cancelled by a 5 % rise) an
outlined one, a follow-through day a green box.
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from components.theme import DOWN, FLAT, UP, fmt_pct

REGIME_ID = "market-regime"
REGIME_COLORS = {
    "confirmed uptrend": "success",
    "uptrend under pressure": "warning",
    "correction": "danger",
}
BOX = {
    "display": "inline-block",
    "width": "14px",
    "height": "18px",
    "marginRight": "2px",
    "borderRadius": "2px",
}


def regime_card() -> dbc.Card:
    """Return the card the Market page shows at its top (filled by a callback)."""
    return dbc.Card(
        dbc.CardBody(
            html.Div(id=REGIME_ID, children="Loading market regime…"),
            className="py-2",
        ),
        className="mb-2 regime-card",
    )


def _pct(value: Any, digits: int = 1) -> str:
    """Format a value already in percent (1.25 -> "+1.25%")."""
    return fmt_pct(None if value is None else value / 100.0, digits)


def _day_box(day: dict[str, Any]) -> html.Span:
    change = day.get("change_pct")
    title = f"{day['date']}: {_pct(change, 2)}"
    style = {**BOX, "background": "transparent", "border": f"1px solid {FLAT}"}
    kind = "session"
    if day.get("distribution_day") and day.get("counting"):
        style.update(background=DOWN, border=f"1px solid {DOWN}")
        kind, title = "distribution", title + " on higher volume: distribution day"
    elif day.get("distribution_day"):
        style.update(border=f"2px solid {DOWN}")
        kind, title = "cancelled", title + ": distribution day, no longer counting"
    elif day.get("follow_through_day"):
        style.update(background=UP, border=f"1px solid {UP}")
        kind, title = "follow-through", title + ": follow-through day"
    return html.Span(style=style, title=title, className=f"regime-day regime-{kind}")


def regime_strip(strip: list[dict[str, Any]]) -> html.Div:
    """Return the 25-session strip (oldest left): distribution / follow-through days."""
    return html.Div(
        [_day_box(d) for d in strip],
        className="regime-strip d-inline-block align-middle",
        title="Last 25 sessions (oldest left)",
    )


def _pct_item(label: str, value: Any) -> html.Span:
    color = FLAT if value is None else (UP if value >= 0 else DOWN)
    return html.Span(
        [f"{label} ", html.B(_pct(value), style={"color": color})],
        className="me-3",
    )


def _index_block(entry: dict[str, Any]) -> html.Div:
    regime = entry.get("regime")
    if entry.get("reason"):
        return html.Div(
            f"{entry['symbol']}: {entry['reason']}", className="text-body-secondary"
        )
    badge = dbc.Badge(
        regime or f"no regime ({entry.get('sessions', 0)} sessions; needs 200)",
        color=REGIME_COLORS.get(regime, "secondary"),
        className="me-2 regime-badge",
    )
    dates = entry.get("distribution_dates") or []
    ftd = entry.get("follow_through_day")
    since = entry.get("regime_since")
    rally = entry.get("rally_day")
    details = [
        html.Span(
            f"{entry.get('distribution_days', 0)} distribution days",
            title=", ".join(dates) or "none in the last 25 sessions",
            className="me-3 regime-dd-count",
        ),
        html.Span(
            f"follow-through day {ftd}" if ftd else "no follow-through day",
            className="me-3",
        ),
    ]
    if since:
        details.append(html.Span(f"since {since}", className="me-3"))
    if rally:
        details.append(html.Span(f"rally attempt day {rally}", className="me-3"))
    return html.Div(
        [
            html.Div(
                [
                    html.B(entry["symbol"], className="me-2"),
                    badge,
                    regime_strip(entry.get("strip") or []),
                ],
                className="d-flex flex-wrap align-items-center gap-1",
            ),
            html.Div(
                [
                    *details,
                    _pct_item("vs EMA21", entry.get("close_vs_ema21_pct")),
                    _pct_item("vs SMA50", entry.get("close_vs_sma50_pct")),
                    _pct_item("vs SMA200", entry.get("close_vs_sma200_pct")),
                    html.Small(
                        f"session {entry.get('session')} · "
                        f"{entry.get('sessions', 0):,} sessions",
                        className="text-body-secondary",
                    ),
                ],
                className="small mt-1",
            ),
        ],
        className="regime-index mb-2",
        id=f"regime-{entry['symbol'].lower()}",
    )


def _legend_box(fill: str, edge: str, width: int = 1) -> html.Span:
    style = {**BOX, "width": "10px", "height": "10px", "background": fill}
    return html.Span(style={**style, "border": f"{width}px solid {edge}"})


def regime_body(answer: dict[str, Any]) -> list:
    """Render the regime answer: a block per index, SPY first."""
    indexes = answer.get("indexes") or []
    title = html.Div(
        [
            html.Span("Market regime", className="fw-semibold me-2"),
            html.Small(
                [
                    "last 25 sessions: ",
                    _legend_box(DOWN, DOWN),
                    " distribution day · ",
                    _legend_box("transparent", DOWN, 2),
                    " no longer counting · ",
                    _legend_box(UP, UP),
                    " follow-through day · see Methodology",
                ],
                className="text-body-secondary regime-legend",
            ),
        ],
        className="mb-1",
    )
    return [title, *[_index_block(e) for e in indexes]]

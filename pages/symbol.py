"""Symbol (/symbol/<SYM>): candles (1-min, daily, weekly), MAs, stages, RS, key figures.

The 1-minute chart at "now" is live: when the data version moves, the poll
callback sends a `Patch` that rewrites the last candle and appends new ones,
instead of the whole figure.
"""

from __future__ import annotations

import re
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate

from components.cards import empty_state, error_state, key_figures, origin_badges
from components.controls import DEFAULT_UNIVERSE, NOW, controls_bar
from components.layout import graph, padded_card
from components.symbol_chart import intraday_patch, symbol_figure
from components.theme import empty_figure
from dashapp.market import BadRequest, market_state, queries
from dashapp.market.availability import note_db_error
from pages._common import (
    control_inputs,
    database_banner,
    poll_components,
    register_url_sync,
    render_view,
    view_key,
    view_params,
)

PAGE = "symbol"
INTERVAL_LABELS = {"1m": "1 min", "D": "Daily", "W": "Weekly"}
DEFAULT_INTERVAL = "D"
SYMBOL_RE = re.compile(r"^[A-Z0-9.\-]{1,12}$")
dash.register_page(
    __name__,
    path_template="/symbol/<symbol>",
    name="Symbol",
    nav=False,
    order=60,
    title=lambda symbol=None, **_k: f"TickStock — {symbol or 'Symbol'}",
)


def clean_symbol(value: Any) -> str:
    """Return the upper-cased symbol, or "" when it is not a plausible ticker."""
    text = str(value or "").strip().upper()
    return text if SYMBOL_RE.match(text) else ""


def layout(
    symbol: str = "SPY",
    universe: str = DEFAULT_UNIVERSE,
    as_of: str = NOW,
    interval: str = DEFAULT_INTERVAL,
    poll_ms: int | None = None,
    **_kwargs: Any,
) -> html.Div:
    """Return the Symbol page skeleton for one ticker."""
    sym = clean_symbol(symbol)
    interval = interval if interval in INTERVAL_LABELS else DEFAULT_INTERVAL
    picker = dbc.RadioItems(
        id="symbol-interval",
        options=[{"label": v, "value": k} for k, v in INTERVAL_LABELS.items()],
        value=interval,
        inline=True,
        className="small",
    )
    return html.Div(
        [
            dcc.Store(id="symbol-name", data=sym),
            html.Div(
                [
                    html.H2(
                        sym or str(symbol)[:12],
                        id="symbol-title",
                        className="h4 mb-0 me-3",
                    ),
                    html.Div(id="symbol-subtitle", className="me-3"),
                    html.Div(id="symbol-status", className="page-status small"),
                ],
                className="d-flex flex-wrap align-items-baseline gap-2 mb-2",
            ),
            controls_bar(PAGE, universe, as_of, extra=[picker]),
            html.Div(id="symbol-figures", className="mb-2"),
            padded_card(
                graph("symbol-chart", 640, {"displaylogo": False, "scrollZoom": False})
            ),
            poll_components(PAGE, poll_ms),
        ]
    )


def _rating(universe: str, as_of: str, symbol: str) -> tuple[Any, Any]:
    try:
        rankings = market_state(universe, as_of).rankings
    except BadRequest:
        return None, None
    if rankings.empty or "symbol" not in rankings:
        return None, None
    row = rankings[rankings["symbol"] == symbol]
    if row.empty:
        return None, None
    return row["rs_rating"].iloc[0], row.get("rs_new_high", [None]).iloc[0]


def _subtitle(info: dict | None) -> list:
    if not info:
        return []
    bits = [html.Span(info.get("name") or "", className="me-2")]
    for key in ("sector", "sub_industry"):
        if info.get(key):
            bits.append(
                dbc.Badge(info[key], color="light", text_color="dark", className="me-1")
            )
    if info.get("kind") == "etf":
        bits.append(dbc.Badge("ETF", color="info", className="me-1"))
    return bits


def build_symbol(universe: str, as_of: str, symbol: str, interval: str) -> tuple:
    """Render title, key figures, chart and the live-chart bookkeeping for one view."""
    blank = {"n": 0, "last_x": None, "session": None}
    if not symbol:
        msg = "Not a ticker symbol"
        return error_state(msg, "Unknown symbol"), [], None, empty_figure(msg), blank
    info = queries.symbol_info(symbol)
    chart = queries.symbol_chart(symbol, interval, as_of)
    daily = chart if interval != "1m" else queries.symbol_chart(symbol, "D", as_of)
    if info is None and daily.bars.empty:
        msg = f"{symbol} is not a known symbol and has no stored bars"
        return error_state(msg, "Unknown symbol"), [], None, empty_figure(msg), blank
    rating, new_high = _rating(universe, as_of, symbol)
    figure = symbol_figure(
        symbol,
        chart.bars,
        interval,
        chart.mas,
        chart.stage_runs,
        chart.rs,
        chart.mansfield,
    )
    status = origin_badges(queries.data_origins())
    label = "live" if as_of == NOW else as_of
    session = f" · session {chart.session}" if chart.session else ""
    status.append(html.Small(f"as of {label}{session}"))
    if daily.bars.empty:
        status.append(empty_state())
    figures = key_figures(daily.figures, rating, new_high) if daily.figures else None
    bars = chart.bars
    meta = {
        "n": int(len(bars)),
        "last_x": None if bars.empty else str(bars["x"].iloc[-1])[:16],
        "session": None if chart.session is None else chart.session.isoformat(),
    }
    return status, _subtitle(info), figures, figure, meta


def _live_update(params: dict, last: dict) -> tuple:
    """Return outputs that patch the live 1-minute chart (or raise to skip)."""
    key = view_key(PAGE, params)
    if key == last.get("key"):
        raise PreventUpdate
    session = queries.intraday_session(NOW)
    if session is None or session.isoformat() != last.get("session"):
        return ()  # a new session: draw it from scratch
    new = queries.intraday_since(params["symbol"], session, last.get("last_x"))
    patch, count, last_x = intraday_patch(
        new, int(last.get("n") or 0), last.get("last_x")
    )
    store = {**last, "key": key, "n": count, "last_x": last_x}
    return no_update, no_update, no_update, patch, store


def _base(params: dict) -> str:
    return "&".join(f"{k}={params[k]}" for k in sorted(params))


@callback(
    Output("symbol-status", "children"),
    Output("symbol-subtitle", "children"),
    Output("symbol-figures", "children"),
    Output("symbol-chart", "figure"),
    Output("symbol-version", "data"),
    Input("symbol-poll", "n_intervals"),
    *control_inputs(PAGE),
    Input("symbol-interval", "value"),
    State("symbol-name", "data"),
    State("symbol-version", "data"),
)
def refresh_symbol(_n, universe, session, time_, interval, symbol, last):
    """Redraw the chart on a new data version; patch it when live at 1 minute."""
    interval = interval if interval in INTERVAL_LABELS else DEFAULT_INTERVAL
    params = view_params(
        universe, session, time_, symbol=clean_symbol(symbol), interval=interval
    )
    base = _base(params)
    last = last if isinstance(last, dict) else {}
    live = interval == "1m" and params["as_of"] == NOW and last.get("base") == base
    if live and last.get("key"):
        try:
            outputs = _live_update(params, last)
        except PreventUpdate:
            raise
        except Exception as exc:  # database down: keep the chart, say so
            shown = database_banner() if note_db_error(exc) else error_state(exc)
            return shown, no_update, no_update, no_update, None
        if outputs:
            return outputs
    status, subtitle, figures, figure, meta, key = render_view(
        PAGE, params, last.get("key"), build_symbol, n_outputs=5
    )
    store = None if key is None else {**meta, "key": key, "base": base}
    return status, subtitle, figures, figure, store


register_url_sync(
    PAGE,
    ["universe", "as_of", "_time", "interval"],
    [*control_inputs(PAGE), Input("symbol-interval", "value")],
    {"universe": DEFAULT_UNIVERSE, "interval": DEFAULT_INTERVAL},
)

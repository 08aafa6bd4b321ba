"""Symbol (/symbol/<SYM>): candles over a range preset, MAs, stages, RS, compare.

Range presets 1D and 5D draw minute bars (across sessions for 5D), 1M-2Y daily
candles and 5Y / Max weekly ones. Up to four other symbols can be compared,
every line indexed to 100 at the first common close. The 1D chart at "now" is
live: when the data version moves, the poll callback sends a `Patch` that
rewrites the last candle and appends new ones, instead of the whole figure.
"""

from __future__ import annotations

import re
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from components.cards import empty_state, error_state, key_figures, origin_badges
from components.controls import DEFAULT_UNIVERSE, NOW, back_link, controls_bar
from components.layout import graph, padded_card
from components.symbol_chart import intraday_patch, symbol_figure
from components.theme import empty_figure
from dashapp.market import BadRequest, market_state, queries
from dashapp.market.asof import live_cap
from dashapp.market.availability import note_db_error
from dashapp.market.compare import MAX_COMPARE, compare_closes
from dashapp.market.search import symbol_suggestions
from dashapp.market.symbol_chart import (
    DEFAULT_RANGE,
    LEGACY_RANGES,
    RANGES,
    chart_for_range,
    range_spec,
)
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
RANGE_LABELS = {key: ("Max" if key == "MAX" else key) for key in RANGES}
LIVE_RANGES = ("1D", "1m")  # one session of minute bars: patched in place
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


def clean_range(value: Any) -> str:
    """Return a range preset ("1D" ... "MAX"); former intervals map to presets."""
    text = str(value or "")
    if text in LEGACY_RANGES:
        return {"1m": "1D", "D": "1Y", "W": "5Y"}[text]
    return text.upper() if text.upper() in RANGES else DEFAULT_RANGE


def clean_compare(value: Any, symbol: str = "") -> list[str]:
    """Return up to four distinct tickers (a list or "A,B" text), not `symbol`."""
    items = value.split(",") if isinstance(value, str) else list(value or [])
    names = [clean_symbol(v) for v in items]
    unique = [n for n in dict.fromkeys(names) if n and n != symbol]
    return unique[:MAX_COMPARE]


def _range_picker(value: str) -> dbc.RadioItems:
    return dbc.RadioItems(
        id="symbol-range",
        options=[{"label": v, "value": k} for k, v in RANGE_LABELS.items()],
        value=value,
        inline=True,
        className="btn-group btn-group-sm range-presets",
        inputClassName="btn-check",
        labelClassName="btn btn-outline-secondary",
        labelCheckedClassName="active",
    )


def _compare_picker(names: list[str]) -> dcc.Dropdown:
    return dcc.Dropdown(
        id="symbol-compare",
        options=[{"label": n, "value": n} for n in names],
        value=names,
        multi=True,
        placeholder=f"Compare (up to {MAX_COMPARE})…",
        className="symbol-compare",
        debounce=False,
    )


def layout(
    symbol: str = "SPY",
    universe: str = DEFAULT_UNIVERSE,
    as_of: str = NOW,
    interval: str | None = None,
    poll_ms: int | None = None,
    compare: str = "",
    **kwargs: Any,
) -> html.Div:
    """Return the Symbol page skeleton for one ticker."""
    sym = clean_symbol(symbol)
    chosen = clean_range(kwargs.get("range") or interval)
    picker = _range_picker(chosen)
    return html.Div(
        [
            dcc.Store(id="symbol-name", data=sym),
            html.Div(
                [
                    back_link(PAGE),
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
            html.Div(_compare_picker(clean_compare(compare, sym)), className="mb-2"),
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


def build_symbol(
    universe: str, as_of: str, symbol: str, interval: str, compare: str = ""
) -> tuple:
    """Render title, key figures, chart and the live-chart bookkeeping for one view.

    `interval` is a range preset (or a former interval); `compare` holds the
    other symbols as "A,B".
    """
    blank = {"n": 0, "last_x": None, "session": None}
    if not symbol:
        msg = "Not a ticker symbol"
        return error_state(msg, "Unknown symbol"), [], None, empty_figure(msg), blank
    info = queries.symbol_info(symbol)
    chart = chart_for_range(symbol, interval, as_of)
    minute = range_spec(interval)[0] == "1m"
    daily = queries.symbol_chart(symbol, "D", as_of) if minute else chart
    others = clean_compare(compare, symbol)
    closes = compare_closes([symbol, *others], interval, as_of) if others else None
    if info is None and daily.bars.empty:
        msg = f"{symbol} is not a known symbol and has no stored bars"
        return error_state(msg, "Unknown symbol"), [], None, empty_figure(msg), blank
    rating, new_high = _rating(universe, as_of, symbol)
    figure = symbol_figure(
        symbol,
        chart.bars,
        chart.interval,
        chart.mas,
        chart.stage_runs,
        chart.rs,
        chart.mansfield,
        compare=closes,
    )
    status = origin_badges(queries.data_origins())
    label = _as_of_label(as_of, daily.bars)
    session = f" · session {chart.session}" if chart.session else ""
    status.append(html.Small(f"as of {label}{session} · {_shown(chart, minute)}"))
    if closes is not None:
        status.append(_compare_note(closes, others))
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


def _as_of_label(as_of: str, daily_bars: Any) -> str:
    """Return "live" only while the session is open, else the last stored session."""
    if as_of != NOW:
        return as_of
    if daily_bars.empty or live_cap()[1]:
        return "live"
    return f"last session {str(daily_bars['x'].iloc[-1])[:10]} (closed)"


def _shown(chart: Any, minute: bool) -> str:
    """Return what the chart draws: how many bars of which kind."""
    bars = chart.bars
    if bars.empty:
        return "no bars"
    if minute:
        days = bars["x"].astype(str).str[:10].nunique()
        unit = "session" if days == 1 else "sessions"
        return f"{len(bars):,} minute bars over {days} {unit}"
    kind = "weekly" if chart.interval == "W" else "daily"
    return f"{len(bars):,} {kind} bars from {str(bars['x'].iloc[0])[:10]}"


def _compare_note(closes: Any, others: list[str]) -> html.Small:
    if closes.empty:
        return html.Small(
            f" · compare: {', '.join(others)} share no bar with this range",
            className="text-warning ms-1",
        )
    missing = [s for s in others if s in closes and closes[s].isna().all()]
    first = str(closes.index[0])
    text = f" · indexed to 100 at {first} (first common close)"
    if missing:
        text += f"; no bars: {', '.join(missing)}"
    return html.Small(text, className="ms-1 compare-note")


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
    Input("symbol-range", "value"),
    State("symbol-name", "data"),
    State("symbol-version", "data"),
    Input("symbol-compare", "value"),
)
def refresh_symbol(_n, universe, session, time_, interval, symbol, last, compare=None):
    """Redraw the chart on a new data version; patch it when live at 1 minute."""
    interval = interval if interval in LEGACY_RANGES else clean_range(interval)
    sym = clean_symbol(symbol)
    params = view_params(
        universe,
        session,
        time_,
        symbol=sym,
        interval=interval,
        compare=",".join(clean_compare(compare, sym)),
    )
    base = _base(params)
    last = last if isinstance(last, dict) else {}
    live = (
        interval in LIVE_RANGES
        and not params["compare"]
        and params["as_of"] == NOW
        and last.get("base") == base
    )
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


@callback(
    Output("symbol-compare", "options"),
    Input("symbol-compare", "search_value"),
    State("symbol-compare", "value"),
    prevent_initial_call=True,
)
def suggest_compare(text, chosen):
    """Offer symbols matching the typed text; keep the chosen ones listed."""
    if not text:
        raise PreventUpdate
    kept = [{"label": s, "value": s} for s in clean_compare(chosen)]
    found = symbol_suggestions(text) if len(kept) < MAX_COMPARE else []
    return kept + [o for o in found if o["value"] not in set(chosen or [])]


@callback(
    Output("nav-symbol-search", "options"),
    Input("nav-symbol-search", "search_value"),
    prevent_initial_call=True,
)
def suggest_symbols(text):
    """Offer symbols whose ticker starts with, or company name holds, the text."""
    if not text or ctx.triggered_id is None:
        raise PreventUpdate
    return symbol_suggestions(text)


register_url_sync(
    PAGE,
    ["universe", "as_of", "_time", "range", "compare"],
    [
        *control_inputs(PAGE),
        Input("symbol-range", "value"),
        Input("symbol-compare", "value"),
    ],
    {"universe": DEFAULT_UNIVERSE, "range": DEFAULT_RANGE, "compare": ""},
)

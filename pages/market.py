"""Market (/): session, freshness, index cards, breadth, leaders, sector treemap.

For analysts only: what the database holds and the universe list live on
/admin. Each panel is one layout element filled by `refresh_market`.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, clientside_callback, dcc, html

from components.cards import (
    breadth_tiles,
    empty_state,
    freshness_line,
    index_card,
    session_badge,
    snapshot_line,
)
from components.controls import DEFAULT_UNIVERSE, NOW, controls_bar, page_header
from components.figures import gauges_figure, treemap_figure
from components.leaders import leaders_table, top_leaders
from components.theme import WINDOW_LABELS
from dashapp.market import market_state, queries
from pages._common import (
    control_inputs,
    counted_line,
    link_plot_to_symbol,
    poll_components,
    register_url_sync,
    render_view,
    view_params,
)
from pages._highs_lows import highs_lows_section
from pages._regime import regime_card

PAGE = "market"
dash.register_page(
    __name__, path="/", name="Market", order=0, title="TickStock — Market"
)

TREEMAP_WINDOWS = ("ret_1d", "ret_5d", "ret_21d", "ret_63d", "ret_ytd")
DEFAULT_WINDOW = "ret_1d"


def _card(header: Any, body: Any, **kwargs: Any) -> dbc.Card:
    return dbc.Card(
        [dbc.CardHeader(header), dbc.CardBody(body, **kwargs)], className="h-100"
    )


def layout(
    universe: str = DEFAULT_UNIVERSE,
    as_of: str = NOW,
    window: str = DEFAULT_WINDOW,
    poll_ms: int | None = None,
    **_kwargs: Any,
) -> html.Div:
    """Return the Market page skeleton; the poll callback fills it."""
    window = window if window in TREEMAP_WINDOWS else DEFAULT_WINDOW
    window_picker = dbc.RadioItems(
        id="market-window",
        options=[{"label": WINDOW_LABELS[w], "value": w} for w in TREEMAP_WINDOWS],
        value=window,
        inline=True,
        className="small",
        inputClassName="me-1",
    )
    return html.Div(
        [
            page_header("Market", PAGE),
            controls_bar(PAGE, universe, as_of),
            regime_card(),
            html.Div(
                [
                    html.Div(id="market-clock", className="d-inline"),
                    html.Small(id="market-age", className="me-2"),
                ],
                className="mb-2",
            ),
            dbc.Row(id="market-indices", className="g-2 mb-3"),
            dbc.Row(
                [
                    dbc.Col(
                        _card(
                            "Breadth",
                            dcc.Graph(
                                id="market-gauges",
                                config={"displayModeBar": False},
                                style={"height": "210px"},
                            ),
                            className="p-1",
                        ),
                        xs=12,
                        lg=6,
                        className="mb-2",
                    ),
                    dbc.Col(dbc.Row(id="market-breadth", className="g-2"), xs=12, lg=6),
                ],
                className="g-2 mb-2",
            ),
            # Lists: leaders (and further lists as more columns of this row).
            dbc.Row(
                [
                    dbc.Col(
                        _card("Leaders (RS rating)", html.Div(id="market-leaders")),
                        xs=12,
                        lg=6,
                        className="mb-2",
                    ),
                    dbc.Col(highs_lows_section(), xs=12, lg=6, className="mb-2"),
                ],
                id="market-lists",
                className="g-2",
            ),
            dbc.Card(
                [
                    dbc.CardHeader(
                        html.Div(
                            [
                                html.Span(
                                    "Sectors → stocks (size: $ volume, colour: "
                                    "return; each sector's largest names, the "
                                    "rest as one tile)"
                                ),
                                window_picker,
                            ],
                            className="d-flex flex-wrap justify-content-between gap-2",
                        )
                    ),
                    dbc.CardBody(
                        dcc.Loading(
                            dcc.Graph(
                                id="market-treemap",
                                config={"displayModeBar": False},
                                style={"height": "520px"},
                            ),
                            delay_show=400,
                        ),
                        className="p-1",
                    ),
                ],
                className="mb-3",
            ),
            dcc.Store(id="market-newest"),
            poll_components(PAGE, poll_ms),
        ]
    )


def build_market(
    universe: str, as_of: str, window: str, clock: str, feed: str
) -> tuple:
    """Render every Market output for one universe / as-of / data version."""
    state = market_state(universe, as_of)
    fresh = queries.freshness()
    rankings = state.rankings
    breadth = state.breadth
    last = breadth.iloc[-1].to_dict() if len(breadth) else {}
    quotes = queries.index_quotes(as_of)
    cards = [dbc.Col(index_card(q), xs=6, md=3) for q in quotes]
    priced = (
        rankings[rankings[window].notna()] if window in rankings else rankings.iloc[:0]
    )
    if priced.empty:
        treemap = treemap_figure(None)
    else:
        dv = queries.dollar_volume(priced["symbol"].tolist(), as_of)
        treemap = treemap_figure(priced, dv, window)
    status = [*snapshot_line(state, queries.is_demo()), *counted_line(state, rs=True)]
    ranked = 0 if rankings.empty else int(rankings["rs_rating"].notna().sum())
    leaders = leaders_table(top_leaders(rankings), ranked)
    if state.session is None:
        status = [*status, empty_state()]
    newest = fresh["newest_minute"]
    return (
        status,
        freshness_line(fresh),
        cards,
        gauges_figure(last),
        breadth_tiles(last),
        treemap,
        leaders,
        None if newest is None else newest.isoformat(),
    )


def feed_key(feed: dict) -> str:
    """Return the feed's state as a short key (part of the view key)."""
    if feed.get("failed"):
        return "failed"
    if not feed.get("running"):
        return "off"
    return "up" if feed.get("connected") else "down"


@callback(
    Output("market-status", "children"),
    Output("market-clock", "children"),
    Output("market-indices", "children"),
    Output("market-gauges", "figure"),
    Output("market-breadth", "children"),
    Output("market-treemap", "figure"),
    Output("market-leaders", "children"),
    Output("market-newest", "data"),
    Output("market-version", "data"),
    Input("market-poll", "n_intervals"),
    *control_inputs(PAGE),
    Input("market-window", "value"),
    State("market-version", "data"),
)
def refresh_market(_n, universe, session, time_, window, last):
    """Re-render the Market page when the data version (or a control) moved."""
    try:
        clock = queries.market_clock()
        feed = queries.feed_status()
    except Exception:  # a broken ingest extension must not break the page
        clock, feed = {"session": "closed"}, {}
    feed_state = feed_key(feed)
    params = view_params(universe, session, time_, window=window or DEFAULT_WINDOW)
    params.update(clock=clock["session"], feed=feed_state)
    status, fresh, *rest, key = render_view(
        PAGE, params, last, build_market, n_outputs=8
    )
    clock_line = session_badge(clock)
    if fresh is not dash.no_update:
        clock_line = [*clock_line, *fresh]
    return (status, clock_line, *rest, key)


# The age of the newest bar ticks in the browser: no server work per second.
clientside_callback(
    """
    function(_n, newest) {
        if (!newest) { return ''; }
        var age = (Date.now() - Date.parse(newest)) / 1000;
        var text = age < 120 ? Math.round(age) + ' s' : age < 7200 ?
            Math.round(age / 60) + ' min' : age < 172800 ?
            Math.round(age / 3600) + ' h' : Math.round(age / 86400) + ' days';
        return 'newest bar ' + text + ' ago';
    }
    """,
    Output("market-age", "children"),
    Input("market-poll", "n_intervals"),
    Input("market-newest", "data"),
)
link_plot_to_symbol("market-treemap")
register_url_sync(
    PAGE,
    ["universe", "as_of", "_time", "window"],
    [*control_inputs(PAGE), Input("market-window", "value")],
    {"universe": DEFAULT_UNIVERSE, "window": DEFAULT_WINDOW},
)

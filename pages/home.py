"""Home: what the database holds, per table, refreshed by polling."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html

from components.tables import simple_table
from dashapp import queries

dash.register_page(
    __name__, path="/", name="Market", order=0, title="TickStock — Market"
)

HEADERS = {
    "label": "What",
    "table": "Table",
    "rows": "Rows",
    "symbols": "Symbols",
    "newest": "Newest bar (UTC)",
}
UNIVERSE_HEADERS = {
    "name": "Universe",
    "label": "Description",
    "builtin": "Built-in",
    "members": "Members",
    "with_data": "With daily data",
}


def layout(poll_ms: int = 5000, **_kwargs) -> html.Div:
    """Return the Home page skeleton; data arrives through the poll callback."""
    return html.Div(
        [
            html.H2("Market state", className="h4"),
            dbc.Row(
                [
                    dbc.Col(
                        dbc.Card(
                            [
                                dbc.CardHeader("Database"),
                                dbc.CardBody(id="home-db", children="Loading…"),
                            ]
                        ),
                        lg=7,
                    ),
                    dbc.Col(
                        dbc.Card(
                            [
                                dbc.CardHeader("Universes"),
                                dbc.CardBody(id="home-universes", children="Loading…"),
                            ]
                        ),
                        lg=5,
                    ),
                ],
                className="g-3",
            ),
            dcc.Interval(id="home-poll", interval=poll_ms),
        ]
    )


@callback(
    Output("home-db", "children"),
    Output("home-universes", "children"),
    Input("home-poll", "n_intervals"),
)
def refresh_home(_n):
    """Render the per-table overview and universe counts."""
    try:
        overview = queries.database_overview()
        unis = queries.universes_overview()
    except Exception as exc:  # database down: say so, keep polling
        msg = dbc.Alert(f"Database unavailable: {type(exc).__name__}", color="danger")
        return msg, msg
    return (
        simple_table(overview, HEADERS, id="home-db-table"),
        simple_table(unis, UNIVERSE_HEADERS, id="home-universes-table"),
    )

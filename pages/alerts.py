"""Alerts (/alerts): your fired alerts, your alerts and watchlists, create/delete.

The navbar bell links here and shows how many fired alerts are unseen; opening
this page marks them seen.
"""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, ctx, dcc, html

from analytics.alerts import CONDITIONS
from components.tables import simple_table
from dashapp.market import alerts_page as q

dash.register_page(
    __name__, path="/alerts", name="Alerts", order=90, nav=False,
    title="TickStock — Alerts",
)  # fmt: skip
REFRESH_MS = 30_000


def _form(prefix: str, fields: list, buttons: list) -> dbc.Row:
    cols = [dbc.Col(f, md=True) for f in fields]
    cols += [dbc.Col(b, md="auto") for b in buttons]
    return dbc.Row(cols, className="g-2 mb-2", id=f"{prefix}-form")


def layout(**_kwargs) -> html.Div:
    """Return the alerts page."""
    conditions = [{"label": c, "value": c} for c in CONDITIONS]
    alert_form = _form(
        "alerts",
        [
            dbc.Input(id="alerts-symbol", placeholder="Symbol", size="sm"),
            dcc.Dropdown(
                conditions, CONDITIONS[0], id="alerts-condition", clearable=False
            ),
            dbc.Input(id="alerts-value", placeholder="Value", size="sm"),
            dbc.Input(id="alerts-delete-id", placeholder="Alert id", size="sm"),
        ],
        [
            dbc.Button("Add alert", id="alerts-add", size="sm"),
            dbc.Button("Delete", id="alerts-delete", size="sm", color="secondary"),
        ],
    )
    list_form = _form(
        "watchlists",
        [
            dbc.Input(id="watchlists-name", placeholder="Watchlist name", size="sm"),
            dbc.Input(id="watchlists-symbols", placeholder="AAPL MSFT …", size="sm"),
        ],
        [
            dbc.Button("Save list", id="watchlists-save", size="sm"),
            dbc.Button("Delete", id="watchlists-delete", size="sm", color="secondary"),
        ],
    )
    return html.Div(
        [
            html.H2("Alerts", className="h4"),
            html.Div(id="alerts-status", className="small mb-2"),
            dbc.Card([dbc.CardHeader("Fired"), dbc.CardBody(id="alerts-events")],
                     className="mb-3"),
            dbc.Card([dbc.CardHeader("Your alerts"),
                      dbc.CardBody([alert_form, html.Div(id="alerts-table")])],
                     className="mb-3"),
            dbc.Card([dbc.CardHeader("Your watchlists (universe=watchlist:NAME)"),
                      dbc.CardBody([list_form, html.Div(id="watchlists-table")])]),
            dcc.Interval(id="alerts-poll", interval=REFRESH_MS),
        ]
    )  # fmt: skip


@callback(
    Output("alerts-status", "children"),
    Output("alerts-events", "children"),
    Output("alerts-table", "children"),
    Output("watchlists-table", "children"),
    Input("alerts-poll", "n_intervals"),
    Input("alerts-add", "n_clicks"),
    Input("alerts-delete", "n_clicks"),
    Input("watchlists-save", "n_clicks"),
    Input("watchlists-delete", "n_clicks"),
    State("alerts-symbol", "value"),
    State("alerts-condition", "value"),
    State("alerts-value", "value"),
    State("alerts-delete-id", "value"),
    State("watchlists-name", "value"),
    State("watchlists-symbols", "value"),
)
def refresh(_n, _add, _delete, _save, _drop, symbol, condition, value, alert_id,
            name, symbols):  # fmt: skip
    """Apply the clicked action, then show the user's events, alerts and lists."""
    actions = {
        "alerts-add": lambda: q.add_alert(symbol, condition, value),
        "alerts-delete": lambda: q.remove_alert(alert_id),
        "watchlists-save": lambda: q.save_watchlist(name, symbols),
        "watchlists-delete": lambda: q.remove_watchlist(name),
    }
    status = ""
    if ctx.triggered_id in actions:
        ok, message = actions[ctx.triggered_id]()
        status = html.Span(message, className="text-success" if ok else "text-danger")
    events = q.my_events()
    shown = (
        simple_table(events) if len(events)
        else html.Small("No alert has fired yet.", className="text-muted")
    )  # fmt: skip
    return status, shown, simple_table(q.my_alerts()), simple_table(q.my_watchlists())

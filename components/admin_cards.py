"""The Admin page's cards: users, tokens, universes, jobs, ingest, data health, data.

Layout only (inputs, buttons, empty table slots); pages/admin.py fills them.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html


def card(title: str, *body) -> dbc.Card:
    """Return a card with a header and a body of `body`."""
    return dbc.Card([dbc.CardHeader(title), dbc.CardBody(list(body))], className="mb-3")


def users_card() -> dbc.Card:
    """Return the users card: table and the create / change form."""
    return card(
        "Users",
        html.Div(id="admin-users-table"),
        dbc.Row(
            [
                dbc.Col(dbc.Input(id="admin-user-name", placeholder="username"), md=3),
                dbc.Col(
                    dbc.Input(
                        id="admin-user-password",
                        type="password",
                        placeholder="password (12+ chars)",
                        autoComplete="new-password",
                    ),
                    md=3,
                ),
                dbc.Col(
                    dbc.Select(
                        id="admin-user-role",
                        options=[{"label": r, "value": r} for r in ("user", "admin")],
                        value="user",
                    ),
                    md=2,
                ),
                dbc.Col(
                    dbc.Select(
                        id="admin-user-action",
                        options=[
                            {"label": "Create user", "value": "create"},
                            {"label": "Set role", "value": "set-role"},
                            {"label": "Disable", "value": "disable"},
                            {"label": "Enable", "value": "enable"},
                            {"label": "Reset password", "value": "reset-password"},
                        ],
                        value="create",
                    ),
                    md=2,
                ),
                dbc.Col(dbc.Button("Apply", id="admin-user-apply", n_clicks=0), md=2),
            ],
            className="g-2 mt-2",
        ),
        html.Div(id="admin-user-result", className="mt-2"),
    )


def tokens_card() -> dbc.Card:
    """Return the API tokens card: table, issue and revoke."""
    return card(
        "API tokens",
        html.Div(id="admin-tokens-table"),
        dbc.Row(
            [
                dbc.Col(
                    dbc.Input(id="admin-token-name", placeholder="token name"), md=3
                ),
                dbc.Col(
                    dbc.Input(
                        id="admin-token-user", placeholder="owner (default: you)"
                    ),
                    md=3,
                ),
                dbc.Col(dbc.Button("Issue", id="admin-token-issue", n_clicks=0), md=2),
                dbc.Col(
                    dbc.Input(
                        id="admin-token-id",
                        type="number",
                        min=1,
                        placeholder="token id",
                    ),
                    md=2,
                ),
                dbc.Col(
                    dbc.Button(
                        "Revoke", id="admin-token-revoke", color="danger", n_clicks=0
                    ),
                    md=2,
                ),
            ],
            className="g-2 mt-2",
        ),
        html.Div(id="admin-token-result", className="mt-2"),
    )


def universes_card() -> dbc.Card:
    """Return the universes card: table and the member editor."""
    return card(
        "Universes",
        html.Div(id="admin-universes-table"),
        dbc.Row(
            [
                dbc.Col(dbc.Input(id="admin-universe-name", placeholder="name"), md=3),
                dbc.Col(
                    dbc.Input(id="admin-universe-label", placeholder="description"),
                    md=5,
                ),
                dbc.Col(
                    dbc.Button("Save members", id="admin-universe-save", n_clicks=0),
                    md=2,
                ),
                dbc.Col(
                    dbc.Button(
                        "Delete", id="admin-universe-delete", color="danger", n_clicks=0
                    ),
                    md=2,
                ),
            ],
            className="g-2 mt-2",
        ),
        dbc.Textarea(
            id="admin-universe-symbols",
            placeholder="symbols, separated by spaces, commas or new lines",
            className="mt-2",
            rows=3,
        ),
        dcc.Upload(
            id="admin-universe-upload",
            children=html.Div("Import a symbol list (text/CSV file: first column)"),
            className="border rounded p-2 mt-2 text-center small",
            max_size=1_000_000,
        ),
        html.Div(id="admin-universe-result", className="mt-2"),
    )


def jobs_card() -> dbc.Card:
    """Return the history jobs card: start form and job table."""
    return card(
        "History jobs",
        dbc.Row(
            [
                dbc.Col(
                    dbc.Select(
                        id="admin-job-kind",
                        value="backfill",
                        options=[
                            {"label": "Massive backfill", "value": "backfill"},
                            {"label": "File import", "value": "import"},
                        ],
                    ),
                    md=2,
                ),
                dbc.Col(
                    dbc.Input(
                        id="admin-job-days",
                        type="number",
                        min=1,
                        max=5000,
                        placeholder="days (backfill)",
                    ),
                    md=2,
                ),
                dbc.Col(
                    dbc.Input(
                        id="admin-job-universe", placeholder="universe (backfill)"
                    ),
                    md=2,
                ),
                dbc.Col(
                    dbc.Checkbox(
                        id="admin-job-minute", label="minute bars", value=False
                    ),
                    md=2,
                ),
                dbc.Col(
                    dbc.Input(
                        id="admin-job-path",
                        placeholder="file in the data directory (import)",
                    ),
                    md=2,
                ),
                dbc.Col(dbc.Button("Start", id="admin-job-start", n_clicks=0), md=2),
            ],
            className="g-2",
        ),
        html.Div(id="admin-job-result", className="mt-2"),
        html.Div(id="admin-jobs-table", className="mt-2"),
    )


def ingest_card() -> dbc.Card:
    """Return the ingest status card."""
    return card("Ingest status", html.Div(id="admin-ingest"))


def health_card() -> dbc.Card:
    """Return the data-health card (checked on demand)."""
    return card(
        "Data health",
        dbc.Button("Check", id="admin-health-check", n_clicks=0, size="sm"),
        html.Div(id="admin-health", className="mt-2"),
    )


def data_card() -> dbc.Card:
    """Return the stored-data card: rows, symbols and newest bar per table."""
    return card("Stored data", html.Div(id="admin-db", children="Loading…"))

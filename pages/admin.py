"""Admin (admin role only): users, tokens, universes, jobs, ingest, data health, data.

The layout and every callback are guarded with dash-auth groups, so a non-admin
gets "forbidden" and callbacks that do nothing, even if they craft the requests.
Every action is written to the audit log (`tickstock.audit`).
"""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, dcc, html, no_update
from dash_auth import protected, protected_callback

from components.admin_cards import (
    data_card,
    health_card,
    ingest_card,
    jobs_card,
    tokens_card,
    universes_card,
    users_card,
)
from components.tables import simple_table
from dashapp.market import admin
from dashapp.market.admin import ADMIN, AuthError

dash.register_page(
    __name__,
    path="/admin",
    name="Admin",
    order=90,
    title="TickStock — Admin",
    roles=[ADMIN],
)

ADMIN_ONLY = [ADMIN]
REFRESH_MS = 10_000


def _forbidden() -> dbc.Alert:
    return dbc.Alert(
        "This page is for administrators.", color="warning", id="admin-forbidden"
    )


@protected(_forbidden, groups=ADMIN_ONLY)
def layout(**_kwargs) -> html.Div:
    """Return the admin page (administrators only)."""
    return html.Div(
        [
            html.H2("Administration", className="h4"),
            dbc.Row(
                [
                    dbc.Col(
                        [users_card(), tokens_card(), health_card(), data_card()], lg=7
                    ),
                    dbc.Col([ingest_card(), universes_card(), jobs_card()], lg=5),
                ]
            ),
            dcc.Interval(id="admin-poll", interval=REFRESH_MS),
        ]
    )


@protected_callback(
    Output("admin-users-table", "children"),
    Output("admin-tokens-table", "children"),
    Output("admin-universes-table", "children"),
    Output("admin-jobs-table", "children"),
    Output("admin-ingest", "children"),
    Input("admin-poll", "n_intervals"),
    Input("admin-user-result", "children"),
    Input("admin-token-result", "children"),
    Input("admin-universe-result", "children"),
    Input("admin-job-result", "children"),
    groups=ADMIN_ONLY,
)
def refresh_admin(*_triggers):
    """Render users, tokens, universes, jobs and the ingest status."""
    users = simple_table(admin.users_frame(), id="admin-users")
    tokens = simple_table(admin.tokens_frame(), id="admin-tokens")
    universes = simple_table(
        admin.list_universes(), admin.UNIVERSE_HEADERS, id="admin-universes"
    )

    jobs = admin.list_jobs()
    jobs_table = (
        simple_table(pd.DataFrame(jobs), id="admin-jobs") if jobs else "No jobs yet."
    )
    return users, tokens, universes, jobs_table, _ingest_status()


@protected_callback(
    Output("admin-db", "children"),
    Input("admin-poll", "n_intervals"),
    groups=ADMIN_ONLY,
)
def refresh_stored_data(_n):
    """Render what the database holds: rows, symbols and newest bar per table."""
    frame = admin.stored_data_frame()
    return simple_table(frame, admin.DATA_HEADERS, id="admin-db-table")


def _ingest_status():
    service = admin.ingest_service()
    if service is None or not hasattr(service, "health"):
        return dbc.Alert(
            "Live ingest is not running in this process.", color="secondary"
        )
    try:
        health = service.health()
    except Exception as exc:  # show, do not break the page
        return dbc.Alert(
            f"Ingest status unavailable: {type(exc).__name__}", color="danger"
        )
    if not isinstance(health, dict):
        return html.Pre(str(health))
    return simple_table(
        admin.health_rows(health), {"what": "What", "value": "Value"},
        id="admin-ingest-table",
    )  # fmt: skip


@protected_callback(
    Output("admin-health", "children"),
    Input("admin-health-check", "n_clicks"),
    groups=ADMIN_ONLY,
)
def show_data_health(_n_clicks):
    """Render the data-health summary and the symbols with issues."""
    text, issues = admin.data_health_summary()
    table = simple_table(issues, id="admin-health-table") if len(issues) else ""
    return [html.P(text, id="admin-health-summary"), table]


def _result(ok: bool, text: str) -> dbc.Alert:
    color = "success" if ok else "danger"
    return dbc.Alert(text, color=color, className="py-1 mb-0")


@protected_callback(
    Output("admin-user-result", "children"),
    Output("admin-user-password", "value"),
    Input("admin-user-apply", "n_clicks"),
    State("admin-user-name", "value"),
    State("admin-user-password", "value"),
    State("admin-user-role", "value"),
    State("admin-user-action", "value"),
    prevent_initial_call=True,
    groups=ADMIN_ONLY,
)
def apply_user_action(n_clicks, name, password, role, action):
    """Create a user or change one (role, disabled, password)."""
    if not n_clicks:
        return no_update, no_update
    name = (name or "").strip()
    ok, text = admin.change_user(action, name, password or "", role)
    return _result(ok, text), ""


@protected_callback(
    Output("admin-token-result", "children"),
    Input("admin-token-issue", "n_clicks"),
    Input("admin-token-revoke", "n_clicks"),
    State("admin-token-name", "value"),
    State("admin-token-user", "value"),
    State("admin-token-id", "value"),
    prevent_initial_call=True,
    groups=ADMIN_ONLY,
)
def token_action(_issue, _revoke, name, owner, token_id):
    """Issue a token (shown once) or revoke one by id."""
    trigger = dash.ctx.triggered_id
    try:
        if trigger == "admin-token-issue":
            owner = (owner or "").strip() or admin.actor()
            new_id, token = admin.issue_token(owner, (name or "").strip())
            return dbc.Alert(
                [
                    html.Div(
                        f"Token #{new_id} for {owner} "
                        "(copy it now, it is not shown again):"
                    ),
                    html.Code(token, id="admin-new-token"),
                ],
                color="success",
            )
        if trigger == "admin-token-revoke":
            ok, text = admin.revoke_token(token_id)
            return _result(ok, text)
    except AuthError as exc:
        return _result(False, str(exc))
    return no_update


@protected_callback(
    Output("admin-universe-result", "children"),
    Input("admin-universe-save", "n_clicks"),
    Input("admin-universe-delete", "n_clicks"),
    State("admin-universe-name", "value"),
    State("admin-universe-label", "value"),
    State("admin-universe-symbols", "value"),
    State("admin-universe-upload", "contents"),
    prevent_initial_call=True,
    groups=ADMIN_ONLY,
)
def universe_action(_save, _delete, name, label, text, upload):
    """Create/replace a user-defined universe, or delete one."""
    delete = dash.ctx.triggered_id == "admin-universe-delete"
    ok, text = admin.edit_universe(name, label, text, upload, delete)
    return _result(ok, text)


@protected_callback(
    Output("admin-job-result", "children"),
    Input("admin-job-start", "n_clicks"),
    State("admin-job-kind", "value"),
    State("admin-job-days", "value"),
    State("admin-job-universe", "value"),
    State("admin-job-minute", "value"),
    State("admin-job-path", "value"),
    prevent_initial_call=True,
    groups=ADMIN_ONLY,
)
def start_history_job(n_clicks, kind, days, universe, minute, path):
    """Start a backfill or file import in the background."""
    if not n_clicks or kind not in ("backfill", "import"):
        return no_update
    ok, text = admin.start_history_job(kind, days, universe, minute, path)
    return _result(ok, text)

"""Admin (admin role only): users, tokens, universes, history jobs, ingest, data health.

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


def _card(title: str, *body) -> dbc.Card:
    return dbc.Card([dbc.CardHeader(title), dbc.CardBody(list(body))], className="mb-3")


def _users_card() -> dbc.Card:
    return _card(
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


def _tokens_card() -> dbc.Card:
    return _card(
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


def _universes_card() -> dbc.Card:
    return _card(
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


def _jobs_card() -> dbc.Card:
    return _card(
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


def _ingest_card() -> dbc.Card:
    return _card("Ingest status", html.Div(id="admin-ingest"))


@protected(_forbidden, groups=ADMIN_ONLY)
def layout(**_kwargs) -> html.Div:
    """Return the admin page (administrators only)."""
    return html.Div(
        [
            html.H2("Administration", className="h4"),
            dbc.Row(
                [
                    dbc.Col([_users_card(), _tokens_card(), _health_card()], lg=7),
                    dbc.Col([_ingest_card(), _universes_card(), _jobs_card()], lg=5),
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
    universes = simple_table(admin.list_universes(), id="admin-universes")
    jobs = admin.list_jobs()
    jobs_table = (
        simple_table(pd.DataFrame(jobs), id="admin-jobs") if jobs else "No jobs yet."
    )
    return users, tokens, universes, jobs_table, _ingest_status()


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
    rows = [{"what": k, "value": str(v)[:120]} for k, v in health.items()]
    return simple_table(pd.DataFrame(rows), id="admin-ingest-table")


def _health_card() -> dbc.Card:
    return _card(
        "Data health",
        dbc.Button("Check", id="admin-health-check", n_clicks=0, size="sm"),
        html.Div(id="admin-health", className="mt-2"),
    )


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

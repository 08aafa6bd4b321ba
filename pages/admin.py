"""Admin (admin role only): users, tokens, universes, history jobs, ingest, data health.

The layout and every callback are guarded with dash-auth groups, so a non-admin
gets "forbidden" and callbacks that do nothing, even if they craft the requests.
Every action is written to the audit log (`tickstock.audit`).
"""

from __future__ import annotations

import logging
import re

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, dcc, html, no_update
from dash_auth import protected, protected_callback

from components.tables import simple_table
from dashapp import auth
from dashapp.market.context import current_store, extension
from dashapp.store import StoreError

dash.register_page(
    __name__,
    path="/admin",
    name="Admin",
    order=90,
    title="TickStock — Admin",
    roles=[auth.ADMIN],
)

audit = logging.getLogger("tickstock.audit")
ADMIN_ONLY = [auth.ADMIN]
REFRESH_MS = 10_000
SYMBOL_SPLIT = re.compile(r"[\s,;]+")
UNIVERSE_NAME = re.compile(r"^[a-z0-9_\-]{1,64}$")
MAX_SYMBOLS = 5_000
HEALTH_ROWS = 200


def _forbidden() -> dbc.Alert:
    return dbc.Alert(
        "This page is for administrators.", color="warning", id="admin-forbidden"
    )


def _actor() -> str:
    principal = auth.current_principal()
    return principal.username if principal else "?"


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


def _frame_table(rows: list[dict], columns: list[str], table_id: str):
    frame = pd.DataFrame(rows, columns=columns)
    for col in frame.columns:
        if col.endswith("_at") or col == "locked_until":
            frame[col] = frame[col].map(
                lambda v: "" if v is None or pd.isna(v) else str(v)[:19]
            )
    return simple_table(frame, id=table_id)


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
    from dashapp.ops.jobs import list_jobs

    store = current_store()
    users = _frame_table(
        store.list_users(),
        [
            "id",
            "username",
            "role",
            "disabled",
            "failed_logins",
            "locked_until",
            "created_at",
        ],
        "admin-users",
    )
    tokens = _frame_table(
        store.list_tokens(),
        ["id", "name", "user", "created_at", "last_used_at", "revoked_at"],
        "admin-tokens",
    )
    universes = simple_table(store.list_universes(), id="admin-universes")
    jobs = [
        {
            **{
                k: j.get(k)
                for k in ("id", "kind", "status", "user", "message", "error")
            },
            "progress": f"{100 * (j.get('progress') or 0):.0f}%",
            "created": j.get("created_at"),
        }
        for j in list_jobs(store)
    ]
    jobs_table = (
        simple_table(pd.DataFrame(jobs), id="admin-jobs") if jobs else "No jobs yet."
    )
    return users, tokens, universes, jobs_table, _ingest_status()


def _ingest_status():
    service = extension("ingest")
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
    from dashapp.store.datahealth import BIG_MOVE, data_health, issues_frame

    report = data_health(current_store())
    summary = report["summary"]
    text = (
        f"{summary['symbols']} symbols, newest session {report['newest_session']}: "
        f"{summary['with_missing_sessions']} with missing sessions, "
        f"{summary['rescaled']} rescaled, {summary['flagged']} flagged, "
        f"{summary['with_suspect_moves']} with day moves over {BIG_MOVE:.0%}, "
        f"{summary['stale']} stale."
    )
    issues = issues_frame(report).drop(columns=["sources"]).head(HEALTH_ROWS)
    table = simple_table(issues, id="admin-health-table") if len(issues) else ""
    return [html.P(text, id="admin-health-summary"), table]


def _ok(text: str) -> dbc.Alert:
    return dbc.Alert(text, color="success", className="py-1 mb-0")


def _err(text: str) -> dbc.Alert:
    return dbc.Alert(text, color="danger", className="py-1 mb-0")


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
    store = current_store()
    name = (name or "").strip()
    try:
        if action == "create":
            auth.create_user(store, name, password or "", role)
        elif action == "set-role":
            auth.set_role(store, name, role)
        elif action in ("disable", "enable"):
            auth.set_disabled(store, name, action == "disable")
        elif action == "reset-password":
            auth.set_password(store, name, password or "")
        else:
            return _err("unknown action"), ""
    except (auth.AuthError, auth.PasswordRejected) as exc:
        return _err(str(exc)), ""
    audit.info("audit: %s (admin page) %s user %s", _actor(), action, name)
    return _ok(f"{action}: {name} done"), ""


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
    store = current_store()
    trigger = dash.ctx.triggered_id
    try:
        if trigger == "admin-token-issue":
            owner = (owner or "").strip() or _actor()
            new_id, token = auth.issue_token(store, owner, (name or "").strip())
            audit.info("audit: %s (admin page) issued token #%s", _actor(), new_id)
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
            if not isinstance(token_id, int | float) or token_id < 1:
                return _err("give a token id")
            if not auth.revoke_token(store, int(token_id)):
                return _err(f"no token #{int(token_id)}")
            audit.info(
                "audit: %s (admin page) revoked token #%s", _actor(), int(token_id)
            )
            return _ok(f"token #{int(token_id)} revoked")
    except auth.AuthError as exc:
        return _err(str(exc))
    return no_update


def _symbols_from(text: str | None, upload: str | None) -> list[str]:
    import base64

    raw = text or ""
    if upload and "," in upload:
        payload = upload.split(",", 1)[1]
        decoded = base64.b64decode(payload).decode("utf-8", "replace")
        raw += "\n" + "\n".join(line.split(",")[0] for line in decoded.splitlines())
    items = [s.strip().upper() for s in SYMBOL_SPLIT.split(raw) if s.strip()]
    return [s for s in items if s not in ("SYMBOL", "TICKER")]


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
    from dashapp.api.spec import SYMBOL_RE

    store = current_store()
    key = (name or "").strip().lower()
    if not UNIVERSE_NAME.match(key):
        return _err("universe name: 1-64 of a-z 0-9 _ -")
    builtin = store.list_universes()
    if key in set(builtin.loc[builtin["builtin"].astype(bool), "name"]):
        return _err(f"universe {key} is built in")
    if dash.ctx.triggered_id == "admin-universe-delete":
        try:
            found = store.delete_universe(key)
        except StoreError as exc:
            return _err(str(exc))
        audit.info("audit: %s (admin page) deleted universe %s", _actor(), key)
        return _ok(f"deleted {key}") if found else _err(f"no universe {key}")
    symbols = _symbols_from(text, upload)
    bad = [s for s in symbols if not SYMBOL_RE.fullmatch(s)]
    if bad:
        return _err(f"not symbols: {', '.join(bad[:10])}")
    if not symbols or len(symbols) > MAX_SYMBOLS:
        return _err(f"give 1..{MAX_SYMBOLS} symbols")
    count = store.set_universe(key, symbols, label=(label or None))
    audit.info("audit: %s (admin page) set universe %s (%s)", _actor(), key, count)
    return _ok(f"universe {key}: {count} members")


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
    from flask import current_app

    from dashapp.ops.jobs import JobError, start_job

    if not n_clicks or kind not in ("backfill", "import"):
        return no_update
    params: dict = {}
    if kind == "backfill":
        if not isinstance(days, int | float) or not 1 <= days <= 5000:
            return _err("days: 1..5000")
        params = {"days": int(days), "minute": bool(minute)}
        if universe:
            params["universe"] = str(universe).strip().lower()[:200]
    else:
        if not path or "\x00" in path:
            return _err("give a file path on the server")
        params = {
            "path": str(path)[:1024],
            "timeframe": "minute" if minute else "daily",
        }
    try:
        job = start_job(current_app, kind, params, user=_actor())
    except JobError as exc:
        return _err(str(exc))
    return _ok(f"job {job['id']} started")

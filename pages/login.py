"""Login: a plain HTML form (CSRF-protected) that posts to /auth/login."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html
from flask import has_request_context

from dashapp.market import login as auth

dash.register_page(
    __name__, path=auth.LOGIN_PATH, name="Log in", nav=False, title="TickStock — Log in"
)

MESSAGES = {
    "failed": auth.LOGIN_FAILED,
    "expired": "The login form expired. Please try again.",
}


def _field(label: str, name: str, kind: str, autocomplete: str) -> dbc.Row:
    return dbc.Row(
        [
            dbc.Label(label, html_for=f"login-{name}", width=4),
            dbc.Col(
                dbc.Input(
                    id=f"login-{name}",
                    name=name,
                    type=kind,
                    required=True,
                    maxLength=auth.MAX_PASSWORD_LENGTH,
                    autoComplete=autocomplete,
                ),
                width=8,
            ),
        ],
        className="mb-3",
    )


def layout(next: str | None = None, error: str | None = None, **_kwargs) -> html.Div:  # noqa: A002
    """Return the login card (or a note when already logged in)."""
    principal = auth.current_principal() if has_request_context() else None
    if principal is not None and principal.via == "session":
        body = [
            html.P(f"You are logged in as {principal.username} ({principal.role})."),
            dbc.Button("Continue", href=auth.safe_next(next), color="primary"),
        ]
    else:
        token = auth.csrf_token() if has_request_context() else ""
        alert = (
            [dbc.Alert(MESSAGES[error], color="danger", id="login-error")]
            if error in MESSAGES
            else []
        )
        body = [
            *alert,
            html.Form(
                [
                    _field("Username", "username", "text", "username"),
                    _field("Password", "password", "password", "current-password"),
                    dcc.Input(
                        type="hidden",
                        name=auth.CSRF_FIELD,
                        value=token,
                        id="login-csrf",
                    ),
                    dcc.Input(
                        type="hidden",
                        name="next",
                        value=auth.safe_next(next),
                        id="login-next",
                    ),
                    dbc.Button(
                        "Log in", type="submit", color="primary", id="login-submit"
                    ),
                ],
                action=auth.LOGIN_POST,
                method="POST",
                id="login-form",
            ),
        ]
    return dbc.Row(
        dbc.Col(
            dbc.Card([dbc.CardHeader("Log in to TickStock"), dbc.CardBody(body)]),
            md=6,
            lg=4,
        ),
        justify="center",
        className="mt-5",
    )

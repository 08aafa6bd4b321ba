"""The navbar's user menu: role-restricted page links and a logout item."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, dcc, no_update

from dashapp.auth.gate import LOGIN_PATH
from dashapp.auth.sessions import current_principal, end_session


def role_pages(role: str | None) -> list[dict[str, Any]]:
    """Return registered pages restricted by `roles` that `role` may see."""
    pages = [
        p
        for p in dash.page_registry.values()
        if p.get("roles") and role in p["roles"] and p.get("nav", True)
    ]
    return sorted(pages, key=lambda p: p.get("order", 99))


@dash.callback(
    Output("nav-role-links", "children"),
    Output("nav-user", "children"),
    Input("nav-location", "pathname"),
)
def nav_user_menu(_pathname: str | None):
    """Show role-restricted page links and the user menu to a logged-in user."""
    import dash_bootstrap_components as dbc

    principal = current_principal()
    if principal is None:
        return [], []
    links = [
        dbc.NavItem(dbc.NavLink(p["name"], href=p["relative_path"], active="exact"))
        for p in role_pages(principal.role)
    ]
    menu = dbc.DropdownMenu(
        [
            dbc.DropdownMenuItem(f"Role: {principal.role}", header=True),
            dbc.DropdownMenuItem("Log out", id="nav-logout", n_clicks=0),
        ],
        label=principal.username,
        nav=True,
        align_end=True,
        id="nav-user-menu",
    )
    return links, [menu, dcc.Location(id="nav-auth-location", refresh=True)]


@dash.callback(
    Output("nav-auth-location", "href"),
    Input("nav-logout", "n_clicks"),
    prevent_initial_call=True,
)
def nav_logout(n_clicks: int | None):
    """End the session from the navbar and load the login page."""
    if not n_clicks:
        return no_update
    end_session()
    return LOGIN_PATH

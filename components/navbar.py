"""Navbar built from the Dash page registry."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.shortcuts import shortcuts_button, shortcuts_modal

BRAND = "TickStock"
NAVBAR_EXPAND = "xl"


def nav_links(registry: dict | None = None) -> list:
    """Return one NavLink per registered page that asks to be in the navbar."""
    registry = dash.page_registry if registry is None else registry
    pages = sorted(
        # Pages with `roles` are linked only for those roles, by the user-menu
        # callback in dashapp.auth that fills `nav-role-links`.
        (p for p in registry.values() if p.get("nav", True) and not p.get("roles")),
        key=lambda p: p.get("order", 99),
    )
    return [
        dbc.NavItem(dbc.NavLink(p["name"], href=p["relative_path"], active="exact"))
        for p in pages
    ]


def navbar(registry: dict | None = None, **_kwargs) -> dbc.Navbar:
    """Return the top navbar: brand, page links, symbol search, theme toggle.

    The search stays visible when the links fold (phones); it suggests symbols
    by ticker and company name (the callback lives in pages/symbol.py).
    """
    search = html.Div(
        dcc.Dropdown(
            id="nav-symbol-search",
            options=[],
            placeholder="Symbol or company  /",
            searchable=True,
            clearable=True,
            debounce=False,
            className="nav-search-dropdown",
        ),
        className="nav-search order-xl-last ms-auto ms-xl-2 me-2 me-xl-0",
    )
    count = dbc.Badge("", id="nav-alerts-count", color="danger", className="ms-1")
    bell = dbc.NavLink(  # count filled by assets/alerts_bell.js (unseen alerts)
        [html.I(className="bi bi-bell", title="Fired alerts"), count],
        href="/alerts", id="nav-alerts", className="me-2",
    )  # fmt: skip
    toggle = dbc.Switch(
        id="theme-switch", label="Dark", value=False, className="ms-2 mb-0"
    )
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand(BRAND, href="/", className="fw-bold"),
                search,
                dbc.NavbarToggler(id="navbar-toggler"),
                dbc.Collapse(
                    [
                        dbc.Nav(nav_links(registry), navbar=True),
                        dbc.Nav(id="nav-role-links", navbar=True, className="me-auto"),
                        shortcuts_button(),
                        bell,
                        toggle,
                        dbc.Nav(id="nav-user", navbar=True, className="ms-2"),
                    ],
                    id="navbar-collapse",
                    navbar=True,
                ),
                dcc.Location(id="nav-location", refresh="callback-nav"),
                shortcuts_modal(),
            ],
            fluid=True,
        ),
        color="primary",
        dark=True,
        # Below 1200 px (tablets) the links fold behind the toggler; the
        # toggle callback lives in pages/_common.py.
        expand=NAVBAR_EXPAND,
        className="mb-3",
    )

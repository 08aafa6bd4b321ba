"""Keyboard shortcuts: the help dialog (`?`); assets/tickstock-keys.js handles keys."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

# Keys after "g": the page each one opens (assets/tickstock-keys.js holds the same).
GO_KEYS = {
    "m": ("Market", "/"),
    "r": ("Rankings", "/rankings"),
    "s": ("Sectors", "/sectors"),
    "t": ("Stages", "/stages"),
    "b": ("Breadth", "/breadth"),
}


def _row(keys: list[str], what: str) -> html.Tr:
    chips = []
    for i, key in enumerate(keys):
        if i:
            chips.append(" then ")
        chips.append(html.Kbd(key))
    return html.Tr([html.Td(chips, className="text-nowrap pe-3"), html.Td(what)])


def shortcuts_modal() -> dbc.Modal:
    """Return the keyboard-shortcut help dialog (opened with `?`)."""
    rows = [
        _row(["/"], "Search a symbol (ticker or company name)"),
        *[_row(["g", key], f"Go to {name}") for key, (name, _) in GO_KEYS.items()],
        _row(["?"], "Show this help"),
        _row(["Esc"], "Close this help"),
    ]
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle("Keyboard shortcuts")),
            dbc.ModalBody(
                html.Table(html.Tbody(rows), className="table table-sm mb-0"),
                id="shortcuts-body",
            ),
        ],
        id="shortcuts-modal",
        is_open=False,
    )


def shortcuts_button() -> dbc.Button:
    """Return the navbar button that opens the shortcut help."""
    return dbc.Button(
        html.I(className="bi bi-keyboard"),
        id="shortcuts-open",
        color="link",
        size="sm",
        className="nav-shortcuts text-white-50 px-2",
        title="Keyboard shortcuts (?)",
        n_clicks=0,
    )

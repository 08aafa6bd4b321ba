"""Page controls shared by every view: as-of picker and universe picker.

The controls are plain components with pattern-matching ids
(`{"type": "universe", "page": P}`), so one callback fills the options of
every page and the URL query string (`?universe=...&as_of=...`) is the
shareable state: layouts read it, a clientside callback writes it back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

NOW = "now"
DEFAULT_UNIVERSE = "sp500"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^\d{2}:\d{2}$")
# One or more universe names joined by "+"; "watchlist:NAME" is the user's own list.
_UNIVERSE_PART = r"(?:watchlist:)?[a-z0-9_\-]{1,64}"
_UNIVERSE_SPEC = re.compile(rf"^{_UNIVERSE_PART}(?:\+{_UNIVERSE_PART}){{0,7}}$")


def cid(kind: str, page: str) -> dict[str, str]:
    """Return the pattern-matching id of a shared control on a page."""
    return {"type": kind, "page": page}


def split_as_of(as_of: Any) -> tuple[str, str]:
    """Split "YYYY-MM-DD[THH:MM]" into (session or "now", "HH:MM" or "")."""
    text = str(as_of or NOW).strip()
    if text.lower() in ("", NOW):
        return NOW, ""
    day, _, time = text.replace(" ", "T").partition("T")
    if not _DATE.match(day):
        return NOW, ""
    return day, time[:5] if _TIME.match(time[:5]) else ""


def as_of_value(session: Any, time: Any = "") -> str:
    """Join the session and optional minute back into one as-of string."""
    session = str(session or NOW)
    if session == NOW or not _DATE.match(session):
        return NOW
    time = str(time or "").strip()[:5]
    return f"{session}T{time}" if _TIME.match(time) else session


def clean_universe(value: Any) -> str:
    """Return a universe name (lower case) or the default."""
    text = str(value or "").strip().lower()
    return text if _UNIVERSE_SPEC.match(text) else DEFAULT_UNIVERSE


def controls_bar(
    page: str,
    universe: str = DEFAULT_UNIVERSE,
    as_of: str = NOW,
    extra: Sequence[Any] = (),
    show_universe: bool = True,
) -> dbc.Row:
    """Return the universe picker, as-of session + minute pickers and extra controls."""
    session, time = split_as_of(as_of)
    universe = clean_universe(universe)
    cols = []
    if show_universe:
        cols.append(
            dbc.Col(
                dcc.Dropdown(
                    id=cid("universe", page),
                    options=[{"label": universe, "value": universe}],
                    value=universe,
                    clearable=False,
                    searchable=True,
                    className="control-universe",
                ),
                xs=6,
                md=3,
                lg=2,
            )
        )
    session_opts = [{"label": "Now (live)", "value": NOW}]
    if session != NOW:
        session_opts.append({"label": session, "value": session})
    cols.append(
        dbc.Col(
            dcc.Dropdown(
                id=cid("asof", page),
                options=session_opts,
                value=session,
                clearable=False,
                searchable=True,
                className="control-asof",
            ),
            xs=6,
            md=3,
            lg=2,
        )
    )
    cols.append(
        dbc.Col(
            dbc.Input(
                id=cid("time", page),
                type="time",
                value=time,
                debounce=True,
                disabled=session == NOW,
                size="sm",
                className="control-time",
                placeholder="HH:MM ET",
            ),
            xs=4,
            md=2,
            lg=1,
        )
    )
    cols += [c if isinstance(c, dbc.Col) else dbc.Col(c, xs="auto") for c in extra]
    return dbc.Row(cols, className="g-2 align-items-center mb-2 controls-bar")


def url_sync_js(names: Sequence[str], defaults: dict[str, Any]) -> str:
    """Return a clientside function writing the controls into the query string.

    Arguments arrive in `names` order; `as_of` and `_time` merge into one
    `as_of` parameter; values equal to their default are left out.
    """
    return (
        "function(){ return window.dash_clientside.tickstock.syncUrl("
        f"{json.dumps(list(names))}, {json.dumps(defaults)}, arguments); }}"
    )


def back_link(page: str) -> html.Button:
    """Return the "Back" link (shown only when the tab has a previous view)."""
    return html.Button(
        [html.I(className="bi bi-arrow-left me-1"), "Back"],
        id=cid("back", page),
        className="btn btn-link btn-sm p-0 me-2 back-link",
        title="Back to the previous view",
        style={"display": "none"},
    )


def page_header(title: str, page: str, subtitle: str | None = None) -> html.Div:
    """Return the page title row with a status area filled by the poll callback."""
    return html.Div(
        [
            html.Div(
                [
                    back_link(page),
                    html.H2(title, className="h4 mb-0 me-3"),
                    html.Div(id=f"{page}-status", className="page-status small"),
                ],
                className="d-flex flex-wrap align-items-baseline gap-2",
            ),
            html.P(subtitle, className="text-body-secondary small mb-2")
            if subtitle
            else None,
        ],
        className="mb-1",
    )

"""Shared page plumbing: poll components, version-keyed rendering, control options.

Every live page follows one pattern: a `dcc.Interval` ticks, the callback
computes the view key (page + params + data version) and returns `no_update`
(HTTP 204) when it equals the key of what the browser already shows (kept in a
small `dcc.Store`). Otherwise it renders through the app cache, so each view is
built once per data version and shared by every tab.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from dash import MATCH, Input, Output, State, callback, clientside_callback, dcc, html
from dash.exceptions import PreventUpdate

from components.cards import error_state
from components.controls import NOW, as_of_value, cid, clean_universe, url_sync_js
from components.grid_dense import grid_ids
from components.grid_state import url_keys
from dashapp.market import BadRequest, queries
from dashapp.market.availability import database_available, note_db_error
from dashapp.market.context import current_store
from dashapp.market.universe import has_watchlist, scoped_universe, watchlist_options

log = logging.getLogger(__name__)

DEFAULT_POLL_MS = 5000
DB_BANNER_TEXT = "Database unavailable — retrying"
SESSION_OPTIONS_LIMIT = 400


def counted_line(state: Any, rs: bool = False) -> list:
    """Return "N / T members with data" (and the RS universe) for a status line."""
    from dashapp.market.counts import member_counts, rs_universe

    rankings = state.frames.get("rankings") if hasattr(state, "frames") else None
    members = member_counts(rankings)
    items = [
        html.Small(
            f"· {members['with_data']:,} / {members['total']:,} members with data",
            className="me-2 counted-members",
            title="Stocks of the universe with a price in the as-of session / all",
        )
    ]
    if rs:
        items.append(
            html.Small(
                f"· RS {rs_universe(rankings)['label']}",
                className="me-2 counted-rs",
                title="RS ratings are percentile ranks within these names only",
            )
        )
    return items


def poll_ms() -> int:
    """Return the polling interval from settings (5 s when no app is active)."""
    try:
        from dashapp.market.context import current_settings

        return int(current_settings().poll_seconds * 1000)
    except (RuntimeError, KeyError, AttributeError, TypeError):
        return DEFAULT_POLL_MS


def poll_components(page: str, interval_ms: int | None = None) -> html.Div:
    """Return the page's Interval, last-rendered-version Store and URL-sync Store."""
    return html.Div(
        [
            dcc.Interval(id=f"{page}-poll", interval=interval_ms or poll_ms()),
            dcc.Store(id=f"{page}-version"),
            dcc.Store(id=f"{page}-url"),
        ],
        hidden=True,
    )


def view_key(page: str, params: dict[str, Any]) -> str:
    """Return page + params + data version: equal keys render identically."""
    parts = "&".join(f"{k}={params[k]}" for k in sorted(params))
    universe = str(params.get("universe") or "")
    if has_watchlist(universe):  # per user and per edit of the list
        try:
            parts += scoped_universe(current_store(), universe)[0]
        except KeyError as exc:
            raise BadRequest(str(exc.args[0])) from exc
    return f"{page}|{parts}|{queries.data_version_key(params.get('as_of'))}"


def database_banner() -> html.Div:
    """Return the banner shown while the database is away (the data stays)."""
    return html.Div(
        [
            html.I(className="bi bi-database-exclamation me-2"),
            html.B(DB_BANNER_TEXT),
            html.Span(" — showing the last data received."),
        ],
        className="alert alert-warning db-unavailable py-2",
        role="status",
    )


def _unavailable(n_outputs: int) -> tuple:
    from dash import no_update

    return (database_banner(), *[no_update] * (n_outputs - 1), None)


def render_view(
    page: str,
    params: dict[str, Any],
    last: str | None,
    build: Callable[..., Sequence[Any]],
    n_outputs: int,
) -> tuple:
    """Return (*outputs, key): no_update when unchanged, an error state on failure.

    The first output of every page callback is its status area, which is where
    errors are shown; the other outputs keep what they showed.
    """
    from dash import no_update

    if not database_available():
        return _unavailable(n_outputs)
    try:
        key = view_key(page, params)
    except BadRequest as exc:
        return (
            error_state(str(exc), "Bad request"),
            *[no_update] * (n_outputs - 1),
            None,
        )
    except Exception as exc:  # database down: say so and keep polling
        if note_db_error(exc):
            return _unavailable(n_outputs)
        log.warning("%s: data version unavailable: %s", page, exc)
        return (error_state(exc), *[no_update] * (n_outputs - 1), None)
    if key == last:
        raise PreventUpdate
    try:
        outputs = queries.cached(f"view:{key}", lambda: tuple(build(**params)))
    except BadRequest as exc:
        return (
            error_state(str(exc), "Bad request"),
            *[no_update] * (n_outputs - 1),
            None,
        )
    except Exception as exc:
        if note_db_error(exc):
            return _unavailable(n_outputs)
        log.exception("%s: rendering failed", page)
        return (
            error_state(exc, "Could not render this view"),
            *[no_update] * (n_outputs - 1),
            None,
        )
    return (*outputs, key)


def view_params(universe: Any, session: Any, time: Any, **extra: Any) -> dict[str, Any]:
    """Return the normalised view parameters shared by every page."""
    return {
        "universe": clean_universe(universe),
        "as_of": as_of_value(session, time),
        **extra,
    }


def control_inputs(page: str) -> list[Input]:
    """Return the universe / as-of / minute Inputs of a page's controls."""
    return [
        Input(cid("universe", page), "value"),
        Input(cid("asof", page), "value"),
        Input(cid("time", page), "value"),
    ]


def register_url_sync(
    page: str, names: Sequence[str], inputs: Sequence[Input], defaults: dict
) -> None:
    """Register the clientside callback that mirrors a page's controls into its URL."""
    clientside_callback(
        url_sync_js(names, defaults), Output(f"{page}-url", "data"), *inputs
    )


def register_grid_url_sync(
    grid_id: str, column_defs: Sequence[dict], sink: str, key: str = ""
) -> None:
    """Mirror a grid's sort, filters and visible columns into the page's URL.

    Keys are `sort`, `f` and `cols` (prefixed `KEY_` for a second grid); the
    page's layout reads them back through `dense_grid(query=...)`.
    """
    sort = sorted(
        (d for d in column_defs if d.get("sort")), key=lambda d: d.get("sortIndex", 0)
    )
    defaults = {
        "sort": ",".join(f"{d['field']}:{d['sort']}" for d in sort),
        "cols": ",".join(d["field"] for d in column_defs if not d.get("hide")),
    }
    clientside_callback(
        "function(state, model){ return window.dash_clientside.tickstock.syncGridUrl("
        f"{json.dumps(list(url_keys(key)))}, {json.dumps(defaults)}, state, model); }}",
        Output(sink, "data", allow_duplicate=True),
        Input(grid_id, "columnState"),
        Input(grid_id, "filterModel"),
        prevent_initial_call=True,
    )


def csv_params(view: str, key: str | None) -> dict[str, Any]:
    """Return export params naming the file after the view, universe and session."""
    from dashapp.market import market_state

    if not key or key.count("|") < 2:
        raise PreventUpdate
    parts = (p.partition("=") for p in key.split("|")[1].split("&"))
    params = {k: v for k, _, v in parts}
    universe, as_of = params.get("universe", ""), params.get("as_of", NOW)
    try:
        session = market_state(universe, as_of).session
    except Exception as exc:  # the page shows the error; keep the old name
        raise PreventUpdate from exc
    label = session.isoformat() if session else "empty"
    return {"fileName": f"{view}-{universe}-{label}.csv", "allColumns": False}


def register_csv_name(view: str, grid_id: str, version_id: str) -> None:
    """Name a grid's CSV after the view, universe and session it shows."""
    callback(
        Output(grid_id, "csvExportParams"),
        Input(version_id, "data"),
        prevent_initial_call=True,
    )(lambda key: csv_params(view, key))


def register_dense_grid(
    prefix: str,
    column_defs: Sequence[dict],
    grid_id: str | None = None,
    url_key: str | None = "",
    link_symbol: bool = True,
    search: bool = False,
) -> None:
    """Wire a `dense_grid`: CSV, column chooser, row count, URL state, row links.

    `url_key=None` keeps the grid out of the URL; `link_symbol` opens the
    Symbol page of a clicked row (rows keyed by symbol).
    """
    ids = grid_ids(prefix, grid_id)
    grid = ids["grid"]
    fields = [d["field"] for d in column_defs if not d.get("lockVisible")]
    clientside_callback(
        "function(n){ return window.dash_clientside.tickstock.exportCsv(n); }",
        Output(grid, "exportDataAsCsv"),
        Input(ids["export"], "n_clicks"),
        prevent_initial_call=True,
    )
    clientside_callback(
        "function(visible){ return window.dash_clientside.tickstock.chooseColumns("
        f"visible, '{grid}', {json.dumps(fields)}); }}",
        Output(ids["sink"], "data"),
        Input(ids["columns"], "value"),
        prevent_initial_call=True,
    )
    clientside_callback(
        "function(v, rows){"
        " return window.dash_clientside.tickstock.gridCount(v, rows); }",
        Output(ids["count"], "children"),
        Input(grid, "virtualRowData"),
        Input(grid, "rowData"),
    )
    if search:
        clientside_callback(
            "function(text, options){"
            " return window.dash_clientside.tickstock.quickFilter(text, options); }",
            Output(grid, "dashGridOptions"),
            Input(ids["search"], "value"),
            State(grid, "dashGridOptions"),
            prevent_initial_call=True,
        )
    if url_key is not None:
        register_grid_url_sync(grid, column_defs, ids["sink"], url_key)
    if link_symbol:
        link_grid_to_symbol(grid)


# One callback fills the universe and session options of whichever page is shown.
@callback(
    Output(cid("universe", MATCH), "options"),
    Output(cid("asof", MATCH), "options"),
    Input(cid("asof", MATCH), "id"),
    State(cid("universe", MATCH), "value"),
    State(cid("asof", MATCH), "value"),
)
def fill_control_options(_id: Any, universe: Any, session: Any) -> tuple[list, list]:
    """Load the universe list and stored sessions into the pickers."""
    try:
        universes = queries.universe_options()
        universes = [*watchlist_options(current_store()), *universes]
        sessions = queries.stored_sessions(SESSION_OPTIONS_LIMIT)
    except Exception as exc:  # database down: keep the current choices
        if not note_db_error(exc):
            log.warning("control options unavailable: %s", exc)
        raise PreventUpdate from exc
    if universe and universe not in {o["value"] for o in universes}:
        universes = [{"label": f"{universe} (unknown)", "value": universe}, *universes]
    options = [{"label": "Now (live)", "value": NOW}]
    options += [{"label": s, "value": s} for s in sessions]
    if session and session != NOW and session not in sessions:
        # The picker lists recent sessions only; older stored ones still work.
        stored = queries.session_stored(session)
        label = session if stored else f"{session} (not stored)"
        options.append({"label": label, "value": session})
    return universes, options


clientside_callback(
    "function(session){ return window.dash_clientside.tickstock.toggleTime(session); }",
    Output(cid("time", MATCH), "disabled"),
    Input(cid("asof", MATCH), "value"),
)


# "Back" shows when this tab has a previous view and goes there.
clientside_callback(
    "function(id){ return window.history.length > 1 ? {} : {display: 'none'}; }",
    Output(cid("back", MATCH), "style"),
    Input(cid("back", MATCH), "id"),
)
clientside_callback(
    "function(n){ if (n) { window.history.back(); } "
    "return window.dash_clientside.no_update; }",
    Output(cid("back", MATCH), "title"),
    Input(cid("back", MATCH), "n_clicks"),
    prevent_initial_call=True,
)


# The navbar (components/navbar.py) folds on tablets; its toggler opens it.
clientside_callback(
    "function(n, open){ return n ? !open : open; }",
    Output("navbar-collapse", "is_open"),
    Input("navbar-toggler", "n_clicks"),
    State("navbar-collapse", "is_open"),
    prevent_initial_call=True,
)


def link_grid_to_symbol(grid_id: str) -> None:
    """Open the Symbol page of a grid row's symbol when one of its cells is clicked."""
    clientside_callback(
        "function(cell){ return window.dash_clientside.tickstock.gridToSymbol(cell); }",
        Output("nav-location", "pathname", allow_duplicate=True),
        Output("nav-location", "search", allow_duplicate=True),
        Input(grid_id, "cellClicked"),
        prevent_initial_call=True,
    )


def link_plot_to_symbol(graph_id: str) -> None:
    """Open the Symbol page of a plotted point's symbol when it is clicked."""
    clientside_callback(
        "function(click){ return "
        "window.dash_clientside.tickstock.plotToSymbol(click); }",
        Output("nav-location", "pathname", allow_duplicate=True),
        Output("nav-location", "search", allow_duplicate=True),
        Input(graph_id, "clickData"),
        prevent_initial_call=True,
    )

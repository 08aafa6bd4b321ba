"""The dense table every data page uses: a toolbar over a compact AG Grid.

The toolbar holds an optional quick search, a column chooser, a CSV button
(AG Grid exports the visible columns with the current filter and sort) and the
"N of M rows shown" line. Ids derive from one prefix: `{prefix}-grid`,
`-columns`, `-export`, `-count`, `-search`; `pages/_grids.py` registers the
clientside callbacks that wire them (and the URL state).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from components.grid_state import apply_state
from components.grids import data_grid


def grid_ids(prefix: str, grid_id: str | None = None) -> dict[str, str]:
    """Return the component ids of a dense grid and its toolbar."""
    return {
        "grid": grid_id or f"{prefix}-grid",
        "columns": f"{prefix}-columns",
        "columns_button": f"{prefix}-columns-button",
        "export": f"{prefix}-export",
        "count": f"{prefix}-count",
        "search": f"{prefix}-search",
        "sink": f"{prefix}-grid-sink",
    }


def chooser_options(defs: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Return the column chooser's options (columns that can be hidden)."""
    return [
        {"label": d.get("headerName") or d["field"], "value": d["field"]}
        for d in defs
        if d.get("field") and not d.get("lockVisible")
    ]


def column_chooser(prefix: str, defs: Sequence[Mapping[str, Any]]) -> html.Div:
    """Return the "Columns" button and its pop-over checklist."""
    ids = grid_ids(prefix)
    options = chooser_options(defs)
    choosable = {o["value"] for o in options}
    shown = [d["field"] for d in defs if d.get("field") and not d.get("hide")]
    return html.Div(
        [
            dbc.Button(
                [html.I(className="bi bi-layout-three-columns me-1"), "Columns"],
                id=ids["columns_button"],
                size="sm",
                color="secondary",
                outline=True,
            ),
            dbc.Popover(
                dbc.PopoverBody(
                    dbc.Checklist(
                        id=ids["columns"],
                        options=options,
                        value=[v for v in shown if v in choosable],
                        className="small column-chooser",
                    )
                ),
                target=ids["columns_button"],
                trigger="legacy",
                placement="bottom-start",
            ),
        ]
    )


def grid_toolbar(
    prefix: str,
    defs: Sequence[Mapping[str, Any]],
    search: str | None = None,
    tools: Sequence[Any] = (),
    chooser: bool = True,
) -> html.Div:
    """Return the toolbar: search, columns, CSV, extra tools and the row count."""
    ids = grid_ids(prefix)
    items: list[Any] = []
    if search is not None:
        items.append(
            dbc.Input(
                id=ids["search"],
                type="search",
                placeholder="Search…",
                value=search,
                size="sm",
                className="grid-search",
            )
        )
    if chooser:
        items.append(column_chooser(prefix, defs))
    items.append(
        dbc.Button(
            [html.I(className="bi bi-download me-1"), "CSV"],
            id=ids["export"],
            size="sm",
            color="secondary",
            outline=True,
            title="Download the rows and columns shown (filter and sort kept)",
        )
    )
    items += list(tools)
    count = html.Small(id=ids["count"], className="grid-count text-body-secondary")
    items.append(count)
    return html.Div(items, className="grid-toolbar d-flex flex-wrap gap-2 mb-1")


def dense_parts(
    prefix: str,
    column_defs: Sequence[dict[str, Any]],
    *,
    grid_id: str | None = None,
    query: Mapping[str, Any] | None = None,
    url_key: str = "",
    height: str = "420px",
    row_id: str | None = "symbol",
    search: str | None = None,
    chooser: bool = True,
    tools: Sequence[Any] = (),
    **grid_options: Any,
) -> tuple[html.Div, html.Div]:
    """Return (toolbar, grid) apart, for a page that puts the toolbar in its controls.

    `query` is the page's query parameters (its layout kwargs): the URL's
    sort, filters and visible columns apply; `url_key` prefixes the keys of a
    second grid on one page.
    """
    ids = grid_ids(prefix, grid_id)
    defs, model = apply_state(list(column_defs), query or {}, url_key)
    if model:
        grid_options["filterModel"] = model
    if search:
        grid_options.setdefault("quickFilterText", search)
    grid = data_grid(ids["grid"], defs, height=height, row_id=row_id, **grid_options)
    toolbar = grid_toolbar(prefix, defs, search, tools, chooser)
    return toolbar, html.Div([grid, dcc.Store(id=ids["sink"])], className="dense-table")


def dense_grid(
    prefix: str, column_defs: Sequence[dict[str, Any]], **options: Any
) -> html.Div:
    """Return a toolbar over a dense grid (options as for `dense_parts`)."""
    toolbar, grid = dense_parts(prefix, column_defs, **options)
    return html.Div([toolbar, grid])

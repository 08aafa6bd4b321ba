"""The Market page's new 52-week highs and lows card and its callback.

`pages/market.py` places `highs_lows_section()` in its layout; importing this
module registers the callback that fills it from the market page's controls.
"""

from __future__ import annotations

from dash import Input, Output, State, callback

from components.highs_lows import (
    COLUMN_DEFS,
    TITLES,
    grid_prefix,
    highs_lows_card,
    highs_lows_outputs,
)
from dashapp.market.highs_lows import highs_lows
from pages._common import (
    control_inputs,
    register_csv_name,
    register_dense_grid,
    render_view,
    view_params,
)

PAGE = "market"
VIEW = "market-highs-lows"
VERSION = "market-highs-lows-version"


def highs_lows_section():
    """Return the card the callback below fills (one element of the layout)."""
    return highs_lows_card()


def build_highs_lows(universe: str, as_of: str) -> tuple:
    """Render the two lists of one universe / as-of / data version."""
    found = highs_lows(universe, as_of)
    return highs_lows_outputs(found.lists, found.counts())


@callback(
    *[
        Output(f"{grid_prefix(name)}{part}", prop)
        for name in TITLES
        for part, prop in (("-title", "children"), ("-grid", "rowData"))
    ],
    Output(VERSION, "data"),
    Input("market-poll", "n_intervals"),
    *control_inputs(PAGE),
    State(VERSION, "data"),
)
def refresh_highs_lows(_n, universe, session, time_, last):
    """Refill the lists when the data version (or universe / as-of) moved."""
    params = view_params(universe, session, time_)
    return render_view(VIEW, params, last, build_highs_lows, n_outputs=4)


for _name in TITLES:
    register_dense_grid(grid_prefix(_name), COLUMN_DEFS, url_key=None)
    register_csv_name(grid_prefix(_name), f"{grid_prefix(_name)}-grid", VERSION)

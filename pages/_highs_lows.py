"""The Market page's new 52-week highs and lows card and its callback.

`pages/market.py` places `highs_lows_section()` in its layout; importing this
module registers the callback that fills it from the market page's controls.
"""

from __future__ import annotations

from dash import Input, Output, State, callback

from components.highs_lows import highs_lows_body, highs_lows_card
from dashapp.market.highs_lows import highs_lows
from pages._common import control_inputs, render_view, view_params

PAGE = "market"
VIEW = "market-highs-lows"


def highs_lows_section():
    """Return the card the callback below fills (one element of the layout)."""
    return highs_lows_card()


def build_highs_lows(universe: str, as_of: str) -> tuple:
    """Render the two lists of one universe / as-of / data version."""
    found = highs_lows(universe, as_of)
    return (highs_lows_body(found.lists, found.counts()),)


@callback(
    Output("market-highs-lows", "children"),
    Output("market-highs-lows-version", "data"),
    Input("market-poll", "n_intervals"),
    *control_inputs(PAGE),
    State("market-highs-lows-version", "data"),
)
def refresh_highs_lows(_n, universe, session, time_, last):
    """Refill the lists when the data version (or universe / as-of) moved."""
    params = view_params(universe, session, time_)
    return render_view(VIEW, params, last, build_highs_lows, n_outputs=1)

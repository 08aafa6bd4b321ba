"""The Market page's regime panel callback (not a page: Dash skips `_` modules).

The panel re-renders when the Market view's key moves (`market-version`: a new
data version or another as-of), through the app cache, so every tab costs one
computation per data version.
"""

from __future__ import annotations

import logging
from typing import Any

from dash import Input, Output, State, callback
from dash.exceptions import PreventUpdate

from components.cards import error_state
from components.controls import as_of_value, cid
from components.regime_panel import REGIME_ID, regime_body, regime_card
from dashapp.market import BadRequest, queries
from dashapp.market.availability import note_db_error
from dashapp.market.regime import market_regime

log = logging.getLogger(__name__)
PAGE = "market"

__all__ = ["regime_card", "refresh_regime"]


def build_regime(as_of: str) -> list:
    """Render the regime panel of every index at `as_of`."""
    return regime_body(market_regime(as_of))


@callback(
    Output(REGIME_ID, "children"),
    Input(f"{PAGE}-version", "data"),
    State(cid("asof", PAGE), "value"),
    State(cid("time", PAGE), "value"),
)
def refresh_regime(key: Any, session: Any, time_: Any) -> Any:
    """Re-render the regime panel when the Market view's key moved."""
    if not key:
        raise PreventUpdate
    as_of = as_of_value(session, time_)
    try:
        return queries.cached(f"view:regime:{key}", lambda: build_regime(as_of))
    except BadRequest as exc:
        return error_state(str(exc), "Bad request")
    except Exception as exc:
        if note_db_error(exc):
            raise PreventUpdate from exc
        log.exception("market regime panel failed")
        return error_state(exc, "Could not compute the market regime")

"""Run a market computation for a request and answer its failures as API errors."""

from __future__ import annotations

import logging
from typing import Any

from dashapp.api.spec import ApiError
from dashapp.ops.failsoft import note_db_error

log = logging.getLogger(__package__)


def market_call(compute: Any, universe: str, as_of: str, what: str) -> Any:
    """Run `compute(universe, as_of)`, turning its failures into API errors."""
    from dashapp.market import AsOfOutOfRange, BadRequest

    try:
        return compute(universe, None if as_of == "now" else as_of)
    except AsOfOutOfRange as exc:
        first, last = (d.isoformat() if d else None for d in (exc.first, exc.last))
        raise ApiError(
            422, exc.code, str(exc), parameter="as_of", first=first, last=last
        ) from None
    except BadRequest as exc:
        message = str(exc)
        if message.startswith("unknown universe"):
            raise ApiError(
                404, "unknown_universe", message, universe=universe
            ) from None
        raise ApiError(400, "invalid_parameter", message, parameter="as_of") from None
    except Exception as exc:  # the analytics may be incomplete; never answer 500
        if note_db_error(exc):
            raise  # answered 503 database_unavailable by dashapp.ops.failsoft
        log.exception("%s failed for %s at %s", what, universe, as_of)
        raise ApiError(
            503, "analytics_unavailable", f"{what} could not be computed"
        ) from None

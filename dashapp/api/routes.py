"""Every endpoint module of the REST API, and `install_api` that serves them.

Importing this module registers all views on `dashapp.api.blueprint.bp` (and
their declarations in `dashapp.api.spec.REGISTRY`, which the OpenAPI document
is built from).
"""

from __future__ import annotations

from flask import Flask
from werkzeug.exceptions import HTTPException

from dashapp.api import (  # noqa: F401  (each module registers its views)
    admin,
    alerts,
    bars,
    groups,
    jobs,
    market,
    regime,
    screener,
    sector_breadth,
    symbols,
    tokens,
    universes,
    users,
    watchlists,
)
from dashapp.api.blueprint import bp
from dashapp.api.errors import api_http_error, api_unexpected_error


def install_api(server: Flask) -> None:
    """Register the API blueprint and its JSON error handlers on a Flask server."""
    server.register_blueprint(bp)
    server.register_error_handler(HTTPException, api_http_error)
    server.register_error_handler(Exception, api_unexpected_error)

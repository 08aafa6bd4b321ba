"""REST API: a Flask blueprint on `app.server` under /api.

JSON by default (orjson), `?format=csv` on tabular endpoints; every parameter is
validated against its declaration (`dashapp.api.spec`), which also generates the
OpenAPI document. Errors are `{"error": code, "message": text, "details": {}}`.
Data responses carry an `ETag` derived from the store's data version and answer
`304` to a matching `If-None-Match`.

One module per resource, like Datasette's `views/`:

* `blueprint` - the blueprint and `@endpoint` (auth, parameters, ETag cache);
  `caching`, `responses`, `errors`, `params` - its helpers and shared pieces;
* `bars` (`/ticks/recent`, `/bars/<symbol>`), `symbols`, `universes`,
  `market` (market state, rankings, rotation, stages, breadth), `users` (and
  `/me`), `tokens`, `jobs`, `admin` (ingest status, data health);
* `routes` - imports them all and installs the API on a Flask server;
* `export` (the export contract), `spec`, `openapi`, `security`.

`/api/ticks/recent` serves stored minute bars only (`ohlcv_1min`); the
in-progress live bar of the current minute is not included.
"""

from __future__ import annotations

from dashapp.api.blueprint import bp, current_actor, endpoint
from dashapp.api.caching import BodyCache, data_version_key
from dashapp.api.errors import api_http_error, api_unexpected_error, not_found
from dashapp.api.responses import csv_response, json_response, records
from dashapp.api.routes import install_api
from dashapp.api.spec import ApiError, Param

__all__ = [
    "ApiError",
    "BodyCache",
    "Param",
    "api_http_error",
    "api_unexpected_error",
    "bp",
    "csv_response",
    "current_actor",
    "data_version_key",
    "endpoint",
    "install_api",
    "json_response",
    "not_found",
    "records",
]

"""JSON error answers under /api: `{"error": code, "message": text, "details": {}}`."""

from __future__ import annotations

import logging

from flask import Response, current_app, request
from werkzeug.exceptions import HTTPException, InternalServerError

from dashapp import auth
from dashapp.api.blueprint import bp
from dashapp.api.spec import ApiError

log = logging.getLogger(__package__)
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "message", "details"],
    "properties": {
        "error": {"type": "string"},
        "message": {"type": "string"},
        "details": {"type": "object"},
    },
}


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError) -> Response:
    """Answer an `ApiError` raised by a view or the parameter checks."""
    return auth.json_error(exc.status, exc.code, exc.message, **exc.details)


def api_http_error(exc: HTTPException) -> Response | HTTPException:
    """Answer HTTP errors under /api in the JSON error shape."""
    if not request.path.startswith("/api"):
        return exc
    code = (exc.name or "error").lower().replace(" ", "_")
    response = auth.json_error(exc.code or 500, code, exc.description or exc.name)
    if exc.code == 405 and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


def api_unexpected_error(exc: Exception) -> Response | HTTPException:
    """Log an unexpected error; answer JSON 500 under /api, plain 500 elsewhere."""
    if isinstance(exc, HTTPException):
        return api_http_error(exc)
    log.exception("unhandled error on %s %s", request.method, request.path)
    if not request.path.startswith("/api"):
        return InternalServerError(original_exception=exc)
    return auth.json_error(500, "internal_error", "unexpected server error")


@bp.route("/<path:_rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def not_found(_rest: str) -> Response:
    """Answer unknown /api paths with JSON 404, or 405 when only the method is wrong."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        try:
            name, _args = adapter.match(request.path, method=method)
        except HTTPException:
            continue
        if name != "api.not_found":
            allowed.append(method)
    if allowed:
        response = auth.json_error(
            405, "method_not_allowed", f"use {', '.join(allowed)}", allowed=allowed
        )
        response.headers["Allow"] = ", ".join([*allowed, "HEAD", "OPTIONS"])
        return response
    return auth.json_error(404, "not_found", "no such API endpoint")

"""The JSON error shape every part of the app answers with."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response


def json_error(status: int, code: str, message: str, **details: Any) -> Response:
    """Return the API error shape {"error", "message", "details"} with a status."""
    body = orjson.dumps({"error": code, "message": message, "details": details})
    return Response(body, status=status, mimetype="application/json")

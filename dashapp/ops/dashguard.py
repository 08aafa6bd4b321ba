"""Refuse malformed Dash callback bodies with 400 before Dash trips over them.

Dash's dispatcher assumes the renderer's request shape; invalid JSON, wrong
types or an unknown output made it raise deep inside and answer 500 with an
ERROR traceback. This check runs after the auth gate (anonymous callers still
get 401) and answers 400 with one WARNING line instead.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from flask import Response, request

log = logging.getLogger(__name__)

DASH_CALLBACK_PATH = "/_dash-update-component"
REASON_MAX_CHARS = 200


class MalformedCallback(ValueError):
    """A callback body that Dash cannot dispatch."""


def _check_dependency(item: Any, where: str) -> None:
    if isinstance(item, list):  # pattern-matching ALL/ALLSMALLER: a list of them
        for sub in item:
            _check_dependency(sub, where)
        return
    if not isinstance(item, dict):
        raise MalformedCallback(f"{where}: each entry must be an object")
    if "id" not in item or not isinstance(item.get("property"), str):
        raise MalformedCallback(f"{where}: each entry needs an id and a property")
    if not isinstance(item["id"], str | dict):
        raise MalformedCallback(f"{where}: id must be a string or an object")


def _check_list(body: dict, name: str, expected: int, required: bool) -> None:
    value = body.get(name)
    if value is None and not required and expected == 0:
        return
    if not isinstance(value, list):
        raise MalformedCallback(f"{name} must be a list")
    if len(value) != expected:
        raise MalformedCallback(f"{name}: expected {expected}, got {len(value)}")
    for item in value:
        _check_dependency(item, name)


def _output_count(output: str) -> int:
    if output.startswith("..") and output.endswith(".."):
        return len(output[2:-2].split("..."))
    return 1


def validate_callback_body(body: Any, callback_map: dict[str, Any]) -> None:
    """Raise MalformedCallback unless `body` is a dispatchable callback request."""
    if not isinstance(body, dict):
        raise MalformedCallback("the body must be a JSON object")
    output = body.get("output")
    if not isinstance(output, str):
        raise MalformedCallback("output must be a string")
    spec = callback_map.get(output)
    if spec is None:
        raise MalformedCallback("unknown output")
    outputs = body.get("outputs")
    count = _output_count(output)
    if spec.get("no_output"):
        pass
    elif isinstance(outputs, list) and count > 1:
        if len(outputs) != count:
            raise MalformedCallback(f"outputs: expected {count} entries")
        for item in outputs:
            _check_dependency(item, "outputs")
    elif isinstance(outputs, dict | list) and count == 1:
        _check_dependency(outputs, "outputs")
    else:
        raise MalformedCallback("outputs must be an object or a list")
    _check_list(body, "inputs", len(spec.get("inputs") or []), True)
    _check_list(body, "state", len(spec.get("state") or []), False)
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(c, str) for c in changed):
        raise MalformedCallback("changedPropIds must be a list of strings")


def install_dash_guard(app: Any) -> None:
    """Check every Dash callback body on `app` (after the auth gate)."""

    def guard() -> Response | None:
        if request.path != DASH_CALLBACK_PATH or request.method != "POST":
            return None
        try:
            body = orjson.loads(request.get_data(cache=True))
            validate_callback_body(body, app.callback_map)
        except (orjson.JSONDecodeError, MalformedCallback) as exc:
            reason = str(exc).splitlines()[0][:REASON_MAX_CHARS]
            log.warning("malformed Dash callback refused: %s", reason)
            body = orjson.dumps({"error": "bad_request", "message": reason})
            return Response(body, status=400, mimetype="application/json")
        return None

    app.server.before_request(guard)

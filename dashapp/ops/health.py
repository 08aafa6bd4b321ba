"""Liveness and readiness endpoints (never behind a login)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Blueprint, current_app, jsonify

from dashapp.store import SCHEMA_VERSION

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)

# Extra readiness checks other parts register (name -> callable returning
# (status, detail)); status is "ok", "degraded" or "fail".
ReadyCheck = Callable[[], tuple[str, str]]


def register_ready_check(server, name: str, check: ReadyCheck) -> None:
    """Add a named readiness check to a Flask server."""
    server.extensions.setdefault("tickstock_ready_checks", {})[name] = check


@bp.get("/health")
def health():
    """Answer 200 while the process serves."""
    return jsonify(status="ok")


def _database_check() -> tuple[str, str]:
    store = current_app.extensions["tickstock_store"]
    state = current_app.extensions.get("tickstock_dbstate")
    if state is not None and not state.check():
        return "fail", state.detail()  # the outage was logged once, when it began
    try:
        store.ping()
        version = store.schema_version()
    except Exception as exc:
        if state is None or not state.note(exc):
            log.warning("readiness: database unreachable: %s", exc)
        return "fail", f"database unreachable: {type(exc).__name__}"
    if version != SCHEMA_VERSION:
        return "fail", f"schema version {version}, expected {SCHEMA_VERSION}"
    return "ok", f"schema v{version}"


@bp.get("/ready")
def ready():
    """Answer 200 when the database answers and the schema is current, else 503."""
    checks = {"database": _database_check()}
    extra = current_app.extensions.get("tickstock_ready_checks", {})
    for name, check in extra.items():
        try:
            checks[name] = check()
        except Exception as exc:  # a broken check must not break readiness
            checks[name] = ("fail", f"{type(exc).__name__}: {exc}")
    failing = [n for n, (s, _d) in checks.items() if s == "fail"]
    degraded = [n for n, (s, _d) in checks.items() if s == "degraded"]
    status = "fail" if failing else ("degraded" if degraded else "ok")
    body = {
        "status": status,
        "checks": {n: {"status": s, "detail": d} for n, (s, d) in checks.items()},
    }
    if failing:
        body["failing"] = failing
    return jsonify(body), (503 if failing else 200)

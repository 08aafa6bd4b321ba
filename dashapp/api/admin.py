"""Operator status: `/admin/ingest` (live ingest) and `/admin/data-health`."""

from __future__ import annotations

from dashapp.api.blueprint import endpoint
from dashapp.api.params import ROW, STR, table_schema
from dashapp.api.responses import csv_response
from dashapp.market.context import current_store, extension


@endpoint(
    "/admin/ingest",
    "Live ingest status (connection, subscriptions, rates).",
    admin=True,
    tag="admin",
    response={
        "type": "object",
        "required": ["available"],
        "properties": {"available": {"type": "boolean"}},
    },
)
def admin_ingest():
    """Return the ingest service's health, when ingest runs in this process."""
    service = extension("ingest")
    if service is None or not hasattr(service, "health"):
        return {"available": False}
    try:
        health = service.health()
    except Exception as exc:  # a broken ingest must not break the admin API
        return {"available": True, "error": f"{type(exc).__name__}: {exc}"}
    return {
        "available": True,
        **(health if isinstance(health, dict) else {"status": health}),
    }


@endpoint(
    "/admin/data-health",
    "Daily-data health per symbol: sources, missing sessions, rescalings, "
    "moves over 35 % that look like unadjusted splits, stale symbols.",
    admin=True,
    tag="admin",
    tabular=True,
    response=table_schema(
        newest_session=STR,
        summary={"type": "object"},
        adjustments={"type": "array", "items": ROW},
        suspect_moves={"type": "array", "items": ROW},
    ),
)
def admin_data_health(format: str):  # noqa: A002
    """Return the data-health report (dashapp.store.datahealth)."""
    from dashapp.store.datahealth import data_health, health_frame

    report = data_health(current_store())
    if format == "csv":
        return csv_response(health_frame(report), "data_health")
    return report

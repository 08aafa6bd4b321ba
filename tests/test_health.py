"""Liveness and readiness endpoints."""

from __future__ import annotations

from sqlalchemy import text

from dashapp.factory import create_app
from dashapp.store import Store
from tests.auth_helpers import login


def test_he01_health_and_ready(settings):
    client = create_app(settings, ingest=False).server.test_client()
    resp = client.get("/health")
    assert resp.status_code == 200 and resp.get_json() == {"status": "ok"}
    resp = client.get("/ready")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["status"] == "ok" and body["checks"]["database"]["status"] == "ok"


def test_he02_ready_503_when_database_unreachable(settings):
    app = create_app(settings, ingest=False)
    app.server.extensions["tickstock_store"] = Store(
        "postgresql://postgres@127.0.0.1:1/none"
    )
    client = app.server.test_client()
    assert client.get("/health").status_code == 200
    resp = client.get("/ready")
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["failing"] == ["database"]
    assert "unreachable" in body["checks"]["database"]["detail"]


def test_he03_ready_503_when_schema_not_current(settings):
    app = create_app(settings, ingest=False)
    store = app.server.extensions["tickstock_store"]
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE schema_version SET version = 1"))
    resp = app.server.test_client().get("/ready")
    assert resp.status_code == 503
    assert "schema version 1" in resp.get_json()["checks"]["database"]["detail"]


def test_he04_admin_stored_data_callback_renders_a_table(settings):
    app = create_app(settings, ingest=False)
    client = login(app.server.test_client(), app, "root", role="admin")
    payload = {
        "output": "admin-db.children",
        "outputs": {"id": "admin-db", "property": "children"},
        "inputs": [{"id": "admin-poll", "property": "n_intervals", "value": 1}],
        "changedPropIds": ["admin-poll.n_intervals"],
    }
    resp = client.post("/_dash-update-component", json=payload)
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert "admin-db-table" in body and "ohlcv_daily" in body

"""Quiet edges: client probes are counted not stored, bursts are summarised,
malformed Dash callback bodies answer 400 without a traceback."""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest
from werkzeug.serving import make_server

from dashapp.factory import create_app
from tests.auth_helpers import login

LONG_URI_CHARS = 70_000  # beyond http.server's 65536-byte request line
BURST = 50
WINDOW_S = 0.4
WAIT_S = 5.0


@pytest.fixture
def app(settings):
    """Return an app that stores ERROR records in error_log."""
    app = create_app(
        settings.replace(log_db_enabled=True, log_db_severity_threshold="ERROR"),
        ingest=False,
    )
    yield app
    app.server.extensions["tickstock_observability"].stop()


def _rows(app, source: str | None = None) -> list[dict]:
    obs = app.server.extensions["tickstock_observability"]
    assert obs.db_handler.flush()
    frame = app.server.extensions["tickstock_store"].recent_errors(1000)
    rows = frame.to_dict("records")
    return [r for r in rows if source is None or r["source"] == source]


def _client_errors(app, status: int) -> float:
    registry = app.server.extensions["tickstock_observability"].registry
    value = registry.get_sample_value(
        "tickstock_http_client_errors_total", {"status": str(status)}
    )
    return value or 0.0


def _raw_get(port: int, target: str) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        head = sock.recv(200).decode("latin-1")
    return int(head.split()[1])


def test_qe01_anonymous_probes_are_counted_not_stored(app):
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_port
        assert _raw_get(port, "/" + "a" * LONG_URI_CHARS) == 414
        assert _raw_get(port, "/assets/no-such-file.js") == 404
        assert _raw_get(port, "/api/no-such-endpoint") == 401
    finally:
        server.shutdown()
    assert _client_errors(app, 414) == 1
    assert _client_errors(app, 404) == 1
    assert _client_errors(app, 401) == 1
    assert _rows(app) == []


def test_qe02_a_burst_of_identical_errors_writes_one_row_and_a_summary(app):
    handler = app.server.extensions["tickstock_observability"].db_handler
    handler.guard.window = WINDOW_S
    log = logging.getLogger("tickstock.test.burst")
    for i in range(BURST):
        log.error("disk %d failed", i)
    log.error("another message")
    deadline = time.monotonic() + WAIT_S
    rows = []
    while time.monotonic() < deadline and len(rows) < 3:
        time.sleep(0.1)
        rows = _rows(app, "tickstock.test.burst")
    messages = sorted(r["message"] for r in rows)
    assert len(rows) == 3, messages
    assert "disk 0 failed" in messages and "another message" in messages
    summary = next(m for m in messages if "suppressed" in m)
    assert summary.startswith(f"{BURST - 1} similar suppressed")
    assert "disk %d failed" in summary


MALFORMED = [
    b"not json",
    b"[1, 2]",
    b'{"output": 5}',
    b'{"output": "no-such.children", "outputs": {}, "inputs": []}',
    b'{"output": "..rankings-status.children...rankings-grid.rowData...'
    b'rankings-grid.csvExportParams...rankings-version.data..",'
    b' "outputs": "x", "inputs": 7}',
    b'{"output": "..rankings-status.children...rankings-grid.rowData...'
    b'rankings-grid.csvExportParams...rankings-version.data..",'
    b' "outputs": [], "inputs": []}',
]


@pytest.mark.parametrize("body", MALFORMED)
def test_qe03_malformed_dash_bodies_answer_400_without_traceback(app, body, caplog):
    client = login(app.server.test_client(), app)
    with caplog.at_level(logging.WARNING):
        resp = client.post(
            "/_dash-update-component", data=body, content_type="application/json"
        )
    assert resp.status_code == 400, resp.get_data(as_text=True)[:300]
    assert resp.get_json()["error"] == "bad_request"
    warnings = [r for r in caplog.records if r.name == "dashapp.ops.dashguard"]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert _rows(app) == []

"""PostgreSQL cut off mid-run: 503 (never 500), /metrics serves, one log line, recovery.

The app talks to PostgreSQL through a TCP proxy (tests/tcp_proxy.py) that the
test stops and restarts, as a network cut or a database restart would.
"""

from __future__ import annotations

import logging
import time

import pytest
from sqlalchemy.engine import make_url

from dashapp import auth
from dashapp.factory import create_app
from tests.auth_helpers import bearer, login, seed_bars
from tests.conftest import needs_postgres, pg_url
from tests.tcp_proxy import TcpProxy

OUTAGE_S = 2.0
RECOVER_S = 5.0
API_PATHS = (
    "/api/universes",
    "/api/market-state?universe=sp500",
    "/api/rankings?universe=sp500&limit=5",
    "/api/bars/AAPL",
)
DASH_OUTPUTS = [
    {"id": "rankings-status", "property": "children"},
    {"id": "rankings-grid", "property": "rowData"},
    {"id": "rankings-grid", "property": "csvExportParams"},
    {"id": "rankings-version", "property": "data"},
]


def _rankings_callback(version: str | None) -> dict:
    control = [
        ("universe", "sp500"),
        ("asof", "now"),
        ("time", ""),
    ]
    return {
        "output": "..rankings-status.children...rankings-grid.rowData..."
        "rankings-grid.csvExportParams...rankings-version.data..",
        "outputs": DASH_OUTPUTS,
        "inputs": [
            {"id": "rankings-poll", "property": "n_intervals", "value": 3},
            *[
                {"id": {"page": "rankings", "type": t}, "property": "value", "value": v}
                for t, v in control
            ],
        ],
        "state": [{"id": "rankings-version", "property": "data", "value": version}],
        "changedPropIds": ["rankings-poll.n_intervals"],
    }


class Records(logging.Handler):
    """Keep every record at WARNING or above."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def matching(self, text: str) -> list[logging.LogRecord]:
        return [r for r in self.records if text in r.getMessage()]


def _gauge(text: str) -> float:
    line = next(x for x in text.splitlines() if x.startswith("tickstock_database_up"))
    return float(line.split()[-1])


@pytest.fixture
def proxied(settings):
    """Return (app, proxy): the app's PostgreSQL connections pass the proxy."""
    url = make_url(pg_url())
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432)).start()
    proxied_url = url.set(host="127.0.0.1", port=proxy.port)
    app = create_app(
        settings.replace(
            database_url=proxied_url.render_as_string(hide_password=False)
        ),
        ingest=False,
    )
    try:
        yield app, proxy
    finally:
        proxy.stop()
        proxy.start()  # let the store clean up through a live connection
        app.server.extensions["tickstock_observability"].stop()
        app.server.extensions["tickstock_store"].dispose()
        proxy.stop()


@needs_postgres
def test_do01_postgres_cut_off_answers_503_then_recovers(proxied):
    app, proxy = proxied
    store = app.server.extensions["tickstock_store"]
    seed_bars(store)
    bars_before = len(store.read_minute(["AAPL"]))
    api = app.server.test_client()
    headers = bearer(app)
    browser = login(app.server.test_client(), app)
    for path in API_PATHS:
        assert api.get(path, headers=headers).status_code == 200, path
    first = browser.post("/_dash-update-component", json=_rankings_callback(None))
    assert first.status_code == 200, first.get_data(as_text=True)[:300]
    assert _gauge(browser.get("/metrics").get_data(as_text=True)) == 1.0
    assert api.get("/metrics", headers=headers).status_code == 200  # a known scraper

    records = Records()
    logging.getLogger().addHandler(records)
    try:
        proxy.stop()
        statuses: list[tuple[str, int]] = []
        deadline = time.monotonic() + OUTAGE_S
        while time.monotonic() < deadline:
            for path in API_PATHS:
                resp = api.get(path, headers=headers)
                statuses.append((path, resp.status_code))
                if resp.status_code == 200 and not any(s == 503 for _p, s in statuses):
                    continue  # answered from caches before anything noticed the cut
                assert resp.status_code == 503, (path, resp.get_data(as_text=True))
                assert resp.headers["Retry-After"].isdigit()
                body = resp.get_json()
                assert body["error"] == "database_unavailable"
                assert set(body) == {"error", "message", "details"}
            auth.clear_token_cache()  # as if the token's short cache had expired
            for metrics in (
                browser.get("/metrics"),
                api.get("/metrics", headers=headers),
            ):
                assert metrics.status_code == 200, metrics.get_data(as_text=True)[:300]
                assert _gauge(metrics.get_data(as_text=True)) == 0.0
            assert api.get("/metrics").status_code == 401  # strangers still are not
            ready = api.get("/ready")
            assert ready.status_code == 503
            assert ready.get_json()["checks"]["database"]["status"] == "fail"
            dash = browser.post(
                "/_dash-update-component", json=_rankings_callback("stale")
            )
            assert dash.status_code == 200, dash.get_data(as_text=True)[:300]
            shown = dash.get_json()["response"]
            assert "Database unavailable" in str(shown["rankings-status"])
            assert "rankings-grid" not in shown  # the grid keeps its last rows
        assert len(statuses) >= 4 * len(API_PATHS)
        assert sum(s == 503 for _p, s in statuses) >= len(statuses) - len(API_PATHS)

        proxy.start()
        started = time.monotonic()
        while api.get(API_PATHS[0], headers=headers).status_code != 200:
            assert time.monotonic() - started < RECOVER_S, "no recovery within 5 s"
            time.sleep(0.05)
        recovered_in = time.monotonic() - started
        print(f"recovered {recovered_in:.2f} s after the proxy returned")
        for path in API_PATHS:
            assert api.get(path, headers=headers).status_code == 200, path
        assert _gauge(browser.get("/metrics").get_data(as_text=True)) == 1.0
        assert api.get("/ready").status_code == 200
        back = browser.post("/_dash-update-component", json=_rankings_callback(None))
        assert back.status_code == 200
        assert "rankings-grid" in back.get_json()["response"]
    finally:
        logging.getLogger().removeHandler(records)
    assert recovered_in < RECOVER_S
    assert len(records.matching("database unavailable")) == 1, [
        r.getMessage() for r in records.records
    ]
    assert len(records.matching("database available again")) == 1
    assert not [r for r in records.records if r.exc_info or r.levelno >= logging.ERROR]
    assert len(store.read_minute(["AAPL"])) == bars_before  # nothing lost


def test_do02_every_operation_documents_the_outage_answer():
    from dashapp.api.openapi import build_spec

    spec = build_spec()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            answer = op["responses"].get("503")
            assert answer is not None, (method, path)
            assert "Retry-After" in answer["headers"], (method, path)
            schema = answer["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Error"}


def test_do03_only_connection_failures_count_as_an_outage(tmp_path):
    import sqlalchemy as sa

    from dashapp.ops.failsoft import is_db_unavailable

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(sa.exc.OperationalError) as missing_table:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT * FROM no_such_table"))
    assert not is_db_unavailable(missing_table.value)
    refused = sa.create_engine("postgresql+psycopg://x@127.0.0.1:1/x")
    with pytest.raises(sa.exc.OperationalError) as down:
        refused.connect()
    assert is_db_unavailable(down.value)
    assert not is_db_unavailable(ValueError("connection"))


def test_do04_a_logged_out_session_is_not_remembered_for_outages(settings):
    from dashapp.ops.failsoft import known_principals

    app = create_app(settings, ingest=False)
    try:
        client = login(app.server.test_client(), app)
        assert client.get("/api/me").status_code == 200
        with client.session_transaction() as sess:
            credential = f"sid:{sess['sid']}"
        assert known_principals.recall(credential).username == "tester"
        assert client.post(auth.LOGOUT_POST).status_code in (200, 302, 303)
        assert known_principals.recall(credential) is None
    finally:
        app.server.extensions["tickstock_observability"].stop()

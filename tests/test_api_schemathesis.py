"""Property-based API check: schemathesis against /api/openapi.json, authenticated.

Every documented operation gets generated requests, valid and invalid; no
response may be a 5xx, have an undocumented status or content type, or break
its schema, and invalid requests must be refused. Operations that would lock the
fuzzer out (revoking tokens, changing users) or start background jobs are
covered by explicit tests in test_api.py instead.

Uses schemathesis' Python API (`from_wsgi` + `APIOperation.as_strategy`) with
plain Hypothesis, which works with this pytest (schemathesis' pytest plugin
needs pytest < 9).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    CHECKS,
    content_type_conformance,
    load_all_checks,
    not_a_server_error,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from dashapp.api.spec import REGISTRY
from tests.auth_helpers import bearer, make_api_app

MAX_EXAMPLES = 15
SKIPPED = {
    ("delete", "/api/admin/tokens/{token_id}"),
    ("patch", "/api/admin/users/{username}"),
    ("post", "/api/admin/jobs"),
}
load_all_checks()
# Every check schemathesis ships (its `--checks all`), the conformance ones named.
CONFORMANCE = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
)
ALL_CHECKS = [*CONFORMANCE, *(c for c in CHECKS.get_all() if c not in CONFORMANCE)]
OPERATIONS = sorted(
    (ep.method, ep.path) for ep in REGISTRY if (ep.method, ep.path) not in SKIPPED
)
# Paths whose as_of must lie in the stored data range: a schema-valid date
# outside it is rightly refused (422 as_of_out_of_range, tested in
# test_data_truth.py); a JSON Schema cannot say which dates are stored.
AS_OF_PATHS = {ep.path for ep in REGISTRY if any(p.name == "as_of" for p in ep.params)}
# Tickers must be known and an alert's value must suit its condition (422): more
# than a JSON Schema can say (tested in test_alerts_api.py).
SEMANTIC_PATHS = {"/api/alerts", "/api/watchlists", "/api/watchlists/{name}"}


@pytest.fixture(scope="module")
def api_app(tmp_path_factory):
    """Return an app with seeded bars and an admin API token (module-wide)."""
    tmp = tmp_path_factory.mktemp("schemathesis")
    app = make_api_app(tmp)
    app.auth_headers = bearer(app, "fuzzer", "admin")
    return app


@pytest.fixture(scope="module")
def api_schema(api_app):
    """Load the app's own OpenAPI document through its WSGI interface."""
    return schemathesis.openapi.from_wsgi(
        "/api/openapi.json", api_app.server, headers=api_app.auth_headers
    )


def test_sc00_every_operation_is_documented(api_schema):
    documented = {
        (op.ok().method.lower(), op.ok().path) for op in api_schema.get_all_operations()
    }
    assert documented == {(ep.method, ep.path) for ep in REGISTRY}


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_sc01_operation_conforms(api_app, api_schema, method, path, mode):
    operation = api_schema[path][method.upper()]
    headers = api_app.auth_headers
    # The password policy (common passwords, distinct characters) is more than
    # a JSON Schema can say: a schema-valid weak password is rightly refused.
    refuses_valid = (
        path == "/api/admin/users" or path in AS_OF_PATHS or path in SEMANTIC_PATHS
    )
    excluded = [positive_data_acceptance] if refuses_valid else []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case):
        case.call_and_validate(
            headers=headers, checks=ALL_CHECKS, excluded_checks=excluded
        )

    run()

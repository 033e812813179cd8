"""schemathesis against the dashboard's OpenAPI schema: no 5xx, responses as documented.

Every API operation gets generated requests (valid and invalid); each response must not be
a server error and must match the status codes, content types and JSON schemas the
OpenAPI document declares. Examples are derandomized so that CI is reproducible. (The operations are driven with Hypothesis directly, one
parametrized test per operation, rather than through schemathesis' pytest plugin.)
"""

from __future__ import annotations

import time
from typing import Any, Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from blocsim.web.app import create_app

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
OPERATIONS = [
    ("GET", "/api/scenarios"),
    ("GET", "/api/scenarios/{name}"),
    ("POST", "/api/scenarios/validate"),
    ("POST", "/api/runs"),
    ("GET", "/api/jobs"),
    ("GET", "/api/jobs/{job_id}"),
    ("GET", "/api/runs"),
    ("GET", "/api/runs/{run_id}"),
    ("GET", "/api/runs/{run_id}/tables/{table}"),
    ("GET", "/api/runs/{run_id}/report"),
    ("GET", "/api/runs/{run_id}/scenario"),
    ("GET", "/api/runs/{run_id}/download/{kind}"),
    ("GET", "/api/compare"),
    ("GET", "/api/compare/page"),
    ("DELETE", "/api/runs/{run_id}"),  # last: generated ids may (rarely) hit the stored run
]


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    # schemathesis' ASGI client sends Host "testserver"; every other name is refused by the app
    app = create_app(tmp_path_factory.mktemp("home"), workers=1, allowed_hosts=("testserver",))
    # one stored run, so that generated run ids (any unique prefix works) can hit a real one
    dashboard = app.state.dashboard
    job = dashboard.submit(name="kazakhstan-leaves", document=None, toml=None)
    deadline = time.monotonic() + 120
    while dashboard.job(job.id).state not in ("succeeded", "failed") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert dashboard.job(job.id).state == "succeeded"
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    dashboard.close()


def test_schema_lists_exactly_these_operations(api_schema: Any) -> None:
    found = {(result.ok().method.upper(), result.ok().path) for result in api_schema.get_all_operations()}
    assert found == set(OPERATIONS)


@pytest.mark.parametrize("method,path", OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation_never_fails_and_matches_its_schema(api_schema: Any, method: str, path: str) -> None:
    operation = api_schema[path][method]

    @given(case=operation.as_strategy())
    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=True)
    def check(case: Any) -> None:
        case.call_and_validate(checks=CHECKS)

    check()

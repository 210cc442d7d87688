"""The OpenAPI document, its docs page, and a bounded schemathesis run against a real server:
no 5xx and no response that breaks the document, whatever the input."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)

from api_support import Server, running_server

#: Examples per operation: enough to find a crash on odd input, small enough for `make test`.
EXAMPLES = 12


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, httpx.Client]]:
    home = Path(tmp_path_factory.mktemp("fuzz-home"))
    with running_server(home) as server, server.client() as client:
        yield server, client


def test_openapi_document_and_docs_page(fuzzed: tuple[Server, httpx.Client]) -> None:
    server, _ = fuzzed
    document = httpx.get(f"{server.url}/openapi.json").json()
    paths = set(document["paths"])
    assert "/data/foundation/flowservice/connections" in paths
    assert "/data/foundation/catalog/dataSets" in paths
    assert "/ims/token/v3" in paths
    assert httpx.get(f"{server.url}/docs").status_code == 200


def test_no_server_errors_and_responses_match_the_document(
    fuzzed: tuple[Server, httpx.Client],
) -> None:
    """Every operation, EXAMPLES generated requests each, with valid credentials (the
    schemathesis pytest plugin does not run under this pytest, so Hypothesis drives it)."""
    server, client = fuzzed
    document = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    operations = [result.ok() for result in document.get_all_operations()]
    assert len(operations) > 20
    failures: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def exercise(case: schemathesis.Case) -> None:
            headers = {**dict(client.headers), **(case.headers or {})}
            response = case.call(base_url=server.url, headers=headers)
            case.validate_response(
                response,
                checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
            )

        try:
            exercise()
        except Exception as exc:  # collect all, so one run shows every broken operation
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n\n".join(failures)

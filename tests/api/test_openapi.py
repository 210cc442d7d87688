"""The OpenAPI document, its docs page, and a bounded schemathesis run against a real server:
no 5xx and no response that breaks the document, whatever the input; and NUL bytes, control
characters and very long values in every path and query parameter of every route, against a
server with one resource of each kind so those values reach past the lookups: never a 5xx."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pyarrow.parquet as pq
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)
from schemathesis.core import NOT_SET

from api_support import ORG, Server, refused, running_server
from lakefeed.catalog.records import Scope
from lakefeed.specs import CLOUD_STORAGE_FLOW_SPEC_ID
from lakefeed.testing.profiles import create_profile_schema, profile_table

#: Examples per operation: enough to find a crash on odd input, small enough for `make test`.
EXAMPLES = 12
#: The headers of the document's security schemes, always sent with the client's values.
CREDENTIALS = ("authorization", "x-api-key", "x-gw-ims-org-id", "x-sandbox-name")


@pytest.fixture(scope="module")
def fuzzed(
    tmp_path_factory: pytest.TempPathFactory, server_database: Callable[[], str | None]
) -> Iterator[tuple[Server, httpx.Client]]:
    home = Path(tmp_path_factory.mktemp("fuzz-home"))
    with running_server(home, database_url=server_database()) as server, server.client() as client:
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
            # The document declares the credentials, so schemathesis makes up values for
            # them: the client's real ones replace those, whatever their case.
            generated = {
                name: value
                for name, value in (case.headers or {}).items()
                if name.lower() not in CREDENTIALS
            }
            headers = {**dict(client.headers), **generated}
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


# --- hostile path and query parameters --------------------------------------------------------

#: Control characters (NUL included), alone or inside ordinary text, and very long values.
CONTROL = st.characters(codec="utf-8", categories=["Cc"])
HOSTILE = st.one_of(
    st.tuples(st.text(max_size=12), st.text(max_size=12)).map("\x00".join),
    st.text(CONTROL, min_size=1, max_size=8),
    st.tuples(
        st.text(max_size=12), st.text(CONTROL, min_size=1, max_size=3), st.text(max_size=12)
    ).map("".join),
    st.tuples(st.sampled_from(["x", "a/", "%", "\x00"]), st.integers(300, 4000)).map(
        lambda repeat: repeat[0] * repeat[1]
    ),
)
#: Generated requests per parameter of each operation.
HOSTILE_EXAMPLES = 8
#: Every parameter gets each of these once, besides what Hypothesis draws.
CANONICAL_HOSTILE = ("\x00", "2026/a.parquet\x00.txt", "\x01\t\n\r\x1b\x7f", "é" * 600, "x" * 6000)


@dataclass(frozen=True)
class Seeded:
    """A server with one resource of every kind, so hostile values reach past the lookups."""

    server: Server
    client: httpx.Client
    good: dict[str, tuple[str, ...]]  # parameter (or "<resource>.id") → values that exist


@pytest.fixture(scope="module")
def seeded(
    tmp_path_factory: pytest.TempPathFactory, server_database: Callable[[], str | None]
) -> Iterator[Seeded]:
    landing = Path(tmp_path_factory.mktemp("fuzz-landing"))
    home = Path(tmp_path_factory.mktemp("fuzz-seeded-home"))
    with (
        running_server(home, local_roots=[landing], database_url=server_database()) as server,
        server.client() as client,
    ):
        lf = server.lf.scoped(Scope(ORG, "prod"))
        (landing / "drop").mkdir()
        pq.write_table(
            profile_table(5, tenant_id=lf.schemas.tenant_id), landing / "drop" / "a.parquet"
        )
        schema = create_profile_schema(lf.schemas)
        dataset = lf.datasets.create("profiles", schema["$id"])
        local = lf.create_connection("landing", "local-files", None, {"rootPath": str(landing)})
        lake = lf.connections.create_dataset_base_connection(name="lake")
        source = lf.flows.create_source_connection(
            name="src", base_connection_id=local.id, path="drop", recursive=True
        )
        target = lf.flows.create_target_connection(
            name="dst", dataset_id=dataset.id, base_connection_id=lake.id
        )
        flow = lf.flows.create_flow(
            name="flow", source_connection_ids=[source.id], target_connection_ids=[target.id]
        )
        run = lf.run_flow(flow)
        assert run.batch_id is not None
        good = {
            # The dataset base connection has no storage: routes stop before the parameters.
            "connections.id": (local.id,),
            "sourceConnections.id": (source.id,),
            "targetConnections.id": (target.id,),
            "flows.id": (flow.id,),
            "runs.id": (run.id,),
            "dataSets.id": (dataset.id,),
            "batches.id": (run.batch_id,),
            "files.id": (f"{run.batch_id}-1",),  # Data Access: the batch's first dataSetFile
            "datasets.id": (dataset.id,),
            "connectionSpecs.id": (local.connection_spec_id,),
            "flowSpecs.id": (CLOUD_STORAGE_FLOW_SPEC_ID,),
            "{kind}.id": (schema["$id"], schema["meta:altId"]),
            "container": ("tenant", "global"),
            "kind": ("schemas", "classes", "fieldgroups", "datatypes"),
            "objectType": ("file", "folder", "root"),
            "object": ("drop/a.parquet", "drop"),
            "preview": ("true",),
            "fileType": ("parquet",),
            "op": ("disable", "enable", "cancel"),
            "path": ("input_files", "row_errors"),
            "refresh": ("true",),
            "requestDataSource": ("true",),
            # The Iceberg REST catalog: sandbox prod, its namespace, the dataset's table.
            "prefix": ("prod",),
            "warehouse": ("prod",),
            "namespace": ("prod",),
            "table": ("profiles",),
        }
        yield Seeded(server, client, good)


def good_values(seed: Seeded, path: str, name: str) -> tuple[str, ...]:
    """Values of ``name`` in ``path`` that name something the seeded server has."""
    if name == "id":
        resource = path.split("/{id}")[0].rsplit("/", 1)[-1]
        return seed.good.get(f"{resource}.id", ())
    return seed.good.get(name, ())


def parameters(operation: Any) -> list[tuple[str, str]]:
    """``(location, name)`` of the operation's path and query parameters."""
    found = [("path", p.name) for p in operation.path_parameters]
    return found + [("query", p.name) for p in operation.query]


def send(
    seed: Seeded,
    operation: Any,
    values: dict[tuple[str, str], str],
    body: Any = NOT_SET,
) -> httpx.Response:
    path = operation.path
    for (where, name), value in values.items():
        if where == "path":
            path = path.replace("{" + name + "}", quote(value, safe=""))
    query = {name: value for (where, name), value in values.items() if where == "query"}
    method = operation.method.upper()
    if body is NOT_SET and method in ("POST", "PUT", "PATCH"):
        body = [] if method == "PATCH" else {}
    json_body = None if body is NOT_SET else body
    return seed.client.request(method, path, params=query, json=json_body)


def check_no_server_error(
    seed: Seeded, operation: Any, values: dict[tuple[str, str], str], body: Any = NOT_SET
) -> None:
    """Send, and fail (always from here, so Hypothesis replays agree) on a 5xx or a dropped
    connection (what uvicorn does after an unhandled exception)."""
    try:
        response = send(seed, operation, values, body)
        problem = None if response.status_code < 500 else response.text[:300]
        status = response.status_code
    except httpx.TransportError as exc:
        problem, status = f"connection dropped: {exc!r}", 0
    shown = {f"{where}:{name}": value[:40] for (where, name), value in values.items()}
    assert problem is None, f"{operation.label} answered {status} for {shown}: {problem}"


def test_hostile_path_and_query_parameters_are_refused_not_crashed(seeded: Seeded) -> None:
    """Every path and query parameter of every route, one at a time, gets NUL bytes, control
    characters and very long values, the others naming things that exist: never a 5xx."""
    document = schemathesis.openapi.from_url(f"{seeded.server.url}/openapi.json")
    failures: list[str] = []
    swept = 0
    for operation in (result.ok() for result in document.get_all_operations()):
        params = parameters(operation)
        defaults = {
            (where, name): good[0]
            for where, name in params
            if (good := good_values(seeded, operation.path, name))
        }
        for hostile_param in params:
            for value in CANONICAL_HOSTILE:
                values = {**defaults, hostile_param: value}
                if hostile_param[0] == "path":  # every path parameter must have a value
                    values.update({p: "x" for p in params if p[0] == "path" and p not in values})
                swept += 1
                try:
                    check_no_server_error(seeded, operation, values)
                except AssertionError as exc:
                    failures.append(str(exc))
    assert swept > 400
    assert not failures, "\n".join(failures)


def test_generated_hostile_parameters_never_answer_5xx(seeded: Seeded) -> None:
    """Property, for every path and query parameter of every route: whatever hostile value
    it takes, the others naming things that exist, with the bodies schemathesis generates,
    the route does not answer 5xx."""
    document = schemathesis.openapi.from_url(f"{seeded.server.url}/openapi.json")
    failures: list[str] = []
    for operation in (result.ok() for result in document.get_all_operations()):
        for target in parameters(operation):
            try:
                fuzz_parameter(seeded, operation, target)
            except Exception as exc:  # collect all, so one run shows every broken parameter
                failures.append(f"{operation.label} {target}: {exc}")
    assert not failures, "\n\n".join(failures)


def fuzz_parameter(seed: Seeded, operation: Any, target: tuple[str, str]) -> None:
    """HOSTILE_EXAMPLES requests to ``operation`` with a hostile ``target`` parameter; the
    others name things that exist (query parameters without such values are left out)."""
    params = parameters(operation)

    @given(case=operation.as_strategy(), data=st.data())
    @settings(
        max_examples=HOSTILE_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def exercise(case: schemathesis.Case, data: st.DataObject) -> None:
        values = {target: data.draw(HOSTILE, label=str(target))}
        for where, name in params:
            good = good_values(seed, operation.path, name)
            if (where, name) == target:
                continue
            if good:
                values[(where, name)] = data.draw(st.sampled_from(good), label=name)
            elif where == "path":
                values[(where, name)] = data.draw(HOSTILE, label=f"{where}:{name}")
        body = case.body if case.media_type == "application/json" else NOT_SET
        check_no_server_error(seed, operation, values, body)

    exercise()


def test_a_nul_byte_is_refused_with_the_parameter_named(seeded: Seeded) -> None:
    (connection,) = seeded.good["connections.id"]
    explore = f"/data/foundation/flowservice/connections/{connection}/explore"
    answer = seeded.client.get(explore, params={"objectType": "file", "object": "a\x00.parquet"})
    refused(answer, 400, "Query parameter 'object' contains a NUL byte")
    assert "%00" in answer.json()["report"]["fix"]
    refused(
        seeded.client.get("/data/foundation/flowservice/connections/a%00b"),
        400,
        "URL path contains a NUL byte",
    )

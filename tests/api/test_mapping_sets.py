"""Data Prep mapping sets over HTTP: created (both body shapes), read by version, updated into
new versions, listed and paged, validated and previewed without being stored, deleted unless
a flow applies them; sandboxes that never see each other's; the HTTP clients; and bad input
that is always a 4xx naming what is wrong, never a 5xx."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from api_support import ORG, Server, refused
from lakefeed.catalog.records import Scope
from lakefeed.client import AsyncClient, Client
from lakefeed.errors import MappingError, ResourceInUse, ResourceNotFound
from lakefeed.testing.profiles import create_profile_schema

DP = "/data/foundation/conversion"
FS = "/data/foundation/flowservice"
TENANT = "acme0001"


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture(scope="module")
def schema(server: Server) -> dict[str, Any]:
    return create_profile_schema(server.lf.scoped(Scope(ORG, "prod")).schemas)


@pytest.fixture(scope="module")
def dev(server: Server) -> Iterator[httpx.Client]:
    server.lf.auth.create_sandbox(ORG, "dev")
    with server.client(sandbox="dev") as client:
        yield client


def sandbox_with_schema(server: Server, sandbox: str) -> dict[str, Any]:
    """A new sandbox of ORG with the profile schema (schemas belong to one sandbox too)."""
    server.lf.auth.create_sandbox(ORG, sandbox)
    return create_profile_schema(server.lf.scoped(Scope(ORG, sandbox)).schemas)


def mapping_set(schema_ref: str, *mappings: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "outputSchema": {
            "schemaRef": {
                "id": schema_ref,
                "contentType": "application/vnd.adobe.xed-full+json;version=1",
            }
        },
        "mappings": list(mappings)
        or [
            {"sourceType": "ATTRIBUTE", "source": "first", "destination": "person.name.firstName"},
            {
                "sourceType": "EXPRESSION",
                "source": "upper(last)",
                "destination": "person.name.lastName",
                "name": "Last name",
                "description": "Upper-cased",
            },
        ],
        **extra,
    }


def dig(row: dict[str, Any], path: str) -> Any:
    value: Any = row
    for name in path.split("."):
        value = value.get(name) if isinstance(value, dict) else None
    return value


def attribute(source: str, destination: str) -> dict[str, Any]:
    return {"sourceType": "ATTRIBUTE", "source": source, "destination": destination}


def expression(source: str, destination: str) -> dict[str, Any]:
    return {"sourceType": "EXPRESSION", "source": source, "destination": destination}


# --- create, read, versions, list --------------------------------------------------------------


def test_create_read_update_and_read_each_version(
    api: httpx.Client, schema: dict[str, Any]
) -> None:
    # Named by its altId: stored (and compared with datasets' schemas) by its $id.
    body = mapping_set(schema["meta:altId"], name="people", description="From partner CSV")
    created = ok(api.post(f"{DP}/mappingSets", json=body), 201)
    assert re.fullmatch(r"[0-9a-f]{32}", created["id"]) and created["version"] == 0
    assert created["createdBy"] == created["modifiedBy"] == api.headers["x-api-key"]
    assert created["createdDate"] == created["modifiedDate"] > 0

    got = ok(api.get(f"{DP}/mappingSets/{created['id']}"))
    assert got["outputSchema"]["schemaRef"]["id"] == schema["$id"]
    assert got["xdmSchema"] == schema["$id"] and got["version"] == 0
    assert (got["name"], got["description"]) == ("people", "From partner CSV")
    first, last = got["mappings"]
    assert re.fullmatch(r"[0-9a-f]{32}", first["id"]) and first["id"] != last["id"]
    assert (first["sourceType"], first["source"], first["destination"]) == (
        "ATTRIBUTE",
        "first",
        "person.name.firstName",
    )
    # The older field names come along, for clients of the older API.
    assert (last["sourceAttribute"], last["destinationXdmPath"]) == (
        "upper(last)",
        "person.name.lastName",
    )
    assert (last["name"], last["description"]) == ("Last name", "Upper-cased")

    changed = mapping_set(schema["$id"], attribute("email", "personalEmail.address"))
    updated = ok(api.put(f"{DP}/mappingSets/{created['id']}", json=changed))
    assert updated["version"] == 1 and updated["createdDate"] == created["createdDate"]
    assert [m["destination"] for m in updated["mappings"]] == ["personalEmail.address"]
    assert "name" not in updated  # a version holds what its body said

    latest = ok(api.get(f"{DP}/mappingSets/{created['id']}"))
    assert latest["version"] == 1 and latest["mappings"] == updated["mappings"]
    old = ok(api.get(f"{DP}/mappingSets/{created['id']}", params={"version": 0}))
    assert old["mappings"] == got["mappings"]
    refused(
        api.get(f"{DP}/mappingSets/{created['id']}", params={"version": 2}), 404, "no version 2"
    )

    mappings = ok(api.get(f"{DP}/mappingSets/{created['id']}/mappings", params={"version": 0}))
    assert mappings == got["mappings"]
    one = ok(api.get(f"{DP}/mappingSets/{created['id']}/mappings/{first['id']}?version=0"))
    assert one == first
    refused(api.get(f"{DP}/mappingSets/{created['id']}/mappings/{first['id']}"), 404, "no mapping")

    expanded = ok(api.get(f"{DP}/mappingSets/{created['id']}", params={"expandSchema": "true"}))
    assert "person" in expanded["outputSchema"]["jsonSchema"]["properties"]

    # A client may send back what it read (ids, dates, older names): a new version again.
    again = ok(api.put(f"{DP}/mappingSets/{created['id']}", json=got))
    assert again["version"] == 2 and again["mappings"][0]["id"] == first["id"]


def test_the_older_body_shape_is_read(api: httpx.Client, schema: dict[str, Any]) -> None:
    body = {
        "version": 0,
        "xdmSchema": schema["$id"],
        "xdmVersion": "1.0",
        "id": None,
        "mappings": [
            {
                "destinationXdmPath": "person.name.firstName",
                "sourceAttribute": "first",
                "identity": False,
                "identityGroup": None,
                "namespaceCode": None,
                "version": 0,
            }
        ],
    }
    created = ok(api.post(f"{DP}/mappingSets", json=body), 201)
    (mapping,) = ok(api.get(f"{DP}/mappingSets/{created['id']}"))["mappings"]
    assert (mapping["sourceType"], mapping["source"], mapping["destination"]) == (
        "ATTRIBUTE",
        "first",
        "person.name.firstName",
    )
    identity = {**body["mappings"][0], "identity": True}
    refused(
        api.post(f"{DP}/mappingSets", json={**body, "mappings": [identity]}),
        400,
        "mappings[0].identity",
    )


def test_mapping_ids_that_are_not_ours_are_replaced(
    api: httpx.Client, schema: dict[str, Any]
) -> None:
    ours = "ab" * 16
    given = [
        {"id": ours, **attribute("first", "person.name.firstName")},
        {"id": ours, **attribute("last", "person.name.lastName")},  # taken by the first
        {"id": [1], **attribute("email", "personalEmail.address")},
        {"id": "short", **attribute("id", "_id")},
    ]
    created = ok(api.post(f"{DP}/mappingSets", json=mapping_set(schema["$id"], *given)), 201)
    ids = [m["id"] for m in ok(api.get(f"{DP}/mappingSets/{created['id']}"))["mappings"]]
    assert ids[0] == ours and len(set(ids)) == 4
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)


def test_list_pages_with_start_and_limit(server: Server) -> None:
    schema = sandbox_with_schema(server, "listing")
    with server.client(sandbox="listing") as listing:
        ids = [
            ok(
                listing.post(f"{DP}/mappingSets", json=mapping_set(schema["$id"], name=f"s{n}")),
                201,
            )["id"]
            for n in range(5)
        ]
        ok(listing.put(f"{DP}/mappingSets/{ids[0]}", json=mapping_set(schema["$id"], name="s0")))
        first = ok(listing.get(f"{DP}/mappingSets", params={"limit": 2}))
        assert first["_page"] == {"count": 5, "limit": 2}
        # Newest update first by default: the set updated last leads.
        assert [s["id"] for s in first["data"]] == [ids[0], ids[4]]
        assert first["data"][0]["version"] == 1  # only the latest version of each set
        seen = [s["id"] for s in first["data"]]
        href = first["_links"]["next"]["href"]
        while href:
            page = ok(listing.get(href))
            seen += [s["id"] for s in page["data"]]
            href = page["_links"].get("next", {}).get("href")
        assert sorted(seen) == sorted(ids) and len(seen) == 5
        oldest = ok(listing.get(f"{DP}/mappingSets", params={"orderBy": "+createdDate"}))
        assert [s["id"] for s in oldest["data"]] == ids
        named = ok(listing.get(f"{DP}/mappingSets", params={"name": "s3"}))
        assert [s["id"] for s in named["data"]] == [ids[3]]
        refused(listing.get(f"{DP}/mappingSets", params={"orderBy": "name"}), 400, "orderBy")


# --- refusals at create and update ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("mapping", "words"),
    [
        (expression("frobnicate(first)", "person.name.firstName"), ["frobnicate"]),
        (expression("concat(first, ", "person.name.firstName"), ["concat(first, "]),
        (attribute("first", "person.name.nickname"), ["person.name.nickname"]),
        (attribute("first", f"_{TENANT}.loyalty.nope"), [f"_{TENANT}.loyalty.nope"]),
    ],
    ids=["unknown function", "syntax", "destination not in schema", "tenant path not in schema"],
)
def test_create_and_update_refuse_bad_mappings_naming_them(
    api: httpx.Client, schema: dict[str, Any], mapping: dict[str, Any], words: list[str]
) -> None:
    before = ok(api.get(f"{DP}/mappingSets", params={"limit": 100}))["_page"]["count"]
    body = mapping_set(schema["$id"], attribute("first", "person.name.firstName"), mapping)
    answer = refused(api.post(f"{DP}/mappingSets", json=body), 400, *words)
    assert answer["report"]["code"] == MappingError.code
    existing = ok(api.post(f"{DP}/mappingSets", json=mapping_set(schema["$id"])), 201)
    refused(api.put(f"{DP}/mappingSets/{existing['id']}", json=body), 400, *words)
    assert ok(api.get(f"{DP}/mappingSets/{existing['id']}"))["version"] == 0
    after = ok(api.get(f"{DP}/mappingSets", params={"limit": 100}))["_page"]["count"]
    assert after == before + 1  # the refused bodies stored nothing


def test_an_unknown_output_schema_is_400_naming_it(api: httpx.Client) -> None:
    body = mapping_set("https://ns.adobe.com/acme0001/schemas/nope")
    refused(api.post(f"{DP}/mappingSets", json=body), 400, "outputSchema.schemaRef.id", "nope")
    refused(api.put(f"{DP}/mappingSets/{'0' * 32}", json=body), 404, "No mapping set")


# --- validate and preview ----------------------------------------------------------------------


def test_validate_reports_each_mappings_problems_with_200(
    api: httpx.Client, schema: dict[str, Any]
) -> None:
    body = mapping_set(
        schema["$id"],
        attribute("first", "person.name.firstName"),
        expression("upper(surname)", "person.name.lastName"),
        expression("frobnicate(first)", "personalEmail.address"),
        inputSchema={
            "jsonSchema": {
                "type": "object",
                "properties": {"first": {"type": "string"}, "last": {"type": "string"}},
            }
        },
    )
    before = ok(api.get(f"{DP}/mappingSets", params={"limit": 100}))["_page"]["count"]
    result = ok(api.post(f"{DP}/mappingSets/validate", json=body))
    assert result["status"] == "FAILED" and result["sourceSchemaChecked"] is True
    good, missing, unknown = result["validationResponse"]
    assert good == {"status": "SUCCESS", "errors": None}
    assert missing["status"] == "FAILED" and "surname" in missing["errors"][0]["exception"]
    assert missing["errors"][0]["destination"] == "person.name.lastName"
    assert unknown["status"] == "FAILED" and "frobnicate" in unknown["errors"][0]["exception"]

    # Sample rows stand for the source when there is no inputSchema.
    no_input = {k: v for k, v in body.items() if k != "inputSchema"}
    fixed = {**no_input, "mappings": no_input["mappings"][:2]}
    rows = [{"first": "Ada", "surname": "Lovelace"}]
    passed = ok(api.post(f"{DP}/mappingSets/validate", json={"mappingSet": fixed, "data": rows}))
    assert passed["status"] == "SUCCESS" and passed["sourceSchemaChecked"] is True
    unchecked = ok(api.post(f"{DP}/mappingSets/validate", json=fixed))
    assert unchecked["status"] == "SUCCESS" and unchecked["sourceSchemaChecked"] is False
    assert ok(api.get(f"{DP}/mappingSets", params={"limit": 100}))["_page"]["count"] == before


def test_preview_maps_sample_rows_and_names_the_values_that_failed(
    api: httpx.Client, schema: dict[str, Any]
) -> None:
    body = mapping_set(
        schema["$id"],
        attribute("first", "person.name.firstName"),
        expression("concat(upper(last), '!')", "person.name.lastName"),
        expression("to_integer(points)", f"_{TENANT}.loyalty.points"),
    )
    rows = [
        {"first": "Ada", "last": "Lovelace", "points": "10"},
        {"first": "Alan", "last": "Turing", "points": "many"},
    ]
    result = ok(api.post(f"{DP}/mappingSets/preview", json={"mappingSet": body, "data": rows}))
    first, second = result["data"]
    assert first["person"]["name"] == {"firstName": "Ada", "lastName": "LOVELACE!"}
    assert first[f"_{TENANT}"]["loyalty"]["points"] == 10
    assert second["person"]["name"]["lastName"] == "TURING!"
    assert dig(second, f"_{TENANT}.loyalty.points") is None  # an empty parent may be null too
    (error,) = result["errors"]
    assert error["row"] == 1 and error["destination"] == f"_{TENANT}.loyalty.points"
    assert "many" in error["exception"]
    # One row as an object, as Data Prep's own example sends it.
    single = ok(api.post(f"{DP}/mappingSets/preview", json={"mappingSet": body, "data": rows[0]}))
    assert single["data"] == [first] and single["errors"] == []


def test_preview_reports_source_fields_the_sample_lacks(
    api: httpx.Client, schema: dict[str, Any]
) -> None:
    body = mapping_set(schema["$id"], attribute("nickname", "person.name.firstName"))
    result = ok(
        api.post(f"{DP}/mappingSets/preview", json={"mappingSet": body, "data": [{"first": "A"}]})
    )
    assert any("nickname" in e["exception"] for e in result["errors"]), result


# --- delete --------------------------------------------------------------------------------------


def test_delete_is_refused_while_a_flow_applies_the_set(
    server: Server, api: httpx.Client, schema: dict[str, Any], tmp_path_factory: Any
) -> None:
    created = ok(api.post(f"{DP}/mappingSets", json=mapping_set(schema["$id"])), 201)
    ok(api.put(f"{DP}/mappingSets/{created['id']}", json=mapping_set(schema["$id"])))
    lf = server.lf.scoped(Scope(ORG, "prod"))
    folder = tmp_path_factory.mktemp("mapped-drops")
    connection = lf.create_connection("mapped", "local-files", None, {"rootPath": str(folder)})
    dataset = lf.datasets.create("mapped people", schema["$id"])
    source = lf.flows.create_source_connection(
        name="mapped-src", base_connection_id=connection.id, path=str(folder)
    )
    target = lf.flows.create_target_connection(name="mapped-dst", dataset_id=dataset.id)
    transformation = {
        "name": "Mapping",
        "params": {"mappingId": created["id"], "mappingVersion": 0},
    }
    flow = lf.flows.create_flow(
        name="mapped flow",
        source_connection_ids=[source.id],
        target_connection_ids=[target.id],
        transformations=[transformation],
    )
    answer = refused(api.delete(f"{DP}/mappingSets/{created['id']}"), 400, "'mapped flow'")
    assert answer["report"]["code"] == ResourceInUse.code
    assert ok(api.get(f"{DP}/mappingSets/{created['id']}"))["version"] == 1

    lf.delete_flow(flow.id)
    assert api.delete(f"{DP}/mappingSets/{created['id']}").status_code == 204
    for version in ("0", "1"):
        refused(api.get(f"{DP}/mappingSets/{created['id']}?version={version}"), 404)
    refused(api.delete(f"{DP}/mappingSets/{created['id']}"), 404, "No mapping set")


def test_other_sandboxes_never_see_a_mapping_set(
    api: httpx.Client, dev: httpx.Client, schema: dict[str, Any]
) -> None:
    created = ok(api.post(f"{DP}/mappingSets", json=mapping_set(schema["$id"])), 201)
    url = f"{DP}/mappingSets/{created['id']}"
    refused(dev.get(url), 404, "sandbox 'dev'")
    refused(dev.get(f"{url}/mappings"), 404)
    refused(dev.put(url, json=mapping_set(schema["$id"])), 404)
    refused(dev.delete(url), 404)
    assert created["id"] not in {s["id"] for s in ok(dev.get(f"{DP}/mappingSets"))["data"]}
    assert ok(api.get(url))["version"] == 0


# --- the HTTP clients ----------------------------------------------------------------------------


def test_the_clients_manage_mapping_sets(server: Server) -> None:
    schema = sandbox_with_schema(server, "clients")
    api_key, secret = server.lf.auth.create_client(ORG)
    options: dict[str, Any] = {
        "api_key": api_key,
        "client_secret": secret,
        "ims_org_id": ORG,
        "sandbox_name": "clients",
    }
    with Client(server.url, **options) as client:
        created = client.create_mapping_set(mapping_set(schema["$id"], name="by client"))
        assert created["version"] == 0
        updated = client.update_mapping_set(created["id"], mapping_set(schema["$id"]))
        assert updated["version"] == 1
        assert client.mapping_set(created["id"], version=0)["name"] == "by client"
        assert "jsonSchema" in client.mapping_set(created["id"], expand_schema=True)["outputSchema"]
        for n in range(101):  # more than one page of the listing
            client.create_mapping_set(mapping_set(schema["$id"], name=f"page {n}"))
        listed = list(client.mapping_sets(order_by="createdDate"))
        assert len(listed) == 102 and listed[0]["id"] == created["id"]
        assert [s["id"] for s in client.mapping_sets(name="page 7")] == [listed[8]["id"]]
        checked = client.validate_mapping_set(mapping_set(schema["$id"]), [{"first": "A"}])
        assert checked["status"] == "FAILED"  # the sample has no "last"
        previewed = client.preview_mapping_set(
            mapping_set(schema["$id"]), [{"first": "Ada", "last": "Lovelace"}]
        )
        assert previewed["data"][0]["person"]["name"]["lastName"] == "LOVELACE"
        with pytest.raises(MappingError, match="frobnicate"):
            client.create_mapping_set(
                mapping_set(schema["$id"], expression("frobnicate(a)", "person.name.firstName"))
            )
        client.delete_mapping_set(created["id"])
        with pytest.raises(ResourceNotFound):
            client.mapping_set(created["id"])

    async def use_async() -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
        async with AsyncClient(server.url, **options) as client:
            made = await client.create_mapping_set(mapping_set(schema["$id"], name="async"))
            found = [s async for s in client.mapping_sets(name="async")]
            shown = await client.preview_mapping_set(
                mapping_set(schema["$id"]), {"first": "Grace", "last": "Hopper"}
            )
            await client.delete_mapping_set(made["id"])
            return made, found, shown

    made, found, shown = asyncio.run(use_async())
    assert [s["id"] for s in found] == [made["id"]]
    assert shown["data"][0]["person"]["name"]["lastName"] == "HOPPER"


# --- bad input: 4xx naming the problem, never 5xx ----------------------------------------------


def _deep(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = {"a": value}
    return value


BAD_BODIES = {
    "a list": ([], "valid dictionary"),  # FastAPI's words; in a preview body, lakefeed's
    "no mappings": ({"mappings": []}, "non-empty list"),
    "mappings not a list": ({"mappings": "first"}, "mappings"),
    "a mapping not an object": ({"mappings": [1]}, "mappings[0]"),
    "no destination": ({"mappings": [{"source": "a"}]}, "mappings[0].destination"),
    "a number for a source": ({"mappings": [{"source": 5, "destination": "d"}]}, "source"),
    "STATIC": (
        {"mappings": [{"sourceType": "STATIC", "source": "a", "destination": "d"}]},
        "STATIC",
    ),
    "sourceType a list": (
        {"mappings": [{"sourceType": ["A"], "source": "a", "destination": "d"}]},
        "sourceType",
    ),
    "unknown field": ({"strictMapping": True}, "strictMapping"),
    "unknown mapping field": ({"mappings": [{"source": "a", "destination": "d", "x": 1}]}, "'x'"),
    "outputSchema a number": ({"outputSchema": 5}, "outputSchema"),
    "bad contentType": (
        {"outputSchema": {"schemaRef": {"id": "s", "contentType": "text/csv"}}},
        "contentType",
    ),
    "name a number": ({"name": 5}, "name"),
    "NUL in a source": ({"mappings": [{"source": "a\x00b", "destination": "d"}]}, "NUL"),
    "NUL in a name": ({"name": "a\x00b"}, "NUL"),
    "nested too deep": ({"inputSchema": {"jsonSchema": _deep(200)}}, "levels deep"),
    "inputSchema by Data Prep id": ({"inputSchema": {"id": "abc", "version": 0}}, "Data Prep"),
    "inputSchema bad jsonSchema": (
        {"inputSchema": {"jsonSchema": {"properties": {"a": {"type": "blob"}}}}},
        "inputSchema.jsonSchema",
    ),
}


@pytest.mark.parametrize("case", list(BAD_BODIES), ids=list(BAD_BODIES))
def test_bad_mapping_set_bodies_are_400_naming_the_field(
    api: httpx.Client, schema: dict[str, Any], case: str
) -> None:
    change, word = BAD_BODIES[case]
    body: Any = change if isinstance(change, list) else {**mapping_set(schema["$id"]), **change}
    for route in ("mappingSets", "mappingSets/validate"):
        refused(api.post(f"{DP}/{route}", json=body), 400, word)
    preview = {"mappingSet": body, "data": [{"first": "a"}]}
    inner = "is a JSON object, not a list" if case == "a list" else word
    refused(api.post(f"{DP}/mappingSets/preview", json=preview), 400, inner)


def test_malformed_json_and_odd_text_are_400(api: httpx.Client, schema: dict[str, Any]) -> None:
    headers = {"Content-Type": "application/json"}
    for route in ("mappingSets", "mappingSets/validate", "mappingSets/preview"):
        refused(api.post(f"{DP}/{route}", content=b'{"mappings": [', headers=headers), 400, "JSON")
    sent = json.dumps(mapping_set(schema["$id"], attribute("\ud800", "person.name.firstName")))
    refused(api.post(f"{DP}/mappingSets", content=sent, headers=headers), 400, "surrogate")
    deep = "(" * 20000 + "first" + ")" * 20000
    answer = api.post(
        f"{DP}/mappingSets",
        json=mapping_set(schema["$id"], expression(deep, "person.name.firstName")),
    )
    assert answer.status_code == 400, answer.text[:300]
    huge = mapping_set(schema["$id"], name="x", description="d" * 2_000_000)
    refused(api.post(f"{DP}/mappingSets", json=huge), 413, "larger than")


@pytest.mark.parametrize(
    ("data", "word"),
    [
        ("rows", "data must be a list"),
        ([1, 2], "data[0]"),
        ([{"first": "a"}, {"first": 5}], "one table"),
        ([{"first": 10**40}], "one table"),
        ([{"first": "a"}] * 1001, "at most 1000"),
        ([{"first": "a\x00"}], "NUL"),
        ([_deep(100)], "levels deep"),
    ],
    ids=["a string", "numbers", "mixed types", "huge integer", "too many", "NUL", "deep"],
)
def test_bad_sample_rows_are_400(
    api: httpx.Client, schema: dict[str, Any], data: Any, word: str
) -> None:
    body = {"mappingSet": mapping_set(schema["$id"]), "data": data}
    for route in ("validate", "preview"):
        refused(api.post(f"{DP}/mappingSets/{route}", json=body), 400, word)


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("1" * 5000, ["position 1 ", "5,000 characters", "at most 100"]),
        ("+".join(["first"] * 20_000), ["position 600 ", "more than 100 levels deep"]),
    ],
    ids=["5,000-digit number", "20,000-term chain"],
)
def test_over_long_numbers_and_over_deep_expressions_are_refused_naming_the_limit(
    api: httpx.Client, schema: dict[str, Any], source: str, words: list[str]
) -> None:
    body = mapping_set(schema["$id"], expression(source, "person.name.firstName"))
    answer = refused(api.post(f"{DP}/mappingSets", json=body), 400, *words)
    assert answer["report"]["code"] == MappingError.code
    sample = {"mappingSet": body, "data": [{"first": "Ada"}]}
    refused(api.post(f"{DP}/mappingSets/preview", json=sample), 400, *words)
    # validate answers 200 with each mapping's problems (see the validate tests above)
    result = ok(api.post(f"{DP}/mappingSets/validate", json=sample))
    assert result["status"] == "FAILED"
    (mapping,) = result["validationResponse"]
    assert mapping["status"] == "FAILED"
    assert all(word in mapping["errors"][0]["exception"] for word in words), mapping


def test_non_finite_numbers_come_back_as_text(api: httpx.Client, schema: dict[str, Any]) -> None:
    # Python's JSON reader takes NaN and Infinity; JSON has no way to write them back.
    body = mapping_set(schema["$id"], attribute("lat", "homeAddress._schema.latitude"))
    rows = [{"lat": float("nan")}, {"lat": float("-inf")}, {"lat": 1.5}]
    sent = json.dumps({"mappingSet": body, "data": rows})
    answer = api.post(
        f"{DP}/mappingSets/preview", content=sent, headers={"Content-Type": "application/json"}
    )
    mapped = ok(answer)["data"]
    assert [dig(r, "homeAddress._schema.latitude") for r in mapped] == ["nan", "-inf", 1.5]


@pytest.mark.parametrize(
    "query",
    [
        {"version": "-1"},
        {"version": str(2**40)},
        {"version": "latest"},
        {"expandSchema": "maybe"},
    ],
)
def test_bad_query_parameters_are_400(
    api: httpx.Client, schema: dict[str, Any], query: dict[str, str]
) -> None:
    created = ok(api.post(f"{DP}/mappingSets", json=mapping_set(schema["$id"])), 201)
    refused(api.get(f"{DP}/mappingSets/{created['id']}", params=query), 400)
    if "version" in query:
        refused(api.get(f"{DP}/mappingSets/{created['id']}/mappings", params=query), 400)


@pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "101"}, {"start": "-1"}])
def test_bad_list_parameters_are_400(api: httpx.Client, query: dict[str, str]) -> None:
    refused(api.get(f"{DP}/mappingSets", params=query), 400)


def test_a_registry_schema_can_be_the_input_schema(
    api: httpx.Client, schema: dict[str, Any]
) -> None:
    from_xdm = mapping_set(
        schema["$id"],
        attribute("person.name.firstName", "person.name.lastName"),
        attribute("person.name.nope", "person.name.firstName"),
        inputSchema={"schemaRef": {"id": schema["meta:altId"]}},
    )
    result = ok(api.post(f"{DP}/mappingSets/validate", json=from_xdm))
    assert [c["status"] for c in result["validationResponse"]] == ["SUCCESS", "FAILED"]
    assert "person.name.nope" in result["validationResponse"][1]["errors"][0]["exception"]
    created = ok(api.post(f"{DP}/mappingSets", json=from_xdm), 201)  # sources are not checked
    stored = ok(api.get(f"{DP}/mappingSets/{created['id']}"))
    assert stored["inputSchema"] == {
        "schemaRef": {
            "id": schema["$id"],
            "contentType": "application/vnd.adobe.xed-full+json;version=1",
        }
    }
    unknown = {**from_xdm, "inputSchema": {"schemaRef": {"id": "_acme0001.schemas.nope"}}}
    refused(api.post(f"{DP}/mappingSets", json=unknown), 400, "inputSchema.schemaRef.id")

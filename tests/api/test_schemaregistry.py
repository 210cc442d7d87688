"""The Schema Registry over HTTP: a Profile schema made of the standard class, standard field
groups and a tenant field group; its Accept variants, lists, lookups by altId and encoded $id,
PATCH, DELETE, sandbox isolation, /stats, and bad input answered with 4xx."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from api_support import ORG, Server, refused
from lakefeed.testing.profiles import PROFILE_CLASS, PROFILE_FIELD_GROUPS, loyalty_field_group

SR = "/data/foundation/schemaregistry"
TENANT = "acme0001"  # of ORG
XED = "application/vnd.adobe.xed+json; version=1"
XED_FULL = "application/vnd.adobe.xed-full+json; version=1"
XED_NOTEXT = "application/vnd.adobe.xed-notext+json; version=1"
XED_FULL_NOTEXT = "application/vnd.adobe.xed-full-notext+json; version=1"
XED_FULL_DESC = "application/vnd.adobe.xed-full-desc+json; version=1"
XED_ID = "application/vnd.adobe.xed-id+json"
WORK_DETAILS = "https://ns.adobe.com/xdm/context/profile-work-details"


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def schema_body(title: str, *refs: str) -> dict[str, Any]:
    return {"title": title, "type": "object", "allOf": [{"$ref": ref} for ref in refs]}


def texts(node: Any, names: bool = False) -> list[str]:
    """Every title/description value in ``node``, field names excepted."""
    found: list[str] = []
    if isinstance(node, list):
        for item in node:
            found += texts(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if not names and key in ("title", "description"):
                found.append(str(value))
            found += texts(value, names=not names and key in ("properties", "definitions"))
    return found


@pytest.fixture(scope="module")
def loyalty(api: httpx.Client) -> dict[str, Any]:
    body: dict[str, Any] = ok(
        api.post(f"{SR}/tenant/fieldgroups", json=loyalty_field_group(TENANT)), 201
    )
    return body


@pytest.fixture(scope="module")
def profile_schema(api: httpx.Client, loyalty: dict[str, Any]) -> dict[str, Any]:
    refs = (PROFILE_CLASS, *PROFILE_FIELD_GROUPS, loyalty["$id"])
    body: dict[str, Any] = ok(
        api.post(f"{SR}/tenant/schemas", json=schema_body("Loyalty members", *refs)), 201
    )
    return body


@pytest.fixture(scope="module")
def dev(server: Server) -> Iterator[httpx.Client]:
    server.lf.auth.create_sandbox(ORG, "dev")
    with server.client(sandbox="dev") as client:
        yield client


def test_create_answers_the_document_with_what_the_registry_computes(
    profile_schema: dict[str, Any], loyalty: dict[str, Any]
) -> None:
    assert profile_schema["$id"].startswith(f"https://ns.adobe.com/{TENANT}/schemas/")
    assert profile_schema["meta:altId"].startswith(f"_{TENANT}.schemas.")
    assert profile_schema["version"] == "1.0"
    assert profile_schema["meta:class"] == PROFILE_CLASS
    assert profile_schema["meta:containerId"] == "tenant"
    extends = profile_schema["meta:extends"]
    assert {PROFILE_CLASS, *PROFILE_FIELD_GROUPS, loyalty["$id"]} <= set(extends)
    assert "https://ns.adobe.com/xdm/data/record" in extends
    assert loyalty["meta:resourceType"] == "mixins"


def test_each_accept_variant(api: httpx.Client, profile_schema: dict[str, Any]) -> None:
    url = f"{SR}/tenant/schemas/{quote(profile_schema['$id'], safe='')}"
    raw = ok(api.get(url, headers={"Accept": XED}))
    assert raw["title"] == "Loyalty members"
    assert raw["allOf"][0]["$ref"] == PROFILE_CLASS and "properties" not in raw

    full = ok(api.get(url, headers={"Accept": XED_FULL}))
    assert "$ref" not in json.dumps(full) and "allOf" not in full
    assert {"person", "personalEmail", "identityMap", f"_{TENANT}"} <= set(full["properties"])
    loyalty_fields = full["properties"][f"_{TENANT}"]["properties"]["loyalty"]
    assert loyalty_fields["required"] == ["loyaltyId"]
    assert full["title"] == "Loyalty members" and full["meta:class"] == PROFILE_CLASS
    assert texts(full)  # titles of fields too

    notext = ok(api.get(url, headers={"Accept": XED_NOTEXT}))
    assert texts(notext) == [] and notext["allOf"] == raw["allOf"]
    full_notext = ok(api.get(url, headers={"Accept": XED_FULL_NOTEXT}))
    assert texts(full_notext) == []
    assert set(full_notext["properties"]) == set(full["properties"])
    assert ok(api.get(url, headers={"Accept": XED_FULL_DESC})) == full

    summary = ok(api.get(url, headers={"Accept": f"{XED_ID}; version=1"}))
    assert summary == {
        "$id": profile_schema["$id"],
        "meta:altId": profile_schema["meta:altId"],
        "version": "1.0",
        "title": "Loyalty members",
    }


def test_a_lookup_must_ask_for_version_1(api: httpx.Client, profile_schema: dict[str, Any]) -> None:
    url = f"{SR}/tenant/schemas/{profile_schema['meta:altId']}"
    no_version = api.get(url, headers={"Accept": "application/vnd.adobe.xed-full+json"})
    refused(no_version, 406, "version")
    assert "version=1" in no_version.json()["report"]["fix"]
    refused(api.get(url, headers={"Accept": "application/json"}), 406)
    refused(api.get(url, headers={"Accept": XED.replace("1", "2")}), 404, "version 2")


def test_alt_id_and_encoded_id_find_the_same_schema(
    api: httpx.Client, profile_schema: dict[str, Any]
) -> None:
    for id in (profile_schema["meta:altId"], quote(profile_schema["$id"], safe="")):
        found = ok(api.get(f"{SR}/tenant/schemas/{id}", headers={"Accept": XED}))
        assert found["$id"] == profile_schema["$id"]
    standard = ok(api.get(f"{SR}/global/classes/_xdm.context.profile", headers={"Accept": XED}))
    assert standard["$id"] == PROFILE_CLASS


def test_lists_in_both_accept_variants(
    api: httpx.Client, profile_schema: dict[str, Any], loyalty: dict[str, Any]
) -> None:
    summaries = ok(api.get(f"{SR}/tenant/schemas", headers={"Accept": XED_ID}))
    mine = [s for s in summaries["results"] if s["$id"] == profile_schema["$id"]]
    assert mine == [
        {
            "$id": profile_schema["$id"],
            "meta:altId": profile_schema["meta:altId"],
            "version": "1.0",
            "title": "Loyalty members",
        }
    ]
    assert summaries["_page"]["count"] == len(summaries["results"])
    assert summaries["_page"]["next"] is None
    assert summaries["_links"]["global_schemas"]["href"].endswith("/global/schemas")

    documents = ok(api.get(f"{SR}/tenant/schemas", headers={"Accept": XED.split(";")[0]}))
    full = next(d for d in documents["results"] if d["$id"] == profile_schema["$id"])
    assert full["allOf"] == profile_schema["allOf"]

    for kind in ("fieldgroups", "mixins"):
        groups = ok(api.get(f"{SR}/tenant/{kind}", headers={"Accept": XED_ID}))
        assert loyalty["$id"] in {g["$id"] for g in groups["results"]}
    classes = ok(api.get(f"{SR}/global/classes", headers={"Accept": XED_ID}))
    assert PROFILE_CLASS in {c["$id"] for c in classes["results"]}
    behaviors = ok(api.get(f"{SR}/global/behaviors", headers={"Accept": XED_ID}))
    assert "https://ns.adobe.com/xdm/data/record" in {b["$id"] for b in behaviors["results"]}
    assert ok(api.get(f"{SR}/tenant/behaviors"))["results"] == []
    refused(api.get(f"{SR}/tenant/schemas", headers={"Accept": "text/csv"}), 406)


def test_list_pages_follow_start_and_filters_apply(api: httpx.Client) -> None:
    everything = ok(api.get(f"{SR}/global/fieldgroups", headers={"Accept": XED_ID}))["results"]
    assert len(everything) >= 4
    seen: list[str] = []
    params: dict[str, Any] = {"orderby": "title", "limit": 2}
    while True:
        page = ok(api.get(f"{SR}/global/fieldgroups", params=params, headers={"Accept": XED_ID}))
        seen += [r["$id"] for r in page["results"]]
        if page["_page"]["next"] is None:
            break
        assert page["_links"]["next"]["href"].startswith(f"{SR}/global/fieldgroups?")
        params["start"] = page["_page"]["next"]
    assert sorted(seen) == sorted(r["$id"] for r in everything) and len(set(seen)) == len(seen)

    backwards = ok(api.get(f"{SR}/global/fieldgroups", params={"orderby": "-title"}))
    titles = [r["title"] for r in backwards["results"]]
    assert titles == sorted(titles, key=str.lower, reverse=True)
    filtered = ok(
        api.get(f"{SR}/global/fieldgroups", params={"property": "title==Demographic Details"})
    )
    assert [r["title"] for r in filtered["results"]] == ["Demographic Details"]
    matching = ok(api.get(f"{SR}/global/fieldgroups", params={"property": "title~Contact"}))
    assert {r["title"] for r in matching["results"]} >= {"Personal Contact Details"}
    refused(api.get(f"{SR}/global/fieldgroups", params={"limit": 0}), 400, "limit")
    refused(api.get(f"{SR}/global/fieldgroups", params={"property": "title~("}), 400, "regular")


def test_tenant_lists_page_by_creation_time_and_filter_on_lists(
    api: httpx.Client, profile_schema: dict[str, Any]
) -> None:
    for n in range(3):
        ok(api.post(f"{SR}/tenant/schemas", json=schema_body(f"Paged {n}", PROFILE_CLASS)), 201)
    worker = ok(
        api.post(f"{SR}/tenant/schemas", json=schema_body("Workers", PROFILE_CLASS, WORK_DETAILS)),
        201,
    )
    # Ties in creation time (same millisecond) are broken by title, descending.
    created = "-meta:registryMetadata.repo:createdDate"
    seen: list[str] = []
    params: dict[str, Any] = {
        "orderby": f"{created},-title",
        "limit": 1,
        "property": "title~^Paged",
    }
    while True:
        page = ok(api.get(f"{SR}/tenant/schemas", params=params, headers={"Accept": XED}))
        seen += [r["title"] for r in page["results"]]
        if page["_page"]["next"] is None:
            break
        params["start"] = page["_page"]["next"]
    assert seen == ["Paged 2", "Paged 1", "Paged 0"]
    params = {"property": f"meta:extends=={WORK_DETAILS}"}
    using = ok(api.get(f"{SR}/tenant/schemas", params=params, headers={"Accept": XED}))
    assert worker["$id"] in {r["$id"] for r in using["results"]}
    assert all(WORK_DETAILS in r["meta:extends"] for r in using["results"])
    loyal = ok(api.get(f"{SR}/tenant/schemas", params={"property": f"meta:class=={PROFILE_CLASS}"}))
    assert profile_schema["$id"] in {r["$id"] for r in loyal["results"]}
    params = {"orderby": created, "start": "yesterday"}
    refused(api.get(f"{SR}/tenant/schemas", params=params), 400, "not a number")


def test_patch_adds_a_field_group_and_keeps_meta_extends(api: httpx.Client) -> None:
    schema = ok(
        api.post(
            f"{SR}/tenant/schemas",
            json=schema_body("Patched", PROFILE_CLASS, PROFILE_FIELD_GROUPS[0]),
        ),
        201,
    )
    url = f"{SR}/tenant/schemas/{schema['meta:altId']}"
    patch = [
        {"op": "add", "path": "/allOf/-", "value": {"$ref": WORK_DETAILS}},
        {"op": "add", "path": "/meta:extends/-", "value": WORK_DETAILS},
        {"op": "replace", "path": "/title", "value": "Patched with work details"},
        {"op": "add", "path": "/description", "value": "now with work details"},
    ]
    refused(api.patch(url, json=patch, headers={"If-Match": '"stale"'}), 412)
    patched = ok(api.patch(url, json=patch))
    assert patched["$id"] == schema["$id"] and patched["version"] == "1.1"
    assert [p["$ref"] for p in patched["allOf"]][-1] == WORK_DETAILS
    assert patched["meta:extends"].count(WORK_DETAILS) == 1
    assert patched["title"] == "Patched with work details"
    full = ok(api.get(url, headers={"Accept": XED_FULL}))
    assert {"workAddress", "workEmail", "person"} <= set(full["properties"])
    etag = patched["meta:registryMetadata"]["eTag"]
    again = [{"op": "replace", "path": "/title", "value": "Patched again"}]
    assert ok(api.patch(url, json=again, headers={"If-Match": etag}))["version"] == "1.2"

    replaced = ok(api.put(url, json=schema_body("Put back", PROFILE_CLASS)))
    assert [p["$ref"] for p in replaced["allOf"]] == [PROFILE_CLASS]
    assert WORK_DETAILS not in replaced["meta:extends"]


def test_patch_refuses_what_would_break(api: httpx.Client, loyalty: dict[str, Any]) -> None:
    schema = ok(api.post(f"{SR}/tenant/schemas", json=schema_body("Strict", PROFILE_CLASS)), 201)
    url = f"{SR}/tenant/schemas/{schema['meta:altId']}"
    bad_path = [{"op": "replace", "path": "/meta:class", "value": WORK_DETAILS}]
    refused(api.patch(url, json=bad_path), 400, "/meta:class")
    data_type = "https://ns.adobe.com/xdm/context/person"
    refused(
        api.patch(url, json=[{"op": "add", "path": "/allOf/-", "value": {"$ref": data_type}}]),
        400,
        "data type",
    )
    refused(api.patch(url, json=[{"op": "remove", "path": "/allOf/0"}]), 400, "exactly one class")

    # A field group cannot change so that a schema using it no longer composes.
    group = ok(api.post(f"{SR}/tenant/fieldgroups", json=_tier_group("string")), 201)
    both = schema_body("Loyalty and tiers", PROFILE_CLASS, loyalty["$id"], group["$id"])
    user = ok(api.post(f"{SR}/tenant/schemas", json=both), 201)
    group_url = f"{SR}/tenant/fieldgroups/{group['meta:altId']}"
    refused(api.put(group_url, json=_tier_group("integer")), 400, "Loyalty and tiers", user["$id"])
    assert ok(api.get(group_url, headers={"Accept": XED}))["version"] == "1.0"


def _tier_group(tier_type: str) -> dict[str, Any]:
    """A field group that also defines the loyalty tier, with ``tier_type``."""
    tier = {"type": tier_type}
    loyalty = {"type": "object", "properties": {"tier": tier}}
    tenant = {"type": "object", "properties": {"loyalty": loyalty}}
    return {
        "title": "Tier",
        "type": "object",
        "meta:intendedToExtend": [PROFILE_CLASS],
        "properties": {f"_{TENANT}": tenant},
    }


def test_a_schema_a_dataset_uses_keeps_its_fields(api: httpx.Client) -> None:
    schema = ok(api.post(f"{SR}/tenant/schemas", json=schema_body("In use", PROFILE_CLASS)), 201)
    ok(
        api.post(
            "/data/foundation/catalog/dataSets",
            json={"name": "in-use", "schemaRef": {"id": schema["$id"]}},
        ),
        201,
    )
    url = f"{SR}/tenant/schemas/{schema['meta:altId']}"
    add = [{"op": "add", "path": "/allOf/-", "value": {"$ref": WORK_DETAILS}}]
    refused(api.patch(url, json=add), 400, "'in-use'")
    renamed = ok(api.patch(url, json=[{"op": "replace", "path": "/title", "value": "Renamed"}]))
    assert renamed["title"] == "Renamed"
    refused(api.delete(url), 400, "dataset 'in-use'")


def test_delete_and_404s(api: httpx.Client, loyalty: dict[str, Any]) -> None:
    schema = ok(
        api.post(f"{SR}/tenant/schemas", json=schema_body("Short-lived", PROFILE_CLASS)), 201
    )
    url = f"{SR}/tenant/schemas/{quote(schema['$id'], safe='')}"
    response = api.delete(url)
    assert response.status_code == 204 and response.content == b""
    refused(api.get(url, headers={"Accept": XED}), 404, "No schema")
    refused(api.delete(url), 404)
    refused(api.get(f"{SR}/tenant/schemas/_{TENANT}.schemas.nope", headers={"Accept": XED}), 404)
    # The tenant container does not hold Adobe's class, nor the global one a tenant schema.
    refused(api.get(f"{SR}/tenant/classes/_xdm.context.profile", headers={"Accept": XED}), 404)
    refused(api.delete(f"{SR}/tenant/classes/_xdm.context.profile"), 404, "global container")
    # A field group a schema uses stays.
    refused(api.delete(f"{SR}/tenant/fieldgroups/{loyalty['meta:altId']}"), 400, "still used")


def test_another_sandbox_sees_nothing(
    api: httpx.Client, dev: httpx.Client, profile_schema: dict[str, Any]
) -> None:
    url = f"{SR}/tenant/schemas/{profile_schema['meta:altId']}"
    refused(dev.get(url, headers={"Accept": XED}), 404)
    listed = ok(dev.get(f"{SR}/tenant/schemas", headers={"Accept": XED_ID}))["results"]
    assert profile_schema["$id"] not in {s["$id"] for s in listed}
    refused(dev.delete(url), 404)
    assert ok(dev.get(f"{SR}/stats"))["counts"]["schemas"] == 0


def test_data_types_and_classes(api: httpx.Client) -> None:
    data_type = {
        "title": "Membership card",
        "type": "object",
        "properties": {
            "number": {"type": "string"},
            "issued": {"type": "string", "format": "date"},
        },
    }
    created = ok(api.post(f"{SR}/tenant/datatypes", json=data_type), 201)
    assert created["meta:resourceType"] == "datatypes"
    url = f"{SR}/tenant/datatypes/{created['meta:altId']}"
    full = ok(api.get(url, headers={"Accept": XED_FULL}))
    assert full["properties"]["issued"]["meta:xdmType"] == "date"
    patched = ok(
        api.patch(
            url, json=[{"op": "add", "path": "/properties/level", "value": {"type": "string"}}]
        )
    )
    assert set(patched["properties"]) == {"number", "issued", "level"}
    assert api.delete(url).status_code == 204

    cls = {
        "title": "Loyalty transactions",
        "type": "object",
        "definitions": {
            "fields": {
                "properties": {
                    f"_{TENANT}": {"type": "object", "properties": {"amount": {"type": "number"}}}
                }
            }
        },
        "allOf": [
            {"$ref": "https://ns.adobe.com/xdm/data/record"},
            {"$ref": "#/definitions/fields"},
        ],
    }
    created_class = ok(api.post(f"{SR}/tenant/classes", json=cls), 201)
    listed = ok(api.get(f"{SR}/tenant/classes", headers={"Accept": XED_ID}))["results"]
    assert created_class["$id"] in {c["$id"] for c in listed}
    refused(api.post(f"{SR}/tenant/behaviors", json=cls), 400)
    assert api.post(f"{SR}/global/classes", json=cls).status_code == 405


def test_stats_count_the_tenant_resources(
    api: httpx.Client, profile_schema: dict[str, Any]
) -> None:
    stats = ok(api.get(f"{SR}/stats"))
    assert stats["tenantId"] == TENANT and stats["imsOrg"] == ORG
    assert stats["counts"]["schemas"] >= 1 and stats["counts"]["mixins"] >= 1
    users = stats["classUsage"][PROFILE_CLASS]
    assert profile_schema["$id"] in {u["$id"] for u in users}
    assert stats["recentlyCreatedResources"]


@pytest.mark.parametrize(
    ("path", "body", "words"),
    [
        ("schemas", b'{"title": "x", ', ("malformed JSON",)),
        ("schemas", b'["not", "an", "object"]', ("dictionary",)),
        ("schemas", {"title": 5, "type": "object"}, ("'title' must be a string",)),
        ("schemas", {"title": "No type"}, ("type",)),
        ("schemas", {"title": "No class", "type": "object", "allOf": []}, ("exactly one class",)),
        ("schemas", {"title": "x", "type": "object", "allOf": [3]}, ("allOf[0]",)),
        ("schemas", schema_body("Ghost", "https://ns.adobe.com/nope"), ("nope",)),
        ("fieldgroups", {"title": "x", "type": "object", "definitions": []}, ("definitions",)),
        (
            "fieldgroups",
            {
                "title": "x",
                "type": "object",
                "properties": {"a": {"type": "integer", "minimum": "0"}},
            },
            ("minimum",),
        ),
        (
            "fieldgroups",
            {"title": "Outside", "type": "object", "properties": {"a": {"type": "string"}}},
            (f"_{TENANT}",),
        ),
        ("datatypes", {"title": "x", "type": "object", "required": "a"}, ("required",)),
    ],
)
def test_bad_documents_answer_400(
    api: httpx.Client, path: str, body: Any, words: tuple[str, ...]
) -> None:
    url = f"{SR}/tenant/{path}"
    if isinstance(body, bytes):
        response = api.post(url, content=body, headers={"Content-Type": "application/json"})
    else:
        response = api.post(url, json=body)
    refused(response, 400, *words)


def test_bad_patches_answer_400(api: httpx.Client, profile_schema: dict[str, Any]) -> None:
    url = f"{SR}/tenant/schemas/{profile_schema['meta:altId']}"
    refused(api.patch(url, json={"op": "add"}), 400)
    refused(api.patch(url, json=[]), 400, "non-empty")
    refused(api.patch(url, json=[{"op": "move", "path": "/title", "value": "x"}]), 400, "move")
    refused(api.patch(url, json=[{"op": "replace", "path": "/title", "value": 7}]), 400, "title")
    refused(
        api.patch(url, content=b"[{", headers={"Content-Type": "application/json"}), 400, "JSON"
    )

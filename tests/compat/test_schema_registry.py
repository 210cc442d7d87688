"""Schema Registry calls as Adobe's Postman collection and SDKs make them: collection paths with
a trailing slash (GET and POST), ``Accept`` in both spellings (``vnd.adobe.xed…`` and
``vnd.adobe.xdm…``), lists and ``xed-id+json`` lookups without a version, and schema bodies
without a top-level ``type``. Every request carries ``Content-Type: application/json``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from api_support import refused
from compat.flowservice_parts import ok
from lakefeed.testing.profiles import PROFILE_CLASS, PROFILE_FIELD_GROUPS, loyalty_field_group

SR = "/data/foundation/schemaregistry"
TENANT = "acme0001"  # of the sdk's org
XED_ID = "application/vnd.adobe.xed-id+json"
XDM_ID = "application/vnd.adobe.xdm-id+json"
SUMMARY_KEYS = {"$id", "meta:altId", "version", "title"}


@pytest.fixture(scope="module")
def loyalty(sdk: httpx.Client) -> dict[str, Any]:
    body: dict[str, Any] = ok(
        sdk.post(f"{SR}/tenant/fieldgroups", json=loyalty_field_group(TENANT)), 201
    )
    return body


@pytest.fixture(scope="module")
def schema(sdk: httpx.Client, loyalty: dict[str, Any]) -> dict[str, Any]:
    """A schema created as the Postman collection does it: ``Accept: application/json``."""
    refs = (PROFILE_CLASS, *PROFILE_FIELD_GROUPS, loyalty["$id"])
    body = {"title": "Compat members", "type": "object", "allOf": [{"$ref": r} for r in refs]}
    created: dict[str, Any] = ok(sdk.post(f"{SR}/tenant/schemas", json=body), 201)
    return created


# --- Accept in both spellings -------------------------------------------------------------


@pytest.mark.parametrize(
    "accept",
    [
        XED_ID,
        XDM_ID,
        f"{XDM_ID};version=1",
        "application/vnd.adobe.xed-id+json, application/problem+json",
    ],
)
@pytest.mark.parametrize(
    "path", ["tenant/schemas", "global/classes", "global/fieldgroups", "global/behaviors"]
)
def test_lists_of_summaries_in_either_spelling(
    sdk: httpx.Client, schema: dict[str, Any], path: str, accept: str
) -> None:
    page = ok(sdk.get(f"{SR}/{path}", headers={"Accept": accept}))
    assert page["results"]
    assert all(set(result) == SUMMARY_KEYS for result in page["results"])
    if path == "tenant/schemas":
        assert schema["$id"] in [result["$id"] for result in page["results"]]


@pytest.mark.parametrize(
    "accept",
    [
        "application/vnd.adobe.xed+json",
        "application/vnd.adobe.xdm+json",
        "application/vnd.adobe.xdm+json, application/problem+json",
        "application/vnd.adobe.xdm-full+json",
        "application/vnd.adobe.xed-full+json",
    ],
)
def test_lists_of_documents_in_either_spelling_without_a_version(
    sdk: httpx.Client, schema: dict[str, Any], accept: str
) -> None:
    page = ok(
        sdk.get(f"{SR}/tenant/schemas", params={"orderby": "title"}, headers={"Accept": accept})
    )
    (found,) = [result for result in page["results"] if result["$id"] == schema["$id"]]
    assert found["type"] == "object" and found["meta:class"] == PROFILE_CLASS
    if "full" in accept:
        assert "_acme0001" in found["properties"]
    else:
        assert {part["$ref"] for part in found["allOf"]} >= {PROFILE_CLASS, *PROFILE_FIELD_GROUPS}


@pytest.mark.parametrize("variant", ["", "-full", "-notext", "-full-notext", "-full-desc"])
@pytest.mark.parametrize("version", ["version=1", "version=1.0", "version=1.0;charset=UTF-8"])
def test_lookups_answer_the_same_in_either_spelling(
    sdk: httpx.Client, schema: dict[str, Any], variant: str, version: str
) -> None:
    url = f"{SR}/tenant/schemas/{schema['meta:altId']}"
    xed = ok(
        sdk.get(url, headers={"Accept": f"application/vnd.adobe.xed{variant}+json; {version}"})
    )
    xdm = ok(sdk.get(url, headers={"Accept": f"application/vnd.adobe.xdm{variant}+json;{version}"}))
    assert xdm == xed
    assert xed["$id"] == schema["$id"]
    assert ("properties" in xed) == ("full" in variant)
    assert ("title" in xed) == ("notext" not in variant)


@pytest.mark.parametrize("accept", [XED_ID, XDM_ID, f"{XED_ID}; version=1"])
def test_summary_lookups_need_no_version(
    sdk: httpx.Client, schema: dict[str, Any], loyalty: dict[str, Any], accept: str
) -> None:
    """The collection's "Lookup a specific schema by its unique ID" sends ``xed-id+json``."""
    lookups = {
        f"tenant/schemas/{schema['meta:altId']}": schema,
        f"tenant/fieldgroups/{loyalty['meta:altId']}": loyalty,
        f"tenant/mixins/{loyalty['meta:altId']}": loyalty,
    }
    for path, resource in lookups.items():
        found = ok(sdk.get(f"{SR}/{path}", headers={"Accept": accept}))
        assert found == {key: resource[key] for key in SUMMARY_KEYS}
    profile = ok(sdk.get(f"{SR}/global/classes/_xdm.context.profile", headers={"Accept": accept}))
    assert profile["$id"] == PROFILE_CLASS and set(profile) == SUMMARY_KEYS
    record = ok(sdk.get(f"{SR}/global/behaviors/_xdm.data.record", headers={"Accept": accept}))
    assert record["$id"] == "https://ns.adobe.com/xdm/data/record"


def test_a_full_lookup_still_needs_a_version(sdk: httpx.Client, schema: dict[str, Any]) -> None:
    url = f"{SR}/tenant/schemas/{schema['meta:altId']}"
    for accept in ("application/vnd.adobe.xdm-full+json", "application/vnd.adobe.xed+json"):
        body = refused(sdk.get(url, headers={"Accept": accept}), 406, "version")
        assert "version=1" in body["report"]["fix"]
    refused(
        sdk.get(url, headers={"Accept": "application/vnd.adobe.xdm-full+json; version=2"}),
        404,
        "version 2",
    )


@pytest.mark.parametrize(
    "accept", ["text/csv", "application/vnd.adobe.xed-bogus+json; version=1", "application/xml"]
)
def test_unknown_media_types_get_a_406_naming_the_accepted_ones(
    sdk: httpx.Client, schema: dict[str, Any], accept: str
) -> None:
    listed = refused(sdk.get(f"{SR}/tenant/schemas", headers={"Accept": accept}), 406, accept)
    looked_up = refused(
        sdk.get(f"{SR}/tenant/schemas/{schema['meta:altId']}", headers={"Accept": accept}),
        406,
        accept,
    )
    for body in (listed, looked_up):
        fix = body["report"]["fix"]
        assert "application/vnd.adobe.xed-id+json" in fix
        assert "application/vnd.adobe.xed-full+json" in fix
        assert "application/vnd.adobe.xdm" in fix


def test_a_lookup_with_the_collections_json_accept_is_refused_clearly(
    sdk: httpx.Client, schema: dict[str, Any]
) -> None:
    """``application/json`` (the collection's default) names no representation of one
    resource: a 406 that says which to send, not a 500 or an HTML page."""
    url = f"{SR}/tenant/schemas/{schema['meta:altId']}"
    body = refused(sdk.get(url), 406, "application/json")
    assert "version=1" in body["report"]["fix"]


# --- a body without a top-level type ------------------------------------------------------


def test_a_schema_without_type_whose_allof_holds_objects_is_an_object(
    sdk: httpx.Client, loyalty: dict[str, Any]
) -> None:
    refs = (PROFILE_CLASS, PROFILE_FIELD_GROUPS[0], loyalty["$id"])
    body = {"title": "Untyped members", "allOf": [{"$ref": ref} for ref in refs]}
    created = ok(sdk.post(f"{SR}/tenant/schemas", json=body), 201)
    assert created["type"] == "object" and created["meta:class"] == PROFILE_CLASS
    url = f"{SR}/tenant/schemas/{created['meta:altId']}"
    stored = ok(sdk.get(url, headers={"Accept": "application/vnd.adobe.xed+json; version=1"}))
    assert stored["type"] == "object"
    full = ok(sdk.get(url, headers={"Accept": "application/vnd.adobe.xdm-full+json; version=1"}))
    assert "_acme0001" in full["properties"]
    # PUT takes the same body shape.
    replaced = ok(sdk.put(url, json={**body, "title": "Untyped members, replaced"}))
    assert replaced["type"] == "object" and replaced["version"] == "1.1"


def test_a_field_group_without_type_whose_allof_holds_objects_is_an_object(
    sdk: httpx.Client,
) -> None:
    group = loyalty_field_group(TENANT)
    del group["type"]
    group["title"] = "Untyped loyalty"
    created = ok(sdk.post(f"{SR}/tenant/fieldgroups", json=group), 201)
    assert created["type"] == "object"


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({}, ["no 'type'"]),
        ({"allOf": []}, ["no 'type'"]),
        ({"allOf": [{"$ref": PROFILE_CLASS}, {"type": "string"}]}, ["no 'type'"]),
        ({"type": "array", "allOf": [{"$ref": PROFILE_CLASS}]}, ["'array'"]),
    ],
)
def test_a_schema_that_is_not_an_object_is_refused(
    sdk: httpx.Client, extra: dict[str, Any], words: list[str]
) -> None:
    body = {"title": "Not an object", **extra}
    refused(sdk.post(f"{SR}/tenant/schemas", json=body), 400, *words)


# --- collection paths with a trailing slash -------------------------------------------------


@pytest.mark.parametrize("path", ["tenant/schemas", "global/classes", "tenant/fieldgroups"])
def test_a_collection_path_with_a_trailing_slash_lists_as_without(
    sdk: httpx.Client, schema: dict[str, Any], path: str
) -> None:
    """The collection's list URL: ``/:CONTAINER_ID/schemas/?orderby=…&limit=…``."""
    params = {"orderby": "title", "limit": "5"}
    for accept in (XED_ID, "application/vnd.adobe.xdm+json"):
        plain = sdk.get(f"{SR}/{path}", params=params, headers={"Accept": accept})
        slashed = sdk.get(f"{SR}/{path}/", params=params, headers={"Accept": accept})
        assert slashed.status_code == 200, slashed.text
        assert ok(slashed) == ok(plain)


def test_a_collection_path_with_a_trailing_slash_creates_as_without(
    sdk: httpx.Client,
) -> None:
    """The collection's create URL: ``POST /tenant/schemas/``."""
    group = {**loyalty_field_group(TENANT), "title": "Slashed loyalty"}
    created_group = ok(sdk.post(f"{SR}/tenant/fieldgroups/", json=group), 201)
    assert created_group["meta:resourceType"] == "mixins"
    body = {
        "title": "Slashed members",
        "type": "object",
        "allOf": [{"$ref": PROFILE_CLASS}, {"$ref": created_group["$id"]}],
    }
    created = ok(sdk.post(f"{SR}/tenant/schemas/", json=body), 201)
    assert created["meta:class"] == PROFILE_CLASS
    listed = ok(sdk.get(f"{SR}/tenant/schemas/", headers={"Accept": XED_ID}))["results"]
    assert created["$id"] in [result["$id"] for result in listed]


@pytest.mark.parametrize("accept", ["application/vnd.adobe.xdm+json", XDM_ID])
def test_writes_ignore_the_accept_header(
    sdk: httpx.Client, loyalty: dict[str, Any], accept: str
) -> None:
    """Adobe's sample collections PATCH schemas with ``Accept: application/vnd.adobe.xdm…``."""
    body = {"title": f"Patched with {accept}", "type": "object", "allOf": [{"$ref": PROFILE_CLASS}]}
    created = ok(sdk.post(f"{SR}/tenant/schemas", json=body, headers={"Accept": accept}), 201)
    url = f"{SR}/tenant/schemas/{created['meta:altId']}"
    operations = [{"op": "add", "path": "/allOf/-", "value": {"$ref": loyalty["$id"]}}]
    patched = ok(sdk.patch(url, json=operations, headers={"Accept": accept}))
    assert loyalty["$id"] in patched["meta:extends"] and patched["version"] == "1.1"
    assert sdk.delete(url, headers={"Accept": accept}).status_code == 204

"""The Schema Registry: composing the Profile schema, ids, tenant resources and isolation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from lakefeed.catalog.records import Scope
from lakefeed.catalog.schema_documents import SchemaDocuments
from lakefeed.catalog.store import open_engine
from lakefeed.errors import SchemaNotFound
from lakefeed.schema import SchemaRegistry

X = "https://ns.adobe.com/xdm"
PROFILE = f"{X}/context/profile"
PROFILE_GROUPS = [
    f"{X}/context/profile-person-details",
    f"{X}/context/profile-personal-details",
    f"{X}/context/profile-work-details",
    f"{X}/context/profile-subscriptions",
    f"{X}/context/identitymap",
]


@pytest.fixture
def engine(tmp_path: Path) -> sa.Engine:
    return open_engine(f"sqlite:///{tmp_path}/db.sqlite")


@pytest.fixture
def registry(engine: sa.Engine) -> SchemaRegistry:
    return SchemaRegistry(SchemaDocuments(engine, Scope()))


def field(view: dict[str, Any], path: str) -> dict[str, Any]:
    node: dict[str, Any] = view
    for name in path.split("."):
        node = node["properties"][name]
    return node


def keys_anywhere(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from keys_anywhere(value)
    elif isinstance(node, list):
        for item in node:
            yield from keys_anywhere(item)


def loyalty_group(registry: SchemaRegistry, **field_schema: Any) -> dict[str, Any]:
    level = field_schema or {"type": "string"}
    return registry.create(
        "fieldgroups",
        {
            "title": "Loyalty",
            "type": "object",
            "meta:intendedToExtend": [PROFILE],
            "definitions": {
                "loyalty": {
                    "properties": {
                        "_local": {
                            "type": "object",
                            "properties": {
                                "loyalty": {
                                    "type": "object",
                                    "properties": {
                                        "points": {"type": "integer"},
                                        "level": level,
                                    },
                                }
                            },
                        }
                    }
                }
            },
            "allOf": [{"$ref": "#/definitions/loyalty"}],
        },
    )


# --- the Profile schema ----------------------------------------------------------------------


def test_profile_schema_resolves_to_plain_json_schema(registry: SchemaRegistry) -> None:
    schema = registry.create_schema("Customers", PROFILE, PROFILE_GROUPS)
    view = registry.resolve(schema["$id"])

    assert field(view, "person.name.firstName")["type"] == "string"
    birth_date = field(view, "person.birthDate")
    assert (birth_date["type"], birth_date["format"], birth_date["meta:xdmType"]) == (
        "string",
        "date",
        "date",
    )
    birth_year = field(view, "person.birthYear")
    assert (birth_year["type"], birth_year["meta:xdmType"]) == ("integer", "short")
    assert (birth_year["minimum"], birth_year["maximum"]) == (1, 32767)
    assert field(view, "homeAddress.city")["type"] == "string"
    assert field(view, "homeAddress._schema.latitude")["type"] == "number"
    assert field(view, "personalEmail.address")["format"] == "email"
    assert field(view, "workPhone.number")["type"] == "string"
    assert field(view, "organizations")["items"] == {"type": "string", "meta:xdmType": "string"}
    assert field(view, "_repo.createDate")["format"] == "date-time"
    assert field(view, "_repo.createDate")["meta:xdmType"] == "date-time"
    assert field(view, "_id").items() >= {"type": "string", "format": "uri-reference"}.items()
    assert field(view, "personID")["type"] == "string"

    identity_map = field(view, "identityMap")
    assert (identity_map["type"], identity_map["meta:xdmType"]) == ("object", "map")
    assert identity_map["additionalProperties"]["type"] == "array"
    item = identity_map["additionalProperties"]["items"]
    assert item["properties"]["id"]["type"] == "string"
    assert item["properties"]["authenticatedState"]["enum"] == [
        "ambiguous",
        "authenticated",
        "loggedOut",
    ]
    assert item["properties"]["authenticatedState"]["default"] == "ambiguous"
    assert item["properties"]["primary"]["type"] == "boolean"

    subscription = field(view, "subscriptions")["items"]
    assert subscription["properties"]["startDate"]["format"] == "date"
    assert subscription["properties"]["subscriber"]["properties"]["name"]["type"] == "object"

    keys = set(keys_anywhere(view["properties"]))
    assert not keys & {"$ref", "allOf", "definitions"}
    assert view["type"] == "object" and view["meta:class"] == PROFILE


def test_refs_and_extends_list_everything_the_schema_is_built_from(
    registry: SchemaRegistry,
) -> None:
    schema = registry.create_schema("Customers", PROFILE, PROFILE_GROUPS)
    assert set(schema["refs"]) >= {
        PROFILE,
        *PROFILE_GROUPS,
        f"{X}/data/record",
        f"{X}/common/auditable",
        f"{X}/context/person",
        f"{X}/context/person-name",
        f"{X}/common/address",
        f"{X}/context/emailaddress",
        f"{X}/context/phonenumber",
        f"{X}/context/subscription",
        f"{X}/context/identityitem",
    }
    assert schema["meta:extends"][0] == PROFILE
    assert set(schema["meta:extends"]) == {
        PROFILE,
        f"{X}/data/record",
        f"{X}/common/auditable",
        *PROFILE_GROUPS,
    }
    assert schema["meta:class"] == PROFILE
    view = registry.resolve(schema["meta:altId"])
    assert view["refs"] == schema["refs"]
    assert view["meta:extends"] == schema["meta:extends"]


def test_ids_alt_ids_and_computed_fields(registry: SchemaRegistry) -> None:
    schema = registry.create_schema("Customers", "_xdm.context.profile", description="All of them")
    digest = schema["$id"].rsplit("/", 1)[1]
    assert re.fullmatch(r"https://ns\.adobe\.com/local/schemas/[0-9a-f]{32}", schema["$id"])
    assert schema["meta:altId"] == f"_local.schemas.{digest}"
    assert schema["allOf"][0]["$ref"] == PROFILE  # the altId was stored as the $id
    assert schema["meta:resourceType"] == "schemas"
    assert schema["version"] == "1.0"
    assert schema["meta:containerId"] == "tenant"
    assert schema["meta:tenantNamespace"] == "_local"
    assert schema["imsOrg"] == "local"
    assert (schema["meta:extensible"], schema["meta:abstract"]) == (False, False)
    metadata = schema["meta:registryMetadata"]
    assert metadata["repo:createdDate"] == metadata["repo:lastModifiedDate"] > 0
    assert len(metadata["eTag"]) == 64

    for key in (schema["$id"], schema["meta:altId"], quote(schema["$id"], safe="")):
        assert registry.get(key, kind="schemas") == schema

    group = loyalty_group(registry)
    assert re.fullmatch(r"https://ns\.adobe\.com/local/mixins/[0-9a-f]{32}", group["$id"])
    assert group["meta:altId"].startswith("_local.mixins.")
    assert group["meta:resourceType"] == "mixins"
    assert registry.get(group["$id"], kind="mixins") == group


def test_tenant_id_comes_from_the_org(engine: sa.Engine) -> None:
    acme = SchemaRegistry(SchemaDocuments(engine, Scope(ims_org_id="ACME1234@AdobeOrg")))
    assert acme.tenant_id == "acme1234"
    schema = acme.create_schema("Customers", PROFILE)
    assert schema["$id"].startswith("https://ns.adobe.com/acme1234/schemas/")
    assert schema["meta:tenantNamespace"] == "_acme1234"
    assert acme.stats()["tenantId"] == "acme1234"


def test_returned_documents_are_copies(registry: SchemaRegistry) -> None:
    registry.get(PROFILE)["title"] = "changed"
    assert registry.get(PROFILE)["title"] == "XDM Individual Profile"


# --- tenant field groups and data types ------------------------------------------------------


def test_custom_field_group_under_tenant_namespace_composes_with_the_class(
    registry: SchemaRegistry,
) -> None:
    level = registry.create(
        "datatypes",
        {
            "title": "Level",
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "since": {"type": "string", "format": "date"},
            },
        },
    )
    group = loyalty_group(registry, **{"$ref": level["$id"]})
    schema = registry.create_schema(
        "Members", PROFILE, [f"{X}/context/profile-person-details", group["$id"]]
    )
    assert group["$id"] in schema["refs"] and level["$id"] in schema["refs"]
    assert group["$id"] in schema["meta:extends"] and level["$id"] not in schema["meta:extends"]

    view = registry.resolve(schema["$id"])
    points = field(view, "_local.loyalty.points")
    assert (points["type"], points["meta:xdmType"]) == ("integer", "int")
    assert field(view, "_local.loyalty.level.since")["meta:xdmType"] == "date"
    assert field(view, "person.name.lastName")["type"] == "string"


def test_lists_tenant_and_global_resources(registry: SchemaRegistry) -> None:
    group = loyalty_group(registry)
    assert [g["$id"] for g in registry.list("fieldgroups")] == [group["$id"]]
    assert {g["$id"] for g in registry.list("fieldgroups", container="global")} == set(
        PROFILE_GROUPS
    )
    assert [c["$id"] for c in registry.list("classes", container="global")] == [PROFILE]
    assert registry.list("schemas") == []


# --- Parquet inference -----------------------------------------------------------------------


def test_inferred_schema_round_trip(registry: SchemaRegistry) -> None:
    properties = {
        "customerId": {"type": "string"},
        "visits": {"type": "integer", "meta:xdmType": "long"},
        "signedUpAt": {"type": "string", "format": "date-time"},
        "address": {"type": "object", "properties": {"city": {"type": "string"}}},
        "tags": {"type": "array", "items": {"type": "string"}},
    }
    schema = registry.create_inferred_schema("Shop customers", properties, required=["customerId"])
    cls = registry.get(schema["meta:class"], kind="classes")
    assert cls["$id"].startswith("https://ns.adobe.com/local/classes/")
    assert cls["meta:extends"] == [f"{X}/data/record"]
    assert schema["meta:extends"] == [cls["$id"], f"{X}/data/record"]

    view = registry.resolve(schema["$id"])
    assert list(view["properties"]) == ["_id", *properties]  # names as given, not under _local
    assert field(view, "visits")["meta:xdmType"] == "long"
    assert field(view, "signedUpAt")["meta:xdmType"] == "date-time"
    assert field(view, "address.city")["type"] == "string"
    assert field(view, "tags")["items"]["type"] == "string"
    assert view["required"] == ["customerId"]
    assert registry.stats()["counts"].items() >= {"classes": 1, "schemas": 1}.items()


# --- isolation -------------------------------------------------------------------------------


def test_sandboxes_and_orgs_are_isolated(engine: sa.Engine) -> None:
    dev = SchemaRegistry(SchemaDocuments(engine, Scope(sandbox_name="dev")))
    prod = SchemaRegistry(SchemaDocuments(engine, Scope(sandbox_name="prod")))
    other_org = SchemaRegistry(SchemaDocuments(engine, Scope("OTHER@AdobeOrg", "dev")))
    schema = dev.create_schema("Customers", PROFILE)

    for registry in (prod, other_org):
        with pytest.raises(SchemaNotFound, match="sandbox"):
            registry.get(schema["$id"])
        assert registry.list("schemas") == []
        assert registry.stats()["counts"]["schemas"] == 0
    assert dev.get(schema["meta:altId"])["title"] == "Customers"
    # Built-ins are the same everywhere.
    assert prod.get("_xdm.context.profile")["$id"] == PROFILE


# --- stats -----------------------------------------------------------------------------------


def test_stats_counts_tenant_resources(registry: SchemaRegistry) -> None:
    group = loyalty_group(registry)
    registry.create("datatypes", {"title": "Money", "type": "object", "properties": {}})
    first = registry.create_schema("Members", PROFILE, [group["$id"]])
    second = registry.create_schema("Visitors", PROFILE)

    stats = registry.stats()
    assert stats["imsOrg"] == "local" and stats["tenantId"] == "local"
    assert stats["counts"] == {
        "schemas": 2,
        "mixins": 1,
        "datatypes": 1,
        "classes": 0,
        "unions": 0,
    }
    assert len(stats["recentlyCreatedResources"]) == 4
    assert {r["$id"] for r in stats["recentlyCreatedResources"]} >= {first["$id"], group["$id"]}
    assert {s["$id"] for s in stats["classUsage"][PROFILE]} == {first["$id"], second["$id"]}

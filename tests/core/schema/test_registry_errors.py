"""The Schema Registry refuses what AEP refuses, with messages that name the problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from lakefeed.catalog.records import Scope
from lakefeed.catalog.schema_documents import SchemaDocuments
from lakefeed.catalog.store import open_engine
from lakefeed.errors import InvalidRequest, InvalidSchema, SchemaNotFound
from lakefeed.schema import SchemaRegistry

X = "https://ns.adobe.com/xdm"
PROFILE = f"{X}/context/profile"
PERSON_DETAILS = f"{X}/context/profile-person-details"


@pytest.fixture
def registry(tmp_path: Path) -> SchemaRegistry:
    engine: sa.Engine = open_engine(f"sqlite:///{tmp_path}/db.sqlite")
    return SchemaRegistry(SchemaDocuments(engine, Scope()))


def tenant_group(registry: SchemaRegistry, fields: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return registry.create(
        "fieldgroups",
        {
            "title": extra.pop("title", "Custom"),
            "type": "object",
            "definitions": {"custom": {"properties": fields}},
            "allOf": [{"$ref": "#/definitions/custom"}],
            **extra,
        },
    )


def under_tenant(**fields: Any) -> dict[str, Any]:
    return {"_local": {"type": "object", "properties": fields}}


def inferred_class(registry: SchemaRegistry) -> str:
    schema = registry.create_inferred_schema("Orders", {"orderId": {"type": "string"}})
    return str(schema["meta:class"])


# --- schema composition ----------------------------------------------------------------------


def test_two_classes(registry: SchemaRegistry) -> None:
    other = inferred_class(registry)
    with pytest.raises(InvalidSchema, match="exactly one class") as caught:
        registry.create_schema("Both", PROFILE, [other])
    assert PROFILE in str(caught.value) and other in str(caught.value)


def test_no_class(registry: SchemaRegistry) -> None:
    with pytest.raises(
        InvalidSchema, match="exactly one class in allOf; it references none"
    ) as caught:
        registry.create("schemas", {"title": "Nothing", "type": "object", "allOf": []})
    assert "_xdm.context.profile" in str(caught.value)  # the fix lists the classes available


def test_data_type_in_a_schema_allof(registry: SchemaRegistry) -> None:
    with pytest.raises(InvalidSchema, match="data type"):
        registry.create_schema("People", PROFILE, [f"{X}/context/person"])


def test_unknown_ref_in_a_schema(registry: SchemaRegistry) -> None:
    missing = f"{X}/context/profile-nope"
    with pytest.raises(InvalidSchema, match=r"profile-nope.*neither in the tenant"):
        registry.create_schema("Broken", PROFILE, [missing])


def test_unknown_ref_inside_a_field_group(registry: SchemaRegistry) -> None:
    missing = "https://ns.adobe.com/local/datatypes/0123456789abcdef0123456789abcdef"
    with pytest.raises(InvalidSchema, match=f"references '{missing}'"):
        tenant_group(registry, under_tenant(thing={"$ref": missing}))


def test_field_outside_the_tenant_namespace(registry: SchemaRegistry) -> None:
    with pytest.raises(InvalidSchema, match=r"'loyaltyId'.*nested under '_local'") as caught:
        tenant_group(registry, {"loyaltyId": {"type": "string"}})
    assert '"_local"' in (caught.value.fix or "")


def test_conflicting_types_between_field_groups(registry: SchemaRegistry) -> None:
    text = tenant_group(registry, under_tenant(level={"type": "string"}), title="Text level")
    number = tenant_group(registry, under_tenant(level={"type": "integer"}), title="Int level")
    with pytest.raises(InvalidSchema, match=r"'_local\.level' is string .* but integer") as caught:
        registry.create_schema("Clash", PROFILE, [text["$id"], number["$id"]])
    assert text["$id"] in str(caught.value) and number["$id"] in str(caught.value)


def test_same_field_with_the_same_type_merges(registry: SchemaRegistry) -> None:
    a = tenant_group(registry, under_tenant(level={"type": "string"}, a={"type": "boolean"}))
    b = tenant_group(registry, under_tenant(level={"type": "string"}, b={"type": "number"}))
    view = registry.resolve(registry.create_schema("Both", PROFILE, [a["$id"], b["$id"]])["$id"])
    assert set(view["properties"]["_local"]["properties"]) == {"level", "a", "b"}


def test_inferred_field_conflicting_with_the_record_behavior(registry: SchemaRegistry) -> None:
    with pytest.raises(InvalidSchema, match=r"'_id' is string \(uri-reference\) in .*/data/record"):
        registry.create_inferred_schema("Ids", {"_id": {"type": "integer"}})
    assert registry.list("classes") == []  # nothing half-created


def test_field_group_meant_for_another_class(registry: SchemaRegistry) -> None:
    with pytest.raises(InvalidSchema, match="intended to extend") as caught:
        registry.create_schema("Orders", inferred_class(registry), [PERSON_DETAILS])
    assert PROFILE in str(caught.value)

    group = tenant_group(
        registry, under_tenant(note={"type": "string"}), **{"meta:intendedToExtend": [PROFILE]}
    )
    with pytest.raises(InvalidSchema, match="intended to extend"):
        registry.create_schema("Orders 2", inferred_class(registry), [group["$id"]])


def test_intended_to_extend_must_name_a_class(registry: SchemaRegistry) -> None:
    with pytest.raises(InvalidSchema, match="not a class or behavior"):
        tenant_group(
            registry,
            under_tenant(note={"type": "string"}),
            **{"meta:intendedToExtend": [f"{X}/context/person"]},
        )


def test_ref_cycle(registry: SchemaRegistry) -> None:
    with pytest.raises(InvalidSchema, match=r"cycle: .*#/definitions/node → .*#/definitions/node"):
        registry.create(
            "datatypes",
            {
                "title": "Tree",
                "type": "object",
                "definitions": {"node": {"properties": {"child": {"$ref": "#/definitions/node"}}}},
                "allOf": [{"$ref": "#/definitions/node"}],
            },
        )


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"type": "object", "allOf": []}, "needs a 'title'"),
        ({"title": "T", "type": "array"}, "type 'array'"),
        ({"title": "T", "type": "object", "properties": {}}, "defines fields itself"),
    ],
)
def test_basic_document_rules(
    registry: SchemaRegistry, document: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidSchema, match=message):
        registry.create("schemas", document)


def test_field_without_a_type(registry: SchemaRegistry) -> None:
    with pytest.raises(InvalidSchema, match=r"Field '_local\.oops' .* has type None"):
        tenant_group(registry, under_tenant(oops={"title": "no type"}))


def test_unknown_kind(registry: SchemaRegistry) -> None:
    with pytest.raises(InvalidRequest, match="behaviors"):
        registry.create("behaviors", {"title": "B", "type": "object"})


# --- lookups and deletes ---------------------------------------------------------------------


def test_not_found_names_what_exists(registry: SchemaRegistry) -> None:
    registry.create_schema("Customers", PROFILE)
    with pytest.raises(SchemaNotFound, match=r"_local.schemas.nope.*nor in the global") as caught:
        registry.get("_local.schemas.nope")
    assert "'Customers'" in (caught.value.fix or "")


def test_wrong_kind_is_not_found(registry: SchemaRegistry) -> None:
    with pytest.raises(SchemaNotFound, match=r"is a class .*not a field group"):
        registry.get(PROFILE, kind="fieldgroups")


def test_delete_of_a_referenced_field_group_is_refused(registry: SchemaRegistry) -> None:
    group = tenant_group(registry, under_tenant(note={"type": "string"}))
    schema = registry.create_schema("Notes", PROFILE, [group["$id"]])
    with pytest.raises(InvalidSchema, match="still used by 'Notes'"):
        registry.delete(group["meta:altId"])
    registry.delete(schema["$id"])
    registry.delete(group["$id"], kind="fieldgroups")
    with pytest.raises(SchemaNotFound):
        registry.get(group["$id"])


def test_delete_of_a_referenced_data_type_is_refused(registry: SchemaRegistry) -> None:
    money = registry.create("datatypes", {"title": "Money", "type": "object", "properties": {}})
    tenant_group(registry, under_tenant(price={"$ref": money["$id"]}), title="Prices")
    with pytest.raises(InvalidSchema, match="still used by 'Prices'"):
        registry.delete(money["$id"])


def test_global_resources_are_read_only(registry: SchemaRegistry) -> None:
    with pytest.raises(InvalidSchema, match="global container, which is read-only"):
        registry.delete(PROFILE)

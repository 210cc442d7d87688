"""The built-in XDM resources (global container) shipped with lakefeed."""

from __future__ import annotations

import importlib.resources
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lakefeed.catalog.records import Scope
from lakefeed.catalog.schema_documents import SchemaDocuments
from lakefeed.catalog.store import open_engine
from lakefeed.schema import SchemaRegistry
from lakefeed.schema.library import global_documents

X = "https://ns.adobe.com/xdm"
JSON_TYPES = {"string", "integer", "number", "boolean", "object", "array"}
BUILTIN_IDS = sorted(global_documents())


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> SchemaRegistry:
    path = tmp_path_factory.mktemp("registry") / "db.sqlite"
    return SchemaRegistry(SchemaDocuments(open_engine(f"sqlite:///{path}"), Scope()))


def fields(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    for name, sub in node.get("properties", {}).items():
        yield f"{path}{name}", sub
        yield from fields(sub, f"{path}{name}.")
    for key, step in (("items", "[]"), ("additionalProperties", "{}")):
        if isinstance(node.get(key), dict):
            yield f"{path}{step}", node[key]
            yield from fields(node[key], f"{path}{step}.")


def test_every_json_file_is_loaded() -> None:
    root = importlib.resources.files("lakefeed.schema") / "builtin"
    files = [f for d in root.iterdir() if d.is_dir() for f in d.iterdir()]
    assert len(files) == len(BUILTIN_IDS) >= 19


@pytest.mark.parametrize("id_", BUILTIN_IDS)
def test_every_builtin_resolves_to_typed_fields(registry: SchemaRegistry, id_: str) -> None:
    view = registry.resolve(id_)
    assert view["properties"], f"{id_} has no fields"
    for path, sub in fields(view):
        assert "$ref" not in sub and "allOf" not in sub, path
        assert sub["type"] in JSON_TYPES, path
        assert sub["meta:xdmType"], path
        name = path.rsplit(".", 1)[-1]
        assert ":" not in name and "@" not in name, f"{path} is not in compatibility mode"


@pytest.mark.parametrize("id_", BUILTIN_IDS)
def test_every_builtin_carries_its_licence(registry: SchemaRegistry, id_: str) -> None:
    document = registry.get(id_)
    licence = " ".join(document["meta:license"])
    assert "Creative Commons Attribution 4.0" in licence
    assert "https://github.com/adobe/xdm" in licence
    assert document["meta:containerId"] == "global"
    assert registry.get(document["meta:altId"])["$id"] == id_


def test_profile_class_and_its_field_groups(registry: SchemaRegistry) -> None:
    profile = registry.get("_xdm.context.profile", kind="classes")
    assert profile["title"] == "XDM Individual Profile"
    assert profile["meta:extends"] == [f"{X}/data/record", f"{X}/common/auditable"]
    for group in registry.list("fieldgroups", container="global"):
        intended = group["meta:intendedToExtend"]
        assert (
            intended == [] if group["$id"].endswith("identitymap") else profile["$id"] in intended
        )


def test_standard_field_types_follow_xdm(registry: SchemaRegistry) -> None:
    person = registry.resolve(f"{X}/context/person")["properties"]
    assert person["gender"]["enum"] == ["male", "female", "not_specified", "non_specific"]
    assert person["maritalStatus"]["default"] == "not_specified"
    assert person["name"]["properties"]["fullName"]["type"] == "string"

    address = registry.resolve(f"{X}/common/address")["properties"]
    latitude = address["_schema"]["properties"]["latitude"]
    assert (latitude["type"], latitude["minimum"], latitude["maximum"]) == ("number", -90, 90)
    assert address["dmaID"]["meta:xdmType"] == "int"
    assert address["postOfficeBox"]["maxLength"] == 20
    assert address["lastVerifiedDate"]["meta:xdmType"] == "date"

    phone = registry.resolve(f"{X}/context/phonenumber")["properties"]
    assert (phone["countryCode"]["minLength"], phone["countryCode"]["maxLength"]) == (1, 3)

    record = registry.resolve(f"{X}/data/record")["properties"]
    assert record == {
        "_id": {
            "title": "Identifier",
            "description": "A unique identifier for the record.",
            "type": "string",
            "format": "uri-reference",
            "meta:xdmType": "string",
        }
    }


def test_builtins_ship_in_the_package() -> None:
    import lakefeed.schema

    package = Path(lakefeed.schema.__file__).parent
    assert (package / "builtin" / "classes" / "profile.json").is_file()

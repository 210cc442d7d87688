"""The console's schema and mapping set pages against a real server: the tenant's schemas and
field groups; a schema with its class, field groups, datasets and resolved fields as a tree
(by ``$id`` or ``meta:altId``), a field group and a global class; the mapping sets and one
set's mappings, by version; unknown ids, another sandbox's resources and no session; hostile
titles escaped."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from api_support import Server
from console_pages import assert_console_page, error_code, table_rows
from console_support import LOCAL_ORG, Console, sign_in
from lakefeed.catalog.records import Scope
from lakefeed.testing.profiles import PROFILE_CLASS, PROFILE_FIELD_GROUPS, create_profile_schema

HOSTILE = '<script>alert("schema")</script>'
ESCAPED = "&lt;script&gt;alert(&#34;schema&#34;)&lt;/script&gt;"


@pytest.fixture(scope="module")
def schema(server: Server) -> dict[str, Any]:
    created = create_profile_schema(server.lf.schemas)
    server.lf.datasets.create("profiles", created["$id"])
    return created


@pytest.fixture(scope="module")
def console(server: Server, schema: dict[str, Any]) -> Console:
    return sign_in(server)


@pytest.fixture(scope="module")
def dev(server: Server) -> Any:
    """The engine of another sandbox of the same org, with a schema and a mapping set."""
    server.lf.auth.create_sandbox(LOCAL_ORG, "dev")
    engine = server.lf.scoped(Scope(LOCAL_ORG, "dev"))
    create_profile_schema(engine.schemas, title="Dev Profiles")
    return engine


def mapping_body(schema_id: str, *mappings: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "outputSchema": {"schemaRef": {"id": schema_id}},
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


def schema_url(schema_id: str) -> str:
    return f"/console/schemas/{quote(schema_id, safe='')}"


def paths(page: str) -> set[str]:
    return set(re.findall(r'<li data-path="([^"]+)"', page))


# --- schemas ---------------------------------------------------------------------------------


def test_the_list_shows_the_tenants_schemas_and_field_groups(
    server: Server, console: Console, schema: dict[str, Any]
) -> None:
    page = assert_console_page(console.get("/console/schemas"), 200)
    profile = server.lf.schemas.get(PROFILE_CLASS)["title"]
    ours = [row for row in table_rows(page, "schemas")[1:] if schema["$id"] in row[1]]
    assert ours == [["Loyalty Profiles", f"{schema['$id']}{schema['meta:altId']}", "1.0", profile]]
    group = server.lf.schemas.list("fieldgroups")[0]
    assert table_rows(page, "field-groups")[1:] == [
        ["Loyalty Details", group["$id"], "1.0", PROFILE_CLASS]
    ]
    assert f'href="{schema_url(schema["$id"])}">Loyalty Profiles<' in page
    assert f'href="{schema_url(PROFILE_CLASS)}">{profile}<' in page
    assert 'aria-current="page">Schemas<' in page


@pytest.mark.parametrize("key", ["$id", "meta:altId"])
def test_a_schema_shows_its_parts_datasets_and_fields(
    server: Server, console: Console, schema: dict[str, Any], key: str
) -> None:
    page = assert_console_page(console.get(schema_url(schema[key])), 200)
    assert "<h1>Loyalty Profiles <span" in page
    registry = server.lf.schemas
    assert f'<dt>Class</dt><dd><a href="{schema_url(PROFILE_CLASS)}">' in page
    group = registry.list("fieldgroups")[0]["$id"]
    refs = re.findall(r'<li><a href="/console/schemas/([^"]+)">([^<]+)</a>', page)
    assert refs == [
        (quote(ref, safe=""), registry.get(ref)["title"]) for ref in (*PROFILE_FIELD_GROUPS, group)
    ]
    dataset = server.lf.datasets.get("profiles")
    assert f'<dt>Datasets</dt><dd><a href="/console/datasets/{dataset.id}">profiles</a>' in page
    tenant = f"_{registry.tenant_id}"
    fields = paths(page)
    assert {"person.name.firstName", f"{tenant}.loyalty.loyaltyId", "identityMap.id"} <= fields
    assert "shippingAddress.city" in fields
    loyalty_id = re.search(rf'data-path="{tenant}\.loyalty\.loyaltyId">(.*?)</li>', page, re.S)
    assert loyalty_id is not None and '<span class="required">required</span>' in loyalty_id[1]
    counted = re.search(r'<h2 id="h-fields">Fields <span class="muted">\((\d+)\)', page)
    assert counted is not None and int(counted[1]) == len(fields)


def test_a_field_group_and_a_global_class_have_pages(
    server: Server, console: Console, schema: dict[str, Any]
) -> None:
    group = server.lf.schemas.list("fieldgroups")[0]["$id"]
    page = assert_console_page(console.get(schema_url(group)), 200)
    assert "<h1>Loyalty Details <span" in page and "(field group)" in page
    assert "Loyalty programme membership." in page
    tenant = f"_{server.lf.schemas.tenant_id}"
    assert {f"{tenant}.loyalty.loyaltyId", f"{tenant}.loyalty.tier"} <= paths(page)
    profile = assert_console_page(console.get(schema_url(PROFILE_CLASS)), 200)
    assert "(class)" in profile and "_id" in paths(profile)
    assert "<dt>Container</dt><dd>global</dd>" in profile


def test_an_unknown_schema_is_a_404_page(console: Console) -> None:
    page = assert_console_page(console.get(schema_url("https://ns.adobe.com/none/x")), 404)
    assert error_code(page) == "LF-1201"


def test_another_sandboxs_schema_is_not_found(server: Server, console: Console, dev: Any) -> None:
    (theirs,) = dev.schemas.list("schemas")
    assert_console_page(console.get(schema_url(theirs["$id"])), 404)
    assert "Dev Profiles" not in assert_console_page(console.get("/console/schemas"), 200)
    in_dev = sign_in(server, sandbox="dev")
    page = assert_console_page(in_dev.get(schema_url(theirs["$id"])), 200)
    assert "<h1>Dev Profiles <span" in page


def test_hostile_titles_are_escaped(server: Server, console: Console) -> None:
    hostile = server.lf.schemas.create_schema(
        HOSTILE, PROFILE_CLASS, description=f"<img src=x> {HOSTILE}"
    )
    for path in ("/console/schemas", schema_url(hostile["$id"])):
        page = assert_console_page(console.get(path), 200)
        assert ESCAPED in page and "<script>alert" not in page and "<img" not in page


# --- mapping sets ----------------------------------------------------------------------------


def test_mapping_sets_are_listed_with_their_schema_and_count(
    server: Server, console: Console, schema: dict[str, Any]
) -> None:
    made = server.lf.create_mapping_set(mapping_body(schema["$id"]))
    page = assert_console_page(console.get("/console/mappings"), 200)
    rows = [row for row in table_rows(page, "mapping-sets")[1:] if row[0] == made.id]
    assert [row[1:4] for row in rows] == [["0", "Loyalty Profiles", "2"]]
    assert f'href="/console/mappings/{made.id}"' in page
    assert f'href="{schema_url(schema["$id"])}">Loyalty Profiles<' in page
    assert 'aria-current="page">Mappings<' in page


def test_a_mapping_set_shows_its_mappings_by_version(
    server: Server, console: Console, schema: dict[str, Any]
) -> None:
    made = server.lf.create_mapping_set(mapping_body(schema["$id"]))
    server.lf.update_mapping_set(
        made.id,
        mapping_body(
            schema["$id"],
            {"sourceType": "ATTRIBUTE", "source": "city", "destination": "homeAddress.city"},
        ),
    )
    latest = assert_console_page(console.get(f"/console/mappings/{made.id}"), 200)
    assert table_rows(latest, "mappings") == [
        ["Source", "Destination", "Source type", "Identity", "Name"],
        ["city", "to homeAddress.city", "ATTRIBUTE", "no", ""],
    ]
    assert "<dt>Version</dt><dd>1 (latest)" in latest
    assert f'href="{schema_url(schema["$id"])}">Loyalty Profiles<' in latest
    first = assert_console_page(console.get(f"/console/mappings/{made.id}?version=0"), 200)
    assert table_rows(first, "mappings")[1:] == [
        ["first", "to person.name.firstName", "ATTRIBUTE", "no", ""],
        ["upper(last)", "to person.name.lastName", "EXPRESSION", "no", "Last nameUpper-cased"],
    ]
    assert f'(<a href="/console/mappings/{made.id}">latest: 1</a>)' in first
    listed = assert_console_page(console.get("/console/mappings"), 200)
    rows = [row for row in table_rows(listed, "mapping-sets")[1:] if row[0] == made.id]
    assert [row[1:4] for row in rows] == [["1", "Loyalty Profiles", "1"]]


def test_an_inline_input_schema_is_shown_as_a_tree(
    server: Server, console: Console, schema: dict[str, Any]
) -> None:
    source = {"type": "object", "properties": {"first": {"type": "string"}}, "required": ["first"]}
    made = server.lf.create_mapping_set(
        mapping_body(schema["$id"], inputSchema={"jsonSchema": source})
    )
    page = assert_console_page(console.get(f"/console/mappings/{made.id}"), 200)
    assert "<dt>Input schema</dt><dd>inline, below</dd>" in page
    line = re.search(r'data-path="first">(.*?)</li>', page, re.S)
    assert line is not None and ">string<" in line[1] and ">required<" in line[1]


def test_unknown_and_other_sandboxs_mapping_sets_are_not_found(
    server: Server, console: Console, schema: dict[str, Any], dev: Any
) -> None:
    page = assert_console_page(console.get("/console/mappings/no-such-set"), 404)
    assert error_code(page) == "LF-1104"
    made = server.lf.create_mapping_set(mapping_body(schema["$id"]))
    assert_console_page(console.get(f"/console/mappings/{made.id}?version=7"), 404)
    (dev_schema,) = dev.schemas.list("schemas")
    theirs = dev.create_mapping_set(mapping_body(dev_schema["$id"]))
    assert_console_page(console.get(f"/console/mappings/{theirs.id}"), 404)
    assert theirs.id not in assert_console_page(console.get("/console/mappings"), 200)
    in_dev = sign_in(server, sandbox="dev")
    assert_console_page(in_dev.get(f"/console/mappings/{theirs.id}"), 200)


def test_hostile_mapping_set_names_are_escaped(
    server: Server, console: Console, schema: dict[str, Any]
) -> None:
    made = server.lf.create_mapping_set(
        mapping_body(schema["$id"], name=HOSTILE, description=HOSTILE)
    )
    for path in ("/console/mappings", f"/console/mappings/{made.id}"):
        page = assert_console_page(console.get(path), 200)
        assert ESCAPED in page and "<script>alert" not in page


@pytest.mark.parametrize(
    "path", ["/console/schemas", "/console/schemas/x", "/console/mappings", "/console/mappings/x"]
)
def test_without_a_session_the_pages_send_to_sign_in(server: Server, path: str) -> None:
    answer = httpx.get(server.url + path, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/console/sign-in?next={quote(path, safe='')}"

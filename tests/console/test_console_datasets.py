"""The console's datasets pages against a real server: the list with each dataset's schema and
last batch; a dataset's facts, schema tree, batches (paged, newest first, linked to their
runs) and preview rows read from the committed Parquet data; an empty dataset; unknown ids,
another sandbox's dataset and no session; hostile names escaped."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pyarrow.parquet as pq
import pytest

from api_support import Server
from console_pages import assert_console_page, error_code, table_rows
from console_support import LOCAL_ORG, Console, Demo, demo_chain, sign_in
from lakefeed.catalog.records import Scope
from lakefeed.testing.profiles import create_profile_schema

HOSTILE = '<script>alert("ds")</script>'


@pytest.fixture(scope="module")
def demo(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Demo:
    return demo_chain(server.lf, tmp_path_factory.mktemp("datasets") / "landing")


@pytest.fixture(scope="module")
def console(server: Server, demo: Demo) -> Console:
    return sign_in(server)


@pytest.fixture(scope="module")
def dev_dataset(server: Server) -> str:
    """A dataset of another sandbox of the same org."""
    server.lf.auth.create_sandbox(LOCAL_ORG, "dev")
    dev = server.lf.scoped(Scope(LOCAL_ORG, "dev"))
    schema = create_profile_schema(dev.schemas, title="Dev Profiles")
    return dev.datasets.create("dev-only", schema["$id"]).id


def paths(page: str) -> set[str]:
    """The dotted paths of the schema tree's fields."""
    return set(re.findall(r'<li data-path="([^"]+)"', page))


def column(rows: list[list[str]], name: str) -> list[str]:
    header, *body = rows
    index = header.index(name)
    return [row[index] for row in body]


def test_the_list_shows_each_dataset_with_its_schema_and_last_batch(
    server: Server, console: Console, demo: Demo
) -> None:
    empty = server.lf.datasets.create("nothing-yet", demo.schema_id)
    (batch,) = server.lf.batches.of_run(demo.run_id)
    page = assert_console_page(console.get("/console/datasets"), 200)
    demo_id = server.lf.datasets.get(demo.dataset).id
    # The first cell is the name, then (on a line of its own) the id.
    assert [row[:3] for row in table_rows(page, "datasets")[1:]] == [
        [f"{demo.dataset}{demo_id}", "Loyalty Profiles", f"success {batch.id}"],
        [f"nothing-yet{empty.id}", "Loyalty Profiles", "no batch yet"],
    ]
    assert f'href="/console/datasets/{demo_id}"' in page
    assert f'href="/console/schemas/{quote(demo.schema_id, safe="")}"' in page
    assert 'aria-current="page">Datasets<' in page


def test_a_dataset_shows_its_facts_schema_tree_and_batches(
    server: Server, console: Console, demo: Demo
) -> None:
    dataset = server.lf.datasets.get(demo.dataset)
    (batch,) = server.lf.batches.of_run(demo.run_id)
    page = assert_console_page(console.get(f"/console/datasets/{dataset.id}"), 200)
    assert f"<code>{dataset.table_identifier}</code>" in page
    assert "<dt>Rows</dt><dd>298</dd>" in page
    flow = server.lf.flows.flow(demo.flow_id)
    writers = f'<dt>Written by</dt><dd><a href="/console/flows/{flow.id}">{flow.name}</a></dd>'
    assert writers in page
    tenant = f"_{server.lf.schemas.tenant_id}"
    fields = paths(page)
    assert {
        "_id",
        "person.name.firstName",
        "homeAddress.city",
        "identityMap",
        f"{tenant}.loyalty.loyaltyId",
        f"{tenant}.loyalty.points",
    } <= fields
    loyalty_id = re.search(rf'data-path="{tenant}\.loyalty\.loyaltyId">(.*?)</li>', page, re.S)
    assert loyalty_id is not None and "required" in loyalty_id.group(1)
    points = re.search(rf'data-path="{tenant}\.loyalty\.points">(.*?)</li>', page, re.S)
    assert points is not None and "long" in points.group(1) and "required" not in points.group(1)
    identity = re.search(
        r'data-path="identityMap">\s*<details open>\s*<summary>(.*?)</summary>', page
    )
    assert identity is not None and ">map of array of object<" in identity.group(1)
    assert {"identityMap.id", "identityMap.primary"} <= fields  # what the map's arrays hold
    # Deeper levels are closed until opened; the first level is open.
    assert re.search(r'data-path="person\.name">\s*<details>', page)
    batches = table_rows(page, "batches")
    assert batches[0] == [
        *("Batch", "Status", "Created", "Completed"),
        *("Records in", "Out", "Failed", "Run", "Flow"),
    ]
    assert batches[1:] == [
        [batch.id, "success", *batches[1][2:4], "300", "298", "2", demo.run_id, flow.name]
    ]
    assert f'href="/console/runs/{demo.run_id}"' in page


def parquet_rows(path: Path) -> dict[str, dict[str, Any]]:
    return {row["_id"]: row for row in pq.read_table(path).to_pylist()}


def test_the_preview_shows_rows_of_the_committed_data(
    server: Server, console: Console, demo: Demo
) -> None:
    source = parquet_rows(demo.landing / "profiles-0.parquet")
    rejected = {"profile-5", "profile-9"}  # the two rows that broke the schema
    dataset = server.lf.datasets.get(demo.dataset)
    page = assert_console_page(console.get(f"/console/datasets/{dataset.id}"), 200)
    rows = table_rows(page, "preview")
    ids = column(rows, "_id")
    assert len(ids) == 20 and len(set(ids)) == 20
    assert set(ids) <= set(source) - rejected
    for shown_id, person, email in zip(
        ids, column(rows, "person"), column(rows, "personalEmail"), strict=True
    ):
        expected = source[shown_id]
        assert json.loads(person) == {
            "name": expected["person"]["name"],
            "birthDate": expected["person"]["birthDate"].isoformat(),
            "gender": expected["person"]["gender"],
        }
        assert json.loads(email) == expected["personalEmail"]
    assert "_lakefeed" not in rows[0]
    assert "shippingAddress" not in rows[0]  # empty in every row: hidden


def test_the_preview_takes_a_limit_capped_at_100(
    server: Server, console: Console, demo: Demo
) -> None:
    dataset = server.lf.datasets.get(demo.dataset)
    five = assert_console_page(console.get(f"/console/datasets/{dataset.id}?limit=5"), 200)
    assert len(table_rows(five, "preview")) == 1 + 5
    assert 'name="limit" type="number" min="1" max="100" value="5"' in five
    many = assert_console_page(console.get(f"/console/datasets/{dataset.id}?limit=5000"), 200)
    assert len(table_rows(many, "preview")) == 1 + 100


def test_a_dataset_without_data_renders_with_no_batches_and_no_rows(
    server: Server, console: Console, demo: Demo
) -> None:
    empty = server.lf.datasets.create("still-empty", demo.schema_id)
    page = assert_console_page(console.get(f"/console/datasets/{empty.id}"), 200)
    assert 'id="no-batches"' in page and 'id="no-rows"' in page
    assert 'id="batches"' not in page and 'id="preview"' not in page
    assert "person.name.firstName" in paths(page)
    assert "<dt>Written by</dt><dd>no flow</dd>" in page


def test_batches_are_paged_newest_first(server: Server, console: Console, demo: Demo) -> None:
    dataset = server.lf.datasets.create("many-batches", demo.schema_id)
    made = [
        server.lf.batches.create(
            dataset_id=dataset.id,
            run_id=f"run-{n}",
            flow_id="",
            data_prefix=f"nowhere/{n}",
            tags={},
            entries=[],
        ).id
        for n in range(57)
    ]
    newest = [b.id for b in server.lf.batches.search(dataset_id=dataset.id, descending=True)]
    first = assert_console_page(console.get(f"/console/datasets/{dataset.id}"), 200)
    shown = [row[0] for row in table_rows(first, "batches")[1:]]
    assert shown == newest[:50]
    assert 'id="older-batches"' in first and 'id="newer-batches"' not in first
    older = re.search(r'href="([^"]+)" id="older-batches"', first)
    assert older is not None
    second = assert_console_page(console.get(older.group(1).replace("&amp;", "&")), 200)
    rest = [row[0] for row in table_rows(second, "batches")[1:]]
    assert rest == newest[50:] and set(shown + rest) == set(made)
    assert 'id="newer-batches"' in second and 'id="older-batches"' not in second
    assert {row[1] for row in table_rows(second, "batches")[1:]} == {"loading"}


def test_an_unknown_dataset_is_a_404_page(console: Console) -> None:
    page = assert_console_page(console.get("/console/datasets/no-such-dataset"), 404)
    assert error_code(page) == "LF-1104"
    assert "no-such-dataset" in page


def test_another_sandboxs_dataset_is_not_found(
    server: Server, console: Console, dev_dataset: str
) -> None:
    assert_console_page(console.get(f"/console/datasets/{dev_dataset}"), 404)
    listed = assert_console_page(console.get("/console/datasets"), 200)
    assert dev_dataset not in listed and "dev-only" not in listed
    in_dev = sign_in(server, sandbox="dev")
    page = assert_console_page(in_dev.get(f"/console/datasets/{dev_dataset}"), 200)
    assert "Dataset dev-only" in page
    assert "dev-only" in assert_console_page(in_dev.get("/console/datasets"), 200)


@pytest.mark.parametrize("path", ["/console/datasets", "/console/datasets/anything"])
def test_without_a_session_the_pages_send_to_sign_in(server: Server, path: str) -> None:
    answer = httpx.get(server.url + path, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/console/sign-in?next={quote(path, safe='')}"


def test_hostile_names_are_escaped(server: Server, console: Console, demo: Demo) -> None:
    hostile = server.lf.datasets.create(HOSTILE, demo.schema_id, description=f"about {HOSTILE}")
    escaped = "&lt;script&gt;alert(&#34;ds&#34;)&lt;/script&gt;"
    for path in ("/console/datasets", f"/console/datasets/{hostile.id}"):
        page = assert_console_page(console.get(path), 200)
        assert escaped in page and "<script>alert" not in page

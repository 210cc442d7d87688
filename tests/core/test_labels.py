"""Names and descriptions through the Python API and the CLI: the same limits as over REST
(at most 255 and 4096 characters; no control characters, but tabs and line breaks in
descriptions), for every resource that has them, on create and on update."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lakefeed import Lakefeed
from lakefeed.catalog.labels import check_description, check_name
from lakefeed.errors import InvalidText
from lakefeed.testing.profiles import create_profile_schema
from tests_support import lakefeed


@pytest.fixture
def lf(tmp_path: Path) -> Lakefeed:
    return Lakefeed(home=tmp_path / "home")


def creators(lf: Lakefeed, tmp_path: Path) -> dict[str, Callable[..., Any]]:
    """Per resource, ``create(name, description)``."""
    schema = create_profile_schema(lf.schemas)
    dataset = lf.datasets.create("base", schema["$id"])
    base = lf.create_connection("raw", "local-files", None, {"rootPath": str(tmp_path)})
    source = lf.flows.create_source_connection(name="s", base_connection_id=base.id, path="x")
    target = lf.flows.create_target_connection(name="t", dataset_id=dataset.id)
    return {
        "connection": lambda name, description: lf.create_connection(
            name, "local-files", None, {"rootPath": str(tmp_path)}, description=description
        ),
        "dataset base connection": lambda name, description: (
            lf.connections.create_dataset_base_connection(name=name, description=description)
        ),
        "dataset": lambda name, description: lf.datasets.create(
            name, schema["$id"], description=description
        ),
        "source connection": lambda name, description: lf.flows.create_source_connection(
            name=name, base_connection_id=base.id, path="x", description=description
        ),
        "target connection": lambda name, description: lf.flows.create_target_connection(
            name=name, dataset_id=dataset.id, description=description
        ),
        "flow": lambda name, description: lf.flows.create_flow(
            name=name,
            source_connection_ids=[source.id],
            target_connection_ids=[target.id],
            description=description,
        ),
        "schema": lambda name, description: lf.schemas.create_inferred_schema(
            name, {"a": {"type": "string"}}, description=description
        ),
    }


@pytest.mark.parametrize(
    ("name", "description", "words"),
    [
        ("n" * 100_000, "", "100000 characters long; at most 255"),
        ("a\x00b", "", "U+0000 at position 1"),
        ("tab\there", "", "U+0009"),
        ("ok", "d" * 4097, "4097 characters long; at most 4096"),
        ("ok", "nul \x00", "U+0000 at position 4"),
        ("ok", "esc \x1b[2J", "U+001B"),
        ("lone \ud800 surrogate", "", "U+D800 at position 5: a lone surrogate"),
    ],
)
def test_every_resource_refuses_bad_names_and_descriptions(
    lf: Lakefeed, tmp_path: Path, name: str, description: str, words: str
) -> None:
    for noun, create in creators(lf, tmp_path).items():
        with pytest.raises(InvalidText, match=re.escape(words)) as refused:
            create(name, description)
        assert refused.value.code == "LF-1002" and refused.value.fix, noun
    assert [c.name for c in lf.connections.list()] == ["raw"]
    assert [d.name for d in lf.datasets.list()] == ["base"]
    assert len(lf.schemas.list("schemas")) == 1  # the profile schema only


def test_limits_are_inclusive_and_descriptions_may_have_lines(lf: Lakefeed, tmp_path: Path) -> None:
    description = "line one\n\tline two\r\n"
    for noun, create in creators(lf, tmp_path).items():
        name = f"{noun[:3]}{'x' * 240}"[:255].ljust(255, "y")
        created = create(name, description)
        shown = created if isinstance(created, dict) else created.to_dict()
        assert shown.get("name", shown.get("title")) == name, noun  # stored whole
        assert shown["description"] == description, noun


def test_updates_are_checked_too(lf: Lakefeed, tmp_path: Path) -> None:
    parts = creators(lf, tmp_path)
    connection = parts["connection"]("c", "")
    source = parts["source connection"]("sc", "")
    flow = parts["flow"]("f", "")
    with pytest.raises(InvalidText, match="connection's name"):
        lf.connections.update(connection.id, name="x" * 256)
    with pytest.raises(InvalidText, match="source connection's description"):
        lf.flows.update_source_connection(source.id, description="\x07")
    with pytest.raises(InvalidText, match="flow's name"):
        lf.flows.update_flow(flow.id, name="bad\nname")
    schema = lf.schemas.list("schemas")[0]
    with pytest.raises(InvalidText, match="schema's title"):
        lf.schemas.update(schema["$id"], {**schema, "title": "t" * 300})


def test_the_rules_themselves() -> None:
    check_name("é" * 255, "flow")  # characters, not bytes
    check_description("x" * 4096, "flow")
    with pytest.raises(InvalidText, match=r"U\+0085"):
        check_name("next\x85line", "flow")  # C1 controls too
    with pytest.raises(InvalidText, match="none is allowed in a name"):
        check_name("a\rb", "flow")
    # "invoice\u202egpj.exe" displays as "invoiceexe.jpg": a name may not pose as another.
    for text in ("invoice\u202egpj.exe", "a\u2066b\u2069"):
        with pytest.raises(InvalidText, match="bidirectional control"):
            check_name(text, "flow")
        with pytest.raises(InvalidText, match="bidirectional control"):
            check_description(text, "flow")
    with pytest.raises(InvalidText, match="line or paragraph separator"):
        check_name("one\u2028two", "flow")
    check_description("one\u2028two", "flow")  # a description may have lines
    check_name("مرحبا lakefeed", "flow")  # right-to-left text itself is fine


def test_the_cli_refuses_what_the_api_refuses(tmp_path: Path) -> None:
    out = lakefeed(
        tmp_path, "connections", "create", "n" * 300, "--spec", "local-files",
        "-p", f"rootPath={tmp_path}",
    )  # fmt: skip
    assert out.returncode == 1
    assert "LF-1002" in out.stderr and "300 characters long" in " ".join(out.stderr.split())

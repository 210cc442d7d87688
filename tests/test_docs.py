"""The docs stay true to the code: every hook, CLI command, option and error class is documented,
quoted code equals the files it quotes, auth-param tables equal the specs, links resolve, and the
tutorial's and the hook reference's code runs.

``python tests/test_docs.py --write-tables`` regenerates the auth-param tables of
docs/reference/plugins.md from ``lakefeed specs NAME --json``.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import shlex
import subprocess
import sys
import types
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import lakefeed.errors
from lakefeed import hookspecs
from lakefeed.cli import _register_commands, cli
from lakefeed.plugins import Plugins, get_plugins

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
HOOKS_MD = DOCS / "reference" / "hooks.md"
CLI_MD = DOCS / "reference" / "cli.md"
ERRORS_MD = DOCS / "reference" / "errors.md"
PLUGINS_MD = DOCS / "reference" / "plugins.md"
HOWTO_PLUGIN_MD = DOCS / "how-to" / "write-a-storage-plugin.md"
HOWTO_FORMAT_MD = DOCS / "how-to" / "write-a-format-plugin.md"
GETTING_STARTED_MD = DOCS / "getting-started.md"

INCLUDE = re.compile(
    r"<!-- include: (?P<path>\S+) -->\s*\n```[^\n]*\n(?P<body>.*?)^```", re.M | re.S
)
TABLE = re.compile(
    r"<!-- auth-params: (?P<spec>[^|]+?) \| (?P<auth>.+?) -->\n(?P<body>.*?)<!-- /auth-params -->",
    re.S,
)
RUN = re.compile(r"<!-- test: run -->\s*\n```(?P<lang>\w+)\n(?P<body>.*?)^```", re.M | re.S)
LINK = re.compile(r"(?<!!)\[[^\]]*\]\((?P<target>[^)\s]+)\)")


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def markdown_files() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def headings(path: Path, level: int = 2) -> set[str]:
    prefix = "#" * level + " "
    return {
        line[len(prefix) :].strip()
        for line in strip_fences(read(path)).splitlines()
        if line.startswith(prefix)
    }


def strip_fences(text: str) -> str:
    """The text without fenced code blocks (a '# comment' in a block is not a heading)."""
    return re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = unicodedata.normalize("NFKC", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def section(text: str, heading: str) -> str:
    """The text under ``## heading`` up to the next ``##`` heading ("" when there is none)."""
    parts = text.split(f"\n## {heading}\n", 1)
    return parts[1].split("\n## ", 1)[0] if len(parts) == 2 else ""


def anchors(path: Path) -> set[str]:
    found = set()
    for line in strip_fences(read(path)).splitlines():
        if match := re.match(r"#{1,6} (.+)", line):
            found.add(slug(match.group(1)))
    return found


# --- (a) hooks ---------------------------------------------------------------------------------


def hook_names() -> list[str]:
    from_module = sorted(
        name
        for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(fn, "lakefeed_spec")
    )
    manager = Plugins(load_entry_points=False).pm
    from_manager = sorted(name for name in dir(manager.hook) if not name.startswith("_"))
    assert from_module == from_manager, (from_module, from_manager)
    assert from_module, "no hookspecs found in lakefeed.hookspecs"
    return from_module


def test_every_hook_has_a_heading_in_hooks_md() -> None:
    documented = headings(HOOKS_MD)
    missing = [name for name in hook_names() if name not in documented]
    assert not missing, (
        f"hooks without a '## name' heading in {HOOKS_MD.relative_to(ROOT)}: {missing}"
    )


def test_every_hook_argument_is_documented() -> None:
    text = read(HOOKS_MD)
    missing = [
        f"{name}({arg})"
        for name in hook_names()
        for arg in inspect.signature(getattr(hookspecs, name)).parameters
        if f"`{arg}`" not in section(text, name)
    ]
    assert not missing, f"hook arguments not documented under their hook in hooks.md: {missing}"


# --- (b) CLI -----------------------------------------------------------------------------------


def walk_commands(group: click.Group, prefix: str) -> Iterator[tuple[str, click.Command]]:
    ctx = click.Context(group, info_name=prefix)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        full = f"{prefix} {name}"
        yield full, command
        if isinstance(command, click.Group):
            yield from walk_commands(command, full)


def cli_commands() -> dict[str, click.Command]:
    _register_commands()
    commands = dict(walk_commands(cli, "lakefeed"))
    assert "lakefeed connections create" in commands, sorted(commands)
    return commands


def test_every_cli_command_has_a_heading_in_cli_md() -> None:
    documented = headings(CLI_MD)
    missing = [name for name in cli_commands() if name not in documented]
    assert not missing, f"CLI commands without a '## lakefeed …' heading in cli.md: {missing}"


def test_every_cli_option_is_documented_under_its_command() -> None:
    text = strip_fences(read(CLI_MD))
    problems = []
    for name, command in cli_commands().items():
        body = section(text, name)
        for param in command.params:
            if isinstance(param, click.Option):
                flags = [*param.opts, *param.secondary_opts]
                missing = [flag for flag in flags if f"`{flag}" not in body]
                if missing:
                    problems.append(f"{name}: {', '.join(missing)}")
            elif param.name and param.name.upper() not in body:
                problems.append(f"{name}: argument {param.name.upper()}")
    assert not problems, f"options or arguments missing from their section of cli.md: {problems}"


# --- (c) errors --------------------------------------------------------------------------------


def error_classes() -> list[type[lakefeed.errors.LakefeedError]]:
    found = [
        obj
        for _, obj in inspect.getmembers(lakefeed.errors, inspect.isclass)
        if issubclass(obj, lakefeed.errors.LakefeedError) and obj.__module__ == "lakefeed.errors"
    ]
    assert len(found) > 5, found
    return found


def test_every_error_class_is_documented_with_its_code() -> None:
    lines = read(ERRORS_MD).splitlines()
    missing = [
        f"{cls.__name__} ({cls.code})"
        for cls in error_classes()
        if not any(f"`{cls.__name__}`" in line and cls.code in line for line in lines)
    ]
    assert not missing, (
        f"error classes without a line naming them and their code in errors.md: {missing}"
    )


def test_error_http_statuses_are_documented() -> None:
    lines = read(ERRORS_MD).splitlines()
    wrong = [
        cls.__name__
        for cls in error_classes()
        if not any(
            line.startswith(f"| `{cls.__name__}`") and f"| {cls.http_status} |" in line
            for line in lines
        )
    ]
    assert not wrong, f"error classes whose table row lacks their HTTP status: {wrong}"


# --- (d) quoted files --------------------------------------------------------------------------


def test_plugin_code_quoted_in_how_to_equals_the_file() -> None:
    text = read(HOWTO_PLUGIN_MD)
    quoted = {m.group("path"): m.group("body") for m in INCLUDE.finditer(text)}
    path = "examples/lakefeed-memory/lakefeed_memory/__init__.py"
    assert path in quoted, f"no '<!-- include: {path} -->' block in write-a-storage-plugin.md"
    assert quoted[path] == read(ROOT / path), f"the quote of {path} differs from the file"


def test_every_include_marker_quotes_its_file_exactly() -> None:
    stale = []
    for md in markdown_files():
        for match in INCLUDE.finditer(read(md)):
            path = ROOT / match.group("path")
            if not path.is_file() or read(path) != match.group("body"):
                stale.append(f"{md.relative_to(ROOT)}: {match.group('path')}")
    assert not stale, f"quotes that differ from their files: {stale}"


# --- (e) links ---------------------------------------------------------------------------------


def test_every_relative_link_resolves() -> None:
    broken = []
    for md in markdown_files():
        for match in LINK.finditer(strip_fences(read(md))):
            target = match.group("target")
            if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("//"):
                continue  # absolute URL
            file_part, _, anchor = target.partition("#")
            dest = (md.parent / file_part).resolve() if file_part else md
            if not dest.exists():
                broken.append(f"{md.relative_to(ROOT)}: {target} (no such file)")
            elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                broken.append(f"{md.relative_to(ROOT)}: {target} (no such heading)")
    assert not broken, f"broken relative links: {broken}"


def test_spec_documentation_links_point_at_headings() -> None:
    broken = []
    for source_type in get_plugins().source_types():
        link = source_type.spec.documentation_link
        if not link or "://" in link:
            continue
        file_part, _, anchor = link.partition("#")
        dest = ROOT / file_part
        if not dest.is_file() or (anchor and anchor not in anchors(dest)):
            broken.append(f"{source_type.spec.name}: {link}")
    assert not broken, f"connection specs whose documentation_link does not resolve: {broken}"


def documented_command_lines() -> Iterator[tuple[Path, list[str]]]:
    """Every ``$ lakefeed …`` command shown in a console block of the docs (not synopses)."""
    for md in markdown_files():
        for block in re.findall(r"^```console\n(.*?)^```", read(md), re.M | re.S):
            for line in re.sub(r"\\\n\s*", "", block).splitlines():
                if not line.startswith("$ ") or re.search(r"\s\[", line):
                    continue  # output, or a synopsis such as `lakefeed ls CONNECTION [PATH]`
                for part in line[2:].split("|"):
                    # Shell plumbing around a command: redirections and a trailing `&`.
                    part = re.sub(r"\s*&\s*$", "", part)
                    part = re.sub(r"\s\d?>>?\s*(&\d|\S+)", "", part)
                    words = shlex.split(part.strip(), comments=True)
                    while words and re.match(r"[A-Z_]+=", words[0]):
                        words.pop(0)  # VAR=value prefix
                    if words and words[0] == "lakefeed":
                        yield md, words


def test_every_documented_command_and_option_exists() -> None:
    _register_commands()
    wrong = []
    for md, words in documented_command_lines():
        # --help is eager: the parser still rejects unknown commands and options first.
        result = CliRunner().invoke(cli, [*words[1:], "--help"])
        if result.exit_code != 0:
            command = shlex.join(words)
            wrong.append(f"{md.relative_to(ROOT)}: `{command}`: {result.output.strip()[-200:]}")
    assert not wrong, f"documented commands that the CLI rejects: {wrong}"


# --- auth-param tables -------------------------------------------------------------------------


def spec_json(name: str) -> dict:
    _register_commands()
    result = CliRunner().invoke(cli, ["specs", name, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def auth_param_table(spec: dict, auth_name: str) -> str:
    """The Markdown table of one auth spec, from ``lakefeed specs NAME --json``."""
    (auth,) = [a for a in spec["authSpec"] if a["name"] == auth_name]
    schema = auth["spec"]
    rows = [
        f"Auth spec **`{auth_name}`** (type `{auth['type']}`): {_cell(schema['description'])}",
        "",
        "| Param | Type | Required | Secret | Default | Description |",
        "|---|---|---|---|---|---|",
    ]
    for name, prop in schema["properties"].items():
        notes = []
        if "minimum" in prop:
            notes.append(f"Minimum {prop['minimum']}.")
        if "enum" in prop:
            notes.append("One of " + ", ".join(f"`{v}`" for v in prop["enum"]) + ".")
        default = f"`{json.dumps(prop['default'])}`" if "default" in prop else ""
        rows.append(
            f"| `{name}` | {prop['type']} | {'yes' if name in schema['required'] else ''} "
            f"| {'yes' if prop.get('x-secret') else ''} | {default} "
            f"| {_cell(' '.join([prop['description'], *notes]))} |"
        )
    return "\n".join(rows) + "\n\n"


def bundled_specs() -> list[str]:
    names = []
    for info in get_plugins().describe():
        if info.distribution == "lakefeed":
            names.extend(info.source_types)
    assert "amazon-s3" in names, names
    return sorted(names)


def test_auth_param_tables_equal_the_specs() -> None:
    text = read(PLUGINS_MD)
    found = {(m.group("spec"), m.group("auth")): m.group("body") for m in TABLE.finditer(text)}
    problems = []
    for name in bundled_specs():
        spec = spec_json(name)
        for auth in spec["authSpec"]:
            key = (name, auth["name"])
            if key not in found:
                problems.append(f"no table for {name} / {auth['name']}")
            elif found[key] != auth_param_table(spec, auth["name"]):
                problems.append(f"table for {name} / {auth['name']} differs from the spec")
    assert not problems, f"{problems}; regenerate with `python tests/test_docs.py --write-tables`"


def write_tables() -> None:
    text = read(PLUGINS_MD)

    def replace(match: re.Match[str]) -> str:
        spec, auth = match.group("spec"), match.group("auth")
        body = auth_param_table(spec_json(spec), auth)
        return f"<!-- auth-params: {spec} | {auth} -->\n{body}<!-- /auth-params -->"

    PLUGINS_MD.write_text(TABLE.sub(replace, text), encoding="utf-8")


# --- code in the docs runs ---------------------------------------------------------------------


def run_console_block(body: str, cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _register_commands()
    commands = re.sub(r"\\\n\s*", "", body)
    for line in commands.splitlines():
        if not line.startswith("$ "):
            continue  # output shown in the docs
        command = line[2:]
        expected = 0
        if match := re.search(r"#\s*exits (\d+)", command):
            expected = int(match.group(1))
        words = shlex.split(os.path.expandvars(command), comments=True)
        if words[0] == "export":
            name, _, value = words[1].partition("=")
            monkeypatch.setenv(name, value)
        elif words[0] == "lakefeed":
            result = CliRunner().invoke(cli, words[1:], catch_exceptions=False)
            assert result.exit_code == expected, (
                f"`{command}` exited {result.exit_code}:\n{result.output}"
            )
        else:
            done = subprocess.run(["bash", "-c", command], cwd=cwd, capture_output=True, text=True)
            assert done.returncode == expected, f"`{command}` failed:\n{done.stderr}"


def run_blocks(md: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PWD", str(tmp_path))
    namespace: dict = {"__name__": f"docs_{md.stem.replace('-', '_')}"}
    count = 0
    for match in RUN.finditer(read(md)):
        count += 1
        if match.group("lang") == "python":
            exec(compile(match.group("body"), f"{md.name} block {count}", "exec"), namespace)
        elif match.group("lang") == "console":
            run_console_block(match.group("body"), tmp_path, monkeypatch)
        else:
            raise AssertionError(f"{md.name}: cannot run a {match.group('lang')!r} block")
    return count


def test_getting_started_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_blocks(GETTING_STARTED_MD, tmp_path, monkeypatch) >= 4
    assert (tmp_path / "lakefeed-home" / "secret.key").exists()


def test_plugin_how_to_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_blocks(HOWTO_PLUGIN_MD, tmp_path, monkeypatch) >= 1


def test_format_plugin_how_to_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_blocks(HOWTO_FORMAT_MD, tmp_path, monkeypatch) >= 1


def test_format_plugin_code_quoted_in_how_to_equals_the_file() -> None:
    quoted = {m.group("path"): m.group("body") for m in INCLUDE.finditer(read(HOWTO_FORMAT_MD))}
    path = "examples/lakefeed-lines/lakefeed_lines/__init__.py"
    assert quoted.get(path) == read(ROOT / path), f"the how-to does not quote {path} as it is"


INGESTION_PAGES = [
    "how-to/ingest-with-python.md",
    "how-to/map-fields.md",
    "explanation/ingestion.md",
    "explanation/schemas.md",
    "explanation/datasets.md",
]


@pytest.mark.parametrize("page", INGESTION_PAGES)
def test_ingestion_pages_run(page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEFEED_HOME", str(tmp_path / "home"))
    assert run_blocks(DOCS / page, tmp_path, monkeypatch) >= 1


def test_every_page_with_runnable_blocks_is_run() -> None:
    """A page marked ``<!-- test: run -->`` must be run by one of the tests above."""
    run_here = {
        GETTING_STARTED_MD,
        HOWTO_PLUGIN_MD,
        HOWTO_FORMAT_MD,
        *(DOCS / p for p in INGESTION_PAGES),
    }
    runnable = {md for md in DOCS.rglob("*.md") if RUN.search(read(md))}
    runnable -= {DOCS / "reference" / "hooks.md"}  # run as plugin modules, see below
    runnable -= {DOCS / "security.md"}  # key rotation: tests/core/catalog/test_key_rotation.py
    assert runnable <= run_here, f"pages with runnable blocks no test runs: {runnable - run_here}"


def example_module(md: Path, contains: str) -> types.ModuleType:
    """The ```python block of ``md`` that contains ``contains``, executed as a plugin module."""
    blocks = [m.group("body") for m in RUN.finditer(read(md)) if contains in m.group("body")]
    assert len(blocks) == 1, f"expected one runnable block with {contains!r} in {md.name}"
    module = types.ModuleType(f"docs_example_{contains}")
    exec(compile(blocks[0], f"{md.name}: {contains}", "exec"), module.__dict__)
    return module


def test_register_source_types_example_registers_a_source_type() -> None:
    plugins = Plugins(load_entry_points=False)
    plugins.register(example_module(HOOKS_MD, "def register_source_types"), "docs-example")
    (source_type,) = plugins.source_types()
    spec = source_type.spec
    schema = spec.auth_specs[0].json_schema()
    assert [name for name, p in schema["properties"].items() if p.get("x-secret")], schema
    assert plugins.source_type(spec.name) is not None


def test_register_commands_example_adds_a_working_command(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from lakefeed import Lakefeed

    plugins = Plugins(load_entry_points=False)
    plugins.register(example_module(HOOKS_MD, "def register_commands"), "docs-example")
    group = click.Group("lakefeed")
    plugins.register_commands(group)
    assert group.commands, "the register_commands example added no command"
    pq.write_table(pa.table({"x": [1, 2]}), tmp_path / "a.parquet")
    Lakefeed().create_connection("docs", "local-files", None, {"rootPath": str(tmp_path)})
    (name,) = group.commands
    result = CliRunner().invoke(group, [name, "docs"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "1 files" in result.output, result.output


def test_register_formats_example_reads_a_file(tmp_path: Path) -> None:
    from lakefeed.storage.session import StorageSession

    plugins = Plugins(load_entry_points=False)
    plugins.register(example_module(HOOKS_MD, "def register_formats"), "docs-example")
    tsv = plugins.file_format("TSV")
    (tmp_path / "orders.tsv").write_text("id\titem\n1\ttea\n2\tcake\n")
    (tmp_path / "ragged.tsv").write_text("id\titem\n1\n")
    local = get_plugins().source_type("local-files")
    session = StorageSession(
        local, local.auth_params({"rootPath": str(tmp_path)}), formats=plugins.formats()
    )
    assert session.explore("root")[0]["canPreview"]
    preview = session.preview("orders.tsv")  # found by its name
    assert preview.to_dict()["format"] == "tsv"
    assert preview.rows == [{"id": "1", "item": "tea"}, {"id": "2", "item": "cake"}]
    assert session.inspect_file("ragged.tsv", tsv).schema.names == ["id", "item"]
    with pytest.raises(lakefeed.errors.MalformedFile, match="row 1 has 1 fields"):
        session.preview("ragged.tsv")


# --- REST routes -------------------------------------------------------------------------------

REST_MD = DOCS / "reference" / "rest.md"
#: rest.md and the pages of one service each (rest-mapping-sets.md): one section per route.
REST_PAGES = [REST_MD, *sorted((DOCS / "reference").glob("rest-*.md"))]
ROUTE_HEADING = re.compile(r"^### (?P<method>[A-Z]+) (?P<path>/\S*)$")


def route_sections(text: str) -> dict[tuple[str, str], str]:
    """``(METHOD, path)`` of every ``### METHOD /path`` heading, with the text up to the next
    ``##``/``###`` heading (headings inside code blocks do not count)."""
    sections: dict[tuple[str, str], str] = {}
    duplicates = []
    current: tuple[str, str] | None = None
    fenced = False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith(("## ", "### ")):
            match = ROUTE_HEADING.match(line)
            current = (match["method"], match["path"]) if match else None
            if current in sections:
                duplicates.append(current)
            if current:
                sections[current] = ""
            continue
        if current:
            sections[current] += line + "\n"
    assert not duplicates, f"routes with two sections in rest.md: {duplicates}"
    return sections


def test_rest_reference_covers_every_route(tmp_path: Path) -> None:
    from lakefeed import Lakefeed
    from lakefeed.api import create_app

    # app.routes is empty (routers are included lazily): the OpenAPI document lists the routes.
    paths = create_app(Lakefeed(home=tmp_path)).openapi()["paths"]
    routes = {
        (method.upper(), path)
        for path, operations in paths.items()
        for method in operations
        if method.upper() not in ("HEAD", "OPTIONS")
    }
    assert len(routes) > 40, sorted(routes)
    sections = route_sections("\n".join(read(page) for page in REST_PAGES))
    missing = sorted(f"{m} {p}" for m, p in routes - set(sections))
    assert not missing, f"routes without a '### METHOD /path' section in rest*.md: {missing}"
    unknown = sorted(f"{m} {p}" for m, p in set(sections) - routes)
    assert not unknown, f"rest*.md sections for routes the server does not have: {unknown}"
    no_example = sorted(f"{m} {p}" for (m, p), body in sections.items() if "curl" not in body)
    assert not no_example, f"rest*.md route sections without a curl example: {no_example}"


if __name__ == "__main__":
    if sys.argv[1:] == ["--write-tables"]:
        write_tables()
    else:
        sys.exit(pytest.main([__file__, "-p", "no:cacheprovider"]))

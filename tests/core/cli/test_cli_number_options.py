"""Every number option of the CLI refuses what it cannot act on, as a usage error naming the
option: ``nan`` and ``inf`` seconds (``runs wait --timeout nan`` waited forever, ``scheduler
--poll inf`` crashed) and counts too large for a database (``batches errors --offset
99999999999999999999`` overflowed SQLite's LIMIT)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import click
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import Result

from lakefeed.cli import _register_commands, cli
from lakefeed.cli.ranges import MAX_COUNT, Seconds, count, seconds

RunCli = Callable[..., Result]


def number_options() -> Iterator[tuple[tuple[str, ...], click.Option]]:
    """(command path, option) of every option of every command that takes a number."""
    _register_commands()

    def walk(
        command: click.Command, path: tuple[str, ...]
    ) -> Iterator[tuple[tuple[str, ...], click.Option]]:
        if isinstance(command, click.Group):
            for name, sub in sorted(command.commands.items()):
                yield from walk(sub, (*path, name))
            return
        for param in command.params:
            if isinstance(param, click.Option) and param.type.name in {
                "float",
                "integer",
                "float range",
                "integer range",
                Seconds.name,
            }:
                yield path, param

    yield from walk(cli, ())


NUMBER_OPTIONS = list(number_options())


def test_the_walk_finds_the_options_it_must() -> None:
    found = {(" ".join(path), option.opts[0]) for path, option in NUMBER_OPTIONS}
    expected = {("runs wait", "--timeout"), ("scheduler", "--poll"), ("batches errors", "--offset")}
    assert expected <= found and len(found) >= 15, found


#: Plain numbers the engine checks itself, as it checks them from REST (the schedule rules; the
#: partial-ingestion threshold): their errors name the rule, e.g. "longer than 100 years".
ENGINE_CHECKED = {"--interval", "--partial-ingestion-percent"}


@pytest.mark.parametrize(
    ("path", "option"),
    NUMBER_OPTIONS,
    ids=[f"{' '.join(path)} {option.opts[0]}" for path, option in NUMBER_OPTIONS],
)
def test_every_number_option_is_bounded_and_finite(
    path: tuple[str, ...], option: click.Option, run_cli: RunCli
) -> None:
    name, kind = option.opts[0], option.type
    if isinstance(kind, click.FloatRange):
        assert isinstance(kind, Seconds), f"{name}: use lakefeed.cli.ranges.seconds"
        hostile = ["nan", "inf", "-inf", "1e309"]
    elif isinstance(kind, click.IntRange):
        assert kind.max is not None and kind.max <= MAX_COUNT, f"{name} has no maximum"
        hostile = ["99999999999999999999", str(MAX_COUNT + 1)]
    else:
        assert name in ENGINE_CHECKED, f"{name}: use lakefeed.cli.ranges.count or seconds"
        return
    for value in hostile:
        done = run_cli(*path, f"{name}={value}", code=2)
        assert f"Invalid value for '{name}'" in done.output, done.output
        assert "Traceback" not in done.output and "LF-1999" not in done.output


@pytest.mark.parametrize("value", ["0", "1", "86400", "2147483647"])
def test_values_in_range_still_parse(value: str) -> None:
    assert seconds(0, 3e9).convert(value, None, None) == float(value)
    assert count().convert(value, None, None) == int(value)


def test_the_engine_checked_numbers_are_its_clear_errors(run_cli: RunCli, tmp_path: Path) -> None:
    pq.write_table(pa.table({"a": [1, 2]}), tmp_path / "a.parquet")
    nan = run_cli("ingest", str(tmp_path), ".", "--dataset", "d", "--infer",
                  "--partial-ingestion-percent", "nan", code=1)  # fmt: skip
    assert "partialIngestionPercent must be a number above 0 and at most 100, not nan" in (
        nan.output
    )
    huge = run_cli("flows", "create", "--name", "f", "--connection", "c", "--path", "/",
                   "--dataset", "d", "--frequency", "minute", "--interval",
                   "99999999999999999999", code=1)  # fmt: skip
    assert "LF-1397" in huge.output and "longer than 100 years" in huge.output

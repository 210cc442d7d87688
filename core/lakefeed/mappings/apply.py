"""A mapping set compiled once and applied to record batches.

``compile`` checks everything that does not depend on the data — expression syntax, function
names and constant arguments, destination paths against the destination schema, duplicates —
and reports every problem in one :class:`~lakefeed.errors.MappingError`. ``apply`` evaluates
each mapping over the whole batch, converts the values towards their destination fields and
nests them along the destination paths. A value a function or a conversion fails on is null,
and a failure ``(row, destination, message)``; such failures carry the row-error code
:data:`MAPPING_FAILED`.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from lakefeed.errors import MappingError
from lakefeed.mappings.coerce import coerce
from lakefeed.mappings.evaluation import Context, find_path
from lakefeed.mappings.expressions import Expression, Reference, parse
from lakefeed.mappings.paths import Path, format_path, parse_path
from lakefeed.mappings.registry import FUNCTIONS
from lakefeed.schema.arrow import describe

#: The row-error code of a value that a mapping's function or conversion fails on (AEP's).
MAPPING_FAILED = "MAPPER-3700-400"

SOURCE_TYPES = ("ATTRIBUTE", "EXPRESSION")


@dataclass(frozen=True)
class Mapping:
    """One mapping of a Data Prep mapping set: a source attribute path (``ATTRIBUTE``) or a
    calculated field (``EXPRESSION``) into a destination path of the output schema."""

    source_type: str
    source: str
    destination: str
    name: str | None = None


@dataclass
class MappedBatch:
    """The mapped rows, nested along the destination paths (only mapped fields are present),
    and every value that failed: ``(row index in the batch, destination, message)``."""

    data: pa.RecordBatch
    failures: list[tuple[int, str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class CompiledMapping:
    mapping: Mapping
    expression: Expression
    destination: Path
    target: pa.Field | None  # the destination field, when the destination schema is known


class CompiledMappingSet:
    """Mappings ready to apply; build with :meth:`compile`. Picklable."""

    def __init__(
        self, mappings: tuple[CompiledMapping, ...], destination_fields: pa.Schema | None
    ) -> None:
        self.mappings = mappings
        self.destination_fields = destination_fields

    def __repr__(self) -> str:
        return f"CompiledMappingSet({len(self.mappings)} mappings)"

    # --- compiling ------------------------------------------------------------------------------

    @classmethod
    def compile(
        cls, mappings: Sequence[Mapping], destination_fields: pa.Schema | None
    ) -> CompiledMappingSet:
        """Check and parse ``mappings``; :class:`MappingError` listing every problem (bad
        syntax, unknown function, destination not in ``destination_fields``, duplicate or
        overlapping destination, an ATTRIBUTE source that is not a path)."""
        problems: list[str] = []
        compiled: list[CompiledMapping] = []
        seen: dict[Path, int] = {}
        if not mappings:
            problems.append("it has no mappings")
        for number, mapping in enumerate(mappings, start=1):
            label = f"mapping {number} (destination {mapping.destination!r})"
            try:
                compiled.append(_compile_one(mapping, destination_fields))
            except MappingError as exc:
                problems.append(f"{label}: {_sentence(exc)}")
                continue
            destination = compiled[-1].destination
            if destination in seen:
                problems.append(f"{label}: mapping {seen[destination]} has the same destination")
            seen.setdefault(destination, number)
        paths = sorted(seen)
        for shorter, longer in itertools.pairwise(paths):
            if longer[: len(shorter)] == shorter:
                problems.append(
                    f"mapping {seen[longer]} (destination {format_path(longer)!r}) writes inside "
                    f"mapping {seen[shorter]}'s destination {format_path(shorter)!r}"
                )
        if problems:
            count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
            raise MappingError(
                f"The mapping set has {count}: " + "; ".join(problems) + ".",
                fix="Fix the mappings named; docs/reference/mapping-functions.md lists the "
                "functions and the expression syntax.",
                problems=problems,
            )
        return cls(tuple(compiled), destination_fields)

    def references(self) -> set[str]:
        """Every source attribute path the mappings read."""
        found: set[str] = set()
        for mapping in self.mappings:
            found |= mapping.expression.references()
        return found

    @property
    def output_schema(self) -> pa.Schema | None:
        """The schema :meth:`apply` produces, when the destination schema is known."""
        if self.destination_fields is None:
            return None
        tree = _tree(self.mappings)
        return pa.schema(_pruned(list(self.destination_fields), tree))

    # --- the source -----------------------------------------------------------------------------

    def check_source(self, schema: pa.Schema) -> list[str]:
        """Every problem with reading sources of ``schema``: attributes it lacks (they would map
        as nulls) and values the expressions or destinations cannot use."""
        problems = []
        for number, mapping in enumerate(self.mappings, start=1):
            label = f"mapping {number} (destination {mapping.mapping.destination!r})"
            for path in sorted(mapping.expression.paths()):
                reason = find_path(schema, path)
                if reason is not None:
                    problems.append(
                        f"{label}: source attribute '{format_path(path)}' is missing: {reason}; "
                        "it would be mapped as null"
                    )
        empty = pa.RecordBatch.from_arrays([pa.array([], f.type) for f in schema], schema=schema)
        for number, mapping in enumerate(self.mappings, start=1):
            label = f"mapping {number} (destination {mapping.mapping.destination!r})"
            try:
                _evaluate(mapping, Context(empty, datetime.now().astimezone()))
            except MappingError as exc:
                problems.append(f"{label}: {_sentence(exc)}")
        return problems

    # --- applying -------------------------------------------------------------------------------

    def apply(self, batch: pa.RecordBatch, now: datetime) -> MappedBatch:
        """The mapped batch. ``now`` is what ``now()`` returns (the run's start). Raises
        :class:`MappingError` when the batch's columns have types an expression cannot use
        (:meth:`check_source` reports those before any row is read)."""
        ctx = Context(batch, now)
        values: dict[Path, pa.Array] = {}
        failures: list[tuple[int, str, str]] = []
        for mapping in self.mappings:
            ctx.failures = []
            try:
                values[mapping.destination] = _evaluate(mapping, ctx)
            except MappingError as exc:
                raise exc.with_message(
                    f"Mapping to {mapping.mapping.destination!r} failed: {exc.message}"
                ) from exc
            destination = mapping.mapping.destination
            failures.extend((row, destination, message) for row, message in ctx.failures)
        failures.sort(key=lambda f: f[0])
        arrays, fields = _nest(
            _tree(self.mappings), values, self.destination_fields, batch.num_rows
        )
        data = pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))
        return MappedBatch(data, failures)


def _sentence(error: MappingError) -> str:
    """The error's message and fix, without the final full stop (problems are joined)."""
    return str(error).rstrip(".")


def _compile_one(mapping: Mapping, destination_fields: pa.Schema | None) -> CompiledMapping:
    source_type = str(mapping.source_type).upper()
    if source_type not in SOURCE_TYPES:
        raise MappingError(f"sourceType {mapping.source_type!r} is not ATTRIBUTE or EXPRESSION.")
    if not isinstance(mapping.destination, str) or not mapping.destination:
        raise MappingError("The destination is empty.")
    destination = parse_path(mapping.destination)
    if not isinstance(mapping.source, str) or not mapping.source:
        raise MappingError("The source is empty.")
    if source_type == "EXPRESSION":
        expression = parse(mapping.source)
    else:
        expression = Reference(_attribute_path(mapping.source))
    target = _destination_field(destination_fields, destination)
    return CompiledMapping(mapping, expression, destination, target)


def _attribute_path(source: str) -> Path:
    """An ATTRIBUTE source: a path, not an expression."""
    head = source.split("(", 1)[0].strip()
    if "(" in source and source.rstrip().endswith(")") and head in FUNCTIONS:
        raise MappingError(
            f"The ATTRIBUTE source {source!r} is not an attribute path but a call of {head}().",
            fix="Set sourceType to EXPRESSION for a calculated field.",
        )
    if source != source.strip() or any(ord(c) < 32 for c in source):
        raise MappingError(
            f"The ATTRIBUTE source {source!r} has spaces around it or control characters; "
            "an attribute path names a source column (address.city)."
        )
    return parse_path(source)


def _destination_field(schema: pa.Schema | None, path: Path) -> pa.Field | None:
    if schema is None:
        return None
    fields: list[pa.Field] = list(schema)
    found: pa.Field | None = None
    for depth, name in enumerate(path):
        found = next((f for f in fields if f.name == name), None)
        where = format_path(path[:depth]) or "the schema"
        if found is None:
            names = ", ".join(f.name for f in fields)
            raise MappingError(
                f"The destination '{format_path(path)}' is not in the output schema: "
                f"{where} has no field '{name}' (it has: {names}).",
                fix="Map to a field of the schema (XDM paths such as _tenant.loyalty.points).",
            )
        if depth < len(path) - 1:
            if not pa.types.is_struct(found.type):
                raise MappingError(
                    f"The destination '{format_path(path)}' goes inside "
                    f"'{format_path(path[: depth + 1])}', which is {describe(found.type)}, "
                    "not an object."
                )
            fields = list(found.type)
    return found


def _evaluate(mapping: CompiledMapping, ctx: Context) -> pa.Array:
    values = mapping.expression.evaluate(ctx)
    if mapping.target is not None:
        values = coerce(ctx, values, mapping.target.type, mapping.mapping.destination)
    return values


# --- nesting along the destination paths --------------------------------------------------------

_Tree = dict[str, Any]  # name -> subtree, or the Path of a mapped leaf


def _tree(mappings: Sequence[CompiledMapping]) -> _Tree:
    tree: _Tree = {}
    for mapping in mappings:
        node = tree
        for name in mapping.destination[:-1]:
            node = node.setdefault(name, {})
        node[mapping.destination[-1]] = mapping.destination
    return tree


def _pruned(fields: list[pa.Field], tree: _Tree) -> list[pa.Field]:
    out = []
    for f in fields:
        if f.name not in tree:
            continue
        sub = tree[f.name]
        if isinstance(sub, dict):
            f = f.with_type(pa.struct(_pruned(list(f.type), sub)))
        out.append(f)
    return out


def _nest(
    tree: _Tree, values: dict[Path, pa.Array], schema: pa.Schema | None, length: int
) -> tuple[list[pa.Array], list[pa.Field]]:
    """The arrays and fields of one level: in the schema's order when there is one, else in
    the order the mappings name them. An object is null in a row where all its mapped
    attributes are."""
    by_name = {f.name: f for f in schema} if schema is not None else {}
    names = [f.name for f in schema if f.name in tree] if schema is not None else list(tree)
    arrays: list[pa.Array] = []
    fields: list[pa.Field] = []
    for name in names:
        sub = tree[name]
        known = by_name.get(name)
        if isinstance(sub, dict):
            inner = pa.schema(list(known.type)) if known is not None else None
            children, child_fields = _nest(sub, values, inner, length)
            empty = functools.reduce(pc.and_, (c.is_null() for c in children))
            array = pa.StructArray.from_arrays(
                children, fields=child_fields, mask=empty if empty.true_count else None
            )
            fields.append(pa.field(name, array.type, known.nullable if known is not None else True))
        else:
            array = values[sub]
            fields.append(known if known is not None else pa.field(name, array.type))
        arrays.append(array)
    return arrays, fields

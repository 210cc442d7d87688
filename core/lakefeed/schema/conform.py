"""The ingestion contract of a file and of its rows against a target schema.

:meth:`TargetSchema.check_file` decides from a Parquet footer whether a file can be ingested at
all; :meth:`TargetSchema.conform` turns one record batch into the target's exact Arrow schema and
reports, per input row, every value that breaks the schema. Rows are matched by field name,
recursively. Conforming is vectorized: Python runs per row only to describe rows that failed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from lakefeed.errors import SchemaMismatch
from lakefeed.schema.arrow import describe, to_arrow
from lakefeed.schema.casts import find_cast
from lakefeed.schema.locate import Location
from lakefeed.schema.rules import TargetField, compile_fields

#: A required field is missing or null.
REQUIRED_MISSING = "INGEST-1555-400"
#: A value has the wrong type or format, or breaks an XDM constraint.
INVALID_VALUE = "INGEST-1401-400"

_SHOWN_CHARS = 80


@dataclass(frozen=True)
class FieldError:
    code: str
    message: str
    field: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "field": self.field}


@dataclass(frozen=True)
class RowError:
    """Everything wrong with one row; ``row`` is its index within the input batch."""

    row: int
    errors: tuple[FieldError, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "errors": [e.to_dict() for e in self.errors]}


@dataclass(frozen=True)
class Conformed:
    """The good rows, cast exactly to the target schema and in input order; ``good`` holds
    their int64 indexes in the input batch; ``errors`` the bad rows, by index. ``losses``
    counts, by kind of loss (:data:`~lakefeed.schema.casts.TRUNCATED_TIMESTAMPS`, …) and field
    path, the values of the batch that were converted with less precision than they had."""

    data: pa.RecordBatch
    good: pa.Array
    errors: list[RowError]
    losses: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)


class TargetSchema:
    """The Arrow schema rows are conformed to, with the XDM rules their values must satisfy."""

    def __init__(self, arrow: pa.Schema, fields: tuple[TargetField, ...]) -> None:
        self.arrow = arrow
        self.fields = fields

    @classmethod
    def from_xdm(cls, resolved: Mapping[str, Any]) -> TargetSchema:
        """From a resolved XDM schema (the ``xed-full`` view); raises ``InvalidSchema``."""
        arrow = to_arrow(resolved)
        return cls(arrow, compile_fields(arrow, resolved["properties"]))

    @classmethod
    def from_arrow(cls, schema: pa.Schema) -> TargetSchema:
        """From an Arrow schema: types and nullability only, no XDM rules."""
        return cls(schema, compile_fields(schema))

    def __repr__(self) -> str:
        return f"TargetSchema({', '.join(self.arrow.names)})"

    # --- the file ----------------------------------------------------------------------------

    def check_file(self, source: pa.Schema) -> list[str]:
        """Every reason a file with this schema cannot be conformed; empty when it can."""
        problems: list[str] = []
        _check_fields(list(source), self.fields, "", problems)
        return problems

    # --- the rows ----------------------------------------------------------------------------

    def conform(self, batch: pa.RecordBatch) -> Conformed:
        """The good rows of ``batch`` cast to :attr:`arrow`, and the errors of the others.

        Raises :class:`~lakefeed.errors.SchemaMismatch` when :meth:`check_file` finds problems
        with the batch's schema.
        """
        problems = self.check_file(batch.schema)
        if problems:
            raise SchemaMismatch(
                "The data cannot be conformed to the target schema: " + "; ".join(problems) + ".",
                fix="Fix the file's columns or the schema so that they match.",
                problems=problems,
            )
        report = _Report()
        columns = dict(zip(batch.schema.names, batch.columns, strict=True))
        arrays = _conform_children(columns, None, batch.num_rows, self.fields, Location(), report)
        data = pa.RecordBatch.from_arrays(arrays, schema=self.arrow)
        rows = _row_numbers(batch.num_rows)
        if not report.by_row:
            return Conformed(data, rows, [], report.losses)
        good_mask = pc.invert(pc.is_in(rows, value_set=pa.array(report.by_row, pa.int64())))
        errors = [RowError(row, tuple(report.by_row[row])) for row in sorted(report.by_row)]
        return Conformed(data.filter(good_mask), rows.filter(good_mask), errors, report.losses)


# --- check_file --------------------------------------------------------------------------------


def _check_fields(
    source: list[pa.Field], targets: tuple[TargetField, ...], prefix: str, problems: list[str]
) -> None:
    by_name: dict[str, pa.Field] = {}
    for field in source:
        if field.name in by_name:
            problems.append(f"column '{prefix}{field.name}' appears more than once in the file")
        by_name[field.name] = field
    for target in targets:
        found = by_name.get(target.name)
        if found is None:
            if not target.nullable:
                problems.append(f"required field '{target.path}' is missing from the file")
            continue
        _check_type(found.type, target, problems)
    known = {t.name for t in targets}
    problems.extend(
        f"column '{prefix}{name}' is in the file but the schema has no such field "
        "(its data would be lost)"
        for name in by_name
        if name not in known
    )


def _check_type(source: pa.DataType, target: TargetField, problems: list[str]) -> None:
    if pa.types.is_dictionary(source):
        source = source.value_type
    t = target.type
    if pa.types.is_null(source):
        if not target.nullable:
            problems.append(
                f"column '{target.path}' has no values (null type) in the file "
                "but the schema requires it"
            )
        return
    if pa.types.is_struct(t) and pa.types.is_struct(source):
        _check_fields(list(source), target.children, f"{target.path}.", problems)
    elif pa.types.is_map(t) and pa.types.is_map(source):
        if find_cast(source.key_type, t.key_type) is None:
            problems.append(
                f"the keys of map column '{target.path}' are {describe(source.key_type)} "
                f"in the file but {describe(t.key_type)} in the schema"
            )
        assert target.element is not None
        _check_type(source.item_type, target.element, problems)
    elif (pa.types.is_list(t) or pa.types.is_large_list(t)) and _is_list(source):
        assert target.element is not None
        _check_type(source.value_type, target.element, problems)
    elif pa.types.is_nested(t) or pa.types.is_nested(source) or find_cast(source, t) is None:
        problems.append(
            f"column '{target.path}' is {describe(source)} in the file "
            f"but {describe(t)} in the schema"
        )


def _is_list(t: pa.DataType) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)


# --- conform -----------------------------------------------------------------------------------


class _Report:
    """The field errors found so far, by input row, in the order they were found."""

    def __init__(self) -> None:
        self.by_row: dict[int, list[FieldError]] = {}
        self.losses: dict[str, dict[str, int]] = {}

    def lose(self, kind: str, path: str, count: int) -> None:
        by_path = self.losses.setdefault(kind, {})
        by_path[path] = by_path.get(path, 0) + count

    def add(
        self,
        where: Location,
        indexes: pa.Array,
        code: str,
        problem: str,
        values: pa.Array | None = None,
    ) -> None:
        """Report the elements at ``indexes``; ``values`` (the same length as the array the
        indexes point into) supplies the offending value shown in each message."""
        if len(indexes) == 0:
            return
        rows, paths = where.locate(indexes)
        shown = _python_values(values.take(indexes)) if values is not None else None
        for i, (row, path) in enumerate(zip(rows, paths, strict=True)):
            if shown is None:
                message = f"{path}: {problem}"
            else:
                message = f"{path}: {_show(shown[i])} {problem}"
            self.by_row.setdefault(row, []).append(FieldError(code, message, path))


def _python_values(values: pa.Array) -> list[Any]:
    try:
        return values.to_pylist()
    except (OverflowError, ValueError, pa.ArrowException):
        # e.g. a timestamp beyond Python's datetime: show its raw value and type instead
        return [_python_value(scalar) for scalar in values]


def _python_value(scalar: pa.Scalar) -> Any:
    try:
        return scalar.as_py()
    except (OverflowError, ValueError, pa.ArrowException):
        return _Raw(f"{scalar.cast(pa.int64()).as_py()} ({scalar.type})")


class _Raw(str):
    """A value Python cannot represent, already written out: shown without quotes."""


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) and not isinstance(value, _Raw) else str(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"


def _conform_children(
    columns: dict[str, pa.Array],
    valid: pa.Array | None,
    length: int,
    fields: tuple[TargetField, ...],
    where: Location,
    report: _Report,
) -> list[pa.Array]:
    """Conform the children of a struct (or the columns of a batch): ``valid`` marks the
    elements whose parent is present (``None``: all), where required children are checked."""
    arrays = []
    for field in fields:
        source = columns.get(field.name)
        here = where.child(field.name)
        if not field.nullable:
            missing = pa.repeat(True, length) if source is None else source.is_null()
            if valid is not None:
                missing = pc.and_(missing, valid)
            report.add(
                here, _indexes(missing), REQUIRED_MISSING, "required field is missing or null"
            )
            if source is not None and _is_text(source.type) and not _is_text(field.type):
                # Text sources (CSV) give a blank for "no value", which converts to null.
                text = source.dictionary_decode() if pa.types.is_dictionary(source.type) else source
                blank = pc.equal(pc.utf8_trim_whitespace(text.cast(pa.string())), "")
                blank = blank.fill_null(False)
                if valid is not None:
                    blank = pc.and_(blank, valid)
                report.add(here, _indexes(blank), REQUIRED_MISSING, "required field is empty")
        if source is None:
            arrays.append(pa.nulls(length, field.type))
        else:
            arrays.append(_conform(source, field, here, report))
    return arrays


def _is_text(t: pa.DataType) -> bool:
    if pa.types.is_dictionary(t):
        t = t.value_type
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def _conform(values: pa.Array, field: TargetField, where: Location, report: _Report) -> pa.Array:
    t = field.type
    if pa.types.is_dictionary(values.type) and pa.types.is_nested(values.type.value_type):
        values = values.dictionary_decode()
    if pa.types.is_null(values.type):
        return pa.nulls(len(values), t)
    if pa.types.is_struct(t):
        return _conform_struct(values, field, where, report)
    if pa.types.is_map(t):
        return _conform_map(values, field, where, report)
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return _conform_list(values, field, where, report)
    cast = find_cast(values.type, t)
    assert cast is not None, "check_file lets only convertible columns through"
    converted, failed = cast.run(values)
    if failed is not None:
        report.add(where, failed, INVALID_VALUE, cast.problem, values)
    if cast.lost is not None and cast.loss is not None:
        lost = cast.lost(values, converted).true_count
        if lost:
            report.lose(cast.loss, field.path, lost)
    for rule in field.rules:
        broken = rule.violations(converted)
        if broken.true_count:
            report.add(where, _indexes(broken), INVALID_VALUE, rule.problem, converted)
    return converted


def _conform_struct(
    values: pa.Array, field: TargetField, where: Location, report: _Report
) -> pa.Array:
    # flatten() folds the struct's nulls into its children, so nothing under a null is checked.
    columns = dict(zip((f.name for f in values.type), values.flatten(), strict=True))
    valid = values.is_valid() if values.null_count else None
    arrays = _conform_children(columns, valid, len(values), field.children, where, report)
    mask = values.is_null() if values.null_count else None
    return pa.StructArray.from_arrays(arrays, fields=list(field.type), mask=mask)


def _conform_list(
    values: pa.Array, field: TargetField, where: Location, report: _Report
) -> pa.Array:
    assert field.element is not None
    items, parents, offsets = _unnest(values)
    converted = _conform(items, field.element, where.item(parents, offsets), report)
    mask = values.is_null() if values.null_count else None
    if pa.types.is_large_list(field.type):
        return pa.LargeListArray.from_arrays(
            offsets.cast(pa.int64()), converted, type=field.type, mask=mask
        )
    return pa.ListArray.from_arrays(offsets, converted, type=field.type, mask=mask)


def _conform_map(
    values: pa.Array, field: TargetField, where: Location, report: _Report
) -> pa.Array:
    assert field.element is not None
    as_list = values.view(pa.list_(pa.struct([values.type.key_field, values.type.item_field])))
    entries, parents, offsets = _unnest(as_list)
    keys, items = entries.flatten()
    keys = keys.cast(field.type.key_type)
    converted = _conform(items, field.element, where.value(parents, keys), report)
    mask = values.is_null() if values.null_count else None
    return pa.MapArray.from_arrays(offsets, keys, converted, type=field.type, mask=mask)


def _unnest(values: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """The items of a list array (those of null lists left out), the index of each item's
    list, and int32 offsets of the items for a new list array."""
    items = pc.list_flatten(values)
    parents = pc.list_parent_indices(values)
    lengths = pc.list_value_length(values).fill_null(0)
    starts = pa.concat_arrays([pa.array([0], lengths.type), pc.cumulative_sum(lengths)])
    return items, parents, starts.cast(pa.int32())


def _indexes(mask: pa.Array) -> pa.Array:
    return pc.indices_nonzero(mask).cast(pa.int64())


def _row_numbers(length: int) -> pa.Array:
    """0 … length-1 as int64, without a Python loop over the rows."""
    if length == 0:
        return pa.array([], pa.int64())
    return pc.subtract(pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int64()), length)), 1)

"""Mapping sets as Data Prep's API takes them: their documents checked and stored, validated
against a source and an output schema, and previewed on sample rows.

What a body may hold is :mod:`lakefeed.mappings.documents`' business; the store keeps the
documents (:mod:`lakefeed.catalog.mapping_sets`).

Creating or updating compiles the mappings against the output schema's Arrow fields, so an
unknown function, bad syntax or a destination the schema lacks is refused then
(:class:`~lakefeed.errors.MappingError`). Validation reports the same problems per mapping, and
source attributes missing from the input schema (a JSON schema, a registry schema, or sample
rows), as an answer rather than an error.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from lakefeed.errors import InvalidRequest, MappingError, ResourceInUse, SchemaNotFound
from lakefeed.mappings import CompiledMappingSet
from lakefeed.mappings import Mapping as MappingRule
from lakefeed.mappings.documents import (
    MappingSetDraft,
    json_schema_fields,
    parse_mapping_set,
    sample_batch,
)
from lakefeed.schema.arrow import to_arrow
from lakefeed.values import jsonable

if TYPE_CHECKING:
    from lakefeed.catalog.flows import Flow, FlowResources
    from lakefeed.catalog.mapping_sets import MappingSet, MappingSetStore
    from lakefeed.schema.registry import SchemaRegistry

#: Who created or changed a mapping set through the Python API or the CLI.
LOCAL_ACTOR = "lakefeed"
ORDER_FIELDS = {
    "createdDate": "created_at",
    "updatedDate": "updated_at",
    "modifiedDate": "updated_at",
    "lastUpdateDate": "updated_at",
}
DEFAULT_ORDER = "-updatedDate"
#: How a compiled set labels its problems; a check of one mapping drops it (the mapping is known).
_LABEL = re.compile(r"""^mapping \d+ \(destination (?:'[^']*'|"[^"]*")\): """)


# --- validation and preview results --------------------------------------------------------


def _error(
    mapping: Mapping[str, Any] | None, message: str, row: int | None = None
) -> dict[str, Any]:
    """A Data Prep ``TransformErrorInfo``."""
    error: dict[str, Any] = {}
    if row is not None:
        error["row"] = row
    if mapping is not None:
        error.update(
            destination=mapping["destination"],
            source=mapping["source"],
            sourceType=mapping["sourceType"],
        )
    error["exception"] = message
    return error


@dataclass(frozen=True)
class MappingCheck:
    """The problems of one mapping of a mapping set (none: it is fine)."""

    mapping: dict[str, Any]
    problems: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": "FAILED" if self.problems else "SUCCESS",
            "errors": [_error(self.mapping, p) for p in self.problems] or None,
        }


@dataclass(frozen=True)
class MappingValidation:
    """What validating a mapping set found: per mapping, then for the set as a whole
    (conflicts between mappings). ``source_checked``: whether a source schema was given, so
    that source attributes were checked too."""

    mappings: tuple[MappingCheck, ...]
    problems: tuple[str, ...]
    source_checked: bool

    @property
    def ok(self) -> bool:
        return not self.problems and not any(m.problems for m in self.mappings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": "SUCCESS" if self.ok else "FAILED",
            "validationResponse": [m.to_dict() for m in self.mappings],
            "errors": [_error(None, p) for p in self.problems],
            "sourceSchemaChecked": self.source_checked,
        }


@dataclass(frozen=True)
class MappingPreview:
    """Sample rows as the mapping set maps them, and the values that failed (each row keeps
    null where its value failed)."""

    rows: list[dict[str, Any]]
    errors: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"data": self.rows, "errors": self.errors}


# --- the use cases -------------------------------------------------------------------------


class MappingSetService:
    """The mapping sets of one org and sandbox: ``store`` keeps them, ``schemas`` resolves
    their output (and input) schemas, ``flows`` says which flows apply them."""

    def __init__(
        self, store: MappingSetStore, schemas: SchemaRegistry, flows: FlowResources
    ) -> None:
        self.store = store
        self.schemas = schemas
        self.flows = flows

    # -- documents -----------------------------------------------------------------------------

    def create(self, body: Any, *, actor: str = LOCAL_ACTOR) -> MappingSet:
        """Store a new mapping set (version 0) once its mappings compile against its output
        schema."""
        draft = self._checked(body)
        return self.store.insert(
            id=uuid.uuid4().hex, name=draft.name, document=draft.document, actor=actor
        )

    def update(self, id: str, body: Any, *, actor: str = LOCAL_ACTOR) -> MappingSet:
        """Store ``body`` as the next version of mapping set ``id``; older versions stay."""
        self.store.get(id)
        draft = self._checked(body)
        return self.store.add_version(id, name=draft.name, document=draft.document, actor=actor)

    def get(self, id: str, version: int | None = None) -> MappingSet:
        return self.store.get(id, version)

    def latest(self, *, name: str | None = None, order_by: str | None = None) -> list[MappingSet]:
        """The latest version of every mapping set, ordered by ``order_by``: ``createdDate``
        or ``updatedDate``, ``-`` first for newest first (default ``-updatedDate``)."""
        text = (order_by or DEFAULT_ORDER).strip()
        descending = text.startswith("-")
        field = ORDER_FIELDS.get(text.lstrip("+-").strip())
        if field is None:
            raise InvalidRequest(
                f"Invalid orderBy {order_by!r}.",
                fix="Use createdDate or updatedDate, with - first for newest first.",
            )
        found = self.store.latest(name=name)
        found.sort(key=lambda s: (getattr(s, field), s.id), reverse=descending)
        return found

    def delete(self, id: str) -> None:
        """Delete every version of mapping set ``id``; refused while a flow applies it."""
        mapping_set = self.store.get(id)
        users = self.flows_applying(mapping_set.id)
        if users:
            raise ResourceInUse(
                f"Mapping set {mapping_set.id!r} is applied by flows "
                f"{', '.join(repr(f.name) for f in users)}.",
                fix="Give those flows another mapping (PATCH their /transformations) or delete "
                "them first.",
            )
        self.store.delete(mapping_set.id)

    def flows_applying(self, id: str) -> list[Flow]:
        """The flows whose ``transformations`` name mapping set ``id`` (any version)."""
        return [f for f in self.flows.list_flows() if id in _mapping_ids(f.transformations)]

    def compiled(self, id: str, version: int | None = None) -> CompiledMappingSet:
        """A stored mapping set compiled against its output schema, as a flow applies it."""
        mapping_set = self.store.get(id, version)
        draft = MappingSetDraft(mapping_set.name, mapping_set.document)
        return _compile(draft.rules, self.schema_fields(draft.output_schema_id)[1])

    def expanded_output_schema(self, mapping_set: MappingSet) -> dict[str, Any] | None:
        """The output schema's ``xed-full`` view (None once the schema was deleted)."""
        try:
            return self.schemas.resolve(mapping_set.output_schema_id)
        except SchemaNotFound:
            return None

    # -- checks --------------------------------------------------------------------------------

    def schema_fields(
        self, schema_id: str, field: str = "outputSchema.schemaRef.id"
    ) -> tuple[str, pa.Schema]:
        """The ``$id`` of registry schema ``schema_id`` (an ``$id`` or ``meta:altId``) and its
        Arrow fields, as a dataset of it has them; ``field`` names it in the 400."""
        try:
            resolved = self.schemas.resolve(schema_id)
        except SchemaNotFound as exc:
            raise InvalidRequest(f"{field}: {exc.message}", fix=exc.fix) from None
        return str(resolved["$id"]), to_arrow(resolved)

    def _checked(self, body: Any) -> MappingSetDraft:
        draft = parse_mapping_set(body)
        ref = draft.document["outputSchema"]["schemaRef"]
        # Stored by $id however it was named, so flows can compare it with a dataset's schema.
        ref["id"], fields = self.schema_fields(ref["id"])
        if "inputSchema" in draft.document:
            self._input_fields(draft)
        _compile(draft.rules, fields)
        return draft

    def _input_fields(self, draft: MappingSetDraft) -> pa.Schema:
        source = draft.document["inputSchema"]
        if "jsonSchema" in source:
            return json_schema_fields(source["jsonSchema"])
        ref = source["schemaRef"]
        ref["id"], fields = self.schema_fields(ref["id"], "inputSchema.schemaRef.id")
        return fields

    def validate(self, body: Any, data: Any = None) -> MappingValidation:
        """Every problem of the mapping set ``body``, per mapping: an unknown function, bad
        syntax, a destination the output schema lacks and, given a source schema (its
        ``inputSchema``, else sample rows ``data``), a source attribute the source lacks."""
        draft = parse_mapping_set(body)
        output = self.schema_fields(draft.output_schema_id)[1]
        source: pa.Schema | None = None
        if "inputSchema" in draft.document:
            source = self._input_fields(draft)
        elif data is not None:
            source = sample_batch(data).schema
        checks = []
        for mapping, rule in zip(draft.document["mappings"], draft.rules, strict=True):
            try:
                compiled = _compile([rule], output)
            except MappingError as exc:
                checks.append(MappingCheck(mapping, _unlabelled(_problems(exc))))
                continue
            problems = compiled.check_source(source) if source is not None else []
            checks.append(MappingCheck(mapping, _unlabelled(problems)))
        whole: tuple[str, ...] = ()
        if not any(c.problems for c in checks):
            try:
                _compile(draft.rules, output)
            except MappingError as exc:
                whole = tuple(_problems(exc))
        return MappingValidation(tuple(checks), whole, source is not None)

    def preview(
        self, body: Any, data: Any, *, now: Callable[[], datetime] | None = None
    ) -> MappingPreview:
        """Sample rows ``data`` (a list of objects, or one object) mapped by the mapping set
        ``body``, and the values that failed; nothing is stored."""
        draft = parse_mapping_set(body)
        output = self.schema_fields(draft.output_schema_id)[1]
        compiled = _compile(draft.rules, output)
        batch = sample_batch(data)
        # What the sample lacks reads as null, and is said once per mapping.
        errors = [
            _error(mapping, problem)
            for mapping, rule in zip(draft.document["mappings"], draft.rules, strict=True)
            for problem in _unlabelled(_compile([rule], output).check_source(batch.schema))
        ]
        try:
            mapped = compiled.apply(batch, (now or _utc_now)())
        except pa.ArrowException as exc:
            raise InvalidRequest(
                f"The mappings cannot be applied to the sample rows: {exc}",
                fix="Check the types the functions get (`lakefeed mappings validate`).",
            ) from None
        by_destination = {m["destination"]: m for m in draft.document["mappings"]}
        errors += [
            _error(by_destination.get(destination), message, row)
            for row, destination, message in mapped.failures
        ]
        rows = [_json_safe(r) for r in mapped.data.to_pylist(maps_as_pydicts="lossy")]
        return MappingPreview(rows, errors)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _compile(rules: Sequence[MappingRule], fields: pa.Schema) -> CompiledMappingSet:
    # Expressions are capped in depth and size when parsed (MappingError), so compiling one
    # can never exhaust the stack.
    return CompiledMappingSet.compile(rules, fields)


def _problems(error: MappingError) -> list[str]:
    return [str(p) for p in error.details.get("problems") or [error.message]]


def _unlabelled(problems: Sequence[str]) -> tuple[str, ...]:
    return tuple(_LABEL.sub("", problem, count=1) for problem in problems)


def _mapping_ids(transformations: Sequence[Any]) -> set[str]:
    ids = set()
    for transformation in transformations:
        params = transformation.get("params") if isinstance(transformation, Mapping) else None
        if isinstance(params, Mapping) and isinstance(params.get("mappingId"), str):
            ids.add(params["mappingId"])
    return ids


def _json_safe(value: Any) -> Any:
    """A mapped row as JSON: dates as ISO text, and NaN or infinities as text (JSON has
    none)."""
    value = jsonable(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


__all__ = [
    "LOCAL_ACTOR",
    "MappingCheck",
    "MappingPreview",
    "MappingSetService",
    "MappingValidation",
]

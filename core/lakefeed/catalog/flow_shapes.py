"""The stored shapes of source connections, target connections and flows, and the flow
options they carry: what :mod:`lakefeed.catalog.flows` reads and writes."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lakefeed.catalog.records import audit_fields, record_from_row
from lakefeed.errors import InvalidRequest, InvalidSchedule
from lakefeed.schedules.rules import Schedule

#: ``(data.format, data.properties)`` → the properties as the format reads them; raises on a bad
#: one. The flow store gets it from the engine, which knows the installed formats.
FormatSettings = Callable[[str, Mapping[str, Any]], dict[str, Any]]

#: The longest ``params.fileExtension`` taken (``parquet``, ``csv.gz``, ``json``…).
FILE_EXTENSION_MAX = 32

#: The ``scheduleParams`` fields lakefeed schedules by; any other field is kept as sent.
SCHEDULE_FIELDS = ("startTime", "frequency", "interval", "backfill")
#: The most the kept fields of one ``scheduleParams`` may take, as compact JSON (UTF-8 bytes).
SCHEDULE_EXTRAS_MAX_BYTES = 8192


@dataclass(frozen=True)
class _StoredConnection:
    """The columns source and target connections share."""

    id: str
    ims_org_id: str
    sandbox_name: str
    name: str
    description: str
    base_connection_id: str | None
    connection_spec_id: str
    connection_spec_version: str
    data: dict[str, Any]
    params: dict[str, Any]
    state: str
    etag: str
    created_at: int
    updated_at: int

    def to_dict(self) -> dict[str, Any]:
        """The Flow Service shape source and target connections share."""
        return {
            **audit_fields(self),
            "name": self.name,
            "description": self.description,
            "baseConnectionId": self.base_connection_id,
            "state": self.state,
            "data": self.data,
            "params": self.params,
            "connectionSpec": {
                "id": self.connection_spec_id,
                "version": self.connection_spec_version,
            },
        }


@dataclass(frozen=True)
class SourceConnection(_StoredConnection):
    """A row of ``source_connections``: what a flow reads, where, in which format."""

    base_connection_id: str

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> SourceConnection:
        return record_from_row(cls, row)

    @property
    def path(self) -> str:
        return str(self.params["path"])

    @property
    def recursive(self) -> bool:
        return bool(self.params.get("recursive", False))

    @property
    def data_format(self) -> str:
        """``data.format``: the file format its files are read with."""
        return str(self.data["format"])

    @property
    def schema_id(self) -> str | None:
        schema = self.data.get("schema") or {}
        return schema.get("id")

    @property
    def properties(self) -> dict[str, Any]:
        """``data.properties``: how the format reads the files (delimiter, compression…)."""
        return dict(self.data.get("properties") or {})

    @property
    def file_extension(self) -> str | None:
        """``params.fileExtension``: only files whose names end with ``.<it>`` are read."""
        value = self.params.get("fileExtension")
        return str(value) if value else None

    def selects(self, file_name: str) -> bool:
        """Whether a listed file of this name is one the connection reads."""
        extension = self.file_extension
        return extension is None or file_name.lower().endswith("." + extension.lower())


@dataclass(frozen=True)
class TargetConnection(_StoredConnection):
    """A row of ``target_connections``: the dataset a flow writes to."""

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> TargetConnection:
        return record_from_row(cls, row)

    @property
    def dataset_id(self) -> str:
        return str(self.params["dataSetId"])


@dataclass(frozen=True)
class Flow:
    """A row of ``flows``: a dataflow from one source connection to one target connection."""

    id: str
    ims_org_id: str
    sandbox_name: str
    name: str
    description: str
    flow_spec_id: str
    flow_spec_version: str
    source_connection_ids: tuple[str, ...]
    target_connection_ids: tuple[str, ...]
    schedule_params: dict[str, Any]  # Schedule.to_stored() and schedule_extras(), merged
    options: dict[str, Any]
    transformations: list[dict[str, Any]]
    state: str  # enabled | disabled
    etag: str
    created_at: int
    updated_at: int

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Flow:
        return record_from_row(
            cls,
            row,
            source_connection_ids=tuple(row["source_connection_ids"]),
            target_connection_ids=tuple(row["target_connection_ids"]),
        )

    @property
    def source_connection_id(self) -> str:
        return str(self.source_connection_ids[0])

    @property
    def target_connection_id(self) -> str:
        return str(self.target_connection_ids[0])

    @property
    def schedule(self) -> Schedule:
        return Schedule.from_stored(self.schedule_params)

    @property
    def schedule_extras(self) -> dict[str, Any]:
        """The ``scheduleParams`` fields lakefeed does not use, as they were sent."""
        return {k: v for k, v in self.schedule_params.items() if k not in SCHEDULE_FIELDS}

    @property
    def mapping(self) -> tuple[str, int | None] | None:
        """The mapping set (id, version; None: its latest) the flow applies, if any."""
        for transformation in self.transformations:
            if transformation.get("name") == "Mapping":
                return flow_mapping_params(transformation.get("params"))
        return None

    @property
    def partial_ingestion_percent(self) -> float | None:
        value = self.options.get("partialIngestionPercent")
        return None if value is None else float(value)

    @property
    def error_diagnostics(self) -> bool:
        # Partial ingestion forces diagnostics on, as in Flow Service.
        return (
            bool(self.options.get("errorDiagnosticsEnabled"))
            or self.partial_ingestion_percent is not None
        )

    def to_dict(self, **extra: Any) -> dict[str, Any]:
        return {
            **audit_fields(self),
            "name": self.name,
            "description": self.description,
            "flowSpec": {"id": self.flow_spec_id, "version": self.flow_spec_version},
            "state": self.state,
            "sourceConnectionIds": list(self.source_connection_ids),
            "targetConnectionIds": list(self.target_connection_ids),
            "scheduleParams": {**self.schedule.to_dict(), **self.schedule_extras},
            "options": dict(self.options),
            "transformations": list(self.transformations),
            "runs": f"/runs?property=flowId=={self.id}",
            **extra,
        }


def _as_bool(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise InvalidRequest(
        f"{field} must be true or false, not {value!r}.", fix=f"Send {field}: true."
    )


def flow_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    options = dict(options or {})
    unknown = sorted(set(options) - {"partialIngestionPercent", "errorDiagnosticsEnabled"})
    if unknown:
        raise InvalidRequest(
            f"Unknown flow options: {', '.join(unknown)}.",
            fix="Flow options are partialIngestionPercent and errorDiagnosticsEnabled.",
        )
    out: dict[str, Any] = {}
    if options.get("partialIngestionPercent") is not None:
        try:
            percent = float(options["partialIngestionPercent"])
        except (TypeError, ValueError):
            percent = -1.0
        if not 0 < percent <= 100:
            raise InvalidRequest(
                f"partialIngestionPercent must be a number above 0 and at most 100, "
                f"not {options['partialIngestionPercent']!r}.",
                fix="Use e.g. 5 to accept up to 5% bad rows per batch.",
            )
        out["partialIngestionPercent"] = percent
    if "errorDiagnosticsEnabled" in options:
        out["errorDiagnosticsEnabled"] = _as_bool(
            options["errorDiagnosticsEnabled"], "errorDiagnosticsEnabled"
        )
    return out


def schedule_extras(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """The fields of ``scheduleParams`` other than :data:`SCHEDULE_FIELDS`, kept as sent (Flow
    Service clients send fields lakefeed does not use, and read them back); refused when they
    are not JSON or take more than :data:`SCHEDULE_EXTRAS_MAX_BYTES`."""
    extras = {k: v for k, v in (params or {}).items() if k not in SCHEDULE_FIELDS}
    sizes: dict[str, int] = {}
    for key, value in extras.items():
        try:
            if not isinstance(key, str):
                raise TypeError
            sizes[key] = len(_compact_json({key: value}))
        except (TypeError, ValueError, RecursionError):
            raise InvalidSchedule(
                f"scheduleParams field {_short(key)} is not a JSON value under a text name.",
                fix="Send strings, numbers, booleans, null, lists and objects only.",
            ) from None
    total = len(_compact_json(extras))
    if total > SCHEDULE_EXTRAS_MAX_BYTES:
        largest = sorted(sizes, key=sizes.__getitem__, reverse=True)[:3]
        raise InvalidSchedule(
            f"The scheduleParams fields lakefeed does not use take {total} bytes as JSON, more "
            f"than the {SCHEDULE_EXTRAS_MAX_BYTES} bytes kept (largest: "
            f"{', '.join(f'{_short(k)} ({sizes[k]} bytes)' for k in largest)}).",
            fix="Send small extra fields, or only startTime, frequency, interval and backfill.",
        )
    return extras


def _compact_json(value: Any) -> bytes:
    # UTF-8 as answers are sent: a lone surrogate (which JSON can spell) fails here, not there.
    text = json.dumps(value, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    return text.encode("utf-8")


def _short(name: Any) -> str:
    text = str(name)
    return repr(text if len(text) <= 40 else text[:40] + "…")


def check_file_extension(value: Any) -> str:
    """``params.fileExtension`` as stored: without its leading dot; refused when it is not a
    plain file-name ending."""
    text = value.strip().lstrip(".") if isinstance(value, str) else ""
    if (
        not text
        or len(text) > FILE_EXTENSION_MAX
        or any(c in text for c in "/\\*?\x00")
        or not text.isprintable()
    ):
        raise InvalidRequest(
            f"params.fileExtension {value!r} is not a file-name ending.",
            fix='Give the ending of the files to read, such as "csv" or "json.gz" '
            f"(at most {FILE_EXTENSION_MAX} characters, no slashes or wildcards).",
        )
    return text


def flow_mapping_params(params: Any) -> tuple[str, int | None]:
    """``(mappingId, mappingVersion)`` of a ``Mapping`` transformation's ``params``; the
    version may be left out (the latest version, at each run) or given as a number or a string
    of digits."""
    if not isinstance(params, Mapping):
        raise InvalidRequest(
            "A Mapping transformation needs params {mappingId, mappingVersion}.",
            fix='Send {"name": "Mapping", "params": {"mappingId": ID, "mappingVersion": 0}}.',
        )
    mapping_id = params.get("mappingId")
    if not isinstance(mapping_id, str) or not mapping_id.strip() or "\x00" in mapping_id:
        raise InvalidRequest(
            f"transformations params.mappingId must be a mapping set id, not {mapping_id!r}.",
            fix="Use the id POST /data/foundation/conversion/mappingSets answered.",
        )
    version = params.get("mappingVersion")
    if version is None:
        return mapping_id, None
    if isinstance(version, str) and version.strip().isdigit():
        version = int(version)
    if isinstance(version, bool) or not isinstance(version, int) or not 0 <= version < 2**31:
        raise InvalidRequest(
            f"transformations params.mappingVersion {version!r} is not a mapping set version.",
            fix="Give the version number (0 for the first), or leave it out for the latest.",
        )
    return mapping_id, version

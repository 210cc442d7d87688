"""The stored shapes of source connections, target connections and flows, and the flow
options they carry: what :mod:`lakefeed.catalog.flows` reads and writes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lakefeed.catalog.records import audit_fields
from lakefeed.errors import InvalidRequest
from lakefeed.schedules.rules import Schedule

FORMATS = ("parquet", "parquet_xdm")


def _connection_dict(row: Mapping[str, Any]) -> dict[str, Any]:
    """The shape source and target connections share."""
    return {
        **audit_fields(row),
        "name": row["name"],
        "description": row["description"],
        "baseConnectionId": row["base_connection_id"],
        "state": row["state"],
        "data": row["data"],
        "params": row["params"],
        "connectionSpec": {
            "id": row["connection_spec_id"],
            "version": row["connection_spec_version"],
        },
    }


@dataclass(frozen=True)
class SourceConnection:
    row: Mapping[str, Any]

    id = property(lambda self: self.row["id"])
    name = property(lambda self: self.row["name"])
    base_connection_id = property(lambda self: self.row["base_connection_id"])

    @property
    def path(self) -> str:
        return str(self.row["params"]["path"])

    @property
    def recursive(self) -> bool:
        return bool(self.row["params"].get("recursive", False))

    @property
    def schema_id(self) -> str | None:
        schema = self.row["data"].get("schema") or {}
        return schema.get("id")

    def to_dict(self) -> dict[str, Any]:
        return _connection_dict(self.row)


@dataclass(frozen=True)
class TargetConnection:
    row: Mapping[str, Any]

    id = property(lambda self: self.row["id"])
    name = property(lambda self: self.row["name"])

    @property
    def dataset_id(self) -> str:
        return str(self.row["params"]["dataSetId"])

    def to_dict(self) -> dict[str, Any]:
        return _connection_dict(self.row)


@dataclass(frozen=True)
class Flow:
    row: Mapping[str, Any]

    id = property(lambda self: self.row["id"])
    name = property(lambda self: self.row["name"])
    state = property(lambda self: self.row["state"])

    @property
    def source_connection_id(self) -> str:
        return str(self.row["source_connection_ids"][0])

    @property
    def target_connection_id(self) -> str:
        return str(self.row["target_connection_ids"][0])

    @property
    def schedule(self) -> Schedule:
        return Schedule.from_stored(self.row["schedule_params"])

    @property
    def partial_ingestion_percent(self) -> float | None:
        value = self.row["options"].get("partialIngestionPercent")
        return None if value is None else float(value)

    @property
    def error_diagnostics(self) -> bool:
        # Partial ingestion forces diagnostics on, as in Flow Service.
        options = self.row["options"]
        return (
            bool(options.get("errorDiagnosticsEnabled"))
            or self.partial_ingestion_percent is not None
        )

    def to_dict(self, **extra: Any) -> dict[str, Any]:
        return {
            **audit_fields(self.row),
            "name": self.row["name"],
            "description": self.row["description"],
            "flowSpec": {"id": self.row["flow_spec_id"], "version": self.row["flow_spec_version"]},
            "state": self.row["state"],
            "sourceConnectionIds": list(self.row["source_connection_ids"]),
            "targetConnectionIds": list(self.row["target_connection_ids"]),
            "scheduleParams": self.schedule.to_dict(),
            "options": dict(self.row["options"]),
            "transformations": list(self.row["transformations"]),
            "runs": f"/runs?property=flowId=={self.row['id']}",
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

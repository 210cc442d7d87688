"""Connection specs and flow specs as declarative data.

A :class:`ConnectionSpec` is what ``GET /connectionSpecs`` returns: the well-known id, a name,
one or more :class:`AuthSpec` (the credentials a base connection may carry, exported as JSON
Schema) and the ``sourceSpec``/``exploreSpec`` sections. Every :class:`Param` declares a title,
a description, whether it is secret and its default, so that validation errors can name the
field and the spec and so that secrets can be redacted everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from lakefeed.errors import InvalidAuthParams, UnknownAuthSpec

ParamType = Literal["string", "integer", "boolean"]

#: Adobe's provider id for its cloud-storage sources; kept so existing payloads match.
CLOUD_STORAGE_PROVIDER_ID = "0ed90a81-07f4-4586-8190-b40eccef1c5a"
DATASET_TARGET_SPEC_ID = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
CLOUD_STORAGE_FLOW_SPEC_ID = "9753525b-82c7-4dce-8a9b-5ccfce2b9876"
#: Its name, accepted wherever its id is (flows store the id).
CLOUD_STORAGE_FLOW_SPEC_NAME = "CloudStorageToAEP"
REDACTED = "********"

_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "boolean": (bool,),
}


@dataclass(frozen=True)
class Param:
    """One auth or source parameter."""

    name: str
    title: str
    description: str
    type: ParamType = "string"
    required: bool = False
    secret: bool = False
    default: Any = None
    enum: tuple[Any, ...] | None = None
    minimum: int | None = None

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "description": self.description,
        }
        if self.secret:
            # Flow Service marks secret fields with format=password; x-secret is explicit.
            schema["format"] = "password"
            schema["x-secret"] = True
        if self.default is not None:
            schema["default"] = self.default
        if self.enum is not None:
            schema["enum"] = list(self.enum)
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        return schema


@dataclass(frozen=True)
class AuthSpec:
    """One way of authenticating against a backend (``auth.specName`` of a connection).

    ``ambient``: the connection carries no credentials of its own and acts with the identity
    of the machine lakefeed runs on (environment variables, credential files, a cloud metadata
    service). The CLI and the Python API may use such auth specs freely; ``lakefeed serve``
    only when its operator sets ``LAKEFEED_ALLOW_AMBIENT_CREDENTIALS=1``
    (:meth:`lakefeed.storage.endpoints.EndpointPolicy.check_credentials`), and an ambient auth
    spec is never picked by elimination: it is used only when named.

    ``vendor_hosts``: for an ambient auth spec, the host names of the vendor's own endpoints,
    the only ones (on port 443) that ``lakefeed serve`` lets such a connection send the
    server's identity to, besides what its operator lists in ``LAKEFEED_ALLOW_ENDPOINTS``
    (:func:`lakefeed.storage.endpoints.vendor_host`). A leading ``*.`` stands for one or more
    labels (``*.blob.core.windows.net``), any other ``*`` for characters inside one label
    (``s3.*.amazonaws.com``). Name only hosts the vendor runs and whose requests no
    customer's code sees.
    """

    name: str
    type: str
    description: str
    params: tuple[Param, ...]
    ambient: bool = False
    vendor_hosts: tuple[str, ...] = ()

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    @property
    def secret_names(self) -> frozenset[str]:
        return frozenset(p.name for p in self.params if p.secret)

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "description": self.description,
            "properties": {p.name: p.json_schema() for p in self.params},
            "required": [p.name for p in self.params if p.required],
            "additionalProperties": False,
        }
        if self.ambient:
            schema["x-ambient"] = True
            schema["x-vendor-hosts"] = list(self.vendor_hosts)
        return schema

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "spec": self.json_schema()}


@dataclass(frozen=True)
class ConnectionSpec:
    """A source type's catalogue entry, shaped like Flow Service's ``ConnectionSpecItemDTO``."""

    id: str
    name: str
    label: str
    description: str
    auth_specs: tuple[AuthSpec, ...]
    provider_id: str = CLOUD_STORAGE_PROVIDER_ID
    version: str = "1.0"
    category: str = "Cloud Storage"
    #: human name of the thing the path starts with ("bucket", "container", "folder")
    path_root: str = "folder"
    documentation_link: str | None = None

    def auth_spec(self, name: str | None) -> AuthSpec:
        """The auth spec called ``name`` (any case); None picks the only one there is."""
        if name is None:
            if len(self.auth_specs) == 1:
                return self.auth_specs[0]
            names = ", ".join(repr(a.name) for a in self.auth_specs)
            raise UnknownAuthSpec(
                f"Connection spec {self.name!r} has several auth specs ({names}); "
                "say which one to use.",
                fix="Pass the auth spec name (CLI: --auth-spec NAME).",
            )
        for auth in self.auth_specs:
            if auth.name.lower() == name.lower():
                return auth
        known = ", ".join(repr(a.name) for a in self.auth_specs)
        raise UnknownAuthSpec(
            f"Connection spec {self.name!r} has no auth spec {name!r} (available: {known}).",
            fix="Set auth.specName to one of the available names.",
        )

    def validate_auth(self, spec_name: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """Check ``params`` against the named auth spec; return them with defaults filled in.

        Raises :class:`InvalidAuthParams` naming every offending field and the spec.
        """
        auth = self.auth_spec(spec_name)
        problems: list[str] = []
        known = {p.name for p in auth.params}
        for name in params:
            if name not in known:
                problems.append(f"unknown field {name!r} (known: {', '.join(sorted(known))})")
        result: dict[str, Any] = {}
        for p in auth.params:
            value = params.get(p.name)
            if value is None or value == "":
                if p.required:
                    problems.append(f"missing required field {p.name!r} ({p.title})")
                elif p.default is not None:
                    result[p.name] = p.default
                continue
            value = _coerce(value, p.type)
            if not isinstance(value, _PYTHON_TYPES[p.type]) or (
                p.type == "integer" and isinstance(value, bool)
            ):
                problems.append(f"field {p.name!r} must be of type {p.type}")
                continue
            if p.enum is not None and value not in p.enum:
                problems.append(f"field {p.name!r} must be one of {list(p.enum)}")
                continue
            if p.minimum is not None and isinstance(value, int) and value < p.minimum:
                problems.append(f"field {p.name!r} must be at least {p.minimum}")
                continue
            result[p.name] = value
        if problems:
            raise InvalidAuthParams(
                f"Invalid auth params for {self.name!r} ({auth.name!r}): "
                + "; ".join(problems)
                + ".",
                fix=f"See `lakefeed specs {self.name}` for the fields this auth spec takes.",
                spec=self.id,
                authSpec=auth.name,
            )
        return result

    def to_dict(self, *, file_types: Sequence[str] | None = None) -> dict[str, Any]:
        """The ``GET /connectionSpecs/{id}`` item; ``file_types``: the ``fileType`` values
        ``/explore`` answers to (the installed formats'), listed in its ``exploreSpec``."""
        return {
            "id": self.id,
            "name": self.name,
            "providerId": self.provider_id,
            "version": self.version,
            "attributes": {
                "category": self.category,
                "isSource": True,
                "label": self.label,
                "description": self.description,
                **(
                    {"documentationLink": self.documentation_link}
                    if self.documentation_link
                    else {}
                ),
            },
            "authSpec": [a.to_dict() for a in self.auth_specs],
            "sourceSpec": source_spec(),
            "exploreSpec": explore_spec(file_types),
        }


def _coerce(value: Any, type_: ParamType) -> Any:
    """Accept numbers and booleans written as strings, as Flow Service payloads often do."""
    if isinstance(value, str):
        text = value.strip()
        if type_ == "integer" and text.lstrip("-").isdigit():
            return int(text)
        if type_ == "boolean" and text.lower() in ("true", "false"):
            return text.lower() == "true"
    return value


def source_spec() -> dict[str, Any]:
    """The ``sourceSpec`` shared by every file-based source: what a source connection takes."""
    return {
        "name": "CloudStorage",
        "type": "CloudStorage",
        "attributes": {"uiAttributes": {"isSource": True, "isPreview": True}},
        "spec": {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": {
                "path": {
                    "type": "string",
                    "description": "File, folder or glob (a '*' in the last component).",
                },
                "type": {"type": "string", "enum": ["file", "folder"]},
                "recursive": {"type": "boolean", "default": False},
            },
            "required": ["path"],
        },
    }


def explore_spec(file_types: Sequence[str] | None = None) -> dict[str, Any]:
    """The ``exploreSpec``: how ``/explore`` answers for file-based sources. ``file_types``:
    the ``fileType`` values it answers to (the installed formats'); None leaves them open."""
    file_type: dict[str, Any] = {"type": "string"}
    if file_types is not None:
        file_type["enum"] = list(file_types)
    item = {
        "type": "object",
        "properties": {
            "type": {"type": "string", "enum": ["file", "folder"]},
            "name": {"type": "string"},
            "path": {"type": "string"},
            "canPreview": {"type": "boolean"},
            "canFetchSchema": {"type": "boolean"},
        },
    }
    return {
        "name": "FileSystem",
        "type": "FileSystem",
        "requestSpec": {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": {
                "objectType": {"type": "string", "enum": ["root", "folder", "file"]},
                "object": {"type": "string"},
                "fileType": file_type,
                "preview": {"type": "boolean"},
            },
        },
        "responseSpec": {"type": "array", "items": item},
    }


@dataclass(frozen=True)
class TargetSpec:
    """The dataset (Data Lake) target: rows go to the dataset named by ``params.dataSetId``."""

    id: str = DATASET_TARGET_SPEC_ID
    name: str = "Data Lake"
    version: str = "1.0"
    params: tuple[Param, ...] = field(
        default=(
            Param(
                "dataSetId",
                "Dataset id",
                "Id of the dataset that receives the rows.",
                required=True,
            ),
        )
    )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "providerId": CLOUD_STORAGE_PROVIDER_ID,
            "version": self.version,
            "attributes": {"category": "Database", "isDestination": True},
            "authSpec": [],
            "targetSpec": {
                "name": "Data Lake",
                "type": "DataSet",
                "spec": {
                    "$schema": "http://json-schema.org/draft-07/schema#",
                    "type": "object",
                    "properties": {p.name: p.json_schema() for p in self.params},
                    "required": [p.name for p in self.params if p.required],
                },
            },
        }


@dataclass(frozen=True)
class FlowSpec:
    """A flow spec: which sources may feed which targets, and the options a flow takes."""

    id: str
    name: str
    source_connection_spec_ids: tuple[str, ...]
    target_connection_spec_ids: tuple[str, ...] = (DATASET_TARGET_SPEC_ID,)
    version: str = "1.0"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "providerId": CLOUD_STORAGE_PROVIDER_ID,
            "version": self.version,
            "attributes": {"isSourceFlow": True, "frequency": "batch"},
            "sourceConnectionSpecIds": list(self.source_connection_spec_ids),
            "targetConnectionSpecIds": list(self.target_connection_spec_ids),
            "optionSpec": {
                "name": "OptionSpec",
                "spec": {
                    "$schema": "http://json-schema.org/draft-07/schema#",
                    "type": "object",
                    "properties": {
                        "errorDiagnosticsEnabled": {"type": "boolean", "default": False},
                        "partialIngestionPercent": {"type": "number", "exclusiveMinimum": 0},
                    },
                },
            },
            "scheduleSpec": {
                "name": "PeriodicSchedule",
                "type": "Periodic",
                "spec": {
                    "$schema": "http://json-schema.org/draft-07/schema#",
                    "type": "object",
                    "properties": {
                        "startTime": {"type": "integer", "description": "epoch seconds"},
                        "frequency": {
                            "type": "string",
                            "enum": ["once", "minute", "hour", "day", "week"],
                        },
                        "interval": {"type": "integer"},
                        "backfill": {"type": "boolean", "default": True},
                    },
                    "required": ["startTime", "frequency"],
                },
            },
            "runSpec": {
                "name": "ProviderParams",
                "spec": {
                    "type": "object",
                    "properties": {
                        "startTime": {"type": "integer"},
                        "windowStartTime": {"type": "integer"},
                        "windowEndTime": {"type": "integer"},
                    },
                    "required": ["startTime", "windowStartTime", "windowEndTime"],
                },
            },
        }


DATASET_TARGET_SPEC = TargetSpec()


def cloud_storage_flow_spec(source_spec_ids: tuple[str, ...]) -> FlowSpec:
    """``CloudStorageToAEP``: any installed file source into the dataset target."""
    return FlowSpec(CLOUD_STORAGE_FLOW_SPEC_ID, CLOUD_STORAGE_FLOW_SPEC_NAME, source_spec_ids)

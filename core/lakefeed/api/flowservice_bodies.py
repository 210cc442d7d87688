"""Request and response bodies of the Flow Service routes, field names as Flow Service spells
them. Unknown fields are ignored, as Flow Service clients send more than lakefeed needs."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

Version = str | int | float | None
Text = str | None


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class IdEtag(Body):
    """What a create, a PATCH and an action answer."""

    id: str
    etag: str


class SpecRef(Body):
    id: str = Field(min_length=1)
    version: Version = None


class SchemaRef(Body):
    id: str = Field(min_length=1)
    version: Version = None


class Auth(Body):
    specName: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)


class ConnectionBody(Body):
    """``POST /connections``; the dataset base connection has no ``auth``."""

    name: str = Field(min_length=1)
    description: Text = None
    auth: Auth | None = None
    connectionSpec: SpecRef


class SourceData(Body):
    """``data``: the format, its ``properties`` (how files are read) and, for XDM formats, the
    schema. A field lakefeed would not honour is refused, never dropped."""

    model_config = ConfigDict(extra="allow")

    format: str = "parquet"
    schema_: SchemaRef | None = Field(None, alias="schema")
    properties: dict[str, Any] | None = None


#: Format properties Flow Service clients also send in ``params``; taken as ``data.properties``.
PARAMS_PROPERTIES = ("columnDelimiter", "compressionType", "encoding")


class SourceParams(Body):
    """``params``: where the files are and which of them to read."""

    model_config = ConfigDict(extra="allow")

    path: str
    recursive: bool | str = False
    type: Literal["file", "folder"] | None = None
    fileExtension: str | None = None


class SourceConnectionBody(Body):
    name: str = Field(min_length=1)
    description: Text = None
    baseConnectionId: str = Field(min_length=1)
    data: SourceData
    params: SourceParams
    connectionSpec: SpecRef


class TargetData(Body):
    format: str | None = None
    schema_: SchemaRef | None = Field(None, alias="schema")


class TargetParams(Body):
    dataSetId: str | None = None


class TargetConnectionBody(Body):
    name: str = Field(min_length=1)
    description: Text = None
    baseConnectionId: str | None = None
    data: TargetData = Field(default_factory=lambda: TargetData.model_validate({}))
    params: TargetParams
    connectionSpec: SpecRef


class FlowBody(Body):
    """``POST /flows``. ``state`` is refused: a flow is created enabled (Flow Service 1410)."""

    name: str = Field(min_length=1)
    description: Text = None
    flowSpec: SpecRef
    sourceConnectionIds: list[str]
    targetConnectionIds: list[str]
    scheduleParams: dict[str, Any] | None = None
    transformations: list[dict[str, Any]] = Field(default_factory=list)
    options: dict[str, Any] | None = None
    state: SkipJsonSchema[Any] = None


class RunParams(Body):
    startTime: int | str | None = None
    windowStartTime: int | str | None = None
    windowEndTime: int | str | None = None


class RunBody(Body):
    """``POST /runs``: an on-demand run of a flow whose frequency is ``once``."""

    flowId: str = Field(min_length=1)
    params: RunParams = Field(default_factory=lambda: RunParams())


class PatchOperation(BaseModel):
    """One JSON Patch operation (``op`` in any case, as Flow Service's YAML spells it upper)."""

    model_config = ConfigDict(extra="allow")

    op: str
    path: str
    value: Any = None


PatchBody = list[PatchOperation]


def patch_operations(body: PatchBody) -> list[dict[str, Any]]:
    """The operations as dicts, ``value`` only where it was sent (``remove`` has none)."""
    return [o.model_dump(exclude_unset=True) for o in body]

"""The REST calls, once for both clients: paths, bodies and how each answer is read.

Each call is a generator that yields :class:`~lakefeed.client.http.Request` (answered with the
checked ``httpx.Response``) or :class:`~lakefeed.client.http.Sleep`, and returns the result.
Listing is :class:`Pager`'s job: Flow Service and export pages follow ``_links.next.href``,
Catalog pages (objects keyed by id) advance ``start``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Generator, Iterable, Mapping, Sequence
from typing import Any, TypedDict, TypeVar
from urllib.parse import quote

import httpx

from lakefeed.client.errors import RunWaitTimeout
from lakefeed.client.http import Request, Sleep, json_answer, unexpected
from lakefeed.errors import ResourceNotFound

T = TypeVar("T")
Step = Generator[Request | Sleep, Any, T]
Params = Sequence[tuple[str, str]]

FLOWSERVICE = "/data/foundation/flowservice"
CATALOG = "/data/foundation/catalog"
SCHEMAREGISTRY = "/data/foundation/schemaregistry"
EXPORT = "/data/foundation/export"
CONVERSION = "/data/foundation/conversion"

DATASET_TARGET_SPEC_ID = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
CLOUD_STORAGE_FLOW_SPEC_ID = "9753525b-82c7-4dce-8a9b-5ccfce2b9876"
XED = "application/vnd.adobe.xed+json; version=1"
XED_FULL = "application/vnd.adobe.xed-full+json; version=1"
CATALOG_PAGE = 100


class Created(TypedDict):
    """What a create, PATCH or action answers: the id and the new etag."""

    id: str
    etag: str


def _id(value: str) -> str:
    return quote(value, safe="")


def query(properties: Iterable[str] = (), **params: Any) -> list[tuple[str, str]]:
    """Query pairs: ``property`` repeated (AND), then the other params that are set."""
    pairs = [("property", p) for p in properties]
    for name, value in params.items():
        if value is not None:
            pairs.append((name, str(value).lower() if isinstance(value, bool) else str(value)))
    return pairs


def filters(properties: Iterable[str], equal: Mapping[str, Any]) -> list[str]:
    """``property`` expressions: raw ones, plus ``name==value`` per keyword (``a__b`` is the
    path ``a.b``, for fields like ``connectionSpec.id``)."""
    return [*properties, *(f"{k.replace('__', '.')}=={v}" for k, v in equal.items())]


# --- reading answers -------------------------------------------------------------------------


def only_item(body: Any) -> dict[str, Any]:
    """The entity of a Flow Service GET by id (``{"items": [entity]}``)."""
    if not isinstance(body, dict):
        raise TypeError("an entity answer is a JSON object")
    if "items" not in body:
        return dict(body)
    items = body["items"]
    if not isinstance(items, list) or not items or not isinstance(items[0], dict):
        raise ValueError("its items hold no entity")
    return dict(items[0])


def created(body: Any) -> Created:
    """``{id, etag}``, also from ``{"items": [{id, etag}]}`` or a whole entity."""
    entity = only_item(body)
    return Created(id=str(entity["id"]), etag=str(entity.get("etag") or entity.get("eTag") or ""))


def keyed(body: Any) -> list[dict[str, Any]]:
    """Catalog objects keyed by id, as entities that carry their ``id``."""
    if not isinstance(body, dict):
        return []
    return [{"id": key, **value} for key, value in body.items() if isinstance(value, dict)]


def json_lines(text: str) -> list[dict[str, Any]]:
    """Records of a JSON-lines file (a JSON array is read too)."""
    stripped = text.strip()
    if stripped.startswith("["):
        return list(json.loads(stripped))
    return [json.loads(line) for line in stripped.splitlines() if line.strip()]


def records_of(response: httpx.Response) -> list[dict[str, Any]]:
    """The records of a rejected-rows file answer (JSON lines, or a JSON array)."""
    try:
        records = json_lines(response.text)
    except ValueError:
        raise unexpected(response, "is not JSON lines") from None
    if not all(isinstance(record, dict) for record in records):
        raise unexpected(response, "holds records that are not objects")
    return records


def send(request: Request) -> Step[httpx.Response]:
    response: httpx.Response = yield request
    return response


def get_json(path: str, params: Any = None, headers: dict[str, str] | None = None) -> Step[Any]:
    response = yield from send(Request("GET", path, params=params, headers=headers or {}))
    return json_answer(response)


def post_json(path: str, body: Any, params: Any = None) -> Step[Any]:
    response = yield from send(Request("POST", path, params=params, json=body))
    return json_answer(response)


# --- paging ----------------------------------------------------------------------------------


def _follow(path: str, href: str) -> str:
    """A next-page link as a request path: absolute URLs and full paths as they are; links
    relative to the service (Adobe writes ``/connections?…``) under the service's base path."""
    if "://" in href or href.startswith(("/data/", "/ims/")):
        return href
    service = "/".join(path.split("/")[:4])  # /data/foundation/<service>
    return service + (href if href.startswith("/") else "/" + href)


def _next_href(body: dict[str, Any]) -> str | None:
    """``_links.next.href`` of a page, when it is there and a string."""
    links = body.get("_links")
    following = links.get("next") if isinstance(links, dict) else None
    href = following.get("href") if isinstance(following, dict) else None
    if href is not None and not isinstance(href, str):
        raise ValueError("links its next page with something other than a URL")
    return href or None


class Pager:
    """The pages of one listing. ``request`` is the next page to fetch (None when done);
    :meth:`accept` takes a page's body and returns its items."""

    def __init__(self, path: str, params: Any = None) -> None:
        self.path = path
        pairs = list(params.items()) if isinstance(params, Mapping) else list(params or [])
        if path.startswith(CATALOG) and not any(name == "limit" for name, _ in pairs):
            pairs.append(("limit", str(CATALOG_PAGE)))
        self.params: list[tuple[str, str]] = [(k, str(v)) for k, v in pairs]
        self.request: Request | None = Request("GET", path, params=self.params)
        self._seen: set[str] = set()

    def read(self, response: httpx.Response) -> list[dict[str, Any]]:
        """:meth:`accept` for a page's answer; :class:`UnexpectedAnswer` for one that is not
        a page of this listing."""
        body = json_answer(response)
        try:
            return self.accept(body)
        except ValueError as exc:
            raise unexpected(response, str(exc)) from None

    def accept(self, body: Any) -> list[dict[str, Any]]:
        """A page's items; ``ValueError`` for a body that is not a page of this listing."""
        if isinstance(body, dict) and ("items" in body or "data" in body):
            items = body.get("items", body.get("data")) or []
            if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                raise ValueError("lists something other than objects")
            href = _next_href(body)
            self.request = Request("GET", _follow(self.path, href)) if href else None
            return items
        if not self.path.startswith(CATALOG):
            raise ValueError("is not a page of a listing (no items)")
        if not isinstance(body, dict) or not all(isinstance(v, dict) for v in body.values()):
            raise ValueError("is not a page of a Catalog listing (objects keyed by id)")
        items = keyed(body)
        fresh = [item for item in items if item["id"] not in self._seen]
        self._seen.update(item["id"] for item in fresh)
        limit = int(dict(self.params).get("limit", CATALOG_PAGE))
        if len(items) < limit or not fresh:  # a short page, or a server that ignores start
            self.request = None
        else:
            start = int(dict(self.params).get("start", 0)) + len(items)
            self.params = [(k, v) for k, v in self.params if k != "start"] + [("start", str(start))]
            self.request = Request("GET", self.path, params=self.params)
        return fresh


# --- Flow Service: connections ---------------------------------------------------------------


def create_connection(
    name: str,
    spec_id: str,
    auth_spec_name: str,
    params: Mapping[str, Any],
    description: str = "",
) -> Step[Created]:
    body = {
        "name": name,
        "description": description,
        "auth": {"specName": auth_spec_name, "params": dict(params)},
        "connectionSpec": {"id": spec_id, "version": "1.0"},
    }
    return created((yield from post_json(f"{FLOWSERVICE}/connections", body)))


def entity(kind: str, id: str) -> Step[dict[str, Any]]:
    """One Flow Service entity (``connections``, ``flows``, ``runs``, …) by id."""
    return only_item((yield from get_json(f"{FLOWSERVICE}/{kind}/{_id(id)}")))


def test_connection(id: str) -> Step[dict[str, Any]]:
    body = yield from get_json(f"{FLOWSERVICE}/connections/{_id(id)}/test")
    return dict(body)


def explore(
    id: str, object_type: str, obj: str | None, preview: bool, file_type: str | None
) -> Step[Any]:
    params = query(objectType=object_type, object=obj, fileType=file_type)
    if preview:
        params.append(("preview", "true"))
    return (yield from get_json(f"{FLOWSERVICE}/connections/{_id(id)}/explore", params))


def patch(kind: str, id: str, ops: Sequence[Mapping[str, Any]], etag: str) -> Step[Created]:
    request = Request(
        "PATCH",
        f"{FLOWSERVICE}/{kind}/{_id(id)}",
        json=[dict(op) for op in ops],
        headers={"If-Match": etag},
    )
    return created(json_answer((yield from send(request))))


def delete(kind: str, id: str) -> Step[None]:
    yield from send(Request("DELETE", f"{FLOWSERVICE}/{kind}/{_id(id)}"))


# --- Flow Service: source and target connections, flows, runs --------------------------------


def create_source_connection(
    name: str,
    base_connection_id: str,
    path: str,
    *,
    recursive: bool = False,
    data_format: str = "parquet",
    schema_id: str | None = None,
    connection_spec_id: str | None = None,
    description: str = "",
) -> Step[Created]:
    if connection_spec_id is None:  # Flow Service wants it; it is the base connection's
        base = yield from entity("connections", base_connection_id)
        connection_spec_id = str(base["connectionSpec"]["id"])
    data: dict[str, Any] = {"format": data_format}
    if schema_id:
        data["schema"] = {"id": schema_id, "version": XED_FULL}
    body = {
        "name": name,
        "description": description,
        "baseConnectionId": base_connection_id,
        "data": data,
        "params": {"path": path, "recursive": recursive},
        "connectionSpec": {"id": connection_spec_id, "version": "1.0"},
    }
    return created((yield from post_json(f"{FLOWSERVICE}/sourceConnections", body)))


def create_target_connection(
    name: str,
    dataset_id: str,
    *,
    schema_id: str | None = None,
    base_connection_id: str | None = None,
    data_format: str = "parquet_xdm",
    description: str = "",
) -> Step[Created]:
    if schema_id is None:  # Flow Service wants the target schema; it is the dataset's
        schema_id = str((yield from dataset(dataset_id))["schemaRef"]["id"])
    body: dict[str, Any] = {
        "name": name,
        "description": description,
        "data": {"format": data_format, "schema": {"id": schema_id, "version": XED_FULL}},
        "params": {"dataSetId": dataset_id},
        "connectionSpec": {"id": DATASET_TARGET_SPEC_ID, "version": "1.0"},
    }
    if base_connection_id:
        body["baseConnectionId"] = base_connection_id
    return created((yield from post_json(f"{FLOWSERVICE}/targetConnections", body)))


def create_flow(
    name: str,
    source_connection_id: str,
    target_connection_id: str,
    *,
    schedule: Mapping[str, Any] | None = None,
    options: Mapping[str, Any] | None = None,
    transformations: Sequence[Mapping[str, Any]] = (),
    description: str = "",
) -> Step[Created]:
    body: dict[str, Any] = {
        "name": name,
        "description": description,
        "flowSpec": {"id": CLOUD_STORAGE_FLOW_SPEC_ID, "version": "1.0"},
        "sourceConnectionIds": [source_connection_id],
        "targetConnectionIds": [target_connection_id],
        "transformations": [dict(t) for t in transformations],
        "scheduleParams": dict(schedule or {"startTime": int(time.time()), "frequency": "once"}),
    }
    if options:
        body["options"] = dict(options)
    return created((yield from post_json(f"{FLOWSERVICE}/flows", body)))


def flow_action(id: str, op: str) -> Step[Created]:
    request = Request("POST", f"{FLOWSERVICE}/flows/{_id(id)}/action", params={"op": op})
    return created(json_answer((yield from send(request))))


def create_run(flow_id: str, params: Mapping[str, Any] | None = None) -> Step[Created]:
    if params is None:
        now = int(time.time())
        params = {"startTime": now, "windowStartTime": 0, "windowEndTime": now}
    body = {"flowId": flow_id, "params": dict(params)}
    return created((yield from post_json(f"{FLOWSERVICE}/runs", body)))


def run_now(flow_id: str) -> Step[Created]:
    """lakefeed's "run now", for a flow of any frequency."""
    request = Request("POST", f"{FLOWSERVICE}/flows/{_id(flow_id)}/runs")
    return created(json_answer((yield from send(request))))


def retrigger_run(run_id: str) -> Step[dict[str, Any]]:
    request = Request(
        "POST", f"{FLOWSERVICE}/runs/{_id(run_id)}/action", params={"op": "RE_TRIGGER"}
    )
    return only_item(json_answer((yield from send(request))))


def backlog(flow_id: str, refresh: bool = False) -> Step[dict[str, Any]]:
    params = {"refresh": "true"} if refresh else None
    body = yield from get_json(f"{FLOWSERVICE}/flows/{_id(flow_id)}/backlog", params)
    return only_item(body)


def run_completed(run: Mapping[str, Any]) -> bool:
    status = ((run.get("metrics") or {}).get("statusSummary") or {}).get("status")
    return run.get("state") == "completed" or status in ("success", "failed")


def wait_for_run(run_id: str, timeout: float, poll: float) -> Step[dict[str, Any]]:
    """Poll the run, ``poll`` seconds apart at first and up to 10 s apart later, until it is
    completed; :class:`RunWaitTimeout` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    delay = poll
    while True:
        run = yield from entity("runs", run_id)
        if run_completed(run):
            return run
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RunWaitTimeout(
                f"Run {run_id} is still {run.get('state', 'running')} after {timeout:g} s.",
                fix="Wait longer (timeout=…), or look at it later with `lakefeed runs show`.",
            )
        yield Sleep(min(delay, remaining))
        delay = min(delay * 1.5, max(poll, 10.0))


# --- Schema Registry and Catalog -------------------------------------------------------------


def create_schema(body: Mapping[str, Any]) -> Step[dict[str, Any]]:
    return dict((yield from post_json(f"{SCHEMAREGISTRY}/tenant/schemas", dict(body))))


def schema(id: str, full: bool = False, kind: str = "schemas") -> Step[dict[str, Any]]:
    # Standard XDM resources are classes, field groups and data types: pass their kind.
    standard = id.startswith(("https://ns.adobe.com/xdm/", "_xdm."))
    container = "global" if standard else "tenant"
    accept = {"Accept": XED_FULL if full else XED}
    return dict(
        (yield from get_json(f"{SCHEMAREGISTRY}/{container}/{kind}/{_id(id)}", None, accept))
    )


def create_dataset(name: str, schema_id: str, description: str = "") -> Step[str]:
    body = {
        "name": name,
        "description": description,
        "schemaRef": {"id": schema_id, "contentType": "application/vnd.adobe.xed+json;version=1"},
    }
    answer = yield from post_json(f"{CATALOG}/dataSets", body)
    link = answer[0] if isinstance(answer, list) and answer else str(answer)
    return str(link).rsplit("/", 1)[-1]


def catalog_object(kind: str, id: str) -> Step[dict[str, Any]]:
    """One Catalog object (``dataSets``, ``batches``) by id."""
    found = keyed((yield from get_json(f"{CATALOG}/{kind}/{_id(id)}")))
    if not found:
        raise ResourceNotFound(f"No {kind} {id!r} in the Catalog answer.", fix="Check the id.")
    return found[0]


def dataset(id: str) -> Step[dict[str, Any]]:
    return (yield from catalog_object("dataSets", id))


def row_error_listing(batch_id: str) -> tuple[str, list[tuple[str, str]]]:
    return f"{EXPORT}/batches/{_id(batch_id)}/meta", [("path", "row_errors")]


def row_error_file(batch_id: str, listed: Mapping[str, Any]) -> Request:
    href = ((listed.get("_links") or {}).get("self") or {}).get("href")
    if href:
        return Request("GET", _follow(EXPORT, href))
    path, _ = row_error_listing(batch_id)
    return Request("GET", path, params=[("path", f"row_errors/{listed['name']}")])


# --- Data Prep: mapping sets -------------------------------------------------------------------


def create_mapping_set(mapping_set: Mapping[str, Any]) -> Step[dict[str, Any]]:
    """Version 0 of a new mapping set: ``{id, version, createdDate, …}``."""
    return dict((yield from post_json(f"{CONVERSION}/mappingSets", dict(mapping_set))))


def mapping_set(id: str, version: int | None, expand_schema: bool) -> Step[dict[str, Any]]:
    params = query(version=version, expandSchema=True if expand_schema else None)
    return dict((yield from get_json(f"{CONVERSION}/mappingSets/{_id(id)}", params)))


def update_mapping_set(id: str, mapping_set: Mapping[str, Any]) -> Step[dict[str, Any]]:
    # Each PUT stores a new version: never sent twice by a retry.
    request = Request(
        "PUT", f"{CONVERSION}/mappingSets/{_id(id)}", json=dict(mapping_set), idempotent=False
    )
    return dict(json_answer((yield from send(request))))


def delete_mapping_set(id: str) -> Step[None]:
    yield from send(Request("DELETE", f"{CONVERSION}/mappingSets/{_id(id)}"))


def check_mapping_set(
    action: str, mapping_set: Mapping[str, Any], data: Any
) -> Step[dict[str, Any]]:
    """``validate`` or ``preview`` (they store nothing, so a retry is harmless)."""
    body: dict[str, Any] = {"mappingSet": dict(mapping_set)}
    if data is not None:
        body["data"] = data if isinstance(data, Mapping) else [dict(row) for row in data]
    request = Request("POST", f"{CONVERSION}/mappingSets/{action}", json=body, idempotent=True)
    return dict(json_answer((yield from send(request))))

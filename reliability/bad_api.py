"""Hostile request bodies and query strings against the main routes of ``lakefeed serve``.

For each route a valid body is made, then broken in every way a careless or hostile client
could: text that is not JSON, nesting tens of thousands deep, invalid UTF-8, lone surrogates,
NUL bytes, NaN, numbers of thousands of digits, a body over the 1 MiB limit, the wrong JSON
type at the top and in every field, every required field missing, strings of 900 KB, unknown
fields; JSON Patch bodies that are not patches; list filters that do not parse. Expected:
never a 5xx, never a hang; a 4xx where the body cannot be a valid request (unparseable,
wrong top-level type, a required field missing, a broken patch). Type changes inside an
object, huge strings, NUL bytes and unknown fields may also be accepted (2xx): the table says
how many were.
"""

from __future__ import annotations

import copy
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from reliability.support import (
    ORG,
    Context,
    Outcome,
    api_client,
    child_env,
    create_dataset,
    serving,
)

NAME = "bad-api"
FLOW = "/data/foundation/flowservice"
CATALOG = "/data/foundation/catalog"
REGISTRY = "/data/foundation/schemaregistry"
DATASET_SPEC = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
FLOW_SPEC = "9753525b-82c7-4dce-8a9b-5ccfce2b9876"
STRICT = "4xx"  # the body cannot be a valid request
LENIENT = "no 5xx"  # 2xx or 4xx, never 5xx

#: Bodies that are not a JSON object at all.
RAW: tuple[tuple[str, bytes, str], ...] = (
    ("empty", b"", STRICT),
    ("whitespace", b"  \n\t ", STRICT),
    ("truncated object", b'{"name": "x", "auth": {', STRICT),
    ("truncated array", b"[1, 2", STRICT),
    ("bare word", b"nul", STRICT),
    ("trailing garbage", b'{"name": "x"} garbage', STRICT),
    ("single quotes", b"{'name': 'x'}", STRICT),
    ("arrays 50000 deep", b"[" * 50_000 + b"]" * 50_000, STRICT),
    ("objects 30000 deep", b'{"a":' * 30_000 + b"1" + b"}" * 30_000, STRICT),
    ("invalid UTF-8", b'{"name": "\xff\xfe\xfa"}', STRICT),
    ("UTF-16", '{"name": "x"}'.encode("utf-16"), STRICT),
    ("NaN", b'{"name": NaN, "description": Infinity}', STRICT),
    ("5000-digit number", b'{"name": 1' + b"0" * 5000 + b"}", STRICT),
    ("huge exponent", b'{"name": 1e999999}', STRICT),
    ("top-level number", b"42", STRICT),
    ("top-level string", b'"x"', STRICT),
    ("top-level null", b"null", STRICT),
    ("top-level true", b"true", STRICT),
    ("over 1 MiB", b'{"name": "' + b"a" * (1 << 20) + b'"}', STRICT),
    ("lone surrogate", b'{"name": "\\ud800", "description": "\\udfff"}', LENIENT),
    ("raw NUL in a string", b'{"name": "a\x00b"}', STRICT),
    ("byte order mark", b"\xef\xbb\xbf{}", STRICT),
)
#: Values of another JSON type than the field's.
WRONG: tuple[Any, ...] = (None, 0, -1, 1.5, True, "", "s", [], {}, [None], {"a": None}, 10**30)
ODD_STRINGS = ("a\u0000b", "\u202e\u200b", "😀" * 1000, "\ufeff", "../../etc/passwd", "%00%2e")
PATCHES: tuple[tuple[str, Any], ...] = (
    ("an object", {"op": "replace", "path": "/name", "value": "x"}),
    ("a list of numbers", [1, 2]),
    ("a list of empty objects", [{}]),
    ("no path", [{"op": "replace", "value": "x"}]),
    ("no op", [{"path": "/name", "value": "x"}]),
    ("unknown op", [{"op": "explode", "path": "/name", "value": "x"}]),
    ("move", [{"op": "move", "from": "/name", "path": "/description"}]),
    ("empty path", [{"op": "replace", "path": "", "value": {}}]),
    ("path without slash", [{"op": "replace", "path": "name", "value": "x"}]),
    ("bad escape", [{"op": "replace", "path": "/~2", "value": "x"}]),
    ("lone tilde", [{"op": "replace", "path": "/name~", "value": "x"}]),
    ("10000-char path", [{"op": "add", "path": "/" + "a" * 10_000, "value": 1}]),
    ("array index path", [{"op": "add", "path": "/name/0/-/1", "value": 1}]),
    ("value 5000 deep", [{"op": "replace", "path": "/description", "value": "deep"}]),
    ("5000 operations", [{"op": "replace", "path": "/description", "value": "x"}] * 5000),
    ("failing test op", [{"op": "test", "path": "/name", "value": "not the name"}]),
    ("remove name", [{"op": "remove", "path": "/name"}]),
    ("name to null", [{"op": "replace", "path": "/name", "value": None}]),
    ("name to object", [{"op": "replace", "path": "/name", "value": {"a": [1]}}]),
    ("op of wrong type", [{"op": 7, "path": ["name"], "value": "x"}]),
)
QUERIES = (
    {"property": "name=="},
    {"property": "==="},
    {"property": "a" * 10_000},
    {"property": "createdAt>abc"},
    {"property": "name==\x00"},
    {"property": "[]==x"},
    {"property": "a.b.c.d.e.f.g.h[]==1"},
    {"orderby": "-"},
    {"orderby": "--name"},
    {"orderby": "no.such.field"},
    {"limit": "-1"},
    {"limit": "0"},
    {"limit": "1e3"},
    {"limit": "9" * 50},
    {"limit": "NaN"},
    {"continuationToken": "garbage"},
    {"continuationToken": "%%%"},
    {"continuationToken": "bzo" + "x" * 5000},
    {"count": "maybe"},
    {"count": "true", "limit": "5"},
    {"start": "-5"},
    {"orderBy": "created:sideways"},
)


@dataclass
class Probe:
    label: str
    method: str
    path: str
    expect: str
    content: bytes | None = None
    content_type: str = "application/json"
    params: dict[str, str] | None = None
    etag_of: str | None = None  # GET this path first and send its etag in If-Match


class Resources:
    """Valid ids for the routes, made through the Python API in the client's org."""

    def __init__(self, lf: Any, local_root: str) -> None:
        future = int(time.time()) + 10 * 365 * 86_400
        schema = lf.schemas.get(create_dataset(lf, "hostile").schema_id)
        self.schema_id = schema["$id"]
        self.schema_alt_id = schema["meta:altId"]
        self.class_id = schema["meta:class"]
        self.dataset_id = lf.datasets.get("hostile").id
        self.s3 = lf.create_connection("hostile-s3", "amazon-s3", "Access Key", s3_params()).id
        local = lf.create_connection("hostile-local", "local-files", None, {"rootPath": local_root})
        self.local = local.id
        self.local_spec = local.connection_spec_id
        flows = lf.flows
        self.source = flows.create_source_connection(
            name="hostile-source", base_connection_id=self.local, path="."
        ).id
        self.target = flows.create_target_connection(
            name="hostile-target", dataset_id=self.dataset_id
        ).id
        self.flow = flows.create_flow(
            name="hostile-flow",
            source_connection_ids=[self.source],
            target_connection_ids=[self.target],
            schedule={"frequency": "once", "startTime": future},
        ).id
        self.future = future


def s3_params() -> dict[str, Any]:
    return {"s3AccessKey": "a", "s3SecretKey": "b", "serviceUrl": "http://8.8.8.8:9000"}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def valid_bodies(r: Resources) -> dict[str, Callable[[], dict[str, Any]]]:
    """POST path → a maker of a valid body (a fresh name each call)."""
    return {
        f"{FLOW}/connections": lambda: {
            "name": unique("c"),
            "description": "d",
            "auth": {"specName": "Access Key", "params": s3_params()},
            "connectionSpec": {"id": "amazon-s3", "version": "1.0"},
        },
        f"{FLOW}/sourceConnections": lambda: {
            "name": unique("s"),
            "baseConnectionId": r.local,
            "connectionSpec": {"id": r.local_spec, "version": "1.0"},
            "data": {"format": "parquet"},
            "params": {"path": ".", "recursive": "false"},
        },
        f"{FLOW}/targetConnections": lambda: {
            "name": unique("t"),
            "connectionSpec": {"id": DATASET_SPEC, "version": "1.0"},
            "data": {"format": "parquet_xdm"},
            "params": {"dataSetId": r.dataset_id},
        },
        f"{FLOW}/flows": lambda: {
            "name": unique("f"),
            "flowSpec": {"id": FLOW_SPEC, "version": "1.0"},
            "sourceConnectionIds": [r.source],
            "targetConnectionIds": [r.target],
            "scheduleParams": {"startTime": str(r.future), "frequency": "once"},
            "options": {"partialIngestionPercent": 5},
        },
        f"{FLOW}/runs": lambda: {"flowId": r.flow, "params": {"startTime": str(r.future)}},
        f"{CATALOG}/dataSets": lambda: {
            "name": unique("d"),
            "schemaRef": {
                "id": r.schema_id,
                "contentType": "application/vnd.adobe.xed-full+json;version=1",
            },
        },
        f"{REGISTRY}/tenant/schemas": lambda: {
            "type": "object",
            "title": unique("schema"),
            "allOf": [{"$ref": r.class_id}],
        },
    }


def patch_routes(r: Resources) -> dict[str, str | None]:
    """PATCH path → the path whose etag goes in If-Match (None: not needed)."""
    return {
        f"{FLOW}/connections/{r.s3}": f"{FLOW}/connections/{r.s3}",
        f"{FLOW}/sourceConnections/{r.source}": f"{FLOW}/sourceConnections/{r.source}",
        f"{FLOW}/flows/{r.flow}": f"{FLOW}/flows/{r.flow}",
        f"{REGISTRY}/tenant/schemas/{r.schema_alt_id}": None,
    }


def encode(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


DEEP = "\u2063deep\u2063"  # a placeholder, spliced out after encoding


def with_deep(body: Any, levels: int) -> bytes:
    """``body`` encoded, with ``DEEP`` replaced by an object ``levels`` deep (too deep for
    ``json.dumps`` to write)."""
    nested = b'{"d":' * levels + b'"bottom"' + b"}" * levels
    return encode(body).replace(encode(DEEP), nested)


def leaves(body: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every (path, value) of a body, containers included, root excluded."""
    if isinstance(body, dict):
        items: Any = body.items()
    elif isinstance(body, list):
        items = enumerate(body)
    else:
        return
    for key, value in items:
        yield (*path, key), value
        yield from leaves(value, (*path, key))


def replaced(body: Any, path: tuple[Any, ...], value: Any) -> Any:
    out = copy.deepcopy(body)
    holder = out
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = value
    return out


def removed(body: Any, path: tuple[Any, ...]) -> Any:
    out = copy.deepcopy(body)
    holder = out
    for key in path[:-1]:
        holder = holder[key]
    del holder[path[-1]]
    return out


def body_probes(route: str, make: Callable[[], dict[str, Any]]) -> Iterator[Probe]:
    for label, raw, expect in RAW:
        yield Probe(f"{label}", "POST", route, expect, raw)
    body = make()
    text = encode(body)
    for content_type in ("text/plain", "application/x-www-form-urlencoded", ""):
        yield Probe(f"valid body as {content_type or 'no type'}", "POST", route, LENIENT, text,
                    content_type)  # fmt: skip
    yield Probe("duplicate keys", "POST", route, LENIENT, text[:-1] + b', "name": "dup"}')
    for top in (list(body.items()), [body], list(body)):
        yield Probe("wrong top-level type", "POST", route, STRICT, encode(top))
    for path, value in list(leaves(body)):
        where = "/".join(map(str, path))
        if isinstance(path[-1], str):
            yield Probe(f"without {where}", "POST", route, LENIENT, encode(removed(make(), path)))
        for wrong in WRONG:
            if type(wrong) is not type(value):
                label = f"{where} = {json.dumps(wrong)[:20]}"
                yield Probe(label, "POST", route, LENIENT, encode(replaced(make(), path, wrong)))
        if isinstance(value, str):
            for odd in ODD_STRINGS:
                label = f"{where} = odd string {odd[:6]!r}"
                yield Probe(label, "POST", route, LENIENT, encode(replaced(make(), path, odd)))
            huge = encode(replaced(make(), path, "A" * 900_000))
            yield Probe(f"{where} = 900 KB string", "POST", route, LENIENT, huge)
            nested = with_deep(replaced(make(), path, DEEP), 3000)
            yield Probe(f"{where} = object 3000 deep", "POST", route, LENIENT, nested)
    extra = {**make(), "zzz": {"deep": [1, 2, 3]}, "__proto__": {"admin": True}, "id": "mine"}
    yield Probe("unknown fields", "POST", route, LENIENT, encode(extra))


def patch_probes(route: str, etag_of: str | None) -> Iterator[Probe]:
    for label, raw, expect in RAW:
        yield Probe(label, "PATCH", route, expect, raw, etag_of=etag_of)
    for label, patch in PATCHES:
        expect, content = STRICT, encode(patch)
        if label == "5000 operations":
            expect = LENIENT  # valid, only long
        if label == "value 5000 deep":
            expect = LENIENT
            content = with_deep([{"op": "replace", "path": "/description", "value": DEEP}], 5000)
        yield Probe(label, "PATCH", route, expect, content, etag_of=etag_of)
    if etag_of is not None:
        body = encode([{"op": "replace", "path": "/description", "value": "x"}])
        for etag in ('"garbage"', "*", 'W/"x"', "x" * 5000, ""):
            expect = LENIENT if etag == "*" else STRICT  # "*" matches any current etag
            probe = Probe(f"If-Match {etag[:12]!r}", "PATCH", route, expect, body)
            probe.params = {"__if_match": etag}
            yield probe


def query_probes(r: Resources) -> Iterator[Probe]:
    lists = (
        f"{FLOW}/connections",
        f"{FLOW}/sourceConnections",
        f"{FLOW}/flows",
        f"{FLOW}/runs",
        f"{CATALOG}/dataSets",
        f"{CATALOG}/batches",
        f"{REGISTRY}/tenant/schemas",
    )
    for route in lists:
        for params in QUERIES:
            label = "?" + "&".join(f"{k}={v[:16]}" for k, v in params.items())
            yield Probe(label, "GET", route, LENIENT, params=params)
    for op in ("explode", "", "ENABLE" * 1000):
        yield Probe(f"action op={op[:10]!r}", "POST", f"{FLOW}/flows/{r.flow}/action", STRICT,
                    params={"op": op})  # fmt: skip
    for path in (f"{FLOW}/flows/{'x' * 5000}", f"{FLOW}/runs/%00", f"{CATALOG}/batches/..%2f.."):
        yield Probe("odd id", "GET", path, STRICT)


def token_probes() -> Iterator[Probe]:
    form = "application/x-www-form-urlencoded"
    for label, raw in (
        ("empty form", b""),
        ("form without secret", b"client_id=x&grant_type=client_credentials"),
        ("form with NULs", b"client_id=%00&client_secret=%00&grant_type=client_credentials"),
        ("form 900 KB", b"client_id=" + b"a" * 900_000),
        ("JSON instead of form", b'{"client_id": "x"}'),
        ("invalid percent escapes", b"client_id=%zz&client_secret=%&grant_type=%"),
        ("repeated fields", b"client_id=a&client_id=b&grant_type=x&grant_type=y"),
    ):
        yield Probe(label, "POST", "/ims/token/v3", STRICT, raw, form)


def all_probes(r: Resources) -> list[Probe]:
    probes: list[Probe] = []
    for route, make in valid_bodies(r).items():
        probes += body_probes(route, make)
    for route, etag_of in patch_routes(r).items():
        probes += patch_probes(route, etag_of)
    probes += query_probes(r)
    probes += token_probes()
    return probes


def run(ctx: Context) -> list[Outcome]:
    from lakefeed import Lakefeed
    from lakefeed.catalog.records import Scope

    root = ctx.folder("hostile")
    (root / "drops").mkdir()
    home = root / "home"
    lf = Lakefeed(home=home, scope=Scope(ims_org_id=ORG, sandbox_name="prod"))
    resources = Resources(lf, str(root / "drops"))
    probes = all_probes(resources)
    if ctx.quick:
        probes = random.Random(ctx.seed).sample(probes, min(len(probes), 300))
    outcome = Outcome("bad inputs: API bodies", "never 5xx; 4xx when unparseable", unit="inputs")
    outcome.lost = outcome.duplicated = None
    statuses: Counter[str] = Counter()
    env = child_env(home, LAKEFEED_LOCAL_ROOTS=str(root / "drops"))
    with serving(home, log=root / "serve.log", env=env) as serve, api_client(serve, home) as api:
        for probe in probes:
            send(api, probe, outcome, statuses)
        alive = api.get(f"{FLOW}/connectionSpecs")
        if alive.status_code != 200:
            outcome.fail(f"after the probes the server answers {alive.status_code}")
    outcome.notes.append(", ".join(f"{k} {n}" for k, n in sorted(statuses.items())))
    return [outcome]


def send(api: Any, probe: Probe, outcome: Outcome, statuses: Counter[str]) -> None:
    import httpx

    headers = {"Content-Type": probe.content_type} if probe.content_type else {}
    params: dict[str, str] = dict(probe.params or {})
    if "__if_match" in params:
        headers["If-Match"] = params.pop("__if_match")
    elif probe.etag_of is not None:
        current = api.get(probe.etag_of)
        if current.status_code == 200:
            headers["If-Match"] = current.json()["items"][0]["etag"]
    if probe.content is None and probe.method == "GET":
        headers.pop("Content-Type", None)
    outcome.trials += 1
    where = f"{probe.method} {probe.path[:70]} [{probe.label}]"
    answer = None
    for attempt in range(2):
        try:
            answer = api.request(
                probe.method, probe.path, content=probe.content, headers=headers, params=params
            )
            break
        except httpx.TimeoutException as exc:
            statuses["no answer"] += 1
            outcome.fail(f"{where}: no answer in {api.timeout.read}s ({type(exc).__name__})")
            return
        except httpx.TransportError as exc:
            # A kept-alive connection the server dropped: once more on a new one.
            statuses["connection dropped"] += 1
            if attempt:
                outcome.fail(f"{where}: the connection failed twice ({type(exc).__name__})")
                return
    assert answer is not None
    code = answer.status_code
    statuses[f"{code // 100}xx"] += 1
    if code >= 500:
        outcome.fail(f"{where}: {code} {answer.text[:120]}")
    elif probe.expect == STRICT and not 400 <= code < 500:
        outcome.fail(f"{where}: {code}, expected 4xx")

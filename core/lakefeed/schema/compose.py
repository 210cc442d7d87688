"""Composing XDM resources into one plain JSON Schema: the ``xed-full`` view.

Every ``$ref`` — to another resource (``https://ns.adobe.com/xdm/context/person``), to a part of
the same resource (``#/definitions/person``) or to a part of another (``<$id>#/definitions/x``)
— is inlined, and every ``allOf`` is deep-merged: objects merge their properties, the same leaf
met twice must have the same type. What comes out holds no ``$ref`` and no ``allOf``; every
field carries ``type`` and ``meta:xdmType``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lakefeed.errors import InvalidSchema

Lookup = Callable[[str], Mapping[str, Any] | None]

JSON_TYPES = ("string", "integer", "number", "boolean", "object", "array")

# What a composed field keeps; localisation ids, examples, $schema and the like are dropped.
KEPT_KEYS = (
    "title",
    "description",
    "type",
    "format",
    "meta:xdmType",
    "meta:precision",
    "meta:scale",
    "enum",
    "meta:enum",
    "default",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
)

# XDM integer types by range, narrowest first, as the Schema Registry assigns them.
_INTEGER_RANGES = (
    ("byte", -(2**7), 2**7 - 1),
    ("short", -(2**15), 2**15 - 1),
    ("int", -(2**31), 2**31 - 1),
    ("long", -(2**53) + 1, 2**53 - 1),
)


def xdm_type(node: Mapping[str, Any]) -> str | None:
    """The ``meta:xdmType`` of a field: declared, or derived from ``type``/``format``/range."""
    declared = node.get("meta:xdmType")
    if isinstance(declared, str):
        return declared
    kind = node.get("type")
    if kind == "string":
        return {"date": "date", "date-time": "date-time"}.get(node.get("format", ""), "string")
    if kind == "integer":
        low, high = node.get("minimum", -(2**31)), node.get("maximum", 2**31 - 1)
        return next((n for n, lo, hi in _INTEGER_RANGES if lo <= low and high <= hi), "long")
    if kind == "object":
        is_map = isinstance(node.get("additionalProperties"), Mapping) and not node.get(
            "properties"
        )
        return "map" if is_map else "object"
    return kind if kind in JSON_TYPES else None


def type_label(node: Mapping[str, Any]) -> str:
    """A field's XDM type in words, as the CLI and the console show it: ``string``,
    ``date-time``, ``decimal(10, 2)``, ``array of object``, ``map of array of object``."""
    xdm = str(node.get("meta:xdmType") or node.get("type") or "any")
    if xdm == "array" and isinstance(node.get("items"), Mapping):
        return f"array of {type_label(node['items'])}"
    if xdm == "map" and isinstance(node.get("additionalProperties"), Mapping):
        return f"map of {type_label(node['additionalProperties'])}"
    if xdm == "decimal":
        return f"decimal({node.get('meta:precision')}, {node.get('meta:scale', 0)})"
    return xdm


def annotate(node: Any) -> None:
    """Add ``meta:xdmType`` to every typed field of a stored document, as the registry does."""
    if isinstance(node, list):
        for item in node:
            annotate(item)
        return
    if not isinstance(node, dict):
        return
    if "type" in node and "meta:xdmType" not in node and (derived := xdm_type(node)):
        node["meta:xdmType"] = derived
    for key in ("properties", "definitions"):
        for child in (node.get(key) or {}).values():
            annotate(child)
    for key in ("items", "additionalProperties", "allOf"):
        annotate(node.get(key))


@dataclass
class Composition:
    """The fields of a composed resource, and the ``$id`` of every resource inlined into it."""

    properties: dict[str, Any]
    required: list[str]
    refs: list[str] = field(default_factory=list)


class _Conflict(Exception):
    def __init__(self, path: tuple[str, ...], first: Mapping[str, Any], second: Mapping[str, Any]):
        super().__init__(path)
        self.path, self.first, self.second = path, first, second


def field_path(steps: Sequence[str]) -> str:
    """``("identityMap", "{}", "[]", "id")`` → ``identityMap{}[].id``."""
    text = ""
    for step in steps:
        text += step if step in ("[]", "{}") else (f".{step}" if text else step)
    return text


def describe(node: Mapping[str, Any]) -> str:
    """``string (date)``, ``integer (short)``, ``object`` … for error messages."""
    kind, xdm = node.get("type", "untyped"), xdm_type(node)
    detail = node.get("format") or (xdm if xdm not in (kind, None) else None)
    return f"{kind} ({detail})" if detail else str(kind)


def _shape(node: Mapping[str, Any]) -> tuple[Any, Any]:
    return node.get("type"), xdm_type(node)


def _merge(a: dict[str, Any], b: Mapping[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    fa, fb = a.get("format"), b.get("format")
    if _shape(a) != _shape(b) or (fa and fb and fa != fb):
        raise _Conflict(path, a, b)
    merged = dict(a)
    for key, value in b.items():
        if key != "meta:referencedFrom":  # annotations: the first part wins
            merged.setdefault(key, value)
    if "properties" in a and "properties" in b:
        properties = dict(a["properties"])
        for name, sub in b["properties"].items():
            properties[name] = (
                _merge(properties[name], sub, (*path, name)) if name in properties else sub
            )
        merged["properties"] = properties
    if "required" in a and "required" in b:
        merged["required"] = [*a["required"], *(r for r in b["required"] if r not in a["required"])]
    for key, step in (("items", "[]"), ("additionalProperties", "{}")):
        if isinstance(a.get(key), Mapping) and isinstance(b.get(key), Mapping):
            merged[key] = _merge(a[key], b[key], (*path, step))
    return merged


def find_field(node: Mapping[str, Any], path: Sequence[str]) -> Mapping[str, Any] | None:
    """The composed field at ``path`` (steps as in :func:`field_path`), or None."""
    for step in path:
        key = {"[]": "items", "{}": "additionalProperties"}.get(step)
        child = node.get(key) if key else (node.get("properties") or {}).get(step)
        if not isinstance(child, Mapping):
            return None
        node = child
    return node


def iter_refs(node: Any) -> Iterator[str]:
    """Every ``$ref`` value anywhere in a raw document."""
    if isinstance(node, Mapping):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from iter_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from iter_refs(item)


class SchemaComposer:
    """Inlines and merges documents found through ``lookup`` ($id → document or None)."""

    def __init__(self, lookup: Lookup) -> None:
        self._lookup = lookup
        self._documents: dict[str, Mapping[str, Any] | None] = {}
        self._refs: list[str] = []

    def compose(self, document: Mapping[str, Any]) -> Composition:
        """Compose one resource; raises InvalidSchema naming a missing ``$ref``, a ``$ref``
        cycle or two parts that give one field different types."""
        self._refs = []
        root = self._expand(document, document, (_key(document, ""),), ())
        return Composition(root.get("properties", {}), root.get("required", []), self._refs)

    # --- inlining ----------------------------------------------------------------------------

    def _document(self, id_: str, referrer: str) -> Mapping[str, Any]:
        if id_ not in self._documents:
            self._documents[id_] = self._lookup(id_)
        found = self._documents[id_]
        if found is None:
            raise InvalidSchema(
                f"{referrer} references {id_!r}, which is neither in the tenant container nor "
                "in the global container.",
                fix="Check the $id (list() shows what exists), or create that resource first.",
            )
        return found

    def _expand(
        self,
        node: Any,
        document: Mapping[str, Any],
        stack: tuple[str, ...],
        path: tuple[str, ...],
    ) -> dict[str, Any]:
        where = f"Field '{field_path(path)}' of {_name(document)}" if path else _name(document)
        if not isinstance(node, Mapping):
            raise InvalidSchema(f"{where} must be a JSON object, not {node!r}.")
        if "$ref" in node:
            return self._expand_ref(node, document, stack, path, where)
        out: dict[str, Any] = {k: copy.deepcopy(node[k]) for k in KEPT_KEYS if k in node}
        if "properties" in node or "allOf" in node:
            out.setdefault("type", "object")
        if "properties" in node:
            out["properties"] = {
                name: self._expand(sub, document, stack, (*path, name))
                for name, sub in node["properties"].items()
            }
        if node.get("required"):
            out["required"] = list(node["required"])
        if "items" in node:
            out["items"] = self._expand(node["items"], document, stack, (*path, "[]"))
        if isinstance(node.get("additionalProperties"), Mapping):
            extra = node["additionalProperties"]
            out["additionalProperties"] = self._expand(extra, document, stack, (*path, "{}"))
        if "allOf" in node:
            parts = [(_name(document), out)]
            for part in node["allOf"]:
                label = _part_label(part, document)
                parts.append((label, self._expand(part, document, stack, path)))
            out = _merge_parts(parts, path)
        if out.get("type") not in JSON_TYPES:
            raise InvalidSchema(
                f"{where} has type {out.get('type')!r}.",
                fix=f"Give it a type: one of {', '.join(JSON_TYPES)}, or a $ref to a data type.",
            )
        if out["type"] == "array" and "items" not in out:
            raise InvalidSchema(f"{where} is an array without items.", fix="Add an items schema.")
        out.setdefault("meta:xdmType", xdm_type(out))
        return out

    def _expand_ref(
        self,
        node: Mapping[str, Any],
        document: Mapping[str, Any],
        stack: tuple[str, ...],
        path: tuple[str, ...],
        where: str,
    ) -> dict[str, Any]:
        ref = node["$ref"]
        if not isinstance(ref, str):
            raise InvalidSchema(f"{where} has a $ref that is not a string: {ref!r}.")
        base, _, pointer = ref.partition("#")
        target_doc = self._document(base, where) if base else document
        key = _key(target_doc, pointer)
        if key in stack:
            cycle = " → ".join(s.removesuffix("#") for s in (*stack[stack.index(key) :], key))
            raise InvalidSchema(
                f"$ref cycle: {cycle}.", fix="A resource cannot contain itself; break the cycle."
            )
        target: Any = target_doc
        for step in filter(None, pointer.split("/")):
            step = step.replace("~1", "/").replace("~0", "~")
            target = target.get(step) if isinstance(target, Mapping) else None
        if target is None:
            raise InvalidSchema(f"{where} has $ref {ref!r}, which points at nothing.")
        if not pointer and target_doc.get("$id") not in self._refs:
            self._refs.append(target_doc["$id"])
        result = self._expand(target, target_doc, (*stack, key), path)
        result.update({k: node[k] for k in ("title", "description", "default") if k in node})
        if not pointer:
            result["meta:referencedFrom"] = target_doc["$id"]
        return result


def _merge_parts(parts: list[tuple[str, dict[str, Any]]], path: tuple[str, ...]) -> dict[str, Any]:
    merged = parts[0][1]
    for index, (label, part) in enumerate(parts[1:], start=1):
        try:
            merged = _merge(merged, part, ())
        except _Conflict as conflict:
            earlier = next(
                (lab for lab, p in parts[:index] if find_field(p, conflict.path) is not None),
                "an earlier part",
            )
            name = field_path((*path, *conflict.path)) or "(root)"
            raise InvalidSchema(
                f"Field '{name}' is {describe(conflict.first)} in {earlier} but "
                f"{describe(conflict.second)} in {label}.",
                fix="Two parts may define the same field only with the same type; rename one.",
            ) from None
    return merged


def _key(document: Mapping[str, Any], pointer: str) -> str:
    return f"{document.get('$id', '(new resource)')}#{pointer}"


def _name(document: Mapping[str, Any]) -> str:
    return str(document.get("$id") or f"the new resource {document.get('title', '')!r}")


def _part_label(part: Any, document: Mapping[str, Any]) -> str:
    ref = part.get("$ref") if isinstance(part, Mapping) else None
    if isinstance(ref, str):
        return f"{_name(document)}{ref}" if ref.startswith("#") else ref
    return f"an inline allOf part of {_name(document)}"

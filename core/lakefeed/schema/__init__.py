"""XDM schemas: the Schema Registry and resolved schemas as Arrow.

``SchemaRegistry`` loads on first use, so importing a sibling module stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lakefeed.schema.arrow import to_arrow
    from lakefeed.schema.conform import Conformed, FieldError, RowError, TargetSchema
    from lakefeed.schema.infer import infer_properties, merge_inferred
    from lakefeed.schema.registry import SchemaRegistry

__all__ = [
    "Conformed",
    "FieldError",
    "RowError",
    "SchemaRegistry",
    "TargetSchema",
    "infer_properties",
    "merge_inferred",
    "to_arrow",
]
# Arrow-side names, by module; imported on first use like SchemaRegistry (they import pyarrow).
_ARROW_SIDE = {
    "to_arrow": "arrow",
    "Conformed": "conform",
    "FieldError": "conform",
    "RowError": "conform",
    "TargetSchema": "conform",
    "infer_properties": "infer",
    "merge_inferred": "infer",
}


def __getattr__(name: str) -> Any:
    if name == "SchemaRegistry":
        from lakefeed.schema.registry import SchemaRegistry

        return SchemaRegistry
    if name in _ARROW_SIDE:
        import importlib

        return getattr(importlib.import_module(f"lakefeed.schema.{_ARROW_SIDE[name]}"), name)
    raise AttributeError(f"module 'lakefeed.schema' has no attribute {name!r}")

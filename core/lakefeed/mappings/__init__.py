"""Data Prep mappings: expressions, the function library, and mapping sets applied to batches.

from lakefeed.mappings import CompiledMappingSet, Mapping

mappings = CompiledMappingSet.compile(
    [Mapping("EXPRESSION", "lower(email)", "person.email")], destination_fields=None
)
mapped = mappings.apply(batch, now=run_started)  # mapped.data, mapped.failures
"""

from lakefeed.mappings.apply import (
    MAPPING_FAILED,
    CompiledMapping,
    CompiledMappingSet,
    MappedBatch,
    Mapping,
)
from lakefeed.mappings.expressions import Expression, parse
from lakefeed.mappings.paths import format_path, parse_path
from lakefeed.mappings.registry import FUNCTIONS


def function_names() -> list[str]:
    """Every function name expressions may call (aliases included), sorted."""
    return sorted(FUNCTIONS)


__all__ = [
    "FUNCTIONS",
    "MAPPING_FAILED",
    "CompiledMapping",
    "CompiledMappingSet",
    "Expression",
    "MappedBatch",
    "Mapping",
    "format_path",
    "function_names",
    "parse",
    "parse_path",
]

"""``RunContext``: what the run use cases need of an installation, and nothing more.

The engine (:class:`lakefeed.Lakefeed`) builds it; the modules of :mod:`lakefeed.flows` take it
instead of the engine, so they can be used and tested with the stores alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lakefeed.catalog.backlog import BacklogStore
    from lakefeed.catalog.batches import BatchStore
    from lakefeed.catalog.completion import BatchCompletion
    from lakefeed.catalog.flows import FlowResources
    from lakefeed.catalog.ledger import FileLedger
    from lakefeed.catalog.records import Scope
    from lakefeed.catalog.row_errors import RowErrorStore
    from lakefeed.catalog.runs import RunStore
    from lakefeed.datasets.store import DatasetStore
    from lakefeed.flows.executors import Executor
    from lakefeed.formats import FileFormat
    from lakefeed.mappings import CompiledMappingSet
    from lakefeed.schema.conform import TargetSchema
    from lakefeed.storage.access import SourceAccess


@dataclass(frozen=True)
class RunContext:
    scope: Scope
    runs: RunStore
    batches: BatchStore  # and their file plans
    ledger: FileLedger
    row_errors: RowErrorStore
    completion: BatchCompletion  # ledger, batch and run in one transaction
    backlog: BacklogStore
    flows: FlowResources  # flows and their source and target connections
    datasets: DatasetStore
    #: How to open a base connection's storage (with the engine's endpoint policy).
    source_access: Callable[[str], SourceAccess]
    #: The format a source connection's ``data.format`` names.
    file_format: Callable[[str], FileFormat]
    target_schema: Callable[[str], TargetSchema]
    #: A mapping set version (None: the latest) compiled against its output schema.
    mapping_set: Callable[[str, int | None], CompiledMappingSet]
    executor: Executor
    #: The same context in another org and sandbox (recovery works across them).
    in_scope: Callable[[Scope], RunContext]

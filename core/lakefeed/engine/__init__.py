"""``Lakefeed``: the Python API. The CLI and the REST service are thin layers over it.

Its parts live beside this module: :mod:`~lakefeed.engine.installation` (settings, database,
stores, sessions), :mod:`~lakefeed.engine.runs`, :mod:`~lakefeed.engine.changes`,
:mod:`~lakefeed.engine.administration` and :mod:`~lakefeed.engine.mapping_sets`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from lakefeed.engine.administration import Administration
from lakefeed.engine.changes import ResourceChanges
from lakefeed.engine.mapping_sets import MappingSetOperations
from lakefeed.engine.runs import RunOperations

if TYPE_CHECKING:
    from lakefeed.catalog.runs import Run
    from lakefeed.flows.runner import RunProgress


class Lakefeed(RunOperations, ResourceChanges, Administration, MappingSetOperations):
    """One lakefeed installation: its home folder, control-plane store and plugins.

    >>> lf = Lakefeed(home="/tmp/lf")                                      # doctest: +SKIP
    >>> conn = lf.create_connection("raw", "local-files", "Local Path", {"rootPath": "/data"})
    >>> [entry.path for entry in lf.session(conn).ls("/data", recursive=True)]
    """

    def ingest(
        self,
        source: str,
        path: str,
        *,
        dataset: str,
        schema: str | None = None,
        infer: bool = False,
        recursive: bool = False,
        partial_ingestion_percent: float | None = None,
        error_diagnostics: bool = False,
        progress: Callable[[RunProgress], None] | None = None,
        data_format: str | None = None,
        format_properties: Mapping[str, Any] | None = None,
        mapping: Mapping[str, Any] | None = None,
    ) -> Run:
        """The whole chain in one call: connection → dataset → source and target connections →
        flow → run. ``source`` is a stored connection (id or name) or a local folder/``file://``
        URL. The files are read as ``data_format`` (default: the format that recognises
        ``path``'s name, else Parquet) with ``format_properties`` (``data.properties``). The
        dataset is created when missing, from ``schema`` (a registry id) or, with ``infer``,
        from what inspecting the files tells. ``mapping``, a Data Prep mapping set body (its
        ``outputSchema`` defaults to the dataset's schema), shapes the rows: it is stored as
        the flow's mapping set, with a new version when it changed. Calling it again ingests
        only new file versions: the flow is found again by its name."""
        from lakefeed.ingest import IngestChain

        return IngestChain(self).run(
            source,
            path,
            dataset=dataset,
            schema=schema,
            infer=infer,
            recursive=recursive,
            partial_ingestion_percent=partial_ingestion_percent,
            error_diagnostics=error_diagnostics,
            progress=progress,
            data_format=data_format,
            format_properties=format_properties,
            mapping=mapping,
        )


__all__ = ["Lakefeed"]

"""An executor from its name: ``LAKEFEED_EXECUTOR``, ``--executor``."""

from __future__ import annotations

import os

from lakefeed.errors import ExecutorConfigError
from lakefeed.flows.executors import Executor, InProcessExecutor


def executor_from(spec: str | None) -> Executor:
    """The executor ``spec`` names: ``inprocess`` (also empty), ``processes`` (one worker per
    core), ``processes:N``, or ``dask://HOST:PORT`` (also ``tcp://`` and ``tls://``: a
    dask.distributed scheduler)."""
    text = (spec or "").strip()
    if text in ("", "inprocess"):
        return InProcessExecutor()
    if text == "processes" or text.startswith("processes:"):
        from lakefeed.flows.process_executor import ProcessExecutor

        count = text.partition(":")[2]
        if not count:
            return ProcessExecutor()
        if not count.isdigit() or not 1 <= int(count) <= 1024:
            raise ExecutorConfigError(
                f"Executor {text!r}: the number of worker processes must be 1 to 1024.",
                fix="Write processes:N, e.g. processes:4, or processes for one per core.",
            )
        return ProcessExecutor(int(count))
    scheme, sep, rest = text.partition("://")
    if sep and scheme in ("dask", "tcp", "tls") and rest:
        from lakefeed.flows.dask_executor import DaskExecutor

        address = f"{'tcp' if scheme == 'dask' else scheme}://{rest}"
        return DaskExecutor(address)
    raise ExecutorConfigError(
        f"There is no executor {text[:100]!r}.",
        fix="Set LAKEFEED_EXECUTOR (or --executor) to inprocess, processes, processes:N or "
        "dask://HOST:PORT.",
    )


def default_executor() -> Executor:
    """The executor ``LAKEFEED_EXECUTOR`` names (in-process when unset)."""
    return executor_from(os.environ.get("LAKEFEED_EXECUTOR"))

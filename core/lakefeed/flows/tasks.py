"""The one entry point an executor calls for a conversion task, wherever it runs it: a single
file (:func:`lakefeed.flows.convert.convert_file`) or a group of small files converted into
shared data files (:func:`lakefeed.flows.coalesce.convert_group`)."""

from __future__ import annotations

from lakefeed.flows.coalesce import convert_group
from lakefeed.flows.convert import ConversionResult, ConversionTask, Report, convert_file


def convert(task: ConversionTask, report: Report) -> ConversionResult:
    """Convert ``task``: one result for it (a group's holds one outcome per file)."""
    if task.also:
        return convert_group(task, report)
    return convert_file(task, report)

"""The executor seam: a run hands each file's conversion to its executor as a self-contained
task. Here the executor converts in another process, so the task, its result and its events
must travel as plain values; the run must land exactly what converting in-process lands."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakefeed import Lakefeed
from process_executor import ProcessExecutor


@pytest.fixture
def executor() -> Iterator[ProcessExecutor]:
    executor = ProcessExecutor()
    try:
        yield executor
    finally:
        executor.close()


def landing(root: Path) -> Path:
    root.mkdir()
    for n in range(3):
        table = pa.table({"id": pa.array(range(n * 10, n * 10 + 10), pa.int64()),
                          "name": [f"p{i}" for i in range(10)]})  # fmt: skip
        pq.write_table(table, root / f"part-{n}.parquet")
    (root / "broken.parquet").write_bytes(b"PAR1 not a footer PAR1")  # fails inspection
    # A sound footer over garbled pages: fails while its rows are read, in the executor.
    table = pa.table({"id": pa.array(range(1000, 3000), pa.int64()),
                      "name": [f"q{i}" for i in range(2000)]})  # fmt: skip
    pq.write_table(table, root / "garbled.parquet", compression="none")
    data = bytearray((root / "garbled.parquet").read_bytes())
    data[8:4000] = b"\xff" * (4000 - 8)
    (root / "garbled.parquet").write_bytes(bytes(data))
    return root


def ingest(lf: Lakefeed, root: Path) -> tuple[list[int], dict[str, object]]:
    run = lf.ingest(str(root), ".", dataset="people", infer=True, partial_ingestion_percent=50)
    table = lf.datasets.table(lf.datasets.get("people"))
    ids = sorted(table.scan(selected_fields=("id",)).to_arrow().column("id").to_pylist())
    return ids, run.metrics


def lineage(lf: Lakefeed) -> tuple[int, list[tuple[str, int, int]]]:
    """The dataset's data files, and (source file name, row index, id) of each row."""
    table = lf.datasets.table(lf.datasets.get("people"))
    rows = table.scan(selected_fields=("id", "_lakefeed")).to_arrow().to_pylist()
    found = [(r["_lakefeed"]["source_file"], r["_lakefeed"]["source_row"], r["id"]) for r in rows]
    return len(list(table.scan().plan_files())), sorted((Path(f).name, i, n) for f, i, n in found)


def test_a_run_converts_its_files_in_another_process_as_it_would_here(
    tmp_path: Path, executor: ProcessExecutor
) -> None:
    root = landing(tmp_path / "landing")
    here_lf, there_lf = (
        Lakefeed(home=tmp_path / "here"),
        Lakefeed(home=tmp_path / "there", executor=executor),
    )
    here_ids, here = ingest(here_lf, root)
    there_ids, there = ingest(there_lf, root)

    # The four files that may match are small: one group task, converted elsewhere.
    assert executor.tasks == 1 and os.getpid() not in executor.pids
    assert there_ids == here_ids == list(range(30))
    # The group's rows share one data file and keep their own lineage, there as here.
    expected = sorted((f"part-{n}.parquet", i, n * 10 + i) for n in range(3) for i in range(10))
    assert lineage(there_lf) == lineage(here_lf) == (1, expected)
    for metrics in (here, there):
        assert metrics["statusSummary"]["status"] == "success"
        assert metrics["fileSummary"]["inputFileCount"] == 5
        assert metrics["fileSummary"]["outputFileCount"] == 3
        assert metrics["recordSummary"]["outputRecordCount"] == 30
    errors = {
        Path(e["path"]).name: e["code"] for e in there["statusSummary"]["extensions"]["fileErrors"]
    }
    assert errors == {
        Path(e["path"]).name: e["code"] for e in here["statusSummary"]["extensions"]["fileErrors"]
    }
    assert set(errors) == {"broken.parquet", "garbled.parquet"}


def test_an_error_of_the_runs_own_reporting_fails_the_run_not_the_file(tmp_path: Path) -> None:
    """What ``report`` raises (here the caller's progress callback) belongs to the run: the
    run fails with it, and the file it was converting is not failed for good."""
    root = tmp_path / "landing"
    root.mkdir()
    pq.write_table(pa.table({"id": pa.array(range(10), pa.int64())}), root / "a.parquet")
    lf = Lakefeed(home=tmp_path / "home")

    def broken_callback(progress: object) -> None:
        if getattr(progress, "rows", 0):
            raise KeyError("a bug in the caller's callback")

    with pytest.raises(KeyError):
        lf.ingest(str(root), ".", dataset="ids", infer=True, progress=broken_callback)
    again = lf.ingest(str(root), ".", dataset="ids", infer=True)
    assert again.metrics["recordSummary"]["outputRecordCount"] == 10
    assert again.metrics["fileSummary"]["skippedFileCount"] == 0


def test_csv_archives_and_a_mapping_set_convert_in_another_process_as_here(
    tmp_path: Path, executor: ProcessExecutor
) -> None:
    """Configured formats, archive members, rejected rows and a compiled mapping set travel to
    the worker and back: the same rows, row errors and per-member outcomes as in-process."""
    import io
    import zipfile

    root = tmp_path / "csv"
    root.mkdir()
    (root / "a.csv").write_text("id;name\n1;ada\n2;grace;extra\n3;alan\n")
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w") as archive:
        archive.writestr("b.csv", "id;name\n4;edsger\nx;barbara\n")
        archive.writestr("c.csv", "id;name\n5;ken\n")
    (root / "bundle.zip").write_bytes(sink.getvalue())

    def run(lf: Lakefeed) -> tuple[list[tuple[int, str]], dict[str, object], list[object]]:
        schema = lf.schemas.create_inferred_schema(
            "people",
            {"id": {"type": "integer", "meta:xdmType": "long"}, "name": {"type": "string"}},
        )
        mapping_set = lf.create_mapping_set(
            {
                "outputSchema": {"schemaRef": {"id": schema["$id"]}},
                "mappings": [
                    {"sourceType": "EXPRESSION", "source": "to_integer(id)", "destination": "id"},
                    {"sourceType": "EXPRESSION", "source": "upper(name)", "destination": "name"},
                ],
            }
        )
        run = lf.ingest(
            str(root),
            ".",
            dataset="people",
            schema=schema["$id"],
            partial_ingestion_percent=50,
            error_diagnostics=True,
            data_format="delimited",
            format_properties={"columnDelimiter": ";"},
            mapping={"mappings": mapping_set.mappings},
        )
        rows = lf.datasets.read(lf.datasets.get("people")).to_pylist()
        landed = sorted((r["id"], r["name"]) for r in rows)
        rejected = [
            (e.source_file.rsplit("/", 2)[-2:], e.row_index, e.errors[0]["code"])
            for e in lf.row_errors.list(run.batch_id)
        ]
        return landed, run.metrics, sorted(rejected)

    here = run(Lakefeed(home=tmp_path / "here"))
    there = run(Lakefeed(home=tmp_path / "there", executor=executor))

    assert executor.tasks == 2 and os.getpid() not in executor.pids
    assert here[0] == there[0] == [(1, "ADA"), (3, "ALAN"), (4, "EDSGER"), (5, "KEN")]
    assert (
        here[2]
        == there[2]
        == [
            (["bundle.zip!", "b.csv"], 1, "MAPPER-3700-400"),  # "x" is not an integer
            (["csv", "a.csv"], 1, "INGEST-1401-400"),  # a field too many
        ]
    )
    for metrics in (here[1], there[1]):
        assert metrics["fileSummary"]["inputFileCount"] == 3  # a.csv and the zip's 2 members
        assert metrics["recordSummary"]["failedRecordCount"] == 2

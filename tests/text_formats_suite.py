"""Delimited and JSON files, plain and compressed, through a flow on every backend the ingestion
suite runs on (local disk, the S3 and SFTP servers): rows land exactly once, archive members are
files of their own, and bad rows and bad files are reported while the rest goes in.

A test class mixes :class:`TextFormatsSuite` in next to :class:`IngestionSuite`; it uses the
same ``scenario`` fixture.
"""

from __future__ import annotations

import bz2
import gzip
import json
import uuid
from typing import Any

from ingestion_suite import Scenario, file_summary, records
from lakefeed.catalog.flows import Flow
from text_support import tar_of, zip_of

FLAT_FIELDS = {
    "id": {"type": "integer", "meta:xdmType": "long"},
    "name": {"type": "string"},
    "score": {"type": "number"},
    "active": {"type": "boolean"},
}


def csv_rows(start: int, count: int, *, sep: str = ",") -> str:
    lines = [sep.join(("id", "name", "score", "active"))]
    lines += [
        sep.join((str(n), f"name {n}", f"{n / 2}", "true")) for n in range(start, start + count)
    ]
    return "\n".join(lines) + "\n"


def json_lines(start: int, count: int) -> str:
    rows = (
        {"id": n, "name": f"name {n}", "score": n / 2, "active": n % 2 == 0}
        for n in range(start, start + count)
    )
    return "".join(json.dumps(r) + "\n" for r in rows)


def text_flow(
    scenario: Scenario,
    data_format: str,
    properties: dict[str, Any] | None = None,
    **params: Any,
) -> tuple[Flow, Any]:
    """A flat dataset of its own and a flow reading the scenario's folder as ``data_format``."""
    lf = scenario.lf
    suffix = uuid.uuid4().hex[:6]
    schema = lf.schemas.create_inferred_schema(f"flat {suffix}", FLAT_FIELDS, required=["id"])
    dataset = lf.datasets.create(f"flat-{suffix}", schema["$id"])
    src = lf.flows.create_source_connection(
        name=f"s-{suffix}",
        base_connection_id=scenario.connection.id,
        path=scenario.folder,
        recursive=True,
        data_format=data_format,
        properties=properties,
        **params,
    )
    dst = lf.flows.create_target_connection(name=f"t-{suffix}", dataset_id=dataset.id)
    flow = lf.flows.create_flow(
        name=f"f-{suffix}",
        source_connection_ids=[src.id],
        target_connection_ids=[dst.id],
        options={"partialIngestionPercent": 40, "errorDiagnosticsEnabled": True},
    )
    return flow, dataset


def landed(scenario: Scenario, dataset: Any) -> list[tuple[int, str]]:
    table = scenario.lf.datasets.read(scenario.lf.datasets.get(dataset.id))
    sources = table["_lakefeed"].combine_chunks().field("source_file").to_pylist()
    return sorted(zip(table["id"].to_pylist(), sources, strict=True))


class TextFormatsSuite:
    def test_delimited_files_plain_compressed_and_archived(self, scenario: Scenario) -> None:
        scenario.put("plain.csv", csv_rows(0, 10).encode())
        scenario.put("day/gz.csv.gz", gzip.compress(csv_rows(10, 10).encode()))
        scenario.put("day/bz.csv.bz2", bz2.compress(csv_rows(20, 10).encode()))
        scenario.put(
            "bundle.zip",
            zip_of({"a.csv": csv_rows(30, 5).encode(), "sub/b.csv": csv_rows(35, 5).encode()}),
        )
        scenario.put("bundle.tar.gz", tar_of({"c.csv": csv_rows(40, 5).encode()}, gz=True))
        flow, dataset = text_flow(scenario, "delimited")

        run = scenario.lf.run_flow(flow)

        assert run.status == "success", run.metrics
        # Five listed files; the zip's two members count as two files, in and out.
        assert file_summary(run)["inputFileCount"] == 6, run.metrics
        assert file_summary(run)["outputFileCount"] == 6, run.metrics
        assert records(run)["outputRecordCount"] == 45, run.metrics
        rows = landed(scenario, dataset)
        assert [r[0] for r in rows] == list(range(45))
        sources = {n: s for n, s in rows}
        assert sources[31].endswith("bundle.zip!/a.csv")
        assert sources[36].endswith("bundle.zip!/sub/b.csv")
        assert sources[41].endswith("bundle.tar.gz!/c.csv")
        assert sources[12].endswith("day/gz.csv.gz")
        table = scenario.lf.datasets.read(scenario.lf.datasets.get(dataset.id)).to_pylist()
        first = next(r for r in table if r["id"] == 3)
        assert (first["name"], first["score"], first["active"]) == ("name 3", 1.5, True)

        again = scenario.lf.run_flow(flow)  # exactly once: nothing new
        assert file_summary(again)["inputFileCount"] == 0, again.metrics
        assert len(landed(scenario, dataset)) == 45

    def test_json_lines_arrays_and_compression(self, scenario: Scenario) -> None:
        scenario.put("events.jsonl", json_lines(0, 10).encode())
        array = json.dumps([json.loads(line) for line in json_lines(10, 5).splitlines()])
        scenario.put("array.json", array.encode())
        scenario.put("more.jsonl.gz", gzip.compress(json_lines(15, 5).encode()))
        flow, dataset = text_flow(scenario, "json")

        run = scenario.lf.run_flow(flow)

        assert run.status == "success", run.metrics
        assert records(run)["outputRecordCount"] == 20, run.metrics
        assert [r[0] for r in landed(scenario, dataset)] == list(range(20))

    def test_bad_rows_and_bad_files_leave_the_rest(self, scenario: Scenario) -> None:
        good = csv_rows(0, 5)
        scenario.put("good.csv", good.encode())
        # Line 3 has a field too many, line 5 one too few: both rejected, the rest goes in.
        scenario.put(
            "ragged.csv", b"id,name,score,active\n5,a,1,true\n6,b,2,true,x\n7,c,3,true\n8,d\n"
        )
        cut = gzip.compress(csv_rows(100, 2000).encode())
        scenario.put("cut.csv.gz", cut[: len(cut) // 2])  # a truncated upload
        scenario.put("empty.csv", b"")
        scenario.put("header-only.csv", b"id,name,score,active\n")
        flow, dataset = text_flow(scenario, "delimited")

        run = scenario.lf.run_flow(flow)

        assert run.status == "success", run.metrics
        ids = [r[0] for r in landed(scenario, dataset)]
        assert ids == [0, 1, 2, 3, 4, 5, 7], run.metrics
        failed = {
            e["path"].rsplit("/", 1)[-1]: e
            for e in run.metrics["statusSummary"]["extensions"]["fileErrors"]
        }
        assert sorted(failed) == ["cut.csv.gz", "empty.csv"], failed
        assert "truncated" in failed["cut.csv.gz"]["message"].lower(), failed
        assert file_summary(run)["failedFileCount"] == 2
        rejected = list(scenario.lf.row_errors.list(run.batch_id))
        lines = sorted(
            e.errors[0].get("line") for e in rejected if e.source_file.endswith("ragged.csv")
        )
        assert lines == [3, 5], [e.to_dict() for e in rejected]

    def test_csv_with_a_mapping_set_into_nested_profiles(self, scenario: Scenario) -> None:
        tenant = f"_{scenario.tenant}"
        scenario.put(
            "members.csv.gz",
            gzip.compress(
                b"member,first,last,pts,joined\n"
                b"m1, ada ,Lovelace,120,2021-03-04\n"
                b"m2,Grace,Hopper,lots,2022-05-06\n"  # pts is not a number: a mapper error
                b"m3,Alan,Turing,7,not a date\n"  # joined is not a date: a mapper error
                b"m4,Edsger,Dijkstra,0,2020-01-31\n"
            ),
        )
        mapping_set = scenario.lf.create_mapping_set(
            {
                "outputSchema": {"schemaRef": {"id": scenario.schema["$id"]}},
                "mappings": [
                    {"sourceType": "ATTRIBUTE", "source": "member", "destination": "_id"},
                    {
                        "sourceType": "EXPRESSION",
                        "source": "upper(trim(first))",
                        "destination": "person.name.firstName",
                    },
                    {
                        "sourceType": "EXPRESSION",
                        "source": "concat(trim(first), ' ', last)",
                        "destination": "person.name.fullName",
                    },
                    {
                        "sourceType": "EXPRESSION",
                        "source": "concat('L-', member)",
                        "destination": f"{tenant}.loyalty.loyaltyId",
                    },
                    {
                        "sourceType": "EXPRESSION",
                        "source": "to_integer(pts)",
                        "destination": f"{tenant}.loyalty.points",
                    },
                    {
                        "sourceType": "EXPRESSION",
                        "source": 'date(joined, "yyyy-MM-dd")',
                        "destination": f"{tenant}.loyalty.memberSince",
                    },
                ],
            }
        )
        lf = scenario.lf
        src = lf.flows.create_source_connection(
            name=f"s-{uuid.uuid4().hex[:6]}",
            base_connection_id=scenario.connection.id,
            path=scenario.folder,
            data_format="delimited",
        )
        dst = lf.flows.create_target_connection(
            name=f"t-{uuid.uuid4().hex[:6]}", dataset_id=scenario.dataset.id
        )
        flow = lf.flows.create_flow(
            name=f"f-{uuid.uuid4().hex[:6]}",
            source_connection_ids=[src.id],
            target_connection_ids=[dst.id],
            options={"partialIngestionPercent": 60, "errorDiagnosticsEnabled": True},
            transformations=[
                {
                    "name": "Mapping",
                    "params": {"mappingId": mapping_set.id, "mappingVersion": 0},
                }
            ],
        )

        run = lf.run_flow(flow)

        assert run.status == "success", run.metrics
        assert records(run) == {
            "inputRecordCount": 4,
            "outputRecordCount": 2,
            "failedRecordCount": 2,
        }
        rows = {r["_id"]: r for r in scenario.rows().to_pylist()}
        assert sorted(rows) == ["m1", "m4"]
        ada = rows["m1"]
        assert ada["person"]["name"]["firstName"] == "ADA"
        assert ada["person"]["name"]["fullName"] == "ada Lovelace"
        loyalty = ada[tenant]["loyalty"]
        assert (loyalty["loyaltyId"], loyalty["points"]) == ("L-m1", 120)
        assert str(loyalty["memberSince"]) == "2021-03-04"
        rejected = {e.row_index: e for e in lf.row_errors.list(run.batch_id)}
        assert sorted(rejected) == [1, 2]
        for error in rejected.values():
            assert error.source_file.endswith("members.csv.gz")
            (problem,) = error.errors
            assert problem["code"] == "MAPPER-3700-400"
            assert mapping_set.id in problem["message"]
        assert rejected[1].errors[0]["field"] == f"{tenant}.loyalty.points"
        assert rejected[1].record["pts"] == "lots"
        assert rejected[2].errors[0]["field"] == f"{tenant}.loyalty.memberSince"

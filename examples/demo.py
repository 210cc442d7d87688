"""`make demo`: generate Parquet files locally, connect to them, list and inspect them.

Everything lives under .demo/ (LAKEFEED_HOME=.demo/home), so the demo never touches
~/.lakefeed. The ingestion issue extends this to the full chain into an Iceberg dataset.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent / ".demo"
DATA = ROOT / "data"
FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Leslie"]
LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson"]

PROFILE = pa.schema(
    [
        pa.field("_id", pa.string(), nullable=False),
        pa.field("personID", pa.string()),
        pa.field(
            "person",
            pa.struct(
                [
                    pa.field(
                        "name", pa.struct([("firstName", pa.string()), ("lastName", pa.string())])
                    ),
                    pa.field("birthDate", pa.date32()),
                    pa.field("gender", pa.string()),
                ]
            ),
        ),
        pa.field("personalEmail", pa.struct([("address", pa.string()), ("primary", pa.bool_())])),
        pa.field("homeAddress", pa.struct([("city", pa.string()), ("countryCode", pa.string())])),
        pa.field("_repo", pa.struct([("createDate", pa.timestamp("us", tz="UTC"))])),
    ]
)


def profiles(rng: random.Random, start: int, count: int) -> pa.Table:
    rows = []
    for i in range(start, start + count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        rows.append(
            {
                "_id": f"profile-{i:06d}",
                "personID": f"P{i:06d}",
                "person": {
                    "name": {"firstName": first, "lastName": last},
                    "birthDate": date(1950, 1, 1) + timedelta(days=rng.randrange(20000)),
                    "gender": rng.choice(["male", "female", "not_specified"]),
                },
                "personalEmail": {
                    "address": f"{first}.{last}{i}@example.com".lower(),
                    "primary": True,
                },
                "homeAddress": {
                    "city": rng.choice(["Basel", "Lyon", "Oslo", "Porto"]),
                    "countryCode": "EU",
                },
                "_repo": {"createDate": datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=i)},
            }
        )
    return pa.Table.from_pylist(rows, schema=PROFILE)


def generate() -> None:
    shutil.rmtree(ROOT, ignore_errors=True)
    rng = random.Random(7)
    start = 0
    for folder, files in (("2026-11-27", 2), ("2026-11-28", 3)):
        (DATA / folder).mkdir(parents=True)
        for n in range(files):
            table = profiles(rng, start, 1000)
            start += 1000
            pq.write_table(table, DATA / folder / f"profiles-{n}.parquet", row_group_size=250)
    # A file whose upload was cut short: the demo shows how lakefeed reports it.
    whole = (DATA / "2026-11-28" / "profiles-0.parquet").read_bytes()
    (DATA / "2026-11-28" / "profiles-partial.parquet").write_bytes(whole[: len(whole) // 2])


def lakefeed(*args: str) -> int:
    print(f"\n$ lakefeed {' '.join(args)}", flush=True)
    cli = Path(sys.executable).with_name("lakefeed")
    return subprocess.call(
        [str(cli), *args], env={**os.environ, "LAKEFEED_HOME": str(ROOT / "home")}
    )


def main() -> int:
    generate()
    print(f"Generated 5,000 profile records in 5 Parquet files (+1 truncated) under {DATA}")
    steps = [
        ("specs",),
        (
            "connections",
            "create",
            "demo-files",
            "--spec",
            "local-files",
            "-p",
            f"rootPath={DATA}",
            "--test",
        ),
        ("connections", "list"),
        ("ls", "demo-files", "--recursive"),
        ("inspect", "demo-files", "*.parquet", "--recursive"),
        ("preview", "demo-files", "2026-11-27/profiles-0.parquet", "--rows", "3"),
    ]
    for step in steps:
        rc = lakefeed(*step)
        # inspect exits 1 because of the truncated file: that is the point of the demo.
        if rc != 0 and step[0] != "inspect":
            return rc
    return 0


if __name__ == "__main__":
    sys.exit(main())

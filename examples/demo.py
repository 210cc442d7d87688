"""`make demo`: the main job on the embedded default — local Parquet files into a local Iceberg
dataset with an XDM schema, partial ingestion on, then what a user looks at afterwards.

Everything lives under .demo/ (LAKEFEED_HOME=.demo/home), so the demo never touches
~/.lakefeed. Each step is a `lakefeed` command, printed before it runs.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

from lakefeed.testing.profiles import (
    PROFILE_CLASS,
    PROFILE_FIELD_GROUPS,
    loyalty_field_group,
    profile_table,
)

# LAKEFEED_DEMO_ROOT: another folder (the test of the demo runs it in a temporary one).
ROOT = Path(
    os.environ.get("LAKEFEED_DEMO_ROOT") or Path(__file__).resolve().parent.parent / ".demo"
)
DATA = ROOT / "landing"
HOME = ROOT / "home"
TENANT = "local"  # the tenant id of the default org


def generate() -> tuple[int, int]:
    """Profiles in several folders and files, a few rows that break the schema, one corrupt
    file. Returns (rows, bad rows)."""
    shutil.rmtree(ROOT, ignore_errors=True)
    rng = random.Random(11)
    kinds = ["gender", "email", "loyalty_id", "points"]
    start = bad_total = 0
    for folder, files in (("2026/11/27", 2), ("2026/11/28", 3), ("2026/11/29", 2)):
        (DATA / folder).mkdir(parents=True)
        for n in range(files):
            rows = 600
            bad = {rng.randrange(rows): rng.choice(kinds) for _ in range(4)}
            table = profile_table(rows, start=start, tenant_id=TENANT, bad=bad)
            pq.write_table(table, DATA / folder / f"profiles-{n}.parquet", row_group_size=200)
            start += rows
            bad_total += len(bad)
    # An upload that was cut short: lakefeed reports it and ingests everything else.
    whole = (DATA / "2026/11/28/profiles-0.parquet").read_bytes()
    (DATA / "2026/11/29/profiles-partial.parquet").write_bytes(whole[: len(whole) // 2])
    (DATA / "2026/11/29/_SUCCESS").write_bytes(b"")  # a marker file: ignored
    return start, bad_total


def lakefeed(*args: str, capture: bool = False) -> subprocess.CompletedProcess[str]:
    if not capture:
        print(f"\n$ lakefeed {' '.join(args)}", flush=True)
    cli = Path(sys.executable).with_name("lakefeed")
    return subprocess.run(
        [str(cli), *args],
        env={**os.environ, "LAKEFEED_HOME": str(HOME)},
        text=True,
        capture_output=capture,
    )


def check(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    if result.returncode != 0:
        sys.stderr.write(result.stderr or "")
        raise SystemExit(f"demo step failed: lakefeed {' '.join(map(str, result.args[1:]))}")
    return result


def main() -> int:
    rows, bad = generate()
    print(
        f"Generated {rows:,} XDM profile records in 7 Parquet files under {DATA} "
        f"({bad} rows break the schema; one more file is truncated)."
    )
    check(lakefeed("connections", "create", "landing", "--spec", "local-files",
                   "-p", f"rootPath={DATA}", "--test"))  # fmt: skip

    # The target schema: the XDM Individual Profile class, three standard field groups and a
    # tenant field group with a required loyalty id.
    group_file = ROOT / "loyalty-field-group.json"
    group_file.write_text(json.dumps(loyalty_field_group(TENANT), indent=2))
    created = check(lakefeed("schemas", "create", "--kind", "fieldgroups", str(group_file),
                             "--json", capture=True))  # fmt: skip
    group_id = json.loads(created.stdout)["$id"]
    schema_file = ROOT / "loyalty-profile-schema.json"
    schema_file.write_text(
        json.dumps(
            {
                "title": "Loyalty Profiles",
                "type": "object",
                "allOf": [
                    {"$ref": ref} for ref in (PROFILE_CLASS, *PROFILE_FIELD_GROUPS, group_id)
                ],
            },
            indent=2,
        )
    )
    print(f"\nTarget schema: {schema_file.name} (class + field groups + {group_id})")

    # The whole chain in one command; partial ingestion keeps the good rows of every file.
    ingest = ("ingest", "landing", ".", "--dataset", "loyalty-profiles", "--recursive",
              "--schema", str(schema_file), "--partial-ingestion-percent", "5")  # fmt: skip
    run = lakefeed(*ingest)
    if run.returncode != 3:  # partial, as meant: the good rows in, one file and 28 rows out
        sys.stderr.write(f"demo: expected a partial run (exit 3), got exit {run.returncode}\n")
        return run.returncode or 1
    runs = json.loads(check(lakefeed("runs", "list", "--json", capture=True)).stdout)
    batch_id = next(
        ids[0]
        for activity in runs["items"][-1]["activities"]
        for target in activity.get("targetInfo", [])
        if (ids := target["reference"]["ids"])
    )
    check(lakefeed("datasets", "batches", "loyalty-profiles"))
    check(lakefeed("batches", "errors", batch_id, "--limit", "8"))
    columns = "personID,person.name.lastName,person.gender,homeAddress.city,_local.loyalty.tier"
    check(lakefeed("datasets", "preview", "loyalty-profiles", "--limit", "5", "-c", columns))
    print("\nRunning the same ingest again: every file version is already in the dataset.")
    check(lakefeed(*ingest))
    return 0


if __name__ == "__main__":
    sys.exit(main())

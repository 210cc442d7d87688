"""Drop a Parquet file of generated XDM profiles onto a stored lakefeed connection.

    python examples/scheduler/drop_parquet.py CONNECTION PATH --rows N [--start K]

It writes ``N`` profiles numbered from ``K`` to ``PATH`` (a file path on the connection, e.g.
``partner-drops/incoming/day-1.parquet``), creating the bucket or folder when it is missing:
a stand-in for a partner uploading files. The columns are those of the Profile class and the
person details, personal details and identity map field groups (profiles-schema.json).
"""

from __future__ import annotations

import argparse
import io

import pyarrow.parquet as pq

from lakefeed import Lakefeed
from lakefeed.testing.contract import ensure_folder, put
from lakefeed.testing.profiles import profile_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("connection")
    parser.add_argument("path")
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--start", type=int, default=0)
    args = parser.parse_args()
    session = Lakefeed().session(args.connection)
    ensure_folder(session.fs, session.resolve(args.path).split("/", 1)[0])
    table = profile_table(args.rows, start=args.start)
    table = table.select([name for name in table.schema.names if not name.startswith("_l")])
    sink = io.BytesIO()
    pq.write_table(table, sink)
    put(session, {args.path: sink.getvalue()})
    print(f"dropped {args.rows} profiles into {args.path} on {args.connection}")


if __name__ == "__main__":
    main()

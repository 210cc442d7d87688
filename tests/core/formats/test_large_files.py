"""A 2 GB delimited file is read to its last row in bounded memory.

The file is 2 GB once decompressed: a gzip stream of many members (each the same compressed
block), which gzip readers take as one stream, so the test writes a few megabytes, not 2 GB.
The reading runs in a subprocess, whose peak RSS is its own."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

LINE = b"12345,some name here,3.25,true,2026-01-02T03:04:05Z,a text value of some length\n"


def test_a_2_gb_gzip_csv_is_read_whole_in_bounded_memory(tmp_path: Path) -> None:
    probe = textwrap.dedent(
        f"""
        import gzip, os, resource
        from lakefeed.files import FileEntry
        from lakefeed.formats.delimited import DelimitedFormat

        path = {str(tmp_path / "big.csv.gz")!r}
        line = {LINE!r}
        block = gzip.compress(line * (16 * 1024 * 1024 // len(line)), compresslevel=1)
        repeats = 2 * 1024**3 // (16 * 1024 * 1024) + 1
        with open(path, "wb") as out:
            out.write(gzip.compress(b"id,name,score,active,seen,note\\n"))
            for _ in range(repeats):
                out.write(block)

        def read(ranges):
            found = []
            for entry, start, end in ranges:
                with open(entry.path, "rb") as handle:
                    handle.seek(start)
                    found.append(handle.read(end - start))
            return found

        fmt = DelimitedFormat()
        ((_, sample),) = fmt.inspect([FileEntry(path, os.path.getsize(path))], read)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        rows = 0
        for item in fmt.read_rows(path, sample, batch_rows=65536):
            rows += getattr(item, "num_rows", 0)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(rows, repeats * (16 * 1024 * 1024 // len(line)), (after - before) // 1024)
        """
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    rows, expected, grown_mib = map(int, done.stdout.split())
    assert rows == expected  # every row of the 2 GB, none lost at a block or member boundary
    assert rows * len(LINE) > 2 * 1024**3
    assert grown_mib < 200, f"reading 2 GB grew the process by {grown_mib} MiB"

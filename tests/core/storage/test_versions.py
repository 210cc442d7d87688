"""Telling whether a file is still the version its listing saw (pure logic)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lakefeed.errors import FileChangedWhileReading, StorageUnreachable
from lakefeed.storage import versions
from lakefeed.storage.entries import FileEntry
from lakefeed.storage.versions import changed_while_reading, same_version

LISTED_AT = datetime(2026, 3, 1, 12, 0, 5, 250_000, tzinfo=UTC)


def entry(**changes: object) -> FileEntry:
    values: dict[str, object] = {
        "path": "bucket/in/a.parquet",
        "size": 100,
        "mtime": LISTED_AT,
        "etag": "e1",
        "version": None,
    }
    values.update(changes)
    return FileEntry(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("current", "same"),
    [
        (entry(), True),
        # A HEAD reports the time to the second and a version id the listing lacked.
        (entry(mtime=LISTED_AT.replace(microsecond=0), version="v9"), True),
        (entry(etag="e2"), False),
        (entry(size=101), False),
        # Same bytes uploaded again: the etag says it is the same content.
        (entry(mtime=datetime(2026, 3, 2, tzinfo=UTC)), True),
    ],
)
def test_an_etag_decides_over_the_modification_time(current: FileEntry, same: bool) -> None:
    assert same_version(entry(), current) is same


def test_versions_decide_when_both_have_one() -> None:
    assert not same_version(entry(version="v1"), entry(version="v2"))
    assert same_version(entry(version="v1", etag=None), entry(version="v1", etag="e7"))


def test_without_etag_or_version_size_and_mtime_decide() -> None:
    local = entry(path="/data/a.parquet", etag=None)
    assert same_version(local, entry(path="/data/a.parquet", etag=None))
    later = LISTED_AT.replace(microsecond=250_001)
    assert not same_version(local, entry(path="/data/a.parquet", etag=None, mtime=later))


def test_the_error_names_both_versions_and_says_the_next_run_takes_the_file() -> None:
    error = changed_while_reading(entry(), entry(size=150, etag="e2"))
    assert isinstance(error, FileChangedWhileReading) and error.code == "LF-2409"
    assert "'bucket/in/a.parquet' changed while it was being read" in error.message
    assert "100 bytes" in error.message and "150 bytes, " in error.message
    assert "etag e1" in error.message and "etag e2" in error.message
    assert error.fix is not None and "next run" in error.fix
    assert error.transient


def test_a_read_that_broke_is_tried_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(versions, "READ_BACKOFF", 0.0)
    entry = FileEntry("b/k", size=10)
    answers: list[bytes | BaseException] = [
        ConnectionResetError(104, "reset"),
        b"0123",
        b"0123456789",
    ]

    def read(start: int, end: int) -> bytes:
        answer = answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    assert versions.read_retrying(entry, 0, 10, read) == b"0123456789"
    assert answers == []  # a reset, then a body cut short, then the whole range


def test_timeouts_and_decided_errors_are_not_tried_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(versions, "READ_BACKOFF", 0.0)
    entry = FileEntry("b/k", size=10)
    for error in (TimeoutError("read timed out"), versions.changed_while_reading(entry)):
        calls: list[int] = []

        def read(
            start: int, end: int, error: BaseException = error, calls: list[int] = calls
        ) -> bytes:
            calls.append(start)
            raise error

        with pytest.raises(type(error)):
            versions.read_retrying(entry, 0, 10, read)
        assert len(calls) == 1


def test_a_range_always_cut_short_is_a_network_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(versions, "READ_BACKOFF", 0.0)
    with pytest.raises(StorageUnreachable, match="cut short"):
        versions.read_retrying(FileEntry("b/k", size=10), 4, 20, lambda start, end: b"45")

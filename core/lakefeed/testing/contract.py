"""The storage-plugin contract suite: every backend passes the same tests.

A plugin's test module subclasses :class:`StorageContract` and supplies one class-scoped
``backend`` fixture returning a :class:`ContractBackend` (which server, which credentials,
where to write). The suite writes its own files under ``backend.base`` through the plugin's
filesystem, then checks spec validation, the connection test, listing, inspection, explore and
preview. Needs pytest (``pip install 'lakefeed[dev]'``)::

    class TestMyBackend(StorageContract):
        @pytest.fixture(scope="class")
        def backend(self):
            return ContractBackend(spec="my-spec", auth_spec="Key", params={...}, base="/bucket/t")
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakefeed.errors import (
    CorruptParquet,
    FileChangedWhileReading,
    InvalidAuthParams,
    InvalidRequest,
    NotParquet,
    StorageAuthenticationFailed,
    StorageNotFound,
    StorageUnreachable,
)
from lakefeed.files import FileEntry
from lakefeed.formats import schemas_agree
from lakefeed.formats.parquet_footer import TAIL_BYTES, ParquetFooter
from lakefeed.plugins import get_plugins
from lakefeed.storage.session import FileFailure, StorageSession

MANY_FILES = 2_001
SCHEMA_A = pa.schema([("id", pa.int64()), ("name", pa.string()), ("score", pa.float64())])
SCHEMA_B = pa.schema([("id", pa.string()), ("when", pa.timestamp("us", tz="UTC"))])
NESTED = pa.schema(
    [
        ("id", pa.int64()),
        ("person", pa.struct([("first", pa.string()), ("age", pa.int32())])),
        ("tags", pa.list_(pa.string())),
        ("attrs", pa.map_(pa.string(), pa.int64())),
    ]
)
UNICODE_FOLDER = "données 2026"
UNICODE_FILE = "é file ✓.parquet"
ODD_FILE = "odd #%+=&;,[1] (copy).parquet"


@dataclass
class ContractBackend:
    """One server and one set of credentials for the contract suite."""

    spec: str
    auth_spec: str
    params: dict[str, Any]
    #: absolute path ("/bucket/prefix", "/srv/dir") of a folder the suite may fill; created
    #: with :func:`ensure_folder` (object stores: the bucket/container) if missing
    base: str
    #: the same credentials with a wrong secret; None when the server checks none
    bad_params: dict[str, Any] | None = None
    #: why ``bad_params`` is None (printed in the skip reason)
    no_auth_reason: str = ""
    #: params pointing at a closed port on 127.0.0.1; None where there is no network
    unreachable_params: dict[str, Any] | None = None
    #: whether the backend reports an etag, version or generation for files
    has_etag: bool = True
    #: whether an empty folder can exist (object stores: only with a marker object)
    has_empty_folders: bool = True
    #: creates an empty folder at a filesystem path; default ``fs.makedirs``
    make_empty_folder: Callable[[Any, str], None] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _session(backend: ContractBackend, params: dict[str, Any]) -> StorageSession:
    plugins = get_plugins()
    source_type = plugins.source_type(backend.spec)
    return StorageSession(
        source_type,
        source_type.auth_params(params, backend.auth_spec),
        formats=plugins.formats(),
    )


def parquet_footer(session: StorageSession, path: str) -> ParquetFooter:
    """The Parquet footer of the file ``path``."""
    found = session.inspect_file(path)
    assert isinstance(found, ParquetFooter), found
    return found


def parquet_bytes(table: pa.Table, **kwargs: Any) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, **kwargs)
    return bytes(sink.getvalue().to_pybytes())


def table_a(start: int, rows: int) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(range(start, start + rows), pa.int64()),
            "name": [f"name-{i}" for i in range(start, start + rows)],
            "score": [i / 10 for i in range(start, start + rows)],
        },
        schema=SCHEMA_A,
    )


#: A file as listed, and what it is rewritten with: new ids and another size (SFTP tells
#: versions apart by size and whole-second modification time only).
LISTED = table_a(1000, 100)
REWRITTEN = table_a(5000, 150)


def nested_table() -> pa.Table:
    return pa.table(
        {
            "id": [1, 2],
            "person": [{"first": "Ada", "age": 36}, {"first": "Alan", "age": 41}],
            "tags": [["a", "b"], []],
            "attrs": [[("x", 1)], [("y", 2), ("z", 3)]],
        },
        schema=NESTED,
    )


def wide_table() -> pa.Table:
    # ~600 columns with long names: the footer outgrows the first 64 KiB tail read.
    names = [f"column_with_a_rather_long_descriptive_name_{i:04d}" for i in range(600)]
    return pa.table({name: [i] for i, name in enumerate(names)})


class StorageContract:
    """The shared contract. Subclasses provide the class-scoped ``backend`` fixture."""

    # -- fixtures ------------------------------------------------------------------------------

    @pytest.fixture(scope="class")
    @classmethod
    def backend(cls) -> ContractBackend:
        raise NotImplementedError("subclasses provide a class-scoped `backend` fixture")

    @pytest.fixture(scope="class")
    @classmethod
    def session(cls, backend: ContractBackend) -> StorageSession:
        return _session(backend, backend.params)

    @pytest.fixture(scope="class")
    @classmethod
    def base(cls, backend: ContractBackend, session: StorageSession) -> str:
        """A fresh folder (absolute user path) for this test class."""
        path = f"{backend.base.rstrip('/')}/contract-{uuid.uuid4().hex[:8]}"
        ensure_folder(session.fs, session.resolve(backend.base))
        return path

    @pytest.fixture(scope="class")
    @classmethod
    def files(cls, session: StorageSession, base: str) -> dict[str, bytes]:
        """Writes the suite's files; returns user path → bytes written."""
        good = parquet_bytes(table_a(0, 100))
        truncated = parquet_bytes(table_a(0, 1000))
        written = {
            f"{base}/flat/a.parquet": good,
            f"{base}/flat/b.parquet": parquet_bytes(table_a(100, 50)),
            f"{base}/flat/notes.txt": b"not data",
            f"{base}/flat/sub/c.parquet": parquet_bytes(table_a(150, 25)),
            f"{base}/schemas/s1.parquet": good,
            f"{base}/schemas/s2.parquet": parquet_bytes(
                pa.table({"id": ["x"], "when": [datetime(2026, 1, 1, tzinfo=UTC)]}, schema=SCHEMA_B)
            ),
            f"{base}/nested/n.parquet": parquet_bytes(nested_table()),
            f"{base}/rowgroups/many.parquet": parquet_bytes(table_a(0, 5000), row_group_size=100),
            f"{base}/wide/wide.parquet": parquet_bytes(wide_table()),
            f"{base}/bad/empty.parquet": b"",
            f"{base}/bad/truncated.parquet": truncated[: len(truncated) // 2],
            f"{base}/bad/text.parquet": b"id,name\n1,not parquet at all\n" * 10,
            f"{base}/bad/good.parquet": good,
            f"{base}/names/{UNICODE_FOLDER}/{UNICODE_FILE}": good,
            f"{base}/names/with space.parquet": good,
            f"{base}/names/{ODD_FILE}": good,
        }
        put(session, written)
        return written

    @pytest.fixture(scope="class")
    @classmethod
    def many(cls, session: StorageSession, base: str) -> int:
        payload = {f"{base}/many/f{i:05d}.bin": b"x" for i in range(MANY_FILES)}
        put(session, payload)
        return MANY_FILES

    # -- spec ----------------------------------------------------------------------------------

    def test_spec_is_registered_with_auth_schema(self, backend: ContractBackend) -> None:
        spec = get_plugins().source_type(backend.spec).spec
        auth = spec.auth_spec(backend.auth_spec)
        schema = auth.json_schema()
        assert set(schema["required"]) <= set(schema["properties"])
        for name in auth.secret_names:
            assert schema["properties"][name]["format"] == "password"
        as_dict = spec.to_dict()
        assert as_dict["id"] == spec.id and as_dict["authSpec"]

    def test_missing_required_param_names_field_and_spec(self, backend: ContractBackend) -> None:
        spec = get_plugins().source_type(backend.spec).spec
        auth = spec.auth_spec(backend.auth_spec)
        required = [p.name for p in auth.params if p.required]
        if not required:
            pytest.skip(f"{auth.name!r} has no required params")
        params = {k: v for k, v in backend.params.items() if k != required[0]}
        with pytest.raises(InvalidAuthParams) as caught:
            spec.validate_auth(auth.name, params)
        assert required[0] in str(caught.value) and spec.name in str(caught.value)

    # -- connection test -----------------------------------------------------------------------

    def test_connection_test_succeeds(self, session: StorageSession, base: str) -> None:
        assert isinstance(session.test(), str)

    def test_connection_test_rejects_bad_credentials(self, backend: ContractBackend) -> None:
        if backend.bad_params is None:
            pytest.skip(backend.no_auth_reason or "server checks no credentials")
        bad = _session(backend, backend.bad_params)
        with pytest.raises((StorageAuthenticationFailed, InvalidAuthParams)) as caught:
            bad.test()
        for value in bad.auth.secret_values():
            assert value not in str(caught.value), "a secret leaked into the error message"

    def test_unreachable_server_is_reported(self, backend: ContractBackend) -> None:
        if backend.unreachable_params is None:
            pytest.skip("backend has no network endpoint")
        with pytest.raises(StorageUnreachable) as caught:
            _session(backend, backend.unreachable_params).test()
        assert caught.value.fix and caught.value.__cause__ is not None

    # -- listing -------------------------------------------------------------------------------

    def test_list_folder_is_flat_by_default(
        self, session: StorageSession, base: str, files: dict[str, bytes]
    ) -> None:
        names = sorted(e.name for e in session.ls(f"{base}/flat"))
        assert names == ["a.parquet", "b.parquet", "notes.txt"]

    def test_list_recursive(
        self, session: StorageSession, base: str, files: dict[str, bytes]
    ) -> None:
        names = sorted(e.name for e in session.ls(f"{base}/flat", recursive=True))
        assert names == ["a.parquet", "b.parquet", "c.parquet", "notes.txt"]

    def test_list_glob_in_last_component(
        self, session: StorageSession, base: str, files: dict[str, bytes]
    ) -> None:
        flat = sorted(e.name for e in session.ls(f"{base}/flat/*.parquet"))
        assert flat == ["a.parquet", "b.parquet"]
        deep = sorted(e.name for e in session.ls(f"{base}/flat/*.parquet", recursive=True))
        assert deep == ["a.parquet", "b.parquet", "c.parquet"]
        assert list(session.ls(f"{base}/flat/*.csv")) == []

    def test_list_glob_outside_last_component_is_refused(
        self, session: StorageSession, base: str
    ) -> None:
        with pytest.raises(InvalidRequest):
            list(session.ls(f"{base}/*/a.parquet"))

    def test_list_single_file_has_size_mtime_and_version(
        self, backend: ContractBackend, session: StorageSession, base: str, files: dict[str, bytes]
    ) -> None:
        (entry,) = list(session.ls(f"{base}/flat/a.parquet"))
        assert isinstance(entry, FileEntry)
        assert entry.size == len(files[f"{base}/flat/a.parquet"])
        assert entry.mtime is not None and entry.mtime.tzinfo is not None
        assert entry.mtime.utcoffset() == timedelta(0)
        assert abs(datetime.now(UTC) - entry.mtime) < timedelta(hours=1)
        if backend.has_etag:
            assert entry.etag or entry.version

    def test_missing_path_is_not_found(self, session: StorageSession, base: str) -> None:
        with pytest.raises(StorageNotFound) as caught:
            list(session.ls(f"{base}/no/such/folder"))
        assert "no/such/folder" in str(caught.value)

    def test_empty_folder(
        self, backend: ContractBackend, session: StorageSession, base: str
    ) -> None:
        path = session.resolve(f"{base}/empty")
        if backend.make_empty_folder is not None:
            backend.make_empty_folder(session.fs, path)
        else:
            session.fs.makedirs(path, exist_ok=True)
        if backend.has_empty_folders:
            assert list(session.ls(f"{base}/empty", recursive=True)) == []
        else:
            with pytest.raises(StorageNotFound):
                list(session.ls(f"{base}/empty"))

    def test_many_entries_are_listed_exactly(
        self, session: StorageSession, base: str, many: int
    ) -> None:
        listing = session.ls(f"{base}/many")
        assert isinstance(listing, Iterator)
        count, names = 0, set()
        for entry in listing:
            count += 1
            names.add(entry.name)
        assert count == many == len(names)

    def test_unicode_spaces_and_odd_characters_in_names(
        self, session: StorageSession, base: str, files: dict[str, bytes]
    ) -> None:
        entries = list(session.ls(f"{base}/names", recursive=True))
        expected = sorted([UNICODE_FILE, "with space.parquet", ODD_FILE])
        assert sorted(e.name for e in entries) == expected
        for path in (f"{UNICODE_FOLDER}/{UNICODE_FILE}", ODD_FILE):
            assert parquet_footer(session, f"{base}/names/{path}").num_rows == 100
        assert [e.name for e in session.ls(f"{base}/names/odd*[1]*")] == [ODD_FILE]

    # -- inspection ----------------------------------------------------------------------------

    def test_inspect_reports_schema_rows_and_row_groups(
        self, session: StorageSession, base: str, files: dict[str, bytes]
    ) -> None:
        footer = parquet_footer(session, f"{base}/rowgroups/many.parquet")
        assert footer.schema.equals(SCHEMA_A)
        assert footer.num_rows == 5000
        assert footer.num_row_groups == 50
        first = footer.row_groups[0].columns[0]
        assert (first.path, first.min, first.max, first.null_count) == ("id", 0, 99, 0)
        assert footer.created_by and "parquet" in footer.created_by.lower()

    def test_inspect_tells_schemas_apart(
        self, session: StorageSession, base: str, files: dict[str, bytes]
    ) -> None:
        footers = [r for r in session.inspect(f"{base}/schemas") if isinstance(r, ParquetFooter)]
        footers.sort(key=lambda f: f.entry.name)  # listing order is the backend's
        assert [f.entry.name for f in footers] == ["s1.parquet", "s2.parquet"]
        assert footers[0].schema.equals(SCHEMA_A) and footers[1].schema.equals(SCHEMA_B)
        assert not schemas_agree(footers)
        flat = [
            r for r in session.inspect(f"{base}/flat/*.parquet") if isinstance(r, ParquetFooter)
        ]
        assert len(flat) == 2 and schemas_agree(flat)

    def test_inspect_nested_types(
        self, session: StorageSession, base: str, files: dict[str, bytes]
    ) -> None:
        footer = parquet_footer(session, f"{base}/nested/n.parquet")
        assert footer.schema.equals(NESTED)

    def test_inspect_large_footer_needs_a_second_read(
        self, session: StorageSession, base: str, files: dict[str, bytes]
    ) -> None:
        footer = parquet_footer(session, f"{base}/wide/wide.parquet")
        assert footer.footer_size > TAIL_BYTES
        assert len(footer.schema) == 600

    def test_bad_files_fail_alone_with_reasons(
        self, session: StorageSession, base: str, files: dict[str, bytes]
    ) -> None:
        results = {r.entry.name: r for r in session.inspect(f"{base}/bad")}
        assert isinstance(results["good.parquet"], ParquetFooter)
        for name, error in (
            ("empty.parquet", NotParquet),
            ("text.parquet", NotParquet),
            ("truncated.parquet", CorruptParquet),
        ):
            failure = results[name]
            assert isinstance(failure, FileFailure), name
            assert isinstance(failure.error, error), (name, failure.error)
            assert name in str(failure.error) and failure.error.fix

    # -- reading the listed version ------------------------------------------------------------

    def test_footer_and_data_of_two_versions_are_never_combined(
        self, session: StorageSession, base: str
    ) -> None:
        path = f"{base}/race/before-open.parquet"
        listed_bytes = parquet_bytes(LISTED)
        put(session, {path: listed_bytes})
        (listed,) = session.ls(path)
        (footer,) = session.inspect_files([listed])
        assert isinstance(footer, ParquetFooter)
        put(session, {path: parquet_bytes(REWRITTEN)})

        source_type, fs = session.source_type, session.fs
        if source_type.pins_version(fs, listed):
            # The server honours the pin: the listed version's bytes, or a refusal.
            try:
                pinned = source_type.read_range(fs, listed, 0, listed.size)
            except FileChangedWhileReading:
                pass
            else:
                assert pinned == listed_bytes

        # The listed version's footer with whatever the file holds now.
        _read_listed_or_refused(session, listed, footer)
        # The footer read after the rewrite: refused where reads are pinned. Elsewhere it is the
        # new version's (and reading under the listed identity is refused), or it fails at the
        # listed size, and changed() tells that failure for what it is.
        (again,) = session.inspect_files([listed])
        if isinstance(again, FileFailure):
            error = again.error
            if not isinstance(error, FileChangedWhileReading):
                error = session.changed(listed) or error
            assert isinstance(error, FileChangedWhileReading), again.error
        else:
            assert isinstance(again, ParquetFooter)
            assert again.num_rows in (LISTED.num_rows, REWRITTEN.num_rows)
            _read_listed_or_refused(session, listed, again)

    def test_file_rewritten_while_it_is_read_is_refused(
        self, session: StorageSession, base: str
    ) -> None:
        path = f"{base}/race/while-reading.parquet"
        put(session, {path: parquet_bytes(LISTED)})
        (listed,) = session.ls(path)
        (footer,) = session.inspect_files([listed])
        assert isinstance(footer, ParquetFooter)

        def rewrite() -> None:
            put(session, {path: parquet_bytes(REWRITTEN)})

        _read_listed_or_refused(session, listed, footer, midway=rewrite)

        # The file as it is now is a new version, read in full.
        (current,) = session.ls(path)
        (new_footer,) = session.inspect_files([current])
        assert isinstance(new_footer, ParquetFooter)
        with session.reading(current) as source:
            table = pq.ParquetFile(source, metadata=new_footer.file_metadata).read()
        assert table.equals(REWRITTEN)

    # -- explore and preview -------------------------------------------------------------------

    def test_explore_folder_lists_files_and_folders(
        self, session: StorageSession, base: str, files: dict[str, bytes]
    ) -> None:
        items = session.explore("folder", f"{base}/flat")
        kinds = {item["name"]: item["type"] for item in items}
        assert kinds == {
            "a.parquet": "file",
            "b.parquet": "file",
            "notes.txt": "file",
            "sub": "folder",
        }
        by_name = {item["name"]: item for item in items}
        assert by_name["a.parquet"]["canPreview"] and not by_name["notes.txt"]["canPreview"]

    def test_explore_root(
        self, session: StorageSession, base: str, files: dict[str, bytes]
    ) -> None:
        items = session.explore("root")
        assert items and all(item["type"] in ("file", "folder") for item in items)

    def test_preview_returns_first_rows_and_schema(
        self, session: StorageSession, base: str, files: dict[str, bytes]
    ) -> None:
        preview = session.preview(f"{base}/flat/b.parquet", rows=3)
        assert preview.schema.equals(SCHEMA_A)
        assert preview.rows == table_a(100, 3).to_pylist()
        assert preview.to_dict()["schema"]["columns"][0] == {
            "name": "id",
            "type": "int64",
            "nullable": True,
        }

    def test_preview_of_a_non_parquet_file_fails_clearly(
        self, session: StorageSession, base: str, files: dict[str, bytes]
    ) -> None:
        with pytest.raises(NotParquet):
            session.preview(f"{base}/bad/text.parquet")


def _read_listed_or_refused(
    session: StorageSession,
    listed: FileEntry,
    footer: ParquetFooter,
    *,
    midway: Callable[[], None] | None = None,
) -> None:
    """Read ``listed`` with ``footer`` (running ``midway`` after opening): either the listed
    version's rows come back — a backend may still serve that version (S3 ``VersionId`` on a
    versioned bucket) — or FileChangedWhileReading is raised. Never rows of another version,
    never another error."""
    try:
        with session.reading(listed) as source:
            parquet = pq.ParquetFile(source, metadata=footer.file_metadata)
            if midway is not None:
                midway()
            table = parquet.read()
    except FileChangedWhileReading as exc:
        assert listed.path in str(exc) and exc.fix and "next run" in exc.fix
        return
    assert table.equals(LISTED), "rows of another version were read as the listed one"


def put(session: StorageSession, payload: dict[str, bytes]) -> None:
    """Write ``user path → bytes`` through the session's filesystem, creating folders."""
    fs = session.fs
    resolved = {session.resolve(path): data for path, data in payload.items()}
    # Local disks and SFTP need parent folders; object stores ignore this (cheap: one call
    # per distinct folder).
    for parent in sorted({p.rsplit("/", 1)[0] for p in resolved}):
        fs.makedirs(parent, exist_ok=True)
    fs.pipe(resolved)
    fs.invalidate_cache()


def ensure_folder(fs: Any, path: str) -> None:
    """Create a folder (object stores: its bucket or container) if it is missing. Some
    filesystems' ``makedirs(exist_ok=True)`` never creates a bucket, so check and ``mkdir``."""
    fs.makedirs(path, exist_ok=True)
    if not fs.exists(path):
        fs.mkdir(path)

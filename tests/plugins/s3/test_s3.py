"""Amazon S3 plugin: the contract suite against moto and against Ceph RGW (a real S3
implementation that checks signatures), plus S3-specific behaviour."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from lakefeed import Lakefeed
from lakefeed.flows.runner import RunProgress
from lakefeed.testing.contract import ContractBackend, StorageContract, ensure_folder, put
from tests_support import server_env

pytestmark = pytest.mark.servers


def s3_marker(fs: Any, path: str) -> None:
    """An empty folder on S3 is a zero-byte marker object ending in '/' (as consoles make)."""
    bucket, _, key = path.partition("/")
    fs.call_s3("put_object", Bucket=bucket, Key=key.rstrip("/") + "/", Body=b"")


def moto_params(**extra: Any) -> dict[str, Any]:
    return {
        "s3AccessKey": "testing",
        "s3SecretKey": "testing",
        "serviceUrl": server_env("LAKEFEED_TEST_S3_ENDPOINT"),
        **extra,
    }


class TestS3MotoContract(StorageContract):
    @pytest.fixture(scope="class")
    @classmethod
    def backend(cls) -> ContractBackend:
        return ContractBackend(
            spec="amazon-s3",
            auth_spec="Access Key",
            params=moto_params(),
            base="/lakefeed-moto",
            no_auth_reason="moto accepts any credentials (RGW covers bad credentials)",
            unreachable_params=moto_params(serviceUrl="http://127.0.0.1:1"),
            make_empty_folder=s3_marker,
        )


class TestS3RgwContract(StorageContract):
    @pytest.fixture(scope="class")
    @classmethod
    def backend(cls) -> ContractBackend:
        params = {
            "s3AccessKey": server_env("LAKEFEED_TEST_RGW_ACCESS_KEY"),
            "s3SecretKey": server_env("LAKEFEED_TEST_RGW_SECRET_KEY"),
            "serviceUrl": server_env("LAKEFEED_TEST_RGW_ENDPOINT"),
        }
        return ContractBackend(
            spec="amazon-s3",
            auth_spec="Access Key",
            params=params,
            base="/lakefeed-rgw",
            bad_params={**params, "s3SecretKey": "wrong-secret-value"},
            unreachable_params={**params, "serviceUrl": "http://127.0.0.1:1"},
            make_empty_folder=s3_marker,
        )


@pytest.fixture
def bucket_files() -> tuple[Lakefeed, str]:
    lf = Lakefeed()
    bucket = f"root-{uuid.uuid4().hex[:8]}"
    session = lf.session_for("amazon-s3", moto_params())
    ensure_folder(session.fs, bucket)
    put(session, {f"/{bucket}/in/2026/a.parquet": b"PAR1", f"/{bucket}/other/b.parquet": b"PAR1"})
    return lf, bucket


def test_bucket_and_folder_are_the_root_of_relative_paths(
    bucket_files: tuple[Lakefeed, str],
) -> None:
    lf, bucket = bucket_files
    session = lf.session_for("amazon-s3", moto_params(bucketName=bucket, folderPath="in"))
    assert [e.path for e in session.ls("", recursive=True)] == [f"{bucket}/in/2026/a.parquet"]
    assert [e.path for e in session.ls(f"/{bucket}/other")] == [f"{bucket}/other/b.parquet"]
    assert [e.path for e in session.ls(f"s3://{bucket}/other")] == [f"{bucket}/other/b.parquet"]
    assert [i["name"] for i in session.explore("root")] == ["2026"]
    assert session.test() == f"listed bucket {bucket!r}"


def test_session_token_is_passed_and_kept_secret(bucket_files: tuple[Lakefeed, str]) -> None:
    lf, bucket = bucket_files
    conn = lf.create_connection(
        "sts", "amazon-s3", "Access Key", moto_params(s3SessionToken="FwoG-token-value")
    )
    session = lf.session(conn)
    assert session.fs.token == "FwoG-token-value"
    assert len(list(session.ls(f"/{bucket}", recursive=True))) == 2
    assert "FwoG-token-value" not in str(conn.to_dict())


def test_listing_pages_do_not_materialise_the_folder(bucket_files: tuple[Lakefeed, str]) -> None:
    lf, bucket = bucket_files
    session = lf.session_for("amazon-s3", moto_params())
    put(session, {f"/{bucket}/paged/f{i:04d}": b"x" for i in range(1500)})
    calls: list[str] = []
    original = session.fs.call_s3

    def counting(method: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(method)
        return original(method, *args, **kwargs)

    session.fs.call_s3 = counting  # type: ignore[method-assign]
    listing = session.ls(f"/{bucket}/paged")
    first = next(listing)
    assert first.name == "f0000" and calls.count("list_objects_v2") == 1
    assert sum(1 for _ in listing) == 1499
    assert calls.count("list_objects_v2") == 2  # 1,000 keys per page


def rgw_params() -> dict[str, Any]:
    return {
        "s3AccessKey": server_env("LAKEFEED_TEST_RGW_ACCESS_KEY"),
        "s3SecretKey": server_env("LAKEFEED_TEST_RGW_SECRET_KEY"),
        "serviceUrl": server_env("LAKEFEED_TEST_RGW_ENDPOINT"),
    }


@pytest.mark.parametrize("server", ["moto", "rgw"])
def test_versioned_bucket_reads_the_listed_version_after_a_rewrite(
    tmp_path: Path, server: str
) -> None:
    """A single file listed with its VersionId is read at that version even once rewritten:
    the run ingests the listed version (under its own identity), the next run the new one."""
    from ingestion_suite import IngestSource, Scenario, expected_ids, file_summary, parquet_bytes

    params = moto_params() if server == "moto" else rgw_params()
    source = IngestSource("amazon-s3", "Access Key", params, f"/versioned-{uuid.uuid4().hex[:8]}")
    scenario = Scenario(tmp_path / "home", source)
    bucket = source.base.strip("/")
    scenario.session.fs.call_s3(
        "put_bucket_versioning", Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    scenario.put("a.parquet", scenario.profiles(20, 0))
    flow = scenario.flow(path=f"{scenario.folder}/a.parquet")
    rewritten: list[bool] = []

    def rewrite_once_listed(progress: RunProgress) -> None:
        # The first report past the listing phase comes after the listing, before any read.
        if not rewritten and progress.phase != "listing":
            scenario.put("a.parquet", scenario.profiles(30, 1000))
            rewritten.append(True)

    first = scenario.lf.run_flow(flow, progress=rewrite_once_listed)

    assert rewritten and first.status == "success", first.metrics
    assert file_summary(first)["outputFileCount"] == 1
    assert scenario.ids() == expected_ids((0, 20))
    (ledgered,) = scenario.lf.ledger.entries(flow.id)  # under the identity of what was read
    assert ledgered.entry.version
    assert ledgered.entry.size == len(parquet_bytes(scenario.profiles(20, 0)))
    second = scenario.lf.run_flow(flow)
    assert file_summary(second)["inputFileCount"] == 1
    assert scenario.ids() == expected_ids((0, 20), (1000, 30))

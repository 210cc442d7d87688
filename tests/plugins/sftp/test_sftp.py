"""SFTP plugin against OpenSSH sshd: the contract suite with a password, keys with and without
a passphrase, host-key checking, and concurrent footer reads over several connections."""

from __future__ import annotations

import base64
import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from lakefeed import Lakefeed
from lakefeed.errors import HostKeyRejected, InvalidAuthParams, StorageAuthenticationFailed
from lakefeed.formats.parquet_footer import ParquetFooter
from lakefeed.testing.contract import ContractBackend, StorageContract, parquet_bytes, put, table_a
from tests_support import server_env

pytestmark = pytest.mark.servers
KEY_AUTH = "SSH PublicKey Authentication for sftp"
PASSWORD_AUTH = "Basic Authentication for sftp"
# A valid ed25519 host key that is not the server's.
OTHER_HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"


def common(**extra: Any) -> dict[str, Any]:
    return {
        "host": server_env("LAKEFEED_TEST_SFTP_HOST"),
        "port": int(server_env("LAKEFEED_TEST_SFTP_PORT")),
        "userName": server_env("LAKEFEED_TEST_SFTP_USER"),
        "knownHosts": Path(server_env("LAKEFEED_TEST_SFTP_KNOWN_HOSTS")).read_text(),
        **extra,
    }


def key_b64(env: str) -> str:
    return base64.b64encode(Path(server_env(env)).read_bytes()).decode()


class TestSftpContract(StorageContract):
    @pytest.fixture(scope="class")
    @classmethod
    def backend(cls) -> ContractBackend:
        params = common(password=server_env("LAKEFEED_TEST_SFTP_PASSWORD"))
        return ContractBackend(
            spec="sftp",
            auth_spec=PASSWORD_AUTH,
            params=params,
            base=f"{server_env('LAKEFEED_TEST_SFTP_ROOT')}/contract",
            bad_params={**params, "password": "wrong-password-123"},
            unreachable_params={**params, "port": 1, "timeout": 5},
            has_etag=False,
        )


def session(auth: str, **params: Any) -> Any:
    return Lakefeed().session_for("sftp", common(**params), auth)


def test_key_without_passphrase() -> None:
    s = session(KEY_AUTH, privateKeyContent=key_b64("LAKEFEED_TEST_SFTP_KEY"))
    assert "listed" in s.test()


def test_key_with_passphrase() -> None:
    s = session(
        KEY_AUTH,
        privateKeyContent=key_b64("LAKEFEED_TEST_SFTP_KEY_PASS"),
        passPhrase=server_env("LAKEFEED_TEST_SFTP_KEY_PASSPHRASE"),
    )
    assert "listed" in s.test()


def test_encrypted_key_without_or_with_wrong_passphrase() -> None:
    content = key_b64("LAKEFEED_TEST_SFTP_KEY_PASS")
    with pytest.raises(InvalidAuthParams, match="passPhrase"):
        session(KEY_AUTH, privateKeyContent=content).test()
    with pytest.raises(InvalidAuthParams, match="passPhrase"):
        session(KEY_AUTH, privateKeyContent=content, passPhrase="not-it").test()


def test_garbage_key_content_names_the_fix() -> None:
    with pytest.raises(InvalidAuthParams, match="base64"):
        session(KEY_AUTH, privateKeyContent=base64.b64encode(b"hello").decode()).test()


def test_unknown_host_key_is_rejected_by_default() -> None:
    s = session(
        PASSWORD_AUTH,
        password=server_env("LAKEFEED_TEST_SFTP_PASSWORD"),
        knownHosts=f"[127.0.0.1]:{server_env('LAKEFEED_TEST_SFTP_PORT')} {OTHER_HOST_KEY}",
    )
    with pytest.raises(HostKeyRejected) as caught:
        s.test()
    assert "known" in str(caught.value).lower()
    no_entry = session(
        PASSWORD_AUTH, password=server_env("LAKEFEED_TEST_SFTP_PASSWORD"), knownHosts=""
    )
    with pytest.raises(HostKeyRejected):
        no_entry.test()


def test_host_key_checking_can_be_turned_off() -> None:
    s = session(
        PASSWORD_AUTH,
        password=server_env("LAKEFEED_TEST_SFTP_PASSWORD"),
        knownHosts="",
        hostKeyChecking=False,
    )
    assert "listed" in s.test()


def test_wrong_password_message_has_no_secret() -> None:
    s = session(PASSWORD_AUTH, password="hunter2-wrong-pass")
    with pytest.raises(StorageAuthenticationFailed) as caught:
        s.test()
    assert "hunter2-wrong-pass" not in str(caught.value)


def accepted_logins() -> int:
    """Logins sshd has accepted so far, from its own log (the server's view, not ours)."""
    log = Path(os.environ.get("LAKEFEED_TEST_SERVERS_ROOT", "/tmp/lakefeed-test-servers"))
    return (log / "logs" / "sshd.log").read_text().count("Accepted password for")


@pytest.mark.parametrize("connections", [1, 4])
def test_footers_over_concurrent_connections(connections: int) -> None:
    s = session(
        PASSWORD_AUTH,
        password=server_env("LAKEFEED_TEST_SFTP_PASSWORD"),
        maxConcurrentConnections=connections,
        folderPath=f"concurrent-{connections}",
    )
    data = {f"f{i:03d}.parquet": parquet_bytes(table_a(i, 10)) for i in range(40)}
    put(s, data)
    before = accepted_logins()
    footers = list(s.inspect("", recursive=True))
    # the listing's connection (already open) plus at most N for the footer reads
    assert 1 <= accepted_logins() - before <= connections
    assert len(footers) == 40 and all(isinstance(f, ParquetFooter) for f in footers)
    assert sorted(f.num_rows for f in footers) == [10] * 40  # type: ignore[union-attr]


def test_symbolic_links_are_followed_and_dangling_ones_skipped() -> None:
    folder = f"links-{uuid.uuid4().hex[:8]}"
    root = Path(server_env("LAKEFEED_TEST_SFTP_ROOT")) / folder
    s = session(
        PASSWORD_AUTH, password=server_env("LAKEFEED_TEST_SFTP_PASSWORD"), folderPath=folder
    )
    put(s, {"data/a.parquet": parquet_bytes(table_a(0, 5)), "data/b.parquet": b"x"})
    # The server runs on this machine: make the links directly (the SFTP user may not).
    (root / "data" / "link.parquet").symlink_to(root / "data" / "a.parquet")
    (root / "data" / "dangling.parquet").symlink_to(root / "nowhere.parquet")
    (root / "linked-dir").symlink_to(root / "data", target_is_directory=True)
    names = sorted(e.name for e in s.ls("data"))
    assert names == ["a.parquet", "b.parquet", "link.parquet"]
    assert s.inspect_file("data/link.parquet").num_rows == 5
    assert sorted(e.name for e in s.ls("", recursive=True)) == sorted(
        ["a.parquet", "b.parquet", "link.parquet"] * 2
    )

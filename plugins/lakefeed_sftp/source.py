"""SFTP source over fsspec's paramiko filesystem, with host keys checked (fsspec's own
filesystem accepts any host key) and one connection per reading thread (paramiko's SFTP
client is not thread-safe)."""

from __future__ import annotations

import base64
import binascii
import io
import queue
import stat
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from lakefeed.errors import InvalidAuthParams
from lakefeed.formats import RangeReader
from lakefeed.secrets import AuthParams
from lakefeed.storage import FileEntry, SourceType
from lakefeed.storage.entries import to_utc
from lakefeed.storage.listing import list_path
from lakefeed.storage.ranges import pooled_reader
from lakefeed.storage.timeouts import storage_timeouts
from lakefeed_sftp.spec import PUBLIC_KEY, SPEC


def load_private_key(content_b64: str, passphrase: str | None) -> Any:
    """A paramiko key from the base64 of an OpenSSH/PEM private key file."""
    import paramiko

    try:
        text = base64.b64decode(content_b64.strip(), validate=False).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        text = ""
    if "PRIVATE KEY" not in text:
        raise InvalidAuthParams(
            "privateKeyContent is not the base64 of a private key file.",
            fix="Use the output of `base64 -w0 ~/.ssh/id_ed25519` (PuTTY keys: convert first).",
        )
    last: Exception | None = None
    for cls in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return cls.from_private_key(io.StringIO(text), password=passphrase or None)
        except paramiko.PasswordRequiredException:
            raise InvalidAuthParams(
                "The private key is encrypted and no passPhrase was given.",
                fix="Set passPhrase to the key's passphrase.",
            ) from None
        except paramiko.SSHException as exc:
            last = exc
    raise InvalidAuthParams(
        "The private key could not be loaded (wrong passPhrase, or an unsupported key type).",
        fix="Check passPhrase; RSA, ECDSA and Ed25519 keys in OpenSSH or PEM format work.",
    ) from last


def _make_filesystem_class() -> type:
    from fsspec.implementations.sftp import SFTPFileSystem

    class CheckedSFTPFileSystem(SFTPFileSystem):
        """fsspec's SFTP filesystem, but with lakefeed's host-key policy and keepalive."""

        def __init__(self, host: str, *, lakefeed_options: dict[str, Any], **ssh_kwargs: Any):
            self.lakefeed_options = lakefeed_options
            super().__init__(host, **ssh_kwargs)

        def _connect(self) -> None:
            import paramiko

            opts = self.lakefeed_options
            self.client = paramiko.SSHClient()
            if opts["check_host_key"]:
                if opts["known_hosts"]:
                    keys = self.client.get_host_keys()
                    for line in str(opts["known_hosts"]).splitlines():
                        entry = paramiko.hostkeys.HostKeyEntry.from_line(line)
                        if entry is not None:
                            for name in entry.hostnames:
                                keys.add(name, entry.key.get_name(), entry.key)
                else:
                    self.client.load_system_host_keys()
                self.client.set_missing_host_key_policy(_RejectUnknownHost())
            else:
                self.client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
            self.client.connect(self.host, **self.ssh_kwargs)
            transport = self.client.get_transport()
            if transport is not None and opts["keepalive"]:
                transport.set_keepalive(opts["keepalive"])
            self.ftp = self.client.open_sftp()
            self.ftp.get_channel().settimeout(opts["timeout"])

    return CheckedSFTPFileSystem


def _stream_walk(
    fs: Any, path: str, *, recursive: bool, to_entry: Callable[[dict[str, Any]], FileEntry]
) -> Iterator[FileEntry]:
    """Files under ``path`` through paramiko's ``listdir_iter``, which yields entries as the
    server sends them: memory stays bounded however large a directory is (fsspec's ``ls``
    reads a whole directory first). Entries come in server order, not sorted."""
    folders = [path.rstrip("/") or "/"]
    while folders:
        folder = folders.pop()
        subfolders: list[str] = []
        links: list[str] = []
        for attr in fs.ftp.listdir_iter(folder):
            full = f"{folder.rstrip('/')}/{attr.filename}"
            if stat.S_ISLNK(attr.st_mode or 0):
                # stat() now would read replies that belong to the listing still in flight
                links.append(full)
            elif entry := _classify(full, attr, subfolders if recursive else None):
                yield entry
        for full in links:  # follow links like `ls` does, once the directory read is over
            try:
                target = fs.ftp.stat(full)
            except FileNotFoundError:
                continue  # a dangling link names no file
            if entry := _classify(full, target, subfolders if recursive else None):
                yield entry
        folders.extend(reversed(sorted(subfolders)))


def _classify(full: str, attr: Any, subfolders: list[str] | None) -> FileEntry | None:
    """A FileEntry for a regular file; a folder is queued in ``subfolders`` (when given)."""
    mode = attr.st_mode or 0
    if stat.S_ISDIR(mode):
        if subfolders is not None:
            subfolders.append(full)
        return None
    if stat.S_ISREG(mode):
        return FileEntry(path=full, size=int(attr.st_size or 0), mtime=to_utc(attr.st_mtime))
    return None


class _RejectUnknownHost:
    def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
        import paramiko

        raise paramiko.SSHException(
            f"host key for {hostname} ({key.get_name()}) not found in known_hosts"
        )


class SftpFiles(SourceType):
    spec = SPEC
    requires = (("paramiko", "lakefeed[sftp]"),)

    def filesystem(self, auth: AuthParams) -> Any:
        # The connection's own timeout, within the bounds the session sets.
        timeouts = storage_timeouts()
        reply = min(float(auth["timeout"]), timeouts.read)
        ssh_kwargs: dict[str, Any] = {
            "port": auth["port"],
            "username": auth["userName"],
            "timeout": min(float(auth["timeout"]), timeouts.connect),
            "banner_timeout": reply,
            "auth_timeout": reply,
            "channel_timeout": reply,
            "allow_agent": False,
            "look_for_keys": False,
        }
        if auth.spec_name == PUBLIC_KEY:
            ssh_kwargs["pkey"] = load_private_key(auth["privateKeyContent"], auth.get("passPhrase"))
        else:
            ssh_kwargs["password"] = auth["password"]
        options = {
            "check_host_key": auth["hostKeyChecking"],
            "known_hosts": auth.get("knownHosts"),
            "keepalive": auth["keepalive"],
            "timeout": reply,
            "max_connections": auth["maxConcurrentConnections"],
        }
        cls = _make_filesystem_class()
        return cls(auth["host"], lakefeed_options=options, skip_instance_cache=True, **ssh_kwargs)

    def check_params(self, auth: AuthParams) -> None:
        if auth.spec_name == PUBLIC_KEY:
            load_private_key(auth["privateKeyContent"], auth.get("passPhrase"))

    def endpoint(self, auth: AuthParams) -> tuple[str, int]:
        return str(auth["host"]), int(auth["port"])

    def resolve(self, auth: AuthParams, fs: Any, path: str) -> str:
        # Server paths are absolute ("/srv/in"); fsspec's SFTP root marker is "", so the
        # shared default would strip the leading slash and read relative to the login folder.
        if "://" in path:
            path = str(fs._strip_protocol(path))
        if path.startswith("/"):
            return path.rstrip("/") or "/"
        root = self.root(auth, fs).rstrip("/")
        return f"{root}/{path}".rstrip("/") if path else root or "/"

    def root(self, auth: AuthParams, fs: Any) -> str:
        folder = str(auth.get("folderPath") or "")
        if folder.startswith("/"):
            return folder
        home = str(fs.ftp.normalize("."))
        return f"{home.rstrip('/')}/{folder}" if folder else home

    def list_files(self, fs: Any, path: str, *, recursive: bool) -> Iterator[FileEntry]:
        return list_path(
            fs, path, recursive=recursive, to_entry=self.entry_from_info, walk=_stream_walk
        )

    @contextmanager
    def ranged_reads(self, fs: Any, *, concurrency: int | None = None) -> Iterator[RangeReader]:
        """Ranges read over up to ``maxConcurrentConnections`` connections of their own (the
        session's connection may be in the middle of streaming the listing); never more,
        whatever ``concurrency`` asks."""
        size = int(fs.lakefeed_options["max_connections"])
        if concurrency is not None:
            size = max(1, min(size, concurrency))
        idle: queue.SimpleQueue[Any] = queue.SimpleQueue()
        opened: list[Any] = []
        lock = threading.Lock()

        def acquire() -> Any:
            try:
                return idle.get_nowait()
            except queue.Empty:
                with lock:
                    if len(opened) < size:
                        clone = type(fs)(
                            *fs.storage_args, **fs.storage_options, skip_instance_cache=True
                        )
                        opened.append(clone)
                        return opened[-1]
                return idle.get()

        def read_range(entry: FileEntry, start: int, end: int) -> bytes:
            conn = acquire()
            try:
                return bytes(conn.cat_file(entry.path, start=start, end=end))
            finally:
                idle.put(conn)

        with ThreadPoolExecutor(max_workers=size) as pool:
            try:
                yield pooled_reader(pool, read_range)
            finally:
                for conn in opened:
                    conn.client.close()
